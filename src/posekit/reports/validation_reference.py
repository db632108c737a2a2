"""Putting a reference and predictions on the same samples, and the same animals.

**Time.** By default a reference sample is the video frame of the same number (*frame
index*). A reference with a time column, or with frame numbers at its own rate
(``reference_fps``), is aligned by *timestamps*: sample ``t`` seconds is video frame
``round(t * video_fps)``. Reference samples before the first or after the last frame the
predictions cover are left out and counted (the *gap*); the rest is the *overlap*.

**Sample grid.** Measures are computed at the reference's sample times only: the kept
samples are placed on a regular grid (``step`` video frames apart, the median spacing),
with empty grid places where the reference skipped a sample. Predictions are read at the
same video frames, so both paths are made of the same straight steps (a path sampled at
3 Hz is shorter than the same path at 30 Hz; comparing like with like removes that).

**Animals.** Reference animals are matched to predicted tracks by name when every
reference name is a track name, else by the smallest mean distance between their
positions over the shared samples (``scipy.optimize.linear_sum_assignment``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from posekit.errors import ConfigError, DataError
from posekit.reports.validation_files import PoseSeries

NO_MATCH_COST = 1e12
"""Assignment cost of two animals that share no sample (never chosen over a real one)."""


@dataclass(frozen=True)
class Alignment:
    """Which reference samples were compared, at which video frames.

    Attributes:
        method: ``"frame index"`` or ``"timestamps"``.
        video_fps: the predictions' frame rate (None: unknown).
        step: video frames between consecutive reference samples (grid spacing).
        ref_rows: ``(N,)`` rows of the reference series that were kept.
        frames: ``(N,)`` the video frame of each kept sample.
        grid: ``(N,)`` each kept sample's place on the grid (0, 1, 2, ...).
        n_reference: reference samples in the file.
        n_before, n_after: samples before the predictions' first / after their last frame.
        n_merged: samples that fell on a grid place already taken (left out).
        pred_first, pred_last: the frames the predictions cover.
        ref_first, ref_last: the first and last reference sample as video frames.
        max_offset_s: with timestamps, the largest distance from a sample's time to its
            video frame's time (s).
    """

    method: str
    video_fps: float | None
    step: int
    ref_rows: np.ndarray
    frames: np.ndarray
    grid: np.ndarray
    n_reference: int
    n_before: int
    n_after: int
    n_merged: int
    pred_first: int
    pred_last: int
    ref_first: int
    ref_last: int
    max_offset_s: float | None = None

    @property
    def n_used(self) -> int:
        """Reference samples compared."""
        return len(self.frames)

    @property
    def sample_rate(self) -> float | None:
        """Reference samples per second (None without a frame rate)."""
        return self.video_fps / self.step if self.video_fps else None

    @property
    def gap_text(self) -> str | None:
        """One sentence about the reference samples outside the predictions, or None."""
        if not self.n_before and not self.n_after:
            return None
        return (f"{self.n_before + self.n_after} of {self.n_reference} reference samples lie "
                f"outside the frames the predictions cover ({self.pred_first}–"
                f"{self.pred_last}): {self.n_before} before, {self.n_after} after (reference "
                f"frames {self.ref_first}–{self.ref_last}); compared on the overlap of "
                f"{self.n_used} samples.")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready numbers (the frames as a list)."""
        return {"method": self.method, "video_fps": self.video_fps, "step": self.step,
                "sample_rate": self.sample_rate, "n_reference": self.n_reference,
                "n_used": self.n_used, "n_before": self.n_before, "n_after": self.n_after,
                "n_merged": self.n_merged, "pred_frames": [self.pred_first, self.pred_last],
                "reference_frames": [self.ref_first, self.ref_last],
                "max_offset_s": self.max_offset_s, "gap": self.gap_text,
                "frames": self.frames.tolist()}


