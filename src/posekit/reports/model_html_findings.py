"""The model report's finding sections: error by condition, generalisation cohorts, the
worst frames and video confidence (the page's first sections are in
:mod:`posekit.reports.model_html`)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from posekit.reports.document import KeyNumber, Report
from posekit.reports.model_common import CONFIDENCE_BAND, fmt_share
from posekit.reports.model_frames import draw_worst_frames
from posekit.reports.model_plots import cohorts_figure, conditions_figure
from posekit.reports.model_report import Evaluated, ModelResults, ModelStudy
from posekit.reports.model_video_plots import node_scores_figure, timeline_figure


def _pct(value: float | None) -> float | None:
    return None if value is None else value * 100


def condition_section(report: Report, res: ModelResults, study: ModelStudy,
                      ev: Evaluated) -> None:
    """Error by condition: the test of each metadata column, a table and box plots."""
    cond = res.conditions
    sec = report.section("Error by condition")
    if cond.note or not cond.tests:
        sec.note(cond.note or "The metadata has no column to test.")
        return
    sec.paragraph(
        "Each frame's error (the mean over its points) is compared between the values of "
        "each metadata column: a one-way ANOVA when its assumptions hold (normal residuals, "
        "Shapiro-Wilk; equal variances, Levene), else the Kruskal-Wallis test. With several "
        f"columns, p-values are Holm-adjusted; alpha = {cond.alpha:g}.")
    for t in cond.tests:
        text = t.sentence[0].upper() + t.sentence[1:] + "."
        if t.explained_by:
            text += f" Explained by {t.explained_by}: all its frames belong to it."
        (sec.warning if t.differs and not t.explained_by else sec.note)(text)
        if t.test is not None:
            sec.paragraph(f"{t.column}: {t.reason}.")
    sec.table(("column", "value", "test frames", "mean px", "median px", "sd px",
               "training frames", "missed animals"),
              [(t.column, g.value, g.frames, g.mean_px, g.median_px, g.sd_px, g.train_frames,
                g.missed_animals) for t in cond.tests for g in t.groups])
    rows = study.test_rows or [None] * ev.pairs.n_frames
    values = {t.column: np.array([None if r is None else r.get(t.column) for r in rows],
                                 dtype=object) for t in cond.tests}
    fig = conditions_figure(cond.tests, values, ev.pairs.frame_errors())
    if fig is not None:
        sec.figure(fig, alt="Box plots of the frame error for each value of each metadata "
                   "column; the worst value of a differing column is in red.")


def cohort_section(report: Report, res: ModelResults) -> None:
    """Generalisation cohorts beside the standard test set."""
    sec = report.section("Generalisation to new animals, sessions and conditions")
    co = res.cohorts
    sec.paragraph(
        "A cohort is the test frames whose animal, session or condition never appears in "
        "training. It is flagged when its RMSE is more than "
        f"{fmt_share(co.threshold)} above the standard test set's (frames like the training "
        "ones), the guide's limit.")
    if co.note:
        sec.note(co.note)
    if co.standard is None and not co.cohorts:
        return
    rows = []
    if co.standard is not None:
        s = co.standard
        rows.append(("standard", s.frames, s.mean_px, s.rmse_px, s.p90_px, s.oks_map,
                     _pct(s.share_above_cutoff), None, ""))
    for c in co.cohorts:
        m = c.metrics
        flag = "flagged" if c.flagged else ("small" if c.small else "")
        rows.append((f"{c.kind}: {', '.join(c.values)}", m.frames, m.mean_px, m.rmse_px,
                     m.p90_px, m.oks_map, _pct(m.share_above_cutoff), _pct(c.rise), flag))
    caption = (f"standard: the {co.standard_source}" if co.standard_source else "")
    sec.table(("set", "frames", "mean px", "RMSE px", "p90 px", "OKS mAP",
               f"≥ p {co.p_cutoff:g} %", "RMSE rise %", "flag"), rows, caption=caption)
    standard = ("validation split" if co.standard_source == "validation split"
                else "standard test set")
    for c in co.flagged:
        what = f"{c.column} = {', '.join(c.values)}" if c.column else ", ".join(c.values)
        sec.warning(f"{c.kind.capitalize()} ({what}): RMSE {fmt_share(c.rise)} above the "
                    f"{standard}.")
    fig = cohorts_figure(co)
    if fig is not None:
        sec.figure(fig, alt="Bars of the RMSE of the standard test set and of each held-out "
                   "cohort, with the flagging limit as a dashed line.")


def worst_frames_section(report: Report, res: ModelResults, study: ModelStudy,
                         image_of: Callable[[int], np.ndarray | None] | None) -> None:
    """The worst test frames: a table and thumbnails."""
    sec = report.section("Worst frames")
    if not res.worst_frames:
        sec.note("No frame with an error to rank.")
        return
    sec.paragraph("Frames where the model missed a labelled animal come first, then frames by "
                  "mean error. Open them first: they show what the model gets wrong.")
    sec.table(("rank", "frame", "mean error px", "largest error px", "worst keypoint",
               "missed animals"),
              [(i, f.name, f.mean_error_px, f.max_error_px, f.worst_node or "",
                f.missed_animals) for i, f in enumerate(res.worst_frames, start=1)])
    fig = draw_worst_frames(res.worst_frames, study.test, image_of) if image_of else None
    if fig is None:
        sec.note("The frames' images could not be read, so no thumbnails are shown.")
        return
    sec.figure(fig, alt=("Thumbnails of the worst frames, labels as green circles and "
                         "predictions as red crosses."),
               caption="Green circles: labels. Red crosses: predictions (lines join a label "
                       "to its prediction).", dpi=90)


def video_sections(report: Report, res: ModelResults, study: ModelStudy) -> None:
    """One section per video: scores per node, frames above the p-cutoff, the timeline."""
    for conf, scores in zip(res.videos, study.videos):
        sec = report.section(f"Video confidence: {conf.video}")
        median = "n/a" if conf.median_score is None else f"{conf.median_score:.3f}"
        sec.key_numbers([
            KeyNumber("median score", median,
                      f"{conf.band or 'n/a'} ({CONFIDENCE_BAND.describe()})"),
            KeyNumber(f"points ≥ {conf.p_cutoff:g}", fmt_share(conf.share_points_above),
                      "node slots of found animals"),
            KeyNumber("frames, every point ≥ cut-off", fmt_share(conf.share_frames_all_above)),
            KeyNumber("frames, mean ≥ cut-off", fmt_share(conf.share_frames_mean_above)),
            KeyNumber("frames without animal",
                      f"{conf.frames - conf.frames_with_predictions} of {conf.frames}"),
        ])
        sec.figure(timeline_figure(conf), alt=(
            f"Frame confidence over the {conf.frames} frames of {conf.video}, low stretches "
            "shaded and the frames to look at first marked."))
        if conf.look_first:
            sec.paragraph("Look at these frames first (least confident, at least "
                          f"{conf.window} frames apart): " + ", ".join(
                              f"{f.frame} ({f.confidence:.2f}, " + (
                                  f"weakest {f.weakest_node})" if f.weakest_node
                                  else "no animal found)")
                              for f in conf.look_first) + ".")
        if conf.low_segments:
            sec.table(("low stretch: first frame", "last frame", "frames", "mean confidence",
                       "lowest"),
                      [(s.start, s.end, s.frames, s.mean_confidence, s.min_confidence)
                       for s in conf.low_segments])
        sec.table(("keypoint", "placed", "median", "10th percentile",
                   f"animals ≥ {conf.p_cutoff:g} %", "rating"),
                  [(n.node, n.placed, n.median, n.p10, _pct(n.share_above_cutoff),
                    n.band or "") for n in conf.per_node])
        sec.figure(node_scores_figure(scores, conf), alt=(
            f"Box plots of the predicted scores of each keypoint in {conf.video}, with the "
            "guide's 0.9 and 0.99 lines and the p-cutoff."))
