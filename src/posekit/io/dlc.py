"""Importing a DeepLabCut project (``config.yaml`` + ``labeled-data/*/CollectedData_*``).

sleap-io has a DLC reader, but it sorts nodes alphabetically, reads only the CSV, does
not check the table against ``config.yaml`` and guesses channels from the first image;
this module reads the project the way DeepLabCut defines it:

* nodes in the config's ``bodyparts`` order (multi-animal: ``multianimalbodyparts`` then
  ``uniquebodyparts``), edges from its ``skeleton``;
* one sleap-io ``Video`` (an image list) per ``labeled-data/<video>/`` folder, frames
  indexed by the position of the image in the naturally sorted list;
* multi-animal tables give one ``Track`` per individual (``single`` holds the unique
  bodyparts); rows where an individual has no visible point give no instance;
* ``.h5`` is preferred over ``.csv`` when both exist;
* image paths resolve relative to the project folder (``project_path`` and
  ``video_sets`` in the config are ignored), so a moved project loads unchanged;
* a table with ``likelihood`` columns (DeepLabCut machine labels, e.g. a
  ``machinelabels-iter0.h5`` passed as the path) gives predicted instances whose point
  scores are the likelihoods;
* config bodyparts without columns in a table are read as unlabelled (NaN) and reported;
  table bodyparts missing from the config are an error.

Repairs are issued as :class:`~posekit.io.repairs.LabelsRepairWarning` and recorded in
``labels.provenance["posekit_repairs"]``.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from posekit.errors import DataError
from posekit.io.dlc_table import DlcTable, read_dlc_table
from posekit.io.images import image_file_size, natural_key
from posekit.io.repairs import record_repairs, report_repair

TABLE_PREFIXES = ("CollectedData_", "machinelabels")


def is_dlc_table_file(path: Path) -> bool:
    """Whether ``path`` is named like a DLC annotation or machine-labels table."""
    return path.name.startswith(TABLE_PREFIXES) and path.suffix.lower() in (".h5", ".csv")


def find_dlc_config(path: str | os.PathLike[str]) -> Path | None:
    """``config.yaml`` of a DLC project given the folder, the config or one of its tables."""
    path = Path(path)
    if path.is_dir():
        cand = path / "config.yaml"
        return cand if cand.is_file() else None
    if path.name.lower().endswith((".yaml", ".yml")):
        return path
    if is_dlc_table_file(path):
        for parent in list(path.parents)[:3]:
            if (parent / "config.yaml").is_file():
                return parent / "config.yaml"
    return None


def read_dlc_config(config_path: Path) -> dict[str, Any]:
    """Parse ``config.yaml``; DataError when it is missing or not a DLC config."""
    import yaml

    if not config_path.is_file():
        raise DataError(
            f"{config_path}: file not found; expected a DeepLabCut project's config.yaml."
        )
    try:
        with open(config_path, encoding="utf-8") as fh:
            cfg = yaml.safe_load(fh)
    except yaml.YAMLError as exc:
        raise DataError(f"{config_path}: invalid YAML ({exc}); expected a DLC config.") from exc
    if not isinstance(cfg, dict) or not ("bodyparts" in cfg or "multianimalbodyparts" in cfg):
        raise DataError(
            f"{config_path}: no 'bodyparts' field; expected a DeepLabCut project config.yaml."
        )
    return cfg


def expected_bodyparts(cfg: dict[str, Any], config_path: Path) -> tuple[list[str], bool]:
    """Node names in config order and whether the project is multi-animal."""
    multi = bool(cfg.get("multianimalproject")) or isinstance(cfg.get("individuals"), list)
    if multi:
        parts = list(cfg.get("multianimalbodyparts") or []) + list(cfg.get("uniquebodyparts") or [])
    else:
        parts = cfg.get("bodyparts")
        parts = list(parts) if isinstance(parts, list) else []
    parts = [str(p) for p in parts]
    if not parts:
        field = "multianimalbodyparts" if multi else "bodyparts"
        raise DataError(f"{config_path}: field '{field}' is empty; expected a list of bodyparts.")
    dupes = sorted({p for p in parts if parts.count(p) > 1})
    if dupes:
        raise DataError(f"{config_path}: bodyparts listed twice: {dupes}; expected unique names.")
    return parts, multi


def find_annotation_tables(project_dir: Path, scorer: str | None) -> list[Path]:
    """One CollectedData table per ``labeled-data/<video>/`` folder (.h5 preferred)."""
    labeled = project_dir / "labeled-data"
    tables: list[Path] = []
    if not labeled.is_dir():
        return tables
    for folder in sorted(
        (p for p in labeled.iterdir() if p.is_dir()), key=lambda p: natural_key(p.name)
    ):
        preferred = [folder / f"CollectedData_{scorer}.h5", folder / f"CollectedData_{scorer}.csv"]
        others = sorted(folder.glob("CollectedData_*.h5")) + sorted(
            folder.glob("CollectedData_*.csv")
        )
        found = next((p for p in preferred + others if p.is_file()), None)
        if found is not None:
            tables.append(found)
    return tables


def _check_bodyparts(table: DlcTable, expected: list[str], config_path: Path) -> str | None:
    """DataError for table bodyparts the config lacks; a repair message for unlabelled ones."""
    found = list(dict.fromkeys(table.bodyparts))
    extra = [p for p in found if p not in expected]
    missing = [p for p in expected if p not in found]
    if extra:
        also = f"; config.yaml bodyparts missing from the table: {missing}" if missing else ""
        raise DataError(
            f"{table.path}: header disagrees with {config_path} (bodyparts not in "
            f"config.yaml: {extra}{also}); expected the bodyparts {expected}. Fix the "
            "bodyparts list in config.yaml (a renamed or removed bodypart?) or re-label "
            "with the current config (DeepLabCut's check_labels / merge tools)."
        )
    if missing:
        return report_repair(
            table.path,
            f"config.yaml ({config_path}) bodyparts {missing} have no columns in this table; "
            "they were read as unlabelled (missing) points in every frame.",
            stacklevel=5,
        )
    return None


def _resolve_image(stored: str, project_dir: Path, table_dir: Path) -> Path:
    """Project-relative path, else the file of that name next to the table."""
    cand = project_dir / stored
    if cand.is_file():
        return cand.resolve()
    local = table_dir / Path(stored).name
    if local.is_file():
        return local.resolve()
    return cand.absolute()


def _make_video(paths: list[Path]) -> Any:
    """A sleap-io image-list Video; 3 channels unless every image is single-channel."""
    import sleap_io as sio

    sizes = [image_file_size(p) for p in paths]
    known = [s for s in sizes if s is not None]
    grayscale = bool(known) and all(s[2] == 1 for s in known)
    first = known[0] if known else None
    meta: dict[str, Any] = {"grayscale": grayscale}
    if first is not None:
        meta["shape"] = [len(paths), first[0], first[1], 1 if grayscale else 3]
    video = sio.Video(
        filename=[p.as_posix() for p in paths], backend_metadata=meta, open_backend=False
    )
    if paths and paths[0].is_file():
        try:
            video.open(grayscale=grayscale)
        except Exception:  # noqa: BLE001 - unreadable image: reading it later names the file
            video.close()
    return video


def _owner_points(
    table: DlcTable, node_names: list[str], order: list[int]
) -> dict[str | None, tuple[np.ndarray, np.ndarray | None]]:
    """Per owner: ``(n_rows, n_nodes, 2)`` points in node order (NaN if absent) and, for
    machine labels, ``(n_rows, n_nodes)`` likelihoods; rows in ``order``."""
    owners = table.individuals if table.individuals is not None else [None] * len(table.bodyparts)
    out: dict[str | None, tuple[np.ndarray, np.ndarray | None]] = {}
    for owner in dict.fromkeys(owners):
        col = np.full(len(node_names), -1)
        for g, (o, part) in enumerate(zip(owners, table.bodyparts, strict=True)):
            if o == owner:
                col[node_names.index(part)] = g
        present = col >= 0
        pts = np.where(present[None, :, None], table.xy[:, np.maximum(col, 0)], np.nan)
        scores = None
        if table.likelihood is not None:
            scores = np.where(present[None, :], table.likelihood[:, np.maximum(col, 0)], np.nan)
            scores = scores[order]
        out[owner] = (pts[order], scores)
    return out


def _instance(pts: np.ndarray, scores: np.ndarray | None, skeleton: Any, track: Any) -> Any:
    """A user instance, or a predicted one (score: mean likelihood of its visible points)."""
    import sleap_io as sio

    if scores is None:
        return sio.Instance.from_numpy(pts, skeleton=skeleton, track=track)
    visible = ~np.isnan(pts).any(axis=-1)
    point_scores = np.where(visible, np.nan_to_num(scores, nan=0.0), 0.0)
    score = float(point_scores[visible].mean()) if visible.any() else 0.0
    return sio.PredictedInstance.from_numpy(
        pts, skeleton=skeleton, point_scores=point_scores, score=score, track=track
    )


def _table_to_frames(
    table: DlcTable,
    skeleton: Any,
    tracks: dict[str, Any],
    project_dir: Path,
) -> tuple[Any, list[Any], list[str]]:
    """Video, labelled frames and stored image paths (frame order) for one table."""
    import sleap_io as sio

    order = sorted(range(len(table.image_paths)), key=lambda r: natural_key(table.image_paths[r]))
    stored = [table.image_paths[r] for r in order]
    if len(set(stored)) != len(stored):
        dupes = sorted({p for p in stored if stored.count(p) > 1})[:3]
        raise DataError(
            f"{table.path}: images labelled twice: {dupes}; expected one row per image. "
            "Remove the duplicate rows."
        )
    video = _make_video([_resolve_image(p, project_dir, table.path.parent) for p in stored])
    per_owner = _owner_points(table, list(skeleton.node_names), order)
    frames = []
    for frame_idx in range(len(stored)):
        instances = []
        for owner, (pts, scores) in per_owner.items():
            if np.isnan(pts[frame_idx]).any(axis=-1).all():
                continue
            instances.append(
                _instance(
                    pts[frame_idx],
                    None if scores is None else scores[frame_idx],
                    skeleton,
                    tracks.get(owner) if owner else None,
                )
            )
        frames.append(sio.LabeledFrame(video=video, frame_idx=frame_idx, instances=instances))
    return video, frames, stored


def _skeleton_from_config(cfg: dict[str, Any], parts: list[str], config_path: Path) -> Any:
    """The config's skeleton (edges naming unknown bodyparts are warned and ignored)."""
    import sleap_io as sio

    edges: list[tuple[str, str]] = []
    bad: list[Any] = []
    for edge in cfg.get("skeleton") or []:
        if (
            isinstance(edge, (list, tuple))
            and len(edge) == 2
            and all(str(n) in parts for n in edge)
            and str(edge[0]) != str(edge[1])
        ):
            pair = (str(edge[0]), str(edge[1]))
            if pair not in edges:
                edges.append(pair)
        else:
            bad.append(edge)
    if bad:
        warnings.warn(
            f"{config_path}: skeleton edges {bad} name unknown bodyparts and were ignored "
            "(the skeleton only affects plotting and part-affinity fields).",
            stacklevel=3,
        )
    return sio.Skeleton(nodes=list(parts), edges=edges, name=str(cfg.get("Task") or "dlc"))


