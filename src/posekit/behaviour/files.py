"""``posekit measure``: predictions file in, measures (CSV + JSON) and plots (PNG) out."""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from posekit.behaviour.arena import Zone, check_in_frame, load_arena
from posekit.behaviour.measures import Units, position
from posekit.behaviour.summary import Measures, measure_tracks
from posekit.errors import DataError

OUTPUT_NAMES = ("measures.csv", "measures.json", "per_frame.csv", "trajectory.png",
                "speed.png", "occupancy.png")


@dataclass(frozen=True)
class MeasureSettings:
    """What ``posekit measure`` computes.

    Attributes:
        node: the node giving each animal's position, or ``centroid``.
        px_per_cm: pixels per cm (None: lengths in px).
        fps: frames per second (None: the video's, else times in frames).
        filter: trajectory filter settings applied first (None: raw predictions).
        bin_s: time-bin length, s (frames without a frame rate); None: whole video.
        immobile_speed: speed below which a frame is immobile, in the speed unit.
    """

    node: str = "centroid"
    px_per_cm: float | None = None
    fps: float | None = None
    filter: Any = None
    bin_s: float | None = None
    immobile_speed: float | None = None


@dataclass
class MeasureReport:
    """What :func:`measure_file` wrote: ``measures`` per video, ``outputs``, ``notes``."""

    measures: list[Measures] = field(default_factory=list)
    outputs: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def animal_tracks(tracks: Any, source: str) -> tuple[list[int], list[str]]:
    """The slots of :class:`~posekit.refinement.outliers.PoseTracks` that are animals.

    Raises:
        DataError: several animals per frame without tracks (identities are needed).
    """
    loose = [i for i in range(len(tracks.tracked)) if not tracks.tracked[i]]
    keep = [i for i in range(len(tracks.tracked)) if tracks.tracked[i]]
    notes = []
    if loose and not keep:
        raise DataError(f"{source}: predictions have up to {len(loose)} animals per frame "
                        "but no tracks; expected identities to measure each animal. Track "
                        "them first: posekit track VIDEO -m MODEL --tracking --max-tracks N.")
    if loose:
        notes.append(f"{len(loose)} untracked instance slot(s) left out (no identity)")
    if tracks.track_of is not None:
        for i in keep:
            held = sorted({tracks.track_names[k] for k in np.unique(tracks.track_of[:, i])
                           if k >= 0})
            if len(held) > 1:
                notes.append(f"{tracks.slot_names[i]} joins {len(held)} tracks that never "
                             f"overlap in time: {', '.join(held)}")
    return keep, notes


def _frame_size(video: Any) -> tuple[int, int] | None:
    """``(width, height)`` of the video, or None when it cannot be read."""
    try:
        shape = video.shape
    except Exception:  # noqa: BLE001 - an unreachable video or an unknown backend
        return None
    return (int(shape[2]), int(shape[1])) if shape else None


def measure_video(labels: Any, video: int, settings: MeasureSettings,
                  zones: list[Zone], source: str = "predictions") -> tuple[Measures, list]:
    """Measure the animals of one video of ``labels``; returns the measures and notes."""
    from posekit.refinement.outliers import PoseTracks
    from posekit.trajectories.labels import video_fps

    tracks = PoseTracks.from_labels(labels, video, source)
    if not tracks.shape[0]:
        raise DataError(f"{source}: video {video} has no predicted instances; expected "
                        "predictions (posekit track).")
    keep, notes = animal_tracks(tracks, source)
    fps = settings.fps or video_fps(labels.videos[video])
    if settings.fps is None:
        notes.append(f"frame rate {fps:g} read from the video" if fps else
                     "no frame rate (video unreadable and no --fps): times in frames")
    size = _frame_size(labels.videos[video])
    if size and zones:
        check_in_frame(zones, *size, source="arena")
    points, segments = tracks.points[:, keep], tracks.segments[:, keep]
    if settings.filter is not None:
        from posekit.trajectories.pipeline import filter_tracks

        points = filter_tracks(points, tracks.scores[:, keep], settings.filter, segments,
                               fps, source).points
    xy = position(points, tracks.node_names, settings.node)
    units = Units(settings.px_per_cm, fps)
    names = tuple(tracks.slot_names[i] for i in keep)
    m = measure_tracks(xy, zones, units, settings.immobile_speed, settings.bin_s, segments,
                       names, tracks.frame_ids)
    return m, notes


