"""Array plumbing shared by the trajectory filters (pure numpy).

Every filter takes ``points (T, S, K, 2)`` — ``T`` consecutive frames, ``S`` slots (tracks),
``K`` nodes, NaN where missing — and ``scores (T, S, K)``, and returns a :class:`Filtered`.
Which trajectory a slot holds in each frame is given by ``segments (T, S)`` (``int``, -1:
no trajectory; :attr:`posekit.refinement.outliers.PoseTracks.segments`). A trajectory never
continues across a change of segment: smoothing windows stop there and gaps are only filled
between two points of the same segment with no other segment in between. Points outside
any trajectory (segment -1, e.g. instances the tracker did not link) are left as they are.

The filters work on *rows*: one row per slot, node and coordinate (``S * K * 2`` rows of
``T`` values, :func:`to_rows`), so every series is filtered at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from posekit.errors import ConfigError, DataError

#: Per-point status codes of a filtered output (``Filtered.status``).
MISSING, ORIGINAL, SMOOTHED, FILLED, REMOVED = 0, 1, 2, 3, 4
#: The name of each status code, by code.
STATUS_NAMES = ("missing", "original", "smoothed", "filled", "removed")


@dataclass(frozen=True)
class Filtered:
    """The output of a filter (or of a chain of filters).

    Attributes:
        points: ``float64 (T, S, K, 2)`` positions, NaN where missing.
        scores: ``float64 (T, S, K)`` point scores (filled points get a low score).
        status: ``int8 (T, S, K)`` per point, relative to the input: :data:`MISSING` (no
            position before or after), :data:`ORIGINAL` (unchanged), :data:`SMOOTHED`
            (moved), :data:`FILLED` (had no position, or lost it and was filled),
            :data:`REMOVED` (had a position, now missing).
        variance: ``float64 (T, S, K)`` posterior variance (px², per coordinate: x and y
            share it) of points whose position is the Kalman smoother's estimate; NaN
            elsewhere. None when no filter gives one.
        fitted: what filters estimated from the data (e.g. the Kalman noise scales), by
            filter name.
    """

    points: np.ndarray
    scores: np.ndarray
    status: np.ndarray
    variance: np.ndarray | None = None
    fitted: dict[str, Any] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        """How many points have each status, by name."""
        found = np.bincount(self.status.ravel(), minlength=len(STATUS_NAMES))
        return {name: int(n) for name, n in zip(STATUS_NAMES, found, strict=True)}


def check_arrays(points: np.ndarray, scores: np.ndarray | None,
                 segments: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(points, scores, segments)`` as ``float64`` / ``int64`` copies with checked shapes.

    Missing scores are NaN (a point without a score counts as fully confident); without
    ``segments`` each slot is one trajectory, present where it has a point.

    Raises:
        DataError: a shape is not ``(T, S, K, 2)`` / ``(T, S, K)`` / ``(T, S)``.
    """
    pts = np.array(points, dtype=np.float64)
    if pts.ndim != 4 or pts.shape[-1] != 2:
        raise DataError(f"points: shape {pts.shape}; expected (frames, tracks, nodes, 2). "
                        "Add a tracks axis of length 1 for a single animal.")
    sc = np.full(pts.shape[:3], np.nan) if scores is None else np.array(scores, np.float64)
    if sc.shape != pts.shape[:3]:
        raise DataError(f"scores: shape {sc.shape}; expected {pts.shape[:3]} (one score "
                        "per point of points).")
    finite = np.isfinite(pts).all(axis=-1)
    pts[~finite] = np.nan  # a point is there with both coordinates
    seg = (np.where(finite.any(axis=-1), np.arange(pts.shape[1])[None, :], -1)
           if segments is None else np.array(segments, np.int64))
    if seg.shape != pts.shape[:2]:
        raise DataError(f"segments: shape {seg.shape}; expected {pts.shape[:2]} "
                        "(frames, tracks).")
    return pts, sc, seg