def _check_tables(
    tables: list[DlcTable], cfg: dict[str, Any], config_path: Path, parts: list[str], multi: bool
) -> tuple[list[str], list[str]]:
    """Check every table against the config (its ``parts`` and ``multi``-animal flag).

    Returns the track names and the repair messages.

    Raises:
        DataError: a table has bodyparts the config lacks, or its layout (single- or
            multi-animal) differs from the config's.
    """
    track_names = [str(i) for i in (cfg.get("individuals") or [])] if multi else []
    repairs: list[str] = []
    for table in tables:
        repairs.extend(table.repairs)
        repaired = _check_bodyparts(table, parts, config_path)
        if repaired:
            repairs.append(repaired)
        if multi != table.is_multianimal:
            kind, has = (
                ("multi-animal", "has") if table.is_multianimal else ("single-animal", "has no")
            )
            raise DataError(
                f"{table.path}: is a {kind} table (it {has} 'individuals' header row) but "
                f"{config_path} says multianimalproject={multi}; expected matching layouts. "
                "Fix 'multianimalproject' in config.yaml, or restore the table's header."
            )
        track_names.extend(
            o for o in dict.fromkeys(table.individuals or []) if o not in track_names
        )
    return track_names, repairs


def load_dlc_project(path: str | os.PathLike[str]) -> Any:
    """Load a DeepLabCut project as sleap-io ``Labels``.

    Args:
        path: the project folder, its ``config.yaml`` or one ``CollectedData_*`` /
            ``machinelabels*`` table (then only that table is read).

    Returns:
        ``sio.Labels`` with user instances (predicted ones for machine labels);
        ``provenance`` records the config, the tables read, per video index the stored
        image path of every frame index, and ``posekit_repairs`` when a table was
        repaired.

    Raises:
        DataError: no config, no annotation table, a malformed table, or a table with
            bodyparts the config does not list.
    """
    import sleap_io as sio

    path = Path(path)
    if not path.exists():
        raise DataError(
            f"{path}: not found; expected a DeepLabCut project folder or its config.yaml."
        )
    config_path = find_dlc_config(path)
    if config_path is None:
        raise DataError(
            f"{path}: no config.yaml found; expected a DeepLabCut project folder "
            "(config.yaml + labeled-data/). Pass the project folder or its config.yaml."
        )
    cfg = read_dlc_config(config_path)
    project_dir = config_path.parent
    parts, multi = expected_bodyparts(cfg, config_path)
    if path.is_file() and is_dlc_table_file(path):
        table_paths = [path]
    else:
        table_paths = find_annotation_tables(project_dir, cfg.get("scorer"))
    if not table_paths:
        raise DataError(
            f"{project_dir / 'labeled-data'}: no CollectedData_<scorer>.h5 or .csv found in "
            "any labeled-data/<video>/ folder; expected at least one labelled video. Label "
            "frames in DeepLabCut first (or check that this is the right project)."
        )
    tables = [read_dlc_table(p) for p in table_paths]
    skeleton = _skeleton_from_config(cfg, parts, config_path)
    track_names, repairs = _check_tables(tables, cfg, config_path, parts, multi)
    tracks = {name: sio.Track(name=name) for name in track_names}
    videos, frames, frame_files = [], [], {}
    for table in tables:
        video, lfs, stored = _table_to_frames(table, skeleton, tracks, project_dir)
        frame_files[str(len(videos))] = stored
        videos.append(video)
        frames.extend(lfs)
    labels = sio.Labels(
        labeled_frames=frames, videos=videos, skeletons=[skeleton], tracks=list(tracks.values())
    )
    labels.provenance.update(
        {
            "filename": config_path.resolve().as_posix(),
            "dlc_project": project_dir.resolve().as_posix(),
            "dlc_scorer": cfg.get("scorer"),
            "dlc_tables": [t.as_posix() for t in table_paths],
            "dlc_frame_files": frame_files,
        }
    )
    machine = [t.path.as_posix() for t in tables if t.is_machine_labels]
    if machine:
        labels.provenance["dlc_machine_labels"] = machine
    record_repairs(labels, repairs)
    return labels
