"""The worst test frames: which frames to open first, and thumbnails of them.

A frame's error is the mean error of its matched points; frames where the model missed a
labelled animal come first (a missed animal is the worst error), then by error. The
thumbnails show the frame cropped around its labelled animals, labels as green circles,
predictions as red crosses and a line from each label to its prediction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from posekit.evaluation.pairs import FrameInputs, MatchedPoints
from posekit.reports.model_common import Record, finite

WORST_FRAMES = 12
"""Frames listed (and drawn) by default."""
LABEL_COLOR = "#009E73"
PRED_COLOR = "#D55E00"


@dataclass(frozen=True)
class WorstFrame(Record):
    """One of the worst frames.

    Attributes:
        index: the frame's position among the evaluated frames.
        video: its video.
        frame_idx: its index in the video.
        name: how people find it: ``video:frame`` (file name), or the image's name for
            image folders.
        mean_error_px: mean error of its matched points (None: nothing matched).
        max_error_px: its largest point error.
        worst_node: the node with that error.
        missed_animals: labelled animals the model did not find in it.
    """

    index: int
    video: str
    frame_idx: int
    name: str
    mean_error_px: float | None
    max_error_px: float | None
    worst_node: str | None
    missed_animals: int


def missed_per_frame(pairs: MatchedPoints) -> np.ndarray:
    """``(F,)`` labelled animals the model missed in each frame."""
    matched = np.bincount(pairs.frame, minlength=pairs.n_frames)
    return pairs.gt_instances - matched


def frame_name(video: str, frame_idx: int) -> str:
    """``clip.mp4:120``: a frame named by its video's file name and index."""
    return f"{video.replace(chr(92), '/').rsplit('/', 1)[-1]}:{frame_idx}"


def worst_frames(inputs: FrameInputs, pairs: MatchedPoints, n: int = WORST_FRAMES,
                 names: Sequence[str] | None = None) -> tuple[WorstFrame, ...]:
    """The ``n`` worst frames (missed animals first, then by mean error); ``names``: a
    display name per evaluated frame (default :func:`frame_name`)."""
    errors = pairs.frame_errors()
    missed = missed_per_frame(pairs)
    candidates = [i for i in range(pairs.n_frames) if missed[i] > 0 or np.isfinite(errors[i])]
    candidates.sort(key=lambda i: (-missed[i], -np.nan_to_num(errors[i], nan=-1.0)))
    out = []
    point_err = pairs.errors
    for i in candidates[:n]:
        rows = np.flatnonzero(pairs.frame == i)
        block = point_err[rows] if rows.size else np.zeros((0, len(pairs.node_names)))
        finite_block = np.where(np.isfinite(block), block, -np.inf)
        worst_node, max_err = None, None
        if block.size and np.isfinite(block).any():
            flat = int(np.argmax(finite_block))
            worst_node = pairs.node_names[flat % block.shape[1]]
            max_err = finite(finite_block.flat[flat])
        out.append(WorstFrame(
            index=int(i), video=inputs.videos[i], frame_idx=int(inputs.frame_indices[i]),
            name=(names[i] if names is not None
                  else frame_name(inputs.videos[i], inputs.frame_indices[i])),
            mean_error_px=finite(errors[i]), max_error_px=max_err, worst_node=worst_node,
            missed_animals=int(missed[i]),
        ))
    return tuple(out)


def _crop_box(points: np.ndarray, shape: tuple[int, int], margin: float = 0.35
              ) -> tuple[int, int, int, int]:
    """``(x0, y0, x1, y1)`` around ``points`` (any finite ones), a square with margin."""
    h, w = shape
    pts = points[np.isfinite(points).all(axis=-1)]
    if not pts.size:
        return 0, 0, w, h
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    side = max(float((hi - lo).max()) * (1 + 2 * margin), 32.0)
    cx, cy = (lo + hi) / 2
    x0 = int(np.clip(cx - side / 2, 0, max(w - side, 0)))
    y0 = int(np.clip(cy - side / 2, 0, max(h - side, 0)))
    return x0, y0, int(min(w, x0 + side)), int(min(h, y0 + side))


def draw_worst_frames(frames: Sequence[WorstFrame], inputs: FrameInputs,
                      image_of: Callable[[int], np.ndarray | None], columns: int = 4,
                      thumb_in: float = 2.3):
    """A figure of thumbnails of ``frames`` (None when no image could be read).

    Args:
        frames: from :func:`worst_frames`.
        inputs: the evaluated frames (points drawn from it).
        image_of: ``image_of(index)`` -> the frame's ``(H, W)`` or ``(H, W, C)`` image, or
            None when it cannot be read.
        columns: thumbnails per row.
        thumb_in: size of one thumbnail in inches.
    """
    from posekit.reports.figures import new_figure

    shown = [(f, image_of(f.index)) for f in frames]
    shown = [(f, img) for f, img in shown if img is not None]
    if not shown:
        return None
    cols = columns  # a fixed width, so a few thumbnails stay as large as many
    rows = -(-len(shown) // cols)
    fig = new_figure(thumb_in * cols, thumb_in * rows + 0.3 * rows, nrows=rows, ncols=cols,
                     squeeze=False)
    for ax in fig.axes:
        ax.axis("off")
    for rank, (frame, image) in enumerate(shown):
        ax = fig.axes[rank]
        gt = inputs.gt_points[frame.index]
        pred = inputs.pred_points[frame.index]
        img = np.asarray(image)
        if img.ndim == 3 and img.shape[-1] == 1:
            img = img[..., 0]
        x0, y0, x1, y1 = _crop_box(gt, img.shape[:2])
        ax.imshow(img[y0:y1, x0:x1], cmap="gray", extent=(x0, x1, y1, y0))
        for g in gt:
            ax.plot(g[:, 0], g[:, 1], "o", ms=5, mfc="none", mec=LABEL_COLOR, mew=1.5)
        for p in pred:
            ax.plot(p[:, 0], p[:, 1], "x", ms=5, color=PRED_COLOR, mew=1.5)
        _links(ax, gt, pred)
        ax.set_xlim(x0, x1)
        ax.set_ylim(y1, y0)
        err = "missed" if frame.missed_animals else f"{frame.mean_error_px:.1f} px"
        ax.set_title(f"#{rank + 1} {_short(frame.name)}\n{err}", fontsize=9)
    return fig


def _links(ax, gt: np.ndarray, pred: np.ndarray) -> None:
    """A line from each labelled point to the nearest predicted animal's same node."""
    if not len(gt) or not len(pred):
        return
    for g in gt:
        d = np.nanmean(np.hypot(*(pred - g[None]).transpose(2, 0, 1)), axis=1)
        if not np.isfinite(d).any():
            continue
        p = pred[int(np.nanargmin(d))]
        for a, b in zip(g, p):
            if np.isfinite(a).all() and np.isfinite(b).all():
                ax.plot([a[0], b[0]], [a[1], b[1]], "-", color=PRED_COLOR, lw=0.8, alpha=0.7)


def _short(name: str, limit: int = 26) -> str:
    return name if len(name) <= limit else "…" + name[-(limit - 1):]
