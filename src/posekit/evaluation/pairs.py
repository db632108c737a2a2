"""The matched points behind an evaluation, point by point: :class:`MatchedPoints`.

:func:`posekit.evaluation.evaluate` reduces the matching to summary statistics. Reports
need the points themselves: the error *and the predicted score* of every labelled point
(accuracy at a likelihood cut-off, calibration), the error of every frame (error by
condition), the worst frames. This module keeps the per-frame inputs of an evaluation
(:class:`FrameInputs`, from two labels files or from arrays), scores them with exactly
the evaluation's own matching (Hungarian on OKS, the same area fallback), and returns
the matched pairs with their point scores. A subset of the frames (one condition, one
held-out animal) is re-scored with :meth:`FrameInputs.subset` +
:meth:`FrameInputs.evaluate`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sleap_io as sio

from posekit.evaluation.distances import node_errors
from posekit.evaluation.labels import _collect, _frames_by_key, _Sides
from posekit.evaluation.metrics import (
    _drop_invisible,
    _match_area_fallback,
    _match_frames,
    frame_arrays,
    score_frames,
)
from posekit.evaluation.oks import instance_areas, instance_diagonals, resolve_sigmas
from posekit.evaluation.results import EvaluationResult
from posekit.evaluation.settings import EvaluationSettings
from posekit.keypoints import visible_mask

_PER_FRAME = ("gt_points", "pred_points", "pred_scores", "pred_point_scores", "gt_tracks",
              "pred_tracks", "videos", "frame_indices", "sources")


@dataclass(frozen=True, eq=False)
class FrameInputs:
    """The per-frame inputs of one evaluation (one entry per evaluated frame).

    Attributes:
        gt_points: ``(G, K, 2)`` labelled points per frame (NaN = not visible).
        pred_points: ``(P, K, 2)`` predicted points per frame.
        pred_scores: ``(P,)`` instance scores per frame (NaN = unknown).
        pred_point_scores: ``(P, K)`` point scores per frame, or None (none known).
        gt_tracks, pred_tracks: ``(G,)`` / ``(P,)`` track indices per frame (-1 = none).
        videos: each frame's video key (as in the metrics' pairing).
        frame_indices: each frame's index in its video.
        sources: each frame's video index in the ground-truth labels (0 for arrays).
        node_names: the skeleton's node names.
        gt_track_names, pred_track_names: names of the track indices.
    """

    gt_points: tuple[np.ndarray, ...]
    pred_points: tuple[np.ndarray, ...]
    pred_scores: tuple[np.ndarray, ...]
    pred_point_scores: tuple[np.ndarray | None, ...]
    gt_tracks: tuple[np.ndarray, ...]
    pred_tracks: tuple[np.ndarray, ...]
    videos: tuple[str, ...]
    frame_indices: tuple[int, ...]
    sources: tuple[int, ...]
    node_names: tuple[str, ...]
    gt_track_names: tuple[str, ...] = ()
    pred_track_names: tuple[str, ...] = ()

    @property
    def n_frames(self) -> int:
        """Number of evaluated frames."""
        return len(self.gt_points)

    def subset(self, keep: Sequence[bool] | np.ndarray) -> FrameInputs:
        """The frames where ``keep`` (one bool per frame) is True, in order."""
        mask = np.asarray(keep, dtype=bool)
        if mask.shape != (self.n_frames,):
            raise ValueError(f"keep has shape {mask.shape}; expected ({self.n_frames},)")
        picked = {name: tuple(v for v, k in zip(getattr(self, name), mask) if k)
                  for name in _PER_FRAME}
        return FrameInputs(node_names=self.node_names, gt_track_names=self.gt_track_names,
                           pred_track_names=self.pred_track_names, **picked)

    def _arrays(self) -> Any:
        return frame_arrays(
            list(self.gt_points), list(self.pred_points), pred_scores=list(self.pred_scores),
            pred_point_scores=list(self.pred_point_scores), gt_tracks=list(self.gt_tracks),
            pred_tracks=list(self.pred_tracks), gt_track_names=self.gt_track_names,
            pred_track_names=self.pred_track_names, videos=list(self.videos),
            frame_indices=list(self.frame_indices), node_names=list(self.node_names),
        )

    def evaluate(self, settings: EvaluationSettings | None = None) -> EvaluationResult:
        """Every metric of these frames (what :func:`posekit.evaluation.evaluate_arrays`
        returns for them)."""
        return score_frames(self._arrays(), settings)

    def match(self, settings: EvaluationSettings | None = None) -> MatchedPoints:
        """The matched pairs of these frames, matched as :meth:`evaluate` matches them."""
        return _matched(self, settings or EvaluationSettings())


@dataclass(frozen=True, eq=False)
class MatchedPoints:
    """Every matched (labelled animal, predicted animal) pair, point by point.

    Attributes:
        node_names: the skeleton's node names (``K``).
        frame: ``(M,)`` index of each pair's evaluated frame (into :class:`FrameInputs`).
        gt: ``(M, K, 2)`` labelled points of the pairs (NaN = not visible).
        pred: ``(M, K, 2)`` predicted points (NaN = not placed).
        scores: ``(M, K)`` predicted point scores (NaN = unknown or not placed).
        instance_scores: ``(M,)`` the predictions' ranking scores.
        oks: ``(M,)`` OKS of each pair.
        gt_instances: ``(F,)`` labelled animals (with a visible point) per frame.
        n_frames: evaluated frames ``F``.
    """

    node_names: tuple[str, ...]
    frame: np.ndarray
    gt: np.ndarray
    pred: np.ndarray
    scores: np.ndarray
    instance_scores: np.ndarray
    oks: np.ndarray
    gt_instances: np.ndarray
    n_frames: int
    _cache: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def errors(self) -> np.ndarray:
        """``(M, K)`` Euclidean errors in pixels, NaN where no error exists (the definition
        of :func:`posekit.evaluation.distances.node_errors`)."""
        if "errors" not in self._cache:
            self._cache["errors"] = node_errors(self.gt, self.pred)
        return self._cache["errors"]

    @property
    def labelled(self) -> np.ndarray:
        """``(M, K)`` True where the labelled point is visible."""
        return visible_mask(self.gt)

    @property
    def animal_size(self) -> np.ndarray:
        """``(M,)`` each labelled animal's size: the diagonal (pixels) of the bounding box of
        its visible points (the normaliser of the metrics' normalised PCK); 0 when it
        has one visible point."""
        if "size" not in self._cache:
            self._cache["size"] = (instance_diagonals(self.gt) if self.gt.shape[0]
                                   else np.zeros(0))
        return self._cache["size"]

    def frame_errors(self) -> np.ndarray:
        """``(F,)`` mean error of each evaluated frame's matched points (NaN: none)."""
        err = self.errors
        present = np.isfinite(err)
        total = np.bincount(self.frame, np.where(present, err, 0.0).sum(axis=1),
                            minlength=self.n_frames)
        count = np.bincount(self.frame, present.sum(axis=1), minlength=self.n_frames)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _matched(inputs: FrameInputs, settings: EvaluationSettings) -> MatchedPoints:
    frames = inputs._arrays()
    kept = [visible_mask(g).any(axis=1) for g in frames.gt]
    _drop_invisible(frames)
    names = frames.node_names
    sigmas = resolve_sigmas(settings.oks_sigmas, names)
    fallback = _match_area_fallback([instance_areas(g) for g in frames.gt],
                                    settings.match_area_fallback)
    matches = _match_frames(frames, sigmas, fallback[0], settings.match_oks_threshold)
    n_nodes = len(names)
    frame_of, scores, inst = [], [], []
    for i, tracked in enumerate(matches.tracked):
        pi = tracked.pred_index
        frame_of.append(np.full(pi.shape[0], i, dtype=np.int64))
        point_scores = inputs.pred_point_scores[i]
        if point_scores is None:
            point_scores = np.full((frames.pred[i].shape[0], n_nodes), np.nan)
        scores.append(np.asarray(point_scores, np.float64).reshape(-1, n_nodes)[pi])
        inst.append(frames.scores[i][pi])
    pred = matches.pred
    point_scores = np.concatenate(scores) if scores else np.zeros((0, n_nodes))
    point_scores = np.where(visible_mask(pred), point_scores, np.nan)
    return MatchedPoints(
        node_names=tuple(names),
        frame=np.concatenate(frame_of) if frame_of else np.zeros(0, np.int64),
        gt=matches.gt, pred=pred, scores=point_scores,
        instance_scores=np.concatenate(inst) if inst else np.zeros(0),
        oks=matches.oks,
        gt_instances=np.array([int(k.sum()) for k in kept], dtype=np.int64),
        n_frames=len(frames.gt),
    )


def array_inputs(
    gt_points: Sequence[np.ndarray],
    pred_points: Sequence[np.ndarray],
    **frame_inputs: Any,
) -> FrameInputs:
    """:class:`FrameInputs` from per-frame arrays (the arguments of
    :func:`posekit.evaluation.evaluate_arrays`: ``pred_scores``, ``pred_point_scores``,
    ``gt_tracks``, ``pred_tracks``, ``gt_track_names``, ``pred_track_names``, ``videos``,
    ``frame_indices``, ``node_names``)."""
    frames = frame_arrays(gt_points, pred_points, **frame_inputs)
    point_scores = frame_inputs.get("pred_point_scores") or [None] * len(frames.gt)
    return FrameInputs(
        gt_points=tuple(frames.gt), pred_points=tuple(frames.pred),
        pred_scores=tuple(np.asarray(s if s is not None else np.full(p.shape[0], np.nan),
                                     np.float64)
                          for s, p in zip(frame_inputs.get("pred_scores")
                                          or [None] * len(frames.pred), frames.pred)),
        pred_point_scores=tuple(None if s is None else np.asarray(s, np.float64)
                                for s in point_scores),
        gt_tracks=tuple(frames.gt_tracks), pred_tracks=tuple(frames.pred_tracks),
        videos=tuple(frames.videos), frame_indices=tuple(frames.frame_indices),
        sources=(0,) * len(frames.gt), node_names=tuple(frames.node_names),
        gt_track_names=tuple(frames.gt_track_names),
        pred_track_names=tuple(frames.pred_track_names),
    )


def labels_inputs(
    ground_truth: sio.Labels,
    predictions: sio.Labels,
    settings: EvaluationSettings | None = None,
) -> FrameInputs:
    """:class:`FrameInputs` of two labels files, paired exactly as
    :func:`posekit.evaluation.evaluate` pairs them (videos, frames, node order).

    ``FrameInputs.evaluate()`` of the result gives the numbers ``evaluate`` gives (without
    the file-specific provenance and pairing sections).

    Raises:
        DataError: as :func:`posekit.evaluation.evaluate`.
    """
    settings = settings or EvaluationSettings()
    sides = _Sides(ground_truth, predictions)
    collected = _collect(sides, settings.user_instances_only_gt)
    rows = collected.inputs
    sources = []
    for key, lfs in sorted(_frames_by_key(ground_truth).items()):
        insts = [i for lf in lfs for i in lf.instances]
        if settings.user_instances_only_gt:
            insts = [i for i in insts if not isinstance(i, sio.PredictedInstance)]
        if insts or any(getattr(lf, "is_negative", False) for lf in lfs):
            sources.append(int(key[0]))
    if len(sources) != len(rows["gt_points"]):  # an invariant: the same frames as evaluate()
        raise RuntimeError("labels_inputs: the frame selection differs from evaluate()'s")
    nodes = sides.nodes
    return FrameInputs(
        gt_points=tuple(rows["gt_points"]), pred_points=tuple(rows["pred_points"]),
        pred_scores=tuple(rows["pred_scores"]),
        pred_point_scores=tuple(None if s is None else np.asarray(s, np.float64)
                                for s in rows["pred_point_scores"]),
        gt_tracks=tuple(rows["gt_tracks"]), pred_tracks=tuple(rows["pred_tracks"]),
        videos=tuple(rows["videos"]), frame_indices=tuple(int(f) for f in rows["frame_indices"]),
        sources=tuple(sources), node_names=tuple(nodes),
        gt_track_names=tuple(sides.gt_track_names),
        pred_track_names=tuple(sides.pr_track_names),
    )
