"""Reading what ``posekit report validate`` compares into one array form, :class:`PoseSeries`.

Accepted files (chosen by name and content, the same for predictions and reference):

* ``.slp`` / ``.pkg.slp`` / a DeepLabCut project: labels or predictions (sleap-io through
  :func:`posekit.io.labels.load_labels`). Predictions use the predicted instances; a
  reference uses the user instances when there are any (hand labels), else the predicted
  ones (another tool's output).
* SLEAP analysis ``.h5`` (``tracks``, ``track_occupancy``...) and SLEAP analysis ``.csv``
  (``track, frame_idx, instance.score, <node>.x``...): predictions, one animal per track.
* DeepLabCut prediction tables (``analyze_videos`` output): ``.h5`` (pandas, columns
  ``scorer / [individuals] / bodyparts / coords``) or ``.csv`` with those header rows and
  the frame number as the first column; the likelihood columns are not used.
* Manual scoring ``.csv`` (reference only), BORIS-style: one row per animal per sample with
  the columns of :data:`MANUAL_COLUMNS` (any of the names listed, case and spaces ignored).
  A frame or a time column is needed; animal and node columns are optional (one animal;
  one point per animal, taken as the predictions' ``--node``).
"""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from posekit.errors import DataError

PathLike = str | os.PathLike[str]
MANUAL_COLUMNS: dict[str, tuple[str, ...]] = {
    "frame": ("frame", "frame_idx", "frame_index", "frame_number", "frame_no", "frame_nr",
              "frameindex", "framenumber", "image_index", "index"),
    "time": ("time", "time_s", "time_sec", "time_seconds", "seconds", "t", "timestamp",
             "timestamp_s"),
    "animal": ("animal", "animal_id", "subject", "subject_id", "individual", "track", "id",
               "identity", "mouse", "rat", "fly"),
    "node": ("node", "keypoint", "bodypart", "body_part", "part", "point", "landmark",
             "modifier"),
    "x": ("x", "x_px", "x_pixel", "x_pixels", "pos_x", "position_x", "x_position",
          "x_coord", "coord_x", "centroid_x", "center_x", "centre_x"),
    "y": ("y", "y_px", "y_pixel", "y_pixels", "pos_y", "position_y", "y_position",
          "y_coord", "coord_y", "centroid_y", "center_y", "centre_y"),
}
"""Column names read as each field of a manual-scoring CSV (after lower-casing and turning
spaces, dots and dashes into underscores; a trailing unit in brackets is dropped)."""
DLC_HEADER = ("scorer", "individuals", "bodyparts", "coords")


@dataclass(frozen=True)
class PoseSeries:
    """One source's points, animal by animal, at the frames (samples) it has.

    Attributes:
        source: the file.
        kind: what it holds (``predictions``, ``labels``, ``manual scoring``...).
        frame_ids: ``int64 (T,)`` increasing frame numbers (with only a time column: the
            sample's row number).
        points: ``float64 (T, A, K, 2)``, NaN where missing.
        animal_names: the ``A`` animals (track names).
        node_names: the ``K`` nodes.
        tracked: False when several animals per frame have no identity (slots are then
            instances in file order, not animals).
        times: ``(T,)`` seconds of each sample from a time column, else None.
        fps: frame rate of the source's video (None: unknown).
        video: the ``sio.Video`` of labels (metadata look-up), else None.
        notes: what was left out or assumed while reading.
    """

    source: str
    kind: str
    frame_ids: np.ndarray
    points: np.ndarray
    animal_names: tuple[str, ...]
    node_names: tuple[str, ...]
    tracked: bool = True
    times: np.ndarray | None = None
    fps: float | None = None
    video: Any = None
    notes: tuple[str, ...] = ()


