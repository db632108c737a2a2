"""Writing labels and predictions: ``.slp`` (sleap-io), analysis CSV and analysis HDF5.

Every writer is atomic: it writes a temporary file next to the target and renames it,
so an interrupted run never leaves a half-written file, and an existing file is only
replaced by a complete one.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from posekit.errors import DataError
from posekit.io.slp import is_embedded
from posekit.utils import atomic_path

if TYPE_CHECKING:
    import sleap_io as sio

PathLike = str | os.PathLike[str]
SLEAP_EMBED_MODES = ("all", "user", "suggestions", "user+suggestions", "source")


def _embed_argument(labels: sio.Labels, embed: bool | str) -> bool | str | list:
    """Translate posekit's ``embed`` into sleap-io's ``save_slp`` argument."""
    if embed == "auto":
        keep = [(lf.video, lf.frame_idx) for lf in labels.labeled_frames if is_embedded(lf.video)]
        return keep if keep else False
    if isinstance(embed, bool) or embed in SLEAP_EMBED_MODES:
        return embed
    raise DataError(
        f"embed: unknown value {embed!r}; expected False, True, 'auto', or one of "
        f"{list(SLEAP_EMBED_MODES)}."
    )


def save_labels(labels: sio.Labels, path: PathLike, embed: bool | str = False) -> Path:
    """Save labels as a SLEAP ``.slp`` file (atomic), with sleap-io's writer.

    Args:
        labels: the labels.
        path: output ``.slp`` / ``.pkg.slp`` path.
        embed: ``False`` stores video references. sleap-io then points frames that were
            embedded (loaded from a ``.pkg.slp``) back at their *source* video, which may
            be unreachable. ``"auto"`` keeps those frames embedded (PNG bytes copied as
            they are) and references every other video: use it for training splits.
            ``True`` / ``"all"`` / ``"user"`` / ... embed frames as in sleap-io.

    Returns:
        The output path.

    Raises:
        DataError: the name does not end in ``.slp`` or ``embed`` is unknown.
        PosekitError: the output folder does not exist.
    """
    path = Path(path)
    if not path.name.lower().endswith(".slp"):
        raise DataError(
            f"{path}: labels are saved as SLEAP files; expected a name ending in .slp or "
            ".pkg.slp. Use export_csv / export_analysis_h5 for other formats."
        )
    from sleap_io.io.slp import write_labels

    arg = _embed_argument(labels, embed)
    with atomic_path(path) as tmp, _readable_sources(labels):
        # A list (embed="auto") keeps the other videos as references: sleap-io would
        # otherwise turn every video into an empty embedded one (embed_all_videos).
        write_labels(tmp.as_posix(), labels, embed=arg, verbose=False,
                     embed_all_videos=not isinstance(arg, list))
        backup_user_labels(path)
    return path


def backup_name(path: Path, stamp: str) -> Path:
    """``labels.pkg.slp`` → ``labels.backup-<stamp>.pkg.slp`` (still loadable as SLEAP)."""
    ext = ".pkg.slp" if path.name.lower().endswith(".pkg.slp") else path.suffix
    return path.with_name(f"{path.name[: len(path.name) - len(ext)]}.backup-{stamp}{ext}")


def backup_user_labels(path: Path) -> Path | None:
    """Copy an existing ``.slp`` that holds user-labelled instances (or cannot be read) to a
    time-stamped backup before it is replaced. Files of predictions only, and synthetic
    labels (re-rendered from their seed at will), are replaced as they are. Returns the
    backup's path, or None when none was needed."""
    import shutil
    import warnings
    from datetime import datetime

    import sleap_io as sio

    if not path.is_file():
        return None
    try:
        old = sio.load_slp(path.as_posix(), open_videos=False)
        has_user = "posekit_synthetic" not in (old.provenance or {}) and any(
            lf.user_instances for lf in old.labeled_frames)
    except Exception:  # noqa: BLE001 - unreadable: keep it, the user may still want it
        has_user = True
    if not has_user:
        return None
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    backup = backup_name(path, stamp)
    shutil.copy2(path, backup)
    warnings.warn(f"{path} held user labels; the previous file was kept as {backup}.",
                  stacklevel=3)
    return backup


@contextmanager
def _readable_sources(labels: sio.Labels) -> Iterator[None]:
    """Hide ``source_video`` links sleap-io cannot read back while saving (then restore).

    sleap-io records where embedded frames came from; when that source is an image list
    (an imported DeepLabCut project) or itself has a source, the file it writes cannot be
    loaded again. Such links are left out of the saved file; the frames are unaffected.
    """
    hidden = []
    for video in labels.videos:
        source = getattr(video, "source_video", None)
        if source is None:
            continue
        if isinstance(source.filename, (list, tuple)) or getattr(source, "source_video", None):
            hidden.append((video, source))
            video.source_video = None
    try:
        yield
    finally:
        for video, source in hidden:
            video.source_video = source


