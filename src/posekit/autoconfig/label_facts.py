"""What ``posekit config auto`` measures in the labels (torch-free).

:func:`measure_points` and the helpers below are pure functions of keypoint arrays;
:func:`load_label_data` is the only function that reads files (through posekit's one labels
loader, :func:`posekit.io.labels.load_labels`, and the ``data inspect`` summary for frame
sizes and channels).
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from posekit.errors import DataError
from posekit.io.frames import FrameTable
from posekit.io.inspection import LabelsSummary, summarize_labels
from posekit.io.labels import labels_format, load_labels
from posekit.keypoints import bounding_boxes, visible_mask

if TYPE_CHECKING:
    import sleap_io as sio

#: Most frames decoded to measure brightness (spread evenly over the labelled frames).
BRIGHTNESS_SAMPLES = 12
#: Two animals overlap when their boxes share at least this fraction of the smaller box.
OVERLAP_SHARE = 0.2
#: Tracks are identities when at least this fraction of the instances carries one.
TRACKED_SHARE = 0.9


@dataclass(frozen=True)
class SizeStats:
    """Animal size (bounding-box diagonal of the visible points, in frame pixels)."""

    median: float
    p90: float
    max: float
    cv: float
    """Coefficient of variation (standard deviation / mean)."""


@dataclass(frozen=True)
class TrackFacts:
    """Whether the tracks name the same animals throughout (identities)."""

    names: tuple[str, ...]
    tracked_share: float
    repeated_in_frame: int
    """Frames in which one track is given to two instances."""
    identities: bool
    reason: str


@dataclass(frozen=True)
class LabelFacts:
    """The measured facts every choice of :mod:`posekit.autoconfig.choices` reads.

    Attributes:
        source: the labels file.
        n_frames: labelled frames with at least one visible point.
        n_instances: labelled instances with at least one visible point.
        frame_sizes: ``(width, height, frames)`` of every frame size, most frequent first.
        frame_hw: the largest ``(height, width)`` (what a full-frame model input must hold).
        channels: image channels (1 grey, 3 colour; None when no frame could be read).
        node_names, edges: the skeleton (edges as node-index pairs).
        node_visibility: fraction of instances in which each node is visible.
        size: animal size statistics.
        instances_max, instances_mean: instances per labelled frame.
        overlap_share: fraction of the frames with several animals in which two of them
            overlap (boxes share ``OVERLAP_SHARE`` of the smaller one); 0 with one animal.
        tracks: the track facts.
        orientation_spread: 95th percentile (degrees, 0..90) of the angle between each
            instance's principal axis and the typical axis (:func:`axis_deviation`); ~85
            when animals face every way (top view), small when they keep one orientation.
        orientation_n: instances with an axis (two or more visible points).
        brightness: mean grey level (0..255) of each sampled frame.
        points: ``(I, K, 2)`` every instance's points (frame pixels, NaN where missing).
    """

    source: str
    n_frames: int
    n_instances: int
    frame_sizes: tuple[tuple[int, int, int], ...]
    frame_hw: tuple[int, int]
    channels: int | None
    node_names: tuple[str, ...]
    edges: tuple[tuple[int, int], ...]
    node_visibility: tuple[float, ...]
    size: SizeStats
    instances_max: int
    instances_mean: float
    overlap_share: float
    tracks: TrackFacts
    orientation_spread: float
    orientation_n: int
    brightness: tuple[float, ...]
    points: np.ndarray

    @property
    def frame_side(self) -> int:
        """The shorter side of the largest frame (pixels)."""
        return int(min(self.frame_hw))

    @property
    def relative_size(self) -> float:
        """The animal's p90 size as a fraction of the frame's shorter side."""
        return self.size.p90 / max(self.frame_side, 1)


@dataclass
class LabelData:
    """Labels loaded once: the sleap-io object, its frame table and its summary."""

    path: Path
    labels: sio.Labels
    table: FrameTable
    summary: LabelsSummary


# ------------------------------------------------------------------ pure measurements


def size_stats(points: np.ndarray) -> SizeStats:
    """Median / p90 / max / CV of the bounding-box diagonals of ``(I, K, 2)`` instances."""
    boxes = bounding_boxes(points)
    diag = np.hypot(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    diag = diag[np.isfinite(diag)]
    if diag.size == 0:
        raise DataError("labels: no instance has a visible point; expected labelled animals. "
                        "Label some frames before choosing a configuration.")
    mean = float(diag.mean())
    return SizeStats(median=float(np.median(diag)), p90=float(np.percentile(diag, 90)),
                     max=float(diag.max()), cv=float(diag.std() / mean) if mean > 0 else 0.0)


def principal_axis_angles(points: np.ndarray) -> np.ndarray:
    """Direction (radians, in ``[0, pi)``) of each instance's principal axis; NaN for an
    instance with fewer than two visible points or with all its points on one spot."""
    pts = np.asarray(points, dtype=np.float64)
    vis = visible_mask(pts)
    count = vis.sum(axis=-1)
    centred = np.where(vis[..., None], pts, np.nan)
    centred = centred - np.nanmean(np.where(count[:, None, None] > 0, centred, 0.0), axis=1,
                                   keepdims=True)
    centred = np.nan_to_num(centred)
    sxx = (centred[..., 0] ** 2).sum(-1)
    syy = (centred[..., 1] ** 2).sum(-1)
    sxy = (centred[..., 0] * centred[..., 1]).sum(-1)
    angle = 0.5 * np.arctan2(2.0 * sxy, sxx - syy)
    spread = sxx + syy
    return np.where((count >= 2) & (spread > 1e-9), np.mod(angle, np.pi), np.nan)


def axis_deviation(angles: np.ndarray, percentile: float = 95.0) -> float:
    """How far (degrees, 0..90) body axes turn from the typical axis: the ``percentile`` of
    each axis's angle to the circular mean axis.

    Axes are undirected (an animal facing left or right has the same axis), so angles are
    doubled before averaging. Uniform axes (a top view of animals facing every way) give
    about 85 at the 95th percentile; animals that keep one orientation give a few degrees.
    """
    a = np.asarray(angles, dtype=np.float64)
    a = a[np.isfinite(a)]
    if a.size < 2:
        return 0.0
    mean = 0.5 * np.angle(np.exp(2j * a).mean())
    deviation = np.abs(np.angle(np.exp(2j * (a - mean)))) / 2.0
    return float(np.degrees(np.percentile(deviation, percentile)))


def overlap_share(points: np.ndarray, frame_offsets: np.ndarray) -> float:
    """Fraction of the frames holding two or more animals in which two of them overlap."""
    boxes = bounding_boxes(points)
    multi = overlapping = 0
    for lo, hi in pairwise(frame_offsets):
        b = boxes[lo:hi]
        b = b[np.isfinite(b).all(axis=1)]
        if len(b) < 2:
            continue
        multi += 1
        x0 = np.maximum(b[:, None, 0], b[None, :, 0])
        y0 = np.maximum(b[:, None, 1], b[None, :, 1])
        x1 = np.minimum(b[:, None, 2], b[None, :, 2])
        y1 = np.minimum(b[:, None, 3], b[None, :, 3])
        inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
        area = np.maximum((b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]), 1.0)
        share = inter / np.minimum(area[:, None], area[None, :])
        np.fill_diagonal(share, 0.0)
        overlapping += bool((share >= OVERLAP_SHARE).any())
    return overlapping / multi if multi else 0.0


def track_facts(track_idx: np.ndarray, frame_offsets: np.ndarray, names: tuple[str, ...],
                instances_max: int) -> TrackFacts:
    """Decide whether tracks are identities: at least ``TRACKED_SHARE`` of the instances
    carry a track, at least two tracks are used, no more tracks than animals seen together,
    and no frame gives one track to two instances."""
    n = len(track_idx)
    tracked = float((track_idx >= 0).mean()) if n else 0.0
    used = sorted({int(t) for t in track_idx if t >= 0})
    repeated = 0
    for lo, hi in pairwise(frame_offsets):
        t = track_idx[lo:hi]
        t = t[t >= 0]
        repeated += int(len(t) != len(np.unique(t)))
    used_names = tuple(names[i] for i in used)
    if len(used) < 2:
        reason = f"{len(used)} track(s) used: nothing to tell apart"
    elif tracked < TRACKED_SHARE:
        reason = f"only {tracked:.0%} of instances have a track (need {TRACKED_SHARE:.0%})"
    elif len(used) > max(instances_max, 1):
        reason = (f"{len(used)} tracks for at most {instances_max} animals per frame: "
                  "the tracks are fragments, not identities")
    elif repeated:
        reason = f"{repeated} frame(s) give one track to two animals"
    else:
        return TrackFacts(used_names, tracked, 0, True,
                          f"{len(used)} tracks on {tracked:.0%} of instances, one per animal")
    return TrackFacts(used_names, tracked, repeated, False, reason)


def measure_points(table: FrameTable, summary: LabelsSummary,
                   brightness: tuple[float, ...] = ()) -> LabelFacts:
    """All :class:`LabelFacts` from a frame table and the labels' summary (no I/O)."""
    if len(table) == 0:
        raise DataError(f"{summary.path}: no labelled frame with a visible point; expected "
                        "labelled animals. Label some frames before choosing a configuration.")
    pts = table.inst_points.astype(np.float64)
    counts = table.instance_counts
    sizes = _frame_sizes(summary)
    frame_hw = (max(h for _, h, _ in sizes), max(w for w, _, _ in sizes))
    channels = {v.channels for v in summary.videos if v.channels}
    instances_max = int(counts.max())
    angles = principal_axis_angles(pts)
    return LabelFacts(
        source=summary.path,
        n_frames=len(table),
        n_instances=len(pts),
        frame_sizes=sizes,
        frame_hw=frame_hw,
        channels=max(channels) if channels else None,
        node_names=tuple(table.node_names),
        edges=tuple(table.edges),
        node_visibility=tuple(float(v) for v in visible_mask(pts).mean(axis=0)),
        size=size_stats(pts),
        instances_max=instances_max,
        instances_mean=float(counts.mean()),
        overlap_share=overlap_share(pts, table.frame_offsets),
        tracks=track_facts(table.inst_track, table.frame_offsets, tuple(table.track_names),
                           instances_max),
        orientation_spread=axis_deviation(angles),
        orientation_n=int(np.isfinite(angles).sum()),
        brightness=tuple(brightness),
        points=pts,
    )


