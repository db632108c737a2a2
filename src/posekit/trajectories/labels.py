"""Filter the predictions held in ``sio.Labels``: to arrays, through the filters, and back.

:meth:`PoseTracks.from_labels <posekit.refinement.outliers.PoseTracks.from_labels>` turns
one video's predicted instances into dense arrays (fragments of tracks packed in lanes,
``segments`` saying which trajectory each slot holds) and records where each instance
went (``instance_slots``). :func:`put_back` is its inverse: every predicted instance gets
the filtered points of its slot, and where a gap was filled in frames that had no instance
of the trajectory, a new predicted instance of that track is added (its score is the mean
of its filled points' low scores). User instances are never changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from posekit.refinement.outliers import PoseTracks
from posekit.trajectories.arrays import Filtered
from posekit.trajectories.pipeline import filter_tracks
from posekit.trajectories.settings import FilterSettings

if TYPE_CHECKING:
    import sleap_io as sio


@dataclass
class FilteredLabels:
    """The filtered labels and, per predicted instance, its points' status and variance.

    Attributes:
        labels: new labels (the input object is not changed).
        status: ``id(instance) -> int8 (K,)`` status of each predicted instance's points.
        variance: ``id(instance) -> (K,)`` posterior variance (px²), when a filter gave one.
        per_video: per filtered video index, the :class:`Filtered` arrays and the
            :class:`PoseTracks` they came from.
        notes: things the user should know (e.g. untracked instances left as they are).
        fps: the frame rate ``max_gap_s`` was converted with (the first video's), if any.
    """

    labels: sio.Labels
    status: dict[int, np.ndarray] = field(default_factory=dict)
    variance: dict[int, np.ndarray] = field(default_factory=dict)
    per_video: dict[int, tuple[PoseTracks, Filtered]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    fps: float | None = None

    def counts(self) -> dict[str, int]:
        """Points of each status over every filtered video."""
        total: dict[str, int] = {}
        for _, filtered in self.per_video.values():
            for name, n in filtered.counts().items():
                total[name] = total.get(name, 0) + n
        return total

    def fitted(self) -> dict[str, Any]:
        """What the filters estimated, per video index."""
        return {str(v): f.fitted for v, (_, f) in self.per_video.items() if f.fitted}


def predicted_in_order(labels: sio.Labels, video: int) -> list[Any]:
    """The video's predicted instances in the order of ``instance_rows`` (and of
    ``PoseTracks.instance_slots``): frames by index, then each frame's instances."""
    import sleap_io as sio

    target = labels.videos[video]
    frames = sorted((lf for lf in labels.labeled_frames if lf.video is target),
                    key=lambda lf: lf.frame_idx)
    return [inst for lf in frames for inst in lf.instances
            if isinstance(inst, sio.PredictedInstance)]


def video_fps(video: sio.Video) -> float | None:
    """The video's frame rate, or None when it cannot be read."""
    try:
        fps = float(video.fps)
    except Exception:  # noqa: BLE001 - an unreachable video or a backend without a rate
        return None
    return fps if np.isfinite(fps) and fps > 0 else None


def _new_instances(tracks: PoseTracks, filtered: Filtered) -> list[tuple[int, int, int]]:
    """``(row, slot, track index or -1)`` of slots that gained points where they had no
    instance (gaps filled inside a trajectory)."""
    gained = np.isfinite(filtered.points).all(-1).any(-1) & ~tracks.present
    if not gained.any():
        return []
    t = tracks.present.shape[0]
    idx = np.where(tracks.present, np.arange(t)[:, None], -1)
    last = np.maximum.accumulate(idx, axis=0)
    track_of = tracks.track_of if tracks.track_of is not None else np.full(
        tracks.present.shape, -1)
    out = []
    for row, slot in np.argwhere(gained).tolist():
        before = int(last[row, slot])
        out.append((row, slot, int(track_of[before, slot]) if before >= 0 else -1))
    return out


