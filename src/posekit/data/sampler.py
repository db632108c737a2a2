"""Epoch sampler that draws a fixed number of samples per epoch, reproducibly.

sleap-nn's rule for the length of an epoch: ``train_steps_per_epoch`` batches when set,
otherwise the larger of "one pass over the data" and ``min_train_steps_per_epoch`` — small
datasets are cycled several times per epoch. The order depends only on ``(seed, epoch)``, so
a run that is stopped and resumed sees exactly the samples an unbroken run would.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import torch
from torch.utils.data import Sampler


def steps_per_epoch(
    n_samples: int, batch_size: int, min_steps: int | None, fixed_steps: int | None
) -> int:
    """Number of training batches in one epoch under sleap-nn's rule."""
    if fixed_steps is not None:
        return max(1, int(fixed_steps))
    one_pass = max(1, math.ceil(n_samples / max(1, batch_size)))
    return max(one_pass, int(min_steps or 0))


class EpochSampler(Sampler[int]):
    """Yields ``num_samples`` dataset indices per epoch, cycling through the data.

    With ``shuffle`` every pass over the data is a fresh permutation drawn from a generator
    seeded by ``(seed, epoch)``; without it, indices run in order and wrap around.
    """

    def __init__(self, n_items: int, num_samples: int, shuffle: bool, seed: int = 0) -> None:
        if n_items <= 0:
            raise ValueError("EpochSampler needs at least one item")
        self.n_items = int(n_items)
        self.num_samples = int(num_samples)
        self.shuffle = bool(shuffle)
        self.seed = int(seed)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Called by Lightning at the start of each epoch."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.num_samples

    def indices(self) -> torch.Tensor:
        """All indices of the current epoch, as a tensor."""
        passes = math.ceil(self.num_samples / self.n_items)
        if self.shuffle:
            gen = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
            order = torch.cat([torch.randperm(self.n_items, generator=gen) for _ in range(passes)])
        else:
            order = torch.arange(self.n_items).repeat(passes)
        return order[: self.num_samples]

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices().tolist())
