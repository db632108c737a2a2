"""Behavioural measures from trajectories: speed, distance travelled, time in zones,
entries, immobility; per animal, per video and per time bin (``posekit measure``).

Pure functions on ``(frames, tracks, 2)`` position arrays (:mod:`.measures`,
:mod:`.summary`), zones from an arena JSON (:mod:`.arena`), and the file-level command
(:mod:`.files`) with its plots (:mod:`.plots`). Torch-free; the maths is a few lines of
numpy and ``matplotlib.path`` (not the ``movement`` package, which is not a dependency).
"""

from posekit.behaviour.arena import Zone, arena_zones, check_in_frame, load_arena, parse_arena
from posekit.behaviour.files import MeasureReport, MeasureSettings, measure_file
from posekit.behaviour.measures import (
    Units,
    entries,
    entry_frames,
    occupancy,
    position,
    speed,
    speed_stats,
    step_lengths,
)
from posekit.behaviour.summary import Measures, bin_edges, measure_tracks

__all__ = [
    "MeasureReport", "MeasureSettings", "Measures", "Units", "Zone", "arena_zones",
    "bin_edges", "check_in_frame", "entries", "entry_frames", "load_arena", "measure_file",
    "measure_tracks", "occupancy", "parse_arena", "position", "speed", "speed_stats",
    "step_lengths",
]
