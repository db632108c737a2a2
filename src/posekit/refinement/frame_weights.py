"""Per-frame training weights from inter-labeler agreement (ILA).

**ILA.** For a frame labelled by several people, ``posekit labels consensus`` records the
mean pairwise distance between the labelers' points after outlier removal (pixels), in
``CONSENSUS.ila.csv`` (columns ``video, frame_idx, ila_px, n_labelers, in_consensus``) and
in the consensus labels' ``provenance["posekit_consensus"]["frames"]``. Low agreement means
the "true" position is uncertain, so such a frame should pull less on the model.

**Mapping** (:func:`ila_weight`), piecewise linear over the refinement guide's bands:

* ILA <= ``excellent_px`` (2 px, the guide's excellent pixel error, reached by its most
  detailed protocol, 2.3 px): weight 1;
* from ``excellent_px`` to ``good_px`` (5 px, the guide's limit of a good pixel error, and
  its intermediate protocol, 5.1 px): falls linearly to ``good_weight`` (0.5);
* from ``good_px`` to ``poor_px`` (8.5 px, the guide's "landmark name only" protocol):
  falls linearly to ``min_weight`` (0.1), and stays there beyond.

A frame without a measured ILA (labelled once, or absent from the ILA table) gets
``single_labeler_weight``; by default (``None``) the weight of the median measured ILA:
nothing says it is better or worse than a typical frame.

**Where the setting lives.** sleap-nn 0.3.5 refuses a YAML config with any key its schema
lacks (``verify_training_cfg`` merges the file into ``OmegaConf.structured(
TrainingJobConfig())``: ``ConfigKeyError``), so the setting is not in the YAML: it is a
*sidecar* file beside it, ``CONFIG.posekit.yaml`` (:func:`sidecar_path`), with a
``frame_weights:`` section, which sleap-nn never reads.
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from posekit.config.problems import InvalidConfigError, Problem
from posekit.config.rules import RuleTable, check_settings, number, ordered, settings_from_dict
from posekit.errors import ConfigError, DataError
from posekit.refinement.metadata import VideoMetadata

if TYPE_CHECKING:
    import sleap_io as sio

PathLike = str | os.PathLike[str]
_S = TypeVar("_S")
SIDECAR_SUFFIX = ".posekit.yaml"
SECTION = "frame_weights"
#: Sections other parts of posekit read from the same sidecar (Protocol C model selection:
#: ``posekit.training.selection``; foreground weighting: ``posekit.training.foreground``);
#: this reader accepts and ignores them.
OTHER_SECTIONS = ("model_selection", "foreground_weighting", "training_crops")
ILA_COLUMNS = ("video", "frame_idx", "ila_px", "n_labelers", "in_consensus")
PROVENANCE_KEY = "posekit_consensus"
REPORT_NAME = "frame_weights.json"

RULES: RuleTable = {
    SECTION: (
        number("excellent_px", 0),
        number("good_px", 0, low_open=True),
        number("poor_px", 0, low_open=True),
        ordered("excellent_px", "good_px"),
        ordered("good_px", "poor_px"),
        number("good_weight", 0, 1),
        number("min_weight", 0, 1),
        ordered("min_weight", "good_weight"),
        number("single_labeler_weight", 0, 1),
    )
}


def ila_weight(ila_px: float | np.ndarray, *, excellent_px: float = 2.0, good_px: float = 5.0,
               poor_px: float = 8.5, good_weight: float = 0.5,
               min_weight: float = 0.1) -> float | np.ndarray:
    """Training weight of a frame from its ILA in pixels (see the module notes).

    ``1`` up to ``excellent_px``, linear to ``good_weight`` at ``good_px``, linear to
    ``min_weight`` at ``poor_px`` and beyond. Works on scalars and arrays; NaN stays NaN.

    Example:
        >>> ila_weight(3.5)
        0.75
    """
    x = np.asarray(ila_px, np.float64)
    out = np.interp(x, [excellent_px, good_px, poor_px], [1.0, good_weight, min_weight])
    out = np.where(np.isnan(x), np.nan, out)
    return float(out) if out.ndim == 0 else out


@dataclass(frozen=True)
class FrameWeightSettings:
    """Per-frame weights from ILA (the ``frame_weights`` section of ``CONFIG.posekit.yaml``).

    Attributes:
        source: The ILA table (``CONSENSUS.ila.csv``) or consensus labels (``.slp``, its
            provenance); ``None``: each training labels file's own consensus provenance
            (kept by ``labels split``), else ``<its stem>.ila.csv`` beside it.
        excellent_px, good_px, poor_px: The band limits of :func:`ila_weight` (pixels).
        good_weight: Weight at ``good_px``.
        min_weight: Weight at ``poor_px`` and beyond (0 drops such frames from the loss).
        single_labeler_weight: Weight of frames without a measured ILA (``None``: the
            weight of the median measured ILA).
    """

    source: str | None = None
    excellent_px: float = 2.0
    good_px: float = 5.0
    poor_px: float = 8.5
    good_weight: float = 0.5
    min_weight: float = 0.1
    single_labeler_weight: float | None = None

    def __post_init__(self) -> None:
        check_settings(self, SECTION, RULES)

    def weight(self, ila_px: float | np.ndarray) -> float | np.ndarray:
        """:func:`ila_weight` under these settings."""
        return ila_weight(ila_px, excellent_px=self.excellent_px, good_px=self.good_px,
                          poor_px=self.poor_px, good_weight=self.good_weight,
                          min_weight=self.min_weight)


def sidecar_path(config_path: PathLike) -> Path:
    """``CONFIG.posekit.yaml`` beside ``CONFIG.yaml`` (a run folder: its
    ``training_config.posekit.yaml``)."""
    path = Path(config_path)
    if path.is_dir():
        path = path / "training_config.yaml"
    stem = path.name[: -len(path.suffix)] if path.suffix else path.name
    return path.with_name(stem + SIDECAR_SUFFIX)


def read_sidecar(path: PathLike) -> FrameWeightSettings | None:
    """The frame-weight settings of a sidecar file (``None`` when it has no
    ``frame_weights`` section). A relative ``source`` is taken from the current folder,
    else from the sidecar's folder.

    Raises:
        ConfigError: unreadable YAML, unknown sections or settings, bad values.
    """
    from posekit.config.parse import suggest
    from posekit.config.yaml_io import read_yaml_file

    path = Path(path)
    raw = read_yaml_file(path) or {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: is not a mapping; expected a '{SECTION}:' section.")
    unknown = [k for k in raw if k != SECTION and k not in OTHER_SECTIONS]
    if unknown:
        hint = suggest(str(unknown[0]), [SECTION, *OTHER_SECTIONS])
        raise InvalidConfigError(str(path), [Problem(
            str(k), "unknown section", f"'{SECTION}'",
            (hint[0].upper() + hint[1:]) if hint else "posekit-only settings go here; "
            "sleap-nn settings go in the config itself.") for k in unknown])
    if raw.get(SECTION) is None:
        return None
    settings = settings_from_dict(FrameWeightSettings, raw[SECTION], SECTION, str(path))
    if settings.source is not None and not Path(settings.source).is_absolute() and not Path(
            settings.source).exists() and (path.parent / settings.source).exists():
        settings = replace(settings, source=str(path.parent / settings.source))
    return settings


def settings_for_config(config: Any) -> FrameWeightSettings | None:
    """The frame-weight settings of a training config given as a path (its sidecar), or
    ``None`` (no sidecar, or the config is not a file)."""
    if not isinstance(config, (str, os.PathLike)):
        return None
    side = sidecar_path(config)
    return read_sidecar(side) if side.is_file() else None


def read_section(path: PathLike, section: str, cls: type[_S]) -> _S | None:
    """One posekit-only section of a sidecar file as the settings dataclass ``cls``
    (``None`` when the file has no such section).

    Raises:
        ConfigError: unreadable YAML or bad settings (every problem listed).
    """
    from posekit.config.yaml_io import read_yaml_file

    raw = read_yaml_file(Path(path)) or {}
    if not isinstance(raw, dict) or raw.get(section) is None:
        return None
    return settings_from_dict(cls, raw[section], section, str(path))


def section_for_config(config: Any, section: str, cls: type[_S]) -> _S | None:
    """:func:`read_section` of the sidecar of a training config given as a path; ``None``
    without a sidecar or when the config is not a path."""
    if not isinstance(config, (str, os.PathLike)):
        return None
    side = sidecar_path(config)
    return read_section(side, section, cls) if side.is_file() else None


def write_sidecar(settings: FrameWeightSettings, path: PathLike) -> Path:
    """Write ``settings`` as a sidecar file (atomic)."""
    import yaml

    from posekit.utils import atomic_write_text

    text = ("# posekit-only settings (sleap-nn does not read this file)\n"
            + yaml.safe_dump({SECTION: asdict(settings)}, sort_keys=False))
    return atomic_write_text(path, text)


# ------------------------------------------------------------------ reading ILA tables

@dataclass(frozen=True)
class FrameILA:
    """One frame's agreement as the consensus command records it."""

    video: str
    frame_idx: int
    ila_px: float | None
    n_labelers: int
    in_consensus: bool


