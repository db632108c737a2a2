"""Measure one training step of a chosen model on this machine (Protocol B and the budget).

The model is built as training builds it (:func:`posekit.models.build.build_model` with the
model type's heads from :mod:`posekit.model_types.registry`) and trained for a few steps on
random images of the chosen input size with an Adam optimiser. Two numbers come out:

* the largest batch that fits memory: on a CUDA GPU by doubling the batch from 4 while the
  measured peak stays under :data:`MEMORY_SHARE` of the free memory (Protocol B); on a CPU
  from the bytes autograd saves for one sample (counted exactly with
  ``torch.autograd.graph.saved_tensors_hooks``) against the available RAM;
* seconds per step at the chosen batch: timed directly on a GPU; on a CPU timed at a small
  batch and scaled linearly (CPU step time grows in proportion to the batch).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from posekit.data.info import DataInfo
from posekit.errors import ConfigError

#: Share of free memory a batch may use (Protocol B: 85-90 % utilisation).
MEMORY_SHARE = 0.85
#: Backward needs the saved activations plus gradient buffers: this factor on the saved bytes.
BACKWARD_FACTOR = 2.0
#: Batches tried on a GPU (Protocol B starts at 4).
GPU_BATCHES = (4, 8, 16, 32, 64)


@dataclass(frozen=True)
class MemoryFit:
    """The largest batch that fits and how it was found."""

    max_batch: int
    reason: str


@dataclass(frozen=True)
class StepTime:
    """Seconds per training step at ``batch`` (``measured_batch`` is what was timed)."""

    seconds: float
    batch: int
    measured_batch: int
    device: str


def _available_ram() -> float:
    """Bytes of RAM available to a new allocation (``MemAvailable`` on Linux)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024.0
    except OSError:
        pass
    return float(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))


class StepBench:
    """A model of the chosen configuration, its optimiser and random batches.

    Args:
        model_config: the chosen ``ModelConfig``.
        info: node names, edges and classes (for the heads' channel counts).
        input_hw: model input ``(height, width)`` (a multiple of the max stride).
        device: ``"cpu"``, ``"cuda"``... (default: CUDA when available).
    """

    def __init__(self, model_config: Any, info: DataInfo, input_hw: tuple[int, int],
                 device: str | None = None) -> None:
        import torch

        from posekit.model_types.registry import model_type_class
        from posekit.models.build import build_model

        self.torch = torch
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        kind = model_type_class(model_config.head_type)(model_config.active_head, info)
        self.model = build_model(model_config, kind.heads, input_size=input_hw,
                                 pretrained=False).to(self.device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=1e-3)
        self.input_hw = input_hw
        self.channels = int(model_config.active_backbone.in_channels)

    def step(self, batch: int) -> None:
        """One forward + backward + optimiser step on a random batch."""
        torch = self.torch
        x = torch.rand(batch, self.channels, *self.input_hw, device=self.device)
        outputs = self.model(x)
        loss = sum(out.float().pow(2).mean() for out in outputs.values())
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()

    def saved_bytes_per_sample(self) -> float:
        """Bytes autograd keeps for backward for one sample (counted in a forward pass)."""
        torch = self.torch
        seen: dict[int, int] = {}

        def pack(t: Any) -> Any:
            if t.device == self.device:
                seen[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
            return t

        x = torch.rand(1, self.channels, *self.input_hw, device=self.device)
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            outputs = self.model(x)
        del outputs
        return float(sum(seen.values()))

    def state_bytes(self) -> float:
        """Weights, gradients and Adam's two moments (4 copies of the parameters)."""
        return 4.0 * sum(p.numel() * p.element_size() for p in self.model.parameters())

    def time_step(self, batch: int, seconds: float) -> float:
        """Median seconds per step at ``batch`` (one warm-up step, then timed steps for up to
        ``seconds``, at least one)."""
        self.step(batch)
        self._sync()
        times: list[float] = []
        start = time.perf_counter()
        while not times or (time.perf_counter() - start < seconds and len(times) < 20):
            t0 = time.perf_counter()
            self.step(batch)
            self._sync()
            times.append(time.perf_counter() - t0)
        return float(np.median(times))

    def _sync(self) -> None:
        if self.device.type == "cuda":
            self.torch.cuda.synchronize(self.device)


def fit_batch(bench: StepBench, cap: int) -> MemoryFit:
    """The largest batch that fits memory (see the module docstring); a GPU tries batches
    up to ``cap`` only."""
    if bench.device.type == "cuda":
        return _fit_batch_gpu(bench, cap)
    per_sample = BACKWARD_FACTOR * bench.saved_bytes_per_sample()
    free = MEMORY_SHARE * _available_ram() - bench.state_bytes()
    fit = max(1, int(free // max(per_sample, 1.0)))
    return MemoryFit(fit, f"{per_sample / 2**20:.0f} MiB per sample fits {fit} in "
                     f"{MEMORY_SHARE:.0%} of {_available_ram() / 2**30:.1f} GiB RAM")


def _fit_batch_gpu(bench: StepBench, cap: int) -> MemoryFit:
    torch = bench.torch
    free, _ = torch.cuda.mem_get_info(bench.device)
    limit = MEMORY_SHARE * free
    best, peak_best = 0, 0.0
    for batch in GPU_BATCHES:
        if batch > max(cap, GPU_BATCHES[0]):
            break
        torch.cuda.reset_peak_memory_stats(bench.device)
        try:
            bench.step(batch)
            torch.cuda.synchronize(bench.device)
        except torch.cuda.OutOfMemoryError:
            break
        peak = float(torch.cuda.max_memory_allocated(bench.device))
        if peak > limit:
            break
        best, peak_best = batch, peak
    torch.cuda.empty_cache()
    if best == 0:
        return MemoryFit(1, f"batch {GPU_BATCHES[0]} exceeds {MEMORY_SHARE:.0%} of "
                         f"{free / 2**30:.1f} GiB free GPU memory")
    return MemoryFit(best, f"batch {best} peaks at {peak_best / 2**30:.2f} GiB, under "
                     f"{MEMORY_SHARE:.0%} of {free / 2**30:.1f} GiB free GPU memory")


def time_batch(bench: StepBench, batch: int, seconds: float) -> StepTime:
    """Seconds per step at ``batch``: timed on a GPU; on a CPU timed at a batch of 1 (the
    first step also warms up) and scaled linearly."""
    if batch < 1:
        raise ConfigError(f"batch size {batch}: expected at least 1.")
    if bench.device.type == "cuda":
        return StepTime(bench.time_step(batch, seconds), batch, batch, str(bench.device))
    return StepTime(bench.time_step(1, seconds) * batch, batch, 1, str(bench.device))


def retime(bench: StepBench, step: StepTime, batch: int, seconds: float) -> StepTime:
    """``step`` for another ``batch``: scaled on a CPU, timed again on a GPU."""
    if batch == step.batch:
        return step
    if bench.device.type != "cuda":
        return StepTime(step.seconds / step.batch * batch, batch, step.measured_batch,
                        step.device)
    return time_batch(bench, batch, seconds)