def put_back(labels: sio.Labels, results: dict[int, tuple[PoseTracks, Filtered]],
             out: FilteredLabels) -> sio.Labels:
    """New labels holding the filtered points of ``results`` (per video index); fills
    ``out.status`` / ``out.variance`` for every predicted instance of those videos."""
    import sleap_io as sio

    from posekit.io.labels import used_skeleton

    replaced: dict[int, Any] = {}
    for video, (tracks, filtered) in results.items():
        for inst, (row, slot) in zip(predicted_in_order(labels, video),
                                     tracks.instance_slots.tolist(), strict=True):
            new = sio.PredictedInstance.from_numpy(
                points_data=filtered.points[row, slot], skeleton=inst.skeleton,
                point_scores=filtered.scores[row, slot], score=inst.score, track=inst.track,
                tracking_score=inst.tracking_score)
            replaced[id(inst)] = new
            out.status[id(new)] = filtered.status[row, slot]
            if filtered.variance is not None:
                out.variance[id(new)] = filtered.variance[row, slot]
    frames, where = [], {}
    for lf in labels.labeled_frames:
        insts = [replaced.get(id(i), i) for i in lf.instances]
        frame = sio.LabeledFrame(video=lf.video, frame_idx=lf.frame_idx, instances=insts)
        frames.append(frame)
        where.setdefault((id(lf.video), lf.frame_idx), frame)
    skeleton = used_skeleton(labels, "predictions") if results else None
    for video, (tracks, filtered) in results.items():
        target = labels.videos[video]
        for row, slot, track in _new_instances(tracks, filtered):
            scores = filtered.scores[row, slot]
            new = sio.PredictedInstance.from_numpy(
                points_data=filtered.points[row, slot], skeleton=skeleton,
                point_scores=scores, score=float(np.nanmean(np.where(
                    np.isfinite(filtered.points[row, slot, :, 0]), scores, np.nan))),
                track=labels.tracks[_track_index(labels, tracks, track)] if track >= 0
                else None, tracking_score=0.0)
            out.status[id(new)] = filtered.status[row, slot]
            if filtered.variance is not None:
                out.variance[id(new)] = filtered.variance[row, slot]
            key = (id(target), int(tracks.frame_ids[row]))
            if key not in where:
                where[key] = sio.LabeledFrame(video=target, frame_idx=key[1])
                frames.append(where[key])
            where[key].instances.append(new)
    return sio.Labels(labeled_frames=frames, videos=list(labels.videos),
                      skeletons=list(labels.skeletons), tracks=list(labels.tracks),
                      suggestions=list(labels.suggestions), provenance=dict(labels.provenance))


def _track_index(labels: sio.Labels, tracks: PoseTracks, track: int) -> int:
    """Index in ``labels.tracks`` of the PoseTracks track ``track``."""
    name = tracks.track_names[track]
    return next(i for i, t in enumerate(labels.tracks) if t.name == name)


def filter_labels(labels: sio.Labels, settings: FilterSettings | None = None,
                  source: str = "predictions", fps: float | None = None) -> FilteredLabels:
    """Filter the predicted instances of every video of ``labels``.

    Args:
        labels: predictions (user instances are kept as they are).
        settings: methods and parameters.
        source: what error messages name (the file).
        fps: frame rate for ``max_gap_s`` (default: the settings', else each video's).

    Returns:
        New labels and the status of every filtered point; the input is not changed.
    """
    settings = settings or FilterSettings()
    out = FilteredLabels(labels=labels)
    results: dict[int, tuple[PoseTracks, Filtered]] = {}
    for video in range(len(labels.videos)):
        tracks = PoseTracks.from_labels(labels, video, source)
        if not tracks.present.any():
            continue
        rate = fps
        if rate is None and settings.fps is None and settings.max_gap_s is not None:
            rate = video_fps(labels.videos[video])
        out.fps = rate if out.fps is None else out.fps
        filtered = filter_tracks(tracks.points, tracks.scores, settings, tracks.segments,
                                 rate, source)
        results[video] = (tracks, filtered)
        loose = int((tracks.present & ~tracks.tracked[None, :]).sum())
        if loose:
            out.notes.append(
                f"video {video}: {loose} instances without a track were left as they are "
                "(except pcutoff): a trajectory needs to know which instance continues "
                "which. Track the predictions first (posekit track --tracking).")
    out.per_video = results
    out.labels = put_back(labels, results, out)
    return out
