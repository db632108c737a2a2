"""The guide's performance table: per keypoint error statistics, error over animal size,
OKS mAP, the PCK curve, and the train-test gap.

Everything comes from the typed evaluation (:class:`~posekit.evaluation.EvaluationResult`
for the statistics the metrics file also holds, :class:`~posekit.evaluation.pairs.
MatchedPoints` for what needs the points: errors over animal size, the PCK curve, the
share of wrong points). Definitions:

* **RMSE** is a true root mean square (``sqrt(mean(error²))``), never the mean.
* **Animal size** is the diagonal of the bounding box of the labelled animal's visible
  points (the normaliser of the metrics' normalised PCK).
* A labelled point is **wrong** when the model did not place it or placed it farther than
  ``wrong_fraction`` (default 10 %) of the animal's size from the label; animals with a
  single visible point (no size) are left out of this share.
* The **train-test gap** is ``(test mean error - train mean error) / train mean error``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from posekit.evaluation.distances import pck
from posekit.evaluation.pairs import MatchedPoints
from posekit.evaluation.records import ErrorStats
from posekit.evaluation.results import EvaluationResult
from posekit.reports.model_common import (
    MEAN_ERROR_BAND,
    SIZE_ERROR_BAND,
    TRAIN_TEST_GAP_BAND,
    Record,
    finite,
)

WRONG_FRACTION = 0.1
"""A point farther than this share of the animal's size from its label is wrong."""
PCK_CURVE_STEPS = 41
"""Number of thresholds on the PCK curve."""


@dataclass(frozen=True)
class NodeRow(Record):
    """One row of the performance table (a node, or ``"all"`` for every node pooled).

    Attributes:
        node: node name, or ``"all"``.
        labelled: labelled points on matched animals.
        measured: errors measured (labelled and placed).
        mean_px, rmse_px, median_px, p90_px: the error distribution in pixels.
        size_mean, size_median: mean / median of error over animal size (fractions).
        wrong_share: share of labelled points that are wrong (see the module notes).
        pck_px: ``{threshold px: share within it}`` as in the metrics file.
    """

    node: str
    labelled: int
    measured: int
    mean_px: float | None
    rmse_px: float | None
    median_px: float | None
    p90_px: float | None
    size_mean: float | None
    size_median: float | None
    wrong_share: float | None
    pck_px: dict[float, float | None]


@dataclass(frozen=True)
class PckCurve(Record):
    """Share of labelled points within each threshold (pixels), overall and per node."""

    thresholds_px: tuple[float, ...]
    overall: tuple[float | None, ...]
    per_node: dict[str, tuple[float | None, ...]]


@dataclass(frozen=True)
class Performance(Record):
    """The performance table of one evaluated set.

    Attributes:
        frames: evaluated frames.
        labelled_animals: labelled animals with a visible point.
        matched_animals: of those, animals the model found (matched).
        overall: the pooled row.
        per_node: one row per node, in skeleton order.
        oks_map, oks_mar: COCO keypoint mAP / mAR (OKS).
        pck_curve: the PCK curve.
        wrong_fraction: the "wrong" limit as a share of animal size.
        mean_error_band: the guide's rating of the mean pixel error.
        size_error_band: the guide's rating of the mean error over animal size.
    """

    frames: int
    labelled_animals: int
    matched_animals: int
    overall: NodeRow
    per_node: tuple[NodeRow, ...]
    oks_map: float | None
    oks_mar: float | None
    pck_curve: PckCurve
    wrong_fraction: float
    mean_error_band: str | None
    size_error_band: str | None

    def node(self, name: str) -> NodeRow:
        """The row of node ``name``."""
        for row in self.per_node:
            if row.node == name:
                return row
        raise KeyError(f"no node {name!r}; nodes: {[r.node for r in self.per_node]}")


def _nan_stat(values: np.ndarray, fn) -> float | None:
    values = values[np.isfinite(values)]
    return finite(fn(values)) if values.size else None


def wrong_points(pairs: MatchedPoints, wrong_fraction: float = WRONG_FRACTION
                 ) -> tuple[np.ndarray, np.ndarray]:
    """``(wrong, counted)``: ``(M, K)`` masks of the wrong labelled points and of the
    labelled points that count (their animal has a size)."""
    size = pairs.animal_size
    counted = pairs.labelled & (size > 0)[:, None]
    err = np.where(np.isfinite(pairs.errors), pairs.errors, np.inf)
    wrong = counted & ~(err <= wrong_fraction * size[:, None])
    return wrong, counted


