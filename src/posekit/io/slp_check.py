"""Checks of SLEAP ``.slp`` / ``.pkg.slp`` files around sleap-io's reader.

sleap-io reads a well-formed file; on a malformed one it raises a bare ``KeyError`` /
``IndexError`` / ``ValueError`` (or, for some damage, reads something else without a
word). These checks turn each known case into a :class:`~posekit.errors.DataError`
naming the file, what was found and what was expected:

* before reading: an HDF5 container that is truncated / damaged or lacks the SLEAP
  datasets (with a hint when it is a DeepLabCut table or a SLEAP analysis export);
* when sleap-io fails: instances pointing at a skeleton, track or point range that does
  not exist, or holding a different number of points than their skeleton has nodes;
* after reading: embedded images of a ``.pkg.slp`` that are missing for user-labelled
  frames, and instances that use different skeletons. Skeletons with the same node
  names are merged into one (a repair, reported); different node sets are an error.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from posekit.errors import DataError
from posekit.io.repairs import report_repair

if TYPE_CHECKING:
    import h5py
    import sleap_io as sio

SLEAP_DATASETS = (
    "metadata",
    "videos_json",
    "tracks_json",
    "frames",
    "instances",
    "points",
    "pred_points",
)
_REEXPORT = (
    "Re-export it from SLEAP (or re-copy it: a partial copy or an interrupted save does this)."
)


def _other_hdf5_kind(f: h5py.File) -> str:
    """A hint for an HDF5 file that is not a SLEAP labels file."""
    keys = sorted(f.keys())
    if not keys:
        return " It holds nothing at all (an interrupted save?)."
    pandas = "df_with_missing" in keys or any("pandas_type" in f[k].attrs for k in keys)
    if pandas:
        return (
            " It holds a pandas table: a DeepLabCut CollectedData / machinelabels .h5? "
            "Pass the DeepLabCut project folder (or its config.yaml) instead."
        )
    if "tracks" in keys and "node_names" in keys:
        return (
            " It is a SLEAP analysis export (tracks, node_names arrays); pass the .slp it "
            "was exported from."
        )
    return f" It holds {keys[:8]}."


def check_slp_container(path: Path) -> None:
    """DataError unless ``path`` opens as HDF5 and holds the SLEAP labels datasets."""
    import h5py

    try:
        with h5py.File(path, "r") as f:
            missing = [name for name in SLEAP_DATASETS if name not in f]
            hint = _other_hdf5_kind(f) if len(missing) == len(SLEAP_DATASETS) else ""
            no_json = "metadata" in f and "json" not in f["metadata"].attrs
    except OSError as exc:
        why = "is truncated" if "truncated" in str(exc) else "is a damaged HDF5 file"
        raise DataError(
            f"{path}: {why} ({exc}); expected a complete SLEAP labels file. {_REEXPORT}"
        ) from exc
    if hint:
        raise DataError(
            f"{path}: is an HDF5 file without the SLEAP datasets {list(SLEAP_DATASETS)}; "
            f"expected a SLEAP labels file (.slp).{hint}"
        )
    if missing:
        raise DataError(
            f"{path}: the SLEAP datasets {missing} are missing; expected all of "
            f"{list(SLEAP_DATASETS)} in a labels file. The file is damaged. {_REEXPORT}"
        )
    if no_json:
        raise DataError(
            f"{path}: the 'metadata' group has no 'json' attribute (it holds the skeletons); "
            f"expected SLEAP's metadata. The file is damaged. {_REEXPORT}"
        )


def _skeleton_sizes(path: Path) -> list[tuple[str, int]] | str:
    """``(name, n_nodes)`` per skeleton, or why the metadata cannot be read."""
    from sleap_io.io.slp import read_skeletons

    try:
        skeletons = read_skeletons(str(path))
    except Exception as exc:  # noqa: BLE001 - the reason goes into the message
        return f"its metadata JSON (skeletons) cannot be read ({type(exc).__name__}: {exc})"
    return [(s.name or f"#{i}", len(s.node_names)) for i, s in enumerate(skeletons)]


def _instance_problem(
    instances: np.ndarray,
    skeletons: list[tuple[str, int]],
    n_tracks: int,
    n_points: dict[int, int],
    where: list[str],
) -> str | None:
    """The first instance that refers to something missing or disagrees with its skeleton."""
    skel = instances["skeleton"].astype(np.int64)
    track = instances["track"].astype(np.int64)
    start = instances["point_id_start"].astype(np.int64)
    end = instances["point_id_end"].astype(np.int64)
    kind = instances["instance_type"].astype(np.int64)
    for i in range(len(instances)):
        label = f"instance {i} ({where[i]})"
        if not 0 <= skel[i] < len(skeletons):
            return f"{label} uses skeleton {skel[i]}, but the file defines {len(skeletons)}"
        if track[i] >= n_tracks:
            return f"{label} belongs to track {track[i]}, but the file defines {n_tracks}"
        table = "pred_points" if kind[i] == 1 else "points"
        if end[i] > n_points[int(kind[i] == 1)]:
            return f"{label} has points up to {end[i]}, past the end of '{table}'"
        name, n_nodes = skeletons[int(skel[i])]
        if end[i] - start[i] != n_nodes:
            return (
                f"{label} has {end[i] - start[i]} points, but its skeleton {name!r} has "
                f"{n_nodes} nodes (the instances disagree with their skeleton)"
            )
    return None


def _structure_problem(path: Path) -> str | None:
    """What in the file's tables is inconsistent (None when nothing is found)."""
    import h5py

    skeletons = _skeleton_sizes(path)
    if isinstance(skeletons, str):
        return skeletons
    with h5py.File(path, "r") as f:
        frames = f["frames"][:]
        instances = f["instances"][:]
        n_tracks = len(f["tracks_json"])
        n_videos = len(f["videos_json"])
        n_points = {0: len(f["points"]), 1: len(f["pred_points"])}
    if len(frames) and int(frames["instance_id_end"].max()) > len(instances):
        return f"its frames refer to instances past the end of 'instances' ({len(instances)})"
    videos = frames["video"].astype(np.int64)
    if len(frames) and (videos.min() < 0 or len(set(videos.tolist())) > n_videos):
        return (
            f"its frames refer to videos {sorted(set(videos.tolist()))}, but it defines {n_videos}"
        )
    row_of = {int(fid): r for r, fid in enumerate(frames["frame_id"])}
    where = []
    for fid in instances["frame_id"]:
        r = row_of.get(int(fid))
        where.append(
            f"video {frames['video'][r]}, frame_idx {frames['frame_idx'][r]}"
            if r is not None
            else f"frame id {fid} (not in 'frames')"
        )
    return _instance_problem(instances, skeletons, n_tracks, n_points, where)