def _bool(text: str) -> bool | None:
    return {"true": True, "1": True, "yes": True, "false": False, "0": False,
            "no": False}.get(text.strip().lower())


def _record(values: dict[str, Any], where: str) -> FrameILA:
    """A :class:`FrameILA` from CSV text or provenance values (DataError naming ``where``)."""
    try:
        ila = values.get("ila_px")
        ila = None if ila is None or str(ila).strip() in ("", "nan", "None") else float(ila)
        flag = values.get("in_consensus", True)
        flag = _bool(flag) if isinstance(flag, str) else bool(flag)
        if flag is None or (ila is not None and not math.isfinite(ila)) or (
                ila is not None and ila < 0):
            raise ValueError
        return FrameILA(str(values["video"]), int(values["frame_idx"]), ila,
                        int(values.get("n_labelers") or (2 if ila is not None else 1)), flag)
    except (KeyError, TypeError, ValueError):
        raise DataError(
            f"{where}: cannot read {dict(values)}; expected video (text), frame_idx "
            "(integer), ila_px (pixels >= 0, empty when one labeler), n_labelers (integer), "
            "in_consensus (true/false). Rewrite it with posekit labels consensus."
        ) from None


def read_ila_csv(path: PathLike) -> list[FrameILA]:
    """Rows of an ILA table (``CONSENSUS.ila.csv``).

    Raises:
        DataError: missing file or columns, unreadable values (with the line).
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: ILA table not found; expected the CSV posekit labels "
                        "consensus writes beside CONSENSUS.slp. Check frame_weights.source.")
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        header = [h.strip() for h in reader.fieldnames or []]
        missing = [c for c in ILA_COLUMNS[:3] if c not in header]
        if missing:
            raise DataError(f"{path}: no column(s) {missing} (found {header}); expected "
                            f"columns {list(ILA_COLUMNS)}. Use the CONSENSUS.ila.csv of "
                            "posekit labels consensus.")
        return [_record({k.strip(): v for k, v in row.items() if k}, f"{path}, line {i}")
                for i, row in enumerate(reader, start=2)]


def read_ila_provenance(labels: sio.Labels, where: str) -> list[FrameILA] | None:
    """The ILA records of consensus labels (``provenance["posekit_consensus"]["frames"]``),
    or ``None`` when the labels carry none."""
    block = (labels.provenance or {}).get(PROVENANCE_KEY)
    if not isinstance(block, dict) or not isinstance(block.get("frames"), list):
        return None
    return [_record(dict(row) if isinstance(row, dict) else {"row": row},
                    f"{where}: provenance {PROVENANCE_KEY}.frames[{i}]")
            for i, row in enumerate(block["frames"])]


def _read_source(path: Path) -> list[FrameILA] | None:
    """Records of an ILA CSV or of a labels file's provenance (None: it has none)."""
    if path.suffix.lower() == ".csv":
        return read_ila_csv(path)
    import sleap_io as sio

    if not path.is_file():
        raise DataError(f"{path}: not found; expected an ILA table (.csv) or consensus "
                        "labels (.slp). Check frame_weights.source.")
    return read_ila_provenance(sio.load_slp(path.as_posix(), open_videos=False), str(path))


