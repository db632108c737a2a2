"""Two rounds side by side as a report page, from a :class:`RoundComparison`.

:func:`compare_report` fills a :class:`posekit.reports.document.Report`: the summary, the
standard metrics of both runs, the per-keypoint and per-condition differences (a forest
plot: each difference with its interval) and how they were computed. The comparison's
``to_dict`` is the JSON's ``results.compare``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from posekit.evaluation.results import EvaluationResult
from posekit.reports.compare_bootstrap import Delta
from posekit.reports.compare_rounds import ConditionComparison, RoundComparison
from posekit.reports.document import Report
from posekit.reports.figures import COLORS, new_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

KIND = "compare"
RESULT = "compare"
VERDICT_COLOR = {"better": COLORS["lr"], "worse": COLORS["bad"], "within noise": COLORS["muted"]}


def forest_figure(labels: Sequence[str], deltas: Sequence[Delta], title: str,
                  level: float) -> Figure | None:
    """Each difference as a dot with its interval as a bar, 0 marked; None when empty."""
    rows = [(lab, d) for lab, d in zip(labels, deltas) if d.delta is not None]
    if not rows:
        return None
    fig = new_figure(7.5, 0.9 + 0.36 * len(rows))
    ax = fig.axes[0]
    for y, (_, d) in enumerate(rows):
        color = VERDICT_COLOR.get(d.verdict, COLORS["muted"])
        ax.plot([d.low, d.high], [y, y], "-", color=color, lw=2.4, solid_capstyle="round")
        ax.plot([d.delta], [y], "o", color=color, ms=6)
    ax.axvline(0, color="black", lw=1)
    ax.set_yticks(range(len(rows)), [lab if len(lab) <= 22 else lab[:21] + "\u2026"
                                     for lab, _ in rows])
    ax.set_ylim(len(rows) - 0.4, -0.6)  # top to bottom, with room around the first and last
    ax.grid(axis="y", visible=False)
    ax.set_xlabel(f"difference in mean error, B \u2212 A (px); bars: {level:.0%} interval")
    ax.set_title(title)
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=c, marker="o", lw=2.4, label=v)
               for v, c in VERDICT_COLOR.items() if any(d.verdict == v for _, d in rows)]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False,
              fontsize=9)
    return fig


def _metric_rows(a: EvaluationResult, b: EvaluationResult) -> list[list]:
    def pck(r: EvaluationResult, t: float) -> float | None:
        return r.pck.px.get(t)

    rows = [
        ["mAP (OKS)", a.oks.map, b.oks.map],
        ["mean error (px)", a.localization.mean_px, b.localization.mean_px],
        ["RMSE (px)", a.localization.rmse_px, b.localization.rmse_px],
        ["median error (px)", a.localization.median_px, b.localization.median_px],
        ["90th percentile (px)", a.localization.p90_px, b.localization.p90_px],
    ]
    for t in sorted(set(a.pck.px) & set(b.pck.px)):
        if t in (5.0, 10.0):
            rows.append([f"PCK at {t:g} px", pck(a, t), pck(b, t)])
    rows.append(["points with an error", a.localization.n, b.localization.n])
    rows.append(["animals found (recall)", a.counts.instance_recall, b.counts.instance_recall])
    return [[name, x, y, None if x is None or y is None else y - x] for name, x, y in rows]


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _interval(d: Delta) -> str:
    return "\u2013" if d.low is None else f"{d.low:+.2f} to {d.high:+.2f}"


def _delta_row(label: str, d: Delta) -> list:
    return [label, _r(d.mean_a), _r(d.mean_b), _r(d.delta), _interval(d),
            None if d.relative is None else f"{100 * d.relative:+.1f}%", d.verdict]


DELTA_COLUMNS = ("mean A (px)", "mean B (px)", "B \u2212 A (px)", "interval (px)",
                 "relative", "verdict")


def _nodes(report: Report, c: RoundComparison) -> None:
    sec = report.section("Per keypoint")
    sec.paragraph("For each keypoint, the mean error of both runs over the points both "
                  "located, their difference (negative: B is better) and its "
                  f"{c.level:.0%} bootstrap interval. A difference is beyond noise when the "
                  "interval excludes 0. Located: labelled points each run has an error for.")
    fig = forest_figure([n.node for n in c.nodes], [n.delta for n in c.nodes],
                        "per keypoint", c.level)
    if fig is not None:
        better = sum(n.delta.verdict == "better" for n in c.nodes)
        worse = sum(n.delta.verdict == "worse" for n in c.nodes)
        sec.figure(fig, alt=f"Difference in mean error per keypoint with intervals: {better} "
                   f"better, {worse} worse, the rest within noise.",
                   caption="Dots: B \u2212 A; bars: the bootstrap interval; green: better "
                   "beyond noise, red: worse, grey: within noise.")
    rows = [[*_delta_row(n.node, n.delta), f"{n.located_a} / {n.located_b} of {n.labelled}"]
            for n in c.nodes]
    sec.table(["keypoint", *DELTA_COLUMNS, "located A / B"], rows,
              caption=f"interval: {c.level:.0%} paired bootstrap interval of B \u2212 A")


def _conditions(report: Report, c: RoundComparison) -> None:
    if not c.conditions:
        return
    column = c.condition_column or "condition"
    sec = report.section(f"Per {column}")
    sec.paragraph(f"The same over all keypoints within each {column} (its frames "
                  "resampled, same seed).")
    items: Sequence[ConditionComparison] = c.conditions
    fig = forest_figure([x.condition for x in items], [x.delta for x in items],
                        f"per {column}", c.level)
    if fig is not None:
        sec.figure(fig, alt=f"Difference in mean error per {column} with intervals.",
                   caption="Dots: B \u2212 A; bars: the bootstrap interval.")
    sec.table([column, "frames", *DELTA_COLUMNS],
              [[x.condition, x.frames, *_delta_row(x.condition, x.delta)[1:]] for x in items])


def _summary(report: Report, c: RoundComparison) -> None:
    sec = report.section("Summary")
    d = c.overall
    level = {"better": "good", "worse": "warning"}.get(d.verdict, "note")
    getattr(sec, level)(c.summary[0] if c.summary else "")
    sec.key_numbers({
        f"mean error {c.run_a.name}": "\u2013" if d.mean_a is None else f"{d.mean_a:.2f} px",
        f"mean error {c.run_b.name}": "\u2013" if d.mean_b is None else f"{d.mean_b:.2f} px",
        "B \u2212 A": "\u2013" if d.delta is None else f"{d.delta:+.2f} px",
        f"{c.level:.0%} interval": ("\u2013" if d.low is None else
                                    f"{d.low:+.2f} to {d.high:+.2f}"),
        "frames": c.frames, "paired points": d.points,
    })
    if len(c.summary) > 1:
        sec.bullets(c.summary[1:])
    for note in c.notes:
        sec.note(note)


def compare_report(c: RoundComparison) -> Report:
    """The comparison's report page, with the comparison as its result."""
    report = Report(
        title=f"Rounds side by side \u2013 {c.run_a.name} vs {c.run_b.name}", kind=KIND,
        subtitle=f"A = {c.run_a.name}, B = {c.run_b.name}, on the same {c.frames} frames "
                 f"({c.predictions}).",
        inputs={"run_a": c.run_a.path, "run_b": c.run_b.path})
    _summary(report, c)
    sec = report.section("Standard metrics")
    sec.paragraph("Each run's metrics on the frames (as posekit eval computes them, each run "
                  "over its own matched points).")
    sec.table(["metric", c.run_a.name, c.run_b.name, "B \u2212 A"],
              _metric_rows(c.run_a.result, c.run_b.result))
    _nodes(report, c)
    _conditions(report, c)
    how = report.section("How this was computed")
    how.paragraph(
        f"Paired bootstrap over frames: both runs predicted the same {c.frames} frames, so "
        f"the frames are resampled together ({c.n_boot} resamples, seed {c.seed}); each "
        "resample's statistic is the mean of B's minus the mean of A's errors over the "
        "points both located; the interval holds the middle "
        f"{c.level:.0%} of those statistics. Only points both runs located are compared, so "
        "a run does not look better by dropping hard points. Details: "
        "docs/reports.md.")
    report.add_result(RESULT, c)
    return report
