"""The dataset-composition table: labelled frames per video, animal, session and condition;
animals per frame; condition coverage; the guide's frame-count table (numpy only).

Definitions (docs/reports.md):

* **Coverage of a column** (``treatment``, ``dose``...): the values the metadata CSV lists
  for it (over *all* its rows, labelled or not) and how many labelled frames each has; a
  value is *absent* with no labelled frame, *thin* with fewer than half of an even share of
  the frames (``frames / number of values / 2``). Coverage is the share of listed values
  that have labelled frames (the guide's target: 100 %).
* **Complexity** (the guide's table of frame counts): *complex* when some labelled frame
  holds 3 or more animals ("multiple animals"); *moderate* when frames hold 2 animals and
  at least :data:`OCCLUDED_SHARE` of their nodes are marked not visible ("social
  interaction, occlusion"); *simple* otherwise ("1-2 animals, clear view").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

THIN_SHARE = 0.5
"""A value is thin below this fraction of an even share of the frames."""
OCCLUDED_SHARE = 0.1
"""Two-animal frames with at least this share of hidden nodes count as *moderate*."""


@dataclass(frozen=True)
class FrameGuide:
    """One row of the guide's frame-count table.

    Attributes:
        complexity: ``simple``, ``moderate`` or ``complex``.
        description: the table's words for it.
        minimum: lower end of "minimum frames (initial)".
        minimum_high: upper end of that range (None: open-ended).
        recommended: lower end of "recommended after active learning".
        consideration: the table's "key consideration".
    """

    complexity: str
    description: str
    minimum: int
    minimum_high: int | None
    recommended: int
    consideration: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        return dict(self.__dict__)


FRAME_GUIDE: dict[str, FrameGuide] = {
    "simple": FrameGuide("simple", "1-2 animals, clear view", 150, 200, 400,
                         "focus on posture diversity"),
    "moderate": FrameGuide("moderate", "social interaction, occlusion", 300, 400, 800,
                           "must include frames with occlusions"),
    "complex": FrameGuide("complex", "multiple animals, dynamic background", 500, None, 1500,
                          "requires rigorous multi-animal labeling"),
}
"""The refinement guide's "How many labeled frames do I actually need" table."""


@dataclass(frozen=True)
class Count:
    """Labelled frames and animals of one video, animal, session or condition value."""

    name: str
    frames: int
    animals: int
    share: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        return {"name": self.name, "frames": self.frames, "animals": self.animals,
                "share": self.share}


def count_by(keys: Sequence[str], n_animals: np.ndarray, order: Sequence[str] = ()) -> list[Count]:
    """Frames and animals per key (one key per frame); keys in ``order`` first (also
    those without frames), then the others in first-seen order."""
    total = max(len(keys), 1)
    frames: dict[str, int] = {k: 0 for k in order}
    animals: dict[str, int] = {k: 0 for k in order}
    for key, n in zip(keys, np.asarray(n_animals).tolist()):
        frames[key] = frames.get(key, 0) + 1
        animals[key] = animals.get(key, 0) + int(n)
    return [Count(k, frames[k], animals[k], frames[k] / total) for k in frames]


@dataclass(frozen=True)
class ColumnCoverage:
    """How the values of one metadata column are sampled.

    Attributes:
        column: the metadata column (or ``a + b`` for a combination).
        counts: every listed value (and any labelled value) with its frames.
        listed: values the metadata lists (all rows).
        absent: listed values without labelled frames.
        thin: values with frames but fewer than half an even share.
        even_share: ``frames / values``.
        coverage: share of listed values that have labelled frames.
    """

    column: str
    counts: tuple[Count, ...]
    listed: tuple[str, ...]
    absent: tuple[str, ...]
    thin: tuple[str, ...]
    even_share: float
    coverage: float | None

    def frames_of(self, value: str) -> int:
        """Labelled frames with ``value``."""
        return next((c.frames for c in self.counts if c.name == value), 0)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        return {"column": self.column, "counts": [c.to_dict() for c in self.counts],
                "listed": list(self.listed), "absent": list(self.absent),
                "thin": list(self.thin), "even_share": self.even_share,
                "coverage": self.coverage, "thin_below_share_of_even": THIN_SHARE}


def column_coverage(column: str, frame_values: Sequence[str], n_animals: np.ndarray,
                    listed: Sequence[str]) -> ColumnCoverage:
    """Coverage of one column: ``frame_values`` holds each labelled frame's value,
    ``listed`` the values the metadata lists (module notes)."""
    listed = list(dict.fromkeys(listed))
    counts = count_by(frame_values, n_animals, order=listed)
    values = [c.name for c in counts]
    even = len(frame_values) / max(len(values), 1)
    absent = [c.name for c in counts if c.frames == 0]
    thin = [c.name for c in counts if 0 < c.frames < THIN_SHARE * even]
    covered = [v for v in listed if v not in absent]
    return ColumnCoverage(column, tuple(counts), tuple(listed), tuple(absent), tuple(thin),
                          float(even), len(covered) / len(listed) if listed else None)


