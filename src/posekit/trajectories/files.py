"""``posekit filter`` on files: read predictions, filter, write the same format back.

Formats (chosen by the name; the output keeps the input's):

* ``.slp`` / ``.pkg.slp`` — predicted instances with their tracks (sleap-io). The filters
  and parameters are recorded in the provenance (``posekit_filter``: one entry per run);
  each predicted point's status (and variance) is stored in the datasets
  ``posekit_point_status`` / ``posekit_point_variance``, one value per row of the file's
  ``pred_points`` table (SLEAP and sleap-io ignore them).
* SLEAP analysis ``.h5`` — read and written as arrays: every dataset and attribute of the
  input is copied, ``tracks``, ``point_scores``, ``track_occupancy`` and the instance
  scores are replaced, and ``point_status`` / ``point_variance`` are added in the layout of
  ``point_scores``; the record is the root attribute ``posekit_filter`` (JSON). Each
  track column is one trajectory.
* SLEAP analysis ``.csv`` (``posekit track --csv``) — the same columns plus
  ``<node>.status`` (a word) and, with ``kalman``, ``<node>.variance``; the record goes to
  the sidecar ``OUT.json`` that sleap-io's ``load_csv`` reads back (skeleton order and
  provenance).

:func:`read_filter_outputs` reads status, variance and record back from any of them.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from posekit.errors import ConfigError, DataError
from posekit.trajectories.arrays import STATUS_NAMES
from posekit.trajectories.settings import FilterSettings
from posekit.utils import atomic_path, atomic_write_text
from posekit.utils.outputs import check_new_outputs

if TYPE_CHECKING:
    from posekit.trajectories.labels import FilteredLabels

PathLike = str | os.PathLike[str]
RECORD_KEY = "posekit_filter"
SLP_STATUS, SLP_VARIANCE = "posekit_point_status", "posekit_point_variance"


def file_format(path: PathLike) -> str:
    """``"slp"``, ``"h5"`` or ``"csv"`` from the name.

    Raises:
        DataError: another extension.
    """
    name = Path(path).name.lower()
    if name.endswith(".slp"):
        return "slp"
    if name.endswith((".h5", ".hdf5")):
        return "h5"
    if name.endswith(".csv"):
        return "csv"
    raise DataError(f"{path}: unsupported predictions format; expected .slp / .pkg.slp, a "
                    "SLEAP analysis .h5 or a SLEAP analysis .csv (posekit track writes all "
                    "three).")


def csv_sidecar(path: PathLike) -> Path:
    """The JSON file beside a CSV that holds its skeleton and provenance."""
    return Path(path).with_suffix(".json")


def outputs_of(output: PathLike) -> list[Path]:
    """Every file a run writes for ``output``."""
    out = Path(output)
    return [out, csv_sidecar(out)] if file_format(out) == "csv" else [out]


@dataclass
class FilterReport:
    """What :func:`filter_file` did.

    Attributes:
        outputs: the files written.
        counts: points of each status.
        record: the provenance entry written (methods, parameters, fitted values).
        notes: things the user should know.
    """

    outputs: list[Path]
    counts: dict[str, int]
    record: dict[str, Any]
    notes: list[str] = field(default_factory=list)


def make_record(settings: FilterSettings, source: PathLike, counts: dict[str, int],
                fitted: dict[str, Any], fps: float | None,
                nodes: tuple[str, ...] = ()) -> dict[str, Any]:
    """The provenance entry of one run (JSON-ready); ``fitted`` by video index, per-node
    values in the order of ``nodes``."""
    from posekit import __version__

    return {
        "tool": "posekit filter", "posekit_version": __version__,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "input": str(source), "methods": list(settings.methods),
        "steps": settings.record(fps, str(source)), "fps": fps, "nodes": list(nodes),
        "fitted": fitted, "counts": counts,
        "status_codes": dict(enumerate(STATUS_NAMES)),
    }


def _history(previous: Any, record: dict[str, Any]) -> list[dict[str, Any]]:
    """Earlier runs' records (a list, or one JSON text) followed by ``record``."""
    if isinstance(previous, (str, bytes)):
        try:
            previous = json.loads(previous)
        except ValueError:
            previous = None
    return [*(previous if isinstance(previous, list) else []), record]


def check_paths(inputs: list[Path], output: Path, force: bool) -> None:
    """ConfigError when an output would replace an input, exists without ``force``, or is
    not in the input's format."""
    fmt_in, fmt_out = file_format(inputs[0]), file_format(output)
    if fmt_in != fmt_out:
        raise ConfigError(f"{output}: a {fmt_out} file, but the input {inputs[0]} is {fmt_in}; "
                          f"expected an output in the input's format (.{fmt_in}). Choose a "
                          f"name ending in .{fmt_in}.")
    check_new_outputs(outputs_of(output), inputs, force)


