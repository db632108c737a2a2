"""What to do next, derived from the numbers of the model report.

Each rule reads one section and, when its finding is worth acting on, says what was found
(with the number) and what the guide recommends doing about it. Rules, in the order
given:

* **nodes**: a node wrong in at least :data:`NODE_WRONG_MIN` of its labelled points and
  at least twice as often as the median node: label more frames where it is visible; when
  it is wrong almost always (:data:`NODE_SYSTEMATIC`) by about the same distance
  (:data:`NODE_CONSISTENT`), check its labels first (a systematic labelling error, the
  guide's diagnosis for an error consistent across all frames).
* **conditions**: a column whose error differs (adjusted p < alpha) with the worst value
  at least :data:`CONDITION_RATIO_MIN` times the best: add frames of that value; when the
  training frames per value are known, enough to give it an equal share
  (``total / values - its frames``, rounded up to ten), else the guide's modest first
  addition of 50. A finding explained by a wider one (an animal whose frames all belong
  to the worse treatment) is left to the wider one.
* **cohorts**: every flagged held-out cohort: label frames of those animals / sessions
  (a condition finding about a value of a flagged cohort is left to the cohort).
* **train-test gap**: a gap outside the guide's good band: overfitting; both errors poor
  and a small gap: underfitting.
* **cut-offs**: few points kept at the p-cutoff, or scores that hardly track the error.
* **videos**: a median score under the guide's good band: label the frames to look at
  first.
* **training curves**: the actions of the loss-curve diagnosis, passed in as text.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from posekit.reports.model_cohorts import CohortSection
from posekit.reports.model_common import MEAN_ERROR_BAND, Record, fmt_p, fmt_px, fmt_share
from posekit.reports.model_conditions import ConditionSection, ConditionTest
from posekit.reports.model_cutoffs import Cutoffs
from posekit.reports.model_performance import Performance, TrainTestGap
from posekit.reports.video_confidence import VideoConfidence

NODE_WRONG_MIN = 0.2
"""A node wrong in at least this share of its labelled points is reported..."""
NODE_WRONG_RATIO = 2.0
"""... when it is also wrong this many times as often as the median node."""
NODE_SYSTEMATIC = 0.9
"""Wrong this often, and ...:"""
NODE_CONSISTENT = 0.5
"""... with errors this consistent (``(p90 - median) / median`` below it): suspect the
labels (a systematic error, the guide's "error consistent across all frames") before
adding frames."""
CONDITION_RATIO_MIN = 1.2
"""A differing condition is reported when its worst value is this many times the best."""
FIRST_ADDITION = 50
"""Frames to add when the training counts are unknown (the guide: start with 50-200)."""
KEPT_MIN = 0.8
"""Fewer labelled points than this share kept at the p-cutoff is reported."""
CALIBRATION_RHO_MAX = -0.1
"""Spearman's rho of score and error above this: scores hardly track the error."""


@dataclass(frozen=True)
class Advice(Record):
    """One recommendation.

    Attributes:
        topic: ``"node"``, ``"condition"``, ``"cohort"``, ``"overfitting"``,
            ``"underfitting"``, ``"cutoff"``, ``"calibration"``, ``"video"``, ``"curves"``.
        subject: what it is about (a node, ``column=value``, a video...).
        text: the finding and what to do, in one or two plain sentences.
    """

    topic: str
    subject: str
    text: str


def frames_to_add(count: int, total: int, values: int) -> int:
    """Frames that give a value an equal share of ``total`` over ``values`` values
    (rounded up to ten), or :data:`FIRST_ADDITION` when it already has its share."""
    if values < 1 or total < 1:
        return FIRST_ADDITION
    missing = total / values - count
    return int(math.ceil(missing / 10.0) * 10) if missing > 0 else FIRST_ADDITION


def node_advice(perf: Performance) -> list[Advice]:
    """Nodes that are wrong much more often than the others."""
    shares = [r.wrong_share for r in perf.per_node if r.wrong_share is not None]
    if not shares:
        return []
    median = float(np.median(shares))
    out = []
    rows = sorted((r for r in perf.per_node if r.wrong_share is not None),
                  key=lambda r: r.wrong_share or 0.0, reverse=True)
    for row in rows:
        share = row.wrong_share or 0.0
        if share < NODE_WRONG_MIN or share < NODE_WRONG_RATIO * median:
            continue
        limit = fmt_share(perf.wrong_fraction)
        how = (f"median error {fmt_px(row.median_px)}" if row.measured
               else "the model never placed it")
        found = (f"{row.node} is wrong in {fmt_share(share)} of its {row.labelled} labelled "
                 f"points (missing or farther than {limit} of the animal's size; {how}).")
        spread = (None if not row.median_px or row.p90_px is None
                  else (row.p90_px - row.median_px) / row.median_px)
        if share >= NODE_SYSTEMATIC and spread is not None and spread < NODE_CONSISTENT:
            todo = (" Its error is about the same in every frame: check its labels for a "
                    "systematic mistake (a misplaced or swapped definition) before adding "
                    "frames; then label more frames where it is visible.")
        else:
            todo = " Label more frames where it is visible, in varied poses and contexts."
        out.append(Advice("node", row.node, found + todo))
    return out


def _condition_text(test: ConditionTest) -> Advice | None:
    if (not test.differs or test.ratio is None or test.ratio < CONDITION_RATIO_MIN
            or test.explained_by):
        return None
    worst = next(g for g in test.groups if g.value == test.worst)
    known = worst.train_frames is not None and sum(g.train_frames or 0 for g in test.groups)
    found = (f"{test.column}={test.worst} frames are {test.ratio:.1f}× worse than "
             f"{test.column}={test.best} ({test.test}, p = {fmt_p(test.p_value)}).")
    if known:
        total = sum(g.train_frames or 0 for g in test.groups)
        add = frames_to_add(worst.train_frames, total, len(test.groups))
        todo = (f" {test.column}={test.worst} has {worst.train_frames} of {total} training "
                f"frames: add ~{add} frames from it.")
    else:
        todo = f" Add ~{FIRST_ADDITION} frames from {test.column}={test.worst} to training."
    return Advice("condition", f"{test.column}={test.worst}", found + todo)


def condition_advice(section: ConditionSection) -> list[Advice]:
    """Conditions much worse than the rest."""
    return [a for a in (_condition_text(t) for t in section.tests) if a is not None]


def _cohort_words(kind: str, column: str) -> str:
    if kind in ("new animals", "new sessions"):
        return f"these {kind.removeprefix('new ')}"
    if kind == "new recordings":
        return "these recordings"
    return f"these {column} values"


def _standard_name(section: CohortSection) -> str:
    return ("validation split" if section.standard_source == "validation split"
            else "standard test set")


def cohort_advice(section: CohortSection) -> list[Advice]:
    """Held-out cohorts whose error rose above the threshold (cohorts of the very same
    frames, e.g. new animals that are all in new sessions, are said once)."""
    groups: dict[tuple, list] = {}
    for c in section.flagged:
        if len(c.values) == 1 and any(o.column == c.column and len(o.values) > 1 and o.flagged
                                      for o in section.cohorts):
            continue  # the column's whole cohort already says it
        key = (c.metrics.frames, c.metrics.labelled_points, c.metrics.rmse_px)
        groups.setdefault(key, []).append(c)
    out = []
    for same in groups.values():
        c = same[0]
        what = "; ".join(f"{o.column} = {', '.join(o.values)}" if o.column else o.values[0]
                         for o in same)
        kinds = " / ".join(dict.fromkeys(o.kind for o in same))
        small = (f" Only {c.metrics.frames} frames: a noisy estimate, label more test frames "
                 "of them to confirm." if c.small else "")
        out.append(Advice("cohort", what, (
            f"{kinds[0].upper() + kinds[1:]} ({what}): RMSE {fmt_px(c.metrics.rmse_px)}, "
            f"{fmt_share(c.rise)} above the {_standard_name(section)} (guide: flag above "
            f"{fmt_share(section.threshold)}). The model does not generalise to them: label "
            f"frames from {_cohort_words(c.kind, c.column)} and retrain.{small}")))
    return out


def gap_advice(gap: TrainTestGap | None, perf: Performance) -> list[Advice]:
    """Overfitting (large gap) or underfitting (both errors poor, small gap)."""
    if gap is None or gap.overall.gap is None:
        return []
    g = gap.overall
    if gap.band == "poor" and (g.gap or 0) > 0:
        return [Advice("overfitting", "train-test gap", (
            f"The test error ({fmt_px(g.test_mean_px)}) is {fmt_share(g.gap)} above the "
            f"training error ({fmt_px(g.train_mean_px)}; guide: < 15 % good, < 5 % "
            "excellent): the model overfits. Add more varied frames, use stronger "
            "augmentation, or stop training earlier."))]
    if MEAN_ERROR_BAND.rate(g.train_mean_px) == "poor" and perf.mean_error_band == "poor":
        return [Advice("underfitting", "train error", (
            f"The training error is as poor as the test error ({fmt_px(g.train_mean_px)} "
            f"vs {fmt_px(g.test_mean_px)}; guide: < 5 px good): the model does not fit even "
            "its training frames, it underfits. Train longer, or use a larger model or input "
            "resolution."))]
    return []


def cutoff_advice(cut: Cutoffs) -> list[Advice]:
    """Few points above the p-cutoff; scores that do not track the error."""
    if not cut.has_scores:
        return []
    out = []
    row = cut.at(cut.p_cutoff)
    if row.share_kept is not None and row.share_kept < KEPT_MIN:
        out.append(Advice("cutoff", f"p-cutoff {cut.p_cutoff:g}", (
            f"Only {fmt_share(row.share_kept)} of the labelled points pass the p-cutoff "
            f"{cut.p_cutoff:g} (error of those kept {fmt_px(row.mean_px)}): the model is "
            "unsure of many points. Label frames where its scores are low.")))
    if cut.spearman_rho is not None and cut.spearman_rho > CALIBRATION_RHO_MAX:
        out.append(Advice("calibration", "scores", (
            f"The predicted scores hardly track the error (Spearman's rho = "
            f"{cut.spearman_rho:.2f}): filtering by a p-cutoff will not remove the wrong "
            "points; judge them by error instead (outlier detection).")))
    return out


def video_advice(videos: Sequence[VideoConfidence]) -> list[Advice]:
    """Videos whose median score is below the guide's good band."""
    out = []
    for v in videos:
        if v.band != "poor":
            continue
        first = ", ".join(str(f.frame) for f in v.look_first[:5])
        out.append(Advice("video", v.video, (
            f"{v.video}: median score {v.median_score:.2f} (guide: > 0.9 good, > 0.99 "
            f"excellent); {fmt_share(v.share_frames_all_above)} of its frames have every "
            f"point above the p-cutoff {v.p_cutoff:g}. Label its least confident frames, "
            f"starting with frames {first}.")))
    return out


def advice(perf: Performance, *, gap: TrainTestGap | None, cutoffs: Cutoffs,
           conditions: ConditionSection, cohorts: CohortSection,
           videos: Sequence[VideoConfidence] = (),
           curve_actions: Sequence[str] = ()) -> tuple[Advice, ...]:
    """Every recommendation, most specific first."""
    held = {f"{c.column}={v}" for c in cohorts.flagged for v in c.values}
    by_condition = [a for a in condition_advice(conditions) if a.subject not in held]
    found = [*node_advice(perf), *by_condition, *cohort_advice(cohorts),
             *gap_advice(gap, perf), *cutoff_advice(cutoffs), *video_advice(videos)]
    found += [Advice("curves", "training curves", text) for text in curve_actions]
    return tuple(found)
