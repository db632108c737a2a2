"""Node visibility precision and recall on matched instances.

Each node of each matched pair is one decision: the model either places a point there
(a *detection*) or leaves it missing (NaN). Against the GT point:

* true positive (TP): the model places the point and the GT point is visible — and, when
  ``max_distance`` is given, the point lies within ``max_distance`` pixels of it;
* false positive (FP): the model places a point where the GT point is not visible, or
  (with ``max_distance``) places it farther than ``max_distance`` from the GT point;
* false negative (FN): the GT point is visible but the model has no correct point for it
  (missing, or too far with ``max_distance``);
* true negative (TN): neither has a point.

A too-far point therefore counts once as FP (a wrong detection) and once as FN (the real
point was not found). Precision = TP / (TP + FP), recall = TP / (TP + FN).
"""

from __future__ import annotations

import numpy as np

from posekit.keypoints import visible_mask


def visibility_counts(
    gt: np.ndarray, pred: np.ndarray, max_distance: float | None = None
) -> dict[str, np.ndarray]:
    """Per-node TP / FP / FN / TN counts over matched pairs.

    Args:
        gt: ``(M, K, 2)`` GT points of the matched pairs.
        pred: ``(M, K, 2)`` predicted points of the same pairs.
        max_distance: optional pixel distance a detection must be within to be correct.

    Returns:
        ``{"tp", "fp", "fn", "tn"}``, each an int64 ``(K,)`` array.
    """
    gt = np.asarray(gt, dtype=np.float64)
    pred = np.asarray(pred, dtype=np.float64)
    gt_vis = visible_mask(gt)
    detected = visible_mask(pred)
    if max_distance is None:
        close = np.ones_like(gt_vis)
    else:
        diff = pred - gt
        with np.errstate(invalid="ignore"):
            close = np.hypot(diff[..., 0], diff[..., 1]) <= float(max_distance)
    tp = detected & gt_vis & close
    fp = detected & ~(gt_vis & close)
    fn = gt_vis & ~tp
    tn = ~detected & ~gt_vis
    return {
        k: v.sum(axis=0).astype(np.int64)
        for k, v in {"tp": tp, "fp": fp, "fn": fn, "tn": tn}.items()
    }


def precision_recall(counts: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Precision and recall from counts (arrays or scalars); NaN where undefined."""
    tp = np.asarray(counts["tp"], dtype=np.float64)
    fp = np.asarray(counts["fp"], dtype=np.float64)
    fn = np.asarray(counts["fn"], dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(tp + fp > 0, tp / np.maximum(tp + fp, 1), np.nan)
        recall = np.where(tp + fn > 0, tp / np.maximum(tp + fn, 1), np.nan)
    return precision, recall
