"""The model report as a page: :func:`model_report` fills a
:class:`~posekit.reports.document.Report` from :class:`ModelResults` (tables, sentences,
figures); :func:`posekit.reports.output.write_report` writes it with its JSON.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

import numpy as np

from posekit.reports.document import KeyNumber, Report, Section
from posekit.reports.model_common import (
    MEAN_ERROR_BAND,
    SIZE_ERROR_BAND,
    TRAIN_TEST_GAP_BAND,
    fmt_px,
    fmt_share,
)
from posekit.reports.model_html_findings import (
    cohort_section,
    condition_section,
    video_sections,
    worst_frames_section,
)
from posekit.reports.model_plots import (
    calibration_figure,
    cutoff_figure,
    node_errors_figure,
    pck_figure,
    train_test_figure,
)
from posekit.reports.model_report import Evaluated, ModelResults, ModelStudy

ImageOf = Callable[[int], "np.ndarray | None"]


def _pct(value: float | None) -> float | None:
    return None if value is None else value * 100


def _band_text(rating: str | None, band_words: str) -> str:
    return f"{rating} ({band_words})" if rating else ""


def summary_section(report: Report, res: ModelResults, notes: Iterable[str] = ()) -> None:
    """Headline numbers with the guide's bands (and ``notes`` on how the inputs were
    obtained)."""
    perf = res.performance
    o = perf.overall
    sec = report.section("Summary")
    sec.paragraph(
        f"Test frames: {res.test_set}, {perf.frames} frames with {perf.labelled_animals} "
        f"labelled animals, {perf.matched_animals} found by the model. Errors are distances "
        "in pixels between a labelled point and its prediction.")
    numbers = {
        "mean error": (fmt_px(o.mean_px, 2), _band_text(perf.mean_error_band,
                                                       MEAN_ERROR_BAND.describe())),
        "RMSE": (fmt_px(o.rmse_px, 2), "root mean square"),
        "median / p90": (f"{fmt_px(o.median_px)} / {fmt_px(o.p90_px)}", ""),
        "error / animal size": (fmt_share(o.size_mean, 1),
                                _band_text(perf.size_error_band, SIZE_ERROR_BAND.describe())),
        "OKS mAP": ("n/a" if perf.oks_map is None else f"{perf.oks_map:.3f}", "0 to 1"),
    }
    if res.train_test is not None:
        gap = res.train_test
        numbers["train-test gap"] = (fmt_share(gap.overall.gap),
                                     _band_text(gap.band, TRAIN_TEST_GAP_BAND.describe()))
    if res.cutoffs.has_scores:
        row = res.cutoffs.at(res.p_cutoff)
        numbers[f"kept at p ≥ {res.p_cutoff:g}"] = (fmt_share(row.share_kept),
                                                     f"their error {fmt_px(row.mean_px)}")
    sec.key_numbers([KeyNumber(k, v, d) for k, (v, d) in numbers.items()])
    for note in notes:
        sec.note(note)


def advice_section(report: Report, res: ModelResults) -> None:
    """What to do next."""
    sec = report.section("What to do next")
    if res.advice:
        sec.bullets(a.text for a in res.advice)
    else:
        sec.good("Nothing stands out: no keypoint, condition or cohort is much worse than the "
                 "rest and the errors are within the guide's bands.")


def performance_section(report: Report, res: ModelResults, ev: Evaluated) -> None:
    """The per-keypoint table, its figure and the PCK curve."""
    perf = res.performance
    sec = report.section("Performance per keypoint")
    sec.paragraph(
        "Mean, RMSE (root mean square: large errors weigh more), median and 90th percentile "
        "of the error; the error as a share of the animal's size (diagonal of the labelled "
        "points' box; the guide calls < 5 % excellent); and the share of labelled points "
        f"that are wrong: not placed, or farther than {fmt_share(perf.wrong_fraction)} of "
        "the animal's size.")
    rows = [perf.overall, *perf.per_node]
    sec.table(
        ("keypoint", "labelled", "mean px", "RMSE px", "median px", "p90 px",
         "mean % of size", "wrong %", "PCK@5px %"),
        [(r.node, r.labelled, r.mean_px, r.rmse_px, r.median_px, r.p90_px,
          _pct(r.size_mean), _pct(r.wrong_share), _pct(r.pck_px.get(5.0))) for r in rows],
        caption="The first row pools every keypoint.")
    sec.figure(node_errors_figure(ev.pairs), alt=(
        "Box plot of the pixel error of each keypoint with its mean and RMSE; the worst "
        f"keypoint by mean error is {_worst(perf.per_node, 'mean_px')}."))
    sec.figure(pck_figure(perf.pck_curve), alt=(
        "PCK curve: the share of labelled points within each distance of their label, "
        "overall and per keypoint."),
        caption=f"OKS mAP {perf.oks_map if perf.oks_map is None else round(perf.oks_map, 3)} "
                "(COCO keypoint mean average precision over OKS 0.50:0.95).")


def _worst(rows: Iterable, key: str) -> str:
    rows = [r for r in rows if getattr(r, key) is not None]
    return max(rows, key=lambda r: getattr(r, key)).node if rows else "n/a"


def training_section(report: Report, res: ModelResults) -> None:
    """Train error beside test error, and the training's length."""
    sec = report.section("Training vs test")
    gap = res.train_test
    if gap is None:
        sec.note("No training predictions: the train-test gap needs the run's training split "
                 "(labels_gt.train.slp) and its model.")
    else:
        g = gap.overall
        sentence = (f"Test error {fmt_px(g.test_mean_px, 2)} vs training error "
                    f"{fmt_px(g.train_mean_px, 2)} ({gap.train_frames} of "
                    f"{gap.train_frames_total} training frames predicted): a gap of "
                    f"{fmt_share(g.gap)} ({TRAIN_TEST_GAP_BAND.describe()}).")
        underfits = MEAN_ERROR_BAND.rate(g.train_mean_px) == "poor"
        if underfits and gap.band in ("good", "excellent"):
            sec.warning(sentence + " No overfitting, but the training error itself is poor "
                        f"({MEAN_ERROR_BAND.describe()}): the model underfits.")
        else:
            (sec.good if gap.band in ("good", "excellent") else sec.warning)(sentence)
        sec.table(("keypoint", "train mean px", "test mean px", "gap %", "band"),
                  [(r.node, r.train_mean_px, r.test_mean_px, _pct(r.gap), r.band or "")
                   for r in (g, *gap.per_node)])
        sec.figure(train_test_figure(gap), alt="Bars of the mean error per keypoint on the "
                   "training frames and on the test frames.")
    t = res.training
    if t is not None:
        sec.key_numbers({
            "epochs": f"{t.epochs}" + (f" of {t.max_epochs}" if t.max_epochs else ""),
            "steps": t.steps if t.steps is not None else "n/a",
            "steps per epoch": t.steps_per_epoch if t.steps_per_epoch is not None else "n/a",
            "training time": _duration(t.wall_time_s),
            "best epoch": t.best_epoch if t.best_epoch is not None else "n/a",
        })


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "n/a"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def cutoff_section(report: Report, res: ModelResults, ev: Evaluated) -> None:
    """Accuracy at cut-offs (with the share kept) and the calibration."""
    cut = res.cutoffs
    sec = report.section("Accuracy at likelihood cut-offs")
    if not cut.has_scores:
        sec.note("The predictions carry no point scores: no cut-off table or calibration.")
        return
    sec.paragraph(
        "A p-cutoff drops every point scored below it. The error of the points kept always "
        "looks better as the cut-off rises; read it beside the share kept (points dropped "
        "are points you lose in your analysis).")
    sec.table(("p-cutoff", "kept %", "kept / labelled", "mean px", "RMSE px", "median px",
               "p90 px", "mean px of dropped"),
              [(f"{r.cutoff:g}", _pct(r.share_kept), f"{r.kept} / {r.labelled}", r.mean_px,
                r.rmse_px, r.median_px, r.p90_px, r.dropped_mean_px) for r in cut.rows])
    sec.figure(cutoff_figure(cut), alt="Share of labelled points kept and mean error of the "
               "kept points against the p-cutoff.")
    rho = cut.spearman_rho
    if rho is not None:
        words = ("the score ranks points by accuracy" if rho <= -0.3 else
                 "the score says little about the error" if rho > -0.1 else
                 "the score tracks the error weakly")
        sec.paragraph(f"Calibration: Spearman's rank correlation of score and error is "
                      f"{rho:.2f}: {words} (negative is good: higher scores, smaller errors).")
    sec.figure(calibration_figure(ev.pairs, cut), alt="Scatter of point error against "
               "predicted score, with the mean and median error of each score decile.")


def model_report(study: ModelStudy, res: ModelResults, ev: Evaluated, *, title: str,
                 inputs: Mapping[str, str], image_of: ImageOf | None = None,
                 extra_sections: Iterable[Section] = (), notes: Iterable[str] = ()
                 ) -> Report:
    """The model report page (sections in reading order) with ``res`` as its ``model``
    result. ``extra_sections`` (the loss-curve diagnosis) go after the worst frames;
    ``notes`` (how the inputs were obtained) under the summary."""
    report = Report(title=title, kind="model", subtitle=(
        "How accurate the model is, where it fails, and what to label next."),
        inputs=dict(inputs))
    report.add_result("model", res)
    summary_section(report, res, notes)
    advice_section(report, res)
    performance_section(report, res, ev)
    training_section(report, res)
    cutoff_section(report, res, ev)
    condition_section(report, res, study, ev)
    cohort_section(report, res)
    worst_frames_section(report, res, study, image_of)
    report.add_sections(extra_sections)
    video_sections(report, res, study)
    return report