def load_failure_message(path: Path, exc: Exception) -> str:
    """The DataError text for a file sleap-io could not read, as specific as possible."""
    try:
        problem = _structure_problem(path)
    except Exception:  # noqa: BLE001 - the diagnosis is best effort; sleap-io's error stays
        problem = None
    found = f"{type(exc).__name__}: {exc}"
    if problem:
        return (
            f"{path}: {problem} (sleap-io: {found}); expected every instance to match a "
            f"skeleton, track and point range of the file. The file is damaged. {_REEXPORT}"
        )
    why = "is truncated" if "truncated" in str(exc) else "is corrupt or not a SLEAP labels file"
    return f"{path}: {why} ({found}); expected a complete SLEAP labels file. {_REEXPORT}"


def _embedded_dataset(video: sio.Video) -> str | None:
    """The HDF5 dataset holding ``video``'s embedded images (e.g. ``video0/video``)."""
    backend = video.backend
    dataset = getattr(backend, "dataset", None) if backend is not None else None
    return dataset or (video.backend_metadata or {}).get("dataset") or None


def check_embedded_images(path: Path, labels: sio.Labels, embedded: list[sio.Video]) -> None:
    """DataError when a video embedded in ``path`` lacks images of user-labelled frames.

    Frames with predictions only may lack images: sleap-io's ``embed="user"`` packages
    embed the user-labelled frames only.
    """
    import h5py

    with h5py.File(path, "r") as f:
        for video in embedded:
            dataset = _embedded_dataset(video)
            if not dataset:
                continue
            index = labels.videos.index(video)
            group = dataset.rsplit("/", 1)[0]
            user = sorted(
                {
                    lf.frame_idx
                    for lf in labels.labeled_frames
                    if lf.video is video and lf.has_user_instances
                }
            )
            if dataset not in f:
                raise DataError(
                    f"{path}: the embedded images of video {index} ('{dataset}') are "
                    f"missing ({len(user)} user-labelled frames need them); expected the "
                    "frames inside this .pkg.slp. Re-export the package (SLEAP: Export "
                    "Labels Package; sleap-io: save_slp(..., embed='user')), or load the "
                    ".slp that references the original video."
                )
            if f"{group}/frame_numbers" not in f:
                raise DataError(
                    f"{path}: '{group}/frame_numbers' is missing, so the {len(f[dataset])} "
                    f"embedded images of video {index} cannot be matched to frames; expected "
                    f"it next to '{dataset}'. The file is damaged. {_REEXPORT}"
                )
            numbers = set(np.asarray(f[f"{group}/frame_numbers"]).tolist())
            lacking = [fi for fi in user if fi not in numbers]
            if lacking:
                raise DataError(
                    f"{path}: {len(lacking)} of {len(user)} user-labelled frames of video "
                    f"{index} have no embedded image in '{dataset}' (frame_idx "
                    f"{lacking[:5]}); expected every labelled frame's image inside the "
                    f"package. {_REEXPORT}"
                )


