"""Identity assignment for multi-class models (class maps and class vectors).

Within a frame each identity (class) is given to at most one instance: the assignment
maximises the total class score over the frame (Hungarian algorithm). When a frame has
more instances than classes, the instances left over get class ``-1`` and score ``0``.
Inputs may be torch tensors or numpy arrays; results are torch tensors.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

from posekit.errors import DataError

__all__ = [
    "assign_identities",
    "assign_identities_from_class_maps",
    "assign_identities_from_class_vectors",
    "class_map_scores",
]


def class_map_scores(
    instances: torch.Tensor, class_maps: torch.Tensor, stride: float
) -> torch.Tensor:
    """Mean class-map value at each instance's visible points.

    Class maps are read with bilinear interpolation at ``(x / stride, y / stride)`` (the
    grid mapping of ``docs/design.md``), clamped to the map.

    Args:
        instances: ``(n, K, 2)`` points in model-input pixels (``NaN`` where missing).
        class_maps: ``(C, h, w)`` class maps of the frame.
        stride: output stride of the class maps.

    Returns:
        ``(n, C)`` scores; ``NaN`` rows for instances without a visible point.
    """
    class_maps = torch.as_tensor(class_maps)
    if class_maps.ndim != 3:
        raise DataError(
            f"class_maps: got shape {tuple(class_maps.shape)}; expected (classes, height, "
            "width) for one frame."
        )
    instances = torch.as_tensor(instances, device=class_maps.device, dtype=torch.float32)
    if instances.ndim != 3 or instances.shape[-1] != 2:
        raise DataError(
            f"instances: got shape {tuple(instances.shape)}; expected (instances, nodes, 2)."
        )
    n_classes, h, w = class_maps.shape
    visible = torch.isfinite(instances).all(dim=-1)  # (n, K)
    grid = torch.nan_to_num(instances / stride, nan=0.0)
    gx = grid[..., 0].clamp(0, w - 1).reshape(-1)
    gy = grid[..., 1].clamp(0, h - 1).reshape(-1)
    x0 = gx.floor().long().clamp(max=max(w - 2, 0))
    y0 = gy.floor().long().clamp(max=max(h - 2, 0))
    x1, y1 = (x0 + 1).clamp(max=w - 1), (y0 + 1).clamp(max=h - 1)
    fx, fy = (gx - x0).clamp(0, 1), (gy - y0).clamp(0, 1)
    maps = class_maps.float()
    values = (
        maps[:, y0, x0] * (1 - fx) * (1 - fy)
        + maps[:, y0, x1] * fx * (1 - fy)
        + maps[:, y1, x0] * (1 - fx) * fy
        + maps[:, y1, x1] * fx * fy
    ).reshape(n_classes, *visible.shape)  # (C, n, K)
    weights = visible.float()
    total = (values * weights).sum(dim=-1)
    count = weights.sum(dim=-1)
    scores = total / count.clamp_min(1.0)
    return torch.where(count > 0, scores, float("nan")).T


def assign_identities(scores: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One frame's instance-to-class assignment from an ``(n, C)`` score matrix.

    Maximises the total score with each class used at most once; rows containing ``NaN``
    (no evidence) are never assigned.

    Returns:
        ``class_idx (n,)`` long (``-1`` when unassigned) and ``class_scores (n,)`` (the
        assigned class's score, ``0`` when unassigned), on the scores' device.
    """
    scores = torch.as_tensor(scores)
    if scores.ndim != 2:
        raise DataError(f"scores: got shape {tuple(scores.shape)}; expected (instances, classes).")
    values = scores.detach().cpu().double().numpy()
    n_inst = values.shape[0]
    class_idx = np.full(n_inst, -1, dtype=np.int64)
    class_scores = np.zeros(n_inst, dtype=np.float32)
    usable = np.flatnonzero(np.isfinite(values).all(axis=1))
    if len(usable) and values.shape[1]:
        rows, cols = linear_sum_assignment(values[usable], maximize=True)
        class_idx[usable[rows]] = cols
        class_scores[usable[rows]] = values[usable[rows], cols]
    return (
        torch.as_tensor(class_idx, device=scores.device),
        torch.as_tensor(class_scores, device=scores.device),
    )


def assign_identities_from_class_maps(
    instances: torch.Tensor, class_maps: torch.Tensor, stride: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Identities of one frame's instances from multi-class bottom-up class maps.

    Each instance x class pair is scored by the mean class-map value at the instance's
    visible points (:func:`class_map_scores`); the frame is then assigned with
    :func:`assign_identities`.

    Args:
        instances: ``(n, K, 2)`` grouped instances in model-input pixels.
        class_maps: ``(C, h, w)`` class maps of the frame.
        stride: output stride of the class maps.

    Returns:
        ``class_idx (n,)`` (``-1`` when unassigned) and ``class_scores (n,)``.
    """
    return assign_identities(class_map_scores(instances, class_maps, stride))


def assign_identities_from_class_vectors(
    probs: torch.Tensor, frame_index: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Identities from multi-class top-down class vectors, one assignment per frame.

    Args:
        probs: ``(n, C)`` class probabilities of each instance (crop).
        frame_index: ``(n,)`` frame of each instance; ``None`` when all share one frame.

    Returns:
        ``class_idx (n,)`` (``-1`` when unassigned) and ``class_scores (n,)`` (the assigned
        class's probability).
    """
    probs = torch.as_tensor(probs)
    if probs.ndim != 2:
        raise DataError(f"probs: got shape {tuple(probs.shape)}; expected (instances, classes).")
    if frame_index is None:
        return assign_identities(probs)
    frame_index = torch.as_tensor(frame_index, device=probs.device)
    if frame_index.shape != probs.shape[:1]:
        raise DataError(
            f"frame_index: got shape {tuple(frame_index.shape)}; expected ({probs.shape[0]},), "
            "one frame index per instance."
        )
    class_idx = torch.full((probs.shape[0],), -1, dtype=torch.long, device=probs.device)
    class_scores = torch.zeros(probs.shape[0], dtype=torch.float32, device=probs.device)
    for frame in torch.unique(frame_index).tolist():
        sel = (frame_index == frame).nonzero().flatten()
        idx, score = assign_identities(probs[sel])
        class_idx[sel] = idx
        class_scores[sel] = score
    return class_idx, class_scores
