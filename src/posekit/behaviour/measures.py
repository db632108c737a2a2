"""Trajectory measures on ``(frames, tracks, 2)`` position arrays (pure numpy).

Positions are pixels, NaN where the animal was not found. With a scale (``px_per_cm``)
lengths are in cm, with a frame rate (``fps``) times are in s; without them, px and frames.
A step is the straight line between the positions of two consecutive frames; a step
touching a missing frame, or crossing a change of trajectory (``segments``), is not
counted (no distance, no speed).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from posekit.behaviour.arena import Zone
from posekit.errors import ConfigError

SPEED_STATS = ("mean", "median", "sd", "p95", "max")


@dataclass(frozen=True)
class Units:
    """Scale and frame rate: ``px_per_cm`` and ``fps`` (None: stay in px / frames)."""

    px_per_cm: float | None = None
    fps: float | None = None

    def __post_init__(self) -> None:
        for name in ("px_per_cm", "fps"):
            value = getattr(self, name)
            if value is not None and not (np.isfinite(value) and value > 0):
                flag = name.replace("_", "-")
                raise ConfigError(f"--{flag}: {value} is not a usable "
                                  f"{'scale' if name == 'px_per_cm' else 'frame rate'}; "
                                  "expected a positive number.")

    @property
    def length(self) -> str:
        """``cm`` or ``px``."""
        return "cm" if self.px_per_cm else "px"

    @property
    def time(self) -> str:
        """``s`` or ``frames``."""
        return "s" if self.fps else "frames"

    @property
    def speed(self) -> str:
        """``cm/s``, ``px/s``, ``cm/frame`` or ``px/frame``."""
        return f"{self.length}/{'s' if self.fps else 'frame'}"

    def lengths(self, px: np.ndarray | float) -> np.ndarray | float:
        """Pixels to the length unit."""
        return px / self.px_per_cm if self.px_per_cm else px

    def duration(self, frames: np.ndarray | float) -> np.ndarray | float:
        """Frames to the time unit."""
        return frames / self.fps if self.fps else frames


def position(points: np.ndarray, node_names: tuple[str, ...] | list[str],
             node: str = "centroid") -> np.ndarray:
    """``(T, S, 2)`` position of each animal: one node, or the mean of its found nodes.

    Args:
        points: ``(T, S, K, 2)`` keypoints, NaN where missing.
        node_names: the ``K`` node names.
        node: a node name, or ``centroid``.
    """
    if node == "centroid":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all nodes missing: NaN
            return np.nanmean(points, axis=2)
    if node not in node_names:
        raise ConfigError(f"--node: {node!r} is not a node of these predictions; expected "
                          f"one of {', '.join(node_names)} or centroid.")
    return points[:, :, list(node_names).index(node)]


def step_lengths(xy: np.ndarray, segments: np.ndarray | None = None) -> np.ndarray:
    """``(T, S)`` px travelled from the previous frame (NaN on the first frame, a missing
    position, or a change of segment)."""
    xy = np.asarray(xy, float)
    steps = np.full(xy.shape[:2], np.nan)
    if len(xy) > 1:
        steps[1:] = np.linalg.norm(np.diff(xy, axis=0), axis=-1)
        if segments is not None:
            steps[1:][segments[1:] != segments[:-1]] = np.nan
    return steps


def speed(xy: np.ndarray, units: Units | None = None,
          segments: np.ndarray | None = None) -> np.ndarray:
    """``(T, S)`` instantaneous speed (step length per frame interval) in ``units.speed``
    (default: px/frame)."""
    units = units or Units()
    return units.lengths(step_lengths(xy, segments)) * (units.fps or 1.0)


def occupancy(xy: np.ndarray, zones: list[Zone]) -> np.ndarray:
    """``bool (T, S, Z)``: whether each animal is inside each zone in each frame."""
    if not zones:
        return np.zeros(np.shape(xy)[:2] + (0,), bool)
    return np.stack([z.contains(xy) for z in zones], axis=-1)


def entry_frames(inside: np.ndarray, found: np.ndarray) -> np.ndarray:
    """``bool (T, S, Z)``: frames where an animal enters a zone (outside before, inside now).

    ``inside`` is ``(T, S, Z)`` and ``found (T, S)`` says where the position is known;
    frames without a position keep the last known state (a gap is not an exit), and being
    inside on the first known frame is not an entry.
    """
    t = inside.shape[0]
    last = np.maximum.accumulate(np.where(found, np.arange(t)[:, None], -1), axis=0)
    known = last >= 0
    state = inside[np.maximum(last, 0), np.arange(found.shape[1])[None, :]] & known[..., None]
    rise = np.zeros_like(state)
    rise[1:] = state[1:] & ~state[:-1] & known[:-1, :, None]
    return rise


def entries(inside: np.ndarray, found: np.ndarray) -> np.ndarray:
    """``int (S, Z)``: times each animal went from outside to inside each zone
    (see :func:`entry_frames`)."""
    return entry_frames(inside, found).sum(axis=0)


def speed_stats(values: np.ndarray) -> dict[str, float]:
    """Mean, median, SD, 95th percentile and maximum of the finite values (NaN if none)."""
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    if not len(v):
        return {k: float("nan") for k in SPEED_STATS}
    return {"mean": float(v.mean()), "median": float(np.median(v)),
            "sd": float(v.std(ddof=1)) if len(v) > 1 else 0.0,
            "p95": float(np.percentile(v, 95)), "max": float(v.max())}