def _reference_frames(pred: PoseSeries, ref: PoseSeries, video_fps: float | None,
                      reference_fps: float | None) -> tuple[str, np.ndarray, float | None]:
    """``(method, video frame of every reference sample, largest time offset)``."""
    if ref.times is None and reference_fps is None:
        return "frame index", ref.frame_ids.astype(np.int64), None
    times = ref.times if ref.times is not None else ref.frame_ids / reference_fps
    if not video_fps:
        raise ConfigError(f"{pred.source}: the frame rate of the predictions' video is "
                          "unknown, so reference timestamps cannot be turned into frames; "
                          "expected the video to be readable. Pass --fps (the video's frame "
                          "rate).")
    exact = np.asarray(times, np.float64) * video_fps
    frames = np.round(exact).astype(np.int64)
    offset = float(np.max(np.abs(exact - frames)) / video_fps) if len(frames) else 0.0
    return "timestamps", frames, offset


def align(pred: PoseSeries, ref: PoseSeries, video_fps: float | None = None,
          reference_fps: float | None = None) -> Alignment:
    """Match every reference sample to a video frame of the predictions (module docstring).

    Raises:
        DataError: no reference sample falls inside the predictions' frames.
    """
    method, frames, offset = _reference_frames(pred, ref, video_fps, reference_fps)
    first, last = int(pred.frame_ids[0]), int(pred.frame_ids[-1])
    before, after = frames < first, frames > last
    inside = np.flatnonzero(~before & ~after)
    if not len(inside):
        hint = (" If the reference was scored at another frame rate, pass --reference-fps."
                if method == "frame index" else "")
        raise DataError(f"{ref.source}: no reference sample overlaps the predictions "
                        f"(reference frames {frames.min()}–{frames.max()} by {method}, "
                        f"predictions {first}–{last} in {pred.source}); expected the same "
                        f"video.{hint}")
    kept = frames[inside]
    diffs = np.diff(kept)
    step = max(1, round(float(np.median(diffs[diffs > 0])))) if (diffs > 0).any() else 1
    grid = np.round((kept - kept[0]) / step).astype(np.int64)
    _, unique_at = np.unique(grid, return_index=True)
    keep = np.sort(unique_at)
    return Alignment(method, video_fps, step, inside[keep], kept[keep], grid[keep],
                     len(frames), int(before.sum()), int(after.sum()), len(inside) - len(keep),
                     first, last, int(frames.min()), int(frames.max()), offset)


def points_at(series: PoseSeries, frames: np.ndarray) -> np.ndarray:
    """``(N, A, K, 2)`` points of ``series`` at video ``frames`` (NaN where it has none)."""
    idx = np.clip(np.searchsorted(series.frame_ids, frames), 0, len(series.frame_ids) - 1)
    hit = series.frame_ids[idx] == frames
    out = np.full((len(frames),) + series.points.shape[1:], np.nan)
    out[hit] = series.points[idx[hit]]
    return out


def on_grid(values: np.ndarray, alignment: Alignment) -> np.ndarray:
    """``values (N, ...)`` of the kept samples spread on the full grid (NaN in between)."""
    out = np.full((int(alignment.grid[-1]) + 1,) + values.shape[1:], np.nan)
    out[alignment.grid] = values
    return out


@dataclass(frozen=True)
class AnimalMatch:
    """How reference animals were paired with predicted tracks.

    Attributes:
        pairs: ``(reference animal, predicted track, mean distance px or None)``.
        method: ``"by name"``, ``"one animal each"`` or ``"by mean distance"``.
        unmatched_reference, unmatched_predictions: animals left without a partner.
    """

    pairs: tuple[tuple[str, str, float | None], ...]
    method: str
    unmatched_reference: tuple[str, ...] = ()
    unmatched_predictions: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"method": self.method, "pairs": [
            {"reference": r, "predictions": p, "mean_distance_px": d} for r, p, d in self.pairs],
            "unmatched_reference": list(self.unmatched_reference),
            "unmatched_predictions": list(self.unmatched_predictions)}


