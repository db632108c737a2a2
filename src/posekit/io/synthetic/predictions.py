"""Synthetic *predictions* with planted failures, and the truth of what was planted.

:func:`plant_failures` turns true synthetic poses (``SynthResult.true_points`` from
:func:`~posekit.io.synthetic.render`, or :func:`true_poses` of a spec, which skips the
pixels and so suits long recordings) into what a pose model would hand back: every point
jittered by ``noise_px``, scored between ``score_range``, and four kinds of failure
planted at random frames, each event at least ``spacing`` frames from any other:

* ``jump`` — 1 to 3 nodes of one animal land ``jump_px`` away (random direction) for 1 to
  ``max_glitch`` frames, then come back;
* ``low_score`` — 1 to 3 nodes of one animal are scored below ``p_bound`` for 1 to
  ``max_glitch`` frames;
* ``drift`` — one node slides smoothly away from its true position (raised-cosine ramps
  of ``ramp`` frames, a plateau of ``plateau`` frames, then back), up to ``drift_px``;
* ``swap`` — two animals exchange identities from one frame on (every later frame keeps
  the exchange: a tracker's ID switch), chosen where they are at least
  ``3 * epsilon`` apart so the switch is visible.

The truth (:class:`PlantedTruth`) marks, per frame, animal slot and node, where a failure
*matters* under the documented thresholds: a point moved more than ``epsilon``, scored
below ``p_bound``, or the frame of an ID switch. Points a failure moved by less
(the ends of a drift ramp) are marked ``touched``: neither a hit nor a false alarm.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sleap_io as sio

from posekit.errors import ConfigError
from posekit.io.synthetic.motion import keypoints, simulate
from posekit.io.synthetic.render import SynthResult, make_skeleton
from posekit.io.synthetic.spec import SynthSpec

KINDS = ("jump", "low_score", "drift", "swap")


@dataclass(frozen=True)
class FailureSpec:
    """What to plant (counts are events per recording) and the thresholds that define
    the truth (DeepLabCut's defaults).

    Attributes:
        jumps, low_scores, drifts, swaps: number of events of each kind (swaps need two
            or more animals).
        noise_px: standard deviation of the jitter on every point.
        score_range: scores of correct points, uniform in this range.
        jump_px: range of a jump's distance.
        drift_px: range of a drift's largest distance.
        max_glitch: longest jump / low-score event, in frames.
        ramp, plateau: drift ramp length and the plateau's length range, in frames.
        spacing: least number of frames between two events.
        epsilon: pixels: a point moved further is an outlier.
        p_bound: a point scored below it is an outlier.
        seed: random seed.
    """

    jumps: int = 10
    low_scores: int = 10
    drifts: int = 10
    swaps: int = 4
    noise_px: float = 1.0
    score_range: tuple[float, float] = (0.5, 1.0)
    jump_px: tuple[float, float] = (40.0, 100.0)
    drift_px: tuple[float, float] = (50.0, 80.0)
    max_glitch: int = 3
    ramp: int = 3
    plateau: tuple[int, int] = (0, 1)
    spacing: int = 40
    epsilon: float = 20.0
    p_bound: float = 0.01
    seed: int = 0


@dataclass(frozen=True)
class PlantedEvent:
    """One planted failure: kind, first frame (video numbering), frames it lasts, the
    animal slots and nodes it touches, and its size (px, or the score for low_score)."""

    kind: str
    frame: int
    length: int
    slots: tuple[int, ...]
    nodes: tuple[int, ...]
    size: float


@dataclass(frozen=True)
class PlantedTruth:
    """Where the planted failures are.

    Attributes:
        frame_ids: ``(F,)`` frame numbers of the predictions.
        outlier: ``(F, N, K)`` points that are outliers by the documented thresholds.
        switch: ``(F, N)`` slots whose identity switches at that frame.
        touched: ``(F, N, K)`` points a failure moved by ``epsilon`` or less.
        events: every planted event.
    """

    frame_ids: np.ndarray
    outlier: np.ndarray
    switch: np.ndarray
    touched: np.ndarray
    events: tuple[PlantedEvent, ...]

    @property
    def frames(self) -> np.ndarray:
        """Frame numbers holding an outlier point or an ID switch."""
        hit = self.outlier.any(axis=(1, 2)) | self.switch.any(axis=1)
        return self.frame_ids[hit]

    @property
    def touched_frames(self) -> np.ndarray:
        """Frame numbers touched by a failure without being planted outliers."""
        hit = self.touched.any(axis=(1, 2)) & ~np.isin(self.frame_ids, self.frames)
        return self.frame_ids[hit]


@dataclass(frozen=True)
class SynthPredictions:
    """Predictions with planted failures: the labels, the arrays behind them and the truth.

    Attributes:
        labels: ``sio.Labels`` of ``PredictedInstance`` s (tracks when several animals).
        points: ``(F, N, K, 2)`` predicted points; slot ``n`` is track ``n``.
        scores: ``(F, N, K)`` point scores.
        true_points: ``(F, N, K, 2)`` where the animals really are (after the swaps, the
            truth follows the animal, not the track).
        truth: the planted failures.
    """

    labels: sio.Labels
    points: np.ndarray
    scores: np.ndarray
    true_points: np.ndarray
    truth: PlantedTruth


def true_poses(spec: SynthSpec) -> tuple[np.ndarray, sio.Skeleton]:
    """``(F, N, K, 2)`` true keypoints of ``spec`` without drawing a pixel (the same poses
    as ``render(spec).true_points``), and the skeleton."""
    rng = np.random.default_rng(np.random.SeedSequence(spec.seed).spawn(5)[0])
    traj = simulate(spec.body, spec.n_frames, spec.n_animals, (spec.height, spec.width),
                    spec.body_length_px, spec.speed, spec.smoothness, rng)
    return keypoints(spec.body, traj).astype(np.float64), make_skeleton(spec.body)


def _starts(rng: np.random.Generator, n_frames: int, count: int, spacing: int,
            length: int) -> list[int]:
    """``count`` start frames at least ``spacing`` apart, each leaving ``length`` frames."""
    slots = np.arange(spacing, n_frames - length - spacing, spacing)
    if count > len(slots):
        raise ConfigError(f"FailureSpec: {count} events do not fit in {n_frames} frames "
                          f"{spacing} frames apart; expected at most {len(slots)}. Plant fewer "
                          "failures, lower spacing or make a longer recording.")
    return sorted(int(s) for s in rng.choice(slots, size=count, replace=False))


def _direction(rng: np.random.Generator) -> np.ndarray:
    angle = rng.uniform(0.0, 2.0 * np.pi)
    return np.array([np.cos(angle), np.sin(angle)])


def _drift_profile(ramp: int, plateau: int) -> np.ndarray:
    """Share of the full drift over ``2 * ramp + plateau`` frames (raised-cosine ramps)."""
    up = 0.5 - 0.5 * np.cos(np.pi * np.arange(1, ramp + 1) / (ramp + 1))
    return np.r_[up, np.ones(plateau), up[::-1]]


class _Planter:
    """Applies events to the prediction arrays and records the truth."""

    def __init__(self, points: np.ndarray, scores: np.ndarray, truth_pts: np.ndarray,
                 spec: FailureSpec, first_frame: int) -> None:
        self.pts, self.scores, self.true, self.spec = points, scores, truth_pts, spec
        self.first = first_frame
        f, n, k, _ = points.shape
        self.outlier = np.zeros((f, n, k), bool)
        self.touched = np.zeros((f, n, k), bool)
        self.switch = np.zeros((f, n), bool)
        self.events: list[PlantedEvent] = []

    def displace(self, frames: np.ndarray, slot: int, node: int, offset: np.ndarray) -> None:
        """Move a point by ``offset (len(frames), 2)``; mark outliers beyond epsilon."""
        self.pts[frames, slot, node] += offset
        there = np.isfinite(self.pts[frames, slot, node]).all(axis=1)  # missing stays missing
        big = np.linalg.norm(offset, axis=1) > self.spec.epsilon
        self.outlier[frames[big & there], slot, node] = True
        self.touched[frames[~big & there], slot, node] = True

    def glitch(self, rng: np.random.Generator, kind: str, start: int) -> None:
        n, k = self.pts.shape[1:3]
        length = int(rng.integers(1, self.spec.max_glitch + 1))
        slot = int(rng.integers(n))
        nodes = tuple(sorted(int(x) for x in rng.choice(k, size=min(k, int(rng.integers(1, 4))),
                                                         replace=False)))
        frames = np.arange(start, start + length)
        if kind == "jump":
            size = float(rng.uniform(*self.spec.jump_px))
            for node in nodes:
                self.displace(frames, slot, node, np.tile(size * _direction(rng), (length, 1)))
        else:
            size = float(rng.uniform(0.0, self.spec.p_bound))
            for node in nodes:
                self.scores[frames, slot, node] = rng.uniform(0.0, self.spec.p_bound, length)
                there = np.isfinite(self.pts[frames, slot, node]).all(axis=1)
                self.outlier[frames[there], slot, node] = True
        self.events.append(PlantedEvent(kind, self.first + start, length, (slot,), nodes, size))

    def drift(self, rng: np.random.Generator, start: int) -> None:
        n, k = self.pts.shape[1:3]
        slot, node = int(rng.integers(n)), int(rng.integers(k))
        profile = _drift_profile(self.spec.ramp, int(rng.integers(self.spec.plateau[0],
                                                                  self.spec.plateau[1] + 1)))
        size = float(rng.uniform(*self.spec.drift_px))
        frames = np.arange(start, start + len(profile))
        self.displace(frames, slot, node, profile[:, None] * size * _direction(rng)[None, :])
        self.events.append(PlantedEvent("drift", self.first + start, len(profile), (slot,), (node,), size))

    def swap(self, rng: np.random.Generator, start: int) -> bool:
        n = self.pts.shape[1]
        centre = np.nanmean(self.true[start], axis=1)  # (N, 2)
        pairs = [(a, b) for a in range(n) for b in range(a + 1, n)
                 if np.linalg.norm(centre[a] - centre[b]) >= 3 * self.spec.epsilon]
        if not pairs:
            return False
        a, b = pairs[int(rng.integers(len(pairs)))]
        for arr in (self.pts, self.scores, self.true, self.outlier, self.touched):
            arr[start:, [a, b]] = arr[start:, [b, a]]
        self.switch[start, [a, b]] = True
        self.events.append(PlantedEvent("swap", self.first + start, 1, (a, b), (),
                                        float(np.linalg.norm(centre[a] - centre[b]))))
        return True


def plant_failures(
    true_points: np.ndarray | SynthResult,
    skeleton: sio.Skeleton | None = None,
    spec: FailureSpec | None = None,
    first_frame: int = 0,
    video: sio.Video | None = None,
    track_names: list[str] | None = None,
) -> SynthPredictions:
    """Predictions of ``true_points (F, N, K, 2)`` with planted failures (module docstring).

    Args:
        true_points: true keypoints, or a :class:`SynthResult` (its ``true_points``,
            skeleton and track names are used).
        skeleton: the skeleton (needed with a plain array).
        spec: what to plant (default :class:`FailureSpec`).
        first_frame: video frame number of row 0 (predictions that start mid-video).
        video: the video of the labels (default: a placeholder ``synthetic.mp4``).
        track_names: names of the animals' tracks (default ``animal_<n>`` with several
            animals, none with one).
    """
    if isinstance(true_points, SynthResult):
        skeleton = skeleton or true_points.skeleton
        track_names = track_names or true_points.track_names or None
        true_points = true_points.true_points
    if skeleton is None:
        raise ConfigError("skeleton: none given with a plain array of points; expected a "
                          "sio.Skeleton (true_poses returns one).")
    spec = spec or FailureSpec()
    rng = np.random.default_rng(spec.seed)
    truth_pts = np.asarray(true_points, np.float64).copy()
    f, n, k, _ = truth_pts.shape
    pts = truth_pts + rng.normal(0.0, spec.noise_px, truth_pts.shape)
    scores = rng.uniform(*spec.score_range, (f, n, k))
    planter = _Planter(pts, scores, truth_pts, spec, first_frame)
    kinds = (["swap"] * (spec.swaps if n > 1 else 0) + ["jump"] * spec.jumps
             + ["low_score"] * spec.low_scores + ["drift"] * spec.drifts)
    longest = 2 * spec.ramp + spec.plateau[1]
    starts = _starts(rng, f, len(kinds), spec.spacing, longest)
    for kind, start in zip(rng.permutation(kinds), starts, strict=True):
        if kind == "swap":
            planter.swap(rng, start)
        elif kind == "drift":
            planter.drift(rng, start)
        else:
            planter.glitch(rng, str(kind), start)
    frame_ids = np.arange(first_frame, first_frame + f, dtype=np.int64)
    if track_names is None and n > 1:
        track_names = [f"animal_{i}" for i in range(n)]
    labels = _to_labels(pts, scores, skeleton, frame_ids, video, track_names)
    truth = PlantedTruth(frame_ids, planter.outlier, planter.switch,
                         planter.touched & ~planter.outlier, tuple(planter.events))
    return SynthPredictions(labels, pts, scores, truth_pts, truth)


def _to_labels(points: np.ndarray, scores: np.ndarray, skeleton: sio.Skeleton,
               frame_ids: np.ndarray, video: sio.Video | None,
               track_names: list[str] | None) -> sio.Labels:
    if video is None:  # a Video without frames is falsy: test for None, not truth
        video = sio.Video(filename="synthetic.mp4", open_backend=False)
    tracks = [sio.Track(name=name) for name in track_names or []]
    frames = []
    for row, frame in enumerate(frame_ids.tolist()):
        insts = [sio.PredictedInstance.from_numpy(
            points_data=points[row, i], skeleton=skeleton, point_scores=scores[row, i],
            score=float(np.mean(scores[row, i])), track=tracks[i] if tracks else None)
            for i in range(points.shape[1])]
        frames.append(sio.LabeledFrame(video=video, frame_idx=frame, instances=insts))
    return sio.Labels(labeled_frames=frames, videos=[video], skeletons=[skeleton],
                      tracks=tracks, provenance={"posekit_synthetic_predictions": True})