def _node_difference(first: Any, other: Any) -> str:
    """Which node names only one of two skeletons has (for messages)."""
    a, b = list(first.node_names), list(other.node_names)
    return (
        f"nodes only in {first.name!r}: {[n for n in a if n not in b]}; "
        f"only in {other.name!r}: {[n for n in b if n not in a]}"
    )


def unify_skeletons(labels: sio.Labels, path: Path) -> list[str]:
    """Make every instance use one skeleton; returns the repair messages (warned too).

    Skeletons with the same node names (any order) are merged into the first one used
    (points matched by node name); skeletons no instance uses are dropped.

    Raises:
        DataError: instances use skeletons with different node names.
    """
    counts = Counter(id(inst.skeleton) for lf in labels.labeled_frames for inst in lf.instances)
    listed = list(labels.skeletons)
    for lf in labels.labeled_frames:
        for inst in lf.instances:
            if not any(inst.skeleton is s for s in listed):
                listed.append(inst.skeleton)
    used = [s for s in listed if id(s) in counts]
    if not used:
        return []
    primary, messages = used[0], []
    for other in used[1:]:
        if sorted(other.node_names) != sorted(primary.node_names):
            raise DataError(
                f"{path}: instances use different skeletons: {primary.name!r} "
                f"({counts[id(primary)]} instances) and {other.name!r} "
                f"({counts[id(other)]} instances) ({_node_difference(primary, other)}); "
                "expected one skeleton for all instances. Merge the skeletons in SLEAP, or "
                "delete the instances of one, and save again."
            )
    for other in used[1:]:
        same_edges = {tuple(sorted(e)) for e in other.edge_names} == {
            tuple(sorted(e)) for e in primary.edge_names
        }
        for lf in labels.labeled_frames:
            for inst in lf.instances:
                if inst.skeleton is other:
                    inst.replace_skeleton(primary)
        messages.append(
            f"{counts[id(other)]} instances use skeleton {other.name!r}, which has the same "
            f"nodes as {primary.name!r}; they were re-pointed to {primary.name!r} (points "
            f"matched by node name{'' if same_edges else ', its other edges ignored'})."
        )
    unused = [s.name for s in listed if id(s) not in counts]
    if unused:
        messages.append(f"skeletons {unused} are used by no instance and were dropped.")
    labels.skeletons = [primary]
    return [report_repair(path, m, stacklevel=4) for m in messages]
