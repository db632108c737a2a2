"""``FrameTable``: the labelled frames of a ``Labels`` as compact numpy arrays.

Training datasets index this table instead of sleap-io objects: it pickles cheaply into
data-loader workers (flat arrays + a few strings) and decodes images on demand.

Instances of all frames are stored back to back: frame ``i`` owns rows
``frame_offsets[i]:frame_offsets[i + 1]`` of ``inst_points`` / ``inst_track`` /
``inst_is_user``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from posekit.errors import DataError
from posekit.io.images import ImageReader, VideoRef
from posekit.io.labels import used_skeleton

if TYPE_CHECKING:
    import sleap_io as sio


class FrameRecord(NamedTuple):
    """One labelled frame: key, points ``(n_inst, n_nodes, 2)``, track ids, user flags."""

    video_index: int
    frame_idx: int
    points: np.ndarray
    track_idx: np.ndarray
    is_user: np.ndarray


def _node_order(skeleton: sio.Skeleton, part_names: Sequence[str] | None
                ) -> tuple[list[str], np.ndarray, list[tuple[int, int]]]:
    """The nodes to keep (``part_names``, default all), their indices in the skeleton and
    the skeleton's edges between kept nodes, renumbered in that order.

    Raises:
        DataError: ``part_names`` names a node the skeleton does not have.
    """
    names = list(skeleton.node_names)
    order = list(part_names) if part_names is not None else names
    unknown = [n for n in order if n not in names]
    if unknown:
        raise DataError(
            f"part_names: {unknown} are not nodes of the skeleton; expected names from "
            f"{names}. Fix the node names in the configuration."
        )
    node_index = np.array([names.index(n) for n in order], dtype=np.int64)
    edges = [(order.index(names[src]), order.index(names[dst]))
             for src, dst in skeleton.edge_inds if names[src] in order and names[dst] in order]
    return order, node_index, edges


@dataclass(eq=False)
class FrameTable:
    """Labelled frames as arrays (see module docstring for the layout).

    Attributes:
        keys: ``int64 (F, 2)`` — video index (into ``videos``) and frame index.
        frame_offsets: ``int64 (F + 1,)`` — instance rows of each frame.
        inst_points: ``float32 (I, n_nodes, 2)`` — ``(x, y)`` pixels, NaN if missing.
        inst_track: ``int64 (I,)`` — index into ``track_names``, -1 without a track.
        inst_is_user: ``bool (I,)`` — user (True) or predicted (False) instance.
        node_names: node order of the points.
        edges: skeleton edges as node-index pairs (within ``node_names``).
        track_names: names of the tracks, in the labels' track order.
        videos: where each video's frames are decoded from.
        n_dropped_all_nan: frames dropped because every instance was all-NaN.
        n_dropped_instances: all-NaN instances removed from frames that were kept.
    """

    keys: np.ndarray
    frame_offsets: np.ndarray
    inst_points: np.ndarray
    inst_track: np.ndarray
    inst_is_user: np.ndarray
    node_names: tuple[str, ...]
    edges: tuple[tuple[int, int], ...]
    track_names: tuple[str, ...]
    videos: tuple[VideoRef, ...]
    n_dropped_all_nan: int = 0
    n_dropped_instances: int = 0
    _reader: ImageReader | None = field(default=None, repr=False, compare=False)

    # ---------------------------------------------------------------- construction
    @classmethod
    def from_labels(
        cls,
        labels: sio.Labels,
        part_names: Sequence[str] | None = None,
        user_instances_only: bool = True,
    ) -> FrameTable:
        """Build the table from sleap-io ``Labels``.

        Args:
            labels: the labels (one skeleton).
            part_names: node order of the points (default: the skeleton's). Nodes not
                listed are left out; a listed name missing from the skeleton is an error.
            user_instances_only: keep only user instances (default). Otherwise predicted
                instances are kept too, except those a user instance in the same frame
                replaced (``from_predicted`` link, or the same track).

        Raises:
            DataError: the labels use several skeletons or ``part_names`` names an
                unknown node.
        """
        skeleton = used_skeleton(labels, labels.provenance.get("filename", "labels"))
        order, node_index, edges = _node_order(skeleton, part_names)
        track_names = tuple(t.name for t in labels.tracks)
        track_of = {id(t): i for i, t in enumerate(labels.tracks)}
        by_name = {name: i for i, name in enumerate(track_names)}
        video_of = {id(v): i for i, v in enumerate(labels.videos)}

        keys, counts, pts_list, trk_list, user_list = [], [], [], [], []
        dropped_frames = dropped_inst = 0
        for lf in labels.labeled_frames:
            insts = list(lf.user_instances)
            if not user_instances_only:
                insts += list(lf.unused_predictions)
            if not insts:
                continue
            pts = np.stack([inst.numpy() for inst in insts]).astype(np.float32)[:, node_index]
            valid = ~np.isnan(pts).any(axis=-1).all(axis=-1)
            if not valid.any():
                dropped_frames += 1
                continue
            dropped_inst += int((~valid).sum())
            kept = [inst for inst, ok in zip(insts, valid, strict=True) if ok]
            trk = [
                -1
                if inst.track is None
                else track_of.get(id(inst.track), by_name.get(inst.track.name, -1))
                for inst in kept
            ]
            keys.append((video_of[id(lf.video)], int(lf.frame_idx)))
            counts.append(len(kept))
            pts_list.append(pts[valid])
            trk_list.append(trk)
            user_list.append([not _is_predicted(inst) for inst in kept])
        n_nodes = len(order)
        return cls(
            keys=np.asarray(keys, dtype=np.int64).reshape(-1, 2),
            frame_offsets=np.concatenate([[0], np.cumsum(counts, dtype=np.int64)]).astype(np.int64),
            inst_points=(
                np.concatenate(pts_list) if pts_list else np.zeros((0, n_nodes, 2), np.float32)
            ),
            inst_track=np.asarray([t for ts in trk_list for t in ts], dtype=np.int64),
            inst_is_user=np.asarray([u for us in user_list for u in us], dtype=bool),
            node_names=tuple(order),
            edges=tuple(edges),
            track_names=track_names,
            videos=tuple(VideoRef.from_video(v) for v in labels.videos),
            n_dropped_all_nan=dropped_frames,
            n_dropped_instances=dropped_inst,
        )

    # ---------------------------------------------------------------- access
    def __len__(self) -> int:
        return int(self.keys.shape[0])

    def __getitem__(self, i: int) -> FrameRecord:
        lo, hi = self._span(i)
        vi, fi = self.keys[i]
        return FrameRecord(
            int(vi),
            int(fi),
            self.inst_points[lo:hi],
            self.inst_track[lo:hi],
            self.inst_is_user[lo:hi],
        )

    def _span(self, i: int) -> tuple[int, int]:
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"frame {i} out of range for a table of {n} frames")
        i %= n
        return int(self.frame_offsets[i]), int(self.frame_offsets[i + 1])

    def points(self, i: int) -> np.ndarray:
        """``float32 (n_inst, n_nodes, 2)`` points of frame ``i`` (a view)."""
        lo, hi = self._span(i)
        return self.inst_points[lo:hi]

    def track_idx(self, i: int) -> np.ndarray:
        """``int64 (n_inst,)`` track indices of frame ``i`` (-1: no track)."""
        lo, hi = self._span(i)
        return self.inst_track[lo:hi]

    def is_user(self, i: int) -> np.ndarray:
        """``bool (n_inst,)`` user flags of frame ``i``."""
        lo, hi = self._span(i)
        return self.inst_is_user[lo:hi]

    @property
    def instance_counts(self) -> np.ndarray:
        """``int64 (F,)`` number of instances per frame."""
        return np.diff(self.frame_offsets)

    @property
    def max_instances(self) -> int:
        """Largest number of instances in one frame (0 for an empty table)."""
        return int(self.instance_counts.max()) if len(self) else 0

    @property
    def n_nodes(self) -> int:
        """Number of nodes per instance."""
        return len(self.node_names)

    @property
    def skeleton(self) -> sio.Skeleton:
        """A sleap-io ``Skeleton`` with this table's nodes and edges."""
        import sleap_io as sio

        return sio.Skeleton(
            nodes=list(self.node_names),
            edges=[(self.node_names[a], self.node_names[b]) for a, b in self.edges],
        )

    def read_image(self, i: int) -> np.ndarray:
        """Decode frame ``i``'s image as ``uint8 (H, W, C)``.

        Raises:
            VideoError: the video / image file cannot be found or decoded.
        """
        self._span(i)
        if self._reader is None:
            self._reader = ImageReader(self.videos)
        vi, fi = self.keys[i]
        return self._reader.read(int(vi), int(fi))

    def subset(self, indices: Sequence[int] | np.ndarray) -> FrameTable:
        """A new table with frames ``indices`` (in that order)."""
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        counts = self.instance_counts[idx] if len(idx) else np.zeros(0, np.int64)
        rows = (
            np.concatenate(
                [np.arange(self.frame_offsets[i], self.frame_offsets[i + 1]) for i in idx]
            )
            if len(idx)
            else np.zeros(0, np.int64)
        ).astype(np.int64)
        return FrameTable(
            keys=self.keys[idx],
            frame_offsets=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
            inst_points=self.inst_points[rows],
            inst_track=self.inst_track[rows],
            inst_is_user=self.inst_is_user[rows],
            node_names=self.node_names,
            edges=self.edges,
            track_names=self.track_names,
            videos=self.videos,
        )

    def __getstate__(self) -> dict[str, object]:
        state = dict(self.__dict__)
        state["_reader"] = None  # decoders are re-opened in the receiving process
        return state


def _is_predicted(inst: object) -> bool:
    import sleap_io as sio

    return isinstance(inst, sio.PredictedInstance)
