"""Localization errors of matched instances: error distribution and PCK.

All functions take the points of matched pairs stacked as ``(M, K, 2)`` arrays (GT and
prediction of pair ``m`` at index ``m``) and work per node without Python loops.

Definitions used (also in docs/metrics.md):

* the *error* of a node is the Euclidean distance in pixels between its GT point and its
  predicted point; it exists only when both are present (GT visible, prediction not NaN);
* the distribution statistics (mean, RMSE, median, percentiles) pool the errors that exist;
* PCK at ``t`` pixels is the fraction of GT-visible nodes of matched instances whose error
  is at most ``t``; a node the model did not predict counts as incorrect;
* normalised PCK uses ``t = fraction * diagonal of the GT instance's visible-point bounding
  box``; instances with a zero diagonal (one visible point) are left out of it.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

from posekit.evaluation.oks import instance_diagonals
from posekit.keypoints import visible_mask

DEFAULT_PCK_THRESHOLDS_PX: tuple[float, ...] = (1.0, 2.0, 5.0, 10.0, 20.0)
"""Pixel thresholds at which PCK is reported by default."""

DEFAULT_PCK_BBOX_FRACTIONS: tuple[float, ...] = (0.05, 0.1, 0.2)
"""Fractions of the GT bounding-box diagonal at which normalised PCK is reported by default."""

PERCENTILES: tuple[int, ...] = (75, 90, 95, 99)
"""Upper percentiles of the error distribution that are reported (the median is always)."""


def node_errors(gt: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """Euclidean error of every node of every matched pair.

    Args:
        gt: ``(M, K, 2)`` GT points of the matched pairs.
        pred: ``(M, K, 2)`` predicted points of the same pairs.

    Returns:
        ``(M, K)`` float64 distances in pixels, NaN where the GT point is not visible or
        the prediction is missing.
    """
    diff = np.asarray(pred, dtype=np.float64) - np.asarray(gt, dtype=np.float64)
    return np.hypot(diff[..., 0], diff[..., 1])


def _stats(errors: np.ndarray, present: np.ndarray, axis: int | None) -> dict[str, np.ndarray]:
    """Distribution statistics of the present errors along ``axis`` (None = pooled)."""
    count = present.sum(axis=axis)
    data = np.where(present, errors, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        total = np.where(present, errors, 0.0).sum(axis=axis)
        squares = np.where(present, errors**2, 0.0).sum(axis=axis)
        mean = np.where(count > 0, total / np.maximum(count, 1), np.nan)
        rmse = np.where(count > 0, np.sqrt(squares / np.maximum(count, 1)), np.nan)
    if data.size and np.any(count > 0):
        # Columns without data give all-NaN slices; their result is NaN by design.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            qs = np.nanpercentile(data, [50, *PERCENTILES], axis=axis)
    else:
        shape = () if axis is None else np.shape(count)
        qs = np.full((1 + len(PERCENTILES), *shape), np.nan)
    out = {"n": count, "mean_px": mean, "rmse_px": rmse, "median_px": qs[0]}
    for i, p in enumerate(PERCENTILES, start=1):
        out[f"p{p}_px"] = qs[i]
    return out


def error_summary(errors: np.ndarray) -> dict[str, float | int]:
    """Pooled error statistics over all nodes of all pairs.

    Args:
        errors: ``(M, K)`` errors from :func:`node_errors` (NaN = no error).

    Returns:
        ``{"n", "mean_px", "rmse_px", "median_px", "p75_px", "p90_px", "p95_px",
        "p99_px"}``; NaN statistics when no error exists. Percentiles use linear
        interpolation between order statistics (numpy's default).
    """
    errors = np.asarray(errors, dtype=np.float64)
    present = np.isfinite(errors)
    stats = _stats(errors.reshape(-1), present.reshape(-1), axis=None)
    return {k: (int(v) if k == "n" else float(v)) for k, v in stats.items()}


def error_summary_per_node(errors: np.ndarray) -> dict[str, np.ndarray]:
    """Same statistics as :func:`error_summary`, one value per node (arrays of ``(K,)``)."""
    errors = np.asarray(errors, dtype=np.float64)
    if errors.ndim != 2:
        raise ValueError(f"errors must be (M, K); got {errors.shape}")
    return _stats(errors, np.isfinite(errors), axis=0)


def pck(
    errors: np.ndarray, gt_visible: np.ndarray, thresholds: Sequence[float]
) -> tuple[np.ndarray, np.ndarray]:
    """Percentage of correct keypoints at pixel thresholds.

    Args:
        errors: ``(M, K)`` errors (NaN where no prediction or no GT point).
        gt_visible: ``(M, K)`` True where the GT point is visible.
        thresholds: pixel thresholds.

    Returns:
        ``(overall, per_node)``: ``(T,)`` fractions over all GT-visible nodes and
        ``(T, K)`` fractions per node; NaN where there is no GT-visible node.
    """
    thr = np.asarray(thresholds, dtype=np.float64)
    err = np.where(np.isfinite(errors), errors, np.inf)
    correct = (err[None, :, :] <= thr[:, None, None]) & gt_visible[None]  # (T, M, K)
    return _fractions(correct, np.broadcast_to(gt_visible[None], correct.shape))


def pck_normalized(
    errors: np.ndarray, gt: np.ndarray, fractions: Sequence[float]
) -> tuple[np.ndarray, np.ndarray, int]:
    """PCK with thresholds scaled by each GT instance's bounding-box diagonal.

    Args:
        errors: ``(M, K)`` errors.
        gt: ``(M, K, 2)`` GT points of the matched pairs (defines visibility and diagonal).
        fractions: thresholds as fractions of the diagonal.

    Returns:
        ``(overall (T,), per_node (T, K), n_excluded_instances)``.
    """
    frac = np.asarray(fractions, dtype=np.float64)
    vis = visible_mask(gt)
    diag = instance_diagonals(gt) if gt.shape[0] else np.zeros(0)
    usable = diag > 0
    vis = vis & usable[:, None]
    err = np.where(np.isfinite(errors), errors, np.inf)
    limits = frac[:, None, None] * diag[None, :, None]  # (T, M, 1)
    correct = (err[None] <= limits) & vis[None]
    overall, per_node = _fractions(correct, np.broadcast_to(vis[None], correct.shape))
    return overall, per_node, int(np.count_nonzero(~usable))


def _fractions(correct: np.ndarray, counted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ratios of ``correct`` to ``counted`` over (M, K) and over M per node."""
    num_all = correct.sum(axis=(1, 2)).astype(np.float64)
    den_all = counted.sum(axis=(1, 2)).astype(np.float64)
    num_node = correct.sum(axis=1).astype(np.float64)
    den_node = counted.sum(axis=1).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        overall = np.where(den_all > 0, num_all / np.maximum(den_all, 1), np.nan)
        per_node = np.where(den_node > 0, num_node / np.maximum(den_node, 1), np.nan)
    return overall, per_node
