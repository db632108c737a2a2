"""Generalisation cohorts: the test frames of animals, sessions and conditions the model
never saw in training, side by side with the standard test frames.

For each metadata column, a test frame belongs to the column's **held-out cohort** when
its value of that column appears in no training frame (an animal never trained on, a new
session, a new arena...). The **standard** test set is the test frames whose values in
every column were all seen in training (or, when there is none, the run's validation
split given as ``standard``). Each cohort gets the same metrics as the standard set
(mean, RMSE, median, p90 error, OKS mAP, the share of labelled points kept at the
p-cutoff) and is **flagged** when its RMSE rises more than ``threshold`` (the guide's
5 %) above the standard set's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from posekit.evaluation.pairs import FrameInputs
from posekit.evaluation.settings import EvaluationSettings
from posekit.reports.model_common import COHORT_RISE_THRESHOLD, Record
from posekit.reports.model_cutoffs import DEFAULT_P_CUTOFF, cutoff_row

ANIMAL_COLUMNS = frozenset({"animal", "animal_id", "subject", "subject_id", "individual",
                            "mouse", "rat", "fly", "fish"})
SESSION_COLUMNS = frozenset({"session", "session_id", "day", "date", "recording", "run",
                             "trial"})
SMALL_COHORT = 20
"""Cohorts with fewer frames are marked small (their error is noisy)."""


@dataclass(frozen=True)
class CohortMetrics(Record):
    """The metrics of one set of test frames.

    Attributes:
        frames: evaluated frames.
        labelled_points: labelled points of matched animals.
        mean_px, rmse_px, median_px, p90_px: pixel errors.
        oks_map: OKS mAP.
        share_above_cutoff: share of labelled points placed with a score at or above the
            p-cutoff (None without scores).
    """

    frames: int
    labelled_points: int
    mean_px: float | None
    rmse_px: float | None
    median_px: float | None
    p90_px: float | None
    oks_map: float | None
    share_above_cutoff: float | None


@dataclass(frozen=True)
class Cohort(Record):
    """One held-out cohort.

    Attributes:
        kind: ``"new animals"``, ``"new sessions"``, ``"new <column>"``, or ``"new
            recordings"`` for a whole test set without metadata.
        column: the metadata column (empty for a whole test set).
        values: the held-out values in it.
        metrics: its metrics.
        rise: relative RMSE rise over the standard set (None: no standard set).
        flagged: ``rise > threshold``.
        small: fewer than :data:`SMALL_COHORT` frames (a noisy estimate).
    """

    kind: str
    column: str
    values: tuple[str, ...]
    metrics: CohortMetrics
    rise: float | None
    flagged: bool
    small: bool


@dataclass(frozen=True)
class CohortSection(Record):
    """The standard set and every held-out cohort.

    Attributes:
        standard_source: ``"test frames seen in training"``, ``"validation split"`` or None.
        standard: the standard set's metrics (None: no standard set).
        threshold: the flagging threshold (relative RMSE rise).
        p_cutoff: the p-cutoff of ``share_above_cutoff``.
        cohorts: per column, the whole held-out cohort, then each held-out value alone
            (when the column has several).
        note: why the section is empty, when it is.
    """

    standard_source: str | None
    standard: CohortMetrics | None
    threshold: float
    p_cutoff: float
    cohorts: tuple[Cohort, ...]
    note: str | None = None

    @property
    def flagged(self) -> tuple[Cohort, ...]:
        """The flagged cohorts."""
        return tuple(c for c in self.cohorts if c.flagged)


def cohort_kind(column: str) -> str:
    """What a held-out value of ``column`` is: new animals, new sessions or new values."""
    key = column.strip().lower()
    if key in ANIMAL_COLUMNS:
        return "new animals"
    if key in SESSION_COLUMNS:
        return "new sessions"
    return f"new {column}"


def cohort_metrics(inputs: FrameInputs, settings: EvaluationSettings | None = None,
                   p_cutoff: float = DEFAULT_P_CUTOFF) -> CohortMetrics:
    """The metrics of a set of frames (evaluated with the evaluation's own code)."""
    result = inputs.evaluate(settings)
    pairs = inputs.match(settings)
    kept = cutoff_row(pairs.errors, pairs.scores, pairs.labelled, p_cutoff)
    has_scores = bool(np.isfinite(pairs.scores).any())
    loc = result.localization
    return CohortMetrics(
        frames=result.counts.frames, labelled_points=kept.labelled, mean_px=loc.mean_px,
        rmse_px=loc.rmse_px, median_px=loc.median_px, p90_px=loc.p90_px,
        oks_map=result.oks.map, share_above_cutoff=kept.share_kept if has_scores else None,
    )


def _rise(metrics: CohortMetrics, standard: CohortMetrics | None) -> float | None:
    if standard is None or not standard.rmse_px or metrics.rmse_px is None:
        return None
    return (metrics.rmse_px - standard.rmse_px) / standard.rmse_px


def _cohort(kind: str, column: str, values: Sequence[str], inputs: FrameInputs,
            standard: CohortMetrics | None, threshold: float,
            settings: EvaluationSettings | None, p_cutoff: float) -> Cohort:
    metrics = cohort_metrics(inputs, settings, p_cutoff)
    rise = _rise(metrics, standard)
    return Cohort(kind, column, tuple(values), metrics, rise,
                  rise is not None and rise > threshold, metrics.frames < SMALL_COHORT)


def _whole_test_set(test: FrameInputs, standard: FrameInputs | None, threshold: float,
                    settings: EvaluationSettings | None, p_cutoff: float, reason: str
                    ) -> CohortSection:
    """The whole test set as one cohort against the validation split (when given)."""
    if standard is None or not standard.n_frames:
        return CohortSection(None, None, threshold, p_cutoff, (), reason + ".")
    base = cohort_metrics(standard, settings, p_cutoff)
    whole = _cohort("new recordings", "", ["the test set"], test, base, threshold, settings,
                    p_cutoff)
    return CohortSection("validation split", base, threshold, p_cutoff, (whole,),
                         f"{reason}; the whole test set is compared with the validation "
                         "split.")


def cohort_section(
    test: FrameInputs,
    test_rows: Sequence[Mapping[str, str] | None],
    seen: Mapping[str, set[str]] | None,
    *,
    standard: FrameInputs | None = None,
    threshold: float = COHORT_RISE_THRESHOLD,
    p_cutoff: float = DEFAULT_P_CUTOFF,
    settings: EvaluationSettings | None = None,
) -> CohortSection:
    """The held-out cohorts of ``test``.

    Args:
        test: the test frames.
        test_rows: per test frame, its metadata row (None: unknown video).
        seen: ``{column: values of that column in the training frames}``; the columns
            studied are its keys. None when the training frames' metadata is unknown: then
            the whole test set is one cohort, compared with ``standard``.
        standard: the frames to compare with when no test frame is fully seen in training
            (e.g. the run's validation split).
        threshold: relative RMSE rise above which a cohort is flagged.
        p_cutoff: the score limit of ``share_above_cutoff``.
        settings: evaluation settings.
    """
    if seen is None or not seen:
        reason = ("The training frames' videos have no row in the metadata, so which "
                  "animals, sessions and conditions are new cannot be told" if any(
                      r is not None for r in test_rows) else
                  "No metadata: animals, sessions and conditions cannot be told apart")
        return _whole_test_set(test, standard, threshold, settings, p_cutoff, reason)
    columns = list(seen)
    held = {c: np.array([r is not None and r.get(c) is not None and r.get(c) not in seen[c]
                         for r in test_rows]) for c in columns}
    fully_seen = np.array([r is not None for r in test_rows]) & ~np.any(
        np.stack([held[c] for c in columns]), axis=0)
    source, base = None, None
    if fully_seen.any():
        source, base = "test frames seen in training", cohort_metrics(
            test.subset(fully_seen), settings, p_cutoff)
    elif standard is not None and standard.n_frames:
        source, base = "validation split", cohort_metrics(standard, settings, p_cutoff)
    cohorts: list[Cohort] = []
    for c in columns:
        if not held[c].any():
            continue
        values = sorted({r[c] for r, h in zip(test_rows, held[c]) if h and r is not None})
        kind = cohort_kind(c)
        cohorts.append(_cohort(kind, c, values, test.subset(held[c]), base, threshold,
                               settings, p_cutoff))
        if len(values) > 1:
            for v in values:
                mask = np.array([r is not None and r.get(c) == v for r in test_rows])
                cohorts.append(_cohort(kind, c, [v], test.subset(mask), base, threshold,
                                       settings, p_cutoff))
    note = None
    if not cohorts:
        note = ("Every test frame's animal, session and condition also appears in training: "
                "no held-out cohort (hold out a whole animal or session to measure "
                "generalisation).")
    elif base is None:
        note = "No standard set to compare with (no test frame fully seen in training)."
    return CohortSection(source, base, threshold, p_cutoff, tuple(cohorts), note)
