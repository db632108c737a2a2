"""Behavioural events (from an ethogram tool) as anchors for frame extraction.

An events CSV has one row per event with the columns

* ``video`` — the video's path, file name or stem (may be left out when only one video
  is given);
* ``frame`` (frame index) **or** ``time`` (seconds from the start; ``onset`` and
  ``start`` are accepted as other names, as BORIS-style exports use them);
* ``label`` — the behaviour (``behavior`` / ``behaviour`` / ``event`` accepted too).

Column names are matched without regard to case or surrounding spaces.
:func:`read_events` reads and checks the file; :func:`match_events` assigns each event
to one of the given videos and a frame index.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

from posekit.errors import DataError

TIME_COLUMNS = ("time", "onset", "start", "time_s", "seconds")
LABEL_COLUMNS = ("label", "behavior", "behaviour", "event")


@dataclass(frozen=True)
class Event:
    """One row of an events file (``frame`` or ``time`` is set, not both)."""

    video: str
    label: str
    line: int
    frame: int | None = None
    time: float | None = None


@dataclass(frozen=True)
class PlacedEvent:
    """An event assigned to a video (index into the given videos) and a frame."""

    event: Event
    video: int
    frame: int


def _column(fields: dict[str, str], names: tuple[str, ...]) -> str | None:
    return next((fields[n] for n in names if n in fields), None)


def _parse_row(path: Path, line: int, row: dict[str, str], cols: dict[str, str | None]) -> Event:
    def cell(key: str) -> str:
        name = cols[key]
        return (row.get(name) or "").strip() if name else ""

    frame_text, time_text = cell("frame"), cell("time")
    frame = time = None
    try:
        if frame_text:
            value = float(frame_text)
            if value != int(value) or value < 0:
                raise ValueError
            frame = int(value)
        elif time_text:
            time = float(time_text)
            if not math.isfinite(time) or time < 0:
                raise ValueError
        else:
            raise DataError(
                f"{path}, line {line}: no frame or time given; expected a frame index or "
                "a time in seconds for every event."
            )
    except ValueError:
        raise DataError(
            f"{path}, line {line}: frame {frame_text!r} / time {time_text!r} is not valid; "
            "expected a whole frame index >= 0 or a time in seconds >= 0."
        ) from None
    return Event(cell("video"), cell("label") or "event", line, frame, time)


def read_events(path: str | Path) -> list[Event]:
    """Read an events CSV (see the module doc).

    Raises:
        DataError: missing file, no frame/time column, or a row without a usable frame.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: events file not found; expected a CSV file. Check the path.")
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        fields = {(f or "").strip().lower(): f for f in reader.fieldnames or []}
        cols = {
            "video": fields.get("video"),
            "frame": _column(fields, ("frame", "frame_idx", "frame_index")),
            "time": _column(fields, TIME_COLUMNS),
            "label": _column(fields, LABEL_COLUMNS),
        }
        if cols["frame"] is None and cols["time"] is None:
            raise DataError(
                f"{path}: columns {list(fields)} have neither 'frame' nor 'time'; expected "
                "columns video, frame (or time in seconds) and label. Rename the column, "
                "e.g. 'Start (s)' to 'time'."
            )
        events = [_parse_row(path, i + 2, row, cols) for i, row in enumerate(reader)]
    return events


def _video_keys(path: Path) -> list[str]:
    name = path.name
    return [str(path), path.resolve().as_posix(), name, name.split(".")[0], path.stem]


def match_events(
    events: list[Event],
    videos: list[Path],
    fps: list[float | None],
    n_frames: list[int],
    source: str | Path = "events",
) -> tuple[list[PlacedEvent], list[str]]:
    """Place every event on one of ``videos``; returns the placed events and one note per
    event that could not be placed (unknown video, time without frame rate, frame past
    the end), so the caller reports them and carries on.

    Raises:
        DataError: several videos are given and an event names none.
    """
    lookup: dict[str, int] = {}
    for i, video in enumerate(videos):
        for key in _video_keys(Path(video)):
            lookup.setdefault(key, i)
    placed, notes = [], []
    for ev in events:
        where = f"{source}, line {ev.line}"
        if not ev.video:
            if len(videos) != 1:
                raise DataError(
                    f"{where}: no video named, and {len(videos)} videos were given; expected "
                    "a 'video' column naming one of them for each event."
                )
            vi = 0
        else:
            found = lookup.get(ev.video, lookup.get(Path(ev.video).name))
            if found is None:
                notes.append(f"{where}: video {ev.video!r} is not among the inputs; skipped")
                continue
            vi = found
        if ev.frame is not None:
            frame = ev.frame
        elif fps[vi]:
            frame = round(float(ev.time or 0.0) * float(fps[vi] or 0.0))
        else:
            notes.append(f"{where}: {videos[vi]} has no frame rate for time {ev.time}; skipped")
            continue
        if n_frames[vi] and frame >= n_frames[vi]:
            notes.append(f"{where}: frame {frame} is past the end of {videos[vi]} "
                         f"({n_frames[vi]} frames); skipped")
            continue
        placed.append(PlacedEvent(ev, vi, frame))
    return placed, notes