# ------------------------------------------------------------------ .slp
def write_slp(result: FilteredLabels, record: dict[str, Any], output: Path) -> None:
    """The filtered labels as ``.slp`` with the record and per-point status (atomic)."""
    import h5py
    import sleap_io as sio

    from posekit.io.writers import backup_user_labels, save_labels

    labels = result.labels
    labels.provenance[RECORD_KEY] = _history(labels.provenance.get(RECORD_KEY), record)
    status, variance = [], []
    k = len(labels.skeleton.nodes)
    for lf in labels.labeled_frames:
        for inst in lf.instances:
            if type(inst) is sio.PredictedInstance:
                status.append(result.status.get(id(inst), np.ones(k, np.int8)))
                variance.append(result.variance.get(id(inst), np.full(k, np.nan)))
    with atomic_path(output) as tmp:
        save_labels(labels, tmp, embed="auto")
        with h5py.File(tmp, "a") as f:
            flat = np.concatenate(status).astype(np.int8) if status else np.zeros(0, np.int8)
            ds = f.create_dataset(SLP_STATUS, data=flat, compression="gzip")
            ds.attrs["names"] = json.dumps(STATUS_NAMES)
            if result.variance:
                f.create_dataset(SLP_VARIANCE, data=np.concatenate(variance).astype(
                    np.float32), compression="gzip")
        backup_user_labels(output)  # --force over a file with user labels keeps a copy


# ------------------------------------------------------------------ .csv
def read_csv(path: Path) -> Any:
    """A SLEAP analysis CSV as ``sio.Labels`` (nodes in the file's column order)."""
    import pandas as pd
    import sleap_io as sio

    header = list(pd.read_csv(path, nrows=0).columns)
    if not {"track", "frame_idx", "instance.score"} <= set(header):
        raise DataError(f"{path}: not a SLEAP analysis CSV; expected the columns track, "
                        "frame_idx, instance.score and <node>.x / .y / .score (posekit track "
                        "--csv writes it).")
    nodes = [c[:-2] for c in header if c.endswith(".x")]
    sidecar = csv_sidecar(path)
    skeleton = None if sidecar.is_file() else sio.Skeleton(nodes)
    labels = sio.load_csv(str(path), format="sleap", skeleton=skeleton)
    for track in labels.tracks:  # pandas reads track names such as "1" as numbers
        track.name = str(track.name)
    return labels


def write_csv(result: FilteredLabels, record: dict[str, Any], output: Path) -> None:
    """The filtered labels as a SLEAP analysis CSV with status (and variance) columns, and
    the sidecar JSON with skeleton and provenance (both atomic)."""
    import pandas as pd

    from posekit.io.writers import instance_rows
    from posekit.trajectories.labels import predicted_in_order

    labels = result.labels
    rows = instance_rows(labels, 0)
    k = len(labels.skeleton.node_names)
    keep = ~np.isnan(rows["instance_score"])
    preds = predicted_in_order(labels, 0)
    status = np.ones((len(keep), k), np.int8)
    status[keep] = [result.status.get(id(i), np.ones(k, np.int8)) for i in preds]
    variance = np.full((len(keep), k), np.nan)
    if result.variance:
        variance[keep] = [result.variance.get(id(i), np.full(k, np.nan)) for i in preds]
    names = np.asarray(STATUS_NAMES, dtype=object)
    columns: dict[str, Any] = {"track": rows["track"], "frame_idx": rows["frame_idx"],
                               "instance.score": rows["instance_score"]}
    for j, node in enumerate(labels.skeleton.node_names):
        columns[f"{node}.x"] = rows["points"][:, j, 0]
        columns[f"{node}.y"] = rows["points"][:, j, 1]
        columns[f"{node}.score"] = rows["point_scores"][:, j]
        columns[f"{node}.status"] = names[status[:, j]]
        if result.variance:
            columns[f"{node}.variance"] = variance[:, j]
    with atomic_path(output) as tmp:
        pd.DataFrame(columns).to_csv(tmp, index=False, na_rep="")
    labels.provenance[RECORD_KEY] = _history(labels.provenance.get(RECORD_KEY), record)
    atomic_write_text(csv_sidecar(output), json.dumps(_csv_metadata(labels), indent=1) + "\n")


def _csv_metadata(labels: Any) -> dict[str, Any]:
    """sleap-io's CSV sidecar: skeleton (node order, edges), tracks, video, provenance."""
    skeleton = labels.skeleton
    return {
        "version": "1.0",
        "videos": [{"filename": str(v.filename), "backend_metadata": {}}
                   for v in labels.videos],
        "skeletons": [{"name": skeleton.name, "nodes": list(skeleton.node_names),
                       "edges": [[e.source.name, e.destination.name] for e in skeleton.edges],
                       "symmetries": []}],
        "tracks": [t.name for t in labels.tracks],
        "suggestions": [],
        "provenance": {k: v for k, v in labels.provenance.items() if _jsonable(v)},
    }


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


