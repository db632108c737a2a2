"""Which video is which, and what is known about each video (the metadata CSV).

**Video identity.** Label files made at different times (a ``.pkg.slp`` with embedded
frames, a ``.slp`` referring to the video, a DeepLabCut project) name the same recording
differently. A video is identified by its *origin*: the file its frames came from,
following embedded videos back to their ``source_video``. Two videos are the same
recording when (rules tried in this order):

* ``"path"``: their origins are the same file after resolving paths (for image lists:
  images in the same folder);
* ``"basename+shape"``: the origins have the same file name and the same known shape
  (frames, height, width); a video whose shape is not recorded matches by path only;
* ``"image folder"``: image lists (DeepLabCut ``labeled-data/<video>/``) in folders of the
  same name.

Frames of image lists are identified by image file (``folder/img012.png``), not by list
position, so a project that gained images between two files never shifts frames.

**Metadata CSV.** One row per video, a ``video`` column (a path relative to the CSV, or a
file name) and any other columns (animal, session, treatment, dose, camera, arena, ...).
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import TYPE_CHECKING

from posekit.errors import DataError
from posekit.io.slp import is_embedded

if TYPE_CHECKING:
    import sleap_io as sio

PathLike = str | os.PathLike[str]
VIDEO_COLUMN = "video"
MATCH_RULES = ("path", "basename+shape", "image folder")


def _base(name: str) -> str:
    """Last component of a path written on any OS."""
    if "\\" in name or (len(name) > 1 and name[1] == ":"):
        return PureWindowsPath(name).name
    return PurePosixPath(name).name


def _parent_name(name: str) -> str:
    """Name of the folder holding ``name`` (any OS)."""
    posix = name.replace("\\", "/")
    return PurePosixPath(posix).parent.name


def _resolved(name: str) -> str:
    """Absolute resolved path when the file exists, else the stored name (posix slashes)."""
    path = Path(name)
    if path.exists():
        return path.resolve().as_posix()
    return name.replace("\\", "/")


def _embedded_record(video: sio.Video) -> bool:
    return is_embedded(video) or bool((video.backend_metadata or {}).get("has_embedded_images"))


def origin_video(video: sio.Video) -> sio.Video:
    """The video the frames came from: ``video`` itself, or for embedded frames the first
    non-embedded video along its ``source_video`` chain (the last link when all are
    embedded)."""
    current, seen = video, 0
    while _embedded_record(current) and current.source_video is not None and seen < 16:
        current, seen = current.source_video, seen + 1
    return current


@contextmanager
def origin_sources(labels: sio.Labels) -> Iterator[None]:
    """While saving, link each embedded video straight to its origin (then restore).

    A file written from embedded frames records the video it copied them from, and that
    video's own source; deeper chains are cut when saving (sleap-io cannot read them back).
    Linking to the origin keeps every written file traceable to the recording, so splits
    and merges of merged files still match recordings.
    """
    changed = []
    for video in labels.videos:
        origin = origin_video(video)
        if origin is not video and origin is not video.source_video and not _embedded_record(
                origin):
            changed.append((video, video.source_video))
            video.source_video = origin
    try:
        yield
    finally:
        for video, source in changed:
            video.source_video = source


def _known_shape(video: sio.Video) -> tuple[int, int, int] | None:
    shape = (video.backend_metadata or {}).get("shape")
    if not shape:
        try:
            shape = video.shape
        except Exception:  # noqa: BLE001 - an unreadable video has no known shape
            shape = None
    if not shape or len(shape) < 3 or any(s is None for s in shape[:3]):
        return None
    return int(shape[0]), int(shape[1]), int(shape[2])


@dataclass(frozen=True)
class VideoIdentity:
    """What identifies a recording, whatever file its frames are read from.

    Attributes:
        name: Display name (the origin's file name; ``folder/`` for image lists).
        paths: Resolved origin paths (every image of an image list).
        basenames: The origin's file name (the folder name for image lists).
        shape: ``(frames, height, width)`` of the origin when recorded, else None.
        images: ``folder/file`` of every image of an image list (empty for videos).
    """

    name: str
    paths: tuple[str, ...]
    basenames: tuple[str, ...]
    shape: tuple[int, int, int] | None = None
    images: tuple[str, ...] = field(default=(), repr=False)

    @property
    def image_list(self) -> bool:
        """Whether the origin is a list of image files."""
        return bool(self.images)

    def frame_token(self, frame_idx: int) -> int | str:
        """What identifies frame ``frame_idx``: the image name for image lists, else the index."""
        if self.images and 0 <= frame_idx < len(self.images):
            return self.images[frame_idx]
        return int(frame_idx)

    def frame_number(self, frame_idx: int) -> int:
        """Frame ``frame_idx``'s number in the recording: for image lists the last number in
        the image's file name (``img0123.png`` -> 123) when every name has one, else the
        index."""
        if self.images and 0 <= frame_idx < len(self.images):
            numbers = _image_numbers(self.images)
            if numbers is not None:
                return numbers[frame_idx]
        return int(frame_idx)


@lru_cache(maxsize=64)
def _image_numbers(images: tuple[str, ...]) -> tuple[int, ...] | None:
    found = [re.findall(r"\d+", _base(name)) for name in images]
    if not all(found):
        return None
    return tuple(int(digits[-1]) for digits in found)


def video_identity(video: sio.Video) -> VideoIdentity:
    """The :class:`VideoIdentity` of ``video`` (see the module notes)."""
    origin = origin_video(video)
    filename = origin.filename
    if isinstance(filename, (list, tuple)):
        names = [str(f) for f in filename]
        folder = _parent_name(names[0]) if names else ""
        images = tuple(f"{_parent_name(n)}/{_base(n)}" for n in names)
        return VideoIdentity(
            name=f"{folder}/", paths=tuple(_resolved(n) for n in names),
            basenames=(folder,), images=images,
        )
    name = str(filename)
    if _embedded_record(origin):  # embedded without a source: the file and its dataset
        dataset = (origin.backend_metadata or {}).get("dataset") or ""
        key = f"{_resolved(name)}#{dataset}"
        return VideoIdentity(name=f"{_base(name)}#{dataset}", paths=(key,), basenames=(key,))
    return VideoIdentity(
        name=_base(name), paths=(_resolved(name),), basenames=(_base(name),),
        shape=_known_shape(origin),
    )


def match_rule(a: VideoIdentity, b: VideoIdentity, basename: bool = True) -> str | None:
    """Which rule says ``a`` and ``b`` are the same recording, or None (see module notes)."""
    if a.image_list != b.image_list:
        return None
    if a.image_list:
        folders_a = {str(PurePosixPath(p).parent) for p in a.paths}
        folders_b = {str(PurePosixPath(p).parent) for p in b.paths}
        if folders_a & folders_b:
            return "path"
        return "image folder" if basename and set(a.basenames) & set(b.basenames) else None
    if set(a.paths) & set(b.paths):
        return "path"
    if basename and set(a.basenames) & set(b.basenames) and a.shape and a.shape == b.shape:
        return "basename+shape"
    return None


class VideoGroups:
    """Sorts videos into recordings (groups) in the order they are first seen.

    Args:
        basename: Also match by file name and shape (``False``: by resolved path only).
    """

    def __init__(self, basename: bool = True) -> None:
        self.basename = basename
        self.identities: list[VideoIdentity] = []
        self._members: list[list[VideoIdentity]] = []
        self._cache: dict[int, tuple[int, str]] = {}
        self._identities: dict[int, VideoIdentity] = {}
        self._keep: list[sio.Video] = []  # ids stay valid while the groups live

    def identity(self, video: sio.Video) -> VideoIdentity:
        """``video_identity(video)``, computed once per video."""
        key = id(video)
        if key not in self._identities:
            self._identities[key] = video_identity(video)
            self._keep.append(video)
        return self._identities[key]

    def add(self, video: sio.Video) -> tuple[int, str]:
        """Group index of ``video`` and the rule that placed it (``"new"`` for a new group)."""
        key = id(video)
        if key in self._cache:
            return self._cache[key]
        identity = self.identity(video)
        found: tuple[int, str] | None = None
        for rule in MATCH_RULES:
            for index, members in enumerate(self._members):
                if any(match_rule(identity, m, self.basename) == rule for m in members):
                    found = (index, rule)
                    break
            if found:
                break
        if found is None:
            self.identities.append(identity)
            self._members.append([identity])
            found = (len(self._members) - 1, "new")
        elif identity not in self._members[found[0]]:
            self._members[found[0]].append(identity)
        self._cache[key] = found
        return found

    def name(self, index: int) -> str:
        """Display name of group ``index``."""
        return self.identities[index].name


@dataclass(frozen=True)
class VideoMetadata:
    """A metadata CSV: one row per video.

    Attributes:
        path: The CSV file.
        columns: Column names other than ``video``, in file order.
        rows: Each row as ``{column: value}`` (values are stripped strings), ``video``
            included.
    """

    path: Path
    columns: tuple[str, ...]
    rows: tuple[dict[str, str], ...]

    def lookup(self, videos: Sequence[sio.Video], columns: Sequence[str] = ()) -> list[dict]:
        """The row of each video (matched by resolved path, else unique file name, else
        unique file stem) restricted to ``columns`` (all columns when empty).

        Raises:
            DataError: a column is not in the CSV, a video has no row, or a needed cell is
                empty; every missing video and column is named.
        """
        wanted = list(columns) or list(self.columns)
        missing_cols = [c for c in wanted if c not in self.columns]
        if missing_cols:
            raise DataError(
                f"{self.path}: no column {missing_cols} in the metadata; expected columns "
                f"{wanted} (found {list(self.columns)}). Add the column, or name another "
                "with --group-column / --condition."
            )
        out, unmatched, empty = [], [], []
        for video in videos:
            row = self._row_for(video_identity(video))
            if row is None:
                unmatched.append(video_identity(video).name)
                continue
            blank = [c for c in wanted if not row.get(c)]
            empty.extend(f"{row[VIDEO_COLUMN]}:{c}" for c in blank)
            out.append({c: row.get(c, "") for c in wanted})
        if unmatched or empty:
            parts = []
            if unmatched:
                parts.append(f"no row for {len(unmatched)} video(s) {unmatched[:10]}")
            if empty:
                parts.append(f"empty cells {empty[:10]}")
            raise DataError(
                f"{self.path}: {'; '.join(parts)}; expected one row per video with a value in "
                f"every column used ({wanted}). Add the rows (the '{VIDEO_COLUMN}' column "
                "holds the video's path relative to the CSV, or its file name)."
            )
        return out

    def _row_for(self, identity: VideoIdentity) -> dict[str, str] | None:
        paths = set(identity.paths)
        folders = {str(PurePosixPath(p).parent) for p in identity.paths}
        keys = set(identity.basenames) | {PurePosixPath(b).stem for b in identity.basenames}
        by_path = [r for r in self.rows if self._where(r) in paths | folders]
        if len(by_path) == 1:
            return by_path[0]
        for pick in (lambda r: _base(r[VIDEO_COLUMN]), lambda r: PurePosixPath(
                _base(r[VIDEO_COLUMN])).stem):
            hits = [r for r in self.rows if pick(r).rstrip("/") in keys]
            if len(hits) == 1:
                return hits[0]
        return None

    def _where(self, row: dict[str, str]) -> str:
        name = row[VIDEO_COLUMN].rstrip("/\\")
        path = Path(name) if Path(name).is_absolute() else self.path.parent / name
        return _resolved(path.as_posix())


def read_metadata(path: PathLike) -> VideoMetadata:
    """Read a metadata CSV (comma- or tab-separated, a header row with a ``video`` column).

    Raises:
        DataError: missing file, no ``video`` column, no rows, or a video listed twice.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(
            f"{path}: metadata file not found; expected a CSV with a '{VIDEO_COLUMN}' column "
            "and one row per video. Check the path."
        )
    text = path.read_text(encoding="utf-8-sig")
    first = text.splitlines()[0] if text.strip() else ""
    dialect = "excel-tab" if "\t" in first and "," not in first else "excel"
    reader = csv.DictReader(text.splitlines(), dialect=dialect)
    header = [h.strip() for h in (reader.fieldnames or [])]
    if VIDEO_COLUMN not in header:
        raise DataError(
            f"{path}: no '{VIDEO_COLUMN}' column (columns: {header}); expected a header row "
            f"with a '{VIDEO_COLUMN}' column naming each video. Rename the column."
        )
    rows = []
    for raw in reader:
        row = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        if any(row.values()):
            rows.append(row)
    if not rows:
        raise DataError(f"{path}: no rows; expected one row per video. Fill in the table.")
    names = [r[VIDEO_COLUMN] for r in rows]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise DataError(
            f"{path}: videos listed more than once {twice}; expected one row per video. "
            "Remove the duplicate rows."
        )
    columns = tuple(h for h in header if h and h != VIDEO_COLUMN)
    return VideoMetadata(path=path.resolve(), columns=columns, rows=tuple(rows))


def condition_label(row: dict[str, str], columns: Sequence[str]) -> str:
    """One readable condition name from a row: ``"treatment=drug, dose=10"``."""
    return ", ".join(f"{c}={row[c]}" for c in columns)