@dataclass(frozen=True)
class AnimalsPerFrame:
    """Animals per labelled frame (the guide: average and range).

    Attributes:
        mean: average animals per frame.
        min, max: range.
        histogram: ``{animals: frames}``.
        hidden_share_multi: share of nodes marked not visible in frames with 2+ animals
            (None without such frames).
    """

    mean: float
    min: int
    max: int
    histogram: dict[int, int]
    hidden_share_multi: float | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (histogram keys as strings)."""
        return {"mean": self.mean, "min": self.min, "max": self.max,
                "histogram": {str(k): v for k, v in self.histogram.items()},
                "hidden_share_in_multi_animal_frames": self.hidden_share_multi}


def animals_per_frame(n_animals: np.ndarray, visible: np.ndarray,
                      animal_frame: np.ndarray) -> AnimalsPerFrame:
    """Animals per frame from ``(F,)`` counts; ``visible`` ``(N, K)`` and ``animal_frame``
    ``(N,)`` give the hidden share in multi-animal frames."""
    n = np.asarray(n_animals, dtype=np.int64)
    values, counts = np.unique(n, return_counts=True)
    multi = n[np.asarray(animal_frame, np.int64)] >= 2 if len(animal_frame) else np.zeros(0, bool)
    hidden = float(1.0 - visible[multi].mean()) if multi.any() and visible.size else None
    return AnimalsPerFrame(float(n.mean()) if n.size else 0.0, int(n.min()) if n.size else 0,
                           int(n.max()) if n.size else 0,
                           {int(v): int(c) for v, c in zip(values, counts)}, hidden)


def complexity(per_frame: AnimalsPerFrame) -> str:
    """The guide's experiment complexity (module notes)."""
    if per_frame.max >= 3:
        return "complex"
    if per_frame.max == 2 and (per_frame.hidden_share_multi or 0.0) >= OCCLUDED_SHARE:
        return "moderate"
    return "simple"


@dataclass(frozen=True)
class FrameCountCheck:
    """The labelled frames against the guide's table.

    Attributes:
        frames: labelled frames.
        complexity: from :func:`complexity`.
        guide: the table's row.
        below_minimum: ``frames < guide.minimum``.
        below_recommended: ``frames < guide.recommended``.
        missing_to_minimum: frames still needed to reach the minimum.
    """

    frames: int
    complexity: str
    guide: FrameGuide
    below_minimum: bool
    below_recommended: bool
    missing_to_minimum: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        return {"frames": self.frames, "complexity": self.complexity,
                "guide": self.guide.to_dict(), "below_minimum": self.below_minimum,
                "below_recommended": self.below_recommended,
                "missing_to_minimum": self.missing_to_minimum}


def frame_count_check(frames: int, per_frame: AnimalsPerFrame) -> FrameCountCheck:
    """Compare ``frames`` with the guide's table for the experiment's complexity."""
    level = complexity(per_frame)
    guide = FRAME_GUIDE[level]
    return FrameCountCheck(frames, level, guide, frames < guide.minimum,
                           frames < guide.recommended, max(0, guide.minimum - frames))


@dataclass(frozen=True)
class FrameSize:
    """Labelled frames of one image size."""

    height: int
    width: int
    frames: int
    recordings: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        return {"height": self.height, "width": self.width, "frames": self.frames,
                "recordings": list(self.recordings)}


def frame_sizes(sizes: Sequence[tuple[int, int] | None],
                recordings: Sequence[str]) -> tuple[list[FrameSize], int]:
    """Group frames by ``(height, width)`` (one entry per frame, None: unknown); returns the
    sizes (most frames first) and the number of frames of unknown size."""
    by_size: dict[tuple[int, int], list[str]] = {}
    unknown = 0
    for size, rec in zip(sizes, recordings):
        if size is None:
            unknown += 1
            continue
        by_size.setdefault((int(size[0]), int(size[1])), []).append(rec)
    out = [FrameSize(h, w, len(recs), tuple(dict.fromkeys(recs)))
           for (h, w), recs in by_size.items()]
    return sorted(out, key=lambda s: -s.frames), unknown


def counts_to_dict(counts: Mapping[str, Sequence[Count]]) -> dict[str, list[dict[str, Any]]]:
    """``{table: [count, ...]}`` as JSON."""
    return {name: [c.to_dict() for c in rows] for name, rows in counts.items()}
