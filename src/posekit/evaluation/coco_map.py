"""COCO keypoint mAP / mAR, reproducing ``pycocotools.cocoeval.COCOeval`` (iouType "keypoints").

What is reproduced, per frame (COCO's "image"), with the area range "all" only:

* predictions are sorted by score (stable, highest first) and only the first
  ``max_detections`` (COCO: 20) are kept;
* GT instances with no visible keypoint are *ignored*, as are GT instances whose area lies
  outside the area range; ignored GT are tried last and a prediction matched to one is
  ignored too (neither true nor false positive);
* at each OKS threshold ``t`` (0.50:0.05:0.95) every prediction, in score order, is matched
  greedily to the unmatched GT instance with the highest OKS >= ``t`` (ties go to the later
  GT instance, as in COCOeval); unmatched predictions are false positives unless their own
  area is outside the range;
* over all frames the predictions are pooled and sorted by score, cumulative precision and
  recall are computed, precision is made monotone and read at 101 recall points
  (0:0.01:1); AP is the mean of those 101 values, AR the final recall;
* mAP is the mean AP over thresholds, mAR the mean AR.

When there is no non-ignored GT instance at all, COCOeval reports -1; here AP/AR are NaN.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

COCO_OKS_THRESHOLDS = np.linspace(0.5, 0.95, 10)
"""OKS thresholds 0.50:0.05:0.95, built the way COCOeval builds them."""

COCO_RECALL_POINTS = np.linspace(0.0, 1.0, 101)
"""The 101 recall values at which interpolated precision is read."""

COCO_MAX_DETECTIONS = 20
"""COCOeval's per-image cap on predictions for keypoints."""

COCO_AREA_RANGE_ALL = (0.0, 1e5**2)
"""COCOeval's "all" area range in square pixels."""


@dataclass(frozen=True)
class FrameDetections:
    """What COCO matching needs to know about one frame.

    Attributes:
        oks: ``(G, P)`` OKS between GT instances and predictions (predictions in their
            original order).
        gt_areas: ``(G,)`` GT instance areas.
        gt_num_visible: ``(G,)`` number of visible keypoints of each GT instance.
        pred_scores: ``(P,)`` prediction scores (higher = more confident).
        pred_areas: ``(P,)`` areas of the predictions' own point bounding boxes.
    """

    oks: np.ndarray
    gt_areas: np.ndarray
    gt_num_visible: np.ndarray
    pred_scores: np.ndarray
    pred_areas: np.ndarray


@dataclass(frozen=True)
class CocoKeypointResult:
    """Output of :func:`coco_keypoint_map`.

    Attributes:
        thresholds: ``(T,)`` OKS thresholds.
        ap: ``(T,)`` average precision at each threshold (NaN if no GT counts).
        ar: ``(T,)`` recall at each threshold (NaN if no GT counts).
        precision: ``(T, 101)`` interpolated precision at each recall point.
        map: mean of ``ap``.
        mar: mean of ``ar``.
        n_gt: number of GT instances that count (not ignored).
        n_predictions: number of predictions considered (after the per-frame cap).
    """

    thresholds: np.ndarray
    ap: np.ndarray
    ar: np.ndarray
    precision: np.ndarray
    map: float
    mar: float
    n_gt: int
    n_predictions: int


def _last_argmax(values: np.ndarray) -> np.ndarray:
    """Index of the last maximum along the last axis."""
    n = values.shape[-1]
    return n - 1 - np.argmax(values[..., ::-1], axis=-1)


