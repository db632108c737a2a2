"""Behaviour coverage: how many labelled frames fall in each behaviour state of an ethogram.

**Ethogram CSV** (one row per bout, a header row; comma- or tab-separated)::

    video,start,stop,behaviour
    videos/m0_s0.mp4,0,119,walk
    videos/m0_s0.mp4,120,180,groom

* ``video``: the recording, written as in the metadata CSV (a path relative to the CSV, a
  file name or a file stem; matched by the same rules);
* ``start``, ``stop``: the first and the last frame of the bout, **both included**, as
  frame numbers of the recording (for a DeepLabCut image folder: the number in the image
  file name, ``img0123.png`` -> 123);
* ``behaviour``: the state (``behavior``, ``label``, ``state`` and ``event`` are accepted
  as the column's name too). Bouts may overlap (a frame can be in two states).

A labelled frame is *in* a behaviour when a bout of that behaviour in its recording covers
its frame number. Each behaviour's count is compared with an even share of the labelled
frames that fall in some bout (``frames in bouts / behaviours``): *absent* with no frame,
*thin* below half that share (the guide: "count of frames per behaviour state - becomes
balanced").
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from posekit.errors import DataError
from posekit.refinement.events import LABEL_COLUMNS
from posekit.refinement.metadata import VideoMetadata
from posekit.reports.dataset_composition import THIN_SHARE, Count

if TYPE_CHECKING:
    import sleap_io as sio

BEHAVIOUR_COLUMNS = ("behaviour", "behavior", "state", *LABEL_COLUMNS)
START_COLUMNS = ("start", "start_frame", "first")
STOP_COLUMNS = ("stop", "stop_frame", "end", "last")


@dataclass(frozen=True)
class Bout:
    """One row of an ethogram: ``behaviour`` from frame ``start`` to ``stop`` (included)."""

    video: str
    start: int
    stop: int
    behaviour: str
    line: int


@dataclass(frozen=True)
class Ethogram:
    """A read ethogram CSV."""

    path: Path
    bouts: tuple[Bout, ...]

    @property
    def behaviours(self) -> list[str]:
        """Behaviours in first-seen order."""
        return list(dict.fromkeys(b.behaviour for b in self.bouts))


def _pick(fields: dict[str, str], names: Sequence[str]) -> str | None:
    return next((fields[n] for n in names if n in fields), None)


def _frame(path: Path, line: int, name: str, text: str) -> int:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if value < 0 or value != int(value):
        raise DataError(
            f"{path}, line {line}: {name} {text!r} is not a frame number; expected a whole "
            "frame number >= 0 (the first and last frame of the bout, both included)."
        )
    return int(value)


def read_ethogram(path: str | os.PathLike[str]) -> Ethogram:
    """Read an ethogram CSV (module notes).

    Raises:
        DataError: missing file, missing columns, a bad frame number or ``stop < start``.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: ethogram not found; expected a CSV with columns video, "
                        "start, stop, behaviour. Check the path.")
    text = path.read_text(encoding="utf-8-sig")
    first = text.splitlines()[0] if text.strip() else ""
    dialect = "excel-tab" if "\t" in first and "," not in first else "excel"
    reader = csv.DictReader(text.splitlines(), dialect=dialect)
    fields = {(f or "").strip().lower(): f for f in reader.fieldnames or []}
    cols = {"video": fields.get("video"), "start": _pick(fields, START_COLUMNS),
            "stop": _pick(fields, STOP_COLUMNS), "behaviour": _pick(fields, BEHAVIOUR_COLUMNS)}
    missing = [k for k, v in cols.items() if v is None]
    if missing:
        raise DataError(
            f"{path}: no column for {missing} (columns: {list(fields)}); expected columns "
            "video, start, stop, behaviour (start and stop: first and last frame of a bout). "
            "Rename the columns."
        )
    bouts = []
    for i, row in enumerate(reader):
        line = i + 2
        cell = {k: (row.get(v) or "").strip() for k, v in cols.items() if v}
        if not any(cell.values()):
            continue
        start = _frame(path, line, "start", cell["start"])
        stop = _frame(path, line, "stop", cell["stop"])
        if stop < start or not cell["video"] or not cell["behaviour"]:
            raise DataError(
                f"{path}, line {line}: video {cell['video']!r}, start {start}, stop {stop}, "
                f"behaviour {cell['behaviour']!r}; expected a video, a behaviour and "
                "stop >= start. Fix the row."
            )
        bouts.append(Bout(cell["video"], start, stop, cell["behaviour"], line))
    if not bouts:
        raise DataError(f"{path}: no bouts; expected one row per bout. Fill in the table.")
    return Ethogram(path.resolve(), tuple(bouts))


