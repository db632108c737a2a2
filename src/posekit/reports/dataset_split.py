"""The split's part of the dataset audit: what each side holds and whether it leaks.

``--split DIR`` names a folder written by ``posekit labels split`` (``train.slp``,
``val.slp`` / ``test.slp`` when requested, ``split_manifest.json``). The audit reads the
manifest for how the split was made and how each condition is spread over the sides, loads
the side files and measures leakage afresh with
:func:`posekit.refinement.leakage.leakage_report` (frame distance and image hashes), so a
folder edited by hand is judged on what it now holds.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from posekit.errors import DataError
from posekit.io.labels import load_labels
from posekit.refinement.leakage import LeakageReport, leakage_report, validation_leak_message

MANIFEST = "split_manifest.json"
SIDES = ("train", "val", "test")


@dataclass(frozen=True)
class SplitAudit:
    """The split folder, its sides and its leakage.

    Attributes:
        folder: the split folder.
        by: how it was split (``frame``, ``block``, ``video``, ``animal``, ``condition``;
            None when the manifest is missing).
        frames: labelled frames per side.
        coverage: ``{condition: {side: frames}}`` from the manifest.
        leakage: the leakage report (frame distances and image hashes).
        messages: ``{side: plain sentence}`` for every leaking held-out side.
        notes: the manifest's notes.
    """

    folder: str
    by: str | None
    frames: dict[str, int]
    coverage: dict[str, dict[str, int]]
    leakage: LeakageReport
    messages: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def leaks(self) -> bool:
        """Whether a held-out side leaks."""
        return self.leakage.leaks

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (the leakage report without its per-frame list)."""
        leak = self.leakage.to_dict()
        leak.pop("frames", None)
        return {"folder": self.folder, "by": self.by, "frames": dict(self.frames),
                "coverage": {c: dict(s) for c, s in self.coverage.items()},
                "leaks": self.leaks, "leakage": leak, "messages": dict(self.messages),
                "notes": list(self.notes)}


def _manifest(folder: Path) -> dict[str, Any]:
    path = folder / MANIFEST
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(
            f"{path}: cannot read the split manifest ({exc}); expected the JSON written by "
            "posekit labels split. Split again, or remove the file to audit the sides alone."
        ) from exc
    return data if isinstance(data, dict) else {}


def split_files(folder: str | os.PathLike[str]) -> dict[str, Path]:
    """``{side: file}`` of a split folder (``train`` and at least one held-out side).

    Raises:
        DataError: not a folder, or no ``train.slp`` plus a held-out file.
    """
    folder = Path(folder)
    found = {s: folder / f"{s}.slp" for s in SIDES if (folder / f"{s}.slp").is_file()}
    if not folder.is_dir() or "train" not in found or len(found) < 2:
        raise DataError(
            f"{folder}: no train.slp with val.slp or test.slp; expected a folder written by "
            "`posekit labels split LABELS -o DIR`. Split the labels first, or pass the "
            "folder it wrote."
        )
    return found


def audit_split(folder: str | os.PathLike[str], hashes: bool = True) -> SplitAudit:
    """Read a split folder and measure its leakage (module notes).

    Raises:
        DataError: not a split folder, or a side file cannot be loaded.
    """
    folder = Path(folder)
    files = split_files(folder)
    manifest = _manifest(folder)
    sides = {s: load_labels(p) for s, p in files.items()}
    train = sides.pop("train")
    report = leakage_report(train, sides, hashes=hashes)
    messages = {s: m for s in sides if (m := validation_leak_message(report, s))}
    frames = {"train": len(train.labeled_frames),
              **{s: len(lab.labeled_frames) for s, lab in sides.items()}}
    coverage = manifest.get("coverage") or {}
    return SplitAudit(
        folder=str(folder), by=manifest.get("by"), frames=frames,
        coverage={str(c): {str(s): int(n) for s, n in v.items()} for c, v in coverage.items()},
        leakage=report, messages=messages,
        notes=tuple(str(n) for n in manifest.get("notes") or ()))