def check_window(window: int, n_frames: int, option: str = "window",
                 source: str = "points") -> int:
    """``window`` as an int after checking it is odd, at least 3 and no longer than the
    video (``n_frames``).

    Raises:
        ConfigError: naming ``option`` (e.g. ``--window``) and ``source``.
    """
    w = int(window)
    if w < 3 or w % 2 == 0:
        raise ConfigError(f"{option} {window}: expected an odd number of frames, at least 3 "
                          f"(the window is centred on its frame). Use {max(3, w + 1 - w % 2)}.")
    if w > n_frames:
        top = n_frames if n_frames % 2 else n_frames - 1
        hint = f"Use {top} or less." if top >= 3 else "The video is too short to filter."
        raise ConfigError(f"{source}: {option} {window} is longer than the video "
                          f"({n_frames} frames); expected an odd window no longer than the "
                          f"video. {hint}")
    return w


def to_rows(values: np.ndarray) -> np.ndarray:
    """``(T, S, K, 2)`` -> ``(S * K * 2, T)`` (or ``(T, S, K)`` -> ``(S * K, T)``)."""
    t = values.shape[0]
    return np.moveaxis(values, 0, -1).reshape(-1, t)


def from_rows(rows: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The inverse of :func:`to_rows` for an array of ``shape``."""
    return np.moveaxis(rows.reshape(*shape[1:], shape[0]), -1, 0)


def row_labels(segments: np.ndarray, per_slot: int) -> np.ndarray:
    """``(S * per_slot, T)``: a ``(T, S)`` array repeated for each row of its slot."""
    return np.repeat(segments.T, per_slot, axis=0)


def epochs(segments: np.ndarray) -> np.ndarray:
    """``int64 (T, S)``: a counter per slot that changes where the slot's segment changes
    (frames without a segment keep the previous count). Two points of one slot belong to
    one unbroken trajectory exactly when their segments and their epochs are equal."""
    t, s = segments.shape
    seen = segments >= 0
    idx = np.where(seen, np.arange(t)[:, None], -1)
    last = np.full((t, s), -1)
    last[1:] = np.maximum.accumulate(idx, axis=0)[:-1]
    before = np.take_along_axis(segments, np.maximum(last, 0), axis=0)
    change = seen & ((last < 0) | (before != segments))
    return np.cumsum(change, axis=0)


@dataclass(frozen=True)
class Runs:
    """Runs of consecutive present points of one trajectory in rows ``(B, T)``.

    Attributes:
        row, first, last: per run, its row and the frames of its first and last point.
        inside: ``bool (B, T)`` points in a run.
    """

    row: np.ndarray
    first: np.ndarray
    last: np.ndarray
    inside: np.ndarray

    @property
    def length(self) -> np.ndarray:
        """Points of each run."""
        return self.last - self.first + 1

    def near_ends(self, half: int) -> tuple[np.ndarray, ...]:
        """Points less than ``half`` frames from an end of their run (every point of a run
        shorter than ``2 * half + 1``): ``(row, frame, run first, run last)`` arrays."""
        n = np.minimum(self.length, 2 * half)
        run = np.repeat(np.arange(len(n)), n)
        k = np.arange(len(run)) - np.repeat(np.cumsum(n) - n, n)
        head = np.repeat(np.minimum(self.length, half), n)  # first points from the start
        t = np.where(k < head, self.first[run] + k, self.last[run] - (k - head))
        return self.row[run], t, self.first[run], self.last[run]


def find_runs(valid: np.ndarray, seg: np.ndarray) -> Runs:
    """Runs of ``valid (B, T)`` points with the same segment ``seg (B, T)`` (>= 0) in
    consecutive frames."""
    ok = valid & (seg >= 0)
    same_prev = np.zeros_like(ok)
    same_prev[:, 1:] = ok[:, :-1] & ok[:, 1:] & (seg[:, 1:] == seg[:, :-1])
    row, first = np.nonzero(ok & ~same_prev)
    same_next = np.zeros_like(ok)
    same_next[:, :-1] = same_prev[:, 1:]
    _, last = np.nonzero(ok & ~same_next)  # row-major order: the same runs, in order
    return Runs(row, first, last, ok)


def neighbours(valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(B, T)`` index of the last valid value at or before each frame and of the next one
    at or after it (-1 where there is none)."""
    b, t = valid.shape
    cols = np.broadcast_to(np.arange(t), (b, t))
    prev = np.maximum.accumulate(np.where(valid, cols, -1), axis=1)
    nxt = np.minimum.accumulate(np.where(valid, cols, t)[:, ::-1], axis=1)[:, ::-1]
    return prev, np.where(nxt < t, nxt, -1)


def fresh_starts(valid: np.ndarray, seg: np.ndarray, epoch: np.ndarray) -> np.ndarray:
    """``bool (B, T)``: valid values from which a model of the trajectory starts afresh —
    the first of their row, or the first after a change of segment (``seg``, ``epoch``:
    per-row copies of the slot's segment and :func:`epochs`)."""
    b, t = valid.shape
    cols = np.broadcast_to(np.arange(t), (b, t))
    last = np.full((b, t), -1)
    last[:, 1:] = np.maximum.accumulate(np.where(valid, cols, -1), axis=1)[:, :-1]
    prev_epoch = np.take_along_axis(epoch, np.maximum(last, 0), axis=1)
    prev_seg = np.take_along_axis(seg, np.maximum(last, 0), axis=1)
    return valid & ((last < 0) | (prev_epoch != epoch) | (prev_seg != seg))


@dataclass(frozen=True)
class Series:
    """Points as rows, one per slot, node and coordinate (``(B, T)`` arrays).

    Attributes:
        rows: positions (NaN: missing).
        seg: the slot's segment in each frame.
        epoch: the slot's :func:`epochs`.
        present: values of a trajectory (a position, and a segment >= 0).
    """

    rows: np.ndarray
    seg: np.ndarray
    epoch: np.ndarray
    present: np.ndarray

    def fresh_starts(self, valid: np.ndarray | None = None) -> np.ndarray:
        """:func:`fresh_starts` of ``valid`` (default: the present values)."""
        return fresh_starts(self.present if valid is None else valid, self.seg, self.epoch)


def series(points: np.ndarray, segments: np.ndarray) -> Series:
    """The :class:`Series` of checked ``points (T, S, K, 2)`` and ``segments (T, S)``."""
    per_slot = points.shape[2] * 2
    rows = to_rows(points)
    seg = row_labels(segments, per_slot)
    return Series(rows, seg, row_labels(epochs(segments), per_slot),
                  np.isfinite(rows) & (seg >= 0))


def step_status(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """``int8 (T, S, K)`` status of ``after`` relative to ``before`` (both ``(T, S, K, 2)``,
    x and y missing together)."""
    had, has = np.isfinite(before[..., 0]), np.isfinite(after[..., 0])
    status = np.full(had.shape, SMOOTHED, np.int8)
    status[(before[..., 0] == after[..., 0]) & (before[..., 1] == after[..., 1])] = ORIGINAL
    status[has & ~had] = FILLED
    status[had & ~has] = REMOVED
    status[~had & ~has] = MISSING
    return status


def chain_status(before: np.ndarray, after: np.ndarray, filled: np.ndarray) -> np.ndarray:
    """``int8 (T, S, K)`` status of the output of a chain of filters relative to its input
    (``(T, S, K, 2)`` each); ``filled``: points whose position was filled by a step and
    kept since (a point removed, then filled, is filled)."""
    status = step_status(before, after)
    return np.where(filled & np.isfinite(after).all(axis=-1), FILLED, status).astype(np.int8)


def result(points: np.ndarray, before: np.ndarray, scores: np.ndarray,
           variance: np.ndarray | None = None, fitted: dict[str, Any] | None = None) -> Filtered:
    """A :class:`Filtered` whose status compares ``points`` with ``before``."""
    return Filtered(points=points, scores=scores, status=step_status(before, points),
                    variance=variance, fitted=fitted or {})