def _frame_sizes(summary: LabelsSummary) -> tuple[tuple[int, int, int], ...]:
    """``(width, height, labelled frames)`` from the summary, most frequent first."""
    counts: Counter[tuple[int, int]] = Counter()
    for video in summary.videos:
        if video.image_sizes:
            for text, n in video.image_sizes.items():
                w, h = (int(v) for v in text.split("x"))
                counts[(w, h)] += n
        elif video.width and video.height and video.labeled_frames:
            counts[(video.width, video.height)] += video.labeled_frames
    if not counts:
        raise DataError(
            f"{summary.path}: the size of the labelled frames could not be read (no video or "
            "image opens); expected readable frames. Check the video paths with "
            "posekit data inspect."
        )
    return tuple((w, h, n) for (w, h), n in counts.most_common())


# ------------------------------------------------------------------ reading files


def load_label_data(path: str | os.PathLike[str]) -> LabelData:
    """Load labels once with posekit's loader; build their frame table and summary.

    Raises:
        DataError: the file cannot be read as labels, or has no labelled point.
    """
    path = Path(path)
    labels = load_labels(path)
    table = FrameTable.from_labels(labels, user_instances_only=True)
    if len(table) == 0:
        table = FrameTable.from_labels(labels, user_instances_only=False)
    summary = summarize_labels(labels, source=str(path), fmt=labels_format(path))
    return LabelData(path, labels, table, summary)


def sample_brightness(table: FrameTable, samples: int = BRIGHTNESS_SAMPLES) -> tuple[float, ...]:
    """Mean grey level of up to ``samples`` labelled frames spread evenly over the table;
    frames that cannot be decoded are skipped."""
    from posekit.errors import VideoError

    picks = np.unique(np.linspace(0, len(table) - 1, min(samples, len(table))).astype(int))
    means = []
    for i in picks:
        try:
            means.append(float(table.read_image(int(i)).mean()))
        except VideoError:
            continue
    return tuple(means)


def measure_labels(path: str | os.PathLike[str]) -> tuple[LabelFacts, LabelData]:
    """Load ``path`` and measure it: the facts and the loaded data (for previews)."""
    data = load_label_data(path)
    return measure_points(data.table, data.summary, sample_brightness(data.table)), data
