"""Per animal, per time bin: the measures of :mod:`posekit.behaviour.measures` as rows."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from posekit.behaviour.arena import Zone
from posekit.behaviour.measures import (
    Units,
    entry_frames,
    occupancy,
    speed,
    speed_stats,
    step_lengths,
)
from posekit.errors import ConfigError


@dataclass
class Measures:
    """Everything measured on one video.

    Attributes:
        names: the animals (tracks).
        frame_ids: ``int (T,)`` frame numbers.
        xy: ``(T, S, 2)`` positions used (px).
        speed: ``(T, S)`` instantaneous speed in ``units.speed``.
        inside: ``bool (T, S, Z)`` zone occupancy.
        zones: the zones.
        units: scale and frame rate.
        rows: one dict per animal per bin (bin ``"all"``: the whole video).
    """

    names: tuple[str, ...]
    frame_ids: np.ndarray
    xy: np.ndarray
    speed: np.ndarray
    inside: np.ndarray
    zones: list[Zone]
    units: Units
    rows: list[dict] = field(default_factory=list)


def bin_edges(n_frames: int, bin_s: float | None, fps: float | None) -> list[tuple[int, int]]:
    """``[(start, stop), ...]`` row ranges of bins ``bin_s`` long (seconds with a frame
    rate, else frames); the last bin may be shorter. No bins: ``[]``."""
    if bin_s is None:
        return []
    if not (np.isfinite(bin_s) and bin_s > 0):
        raise ConfigError(f"--bin-s: {bin_s} is not a usable bin length; expected a positive "
                          "number of seconds (frames when there is no frame rate).")
    size = max(1, round(bin_s * fps)) if fps else max(1, round(bin_s))
    return [(a, min(a + size, n_frames)) for a in range(0, n_frames, size)]


def measure_tracks(xy: np.ndarray, zones: list[Zone] | None = None, units: Units | None = None,
                   immobile_speed: float | None = None, bin_s: float | None = None,
                   segments: np.ndarray | None = None, names: tuple[str, ...] | None = None,
                   frame_ids: np.ndarray | None = None) -> Measures:
    """Measure every animal of ``xy (T, S, 2)``, over the video and per bin.

    Args:
        xy: positions in px, NaN where missing; frames consecutive.
        zones: regions to measure time in and entries into.
        units: scale and frame rate (outputs in cm / s where given; default px, frames).
        immobile_speed: a frame is immobile when its speed is below this (in
            ``units.speed``); None: immobility not measured.
        bin_s: bin length in s (frames without a frame rate); None: whole video only.
        segments: ``(T, S)`` trajectory ids; steps across a change are not counted.
        names: the animals' names (default ``track_<i>``).
        frame_ids: the frames' numbers (default ``0..T-1``).
    """
    xy = np.asarray(xy, float)
    units = units or Units()
    t, s = xy.shape[:2]
    zones = list(zones or [])
    names = tuple(names or (f"track_{i}" for i in range(s)))
    frame_ids = np.arange(t) if frame_ids is None else np.asarray(frame_ids)
    spd = speed(xy, units, segments)
    dist = units.lengths(step_lengths(xy, segments))
    found = np.isfinite(xy).all(axis=-1)
    inside = occupancy(xy, zones)
    enter = entry_frames(inside, found) if zones else inside
    out = Measures(names, frame_ids, xy, spd, inside, zones, units)
    bins = [("all", 0, t)] + [(str(i), a, b) for i, (a, b) in
                              enumerate(bin_edges(t, bin_s, units.fps))]
    for j, name in enumerate(names):
        for label, a, b in bins:
            out.rows.append(_row(name, label, frame_ids, (a, b), spd[a:b, j], dist[a:b, j],
                                 found[a:b, j], inside[a:b, j], enter[a:b, j], zones, units,
                                 immobile_speed))
    return out


def _row(name: str, label: str, frame_ids: np.ndarray, span: tuple[int, int],
         spd: np.ndarray, dist: np.ndarray, found: np.ndarray, inside: np.ndarray,
         enter: np.ndarray, zones: list[Zone], units: Units,
         immobile_speed: float | None) -> dict:
    """One animal's measures over rows ``span`` of the video."""
    a, b = span
    row: dict = {"animal": name, "bin": label, "start_frame": int(frame_ids[a]) if b > a
                 else None, "end_frame": int(frame_ids[b - 1]) if b > a else None,
                 "start": float(units.duration(a)), "end": float(units.duration(b)),
                 "duration": float(units.duration(b - a)),
                 "time_tracked": float(units.duration(int(found.sum()))),
                 "distance": float(np.nansum(dist))}
    row.update({f"speed_{k}": v for k, v in speed_stats(spd).items()})
    if immobile_speed is not None:
        still = np.isfinite(spd) & (spd < immobile_speed)
        row["immobile_time"] = float(units.duration(int(still.sum())))
    for z, zone in enumerate(zones):
        n_in = int(inside[:, z].sum())
        row[f"time_in_{zone.name}"] = float(units.duration(n_in))
        row[f"fraction_in_{zone.name}"] = n_in / int(found.sum()) if found.any() else \
            float("nan")
        row[f"entries_{zone.name}"] = int(enter[:, z].sum())
    return row
