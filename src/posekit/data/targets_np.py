"""Numpy versions of the small geometric helpers inference needs without torch."""

from __future__ import annotations

import numpy as np


def anchors_np(points: np.ndarray, anchor_index: int | None = None) -> np.ndarray:
    """Anchor of each instance ``(N, K, 2) -> (N, 2)``: the anchor node where visible, else
    the midpoint of the visible points' bounding box; ``NaN`` without visible points.

    The same rule as :func:`posekit.data.targets.compute_anchors` (used for training).
    """
    pts = np.asarray(points, dtype=np.float64).reshape(-1, np.shape(points)[-2], 2)
    visible = np.isfinite(pts).all(axis=-1)
    lo = np.where(visible[..., None], pts, np.inf).min(axis=1)
    hi = np.where(visible[..., None], pts, -np.inf).max(axis=1)
    mid = np.where(visible.any(axis=1)[:, None], (lo + hi) / 2.0, np.nan)
    if anchor_index is not None:
        node = pts[:, anchor_index]
        use = visible[:, anchor_index]
        mid = np.where(use[:, None], node, mid)
    return mid
