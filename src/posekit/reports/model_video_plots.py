"""Figures of the video-confidence part of the model report."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from posekit.reports.figures import COLORS, new_figure
from posekit.reports.model_plots import BOX_STYLE, legend_outside
from posekit.reports.video_confidence import VideoConfidence, VideoScores


def node_scores_figure(scores: VideoScores, conf: VideoConfidence) -> Figure:
    """Score distribution per node (placed points) with the guide's bands and the
    p-cutoff."""
    names = list(scores.node_names)
    stacked = (np.concatenate(scores.scores) if scores.scores
               else np.zeros((0, len(names))))
    data = [stacked[:, k][np.isfinite(stacked[:, k])] for k in range(len(names))]
    fig = new_figure(9.0, min(12.0, 1.4 + 0.3 * len(names)))
    ax = fig.axes[0]
    pos = np.arange(len(names))[::-1]
    ax.boxplot([d if d.size else np.array([np.nan]) for d in data], positions=pos,
               vert=False, whis=(5, 95), showfliers=False, widths=0.6, **BOX_STYLE)
    ax.axvline(0.9, color=COLORS["warn"], ls="--", lw=1.2, label="0.9 (good median)")
    ax.axvline(0.99, color=COLORS["lr"], ls="--", lw=1.2, label="0.99 (excellent median)")
    ax.axvline(conf.p_cutoff, color=COLORS["bad"], ls=":", lw=1.5,
               label=f"p-cutoff {conf.p_cutoff:g}")
    ax.set_yticks(pos, [f"{n} ({s.share_above_cutoff * 100:.0f} %)" if s.share_above_cutoff
                        is not None else n for n, s in zip(names, conf.per_node)])
    ax.set_xlabel("predicted score (label: share of animals with the node above the p-cutoff)")
    top = max(1.0, float(np.nanmax(stacked)) if np.isfinite(stacked).any() else 1.0)
    ax.set_xlim(0, min(top * 1.02, 1.5))
    legend_outside(ax)
    ax.set_title(f"{conf.video}: scores per keypoint")
    return fig


def timeline_figure(conf: VideoConfidence) -> Figure:
    """Frame confidence over the video, low stretches shaded, frames to look at first
    marked."""
    fig = new_figure(9.0, 3.2)
    ax = fig.axes[0]
    x = np.array(conf.timeline_start)
    ax.plot(x, conf.timeline_mean, color=COLORS["train"], lw=1.2, label="frame confidence")
    if len(x) < conf.frames:
        ax.plot(x, conf.timeline_min, color=COLORS["muted"], lw=0.8, label="lowest in bin")
    for i, seg in enumerate(conf.low_segments):
        ax.axvspan(seg.start, seg.end + 1, color=COLORS["warn"], alpha=0.25,
                   label="low stretch" if i == 0 else None)
    ax.axhline(conf.p_cutoff, color=COLORS["bad"], ls=":", lw=1.2,
               label=f"p-cutoff {conf.p_cutoff:g}")
    for rank, item in enumerate(conf.look_first[:5], start=1):
        ax.annotate(str(rank), (item.frame, item.confidence), xytext=(0, -14),
                    textcoords="offset points", ha="center", fontsize=8, color=COLORS["bad"])
        ax.plot(item.frame, item.confidence, "v", color=COLORS["bad"], ms=6)
    ax.set_ylim(0, max(1.05, max(conf.timeline_mean, default=1.0) * 1.05))
    ax.set_xlim(0, max(conf.frames, 1))
    ax.set_xlabel("frame")
    ax.set_ylabel("mean point score")
    ax.legend(loc="lower right", fontsize=8, ncol=4)
    ax.set_title(f"{conf.video}: confidence over time (numbers: frames to look at first)")
    return fig