def load_ila(settings: FrameWeightSettings, train_paths: Sequence[PathLike] = ()
             ) -> tuple[list[tuple[Path, list[FrameILA]]], list[str]]:
    """ILA records by source file, and notes (see :class:`FrameWeightSettings`.source).

    Raises:
        DataError: the source cannot be read, or (``source`` None) no training file has
            consensus provenance or an ILA table beside it.
    """
    if settings.source is not None:
        path = Path(settings.source)
        records = _read_source(path)
        if records is None:
            raise DataError(f"{path}: carries no consensus ILA (provenance "
                            f"'{PROVENANCE_KEY}'); expected labels written by posekit labels "
                            "consensus, or its .ila.csv.")
        return [(path, records)], []
    found, notes = [], []
    for train in map(Path, train_paths):
        name = train.name[: -len(".pkg.slp")] if train.name.endswith(".pkg.slp") else train.stem
        beside = train.with_name(f"{name}.ila.csv")
        records = _read_source(train) if train.suffix.lower() == ".slp" else None
        if records is None and beside.is_file():
            records, train = read_ila_csv(beside), beside
        if records is None:
            notes.append(f"{train}: no consensus ILA; its frames get the default weight.")
        else:
            found.append((train, records))
    if not found:
        raise DataError(
            f"frame_weights: none of the training files {[str(p) for p in train_paths]} "
            "carries consensus ILA; expected labels written by posekit labels consensus (or "
            "a CONSENSUS.ila.csv beside them). Set frame_weights.source to the ILA table.")
    return found, notes