# ------------------------------------------------------------------ one file
def _filter_h5(source: Path, output: Path, settings: FilterSettings) -> FilterReport:
    from posekit.trajectories.analysis_h5 import read_analysis, write_analysis
    from posekit.trajectories.labels import video_fps
    from posekit.trajectories.pipeline import filter_tracks

    arrays = read_analysis(source)
    fps = settings.fps
    if fps is None and settings.max_gap_s is not None and arrays.video_path:
        import sleap_io as sio

        fps = video_fps(sio.Video.from_filename(arrays.video_path)) if Path(
            arrays.video_path).is_file() else None
    filtered = filter_tracks(arrays.points, arrays.scores, settings, arrays.segments, fps,
                             str(source))
    counts = filtered.counts()
    record = make_record(settings, source, counts,
                         {"0": filtered.fitted} if filtered.fitted else {}, fps,
                         arrays.node_names)
    write_analysis(source, output, arrays, filtered, settings.fill_score,
                   _history(arrays.record, record))
    return FilterReport([output], counts, record)


def _filter_labels_file(source: Path, output: Path, settings: FilterSettings,
                        fmt: str) -> FilterReport:
    from posekit.io.labels import load_labels
    from posekit.trajectories.labels import filter_labels

    labels = load_labels(source) if fmt == "slp" else read_csv(source)
    if fmt == "csv" and len(labels.videos) > 1:
        raise DataError(f"{source}: rows of {len(labels.videos)} videos; expected one.")
    result = filter_labels(labels, settings, str(source))
    if not result.per_video:
        raise DataError(f"{source}: no predicted instances; expected predictions (posekit "
                        "track or SLEAP). User labels are not filtered.")
    counts = result.counts()
    record = make_record(settings, source, counts, result.fitted(), settings.fps or result.fps,
                         tuple(labels.skeleton.node_names))
    (write_slp if fmt == "slp" else write_csv)(result, record, output)
    return FilterReport(outputs_of(output), counts, record, result.notes)


def filter_file(predictions: PathLike, output: PathLike,
                settings: FilterSettings | None = None, force: bool = False) -> FilterReport:
    """Filter a predictions file into ``output`` (same format; see the module docstring).

    Args:
        predictions: ``.slp`` / ``.pkg.slp``, SLEAP analysis ``.h5`` or ``.csv``.
        output: the new file, in the input's format (never the input itself).
        settings: methods and parameters (default: a 5-frame median).
        force: replace an existing output.

    Raises:
        ConfigError: bad output path or settings (a window longer than the video...).
        DataError: unreadable input or one without predictions.
    """
    settings = settings or FilterSettings()
    source, out = Path(predictions), Path(output)
    if not source.is_file():
        raise DataError(f"{source}: not found; expected a predictions file (.slp, analysis "
                        ".h5 or .csv). Check the path.")
    check_paths([source], out, force)
    fmt = file_format(source)
    if fmt == "h5":
        return _filter_h5(source, out, settings)
    return _filter_labels_file(source, out, settings, fmt)


# ------------------------------------------------------------------ reading back
@dataclass(frozen=True)
class FilterOutputs:
    """Status, variance and record of a filtered file.

    Attributes:
        status: ``int8``: ``.slp``: ``(predicted instances, K)`` in file order; ``.h5``:
            ``(frames, tracks, nodes)``; ``.csv``: ``(rows, K)``.
        variance: same shape (px²), or None.
        record: every ``posekit filter`` run's record, oldest first.
    """

    status: np.ndarray
    variance: np.ndarray | None
    record: list[dict[str, Any]]


def read_filter_outputs(path: PathLike) -> FilterOutputs:
    """Read the per-point status, variance and provenance of a ``posekit filter`` output."""
    import h5py

    path = Path(path)
    fmt = file_format(path)
    if fmt == "csv":
        import pandas as pd

        table = pd.read_csv(path)
        cols = [c for c in table.columns if c.endswith(".status")]
        codes = {name: i for i, name in enumerate(STATUS_NAMES)}
        status = table[cols].apply(lambda c: c.map(codes)).to_numpy(np.int8)
        var_cols = [c for c in table.columns if c.endswith(".variance")]
        variance = table[var_cols].to_numpy(np.float64) if var_cols else None
        meta = json.loads(csv_sidecar(path).read_text())
        return FilterOutputs(status, variance, meta["provenance"].get(RECORD_KEY, []))
    with h5py.File(path, "r") as f:
        if fmt == "h5":
            from posekit.trajectories.analysis_h5 import CANONICAL, STATUS, VARIANCE, _dims

            def canonical(name: str) -> np.ndarray:
                dims = _dims(f[name], "point_scores")
                return np.transpose(f[name][()], [dims.index(d)
                                                  for d in CANONICAL["point_scores"]])

            return FilterOutputs(canonical(STATUS),
                                 canonical(VARIANCE) if VARIANCE in f else None,
                                 json.loads(f.attrs[RECORD_KEY]))
        k = len(json.loads(f["metadata"].attrs["json"])["nodes"])
        status = f[SLP_STATUS][()].reshape(-1, k)
        variance = f[SLP_VARIANCE][()].reshape(-1, k) if SLP_VARIANCE in f else None
    import sleap_io as sio

    record = sio.load_slp(str(path), open_videos=False).provenance.get(RECORD_KEY, [])
    return FilterOutputs(status, variance, record)
