"""Identity assignment for multi-class models (class maps and class vectors).

Within a frame each identity (class) is given to at most one instance: the assignment
maximises the total class score over the frame (Hungarian algorithm). When a frame has
more instances than classes, the instances left over get class ``-1`` and score ``0``.
Pure numpy + scipy (no torch): inputs may be anything :func:`numpy.asarray` accepts;
results are numpy arrays.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy.optimize import linear_sum_assignment

from posekit.decoding.paf_scoring import bilinear_sample
from posekit.errors import DataError

__all__ = [
    "assign_identities",
    "assign_identities_from_class_vectors",
    "check_class_maps",
    "class_map_values",
]


def check_class_maps(class_maps: ArrayLike) -> np.ndarray:
    """``class_maps`` as an array of shape ``(C, h, w)`` (one frame), or a :class:`DataError`."""
    maps = np.asarray(class_maps)
    if maps.ndim != 3:
        raise DataError(
            f"class_maps: got shape {tuple(maps.shape)}; expected (classes, height, "
            "width) for one frame."
        )
    return maps


def class_map_values(points: ArrayLike, class_maps: ArrayLike, stride: float) -> np.ndarray:
    """Every class map's value at each point.

    Class maps are read with bilinear interpolation at ``(x / stride, y / stride)`` (the
    grid mapping of ``docs/design.md``), clamped to the map.

    Args:
        points: ``(..., 2)`` points in model-input pixels (``NaN`` where missing).
        class_maps: ``(C, h, w)`` class maps of one frame.
        stride: output stride of the class maps.

    Returns:
        ``(..., C)`` float64 values; ``NaN`` for points that are not finite.
    """
    maps = check_class_maps(class_maps)
    points = np.asarray(points, dtype=np.float64)
    if points.ndim < 1 or points.shape[-1] != 2:
        raise DataError(f"points: got shape {tuple(points.shape)}; expected (..., 2).")
    finite = np.isfinite(points).all(axis=-1)
    grid = np.where(finite[..., None], points / stride, 0.0)
    channels = np.arange(maps.shape[0]).reshape((-1,) + (1,) * finite.ndim)
    values = np.moveaxis(bilinear_sample(maps, channels, grid[..., 0], grid[..., 1]), 0, -1)
    return np.where(finite[..., None], values, np.nan)



def assign_identities(scores: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """One frame's instance-to-class assignment from an ``(n, C)`` score matrix.

    Maximises the total score with each class used at most once; rows containing ``NaN``
    (no evidence) are never assigned.

    Returns:
        ``class_idx (n,)`` int64 (``-1`` when unassigned) and ``class_scores (n,)`` float32
        (the assigned class's score, ``0`` when unassigned).
    """
    values = np.asarray(scores, dtype=np.float64)
    if values.ndim != 2:
        raise DataError(f"scores: got shape {tuple(values.shape)}; expected (instances, classes).")
    n_inst = values.shape[0]
    class_idx = np.full(n_inst, -1, dtype=np.int64)
    class_scores = np.zeros(n_inst, dtype=np.float32)
    usable = np.flatnonzero(np.isfinite(values).all(axis=1))
    if len(usable) and values.shape[1]:
        rows, cols = linear_sum_assignment(values[usable], maximize=True)
        class_idx[usable[rows]] = cols
        class_scores[usable[rows]] = values[usable[rows], cols]
    return class_idx, class_scores



def assign_identities_from_class_vectors(
    probs: ArrayLike, frame_index: ArrayLike | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Identities from multi-class top-down class vectors, one assignment per frame.

    Args:
        probs: ``(n, C)`` class probabilities of each instance (crop).
        frame_index: ``(n,)`` frame of each instance; ``None`` when all share one frame.

    Returns:
        ``class_idx (n,)`` int64 (``-1`` when unassigned) and ``class_scores (n,)`` float32
        (the assigned class's probability).
    """
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 2:
        raise DataError(f"probs: got shape {tuple(probs.shape)}; expected (instances, classes).")
    if frame_index is None:
        return assign_identities(probs)
    frame_index = np.asarray(frame_index)
    if frame_index.shape != probs.shape[:1]:
        raise DataError(
            f"frame_index: got shape {tuple(frame_index.shape)}; expected ({probs.shape[0]},), "
            "one frame index per instance."
        )
    class_idx = np.full(probs.shape[0], -1, dtype=np.int64)
    class_scores = np.zeros(probs.shape[0], dtype=np.float32)
    order = np.argsort(frame_index, kind="stable")
    starts = np.flatnonzero(np.r_[True, frame_index[order][1:] != frame_index[order][:-1]])
    for sel in np.split(order, starts[1:]) if len(order) else []:
        class_idx[sel], class_scores[sel] = assign_identities(probs[sel])
    return class_idx, class_scores
