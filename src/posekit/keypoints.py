"""Facts about keypoint arrays every part of posekit agrees on (numpy only, no I/O).

Instances are ``(..., n, K, 2)`` arrays of ``(x, y)`` in pixels with ``NaN`` for a missing
node (``docs/design.md``). A node is *visible* when both of its coordinates are finite.

The **anchor** of an instance is the one point that stands for the whole animal: the
anchor node (``anchor_part`` in the configuration) where it is visible, otherwise the
midpoint of the bounding box of the visible nodes, and ``NaN`` for an instance with no
visible node. Centroid targets, top-down crops, ground-truth centroids, centroid-model
scoring and the tracker's centroid similarity all use this rule; the torch version used on
the training device (:func:`posekit.data.targets.compute_anchors`) is tested to agree.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["MIN_BOX_AREA", "anchor_points", "bounding_boxes", "box_areas", "visible_mask"]

#: Smallest bounding-box area (px²) used as an object size: a pose with one visible node,
#: or with all nodes on a line, has no area of its own.
MIN_BOX_AREA = 1.0


def visible_mask(points: ArrayLike) -> np.ndarray:
    """``(..., K)`` bool: the node has both coordinates finite."""
    return np.isfinite(np.asarray(points, dtype=np.float64)).all(axis=-1)


def bounding_boxes(points: ArrayLike) -> np.ndarray:
    """``(..., 4)`` boxes ``(x0, y0, x1, y1)`` around each instance's visible nodes.

    ``NaN`` rows for instances with no visible node.
    """
    pts = np.asarray(points, dtype=np.float64)
    vis = visible_mask(pts)[..., None]
    lo = np.where(vis, pts, np.inf).min(axis=-2)
    hi = np.where(vis, pts, -np.inf).max(axis=-2)
    boxes = np.concatenate([lo, hi], axis=-1)
    boxes[~vis[..., 0].any(axis=-1)] = np.nan
    return boxes


def box_areas(points: ArrayLike, floor: float = MIN_BOX_AREA) -> np.ndarray:
    """``(...,)`` bounding-box areas in px², at least ``floor``; ``NaN`` for empty poses."""
    boxes = bounding_boxes(points)
    area = (boxes[..., 2] - boxes[..., 0]) * (boxes[..., 3] - boxes[..., 1])
    return np.where(np.isnan(area), np.nan, np.maximum(area, floor))


def anchor_points(points: ArrayLike, anchor_index: int | None = None) -> np.ndarray:
    """The anchor of each instance, ``(..., n, K, 2) -> (..., n, 2)`` (see the module doc).

    Args:
        points: instances with ``NaN`` for missing nodes.
        anchor_index: index of the anchor node, or ``None`` for bounding-box midpoints.
    """
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim < 2 or pts.shape[-1] != 2:
        raise ValueError(f"points: shape {pts.shape}; expected (..., nodes, 2).")
    boxes = bounding_boxes(pts)
    mid = (boxes[..., :2] + boxes[..., 2:]) / 2.0
    if anchor_index is None:
        return mid
    n_nodes = pts.shape[-2]
    if not -n_nodes <= anchor_index < n_nodes:
        raise ValueError(f"anchor_index {anchor_index} is out of range for {n_nodes} nodes.")
    node = pts[..., anchor_index, :]
    return np.where(np.isfinite(node).all(axis=-1, keepdims=True), node, mid)
