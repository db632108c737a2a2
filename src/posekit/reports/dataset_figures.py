"""The dataset audit's pictures: sampled frames per condition, and the pose-variance plot.

* **Montage**: one row per condition value (the first condition column; recordings when
  there is no metadata), up to :data:`MONTAGE_COLUMNS` frames each, chosen evenly over the
  row's frames in file order after a seeded shuffle, the labelled points drawn on top.
  Each frame is cropped to a square around its labelled animals (:func:`crop_box`: small
  animals in a large arena stay visible). It shows what each condition looks like (light,
  background, posture) at a glance.
* **Pose-variance plot**: (left) every aligned pose's nodes in the body frame, coloured by
  node, with the mean pose and skeleton; (middle) each node's spread in body lengths;
  (right) the aligned poses on their first two principal components, coloured by condition.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from posekit.keypoints import visible_mask
from posekit.reports.dataset_pose import CONCENTRATED_INDEX, pose_components
from posekit.reports.figures import COLORS, new_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from posekit.reports.dataset_audit import DatasetAudit

MONTAGE_COLUMNS = 6
MONTAGE_ROWS = 8
THUMB_IN = 1.55
NODE_CMAP = "tab10"


def montage_rows(keys: Sequence[str], per_row: int = MONTAGE_COLUMNS,
                 max_rows: int = MONTAGE_ROWS, seed: int = 0) -> list[tuple[str, list[int]]]:
    """``[(value, frame indices)]``: for each of the first ``max_rows`` values (in
    first-seen order), up to ``per_row`` of its frames spread evenly over a seeded
    shuffle, returned sorted."""
    rng = np.random.default_rng(seed)
    out = []
    for value in list(dict.fromkeys(keys))[:max_rows]:
        idx = np.flatnonzero(np.asarray(keys, dtype=object) == value)
        order = np.sort(rng.permutation(idx))
        take = np.linspace(0, len(order) - 1, min(per_row, len(order))).round().astype(int)
        out.append((value, sorted(int(order[t]) for t in np.unique(take))))
    return out


def crop_box(points: np.ndarray, shape: tuple[int, int], margin: float = 0.75,
             min_share: float = 0.3) -> tuple[int, int, int, int]:
    """``(x0, y0, x1, y1)``: a square around the labelled points (their extent plus
    ``margin`` of it on each side), at least ``min_share`` of the smaller image side, inside
    the image; the whole image when no point is visible."""
    h, w = shape
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    pts = pts[np.isfinite(pts).all(axis=1)]
    if not len(pts):
        return 0, 0, w, h
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    side = min(max(float((hi - lo).max()) * (1 + 2 * margin), min_share * min(h, w)), h, w)
    cx, cy = (lo + hi) / 2
    x0 = int(np.clip(cx - side / 2, 0, w - side))
    y0 = int(np.clip(cy - side / 2, 0, h - side))
    return x0, y0, int(x0 + side), int(y0 + side)


def _node_colors(n: int) -> list:
    from matplotlib import colormaps

    cmap = colormaps[NODE_CMAP if n <= 10 else "tab20"]
    return [cmap(k % cmap.N) for k in range(n)]


def _gray(image: np.ndarray) -> tuple[np.ndarray, str | None]:
    img = np.asarray(image)
    if img.ndim == 3 and img.shape[-1] == 1:
        return img[..., 0], "gray"
    return img, ("gray" if img.ndim == 2 else None)


def montage_figure(audit: DatasetAudit, image_of: Callable[[int], np.ndarray | None],
                   column: str | None = None, seed: int = 0) -> Figure | None:
    """Sampled frames per value of ``column`` (default: first condition column, else the
    recording), labelled points drawn; None when no image can be read."""
    data = audit.data
    if data is None:
        return None
    meta = audit.metadata
    column = column or (meta.condition_columns[0] if meta and meta.condition_columns else None)
    rec = data.recording.tolist()
    keys = ([meta.rows[r][column] for r in rec] if column and meta
            else [data.recordings[r] for r in rec])
    rows = [(v, [(i, image_of(i)) for i in idx]) for v, idx in montage_rows(keys, seed=seed)]
    rows = [(v, [(i, im) for i, im in frames if im is not None]) for v, frames in rows]
    rows = [(v, frames) for v, frames in rows if frames]
    if not rows:
        return None
    cols = max(len(f) for _, f in rows)
    fig = new_figure(THUMB_IN * cols + 1.4, THUMB_IN * len(rows) + 0.2, nrows=len(rows),
                     ncols=cols, squeeze=False)
    colors = _node_colors(len(data.node_names))
    for r, (value, frames) in enumerate(rows):
        axes = fig.axes[r * cols:(r + 1) * cols]
        for ax in axes:
            ax.set_xticks([])
            ax.set_yticks([])
            ax.grid(False)
            for spine in ax.spines.values():
                spine.set_visible(False)
        label = f"{column}={value}" if column else value
        axes[0].set_ylabel(_short(label), fontsize=10, rotation=0, ha="right", va="center")
        for ax, (i, image) in zip(axes, frames):
            img, cmap = _gray(image)
            x0, y0, x1, y1 = crop_box(data.points[data.animal_frame == i], img.shape[:2])
            ax.imshow(img[y0:y1, x0:x1], cmap=cmap, interpolation="antialiased",
                      extent=(x0, x1, y1, y0))
            for pts in data.points[data.animal_frame == i]:
                vis = visible_mask(pts)
                ax.scatter(pts[vis, 0], pts[vis, 1], s=12, c=[colors[k] for k in
                                                              np.flatnonzero(vis)],
                           edgecolors="white", linewidths=0.3)
            ax.set_title(f"{_short(data.recordings[rec[i]], 14)}:{int(data.frame_number[i])}",
                         fontsize=8)
    return fig


def _short(text: str, limit: int = 22) -> str:
    """The last part of a path (an image folder keeps its name), cut to ``limit``."""
    text = str(text).replace("\\", "/").rstrip("/").rsplit("/", 1)[-1] or str(text)
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def pose_figure(audit: DatasetAudit, max_points: int = 4000, seed: int = 0) -> Figure | None:
    """The pose-variance plot (module notes); None without aligned animals."""
    data, align, pose = audit.data, audit.alignment, audit.pose
    if data is None or align is None or align.aligned.shape[0] < 2 or not pose.median_body_length_px:
        return None
    fig = new_figure(11.0, 3.9, ncols=3, width_ratios=[1.25, 1.0, 1.1])
    ax_pose, ax_spread, ax_pca = fig.axes
    length = pose.median_body_length_px
    aligned = align.aligned / length
    names = list(data.node_names)
    colors = _node_colors(len(names))
    rng = np.random.default_rng(seed)
    rows = rng.permutation(len(aligned))[: max(1, max_points // max(len(names), 1))]
    size, alpha = (10, 0.7) if len(rows) < 200 else (4, 0.35)
    for k, name in enumerate(names):
        pts = aligned[rows, k]
        pts = pts[np.isfinite(pts).all(axis=1)]
        ax_pose.scatter(pts[:, 0], pts[:, 1], s=size, color=colors[k], alpha=alpha,
                        linewidths=0, label=name, rasterized=True)
    mean = np.nanmean(np.where(visible_mask(aligned)[..., None], aligned, np.nan), axis=0)
    for a, b in data.edges:
        ax_pose.plot(mean[[a, b], 0], mean[[a, b], 1], "-", color="black", lw=1.2)
    ax_pose.scatter(mean[:, 0], mean[:, 1], s=22, c=colors, edgecolors="black", linewidths=0.6,
                    zorder=3)
    ax_pose.set_aspect("equal", adjustable="datalim")
    ax_pose.set_title(f"aligned poses ({align.aligned.shape[0]} animals)")
    ax_pose.set_xlabel(f"body lengths along {pose.tail_node} \u2192 {pose.head_node}")
    ax_pose.set_ylabel("body lengths across")
    if len(names) <= 12:
        legend = ax_pose.legend(loc="upper left", bbox_to_anchor=(0, -0.22),
                                ncol=min(len(names), 4), fontsize=8, markerscale=2.5,
                                frameon=False, handletextpad=0.2, columnspacing=0.8)
        for handle in legend.legend_handles:
            handle.set_alpha(1.0)
    spreads = np.array([np.nan if pose.node_spread_px[n] is None else pose.node_spread_px[n]
                        for n in names]) / length
    y = np.arange(len(names))
    ax_spread.barh(y, np.nan_to_num(spreads), color=colors)
    ax_spread.set_yticks(y, [_short(n, 14) for n in names])
    ax_spread.invert_yaxis()
    ax_spread.axvline(CONCENTRATED_INDEX, color=COLORS["bad"], ls="--", lw=1)
    if pose.index is not None:
        ax_spread.axvline(pose.index, color="black", lw=1.2)
    ax_spread.set_xlabel("spread (body lengths)")
    index = "n/a" if pose.index is None else f"{pose.index:.3f}"
    ax_spread.set_title(f"node spread; index {index}")
    _pca_panel(ax_pca, audit, align.aligned, align.used)
    return fig


def _pca_panel(ax, audit: DatasetAudit, aligned: np.ndarray, used: np.ndarray) -> None:
    """Aligned poses on their first two principal components, coloured by condition."""
    data, meta = audit.data, audit.metadata
    scores, share = pose_components(aligned)
    column = meta.condition_columns[0] if meta and meta.condition_columns else None
    rec = data.recording[data.animal_frame][used].tolist()
    keys = [meta.rows[r][column] if column else "" for r in rec] if meta else [""] * len(rec)
    values = list(dict.fromkeys(keys))[:10]
    palette = [COLORS["train"], COLORS["val"], COLORS["lr"], COLORS["highlight"],
               COLORS["warn"], COLORS["muted"], "#56B4E9", "#F0E442", "#000000", "#8C564B"]
    keys_arr = np.asarray(keys, dtype=object)
    for i, value in enumerate(values):
        sel = keys_arr == value
        ax.scatter(scores[sel, 0], scores[sel, 1], s=6, alpha=0.5, color=palette[i],
                   linewidths=0, label=_short(value, 16) if value else None, rasterized=True)
    if column and len(values) > 1:
        ax.legend(title=column, fontsize=8, title_fontsize=8, markerscale=2.5, frameon=False,
                  loc="best")
    ax.set_xlabel(f"component 1 ({share[0]:.0%} of variance), px")
    ax.set_ylabel(f"component 2 ({share[1]:.0%}), px")
    ax.set_title("pose components")