def series_from_rows(source: str, kind: str, frames: np.ndarray, tracks: np.ndarray,
                     points: np.ndarray, node_names: tuple[str, ...]) -> PoseSeries:
    """Instances (``frames (I,)``, track names ``(I,)`` with ``""`` for none, ``points
    (I, K, 2)``) as a :class:`PoseSeries`: one animal per track; untracked instances are
    one animal when there is at most one per frame, else slots without identity."""
    frames = np.asarray(frames, np.int64)
    tracks = np.asarray(tracks, object)
    named = tracks != ""
    notes: list[str] = []
    if named.any() and not named.all():
        notes.append(f"{int((~named).sum())} instance(s) without a track left out")
        frames, tracks, points = frames[named], tracks[named], points[named]
    uniq = np.unique(frames)
    row = np.searchsorted(uniq, frames)
    if named.any():
        names = tuple(dict.fromkeys(str(t) for t in tracks))
        slot = np.array([names.index(str(t)) for t in tracks], np.int64)
        tracked = True
    else:
        slot = _position_in_frame(row)
        tracked = slot.max(initial=0) == 0
        names = ("animal",) if tracked else tuple(f"instance_{i}" for i in range(slot.max() + 1))
    out = np.full((len(uniq), len(names), len(node_names), 2), np.nan)
    twice = np.zeros(len(frames), bool)
    seen: set[tuple[int, int]] = set()
    for i, (r, s) in enumerate(zip(row.tolist(), slot.tolist(), strict=True)):
        twice[i] = (r, s) in seen
        seen.add((r, s))
    out[row[~twice], slot[~twice]] = points[~twice]
    if twice.any():
        notes.append(f"{int(twice.sum())} second instance(s) of a track in one frame left out")
    return PoseSeries(source, kind, uniq, out, names, tuple(node_names), tracked,
                      notes=tuple(notes))


def _position_in_frame(row: np.ndarray) -> np.ndarray:
    """Each instance's position among the instances of its frame (rows sorted)."""
    order = np.argsort(row, kind="stable")
    pos = np.zeros(len(row), np.int64)
    r = row[order]
    starts = np.r_[0, np.flatnonzero(np.diff(r)) + 1] if len(r) else np.zeros(0, np.int64)
    counts = np.diff(np.r_[starts, len(r)])
    pos[order] = np.arange(len(r)) - np.repeat(starts, counts)
    return pos


def _labels_series(path: Path, role: str) -> PoseSeries:
    """A labels / predictions file (one video) as a series."""
    from posekit.io.labels import load_labels, used_node_names
    from posekit.io.writers import instance_rows
    from posekit.trajectories.labels import video_fps

    labels = load_labels(path)
    videos = [v for v in labels.videos if any(lf.video is v for lf in labels.labeled_frames)]
    if len(videos) != 1:
        raise DataError(f"{path}: instances of {len(videos)} videos; expected one video per "
                        f"{role} file. Give one file per video (pairs in the same order).")
    rows = instance_rows(labels, labels.videos.index(videos[0]))
    predicted = np.isfinite(rows["instance_score"])
    want_user = role == "reference" and (~predicted).any()
    keep = ~predicted if want_user else predicted
    if not keep.any():
        what = ("predicted instances; expected predictions (posekit track output)"
                if role == "predictions" else "instances; expected labels or predictions")
        raise DataError(f"{path}: no {what}.")
    kind = "labels" if want_user else "predictions"
    series = series_from_rows(str(path), kind, rows["frame_idx"][keep], rows["track"][keep],
                              rows["points"][keep], tuple(used_node_names(labels, path)))
    return replace(series, fps=video_fps(videos[0]), video=videos[0])


def _analysis_h5_series(path: Path) -> PoseSeries:
    """A SLEAP analysis HDF5 file (every row a video frame, every column a track)."""
    import h5py

    from posekit.trajectories.analysis_h5 import read_analysis

    arrays = read_analysis(path)
    with h5py.File(path, "r") as f:
        raw = f["track_names"][()] if "track_names" in f else []
    s = arrays.points.shape[1]
    names = [n.decode() if isinstance(n, bytes) else str(n) for n in raw]
    if len(names) != s:
        names = [f"track_{i}" for i in range(s)]
    points = np.where(arrays.occupancy[..., None, None], arrays.points, np.nan)
    frames = np.flatnonzero(arrays.occupancy.any(axis=1))
    if not len(frames):
        raise DataError(f"{path}: no occupied frame; expected predictions.")
    return PoseSeries(str(path), "predictions", frames.astype(np.int64), points[frames],
                      tuple(names), arrays.node_names, tracked=True)


def _dlc_frame(path: Path) -> Any:
    """The pandas table of a DeepLabCut predictions ``.h5`` / ``.csv``."""
    import pandas as pd

    if path.suffix.lower() == ".csv":
        with path.open(newline="", encoding="utf-8-sig") as f:
            first = [row[0].strip().lower() if row else "" for row, _ in zip(csv.reader(f),
                                                                              range(4))]
        n = sum(1 for cell in first if cell in DLC_HEADER)
        return pd.read_csv(path, header=list(range(n)), index_col=0)
    try:
        return pd.read_hdf(path)
    except (ValueError, KeyError, OSError, ImportError) as exc:
        raise DataError(f"{path}: cannot be read as a DeepLabCut table ({exc}); expected the "
                        ".h5 written by DeepLabCut's analyze_videos.") from None


