"""Loss functions: per-channel mean squared error and online hard keypoint mining (OHKM).

Every head's loss is built from :func:`channel_mse`, the mean squared error of each output
channel (one node's confidence map, one PAF component, one class map). Averaging these
equally gives the plain loss; :func:`ohkm_loss` instead weights the worst channels up so that
hard body parts get more of the gradient.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class OHKMParams:
    """Online hard keypoint mining settings (``trainer_config.online_hard_keypoint_mining``).

    A channel is *hard* when its loss is at least ``hard_to_easy_ratio`` times the smallest
    channel loss of the batch. At least ``min_hard_keypoints`` and at most
    ``max_hard_keypoints`` (``None``: no upper limit) of the worst channels are treated as hard,
    and their losses are multiplied by ``loss_scale``.
    """

    hard_to_easy_ratio: float = 2.0
    min_hard_keypoints: int = 2
    max_hard_keypoints: int | None = None
    loss_scale: float = 5.0

    @classmethod
    def from_config(cls, cfg: object) -> OHKMParams | None:
        """Build from an ``OHKMConfig``; ``None`` when mining is off."""
        if cfg is None or not getattr(cfg, "online_mining", False):
            return None
        return cls(
            hard_to_easy_ratio=float(cfg.hard_to_easy_ratio),
            min_hard_keypoints=int(cfg.min_hard_keypoints),
            max_hard_keypoints=None if cfg.max_hard_keypoints is None else int(cfg.max_hard_keypoints),
            loss_scale=float(cfg.loss_scale),
        )


def channel_mse(pred: Tensor, target: Tensor) -> Tensor:
    """Mean squared error of each channel: ``(B, C, H, W)`` pair -> ``(C,)``.

    For vector outputs ``(B, C)`` it returns the per-column mean squared error.
    """
    if pred.shape != target.shape:
        raise ValueError(f"prediction shape {tuple(pred.shape)} != target shape {tuple(target.shape)}")
    diff = (pred.float() - target.float()) ** 2
    dims = [0, *range(2, diff.ndim)]
    return diff.mean(dim=dims)


def hard_channel_mask(losses: Tensor, params: OHKMParams) -> Tensor:
    """Boolean mask of the channels counted as hard under ``params`` (see :class:`OHKMParams`)."""
    n = losses.numel()
    if n == 0:
        return torch.zeros_like(losses, dtype=torch.bool)
    easiest = losses.min().clamp_min(torch.finfo(losses.dtype).tiny)
    by_ratio = int((losses >= params.hard_to_easy_ratio * easiest).sum().item())
    count = max(by_ratio, params.min_hard_keypoints)
    if params.max_hard_keypoints is not None:
        count = min(count, params.max_hard_keypoints)
    count = max(0, min(count, n))
    mask = torch.zeros(n, dtype=torch.bool, device=losses.device)
    if count:
        mask[torch.topk(losses, count).indices] = True
    return mask


def ohkm_loss(losses: Tensor, params: OHKMParams) -> Tensor:
    """Weighted mean of per-channel losses where hard channels weigh ``loss_scale``.

    ``sum(w_c * L_c) / C`` with ``w_c = loss_scale`` for hard channels and 1 otherwise, so with
    ``loss_scale == 1`` it equals the plain mean.
    """
    mask = hard_channel_mask(losses.detach(), params)
    weights = torch.where(mask, torch.full_like(losses, params.loss_scale), torch.ones_like(losses))
    return (weights * losses).sum() / max(losses.numel(), 1)


def head_loss(pred: Tensor, target: Tensor, ohkm: OHKMParams | None = None) -> Tensor:
    """Loss of one head: mean of per-channel MSE, or its OHKM-weighted version."""
    losses = channel_mse(pred, target)
    if ohkm is None:
        return losses.mean()
    return ohkm_loss(losses, ohkm)
