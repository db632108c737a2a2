"""The labelers' annotations lined up by frame and animal: the data the consensus maths
(:mod:`posekit.refinement.consensus`) and its report work on, filled by
:mod:`posekit.refinement.labeler_files`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import sleap_io as sio


@dataclass(eq=False)
class LabelerFrame:
    """One frame of one recording, across the labeler files.

    Attributes:
        recording: display name of the recording.
        locations: ``(video, frame_idx, labeler)`` of every file that has the frame.
        labelers: labelers (indices, input order) with at least one user instance here.
        targets: rows of :attr:`LabelerSet.points` holding this frame's animals.
    """

    recording: str
    locations: list[tuple[sio.Video, int, int]] = field(default_factory=list)
    labelers: list[int] = field(default_factory=list)
    targets: list[int] = field(default_factory=list)

    @property
    def in_consensus(self) -> bool:
        """Whether two or more labelers labelled the frame."""
        return len(self.labelers) >= 2


@dataclass
class LabelerSet:
    """The labelers' annotations lined up by frame and animal.

    Attributes:
        names: labeler names, in input order.
        paths: the labeler files.
        skeleton: the first file's skeleton (every file conformed to its node order).
        points: ``(T, L, K, 2)`` annotations of every target, NaN where not placed.
        target_frame: ``(T,)`` index into :attr:`frames` of each target.
        target_track: track name of each target (most frequent among its labelers).
        frames: the frames, by recording and frame index.
        notes: things worth knowing (predictions ignored, edges that differ, ...).
    """

    names: list[str]
    paths: list[str]
    skeleton: sio.Skeleton
    points: np.ndarray
    target_frame: np.ndarray
    target_track: list[str | None]
    frames: list[LabelerFrame]
    notes: list[str] = field(default_factory=list)

    @property
    def node_names(self) -> list[str]:
        """The skeleton's node names, in the order of the arrays."""
        return list(self.skeleton.node_names)