def _dlc_series(path: Path) -> PoseSeries:
    """A DeepLabCut predictions table (frames as rows, x / y / likelihood per bodypart)."""
    df = _dlc_frame(path)
    levels = df.columns.nlevels
    if levels not in (3, 4):
        raise DataError(f"{path}: {levels} header level(s); expected scorer, [individuals,] "
                        "bodyparts, coords (DeepLabCut's prediction table).")
    try:
        frames = np.asarray([int(float(i)) for i in df.index], np.int64)
    except (TypeError, ValueError):
        raise DataError(f"{path}: the first column holds {str(df.index[0])!r}, not frame "
                        "numbers; expected a DeepLabCut *prediction* table. For hand labels "
                        "(labeled-data/.../CollectedData_*.h5) pass the project folder.") from None
    cols = [tuple(str(c) for c in col) for col in df.columns]
    individuals = list(dict.fromkeys(c[1] for c in cols)) if levels == 4 else ["animal"]
    bodyparts = list(dict.fromkeys(c[-2] for c in cols))
    values = df.to_numpy(dtype=np.float64)
    points = np.full((len(frames), len(individuals), len(bodyparts), 2), np.nan)
    for j, col in enumerate(cols):
        if col[-1] in ("x", "y"):
            ind = individuals.index(col[1]) if levels == 4 else 0
            points[:, ind, bodyparts.index(col[-2]), "xy".index(col[-1])] = values[:, j]
    order = np.argsort(frames)
    return PoseSeries(str(path), "DeepLabCut predictions", frames[order], points[order],
                      tuple(individuals), tuple(bodyparts), tracked=True)


def _normalise(name: str) -> str:
    """A header cell as compared with :data:`MANUAL_COLUMNS`."""
    text = re.sub(r"\s*[\(\[].*?[\)\]]\s*$", "", name.strip().lower())
    return re.sub(r"[\s.\-/]+", "_", text).strip("_")


def _find_columns(path: Path, header: list[str]) -> dict[str, int]:
    """Which column holds each field; DataError naming what is missing."""
    norm = [_normalise(h) for h in header]
    found = {}
    for field, names in MANUAL_COLUMNS.items():
        hit = next((norm.index(n) for n in names if n in norm), None)
        if hit is not None:
            found[field] = hit
    missing = [f for f in ("x", "y") if f not in found]
    if "frame" not in found and "time" not in found:
        missing.append("frame or time")
    if missing:
        raise DataError(f"{path}: no column for {', '.join(missing)} (columns: {header}); "
                        "expected a manual-scoring CSV with frame (or time in s), x, y and "
                        "optionally animal and node columns. Rename the columns, e.g. "
                        "frame,animal,x,y.")
    return found


def _cell(path: Path, line: int, column: str, text: str, integer: bool = False) -> float:
    """One numeric cell (empty: NaN)."""
    text = text.strip()
    if not text:
        return float("nan")
    try:
        value = float(text)
    except ValueError:
        raise DataError(f"{path}: line {line}, column {column!r}: {text!r} is not a number; "
                        "expected a number (a decimal point, not a comma).") from None
    if integer and not (value.is_integer() and value >= 0):
        raise DataError(f"{path}: line {line}, column {column!r}: {text!r} is not a frame "
                        "number; expected a whole number ≥ 0 (or use a time column).")
    return value


