"""What a merge did: per input, per video and per frame, with the rules applied.

:class:`MergeReport` is written beside the merged labels (``OUT.merge_report.json``,
``schema_version`` 1) and printed by ``posekit labels merge``; the rule constants here are
the ones :mod:`posekit.refinement.merge` applies.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from posekit.utils import atomic_write_text

PathLike = str | os.PathLike[str]
POINT_TOLERANCE = 1e-3
"""Points closer than this (pixels, every node; NaN only where NaN) are the same label."""
SAME_ANIMAL_FRACTION = 0.5
"""Untracked instances are the same animal when the mean distance between their shared
visible nodes is below this fraction of the earlier instance's bounding-box diagonal."""
REPORT_VERSION = 1
CONFLICT_RULE = "later file wins; the conflict is listed"


@dataclass
class SourceCounts:
    """What one input contributed to the merge (instance counts)."""

    path: str
    format: str
    frames: int = 0
    user_instances: int = 0
    predicted_instances: int = 0
    suggestions: int = 0
    user_kept: int = 0
    user_identical: int = 0
    user_conflicts_won: int = 0
    user_conflicts_lost: int = 0
    predictions_kept: int = 0
    predictions_identical: int = 0
    predictions_corrected: int = 0
    predictions_superseded: int = 0
    suggestions_added: int = 0


@dataclass
class VideoMatch:
    """How an input's video was matched to a recording of the output."""

    source: str
    video: str
    recording: str
    rule: str


@dataclass
class FrameEvent:
    """One change recorded in the report (an addition, a replacement or a conflict)."""

    kind: str
    video: str
    frame_idx: int
    source: str
    by: str | None = None
    track: str | None = None
    mean_distance_px: float | None = None


@dataclass
class MergeReport:
    """What a merge did, per input and per frame (``to_dict`` is its JSON form)."""

    sources: list[SourceCounts]
    output: str | None
    skeleton: list[str]
    node_map: dict[str, str]
    videos: list[VideoMatch]
    frames: int
    user_instances: int
    predicted_instances: int
    suggestions: int
    added: list[FrameEvent] = field(default_factory=list)
    replaced: list[FrameEvent] = field(default_factory=list)
    conflicts: list[FrameEvent] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (``schema_version`` 1) with the rules applied."""
        data = asdict(self)
        data["schema_version"] = REPORT_VERSION
        data["rules"] = {
            "conflict": CONFLICT_RULE,
            "same_animal": f"same track name, else mean shared-node distance < "
            f"{SAME_ANIMAL_FRACTION} x bounding-box diagonal",
            "identical": f"every point within {POINT_TOLERANCE} px and the same track",
            "predictions": "user labels win; later predictions supersede earlier ones",
            "videos": "same resolved path, else same file name and shape, else same image "
            "folder",
        }
        return data

    def save(self, path: PathLike) -> Path:
        """Write the report as JSON (atomic)."""
        return atomic_write_text(path, json.dumps(self.to_dict(), indent=2) + "\n")
