"""Loading SLEAP ``.slp`` / ``.pkg.slp`` files with sleap-io, with robust video paths.

sleap-io resolves a stored video path relative to the *working directory* first. posekit
resolves it relative to the *labels file* first (so a project folder can be moved or
used from anywhere), then as stored, then as ``<labels folder>/<basename>``. A video that
cannot be found is left closed: loading never fails because of it, and reading one of
its frames raises a :class:`~posekit.errors.VideoError` naming the file.

Malformed files (empty, not HDF5, truncated, without the SLEAP datasets, inconsistent
tables, missing embedded images, instances on different skeletons) raise a
:class:`~posekit.errors.DataError` naming the file and the problem; see
:mod:`posekit.io.slp_check`.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import TYPE_CHECKING

from posekit.errors import DataError
from posekit.io.repairs import record_repairs
from posekit.io.slp_check import (
    check_embedded_images,
    check_slp_container,
    load_failure_message,
    unify_skeletons,
)

if TYPE_CHECKING:
    import sleap_io as sio

_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def _basename(stored: str) -> str:
    """Last path component of a stored path written on any OS."""
    if "\\" in stored or (len(stored) > 1 and stored[1] == ":"):
        return PureWindowsPath(stored).name
    return PurePosixPath(stored).name


def video_path_candidates(stored: str, labels_dir: Path) -> list[Path]:
    """Places to look for a stored video path, best first.

    1. relative to the labels file's folder (when the stored path is relative),
    2. the stored path itself (absolute, or relative to the working directory),
    3. ``<labels folder>/<basename>`` (the video moved together with the labels file).
    """
    candidates: list[Path] = []
    posix = stored.replace("\\", "/")
    is_windows_abs = len(posix) > 1 and posix[1] == ":"
    if not Path(posix).is_absolute() and not is_windows_abs:
        candidates.append(labels_dir / posix)
    if not is_windows_abs:
        candidates.append(Path(posix))
    name = _basename(stored)
    if name:
        candidates.append(labels_dir / name)
    unique: list[Path] = []
    for cand in candidates:
        if cand not in unique:
            unique.append(cand)
    return unique


def resolve_video_path(stored: str, labels_dir: Path) -> Path | None:
    """First existing candidate from :func:`video_path_candidates`, or None."""
    for cand in video_path_candidates(stored, labels_dir):
        if cand.is_file() or cand.is_dir():
            return cand.resolve()
    return None


def is_embedded(video: sio.Video) -> bool:
    """Whether ``video``'s frames are stored inside a labels file."""
    backend = video.backend
    if backend is not None and getattr(backend, "has_embedded_images", False):
        return True
    return bool((video.backend_metadata or {}).get("has_embedded_images"))


def _open_in_place(video: sio.Video) -> None:
    """Open ``video``'s backend keeping the stored grayscale flag; failures leave it closed."""
    meta = video.backend_metadata or {}
    grayscale = meta.get("grayscale")
    if grayscale is None and meta.get("shape"):
        grayscale = int(meta["shape"][-1]) == 1
    try:
        video.open(dataset=meta.get("dataset") or None, grayscale=grayscale)
    except Exception:  # noqa: BLE001 - stays closed; reading a frame reports the file
        video.close()


def _relink(video: sio.Video, labels_dir: Path, open_backend: bool) -> None:
    """Point ``video`` (not embedded) at the first existing candidate path."""
    meta = video.backend_metadata or {}
    keep = {k: meta[k] for k in ("grayscale", "shape", "fps") if k in meta}
    filename = video.filename
    if isinstance(filename, list):
        resolved = []
        for stored in filename:
            found = resolve_video_path(str(stored), labels_dir)
            resolved.append(found.as_posix() if found is not None else str(stored))
        changed = resolved != filename
        if changed:
            video.replace_filename(resolved, open=False)
    else:
        found = resolve_video_path(str(filename), labels_dir)
        changed = found is not None and found.as_posix() != filename
        if changed:
            video.replace_filename(found.as_posix(), open=False)
    if changed:  # same file content: the stored metadata still describes it
        video.backend_metadata.update(keep)
    if open_backend and video.exists():
        _open_in_place(video)


def check_labels_file(path: Path) -> None:
    """Raise DataError unless ``path`` is an existing, non-empty HDF5 file (what .slp is)."""
    if not path.exists():
        raise DataError(
            f"{path}: file not found; expected a SLEAP labels file (.slp / .pkg.slp). "
            "Check the path (relative paths are resolved from the working directory)."
        )
    if path.is_dir():
        raise DataError(
            f"{path}: is a folder; expected a .slp file. For a DeepLabCut project pass "
            "the folder that holds config.yaml."
        )
    if path.stat().st_size == 0:
        raise DataError(
            f"{path}: is empty (0 bytes); expected a SLEAP labels file (.slp). An "
            "interrupted save or copy leaves an empty file: re-export or re-copy it."
        )
    with open(path, "rb") as fh:
        head = fh.read(8)
    if head != _HDF5_SIGNATURE:
        kind = "a PNG image" if head.startswith(b"\x89PNG") else "not an HDF5 file"
        raise DataError(
            f"{path}: is {kind}; expected a SLEAP labels file (.slp, an HDF5 container). "
            "Pass the .slp written by SLEAP/sleap-io/posekit; images and videos are inputs "
            "for prediction, not labels."
        )


def load_slp_labels(path: str | os.PathLike[str], open_videos: bool = True) -> sio.Labels:
    """Load a ``.slp`` or ``.pkg.slp`` file with sleap-io and resolve its video paths.

    Args:
        path: labels file.
        open_videos: open the video decoders now (False only records paths).

    Returns:
        The sleap-io ``Labels``; ``provenance["filename"]`` is the absolute path.

    Raises:
        DataError: missing or empty file, not an HDF5 file, a truncated / corrupt file,
            one without the SLEAP datasets or with inconsistent tables, user-labelled
            frames without embedded images, or instances on skeletons with different
            nodes. Skeletons with the same nodes are merged (reported as a
            :class:`~posekit.io.repairs.LabelsRepairWarning` and in
            ``provenance["posekit_repairs"]``).
    """
    import sleap_io as sio

    path = Path(path)
    check_labels_file(path)
    check_slp_container(path)
    abs_path = path.resolve()
    try:
        labels = sio.load_slp(abs_path.as_posix(), open_videos=False)
    except Exception as exc:
        raise DataError(load_failure_message(path, exc)) from exc
    inside = [
        v for v in labels.videos if isinstance(v.filename, str) and Path(v.filename) == abs_path
    ]
    check_embedded_images(path, labels, inside)
    repairs = unify_skeletons(labels, path)
    labels_dir = abs_path.parent
    for video in labels.videos:
        if any(video is v for v in inside) or is_embedded(video):
            if open_videos:
                _open_in_place(video)
        else:
            _relink(video, labels_dir, open_videos)
        source = video.source_video
        if source is not None and not is_embedded(source):
            _relink(source, labels_dir, open_backend=False)
    labels.provenance["filename"] = abs_path.as_posix()
    record_repairs(labels, repairs)
    return labels
