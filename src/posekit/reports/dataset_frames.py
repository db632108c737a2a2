"""The labelled frames of a dataset as flat arrays: recording, frame number, animals, points.

A *labelled frame* is a frame with at least one user-labelled instance (an animal placed by
a person); frames that hold only predictions are not labels and are counted apart.
Recordings are matched as everywhere in posekit (:mod:`posekit.refinement.metadata`): the
same video reached through an embedded ``.pkg.slp`` and through the ``.mp4`` is one
recording.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from posekit.errors import DataError
from posekit.io.labels import used_skeleton
from posekit.refinement.metadata import VideoGroups, VideoIdentity

if TYPE_CHECKING:
    import sleap_io as sio


@dataclass(eq=False)
class LabelledFrames:
    """Every labelled frame and animal of a labels file.

    Attributes:
        source: where the labels came from (for messages).
        node_names: the skeleton's node names.
        edges: skeleton edges as node-index pairs.
        recordings: display name of each recording (unique).
        identities: :class:`VideoIdentity` of each recording.
        videos: one ``sio.Video`` of each recording (for metadata look-up and images).
        frames: the labelled ``sio.LabeledFrame`` objects, in file order.
        recording: ``(F,)`` recording index of each frame.
        frame_number: ``(F,)`` frame number in its recording.
        n_animals: ``(F,)`` user-labelled animals in each frame.
        animal_frame: ``(N,)`` frame index (into ``frames``) of each animal.
        points: ``(N, K, 2)`` points of each animal, NaN where not visible.
        tracks: track name of each animal (None without a track).
        predicted_only_frames: frames that hold predictions but no user label.
    """

    source: str
    node_names: list[str]
    edges: list[tuple[int, int]]
    recordings: list[str]
    identities: list[VideoIdentity]
    videos: list[sio.Video]
    frames: list[sio.LabeledFrame]
    recording: np.ndarray
    frame_number: np.ndarray
    n_animals: np.ndarray
    animal_frame: np.ndarray
    points: np.ndarray
    tracks: list[str | None] = field(default_factory=list)
    predicted_only_frames: int = 0

    @property
    def n_frames(self) -> int:
        """Number of labelled frames."""
        return len(self.frames)

    def frames_of(self, recording: int) -> np.ndarray:
        """Indices of the frames of one recording."""
        return np.flatnonzero(self.recording == recording)


def _unique_names(names: list[str]) -> list[str]:
    return [n if names.count(n) == 1 else f"{n}#{i}" for i, n in enumerate(names)]


def labelled_frames(labels: sio.Labels, source: str = "labels",
                    match_basename: bool = True) -> LabelledFrames:
    """Collect the labelled frames of ``labels`` (user instances only).

    Raises:
        DataError: no frame holds a user-labelled instance.
    """
    groups = VideoGroups(basename=match_basename)
    frames, recording, numbers, n_animals = [], [], [], []
    animal_frame, rows, tracks, first_video = [], [], [], {}
    predicted_only = 0
    skeleton = used_skeleton(labels, source) if labels.labeled_frames else None
    names = list(skeleton.node_names) if skeleton is not None else []
    for lf in labels.labeled_frames:
        users = list(lf.user_instances)
        if not users:
            predicted_only += bool(len(lf.instances))
            continue
        group, _ = groups.add(lf.video)
        first_video.setdefault(group, lf.video)
        for inst in users:
            animal_frame.append(len(frames))
            rows.append(_instance_points(inst, names))
            tracks.append(inst.track.name if inst.track is not None else None)
        frames.append(lf)
        recording.append(group)
        numbers.append(groups.identity(lf.video).frame_number(int(lf.frame_idx)))
        n_animals.append(len(users))
    if not frames:
        raise DataError(
            f"{source}: no frame with user-labelled instances ({len(labels.labeled_frames)} "
            "frames, predictions only or empty); expected labelled frames to audit. Label "
            "frames first, or pass the labels file rather than a predictions file."
        )
    edges = [(names.index(a.name), names.index(b.name)) for a, b in
             ((e.source, e.destination) for e in skeleton.edges)] if skeleton else []
    return LabelledFrames(
        source=source, node_names=names, edges=edges,
        recordings=_unique_names([groups.name(g) for g in range(len(groups.identities))]),
        identities=list(groups.identities),
        videos=[first_video[g] for g in range(len(groups.identities))],
        frames=frames, recording=np.asarray(recording, np.int64),
        frame_number=np.asarray(numbers, np.int64), n_animals=np.asarray(n_animals, np.int64),
        animal_frame=np.asarray(animal_frame, np.int64),
        points=np.stack(rows) if rows else np.zeros((0, len(names), 2)),
        tracks=tracks, predicted_only_frames=predicted_only)


def _instance_points(inst: sio.Instance, names: list[str]) -> np.ndarray:
    """``(K, 2)`` points of ``inst`` in ``names`` order (NaN where not visible)."""
    own = list(inst.skeleton.node_names)
    pts = np.asarray(inst.numpy(invisible_as_nan=True), dtype=np.float64)
    if own == names:
        return pts
    out = np.full((len(names), 2), np.nan)
    for k, name in enumerate(names):
        if name in own:
            out[k] = pts[own.index(name)]
    return out
