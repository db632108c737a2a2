"""One entry point for every labels format, and merging several files for training."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from posekit.errors import DataError
from posekit.io.dlc import find_dlc_config, is_dlc_table_file, load_dlc_project
from posekit.io.images import IMAGE_EXTENSIONS
from posekit.io.repairs import record_repairs, repairs_of
from posekit.io.slp import load_slp_labels

if TYPE_CHECKING:
    import sleap_io as sio

PathLike = str | os.PathLike[str]
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".mj2", ".webm", ".m4v", ".mpg", ".mpeg")


def labels_format(path: PathLike) -> str:
    """Which reader handles ``path``: ``"slp"``, ``"pkg.slp"`` or ``"dlc"``.

    Raises:
        DataError: the path is missing or is not a supported labels format.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(
            f"{path}: not found; expected a labels file (.slp / .pkg.slp) or a DeepLabCut "
            "project (folder or config.yaml). Check the path."
        )
    name = path.name.lower()
    if name.endswith(".pkg.slp"):
        return "pkg.slp"
    if name.endswith(".slp"):
        return "slp"
    if find_dlc_config(path) is not None:
        return "dlc"
    if is_dlc_table_file(path):
        raise DataError(
            f"{path}: DeepLabCut table without its project (no config.yaml in the folders "
            "above it); expected it in <project>/labeled-data/<video>/. Pass the table inside "
            "its DeepLabCut project (the config gives the bodyparts and their order)."
        )
    if path.is_dir():
        raise DataError(
            f"{path}: folder without config.yaml; expected a DeepLabCut project folder. "
            "For prediction on an image folder use it as a frame source instead."
        )
    suffix = path.suffix.lower()
    hint = ""
    if suffix in VIDEO_EXTENSIONS or suffix in IMAGE_EXTENSIONS:
        hint = " Videos and images are inputs for prediction, not labels."
    raise DataError(
        f"{path}: unsupported labels format '{suffix or path.name}'; expected .slp, .pkg.slp, "
        f"a DeepLabCut project folder or its config.yaml.{hint}"
    )


def load_labels(path: PathLike) -> sio.Labels:
    """Load labels from a ``.slp``, ``.pkg.slp`` or DeepLabCut project.

    Video paths stored in ``.slp`` files resolve relative to the labels file first;
    DeepLabCut image paths resolve relative to the project folder. Unreachable videos
    do not stop loading; reading one of their frames raises VideoError.

    Raises:
        DataError: missing path, unsupported or corrupt file, inconsistent DLC project.
    """
    fmt = labels_format(path)
    if fmt == "dlc":
        return load_dlc_project(path)
    return load_slp_labels(path)


def used_skeleton(labels: sio.Labels, source: PathLike | str) -> sio.Skeleton:
    """The one skeleton the instances use (DataError if they use several or none)."""
    used: list[sio.Skeleton] = []
    for lf in labels.labeled_frames:
        for inst in lf.instances:
            if not any(inst.skeleton is s for s in used):
                used.append(inst.skeleton)
    skeletons = used or list(labels.skeletons)
    if not skeletons:
        raise DataError(f"{source}: the labels have no skeleton; expected one skeleton.")
    names = {tuple(s.node_names) for s in skeletons}
    if len(names) > 1:
        raise DataError(
            f"{source}: instances use {len(names)} different skeletons "
            f"({[list(n) for n in names]}); expected one. Merge them in SLEAP first."
        )
    return skeletons[0]


def used_node_names(labels: sio.Labels, source: PathLike | str) -> list[str]:
    """Node names of the one skeleton the labels use."""
    return list(used_skeleton(labels, source).node_names)


def check_same_nodes(
    first: Sequence[str],
    second: Sequence[str],
    first_src: PathLike | str,
    second_src: PathLike | str,
) -> None:
    """DataError naming both sources unless the node-name sets are equal."""
    only_first = [n for n in first if n not in second]
    only_second = [n for n in second if n not in first]
    if only_first or only_second:
        raise DataError(
            f"{second_src}: skeleton differs from {first_src} (nodes only in {first_src}: "
            f"{only_first}; nodes only in {second_src}: {only_second}); expected the same node "
            "names in every labels file. Rename or remove nodes so the skeletons match."
        )


def conform_labels(
    labels: sio.Labels,
    skeleton: sio.Skeleton,
    tracks: list[sio.Track],
    source: PathLike | str,
) -> None:
    """Re-point ``labels`` (in place) at ``skeleton`` and at ``tracks`` matched by name.

    Node order is adapted when the names are the same but ordered differently; track
    names not yet in ``tracks`` are appended to it.
    """
    names = used_node_names(labels, source)
    check_same_nodes(skeleton.node_names, names, skeleton.name or "the first file", source)
    by_name = {t.name: t for t in tracks}
    own = used_skeleton(labels, source)
    if own.node_names != skeleton.node_names:
        labels.reorder_nodes(skeleton.node_names, skeleton=own)
    for lf in labels.labeled_frames:
        for inst in lf.instances:
            inst.skeleton = skeleton
            if inst.track is not None:
                if inst.track.name not in by_name:
                    by_name[inst.track.name] = inst.track
                    tracks.append(inst.track)
                inst.track = by_name[inst.track.name]
    labels.skeletons = [skeleton]
    labels.tracks = list(tracks)


def merge_labels(parts: Sequence[tuple[PathLike | str, sio.Labels]]) -> sio.Labels:
    """Concatenate labels that share node names into one ``Labels`` (first file's skeleton).

    Raises:
        DataError: a file's node names differ from the first file's (both are named).
    """
    import sleap_io as sio

    if not parts:
        raise DataError("no labels files given; expected at least one path.")
    first_src, first = parts[0]
    if len(parts) == 1:
        return first
    skeleton = used_skeleton(first, first_src)
    base_names = list(skeleton.node_names)
    tracks = list(first.tracks)
    frames, videos = list(first.labeled_frames), list(first.videos)
    for src, labels in parts[1:]:
        check_same_nodes(base_names, used_node_names(labels, src), first_src, src)
        conform_labels(labels, skeleton, tracks, src)
        frames.extend(labels.labeled_frames)
        videos.extend(v for v in labels.videos if v not in videos)
    merged = sio.Labels(labeled_frames=frames, videos=videos, skeletons=[skeleton], tracks=tracks)
    merged.provenance["sources"] = [str(Path(src)) for src, _ in parts]
    record_repairs(merged, [m for _, labels in parts for m in repairs_of(labels)])
    return merged


def load_training_labels(paths: Sequence[PathLike] | PathLike) -> sio.Labels:
    """Load and merge one or several labels files that share a skeleton (node names).

    Raises:
        DataError: any file fails to load or holds no labelled frames, or two files have
            different node names (the message names both files and the differing nodes).
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    parts = []
    for path in paths:
        labels = load_labels(path)
        if not labels.labeled_frames:
            raise DataError(
                f"{path}: holds no labelled frames; expected labelled frames to train or "
                "validate on. Label frames first, or remove this file from the list."
            )
        parts.append((path, labels))
    return merge_labels(parts)