def _manual_table(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Header and ``(line, cells)`` rows of a comma-, semicolon- or tab-separated file."""
    text = path.read_text(encoding="utf-8-sig")
    lines = text.splitlines()
    if not lines:
        raise DataError(f"{path}: empty file; expected a header row and one row per sample.")
    delimiter = max((",", ";", "\t"), key=lines[0].count)
    rows = list(csv.reader(lines, delimiter=delimiter))
    body = [(i + 1, r) for i, r in enumerate(rows) if i > 0 and any(c.strip() for c in r)]
    if not body:
        raise DataError(f"{path}: no data rows; expected one row per animal per sample.")
    return [h.strip() for h in rows[0]], body


def read_manual_csv(path: PathLike, default_node: str = "centroid") -> PoseSeries:
    """A manual-scoring CSV (module docstring) as a series; without a node column every
    point is named ``default_node``.

    Raises:
        DataError: a needed column is missing, a cell is not a number, or a frame / time,
            animal and node repeat.
    """
    path = Path(path)
    header, body = _manual_table(path)
    cols = _find_columns(path, header)
    key_field = "frame" if "frame" in cols else "time"
    keys, animals, nodes, xy = [], [], [], []
    for line, cells in body:
        cells = cells + [""] * (len(header) - len(cells))
        k = _cell(path, line, header[cols[key_field]], cells[cols[key_field]],
                  integer=key_field == "frame")
        if not np.isfinite(k):
            raise DataError(f"{path}: line {line}: empty {header[cols[key_field]]!r}; expected "
                            f"the sample's {key_field} on every row.")
        keys.append(k)
        animals.append(cells[cols["animal"]].strip() if "animal" in cols else "animal")
        nodes.append(cells[cols["node"]].strip() if "node" in cols else default_node)
        xy.append([_cell(path, line, header[cols[a]], cells[cols[a]]) for a in ("x", "y")])
    return _manual_series(path, key_field, np.asarray(keys), animals, nodes, np.asarray(xy),
                          [line for line, _ in body])


def _manual_series(path: Path, key_field: str, keys: np.ndarray, animals: list[str],
                   nodes: list[str], xy: np.ndarray, lines: list[int]) -> PoseSeries:
    """The rows of a manual CSV placed in a ``(T, A, K, 2)`` array."""
    uniq = np.unique(keys)
    names, node_names = tuple(dict.fromkeys(animals)), tuple(dict.fromkeys(nodes))
    points = np.full((len(uniq), len(names), len(node_names), 2), np.nan)
    seen: dict[tuple, int] = {}
    for i, (k, a, n) in enumerate(zip(keys, animals, nodes, strict=True)):
        if (k, a, n) in seen:
            raise DataError(f"{path}: lines {seen[(k, a, n)]} and {lines[i]} both give "
                            f"{key_field} {k:g}, animal {a!r}, node {n!r}; expected one row per "
                            "animal, node and sample. Remove the duplicate.")
        seen[(k, a, n)] = lines[i]
        points[np.searchsorted(uniq, k), names.index(a), node_names.index(n)] = xy[i]
    if key_field == "frame":
        return PoseSeries(str(path), "manual scoring", uniq.astype(np.int64), points, names,
                          node_names)
    return PoseSeries(str(path), "manual scoring", np.arange(len(uniq), dtype=np.int64),
                      points, names, node_names, times=uniq.astype(np.float64))


def _csv_kind(path: Path) -> str:
    """``dlc``, ``sleap`` (analysis CSV) or ``manual`` from the first line."""
    with path.open(newline="", encoding="utf-8-sig") as f:
        first = next(csv.reader(f), [])
    cells = [c.strip().lower() for c in first]
    if cells and cells[0] == "scorer":
        return "dlc"
    if {"track", "frame_idx", "instance.score"} <= set(cells):
        return "sleap"
    return "manual"


def read_series(path: PathLike, role: str = "predictions",
                default_node: str = "centroid") -> PoseSeries:
    """Read any accepted file (module docstring) as a :class:`PoseSeries`.

    Args:
        path: the file.
        role: ``"predictions"`` or ``"reference"`` (which instances of labels to use, and
            whether a manual-scoring CSV is accepted).
        default_node: the node name of a manual CSV without a node column.

    Raises:
        DataError: a missing or unreadable file, or a format this role does not take.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: not found; expected the {role} file. Check the path.")
    name = path.name.lower()
    if name.endswith((".h5", ".hdf5")):
        import h5py

        try:
            with h5py.File(path, "r") as f:
                sleap = "tracks" in f
        except OSError as exc:
            raise DataError(f"{path}: cannot be read as HDF5 ({exc}); expected a SLEAP "
                            "analysis or DeepLabCut predictions .h5.") from None
        return _analysis_h5_series(path) if sleap else _dlc_series(path)
    if name.endswith(".csv"):
        kind = _csv_kind(path)
        if kind == "dlc":
            return _dlc_series(path)
        if kind == "sleap":
            return _sleap_csv_series(path)
        if role != "reference":
            raise DataError(f"{path}: not a predictions table (no DeepLabCut header rows, no "
                            "SLEAP track/frame_idx/instance.score columns); expected "
                            "predictions. A manual-scoring CSV goes to --reference.")
        return read_manual_csv(path, default_node)
    return _labels_series(path, role)


def _sleap_csv_series(path: Path) -> PoseSeries:
    """A SLEAP analysis CSV (``posekit track --csv``) as a series."""
    from posekit.io.labels import used_node_names
    from posekit.io.writers import instance_rows
    from posekit.trajectories.files import read_csv

    labels = read_csv(path)
    rows = instance_rows(labels, 0)
    return series_from_rows(str(path), "predictions", rows["frame_idx"], rows["track"],
                            rows["points"], tuple(used_node_names(labels, path)))
