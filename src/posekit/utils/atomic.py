"""Atomic file output: write to a temporary file beside the target, then rename.

A crash or Ctrl-C while writing never leaves a half-written file under the final
name, and an existing file is only replaced once the new one is complete.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from posekit.errors import PosekitError


def ensure_parent_exists(path: str | os.PathLike[str]) -> Path:
    """Return ``path`` as a Path, raising a clear error if its folder does not exist."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise PosekitError(
            f"{path}: the output folder {parent} does not exist; expected an existing folder. "
            f"Create it first (mkdir -p {parent}) or choose another output path."
        )
    return path


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; rename it onto ``path`` on success.

    The temporary name keeps the target's suffixes (``.pkg.slp``, ``.yaml``...) so that
    libraries choosing a format from the extension behave as for the real name. On any
    exception the temporary file is removed and the target is left untouched.
    """
    target = ensure_parent_exists(path)
    suffix = "".join(target.suffixes) or ".tmp"
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=suffix, dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    tmp.unlink()  # let the writer create it; some libraries refuse to overwrite
    try:
        yield tmp
        if not tmp.exists():
            raise PosekitError(f"{target}: the writer produced no output file")
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_write_text(path: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically and return the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding=encoding)
    return Path(path)
