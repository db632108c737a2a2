"""Reporting what posekit repaired while reading a malformed labels file.

A repair never changes the file on disk; it changes what posekit reads from it (a
duplicated column ignored, an unlabelled config bodypart read as missing points...).
Every repair is reported twice:

* a :class:`LabelsRepairWarning` whose message starts with the file's path, and
* a line in ``labels.provenance["posekit_repairs"]`` (saved with the labels, so a run
  folder or an exported ``.slp`` still says what was repaired).

The cases and what posekit does are listed in ``docs/training.md`` ("Messy input files").
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable
from typing import Any

PROVENANCE_KEY = "posekit_repairs"


class LabelsRepairWarning(UserWarning):
    """A labels file was malformed and posekit repaired what it read (the file is unchanged)."""


def report_repair(path: str | os.PathLike[str], message: str, stacklevel: int = 3) -> str:
    """Warn that ``path`` was repaired; returns the full message (for provenance).

    Args:
        path: the file that was repaired.
        message: what was wrong and what posekit did instead.
        stacklevel: passed to :func:`warnings.warn`.
    """
    text = f"{path}: {message}"
    warnings.warn(text, LabelsRepairWarning, stacklevel=stacklevel)
    return text


def record_repairs(labels: Any, messages: Iterable[str]) -> None:
    """Append repair messages to ``labels.provenance["posekit_repairs"]`` (no duplicates)."""
    messages = list(messages)
    if not messages:
        return
    recorded = list(labels.provenance.get(PROVENANCE_KEY) or [])
    recorded.extend(m for m in messages if m not in recorded)
    labels.provenance[PROVENANCE_KEY] = recorded


def repairs_of(labels: Any) -> list[str]:
    """The repair messages recorded in ``labels.provenance`` (empty when none)."""
    return list((labels.provenance or {}).get(PROVENANCE_KEY) or [])
