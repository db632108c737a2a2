"""The validation report: sections and figures made from a :class:`ValidationStudy`.

No maths here; every number comes from :mod:`.validation_study` and
:mod:`.validation_stats`. :func:`validation_report` makes the ``posekit report validate``
page (``kind = "validation"``, the study under ``results.validation`` in the JSON).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from posekit.reports.document import KeyNumber, Report, Section, format_number
from posekit.reports.figures import COLORS, new_figure
from posekit.reports.validation_stats import AGREEMENT_BANDS, Agreement
from posekit.reports.validation_study import INSTANT_SPEED, MeasureResult, ValidationStudy

KIND = "validation"
"""The report kind and the result name."""
MAX_PLOTS = 6
"""Bland–Altman panels drawn at most (the first measures)."""
PLOT_COLUMNS = 3


def _num(value: float | None, digits: int = 3) -> str:
    return format_number(value, digits)


def _loa(a: Agreement) -> str:
    ba = a.bland_altman
    return "\u2013" if ba is None else f"{_num(ba.low)} to {_num(ba.high)}"


def _test(a: Agreement) -> str:
    if a.test is None:
        return "\u2013"
    return f"{a.test.name}, p = {_num(a.test.p)}" if a.test.p is not None else a.test.name


def _mean_sd(mean: float | None, sd: float | None) -> str:
    return f"{_num(mean)} \u00b1 {_num(sd)}" if mean is not None else "\u2013"


def _label(m: MeasureResult) -> str:
    return m.name.replace("_", " ")


def _summary(study: ValidationStudy) -> Section:
    sec = Section("Summary")
    counts = Counter(m.agreement.band or "undefined" for m in study.measures)
    biased = [m for m in study.measures if m.agreement.significant_bias]
    al = [p.alignment for p in study.pairs]
    rate = al[0].sample_rate
    sec.key_numbers([
        KeyNumber("file pairs", format_number(len(study.pairs))),
        KeyNumber("reference samples compared", format_number(sum(a.n_used for a in al)),
                  f"of {format_number(sum(a.n_reference for a in al))} in the reference"),
        KeyNumber("sample rate", f"{_num(rate)} Hz" if rate else "every "
                  f"{al[0].step} frames", f"every {al[0].step} video frames"),
        KeyNumber("measures", format_number(len(study.measures)),
                  ", ".join(f"{v} {k}" for k, v in counts.items())),
        KeyNumber("significant bias", format_number(len(biased)),
                  f"p < {study.settings.alpha:g}"),
        KeyNumber("keypoints", format_number(len(study.keypoints))),
    ])
    poor = [m for m in study.measures if m.agreement.band in ("poor", "moderate")]
    if poor or biased:
        sec.warning("Not interchangeable with the reference: " + "; ".join(
            f"{_label(m)} ({m.agreement.verdict})" for m in dict.fromkeys(poor + biased)) + ".")
    elif study.measures:
        sec.good("Every measure agrees with the reference at least well, without a "
                 "significant bias.")
    for pair in study.pairs:
        if pair.alignment.gap_text:
            sec.warning(f"{Path(pair.reference).name}: {pair.alignment.gap_text}")
    return sec


def _alignment_section(study: ValidationStudy) -> Section:
    sec = Section("How the sources were aligned")
    sec.paragraph("Measures are computed from both sources at the reference's sample times "
                  "only: the predictions are read at the same video frames, so both paths "
                  "are made of the same steps (a path sampled at 3 Hz is shorter than the "
                  "same path at 30 Hz). A sample missing from either source is left out of "
                  "both.")
    sec.table(("#", "predictions", "reference", "aligned by", "samples used",
               "outside the predictions", "video fps", "step (frames)"),
              [(i + 1, Path(p.predictions).name, f"{Path(p.reference).name} ({p.reference_kind})",
                p.alignment.method, p.alignment.n_used,
                p.alignment.n_before + p.alignment.n_after, p.alignment.video_fps,
                p.alignment.step) for i, p in enumerate(study.pairs)])
    rows = [(i + 1, r, pr, p.match.method, d) for i, p in enumerate(study.pairs)
            for r, pr, d in p.match.pairs]
    sec.table(("#", "reference animal", "predicted track", "matched", "mean distance (px)"),
              rows, caption="Animals: by name when every reference name is a track name, "
                            "else by the smallest mean distance (Hungarian assignment).")
    for i, p in enumerate(study.pairs):
        left = p.match.unmatched_reference + p.match.unmatched_predictions
        if left:
            sec.note(f"#{i + 1}: left without a partner: {', '.join(left)}.")
    return sec


def _bias(a: Agreement) -> float | None:
    return a.bland_altman.bias if a.bland_altman else None


def _short(a: Agreement) -> str:
    """A verdict cell that fits a narrow column: the band, and the bias when significant."""
    if a.band is None:
        return a.verdict
    return f"{a.band}, significant bias" if a.significant_bias else a.band


def _bland_altman_figure(measures: list[MeasureResult]):
    """One Bland–Altman panel per measure: difference against mean, bias and limits."""
    n = len(measures)
    cols = min(PLOT_COLUMNS, n)
    rows = -(-n // cols)
    fig = new_figure(8.8, 2.9 * rows + 0.2, nrows=rows, ncols=cols, squeeze=False)
    for ax, m in zip(fig.axes, measures, strict=False):
        p, r = np.asarray(m.pred, float), np.asarray(m.ref, float)
        ok = np.isfinite(p) & np.isfinite(r)
        ax.scatter((p[ok] + r[ok]) / 2, p[ok] - r[ok], s=12, color=COLORS["train"], alpha=0.6)
        ba = m.agreement.bland_altman
        if ba is not None:
            ax.axhline(ba.bias, color=COLORS["val"], label=f"bias {_num(ba.bias)}")
            for limit in (ba.low, ba.high):
                ax.axhline(limit, color=COLORS["muted"], linestyle="--")
            ax.axhline(0, color="black", linewidth=0.8)
            ax.legend(loc="best", fontsize=8)
        ax.set_title(f"{_label(m)} ({m.unit})", fontsize=10)
        ax.set_xlabel("mean of the two", fontsize=9)
        ax.set_ylabel("predictions \u2212 reference", fontsize=9)
    for ax in fig.axes[n:]:
        ax.set_visible(False)
    return fig


def _measures_section(study: ValidationStudy) -> Section:
    sec = Section("Behavioural measures")
    bins = (f"animal per {study.settings.bin_s:g}-s bin" if study.settings.bin_s
            else "animal over the whole recording")
    sec.paragraph(f"One pair per {bins} (sample by sample for '{INSTANT_SPEED}'). "
                  "ICC is ICC(2,1): two-way random effects, absolute agreement, one "
                  "measurement; a constant offset lowers it, unlike Pearson's r. Bias is "
                  "the mean of predictions \u2212 reference, with the 95 % limits of "
                  "agreement (bias \u00b1 1.96 SD).")
    sec.table(("measure", "unit", "n", "r", "ICC", "bias", "95 % limits", "verdict"),
              [(_label(m), m.unit, m.agreement.n, m.agreement.pearson_r, m.agreement.icc,
                _bias(m.agreement), _loa(m.agreement), m.agreement.verdict)
               for m in study.measures])
    sec.table(("measure", "predictions mean \u00b1 SD", "reference mean \u00b1 SD",
               "Spearman \u03c1", "paired test"),
              [(_label(m), _mean_sd(m.agreement.mean_pred, m.agreement.sd_pred),
                _mean_sd(m.agreement.mean_ref, m.agreement.sd_ref), m.agreement.spearman_rho,
                _test(m.agreement)) for m in study.measures],
              caption="Each source's mean and SD over the pairs, rank correlation and the "
                      "paired test of the bias.")
    bands = ", ".join(f"{name} > {limit:g}" for limit, name in AGREEMENT_BANDS)
    sec.paragraph(f"Verdicts read the ICC ({bands}, else poor; the guide's targets are "
                  "> 0.85 good and > 0.95 excellent) and the paired test of the bias "
                  f"(significant at p < {study.settings.alpha:g}). The test is a paired "
                  "t-test when the differences pass Shapiro\u2013Wilk, else Wilcoxon's "
                  "signed-rank test:")
    sec.bullets(f"{_label(m)}: {m.agreement.test.name} \u2013 {m.agreement.test.reason}"
                for m in study.measures if m.agreement.test is not None)
    shown = [m for m in study.measures if m.agreement.band is not None][:MAX_PLOTS]
    if shown:
        sec.figure(_bland_altman_figure(shown),
                   alt="Bland\u2013Altman plots: " + "; ".join(
                       f"{_label(m)} bias {_num(m.agreement.bland_altman.bias)}"
                       for m in shown),
                   caption="Bland\u2013Altman: each dot is one pair; the orange line is the "
                           "bias, the dashed lines the 95 % limits of agreement, black is "
                           "zero.")
    return sec


def _keypoint_section(study: ValidationStudy) -> Section:
    sec = Section("Keypoint positions")
    sec.paragraph("Each node's x and y in pixels, compared sample by sample and animal by "
                  "animal at the reference's samples, and the distance between the two "
                  "points.")
    sec.table(("node", "n", "ICC x", "ICC y", "bias x", "bias y", "mean distance",
               "95th pct", "verdict x", "verdict y"),
              [(k.node, k.distance.n, k.x.icc, k.y.icc, _bias(k.x), _bias(k.y),
                k.distance.mean, k.distance.p95, _short(k.x), _short(k.y))
               for k in study.keypoints],
              caption="Distances and biases in pixels; Pearson's r and every test are in "
                      "the JSON.")
    return sec


def _groups_section(study: ValidationStudy) -> Section:
    sec = Section("Effect between groups")
    sec.paragraph(f"Cohen's d (pooled SD) between the groups of '{study.group_column}', "
                  "each animal's whole recording one value, from each source. The source "
                  "with the larger |d| sees the effect more strongly (the guide's test of "
                  "which tool is more sensitive to a treatment).")
    sec.table(("measure", "control", "group", "n (control, group)", "d predictions",
               "d reference", "larger effect"),
              [(g.measure.replace("_", " "), g.control, g.treated,
                f"{g.n_control}, {g.n_treated}", g.d_pred, g.d_ref, g.more_sensitive)
               for g in study.groups])
    return sec


def validation_report(study: ValidationStudy) -> Report:
    """The ``posekit report validate`` page of ``study``."""
    first = study.pairs[0]
    name = Path(first.predictions).name + (f" and {len(study.pairs) - 1} more"
                                           if len(study.pairs) > 1 else "")
    inputs = {"predictions": ", ".join(p.predictions for p in study.pairs),
              "reference": ", ".join(p.reference for p in study.pairs)}
    report = Report(title=f"Validation \u2013 {name}", kind=KIND,
                    subtitle="How well behavioural measures and keypoints from the "
                             "predictions agree with the reference.", inputs=inputs)
    sections = [_summary(study), _measures_section(study), _keypoint_section(study)]
    if study.groups:
        sections.append(_groups_section(study))
    sections.append(_alignment_section(study))
    if study.notes:
        sections.append(Section("Notes").bullets(dict.fromkeys(study.notes)))
    report.add_sections(sections)
    report.add_result(KIND, study)
    return report