# ------------------------------------------------------------------ matching frames

@dataclass
class FrameWeights:
    """The weight of every training frame and how it was found.

    Attributes:
        weights: ``float32 (F,)`` per frame of the training table.
        ila_px: ``float64 (F,)``, NaN where not measured.
        n_labelers: ``int64 (F,)``, 0 where the frame is not in the ILA records.
        status: per frame ``"measured"``, ``"single"`` (labelled once) or ``"unmatched"``.
        default_weight: Weight given to single and unmatched frames.
    """

    weights: np.ndarray
    ila_px: np.ndarray
    n_labelers: np.ndarray
    status: list[str]
    default_weight: float
    settings: FrameWeightSettings
    sources: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """Counts per status and the spread of the weights."""
        w = self.weights.astype(np.float64)
        counts = {s: self.status.count(s) for s in ("measured", "single", "unmatched")}
        return {"frames": len(w), **counts, "default_weight": round(self.default_weight, 6),
                "weight_min": round(float(w.min()), 6) if len(w) else None,
                "weight_mean": round(float(w.mean()), 6) if len(w) else None,
                "weight_max": round(float(w.max()), 6) if len(w) else None,
                "zero_weight": int((w == 0).sum())}


def _resolved(name: str) -> str:
    """``name`` as an absolute path when it is an existing file, else as written."""
    path = Path(name)
    return path.resolve().as_posix() if path.is_file() else name


def _video_keys(videos: Sequence[sio.Video], records: list[FrameILA], where: Path
                ) -> list[str | None]:
    """The record video string of each training video: the record naming the same file
    (the consensus names embedded frames by its package file), else the metadata CSV's
    rules (resolved path, unique file name, unique stem; a relative path is taken from
    ``where``'s folder)."""
    names = sorted({r.video for r in records})
    table = VideoMetadata(path=where.resolve(), columns=("key",),
                          rows=tuple({"video": n, "key": n} for n in names))
    same_file = {_resolved(n): n for n in names}
    out: list[str | None] = []
    for video in videos:
        name = same_file.get(_resolved(str(video.filename)))
        if name is None:
            try:
                name = table.lookup([video], ["key"])[0]["key"]
            except DataError:
                name = None
        out.append(name)
    return out