def measure_file(predictions: str | Path, out_dir: str | Path,
                 settings: MeasureSettings = MeasureSettings(),
                 arena: str | Path | None = None, force: bool = False) -> MeasureReport:
    """Measure every animal of a predictions file and write tables and plots to ``out_dir``.

    Raises:
        ConfigError: bad settings or arena, an output that is an input or already exists.
        DataError: unreadable predictions, or several untracked animals.
    """
    from posekit.io.labels import load_labels
    from posekit.utils.outputs import check_new_outputs

    predictions, out_dir = Path(predictions), Path(out_dir)
    inputs = [predictions] + ([Path(arena)] if arena else [])
    Units(settings.px_per_cm, settings.fps)  # bad scale / rate before reading anything
    check_new_outputs([out_dir], inputs, force=None)
    check_new_outputs([out_dir / n for n in OUTPUT_NAMES], inputs, force=force)
    zones = load_arena(arena) if arena else []
    labels = load_labels(predictions)
    report = MeasureReport()
    for v in range(len(labels.videos)):
        m, notes = measure_video(labels, v, settings, zones, str(predictions))
        report.measures.append(m)
        report.notes += [f"video {v}: {n}" if len(labels.videos) > 1 else n for n in notes]
    out_dir.mkdir(parents=True, exist_ok=True)
    report.outputs = write_outputs(report, out_dir, settings, predictions)
    return report


def _clean(value: Any) -> Any:
    """NaN and infinities to None (JSON has no NaN)."""
    return None if isinstance(value, float) and not math.isfinite(value) else value


def write_outputs(report: MeasureReport, out_dir: Path, settings: MeasureSettings,
                  source: Path) -> list[Path]:
    """Write the tables and plots of ``report``; returns the paths written."""
    from posekit.behaviour.plots import plot_occupancy, plot_speed, plot_trajectory

    many = len(report.measures) > 1
    rows = [dict(video=v, **r) if many else r for v, m in enumerate(report.measures)
            for r in m.rows]
    paths = [out_dir / n for n in OUTPUT_NAMES]
    _write_csv(paths[0], rows)
    first = report.measures[0]
    doc = {"source": str(source), "units": {"length": first.units.length,
                                            "time": first.units.time,
                                            "speed": first.units.speed},
           "px_per_cm": settings.px_per_cm, "fps": first.units.fps, "node": settings.node,
           "filter": list(settings.filter.methods) if settings.filter else None,
           "bin_s": settings.bin_s, "immobile_speed": settings.immobile_speed,
           "zones": [z.name for z in first.zones], "notes": report.notes,
           "rows": [{k: _clean(v) for k, v in r.items()} for r in rows]}
    paths[1].write_text(json.dumps(doc, indent=2) + "\n")
    _write_csv(paths[2], [r for v, m in enumerate(report.measures)
                          for r in per_frame_rows(m, v if many else None)])
    plot_trajectory(first, paths[3])
    plot_speed(first, paths[4], settings.immobile_speed)
    plot_occupancy(first, paths[5])
    return paths


def per_frame_rows(m: Measures, video: int | None = None) -> list[dict]:
    """One row per animal per frame: position, speed and zone flags."""
    rows = []
    for j, name in enumerate(m.names):
        for t, frame in enumerate(m.frame_ids):
            row = {} if video is None else {"video": video}
            row.update(animal=name, frame=int(frame),
                       time=float(m.units.duration(t)), x=float(m.xy[t, j, 0]),
                       y=float(m.xy[t, j, 1]), speed=float(m.speed[t, j]))
            row.update({f"in_{z.name}": int(m.inside[t, j, k])
                        for k, z in enumerate(m.zones)})
            rows.append(row)
    return rows


def _write_csv(path: Path, rows: list[dict]) -> None:
    """Rows to CSV (columns: the union, in first-seen order; NaN as empty)."""
    cols = list(dict.fromkeys(k for r in rows for k in r))
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=cols)
        w.writeheader()
        w.writerows({k: ("" if _clean(v) is None else v) for k, v in r.items()} for r in rows)
