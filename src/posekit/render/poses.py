"""Predictions as per-frame arrays for drawing: points, scores, tracks and the skeleton."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from posekit.errors import DataError


@dataclass(frozen=True)
class PoseFrames:
    """One video's instances (user or predicted), in frame order, as arrays.

    Attributes:
        frame_idx: ``int64 (I,)`` frame of each instance, sorted.
        track: ``int64 (I,)`` index into ``track_names`` (-1: no track).
        points: ``float64 (I, K, 2)`` positions, NaN where missing.
        scores: ``float64 (I, K)`` point scores (1.0 for user instances).
        node_names: the skeleton's nodes.
        edges: ``int64 (E, 2)`` node index pairs of the skeleton's edges.
        track_names: the tracks' names.
    """

    frame_idx: np.ndarray
    track: np.ndarray
    points: np.ndarray
    scores: np.ndarray
    node_names: tuple[str, ...]
    edges: np.ndarray
    track_names: tuple[str, ...]

    @classmethod
    def from_labels(cls, labels, video: int = 0) -> PoseFrames:
        """Instances of ``labels.videos[video]`` via :func:`~posekit.io.writers.instance_rows`."""
        from posekit.io.writers import instance_rows

        rows = instance_rows(labels, video)
        skeleton = labels.skeletons[0]
        nodes = tuple(skeleton.node_names)
        edges = np.asarray([(nodes.index(a), nodes.index(b)) for a, b in skeleton.edge_names],
                           np.int64).reshape(-1, 2)
        names = tuple(t.name for t in labels.tracks)
        lookup = {n: i for i, n in enumerate(names)}
        track = np.asarray([lookup.get(t, -1) for t in rows["track"]], np.int64)
        scores = np.where(np.isnan(rows["instance_score"])[:, None], 1.0, rows["point_scores"])
        order = np.argsort(rows["frame_idx"], kind="stable")
        return cls(rows["frame_idx"][order], track[order], rows["points"][order],
                   np.nan_to_num(scores[order], nan=0.0), nodes, edges, names)

    @classmethod
    def load(cls, path: str | os.PathLike[str], video: int = 0) -> PoseFrames:
        """Read a labels / predictions file (any format posekit reads)."""
        from posekit.io.labels import load_labels

        labels = load_labels(Path(path))
        if not labels.videos or video >= len(labels.videos):
            raise DataError(f"{path}: has no video {video}; expected predictions of a video.")
        return cls.from_labels(labels, video)

    @property
    def last_frame(self) -> int:
        """The last frame holding an instance (-1 when empty)."""
        return int(self.frame_idx[-1]) if len(self.frame_idx) else -1

    def rows(self, frame: int) -> slice:
        """The instances of ``frame`` as a slice of the arrays."""
        lo, hi = np.searchsorted(self.frame_idx, [frame, frame + 1])
        return slice(int(lo), int(hi))

    def trail(self, track: int, frame: int, length: int, node: int | None) -> np.ndarray:
        """``(n, 2)`` positions of ``track`` over the ``length`` frames up to ``frame``:
        one node, or the instance's centroid (``node`` None); missing frames left out."""
        lo, hi = np.searchsorted(self.frame_idx, [frame - length, frame + 1])
        sel = np.arange(lo, hi)[self.track[lo:hi] == track]
        pts = self.points[sel]
        with np.errstate(all="ignore"):
            xy = pts[:, node] if node is not None else np.nanmean(pts, axis=1)
        return xy[np.isfinite(xy).all(axis=1)]


def load_outliers(path: str | os.PathLike[str], video: int = 0) -> dict[int, str]:
    """Frames flagged by ``posekit frames outliers`` (its ``OUT.outliers.json``):
    frame -> ``"#rank summary"`` for the chosen frames of ``video``."""
    try:
        data = json.loads(Path(path).read_text())
        chosen = data["chosen"]
        return {int(c["frame"]): f"#{int(c['rank'])} {c.get('summary', '')}".strip()
                for c in chosen if int(c.get("video", 0)) == video}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataError(f"{path}: not an outliers report ({exc}); expected the "
                        "OUT.outliers.json written by `posekit frames outliers`.") from exc
