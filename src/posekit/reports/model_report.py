"""The model report's numbers: :func:`model_results` turns a :class:`ModelStudy` (test
predictions with their labels, optionally training predictions, metadata, video scores)
into one typed :class:`ModelResults`.

Nothing here reads a file or runs a model: :mod:`posekit.workflow.model_report` predicts
and loads, then hands the evaluated frames over. Every section is computed from the typed
results of :mod:`posekit.evaluation` (:class:`~posekit.evaluation.EvaluationResult` and
:class:`~posekit.evaluation.pairs.MatchedPoints`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from posekit.evaluation.pairs import FrameInputs, MatchedPoints
from posekit.evaluation.results import EvaluationResult
from posekit.evaluation.settings import EvaluationSettings
from posekit.reports.model_advice import Advice, advice
from posekit.reports.model_cohorts import CohortSection, cohort_section
from posekit.reports.model_common import (
    COHORT_RISE_THRESHOLD,
    CONFIDENCE_BAND,
    MEAN_ERROR_BAND,
    SIZE_ERROR_BAND,
    TRAIN_TEST_GAP_BAND,
    Band,
    Record,
)
from posekit.reports.model_conditions import ALPHA, ConditionSection, condition_section
from posekit.reports.model_cutoffs import DEFAULT_CUTOFFS, DEFAULT_P_CUTOFF, Cutoffs, cutoffs
from posekit.reports.model_frames import WorstFrame, missed_per_frame, worst_frames
from posekit.reports.model_performance import (
    Performance,
    TrainTestGap,
    performance,
    train_test_gap,
)
from posekit.reports.model_training import TrainingSummary
from posekit.reports.video_confidence import VideoConfidence, VideoScores, videos_confidence

Rows = Sequence[Mapping[str, str] | None]


@dataclass(frozen=True, eq=False)
class ModelStudy:
    """What the model report is computed from.

    Attributes:
        test: the test frames (labels and predictions).
        test_name: what the test frames are (``"validation split"``, a file name).
        test_rows: per test frame, its video's metadata row (None: no row).
        train: predicted training frames (possibly a sample), for the train-test gap.
        train_frames_total: frames in the whole training split.
        train_rows: per training frame of the whole split, its metadata row.
        standard: frames to compare held-out cohorts with when no test frame is fully
            seen in training (the run's validation split).
        columns: the metadata columns to study (default: every column of the rows).
        training: the run's training steps and time.
        videos: point scores over whole videos.
        settings: evaluation settings.
        p_cutoff: the report's p-cutoff.
        cutoff_values: the cut-offs of the cut-off table.
        cohort_threshold: relative RMSE rise that flags a cohort.
        alpha: significance level of the condition tests.
        curve_actions: the loss-curve diagnosis's actions (text), for "what to do next".
        frame_names: a display name per test frame (``video:frame``, or the image's name
            for image folders); default from the video keys.
    """

    test: FrameInputs
    test_name: str = "validation split"
    test_rows: Rows | None = None
    train: FrameInputs | None = None
    train_frames_total: int | None = None
    train_rows: Rows | None = None
    standard: FrameInputs | None = None
    columns: tuple[str, ...] = ()
    training: TrainingSummary | None = None
    videos: tuple[VideoScores, ...] = ()
    settings: EvaluationSettings | None = None
    p_cutoff: float = DEFAULT_P_CUTOFF
    cutoff_values: tuple[float, ...] = DEFAULT_CUTOFFS
    cohort_threshold: float = COHORT_RISE_THRESHOLD
    alpha: float = ALPHA
    curve_actions: tuple[str, ...] = ()
    frame_names: tuple[str, ...] | None = None

    def metadata_columns(self) -> tuple[str, ...]:
        """The columns studied: :attr:`columns`, else every column of the test rows."""
        if self.columns:
            return self.columns
        seen: dict[str, None] = {}
        for row in self.test_rows or ():
            for key in row or {}:
                if key != "video":
                    seen.setdefault(key, None)
        return tuple(seen)


@dataclass(frozen=True)
class ModelResults(Record):
    """Every number of the model report (the ``model`` result of its JSON).

    Attributes:
        test_set: what the test frames are.
        p_cutoff: the report's p-cutoff.
        performance: the performance table of the test frames.
        train_test: train error beside test error (None without training predictions).
        training: training steps and time (None when unknown).
        cutoffs: accuracy at cut-offs and the calibration.
        conditions: error by condition.
        cohorts: generalisation cohorts.
        worst_frames: the worst test frames.
        videos: confidence over whole videos.
        advice: what to do next.
        bands: the guide's bands the report rates against.
    """

    test_set: str
    p_cutoff: float
    performance: Performance
    train_test: TrainTestGap | None
    training: TrainingSummary | None
    cutoffs: Cutoffs
    conditions: ConditionSection
    cohorts: CohortSection
    worst_frames: tuple[WorstFrame, ...]
    videos: tuple[VideoConfidence, ...]
    advice: tuple[Advice, ...]
    bands: dict[str, Band] = field(default_factory=lambda: {
        "mean_error": MEAN_ERROR_BAND, "train_test_gap": TRAIN_TEST_GAP_BAND,
        "size_error": SIZE_ERROR_BAND, "median_score": CONFIDENCE_BAND})


@dataclass(frozen=True, eq=False)
class Evaluated:
    """The test frames' evaluation and matched points (kept for the figures)."""

    result: EvaluationResult
    pairs: MatchedPoints


def value_counts(rows: Rows | None, columns: Sequence[str]) -> dict[str, dict[str, int]]:
    """``{column: {value: frames}}`` over ``rows`` (frames without a row are skipped)."""
    out: dict[str, dict[str, int]] = {}
    for c in columns:
        counts = Counter(r[c] for r in rows or () if r is not None and r.get(c))
        out[c] = dict(counts)
    return out


def model_results(study: ModelStudy, evaluated: Evaluated | None = None) -> ModelResults:
    """Compute every section of the model report from ``study``.

    Args:
        study: the inputs.
        evaluated: the test frames already evaluated (``study.test.evaluate()`` and
            ``.match()`` with ``study.settings``), to avoid doing it twice.
    """
    if evaluated is None:
        evaluated = evaluate_study(study)
    result, pairs = evaluated.result, evaluated.pairs
    perf = performance(result, pairs)
    gap = None
    if study.train is not None and study.train.n_frames:
        gap = train_test_gap(study.train.evaluate(study.settings), result,
                             study.train_frames_total)
    cut = cutoffs(pairs, study.cutoff_values, study.p_cutoff)
    columns = study.metadata_columns()
    rows = list(study.test_rows) if study.test_rows is not None else [None] * pairs.n_frames
    known = study.train_rows is not None and any(r is not None for r in study.train_rows)
    train_counts = value_counts(study.train_rows, columns) if known else None
    conditions = condition_section(rows, pairs.frame_errors(), columns, train_counts,
                                   missed_per_frame(pairs), study.alpha)
    seen = ({c: set(v) for c, v in train_counts.items()} if train_counts is not None
            and study.test_rows is not None else None)
    cohorts = cohort_section(study.test, rows, seen, standard=study.standard,
                             threshold=study.cohort_threshold, p_cutoff=study.p_cutoff,
                             settings=study.settings)
    videos = videos_confidence(study.videos, study.p_cutoff)
    todo = advice(perf, gap=gap, cutoffs=cut, conditions=conditions, cohorts=cohorts,
                  videos=videos, curve_actions=study.curve_actions)
    return ModelResults(
        test_set=study.test_name, p_cutoff=study.p_cutoff, performance=perf, train_test=gap,
        training=study.training, cutoffs=cut, conditions=conditions, cohorts=cohorts,
        worst_frames=worst_frames(study.test, pairs, names=study.frame_names), videos=videos,
        advice=todo,
    )


def evaluate_study(study: ModelStudy) -> Evaluated:
    """The test frames' :class:`EvaluationResult` and :class:`MatchedPoints`."""
    return Evaluated(study.test.evaluate(study.settings), study.test.match(study.settings))