def _frame_records(sources: list[tuple[Path, list[FrameILA]]], videos: Sequence[sio.Video],
                   keys: np.ndarray) -> tuple[dict[int, FrameILA], int]:
    """The record of each training frame (by row of ``keys``), and how many frames are
    ambiguous: a record two training frames would share (two recordings known by one name,
    with the same frame index) is given to neither. The first source naming a frame wins."""
    hits: dict[tuple[int, str, int], list[int]] = {}
    found: dict[tuple[int, str, int], FrameILA] = {}
    for s, (path, records) in enumerate(sources):
        by_key: dict[tuple[str, int], FrameILA] = {}
        for r in records:
            by_key.setdefault((r.video, r.frame_idx), r)
        names = _video_keys(videos, records, path)
        for row, (vi, fi) in enumerate(np.asarray(keys, np.int64).reshape(-1, 2).tolist()):
            record = by_key.get((names[vi], fi)) if names[vi] is not None else None
            if record is not None:
                hits.setdefault((s, record.video, fi), []).append(row)
                found[(s, record.video, fi)] = record
    out: dict[int, FrameILA] = {}
    ambiguous = 0
    for key, rows in hits.items():
        if len(rows) > 1:
            ambiguous += len(rows)
        elif rows[0] not in out:
            out[rows[0]] = found[key]
    return out, ambiguous


def match_frame_weights(settings: FrameWeightSettings, videos: Sequence[sio.Video],
                        keys: np.ndarray, train_paths: Sequence[PathLike] = ()) -> FrameWeights:
    """Weights of training frames ``keys`` (``(F, 2)``: index into ``videos``, frame index).

    Frames are matched by video (see :func:`_video_keys`) and frame index.

    Raises:
        DataError: the ILA cannot be read, or no training frame matches it.
    """
    sources, notes = load_ila(settings, train_paths)
    lookup, ambiguous = _frame_records(sources, videos, keys)
    measured = [r.ila_px for _, records in sources for r in records
                if r.ila_px is not None and r.n_labelers > 1]
    default = settings.single_labeler_weight
    if default is None:
        default = float(settings.weight(float(np.median(measured)))) if measured else 1.0
    n = len(keys)
    weights = np.full(n, default, np.float32)
    ila = np.full(n, np.nan)
    n_lab = np.zeros(n, np.int64)
    status = ["unmatched"] * n
    for i in range(n):
        r = lookup.get(i)
        if r is None:
            continue
        n_lab[i] = r.n_labelers
        if r.ila_px is not None and r.n_labelers > 1:
            ila[i], weights[i], status[i] = r.ila_px, settings.weight(r.ila_px), "measured"
        else:
            status[i] = "single"
    if n and status.count("unmatched") == n:
        raise DataError(
            f"{', '.join(str(p) for p, _ in sources)}: no training frame matches the ILA "
            "records (by video and frame index); expected the consensus labels the model "
            "trains on. Check frame_weights.source, or the videos' paths.")
    if ambiguous:
        notes.append(f"{ambiguous} training frames share a video name and frame index with "
                     "another (two recordings known by one name); they are not matched.")
    if "unmatched" in status:
        notes.append(f"{status.count('unmatched')} of {n} training frames are not in the ILA "
                     f"records; they get the default weight {default:.3g}.")
    return FrameWeights(weights, ila, n_lab, status, float(default), settings,
                        [str(p) for p, _ in sources], notes)


def write_report(fw: FrameWeights, path: PathLike, video_names: Sequence[str],
                 keys: np.ndarray) -> Path:
    """``frame_weights.json``: settings, summary, notes and one row per training frame."""
    from posekit.utils import atomic_write_text

    rows = [{"video": video_names[int(vi)], "frame_idx": int(fi),
             "ila_px": None if np.isnan(fw.ila_px[i]) else round(float(fw.ila_px[i]), 4),
             "n_labelers": int(fw.n_labelers[i]), "weight": round(float(fw.weights[i]), 6),
             "status": fw.status[i]}
            for i, (vi, fi) in enumerate(np.asarray(keys).reshape(-1, 2).tolist())]
    data = {"kind": "posekit frame weights", "settings": asdict(fw.settings),
            "sources": fw.sources, "summary": fw.summary(), "notes": fw.notes,
            "frames": rows}
    return atomic_write_text(path, json.dumps(data, indent=1) + "\n")