def _match_frame(
    frame: FrameDetections,
    thresholds: np.ndarray,
    max_detections: int,
    area_range: tuple[float, float],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Greedy COCO matching of one frame.

    Returns the kept predictions' scores ``(D,)``, matched flags ``(T, D)``, ignored
    flags ``(T, D)`` and the GT ignore flags ``(G,)``.
    """
    lo, hi = area_range
    gt_areas = np.asarray(frame.gt_areas, dtype=np.float64)
    gt_ignore = (np.asarray(frame.gt_num_visible) == 0) | (gt_areas < lo) | (gt_areas > hi)
    scores = np.asarray(frame.pred_scores, dtype=np.float64)
    order = np.argsort(-scores, kind="mergesort")[:max_detections]
    scores = scores[order]
    n_thr, n_det = thresholds.shape[0], order.shape[0]
    matched = np.zeros((n_thr, n_det), dtype=bool)
    ignored = np.zeros((n_thr, n_det), dtype=bool)
    n_gt = gt_ignore.shape[0]
    if n_gt and n_det:
        gt_order = np.argsort(gt_ignore, kind="mergesort")
        ign = gt_ignore[gt_order]
        oks = np.asarray(frame.oks, dtype=np.float64)[np.ix_(gt_order, order)]  # (G, D)
        limits = np.minimum(thresholds, 1 - 1e-10)[:, None]  # (T, 1)
        gt_taken = np.zeros((n_thr, n_gt), dtype=bool)
        rows = np.arange(n_thr)
        for d in range(n_det):
            cand = ~gt_taken & (oks[None, :, d] >= limits)  # (T, G)
            regular = cand & ~ign[None, :]
            crowd = cand & ign[None, :]
            best_reg = _last_argmax(np.where(regular, oks[None, :, d], -np.inf))
            best_ign = _last_argmax(np.where(crowd, oks[None, :, d], -np.inf))
            has_reg = regular.any(axis=1)
            has_ign = crowd.any(axis=1)
            best = np.where(has_reg, best_reg, best_ign)
            hit = has_reg | has_ign
            matched[:, d] = hit
            ignored[:, d] = hit & ign[best]
            gt_taken[rows[hit], best[hit]] = True
    pred_areas = np.asarray(frame.pred_areas, dtype=np.float64)[order]
    out_of_range = (pred_areas < lo) | (pred_areas > hi)
    ignored |= ~matched & out_of_range[None, :]
    return scores, matched, ignored, gt_ignore


def coco_keypoint_map(
    frames: Sequence[FrameDetections],
    *,
    thresholds: np.ndarray = COCO_OKS_THRESHOLDS,
    recall_points: np.ndarray = COCO_RECALL_POINTS,
    max_detections: int = COCO_MAX_DETECTIONS,
    area_range: tuple[float, float] = COCO_AREA_RANGE_ALL,
) -> CocoKeypointResult:
    """COCO keypoint AP/AR over a set of frames (see the module docstring for the rules).

    Frames are pooled in the order given; that order only matters for predictions with
    exactly equal scores, where it is the tie-break (as COCOeval's image order is).
    """
    thresholds = np.asarray(thresholds, dtype=np.float64)
    recall_points = np.asarray(recall_points, dtype=np.float64)
    n_thr = thresholds.shape[0]
    all_scores, all_matched, all_ignored = [], [], []
    n_gt = 0
    for frame in frames:
        scores, matched, ignored, gt_ignore = _match_frame(
            frame, thresholds, max_detections, area_range
        )
        all_scores.append(scores)
        all_matched.append(matched)
        all_ignored.append(ignored)
        n_gt += int(np.count_nonzero(~gt_ignore))
    scores = np.concatenate(all_scores) if all_scores else np.zeros(0)
    n_det = scores.shape[0]
    nan_result = CocoKeypointResult(
        thresholds=thresholds,
        ap=np.full(n_thr, np.nan),
        ar=np.full(n_thr, np.nan),
        precision=np.full((n_thr, recall_points.shape[0]), np.nan),
        map=float("nan"),
        mar=float("nan"),
        n_gt=n_gt,
        n_predictions=n_det,
    )
    if n_gt == 0:
        return nan_result
    order = np.argsort(-scores, kind="mergesort")
    if n_det:
        matched = np.concatenate(all_matched, axis=1)[:, order]
        ignored = np.concatenate(all_ignored, axis=1)[:, order]
    else:
        matched = ignored = np.zeros((n_thr, 0), dtype=bool)
    tp = np.cumsum(matched & ~ignored, axis=1).astype(np.float64)
    fp = np.cumsum(~matched & ~ignored, axis=1).astype(np.float64)
    recall_curve = tp / n_gt
    precision_curve = tp / (fp + tp + np.spacing(1))
    # Monotone (non-increasing) precision envelope, as COCOeval builds it.
    precision_curve = np.maximum.accumulate(precision_curve[:, ::-1], axis=1)[:, ::-1]
    precision = np.zeros((n_thr, recall_points.shape[0]), dtype=np.float64)
    ar = np.zeros(n_thr, dtype=np.float64)
    for t in range(n_thr):
        if n_det == 0:
            continue
        ar[t] = recall_curve[t, -1]
        idx = np.searchsorted(recall_curve[t], recall_points, side="left")
        valid = idx < n_det
        precision[t, valid] = precision_curve[t, idx[valid]]
    ap = precision.mean(axis=1)
    return CocoKeypointResult(
        thresholds=thresholds,
        ap=ap,
        ar=ar,
        precision=precision,
        map=float(precision.mean()),
        mar=float(ar.mean()),
        n_gt=n_gt,
        n_predictions=n_det,
    )