def require_identities(series: PoseSeries, role: str) -> None:
    """DataError when ``series`` has several animals per frame but no identities."""
    if not series.tracked and len(series.animal_names) > 1:
        raise DataError(f"{series.source}: the {role} have up to {len(series.animal_names)} "
                        "animals per frame but no tracks; expected identities to compare "
                        "each animal with the reference. Track them first: posekit track "
                        "VIDEO -m MODEL --tracking --max-tracks N (or proofread the tracks "
                        "in SLEAP).")


def mean_distances(pred_xy: np.ndarray, ref_xy: np.ndarray) -> np.ndarray:
    """``(A_ref, A_pred)`` mean distance between each pair's positions ``(N, A, 2)`` over
    the samples both have (NaN where none)."""
    d = np.linalg.norm(ref_xy[:, :, None] - pred_xy[:, None, :], axis=-1)  # (N, Ar, Ap)
    found = np.isfinite(d)
    count = found.sum(axis=0)
    total = np.where(found, d, 0.0).sum(axis=0)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def match_animals(pred_names: tuple[str, ...], ref_names: tuple[str, ...],
                  pred_xy: np.ndarray, ref_xy: np.ndarray) -> AnimalMatch:
    """Pair reference animals with predicted tracks (module docstring)."""
    from scipy.optimize import linear_sum_assignment

    dist = mean_distances(pred_xy, ref_xy)

    def value(i: int, j: int) -> float | None:
        return float(dist[i, j]) if np.isfinite(dist[i, j]) else None

    if set(ref_names) <= set(pred_names):
        pairs = [(i, pred_names.index(n)) for i, n in enumerate(ref_names)]
        method = "by name"
    elif len(ref_names) == 1 and len(pred_names) == 1:
        pairs, method = [(0, 0)], "one animal each"
    else:
        rows, cols = linear_sum_assignment(np.where(np.isfinite(dist), dist, NO_MATCH_COST))
        pairs = [(int(i), int(j)) for i, j in zip(rows, cols, strict=True)
                 if np.isfinite(dist[i, j])]
        method = "by mean distance"
    used_r, used_p = {i for i, _ in pairs}, {j for _, j in pairs}
    return AnimalMatch(tuple((ref_names[i], pred_names[j], value(i, j)) for i, j in pairs),
                       method,
                       tuple(n for i, n in enumerate(ref_names) if i not in used_r),
                       tuple(n for j, n in enumerate(pred_names) if j not in used_p))


def common_nodes(pred: PoseSeries, ref: PoseSeries, node: str) -> list[tuple[str, int | None,
                                                                           int]]:
    """``(name, predictions index or None for the centroid, reference index)`` of every
    reference node the predictions can give (same name, case ignored; ``centroid`` is
    the mean of the predicted nodes).

    Raises:
        DataError: no reference node is known to the predictions.
    """
    lower = {n.lower(): i for i, n in enumerate(pred.node_names)}
    out: list[tuple[str, int | None, int]] = []
    for j, name in enumerate(ref.node_names):
        if name.lower() in lower:
            out.append((name, lower[name.lower()], j))
        elif name.lower() == "centroid":
            out.append((name, None, j))
    if not out:
        raise DataError(f"{ref.source}: reference nodes {list(ref.node_names)} are not nodes of "
                        f"the predictions ({', '.join(pred.node_names)}); expected the same "
                        f"names, or 'centroid'. Rename the reference's nodes, or for a CSV "
                        f"without a node column pass --node (now {node!r}).")
    return out


def node_points(points: np.ndarray, index: int | None) -> np.ndarray:
    """``(N, A, 2)`` one node of ``points (N, A, K, 2)``, or the centroid (None: the mean
    of the found nodes, as :func:`posekit.behaviour.measures.position`)."""
    from posekit.behaviour.measures import position

    return points[..., index, :] if index is not None else position(points, (), "centroid")