@dataclass(frozen=True)
class BehaviourCoverage:
    """Labelled frames per behaviour state.

    Attributes:
        path: the ethogram.
        counts: per behaviour, labelled frames (and animals) inside its bouts; ``share`` is
            of all labelled frames.
        bout_frames: per behaviour, frames its bouts span in the annotated recordings.
        absent: behaviours without a labelled frame.
        thin: behaviours below half an even share.
        even_share: labelled frames in bouts / behaviours.
        outside_bouts: labelled frames of annotated recordings in no bout.
        not_annotated: labelled frames of recordings the ethogram does not mention.
        unmatched_videos: ethogram videos matching no labelled recording.
    """

    path: str
    counts: tuple[Count, ...]
    bout_frames: dict[str, int]
    absent: tuple[str, ...]
    thin: tuple[str, ...]
    even_share: float
    outside_bouts: int
    not_annotated: int
    unmatched_videos: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        return {"path": self.path, "counts": [c.to_dict() for c in self.counts],
                "bout_frames": dict(self.bout_frames), "absent": list(self.absent),
                "thin": list(self.thin), "even_share": self.even_share,
                "outside_bouts": self.outside_bouts, "not_annotated": self.not_annotated,
                "unmatched_videos": list(self.unmatched_videos),
                "thin_below_share_of_even": THIN_SHARE}


def _recording_of_bouts(ethogram: Ethogram, videos: Sequence[sio.Video]) -> dict[str, int]:
    """``{ethogram video name: recording index}`` by the metadata matching rules."""
    names = list(dict.fromkeys(b.video for b in ethogram.bouts))
    table = VideoMetadata(ethogram.path, ("row",),
                          tuple({"video": n, "row": str(i)} for i, n in enumerate(names)))
    out: dict[str, int] = {}
    for r, video in enumerate(videos):
        try:
            row = int(table.lookup([video])[0]["row"])
        except DataError:
            continue
        out.setdefault(names[row], r)
    return out


def behaviour_coverage(ethogram: Ethogram, videos: Sequence[sio.Video],
                       recording: np.ndarray, frame_number: np.ndarray,
                       n_animals: np.ndarray) -> BehaviourCoverage:
    """Coverage of each behaviour by the labelled frames.

    Args:
        ethogram: the bouts.
        videos: one ``sio.Video`` per recording (to match the ethogram's video names).
        recording, frame_number, n_animals: ``(F,)`` per labelled frame.
    """
    where = _recording_of_bouts(ethogram, videos)
    behaviours = ethogram.behaviours
    inside = np.zeros((len(behaviours), len(recording)), bool)
    bout_frames = {b: 0 for b in behaviours}
    for bout in ethogram.bouts:
        rec = where.get(bout.video)
        if rec is None:
            continue
        k = behaviours.index(bout.behaviour)
        bout_frames[bout.behaviour] += bout.stop - bout.start + 1
        inside[k] |= (recording == rec) & (frame_number >= bout.start) & (
            frame_number <= bout.stop)
    annotated = np.isin(recording, list(set(where.values())))
    total = max(len(recording), 1)
    counts = tuple(Count(b, int(inside[k].sum()), int(n_animals[inside[k]].sum()),
                         float(inside[k].sum() / total)) for k, b in enumerate(behaviours))
    in_any = inside.any(axis=0)
    even = float(in_any.sum() / max(len(behaviours), 1))
    return BehaviourCoverage(
        path=str(ethogram.path), counts=counts, bout_frames=bout_frames,
        absent=tuple(c.name for c in counts if c.frames == 0),
        thin=tuple(c.name for c in counts if 0 < c.frames < THIN_SHARE * even),
        even_share=even, outside_bouts=int((annotated & ~in_any).sum()),
        not_annotated=int((~annotated).sum()),
        unmatched_videos=tuple(n for n in dict.fromkeys(b.video for b in ethogram.bouts)
                               if n not in where))