def _row(node: str, stats: ErrorStats, labelled: int, rel: np.ndarray, wrong: np.ndarray,
         counted: np.ndarray, pck_px: dict[float, float | None]) -> NodeRow:
    n_counted = int(counted.sum())
    return NodeRow(
        node=node, labelled=labelled, measured=stats.n, mean_px=stats.mean_px,
        rmse_px=stats.rmse_px, median_px=stats.median_px, p90_px=stats.p90_px,
        size_mean=_nan_stat(rel, np.mean), size_median=_nan_stat(rel, np.median),
        wrong_share=float(wrong.sum() / n_counted) if n_counted else None,
        pck_px=dict(pck_px),
    )


def pck_curve(pairs: MatchedPoints, max_px: float | None = None,
              steps: int = PCK_CURVE_STEPS) -> PckCurve:
    """The PCK curve from 0 to ``max_px`` (default: twice the 90th percentile error, at
    least 5 px), with :func:`posekit.evaluation.distances.pck`."""
    err = pairs.errors
    if max_px is None:
        present = err[np.isfinite(err)]
        p90 = float(np.percentile(present, 90)) if present.size else 5.0
        max_px = max(5.0, float(np.ceil(2 * p90)))
    thresholds = np.linspace(0.0, max_px, steps)
    overall, per_node = pck(err, pairs.labelled, thresholds)
    return PckCurve(
        thresholds_px=tuple(float(t) for t in thresholds),
        overall=tuple(finite(v) for v in overall),
        per_node={name: tuple(finite(v) for v in per_node[:, k])
                  for k, name in enumerate(pairs.node_names)},
    )


def performance(result: EvaluationResult, pairs: MatchedPoints,
                wrong_fraction: float = WRONG_FRACTION) -> Performance:
    """The performance table of one evaluated set (``result`` and ``pairs`` of the same
    frames, e.g. ``inputs.evaluate()`` and ``inputs.match()``)."""
    size = pairs.animal_size
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.where(size[:, None] > 0, pairs.errors / size[:, None], np.nan)
    wrong, counted = wrong_points(pairs, wrong_fraction)
    rows = tuple(
        _row(name, node.localization, node.gt_visible_on_matched, rel[:, k], wrong[:, k],
             counted[:, k], node.pck.px)
        for k, (name, node) in enumerate(result.per_node.items())
    )
    overall = _row("all", result.localization, int(pairs.labelled.sum()), rel.ravel(),
                   wrong, counted, result.pck.px)
    return Performance(
        frames=result.counts.frames,
        labelled_animals=result.counts.gt_instances,
        matched_animals=result.counts.matched,
        overall=overall, per_node=rows,
        oks_map=result.oks.map, oks_mar=result.oks.mar,
        pck_curve=pck_curve(pairs),
        wrong_fraction=wrong_fraction,
        mean_error_band=MEAN_ERROR_BAND.rate(overall.mean_px),
        size_error_band=SIZE_ERROR_BAND.rate(overall.size_mean),
    )


@dataclass(frozen=True)
class GapRow(Record):
    """Train and test mean error of one node (or ``"all"``) and their gap."""

    node: str
    train_mean_px: float | None
    test_mean_px: float | None
    gap: float | None
    band: str | None


@dataclass(frozen=True)
class TrainTestGap(Record):
    """Train error beside test error.

    Attributes:
        train_frames: training frames predicted (a sample when the split is large).
        train_frames_total: frames in the training split.
        test_frames: test frames.
        overall: the pooled gap.
        per_node: the gap of each node.
        band: the guide's rating of the pooled gap (< 15 % good, < 5 % excellent).
    """

    train_frames: int
    train_frames_total: int
    test_frames: int
    overall: GapRow
    per_node: tuple[GapRow, ...]
    band: str | None


def _gap_row(node: str, train: float | None, test: float | None) -> GapRow:
    gap = None
    if train is not None and test is not None and train > 0:
        gap = (test - train) / train
    return GapRow(node, train, test, gap, TRAIN_TEST_GAP_BAND.rate(gap))


def train_test_gap(train: EvaluationResult, test: EvaluationResult,
                   train_frames_total: int | None = None) -> TrainTestGap:
    """Mean error of the training frames beside the test frames, overall and per node."""
    overall = _gap_row("all", train.localization.mean_px, test.localization.mean_px)
    rows = tuple(
        _gap_row(name, train.per_node[name].localization.mean_px,
                 node.localization.mean_px)
        for name, node in test.per_node.items() if name in train.per_node
    )
    return TrainTestGap(
        train_frames=train.counts.frames,
        train_frames_total=train_frames_total or train.counts.frames,
        test_frames=test.counts.frames,
        overall=overall, per_node=rows, band=overall.band,
    )


def node_names_by(rows: Sequence[NodeRow], key: str, reverse: bool = True) -> list[str]:
    """Node names sorted by one numeric column (undefined values last)."""
    def value(row: NodeRow) -> float:
        v = getattr(row, key)
        return v if v is not None else (-np.inf if reverse else np.inf)

    return [r.node for r in sorted(rows, key=value, reverse=reverse)]
