"""Loss functions: per-channel mean squared error and online hard keypoint mining (OHKM).

Every head's loss is built from :func:`channel_mse`, the mean squared error of each output
channel (one node's confidence map, one PAF component, one class map). Averaging these
equally gives the plain loss; :func:`ohkm_loss` instead weights the worst channels up so that
hard body parts get more of the gradient.

Per-sample weights (e.g. from inter-labeler agreement, :mod:`posekit.refinement.frame_weights`)
multiply each sample's squared errors before the batch mean: a sample of weight ``w``
contributes ``w / B`` of the batch loss, a weight-0 sample nothing (and no gradient).
:func:`task_loss` is a model type's loss with such weights; without weights it computes
exactly what :meth:`~posekit.model_types.base.ModelType.loss` does.

Foreground weighting (:mod:`posekit.training.foreground`) multiplies each squared error by
``1 + (w - 1) * |target|`` so the pixels under the peaks (and along part-affinity fields,
whose targets are signed) count more while a model leaves the all-zero plateau;
:func:`foreground_weight_at` fades ``w`` to 1 over training. With ``w == 1`` nothing is
multiplied: the loss is bit-identical to the plain one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import torch
from torch import Tensor


class LossTask(Protocol):
    """What the loss needs of a model type (:class:`~posekit.model_types.base.ModelType`):
    its heads (``key``, ``loss``, ``loss_weight``) and the primary one."""

    heads: Sequence[Any]
    primary: Any


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


def channel_mse(pred: Tensor, target: Tensor, weights: Tensor | None = None,
                foreground_weight: float = 1.0) -> Tensor:
    """Mean squared error of each channel: ``(B, C, H, W)`` pair -> ``(C,)``.

    For vector outputs ``(B, C)`` it returns the per-column mean squared error. With
    ``weights`` (``(B,)``), sample ``b``'s squared errors are multiplied by ``weights[b]``
    before the mean (the mean still divides by ``B``). With ``foreground_weight`` other
    than 1, each squared error is also multiplied by
    ``1 + (foreground_weight - 1) * |target|``.
    """
    if pred.shape != target.shape:
        raise ValueError(f"prediction shape {tuple(pred.shape)} != target shape {tuple(target.shape)}")
    diff = (pred.float() - target.float()) ** 2
    if foreground_weight != 1.0:
        diff = diff * (1.0 + (float(foreground_weight) - 1.0) * target.float().abs())
    if weights is not None:
        diff = diff * weights.to(diff.dtype).reshape(-1, *([1] * (diff.ndim - 1)))
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


def foreground_weight_at(progress: float, start_weight: float, fade_fraction: float
                         ) -> float:
    """The foreground weight after ``progress`` (a fraction) of training: ``start_weight``
    at 0, linear down to 1 at ``fade_fraction``, 1 from then on (and 1 throughout when
    ``fade_fraction`` is not positive). Progress below 0 counts as 0."""
    p = max(float(progress), 0.0)
    if fade_fraction <= 0 or p >= fade_fraction:
        return 1.0
    return float(start_weight) + (1.0 - float(start_weight)) * p / float(fade_fraction)


def head_loss(pred: Tensor, target: Tensor, ohkm: OHKMParams | None = None,
              weights: Tensor | None = None, foreground_weight: float = 1.0) -> Tensor:
    """Loss of one head: mean of per-channel MSE, or its OHKM-weighted version (per-sample
    ``weights`` and ``foreground_weight`` as in :func:`channel_mse`)."""
    losses = channel_mse(pred, target, weights, foreground_weight)
    if ohkm is None:
        return losses.mean()
    return ohkm_loss(losses, ohkm)


def class_loss(pred: Tensor, target: Tensor, weights: Tensor | None = None) -> Tensor:
    """Identity classification loss: cross entropy over samples of known class (``target
    >= 0``), each multiplied by its weight when ``weights`` is given; 0 (keeping the graph)
    when no sample has a known class."""
    valid = target >= 0
    if not bool(valid.any()):
        return pred.sum() * 0.0
    if weights is None:
        return torch.nn.functional.cross_entropy(pred[valid].float(), target[valid])
    each = torch.nn.functional.cross_entropy(pred[valid].float(), target[valid],
                                             reduction="none")
    return (each * weights[valid].to(each.dtype)).mean()


def task_loss(task: LossTask, outputs: dict[str, Tensor], targets: dict[str, Tensor],
              ohkm: OHKMParams | None = None, weights: Tensor | None = None,
              foreground_weight: float = 1.0) -> tuple[Tensor, dict[str, Tensor]]:
    """``task``'s loss (:meth:`~posekit.model_types.base.ModelType.loss`: the heads'
    losses times their ``loss_weight``, and each head's loss for logging) with per-sample
    ``weights`` (``(B,)``) applied to every head and ``foreground_weight`` to the ``mse``
    and ``mse_sigmoid`` heads (not to identity classification)."""
    parts: dict[str, Tensor] = {}
    total = torch.zeros((), device=next(iter(outputs.values())).device)
    for head in task.heads:
        pred, target = outputs[head.key], targets[head.key]
        if head.loss == "cross_entropy":
            value = class_loss(pred, target, weights)
        elif head.loss == "mse_sigmoid":
            value = head_loss(torch.sigmoid(pred), target, None, weights, foreground_weight)
        else:
            value = head_loss(pred, target, ohkm if head is task.primary else None, weights,
                              foreground_weight)
        parts[head.key] = value.detach()
        total = total + head.loss_weight * value
    return total, parts
