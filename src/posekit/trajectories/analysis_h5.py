"""SLEAP analysis HDF5 files read and written as arrays (no ``sio.Labels`` in between).

The file already holds dense ``(frames, tracks, nodes)`` arrays, one trajectory per track
column, so the filters run on them directly and the output is a copy of the input with
``tracks``, ``point_scores``, ``track_occupancy`` and ``instance_scores`` replaced (same
axis order, dtype and attributes) and ``point_status`` / ``point_variance`` added in the
layout of ``point_scores``. Axis orders come from each dataset's ``dims`` attribute
(sleap-io), else SLEAP's own layout (``tracks (track, xy, node, frame)``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from posekit.errors import DataError
from posekit.trajectories.arrays import STATUS_NAMES, Filtered
from posekit.utils import atomic_path

#: Axis names of each dataset as the filters hold it.
CANONICAL = {
    "tracks": ("frame", "track", "node", "xy"),
    "point_scores": ("frame", "track", "node"),
    "track_occupancy": ("frame", "track"),
    "instance_scores": ("frame", "track"),
}
#: SLEAP's layout, for files without ``dims`` attributes.
SLEAP_LAYOUT = {
    "tracks": ("track", "xy", "node", "frame"),
    "point_scores": ("track", "node", "frame"),
    "track_occupancy": ("frame", "track"),
    "instance_scores": ("track", "frame"),
}
STATUS, VARIANCE, RECORD_ATTR = "point_status", "point_variance", "posekit_filter"


@dataclass(frozen=True)
class AnalysisArrays:
    """The predictions of an analysis file.

    Attributes:
        points: ``(T, S, K, 2)``, NaN where missing.
        scores: ``(T, S, K)``.
        occupancy: ``bool (T, S)`` track present in frame.
        node_names: the nodes.
        video_path: the video the file names (may be unreachable).
        record: earlier ``posekit filter`` records of the file.
    """

    points: np.ndarray
    scores: np.ndarray
    occupancy: np.ndarray
    node_names: tuple[str, ...]
    video_path: str | None
    record: Any = None

    @property
    def segments(self) -> np.ndarray:
        """``(T, S)``: each track column is one trajectory, present where occupied."""
        s = self.occupancy.shape[1]
        return np.where(self.occupancy, np.arange(s)[None, :], -1).astype(np.int64)


def _dims(ds: Any, name: str) -> tuple[str, ...]:
    raw = ds.attrs.get("dims")
    return tuple(json.loads(raw)) if raw is not None else SLEAP_LAYOUT[name]


def _read(f: Any, name: str, path: Path) -> np.ndarray:
    if name not in f:
        raise DataError(f"{path}: no '{name}' dataset; expected a SLEAP analysis HDF5 file "
                        "(tracks, point_scores, track_occupancy, node_names). DeepLabCut "
                        "prediction tables are not read here.")
    ds = f[name]
    dims = _dims(ds, name)
    return np.transpose(ds[()], [dims.index(d) for d in CANONICAL[name]])


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def read_analysis(path: Path) -> AnalysisArrays:
    """The arrays of a SLEAP analysis HDF5 file.

    Raises:
        DataError: not an analysis file (a dataset is missing) or shapes disagree.
    """
    import h5py

    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise DataError(f"{path}: cannot be read as HDF5 ({exc}); expected a SLEAP analysis "
                        "file.") from None
    with f:
        points = _read(f, "tracks", path).astype(np.float64)
        scores = _read(f, "point_scores", path).astype(np.float64)
        occupancy = _read(f, "track_occupancy", path) > 0
        nodes = tuple(_text(n) for n in f["node_names"][()]) if "node_names" in f else ()
        video = _text(f["video_path"][()]) if "video_path" in f else None
        record = f.attrs.get(RECORD_ATTR)
    if scores.shape != points.shape[:3] or occupancy.shape != points.shape[:2]:
        raise DataError(f"{path}: tracks {points.shape}, point_scores {scores.shape} and "
                        f"track_occupancy {occupancy.shape} disagree; expected one frame / "
                        "track / node layout. Export the file again from SLEAP or posekit.")
    return AnalysisArrays(points, scores, occupancy, nodes, video, record)


def _write_as(dst: Any, src_ds: Any, name: str, canonical: np.ndarray) -> None:
    """Dataset ``name`` in ``dst`` from canonical-order values, in ``src_ds``'s layout."""
    dims = _dims(src_ds, name)
    data = np.transpose(canonical, [CANONICAL[name].index(d) for d in dims])
    ds = dst.create_dataset(name, data=data.astype(src_ds.dtype), compression="gzip")
    for key, value in src_ds.attrs.items():
        ds.attrs[key] = value


def write_analysis(source: Path, output: Path, arrays: AnalysisArrays, filtered: Filtered,
                   fill_score: float, history: list[dict[str, Any]]) -> None:
    """Copy ``source`` to ``output`` (atomic) with the filtered arrays, status, variance
    and the run's record (``history``: every run's record, this one last)."""
    import h5py

    occupied = arrays.occupancy | np.isfinite(filtered.points).all(-1).any(-1)
    gained = occupied & ~arrays.occupancy
    with atomic_path(output) as tmp, h5py.File(source, "r") as src, h5py.File(tmp, "w") as dst:
        for key, value in src.attrs.items():
            dst.attrs[key] = value
        for name in src:
            if name not in CANONICAL and name not in (STATUS, VARIANCE):
                src.copy(src[name], dst, name=name)
        inst = _read(src, "instance_scores", source) if "instance_scores" in src else None
        _write_as(dst, src["tracks"], "tracks", filtered.points)
        _write_as(dst, src["point_scores"], "point_scores", filtered.scores)
        _write_as(dst, src["track_occupancy"], "track_occupancy", occupied)
        if inst is not None:
            inst = np.where(gained, fill_score, inst)
            _write_as(dst, src["instance_scores"], "instance_scores", inst)
        layout = _dims(src["point_scores"], "point_scores")
        order = [CANONICAL["point_scores"].index(d) for d in layout]
        ds = dst.create_dataset(STATUS, data=np.transpose(filtered.status, order),
                                compression="gzip")
        ds.attrs["dims"] = json.dumps(list(layout))
        ds.attrs["names"] = json.dumps(STATUS_NAMES)
        if filtered.variance is not None:
            ds = dst.create_dataset(VARIANCE, data=np.transpose(filtered.variance, order),
                                    compression="gzip")
            ds.attrs["dims"] = json.dumps(list(layout))
            ds.attrs["units"] = "px^2 per coordinate"
        dst.attrs[RECORD_ATTR] = json.dumps(history)