def _video_frames(labels: sio.Labels, video: sio.Video | int | None) -> tuple[int, list]:
    """Index of the selected video and its labelled frames sorted by frame index."""
    if video is None:
        videos = [v for v in labels.videos if any(lf.video is v for lf in labels.labeled_frames)]
        if len(videos) > 1:
            names = [str(v.filename)[:80] for v in videos]
            raise DataError(
                f"labels: frames of {len(videos)} videos ({names}); expected one. Pass "
                "video=<index> to export one video per file."
            )
        index = labels.videos.index(videos[0]) if videos else 0
    elif isinstance(video, int):
        if not 0 <= video < len(labels.videos):
            raise DataError(
                f"video: index {video} out of range; expected 0..{len(labels.videos) - 1}."
            )
        index = video
    else:
        index = next((i for i, v in enumerate(labels.videos) if v is video), -1)
        if index < 0:
            raise DataError("video: the given Video is not part of these labels.")
    target = labels.videos[index] if labels.videos else None
    frames = sorted(
        (lf for lf in labels.labeled_frames if lf.video is target), key=lambda lf: lf.frame_idx
    )
    return index, frames


def instance_rows(
    labels: sio.Labels, video: sio.Video | int | None = None
) -> dict[str, np.ndarray]:
    """Per-instance arrays of one video: frame, track, scores and points.

    Returns a dict with ``frame_idx (I,)``, ``track (I,)`` (names, "" without track),
    ``instance_score (I,)`` (NaN for user instances), ``points (I, n_nodes, 2)`` and
    ``point_scores (I, n_nodes)`` (NaN for user instances), in frame order.
    """
    import sleap_io as sio

    _, frames = _video_frames(labels, video)
    n_nodes = len(labels.skeleton.node_names) if labels.skeletons else 0
    frame_idx, tracks, scores, pts, pscores = [], [], [], [], []
    for lf in frames:
        for inst in lf.instances:
            predicted = isinstance(inst, sio.PredictedInstance)
            frame_idx.append(lf.frame_idx)
            tracks.append(inst.track.name if inst.track is not None else "")
            scores.append(float(inst.score) if predicted else np.nan)
            pts.append(inst.numpy())
            pscores.append(inst.points["score"] if predicted else np.full(n_nodes, np.nan))
    return {
        "frame_idx": np.asarray(frame_idx, dtype=np.int64),
        "track": np.asarray(tracks, dtype=object),
        "instance_score": np.asarray(scores, dtype=np.float64),
        "points": np.asarray(pts, dtype=np.float64).reshape(-1, n_nodes, 2),
        "point_scores": np.asarray(pscores, dtype=np.float64).reshape(-1, n_nodes),
    }


def export_csv(labels: sio.Labels, path: PathLike, video: sio.Video | int | None = None) -> Path:
    """Write one video's instances as a SLEAP analysis CSV (atomic).

    One row per instance per labelled frame; columns ``track``, ``frame_idx``,
    ``instance.score`` then ``<node>.x``, ``<node>.y``, ``<node>.score`` for every node
    in skeleton order. Missing points are empty cells; user instances have empty scores.
    sleap-io's ``load_csv`` reads the file back (its own writer sorts node columns
    alphabetically; this one keeps skeleton order).

    Raises:
        DataError: the labels hold several videos and ``video`` is not given.
    """
    import pandas as pd

    rows = instance_rows(labels, video)
    columns: dict[str, np.ndarray] = {
        "track": rows["track"],
        "frame_idx": rows["frame_idx"],
        "instance.score": rows["instance_score"],
    }
    for j, name in enumerate(labels.skeleton.node_names):
        columns[f"{name}.x"] = rows["points"][:, j, 0]
        columns[f"{name}.y"] = rows["points"][:, j, 1]
        columns[f"{name}.score"] = rows["point_scores"][:, j]
    table = pd.DataFrame(columns)
    path = Path(path)
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False, na_rep="")
    return path


def export_analysis_h5(
    labels: sio.Labels, path: PathLike, video: sio.Video | int | None = None
) -> Path:
    """Write one video as a SLEAP analysis HDF5 file (atomic), with sleap-io's writer.

    Layout (SLEAP's, as read with h5py): ``tracks (n_tracks, 2, n_nodes, n_frames)``,
    ``track_occupancy (n_frames, n_tracks)``, ``point_scores (n_tracks, n_nodes,
    n_frames)``, ``instance_scores`` / ``tracking_scores (n_tracks, n_frames)``,
    ``node_names``, ``track_names``, ``edge_names``, ``edge_inds``, ``video_path``,
    ``labels_path``. Frames span 0 .. the video's last frame. Without tracks, each
    frame's instances fill slots ``track_0``, ``track_1``, ...; in tracked labels,
    instances without a track are left out (as in SLEAP).

    Raises:
        DataError: several videos and no ``video``, or no labelled frames.
    """
    import sleap_io as sio

    index, frames = _video_frames(labels, video)
    if not frames:
        raise DataError(f"{path}: nothing to export; expected labelled frames in video {index}.")
    path = Path(path)
    with atomic_path(path) as tmp:
        sio.save_analysis_h5(
            labels,
            tmp.as_posix(),
            video=index,
            labels_path=labels.provenance.get("filename"),
        )
    return path
