"""The receptive-field preview: a labelled frame with the chosen models' reach drawn on it.

As in SLEAP's training dialog, a square the size of each model's receptive field (in frame
pixels: the receptive field divided by the input scale) is centred on an animal, so one can
judge whether the model sees the whole animal; top-down plans add the crop box. Drawn with
matplotlib in the report style (:mod:`posekit.reports.figures`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from posekit.autoconfig.label_facts import LabelFacts
from posekit.io.frames import FrameTable
from posekit.keypoints import anchor_points, bounding_boxes
from posekit.reports.figures import COLORS, figure_png, new_figure
from posekit.utils import atomic_path


@dataclass(frozen=True)
class PreviewBox:
    """A square centred on the animal: its label, side (frame pixels), colour and line."""

    label: str
    side: float
    color: str
    dashed: bool = False


def pick_frame(table: FrameTable, p90: float) -> tuple[int, int]:
    """``(frame, instance)`` of the instance whose size is closest to the p90 size."""
    boxes = bounding_boxes(table.inst_points)
    diag = np.hypot(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    row = int(np.nanargmin(np.abs(diag - p90)))
    frame = int(np.searchsorted(table.frame_offsets, row, side="right") - 1)
    return frame, row - int(table.frame_offsets[frame])


def _draw_animal(ax: object, pts: np.ndarray, edges: tuple[tuple[int, int], ...],
                 color: str) -> None:
    for a, b in edges:
        if np.isfinite(pts[[a, b]]).all():
            ax.plot(pts[[a, b], 0], pts[[a, b], 1], color=color, lw=1.2, alpha=0.9)
    ok = np.isfinite(pts).all(axis=1)
    ax.scatter(pts[ok, 0], pts[ok, 1], s=36, color=color, edgecolors="black",
               linewidths=0.5, zorder=3)


def render_preview(image: np.ndarray, points: np.ndarray, focus: int,
                   edges: tuple[tuple[int, int], ...], boxes: list[PreviewBox],
                   title: str) -> bytes:
    """PNG bytes: ``image`` with every instance of ``points`` (``focus`` highlighted) and
    ``boxes`` centred on the focus animal's anchor."""
    from matplotlib.patches import Rectangle

    h, w = image.shape[:2]
    fig = new_figure(8.8, 8.8 * h / w + 0.9)
    ax = fig.axes[0]
    shown = image[..., 0] if image.shape[-1] == 1 else image
    ax.imshow(shown, cmap="gray" if shown.ndim == 2 else None, vmin=0, vmax=255)
    for i, pts in enumerate(points):
        _draw_animal(ax, pts, edges, COLORS["highlight"] if i == focus else COLORS["muted"])
    cx, cy = anchor_points(points[focus][None])[0]
    for box in boxes:
        ax.add_patch(Rectangle((cx - box.side / 2, cy - box.side / 2), box.side, box.side,
                               fill=False, lw=2.2, ls="--" if box.dashed else "-",
                               edgecolor=box.color, label=box.label,
                               zorder=4 if box.dashed else 2))
    x0, y0, x1, y1 = bounding_boxes(points[focus][None])[0]
    ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, lw=1.5, ls=":",
                           edgecolor=COLORS["warn"], label=f"animal box {np.hypot(x1 - x0, y1 - y0):.0f}"
                           " px diagonal"))
    reach = max([b.side / 2 for b in boxes] + [0.0])
    ax.set_xlim(min(-0.5, cx - reach - 10), max(w - 0.5, cx + reach + 10))
    ax.set_ylim(max(h - 0.5, cy + reach + 10), min(-0.5, cy - reach - 10))
    ax.grid(False)
    ax.set_title(title)
    ax.set_xlabel("x (frame pixels)")
    ax.set_ylabel("y (frame pixels)")
    ax.set_facecolor("#DDDDDD")
    ax.legend(loc="lower right", framealpha=0.9)
    return figure_png(fig)


def write_preview(path: str | os.PathLike[str], table: FrameTable, facts: LabelFacts,
                  boxes: list[PreviewBox], title: str) -> Path:
    """Draw the preview on the frame holding the p90-sized animal and write it atomically."""
    frame, focus = pick_frame(table, facts.size.p90)
    png = render_preview(table.read_image(frame), table.points(frame).astype(np.float64),
                         focus, facts.edges, boxes, title)
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(png)
    return Path(path)
