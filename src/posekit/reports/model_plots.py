"""The model report's figures (matplotlib, Agg, through :mod:`posekit.reports.figures`).

Each function draws one figure from typed results (and, where a distribution is shown,
the matched points) and returns it; the HTML sections embed it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from posekit.evaluation.pairs import MatchedPoints
from posekit.reports.figures import COLORS, new_figure
from posekit.reports.model_cohorts import CohortSection
from posekit.reports.model_common import fmt_p
from posekit.reports.model_conditions import ConditionTest
from posekit.reports.model_cutoffs import Cutoffs
from posekit.reports.model_performance import PckCurve, TrainTestGap

SCATTER_MAX = 4000
"""Points drawn at most in a scatter plot (a fixed random sample beyond)."""
BOX_STYLE = {"patch_artist": True,
             "boxprops": {"facecolor": "#dbe9f6", "edgecolor": COLORS["train"]},
             "medianprops": {"color": COLORS["train"], "linewidth": 2}}
"""The look of every box plot of the model report."""


def legend_outside(ax) -> None:
    """The legend to the right of the axes (never over the data)."""
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=9)


def _height(n_rows: int, per_row: float = 0.32, base: float = 1.3) -> float:
    return min(12.0, base + per_row * n_rows)


def node_errors_figure(pairs: MatchedPoints) -> Figure:
    """Error distribution per node: boxes (quartiles, whiskers to 5th / 95th percentile)
    with the mean as a diamond and the RMSE as a bar."""
    names = list(pairs.node_names)
    err = pairs.errors
    data = [err[:, k][np.isfinite(err[:, k])] for k in range(len(names))]
    fig = new_figure(9.0, _height(len(names)))
    ax = fig.axes[0]
    pos = np.arange(len(names))[::-1]
    shown = [d if d.size else np.array([np.nan]) for d in data]
    ax.boxplot(shown, positions=pos, vert=False, whis=(5, 95), showfliers=False,
               widths=0.6, **BOX_STYLE)
    means = [d.mean() if d.size else np.nan for d in data]
    rmse = [np.sqrt(np.mean(d**2)) if d.size else np.nan for d in data]
    ax.plot(means, pos, "D", color=COLORS["val"], ms=5, label="mean")
    ax.plot(rmse, pos, "|", color=COLORS["bad"], ms=14, mew=2, label="RMSE")
    ax.set_yticks(pos, names)
    ax.set_xlabel("error (px)")
    ax.set_xlim(left=0)
    legend_outside(ax)
    ax.set_title("Error per keypoint (box: quartiles; whiskers: 5th-95th percentile)")
    return fig


def pck_figure(curve: PckCurve) -> Figure:
    """PCK curve: overall (thick) and per node (thin)."""
    fig = new_figure(9.0, 4.2)
    ax = fig.axes[0]
    x = np.array(curve.thresholds_px)
    for name, values in curve.per_node.items():
        y = np.array([np.nan if v is None else v for v in values], dtype=float)
        ax.plot(x, y, lw=1.0, alpha=0.8, label=name)
    y = np.array([np.nan if v is None else v for v in curve.overall], dtype=float)
    ax.plot(x, y, color="black", lw=3, label="all keypoints")
    ax.set_xlabel("threshold (px)")
    ax.set_ylabel("share of labelled points within")
    ax.set_ylim(0, 1.02)
    ax.set_xlim(0, x[-1] if x.size else 1)
    ncol = 1 if len(curve.per_node) < 12 else 2
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), ncol=ncol, fontsize=8)
    ax.set_title("PCK: share of points within a distance of their label")
    return fig


def train_test_figure(gap: TrainTestGap) -> Figure:
    """Mean error per node on training and test frames."""
    rows = [gap.overall, *gap.per_node]
    names = [r.node for r in rows]
    fig = new_figure(9.0, _height(len(rows), 0.38))
    ax = fig.axes[0]
    pos = np.arange(len(rows))[::-1]
    train = [np.nan if r.train_mean_px is None else r.train_mean_px for r in rows]
    test = [np.nan if r.test_mean_px is None else r.test_mean_px for r in rows]
    ax.barh(pos + 0.2, train, 0.4, color=COLORS["train"], label="training frames")
    ax.barh(pos - 0.2, test, 0.4, color=COLORS["val"], label="test frames")
    ax.set_yticks(pos, names)
    ax.set_xlabel("mean error (px)")
    legend_outside(ax)
    ax.set_title("Training vs test error")
    return fig


def cutoff_figure(cut: Cutoffs) -> Figure:
    """Share kept and error of the kept points against the cut-off."""
    fig = new_figure(9.0, 4.0)
    ax = fig.axes[0]
    c = [r.cutoff for r in cut.rows]
    kept = [np.nan if r.share_kept is None else r.share_kept * 100 for r in cut.rows]
    err = [np.nan if r.mean_px is None else r.mean_px for r in cut.rows]
    ax.plot(c, kept, "o-", color=COLORS["train"], label="share kept (%)")
    ax.set_ylim(0, 105)
    ax.set_xlabel("p-cutoff (points scored below it are dropped)")
    ax.set_ylabel("share of labelled points kept (%)", color=COLORS["train"])
    ax2 = ax.twinx()
    ax2.plot(c, err, "s--", color=COLORS["val"], label="mean error of kept points")
    ax2.set_ylabel("mean error of kept points (px)", color=COLORS["val"])
    ax2.set_ylim(bottom=0)
    ax2.grid(False)
    ax.axvline(cut.p_cutoff, color=COLORS["muted"], ls=":", lw=1.5)
    ax.set_title(f"Accuracy at cut-offs (dotted: the report's p-cutoff {cut.p_cutoff:g})")
    return fig


def calibration_figure(pairs: MatchedPoints, cut: Cutoffs) -> Figure:
    """Error against predicted score: points, and the mean error of each score bin."""
    err, sc = pairs.errors, pairs.scores
    ok = np.isfinite(err) & np.isfinite(sc)
    e, s = err[ok], sc[ok]
    if e.size > SCATTER_MAX:
        pick = np.random.default_rng(0).choice(e.size, SCATTER_MAX, replace=False)
        e, s = e[pick], s[pick]
    fig = new_figure(9.0, 4.2)
    ax = fig.axes[0]
    ax.scatter(s, e, s=6, alpha=0.25, color=COLORS["muted"], label="points", rasterized=True)
    bins = cut.calibration
    ax.plot([b.mean_score for b in bins], [b.mean_error_px for b in bins], "o-",
            color=COLORS["val"], label="mean error per score decile")
    ax.plot([b.mean_score for b in bins], [b.median_error_px for b in bins], "s:",
            color=COLORS["train"], label="median error per score decile")
    ax.set_xlabel("predicted score")
    ax.set_ylabel("error (px)")
    top = np.percentile(e, 99) if e.size else 1.0
    ax.set_ylim(0, max(top * 1.1, 1.0))
    rho = "" if cut.spearman_rho is None else f" (Spearman's rho = {cut.spearman_rho:.2f})"
    ax.set_title(f"Calibration: error against predicted score{rho}")
    ax.legend(loc="upper right")
    return fig


def conditions_figure(tests: Sequence[ConditionTest], values: dict[str, np.ndarray],
                      frame_errors: np.ndarray) -> Figure | None:
    """Frame errors per value of each tested column (box per value).

    Args:
        tests: the tested columns.
        values: ``{column: (F,) value of every frame}``.
        frame_errors: ``(F,)`` frame errors.
    """
    tests = sorted((t for t in tests if t.test is not None),
                   key=lambda t: (not (t.differs and not t.explained_by), t.explained_by
                                  is not None))[:4]
    if not tests:
        return None
    fig = new_figure(9.0, 3.3 * len(tests), nrows=len(tests), squeeze=False)
    for ax, test in zip(fig.axes, tests):
        col = values[test.column]
        names = [g.value for g in test.groups]
        data = [frame_errors[(col == v) & np.isfinite(frame_errors)] for v in names]
        shown = [d if d.size else np.array([np.nan]) for d in data]
        ax.boxplot(shown, vert=True, showfliers=True, widths=0.5, **BOX_STYLE,
                   flierprops={"markersize": 3})
        labels = [f"{v}\n(n={d.size})" for v, d in zip(names, data)]
        ax.set_xticks(np.arange(1, len(names) + 1), labels,
                      rotation=30 if len(names) > 6 else 0)
        ax.set_ylabel("frame error (px)")
        ax.set_ylim(bottom=0)
        mark = "differs" if test.differs else "no detectable difference"
        ax.set_title(f"{test.column}: {mark} ({test.test}, p = {fmt_p(test.p_value)})")
        if test.worst and test.differs:
            ax.get_xticklabels()[names.index(test.worst)].set_color(COLORS["bad"])
    return fig


def cohorts_figure(section: CohortSection) -> Figure | None:
    """RMSE of the standard test set and every cohort, with the flagging limit."""
    if section.standard is None or not section.cohorts:
        return None
    standard = ("validation split" if section.standard_source == "validation split"
                else "standard test set")
    labels = [standard] + [f"{c.kind}: {', '.join(c.values)}"[:40]
                                      for c in section.cohorts]
    rmse = [section.standard.rmse_px] + [c.metrics.rmse_px for c in section.cohorts]
    colors = [COLORS["train"]] + [COLORS["bad"] if c.flagged else COLORS["muted"]
                                  for c in section.cohorts]
    fig = new_figure(9.0, _height(len(labels), 0.4))
    ax = fig.axes[0]
    pos = np.arange(len(labels))[::-1]
    ax.barh(pos, [np.nan if v is None else v for v in rmse], color=colors)
    limit = (section.standard.rmse_px or 0) * (1 + section.threshold)
    ax.axvline(limit, color=COLORS["bad"], ls="--", lw=1.2,
               label=f"standard + {section.threshold * 100:g} %")
    ax.set_yticks(pos, labels)
    ax.set_xlabel("RMSE (px)")
    legend_outside(ax)
    ax.set_title("Generalisation: held-out cohorts (red: flagged)")
    return fig
