"""Labeler files: load them, name the labelers, and line up their annotations.

One file per labeler (``.slp``, ``.pkg.slp`` or a DeepLabCut project), all with the same
node names (any order). Only *user* instances count; predictions in a file are ignored.

* **Labeler names**: the file's stem (``anna.slp`` and ``anna.pkg.slp`` -> ``anna``; a
  DeepLabCut project -> its folder's name) unless names are given, one per file.
* **Frames** are matched by recording and frame as ``posekit labels merge`` does
  (:mod:`posekit.refinement.metadata`: same resolved path, else same file name and shape,
  else same image folder; image lists by image file).
* **Animals**: within a frame, each labeler's instances are matched one-to-one to the
  animals already found (the median pose of the labelers before it) by the Hungarian
  assignment of :func:`posekit.refinement.merge.same_animal_pairs` on position only (track
  names are not trusted across labelers): the same animal when the mean distance between
  shared nodes is below half the pose's bounding-box diagonal. An instance matching no
  animal starts a new one.

The result, :class:`LabelerSet`, holds every *target* (one animal in one frame) as a row of
a ``(T, L, K, 2)`` array for :mod:`posekit.refinement.consensus`.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from posekit.errors import ConfigError, DataError
from posekit.io.labels import check_same_nodes, conform_labels, load_labels, used_skeleton
from posekit.refinement.consensus import ConsensusSettings, nanmedian
from posekit.refinement.labeler_set import LabelerFrame, LabelerSet
from posekit.refinement.merge import same_animal_pairs
from posekit.refinement.metadata import VideoGroups

if TYPE_CHECKING:
    import sleap_io as sio

    from posekit.refinement.consensus_report import ConsensusReport

PathLike = str | os.PathLike[str]
LABELS_SUFFIXES = (".pkg.slp", ".slp")


def labeler_name(path: PathLike) -> str:
    """``anna.slp`` / ``anna.pkg.slp`` -> ``anna``; a DeepLabCut project -> its folder."""
    path = Path(path)
    if path.name.lower() == "config.yaml":
        return path.parent.name
    for suffix in LABELS_SUFFIXES:
        if path.name.lower().endswith(suffix):
            return path.name[: -len(suffix)]
    return path.name if path.is_dir() else path.stem


def labeler_names(paths: Sequence[PathLike], names: Sequence[str] | str | None = None) -> list[str]:
    """One distinct name per file: ``names`` (a list or ``"a,b,c"``) or the file stems.

    Raises:
        ConfigError: the wrong number of names, an empty or repeated name.
    """
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",")]
    if names is None:
        found = [labeler_name(p) for p in paths]
        repeated = sorted({n for n in found if found.count(n) > 1})
        if repeated:
            raise ConfigError(
                f"labeler names: files {[str(p) for p in paths]} give the name(s) {repeated} "
                "more than once; expected one distinct name per file (the file stem). Name "
                "the labelers with --names a,b,c (names=[...] in Python)."
            )
        return found
    names = [str(n).strip() for n in names]
    if len(names) != len(paths) or not all(names) or len(set(names)) != len(names):
        raise ConfigError(
            f"--names {','.join(names)}: {len(names)} name(s) for {len(paths)} file(s); "
            "expected one distinct, non-empty name per labeler file, in the files' order, "
            "e.g. --names " + ",".join(f"labeler{i + 1}" for i in range(len(paths))) + "."
        )
    return names


def _load(paths: Sequence[PathLike]) -> list[tuple[str, sio.Labels]]:
    """Load every file; refuse one without user instances."""
    parts = []
    for path in paths:
        labels = load_labels(path)
        if not any(lf.user_instances for lf in labels.labeled_frames):
            raise DataError(
                f"{path}: holds no user-labelled instance; expected a labeler's annotations "
                "(user instances; predictions do not count). Check that this is the "
                "labeler's saved file."
            )
        parts.append((str(path), labels))
    return parts


def _conform(parts: list[tuple[str, sio.Labels]], notes: list[str]) -> sio.Skeleton:
    """One skeleton for every file (the first file's); DataError naming any difference."""
    first_src, first = parts[0]
    skeleton = used_skeleton(first, first_src)
    tracks: list = []
    for src, labels in parts:
        own = used_skeleton(labels, src)
        check_same_nodes(skeleton.node_names, own.node_names, first_src, src)
        if {frozenset(e) for e in own.edge_names} != {frozenset(e) for e in skeleton.edge_names}:
            notes.append(f"{src}: its edges differ from {first_src}'s; the consensus keeps "
                         f"{first_src}'s edges.")
        conform_labels(labels, skeleton, tracks, src)
    return skeleton


def _pose(points: np.ndarray, skeleton: sio.Skeleton) -> sio.Instance:
    """A track-less instance of ``points`` (what the position matcher compares)."""
    import sleap_io as sio

    return sio.Instance.from_numpy(points, skeleton=skeleton)


def match_animals(
    instances: Sequence[Sequence[np.ndarray]], skeleton: sio.Skeleton
) -> list[dict[int, np.ndarray]]:
    """Match the animals of one frame across labelers (module notes).

    Args:
        instances: per labeler (input order), the ``(K, 2)`` points of its instances.
        skeleton: the common skeleton.

    Returns:
        One ``{labeler: points}`` per animal, in the order the animals were first seen.
    """
    animals: list[dict[int, np.ndarray]] = []
    for labeler, poses in enumerate(instances):
        if not poses:
            continue
        reps = [nanmedian(np.stack(list(a.values())), axis=0) if len(a) > 1
                else next(iter(a.values())) for a in animals]
        pairs = same_animal_pairs([_pose(r, skeleton) for r in reps],
                                  [_pose(p, skeleton) for p in poses]) if reps else []
        matched = {j: i for i, j, _ in pairs}
        for j, pose in enumerate(poses):
            if j in matched:
                animals[matched[j]][labeler] = pose
            else:
                animals.append({labeler: pose})
    return animals


def _gather(parts: list[tuple[str, sio.Labels]], basename: bool) -> tuple[list, dict]:
    """Frames by recording and frame: ``{key: (frame, [per labeler: [(points, track)]])}``."""
    groups = VideoGroups(basename=basename)
    frames: dict[tuple[int, int | str], tuple[LabelerFrame, list[list]]] = {}
    for s, (_, labels) in enumerate(parts):
        for lf in labels.labeled_frames:
            group, _ = groups.add(lf.video)
            key = (group, groups.identity(lf.video).frame_token(int(lf.frame_idx)))
            if key not in frames:
                frames[key] = (LabelerFrame(groups.name(group)), [[] for _ in parts])
            frame, per_labeler = frames[key]
            frame.locations.append((lf.video, int(lf.frame_idx), s))
            for inst in lf.user_instances:
                pts = np.asarray(inst.numpy(), dtype=np.float64)
                if np.isfinite(pts).all(axis=-1).any():
                    per_labeler[s].append((pts, inst.track.name if inst.track else None))
    order = sorted(frames, key=lambda k: (k[0], frames[k][0].locations[0][1]))
    return order, frames


def load_labeler_files(
    paths: Sequence[PathLike],
    names: Sequence[str] | str | None = None,
    *,
    match_basename: bool = True,
) -> LabelerSet:
    """Load labeler files and line up their annotations by frame and animal.

    Args:
        paths: one labels file per labeler (two or more).
        names: labeler names (a list or ``"a,b,c"``); default: the file stems.
        match_basename: also match videos by file name and shape (else by path only).

    Raises:
        DataError: fewer than two files, a file fails to load or has no user instance, or
            the skeletons differ (the message names the nodes).
        ConfigError: bad names.
    """
    paths = [str(p) for p in paths]
    if len(paths) < 2:
        raise DataError(
            f"{paths[0] if paths else 'labeler files'}: a consensus needs the annotations of "
            f"two or more labelers; got {len(paths)} file(s). Give one file per labeler "
            "(e.g. anna.slp ben.slp chloe.slp); to combine corrections of one labeling "
            "effort use posekit labels merge."
        )
    names = labeler_names(paths, names)
    parts = _load(paths)
    notes: list[str] = []
    skeleton = _conform(parts, notes)
    n_pred = sum(len(lf.predicted_instances) for _, lab in parts for lf in lab.labeled_frames)
    if n_pred:
        notes.append(f"{n_pred} predicted instance(s) in the labeler files were ignored "
                     "(only user labels count).")
    order, gathered = _gather(parts, match_basename)
    rows, target_frame, tracks, frames = [], [], [], []
    n_nodes = len(skeleton.node_names)
    for key in order:
        frame, per_labeler = gathered[key]
        frame.labelers = [s for s, insts in enumerate(per_labeler) if insts]
        if not frame.labelers:
            continue
        poses = [[pts for pts, _ in insts] for insts in per_labeler]
        track_of = {id(pts): track for insts in per_labeler for pts, track in insts}
        for animal in match_animals(poses, skeleton):
            row = np.full((len(paths), n_nodes, 2), np.nan)
            for s, pts in animal.items():
                row[s] = pts
            named = Counter(track_of[id(p)] for p in animal.values() if track_of[id(p)])
            frame.targets.append(len(rows))
            rows.append(row)
            target_frame.append(len(frames))
            tracks.append(named.most_common(1)[0][0] if named else None)
        frames.append(frame)
    empty = len(order) - len(frames)
    if empty:
        notes.append(f"{empty} frame(s) without user instances in any file were left out.")
    points = np.stack(rows) if rows else np.zeros((0, len(paths), n_nodes, 2))
    return LabelerSet(names, paths, skeleton, points, np.asarray(target_frame, np.int64),
                      tracks, frames, notes)


# ---------------------------------------------------------------------------- outputs


def output_sibling(output: PathLike, suffix: str) -> Path:
    """``OUT.slp`` / ``OUT.pkg.slp`` -> ``OUT<suffix>`` beside it (``OUT.ila.csv``)."""
    output = Path(output)
    name = output.name
    stem = next((name[: -len(s)] for s in LABELS_SUFFIXES if name.lower().endswith(s)), name)
    return output.with_name(stem + suffix)


def check_consensus_output(output: PathLike, inputs: Sequence[PathLike]) -> Path:
    """Refuse an output that is not a ``.slp`` name or is one of the labeler files (the
    rule of :func:`posekit.refinement.merge.check_output_path`).

    Raises:
        DataError: naming the problem and suggesting another name.
    """
    from posekit.refinement.merge import check_output_path

    output = Path(output)
    if not output.name.lower().endswith(".slp"):
        raise DataError(
            f"{output}: the consensus is written as SLEAP labels; expected a name ending in "
            ".slp (frames referenced) or .pkg.slp (frames embedded), e.g. consensus.slp."
        )
    return check_output_path(output, inputs)


def embeds_every_frame(labels: sio.Labels, output: PathLike) -> bool:
    """Whether the written output embeds every frame's image (a ``.pkg.slp``); a ``.slp``
    keeps frames embedded where they come from a labeler's package and refers to videos
    for the rest."""
    return Path(output).name.lower().endswith(".pkg.slp")


def write_consensus_labels(labels: sio.Labels, output: PathLike) -> Path:
    """Save the consensus labels as ``labels merge`` saves its output (atomic; an existing
    file of user labels is backed up; frames embedded in a ``.pkg.slp``).

    Raises:
        DataError: frames to embed cannot be read (the first named).
    """
    from posekit.refinement.merge import write_merged

    return write_merged(labels, output)


def output_video_name(video: sio.Video, output: PathLike | None, embed_all: bool = False) -> str:
    """The filename the frame's video has when the output is loaded back with posekit: the
    output file itself where its frames are embedded (``embed_all``, or an embedded video),
    else the video's path (an image list: its folder)."""
    from posekit.io.slp import is_embedded

    if output is not None and (embed_all or is_embedded(video)):
        return Path(output).resolve().as_posix()
    name = video.filename
    if isinstance(name, (list, tuple)):
        return Path(str(name[0])).parent.as_posix() if name else ""
    return str(name)


def consensus_labels(lset: LabelerSet, consensus: np.ndarray) -> sio.Labels:
    """The consensus as labels: one user instance per animal per frame.

    Each frame is read from the first readable video file among the labelers' copies,
    else an embedded copy (as ``posekit labels merge`` chooses). Frames only one labeler
    labelled keep that labeler's instances.
    """
    import sleap_io as sio

    from posekit.refinement.merge import _location

    tracks = {name: sio.Track(name) for name in dict.fromkeys(t for t in lset.target_track if t)}
    videos: list = []
    frames = []
    for frame in lset.frames:
        video, idx = _location(frame.locations)
        if not any(video is v for v in videos):
            videos.append(video)
        instances = [
            sio.Instance.from_numpy(consensus[t], skeleton=lset.skeleton,
                                    track=tracks.get(lset.target_track[t] or ""))
            for t in frame.targets if np.isfinite(consensus[t]).all(axis=-1).any()]
        frames.append(sio.LabeledFrame(video=video, frame_idx=idx, instances=instances))
    return sio.Labels(labeled_frames=frames, videos=videos, skeletons=[lset.skeleton],
                      tracks=list(tracks.values()))


def frame_records(labels: sio.Labels, lset: LabelerSet, frame_ila: np.ndarray,
                  output: PathLike | None) -> list[dict]:
    """Per frame: ``video`` (see :func:`output_video_name`), ``frame_idx``, ``ila_px``
    (4 decimals, None without a pair of labelers), ``n_labelers``, ``in_consensus``."""
    embed_all = output is not None and embeds_every_frame(labels, output)
    records = []
    for lf, frame, ila in zip(labels.labeled_frames, lset.frames, frame_ila, strict=True):
        records.append({
            "video": output_video_name(lf.video, output, embed_all),
            "frame_idx": int(lf.frame_idx),
            "ila_px": round(float(ila), 4) if np.isfinite(ila) else None,
            "n_labelers": len(frame.labelers), "in_consensus": frame.in_consensus})
    return records


def ila_csv_text(records: Sequence[dict]) -> str:
    """The frame records as CSV (:data:`posekit.refinement.frame_weights.ILA_COLUMNS`, read back
    by :func:`posekit.refinement.frame_weights.read_ila_csv`; an empty ``ila_px`` is null, booleans are
    ``true`` / ``false``)."""
    import csv
    import io

    from posekit.refinement.frame_weights import ILA_COLUMNS

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(ILA_COLUMNS)
    for r in records:
        writer.writerow([r["video"], r["frame_idx"], "" if r["ila_px"] is None else r["ila_px"],
                         r["n_labelers"], "true" if r["in_consensus"] else "false"])
    return buffer.getvalue()


def consensus_labels_files(
    paths: Sequence[PathLike],
    output: PathLike | None = None,
    *,
    names: Sequence[str] | str | None = None,
    gold: str | None = None,
    settings: ConsensusSettings | None = None,
    match_basename: bool = True,
) -> tuple[sio.Labels, ConsensusReport]:
    """The consensus of several labelers' files, and its report.

    Args:
        paths: one labels file per labeler (``.slp``, ``.pkg.slp``, DeepLabCut project).
        output: where to write the consensus (``.slp`` or ``.pkg.slp``, with
            ``OUT.ila.csv`` beside it); None to only return it.
        names: labeler names (default: the file stems).
        gold: a labeler to compare every other labeler with (the report's ``gold``).
        settings: aggregation and report settings (the guide's defaults).
        match_basename: also match videos by file name and shape (else by path only).

    Returns:
        The consensus labels (provenance ``posekit_consensus``: ``labelers`` and one record
        per frame, see :func:`frame_records`) and the report.

    Raises:
        DataError: fewer than two files, the output is a labeler file, a file fails to
            load, or the skeletons differ.
        ConfigError: bad names or an unknown gold labeler.
    """
    from posekit import __version__
    from posekit.refinement.consensus import aggregate
    from posekit.refinement.consensus_report import build_report
    from posekit.utils import atomic_write_text

    if output is not None:
        check_consensus_output(output, paths)
    settings = settings or ConsensusSettings()
    lset = load_labeler_files(paths, names, match_basename=match_basename)
    agg = aggregate(lset.points, settings.mad_factor, settings.min_mad_px)
    report, frame_ila = build_report(lset, agg, settings, gold)
    labels = consensus_labels(lset, agg.consensus)
    records = frame_records(labels, lset, frame_ila, output)
    labels.provenance = {
        "posekit_consensus": {"labelers": list(lset.names), "frames": records},
        "posekit_consensus_run": {
            "sources": [Path(p).resolve().as_posix() for p in lset.paths],
            "settings": settings.to_dict(), "gold": gold, "posekit_version": __version__},
    }
    if output is not None:
        report.output = str(write_consensus_labels(labels, output))
        csv_path = output_sibling(output, ".ila.csv")
        report.ila_csv = str(atomic_write_text(csv_path, ila_csv_text(records)))
    return labels, report
