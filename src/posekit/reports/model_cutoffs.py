"""Accuracy at likelihood cut-offs, and how well the predicted score tracks the error.

A p-cutoff drops every predicted point scored below it. DeepLabCut's "RMSE with p-cutoff"
reports only the error of the points kept, which improves as more points are dropped; this
table always gives the **share kept** beside it. Definitions:

* the points are the labelled points of the matched animals (animals the model missed
  are counted in the performance table, not here);
* a point is **kept** at cut-off ``c`` when the model placed it with a score ``>= c``
  (a point without a score is never kept);
* ``share_kept = kept / labelled``; the error statistics are over the kept points.

The calibration groups the placed points into bins of equal count by score (deciles) and
gives each bin's mean score and mean / median error; Spearman's rank correlation between
score and error (SciPy ``spearmanr``) sums it up: strongly negative means the score
ranks points by accuracy, near zero means the score says little about the error.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from posekit.evaluation.pairs import MatchedPoints
from posekit.reports.model_common import Record, finite

DEFAULT_CUTOFFS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)
"""The cut-offs of the table."""
DEFAULT_P_CUTOFF = 0.6
"""The report's p-cutoff (DeepLabCut's default ``pcutoff``, the guide's example)."""
CALIBRATION_BINS = 10
"""Bins of the calibration (equal counts)."""


@dataclass(frozen=True)
class CutoffRow(Record):
    """The points kept at one cut-off.

    Attributes:
        cutoff: the score limit.
        labelled: labelled points of matched animals.
        kept: of those, points placed with a score at or above the cut-off.
        share_kept: ``kept / labelled``.
        mean_px, rmse_px, median_px, p90_px: error of the kept points.
        dropped_mean_px: mean error of the placed points the cut-off dropped.
    """

    cutoff: float
    labelled: int
    kept: int
    share_kept: float | None
    mean_px: float | None
    rmse_px: float | None
    median_px: float | None
    p90_px: float | None
    dropped_mean_px: float | None


@dataclass(frozen=True)
class CalibrationBin(Record):
    """One score bin of the calibration."""

    score_low: float
    score_high: float
    points: int
    mean_score: float
    mean_error_px: float
    median_error_px: float


@dataclass(frozen=True)
class Cutoffs(Record):
    """Accuracy at cut-offs and the calibration.

    Attributes:
        has_scores: whether the predictions carry point scores (else everything is empty).
        p_cutoff: the report's p-cutoff.
        rows: one row per cut-off, increasing.
        calibration: score bins, increasing.
        spearman_rho, spearman_p: rank correlation of score and error, and its p-value.
        error_change: relative change of the mean error between the lowest cut-off and
            the report's p-cutoff (negative: the cut-off lowers the error).
    """

    has_scores: bool
    p_cutoff: float
    rows: tuple[CutoffRow, ...]
    calibration: tuple[CalibrationBin, ...]
    spearman_rho: float | None
    spearman_p: float | None
    error_change: float | None

    def at(self, cutoff: float) -> CutoffRow:
        """The row of ``cutoff``."""
        for row in self.rows:
            if abs(row.cutoff - cutoff) < 1e-12:
                return row
        raise KeyError(f"no cut-off {cutoff}; cut-offs: {[r.cutoff for r in self.rows]}")


def _stat(values: np.ndarray, fn) -> float | None:
    return finite(fn(values)) if values.size else None


def cutoff_row(errors: np.ndarray, scores: np.ndarray, labelled: np.ndarray,
               cutoff: float) -> CutoffRow:
    """The row of one cut-off from ``(M, K)`` errors, scores and labelled masks."""
    placed = labelled & np.isfinite(errors)
    kept_mask = placed & (np.nan_to_num(scores, nan=-np.inf) >= cutoff)
    kept = errors[kept_mask]
    dropped = errors[placed & ~kept_mask]
    n_lab = int(labelled.sum())
    return CutoffRow(
        cutoff=float(cutoff), labelled=n_lab, kept=int(kept.size),
        share_kept=kept.size / n_lab if n_lab else None,
        mean_px=_stat(kept, np.mean), rmse_px=_stat(kept, lambda v: np.sqrt(np.mean(v**2))),
        median_px=_stat(kept, np.median), p90_px=_stat(kept, lambda v: np.percentile(v, 90)),
        dropped_mean_px=_stat(dropped, np.mean),
    )


def calibration(errors: np.ndarray, scores: np.ndarray, bins: int = CALIBRATION_BINS
                ) -> tuple[CalibrationBin, ...]:
    """Score bins of (about) equal counts over points with an error and a score."""
    ok = np.isfinite(errors) & np.isfinite(scores)
    err, sc = errors[ok], scores[ok]
    if not err.size:
        return ()
    order = np.argsort(sc, kind="stable")
    out = []
    for part in np.array_split(order, min(bins, err.size)):
        if not part.size:
            continue
        out.append(CalibrationBin(
            score_low=float(sc[part].min()), score_high=float(sc[part].max()),
            points=int(part.size), mean_score=float(sc[part].mean()),
            mean_error_px=float(err[part].mean()), median_error_px=float(np.median(err[part])),
        ))
    return tuple(out)


def cutoffs(pairs: MatchedPoints, cutoff_values: Sequence[float] = DEFAULT_CUTOFFS,
            p_cutoff: float = DEFAULT_P_CUTOFF) -> Cutoffs:
    """Accuracy at every cut-off of ``cutoff_values`` (plus ``p_cutoff``) and the
    calibration of the matched points."""
    errors, scores, labelled = pairs.errors, pairs.scores, pairs.labelled
    has_scores = bool(np.isfinite(scores[labelled]).any()) if labelled.any() else False
    if not has_scores:
        return Cutoffs(False, p_cutoff, (), (), None, None, None)
    values = sorted({float(c) for c in (*cutoff_values, p_cutoff)})
    rows = tuple(cutoff_row(errors, scores, labelled, c) for c in values)
    ok = np.isfinite(errors) & np.isfinite(scores)
    rho = p = None
    if ok.sum() >= 3 and np.ptp(scores[ok]) > 0 and np.ptp(errors[ok]) > 0:
        result = stats.spearmanr(scores[ok], errors[ok])
        rho, p = finite(result.statistic), finite(result.pvalue)
    low = rows[0].mean_px
    at_p = next(r for r in rows if r.cutoff == float(p_cutoff)).mean_px
    change = (at_p - low) / low if low and at_p is not None else None
    return Cutoffs(True, float(p_cutoff), rows, calibration(errors, scores), rho, p, change)
