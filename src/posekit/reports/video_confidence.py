"""Video confidence: how sure the model is over whole videos, and where it is not.

Input: the predictions of every frame of a video (a predictions file, or what the model
predicted). Per video:

* the distribution of the **point scores** per node (placed points only), their median
  against the guide's bands (> 0.9 good, > 0.99 excellent);
* the **share of each node above the p-cutoff**: predicted animals whose node was placed
  with a score at or above the cut-off, over all predicted animals;
* the **share of frames above the p-cutoff**: frames where every node of every predicted
  animal is at or above it (``share_frames_all_above``), and frames whose mean point score
  is (``share_frames_mean_above``), both over every frame of the video (a frame without
  any prediction is below);
* a **timeline** of the frame confidence (the mean score of the frame's points, 0 when
  nothing was predicted), the **low segments** where its running median (window
  ``window`` frames) stays below the p-cutoff, and the **frames to look at first**: the
  least confident frames, at least ``window`` frames apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import sleap_io as sio
from scipy.ndimage import median_filter

from posekit.reports.model_common import CONFIDENCE_BAND, Record, finite
from posekit.reports.model_cutoffs import DEFAULT_P_CUTOFF

HISTOGRAM_BINS = 20
"""Bins of the score histograms over [0, 1] (scores above 1 fall in the last bin)."""
TIMELINE_POINTS = 2000
"""The timeline is stored in at most this many bins (min and mean of each)."""
TOP = 10
"""Low segments and frames to look at first that are listed."""


@dataclass(frozen=True, eq=False)
class VideoScores:
    """The point scores of one video's predictions.

    Attributes:
        name: the video's name.
        node_names: the skeleton's nodes (``K``).
        frame_indices: ``(F,)`` frames that have predictions, increasing.
        scores: per such frame, ``(P, K)`` point scores (NaN: node not placed).
        n_frames: frames in the video (None: unknown; the last predicted frame + 1 then).
    """

    name: str
    node_names: tuple[str, ...]
    frame_indices: np.ndarray
    scores: tuple[np.ndarray, ...]
    n_frames: int | None = None


def video_scores(labels: sio.Labels, name: str | None = None) -> list[VideoScores]:
    """One :class:`VideoScores` per video of a predictions file (predicted instances only;
    a node whose point is missing counts as not placed)."""
    if not labels.skeletons:
        return []
    nodes = tuple(labels.skeletons[0].node_names)
    out = []
    for vi, video in enumerate(labels.videos):
        frames = sorted((lf for lf in labels.labeled_frames if lf.video is video),
                        key=lambda lf: lf.frame_idx)
        indices, scores = [], []
        for lf in frames:
            insts = [i for i in lf.instances if isinstance(i, sio.PredictedInstance)]
            if not insts:
                continue
            block = []
            for inst in insts:
                pts = inst.points
                s = np.asarray(pts["score"], np.float64).copy()
                s[~np.isfinite(np.asarray(pts["xy"], np.float64)).all(axis=1)] = np.nan
                block.append(s)
            indices.append(int(lf.frame_idx))
            scores.append(np.stack(block))
        try:
            n_frames = int(video.shape[0]) if video.shape else None
        except Exception:  # noqa: BLE001 - a video that cannot be opened has no known length
            n_frames = None
        label = name if name and len(labels.videos) == 1 else _video_name(video, vi)
        out.append(VideoScores(label, nodes, np.array(indices, np.int64), tuple(scores),
                               n_frames))
    return out


def _video_name(video: sio.Video, index: int) -> str:
    filename = video.filename
    if isinstance(filename, (list, tuple)):
        filename = filename[0] if filename else f"video{index}"
    return str(filename).replace("\\", "/").rsplit("/", 1)[-1] or f"video{index}"


@dataclass(frozen=True)
class NodeConfidence(Record):
    """The scores of one node over a video.

    Attributes:
        node: node name.
        placed: points placed (with a score).
        median, p10, mean: of the placed points' scores.
        share_above_cutoff: predicted animals whose node is placed at or above the cut-off.
        band: the guide's rating of the median.
        histogram: counts in :data:`HISTOGRAM_BINS` equal bins over [0, 1].
    """

    node: str
    placed: int
    median: float | None
    p10: float | None
    mean: float | None
    share_above_cutoff: float | None
    band: str | None
    histogram: tuple[int, ...]


@dataclass(frozen=True)
class LowSegment(Record):
    """A stretch of frames whose running-median confidence is below the p-cutoff."""

    start: int
    end: int
    frames: int
    mean_confidence: float
    min_confidence: float


@dataclass(frozen=True)
class LookFirst(Record):
    """A frame to look at first: its confidence and its least confident node."""

    frame: int
    confidence: float
    weakest_node: str | None


@dataclass(frozen=True)
class VideoConfidence(Record):
    """Confidence over one whole video (see the module notes).

    Attributes:
        video: the video's name.
        frames: frames of the video.
        frames_with_predictions: frames where the model found an animal.
        predicted_animals: predicted animals over all frames.
        p_cutoff: the score limit.
        median_score: median of every placed point's score.
        band: the guide's rating of ``median_score``.
        share_points_above: placed-or-not node slots of predicted animals at or above the
            cut-off.
        share_frames_all_above, share_frames_mean_above: see the module notes.
        per_node: one entry per node.
        window: running-median window (frames).
        timeline_start, timeline_mean, timeline_min: the frame confidence in bins
            (first frame of each bin, mean and minimum of its frames).
        low_segments: the longest and deepest low stretches, worst first.
        look_first: the frames to look at first, least confident first.
    """

    video: str
    frames: int
    frames_with_predictions: int
    predicted_animals: int
    p_cutoff: float
    median_score: float | None
    band: str | None
    share_points_above: float | None
    share_frames_all_above: float | None
    share_frames_mean_above: float | None
    per_node: tuple[NodeConfidence, ...]
    window: int
    timeline_start: tuple[int, ...]
    timeline_mean: tuple[float, ...]
    timeline_min: tuple[float, ...]
    low_segments: tuple[LowSegment, ...]
    look_first: tuple[LookFirst, ...]

    def node(self, name: str) -> NodeConfidence:
        """The entry of node ``name``."""
        for entry in self.per_node:
            if entry.node == name:
                return entry
        raise KeyError(f"no node {name!r}")


def _node_confidence(name: str, scores: np.ndarray, cutoff: float) -> NodeConfidence:
    placed = scores[np.isfinite(scores)]
    hist = np.histogram(np.clip(placed, 0.0, 1.0), bins=HISTOGRAM_BINS, range=(0.0, 1.0))[0]
    median = finite(np.median(placed)) if placed.size else None
    return NodeConfidence(
        node=name, placed=int(placed.size), median=median,
        p10=finite(np.percentile(placed, 10)) if placed.size else None,
        mean=finite(placed.mean()) if placed.size else None,
        share_above_cutoff=float((placed >= cutoff).sum() / scores.size) if scores.size else None,
        band=CONFIDENCE_BAND.rate(median), histogram=tuple(int(h) for h in hist),
    )


def frame_confidence(video: VideoScores) -> np.ndarray:
    """``(n_frames,)`` mean point score of every frame (unplaced points count 0; a frame
    without prediction is 0)."""
    n = video.n_frames or (int(video.frame_indices.max()) + 1 if video.frame_indices.size else 0)
    conf = np.zeros(n)
    for f, s in zip(video.frame_indices, video.scores):
        if 0 <= f < n and s.size:
            conf[f] = float(np.nan_to_num(s, nan=0.0).mean())
    return conf


def low_segments(smooth: np.ndarray, raw: np.ndarray, cutoff: float, top: int = TOP
                 ) -> tuple[LowSegment, ...]:
    """Runs of frames where ``smooth`` is below ``cutoff``, ranked by frames times depth."""
    below = np.concatenate([[False], smooth < cutoff, [False]])
    edges = np.flatnonzero(np.diff(below.astype(np.int8)))
    segments = []
    for start, stop in zip(edges[::2], edges[1::2]):
        part = raw[start:stop]
        segments.append(LowSegment(int(start), int(stop - 1), int(stop - start),
                                   float(part.mean()), float(part.min())))
    segments.sort(key=lambda s: (cutoff - s.mean_confidence) * s.frames, reverse=True)
    return tuple(segments[:top])


def look_first(conf: np.ndarray, video: VideoScores, window: int, top: int = TOP
               ) -> tuple[LookFirst, ...]:
    """The least confident frames, at least ``window`` frames apart, each with its least
    confident node (among the nodes the model places somewhere in the video: a node it
    never places is reported in the per-node table instead)."""
    by_frame = dict(zip(video.frame_indices.tolist(), video.scores))
    ever = (np.isfinite(np.concatenate(video.scores)).any(axis=0) if video.scores
            else np.zeros(len(video.node_names), bool))
    taken: list[int] = []
    out = []
    for f in np.argsort(conf, kind="stable"):
        if len(out) >= top:
            break
        if any(abs(int(f) - t) < window for t in taken):
            continue
        taken.append(int(f))
        s = by_frame.get(int(f))
        weakest = None
        if s is not None and s.size and ever.any():
            mean = np.where(ever, np.nan_to_num(s, nan=0.0).mean(axis=0), np.inf)
            weakest = video.node_names[int(np.argmin(mean))]
        out.append(LookFirst(int(f), float(conf[f]), weakest))
    return tuple(out)


def _timeline(conf: np.ndarray) -> tuple[tuple[int, ...], tuple[float, ...], tuple[float, ...]]:
    if not conf.size:
        return (), (), ()
    parts = np.array_split(np.arange(conf.size), min(TIMELINE_POINTS, conf.size))
    return (tuple(int(p[0]) for p in parts), tuple(float(conf[p].mean()) for p in parts),
            tuple(float(conf[p].min()) for p in parts))


def video_confidence(video: VideoScores, p_cutoff: float = DEFAULT_P_CUTOFF,
                     window: int = 15) -> VideoConfidence:
    """Confidence over one video (see the module notes)."""
    k = len(video.node_names)
    stacked = np.concatenate(video.scores) if video.scores else np.zeros((0, k))
    conf = frame_confidence(video)
    n = conf.size
    smooth = median_filter(conf, size=max(1, window), mode="nearest") if n else conf
    placed = stacked[np.isfinite(stacked)]
    median = finite(np.median(placed)) if placed.size else None
    all_above = sum(int((np.nan_to_num(s, nan=-np.inf) >= p_cutoff).all()) for s in video.scores
                    if s.size)
    start, mean, low = _timeline(conf)
    return VideoConfidence(
        video=video.name, frames=n, frames_with_predictions=len(video.scores),
        predicted_animals=int(stacked.shape[0]), p_cutoff=float(p_cutoff),
        median_score=median, band=CONFIDENCE_BAND.rate(median),
        share_points_above=(float((np.nan_to_num(stacked, nan=-np.inf) >= p_cutoff).mean())
                            if stacked.size else None),
        share_frames_all_above=all_above / n if n else None,
        share_frames_mean_above=float((conf >= p_cutoff).mean()) if n else None,
        per_node=tuple(_node_confidence(name, stacked[:, j], p_cutoff)
                       for j, name in enumerate(video.node_names)),
        window=int(window), timeline_start=start, timeline_mean=mean, timeline_min=low,
        low_segments=low_segments(smooth, conf, p_cutoff),
        look_first=look_first(conf, video, max(1, window)),
    )


def videos_confidence(videos: Sequence[VideoScores], p_cutoff: float = DEFAULT_P_CUTOFF,
                      window: int = 15) -> tuple[VideoConfidence, ...]:
    """:func:`video_confidence` of every video."""
    return tuple(video_confidence(v, p_cutoff, window) for v in videos)
