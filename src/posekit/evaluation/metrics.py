"""All pose metrics from per-frame arrays: :func:`evaluate_arrays`.

This is the file-free entry point (training calls it on its validation predictions);
:func:`posekit.evaluation.evaluate` turns two labels files into the same arrays. The steps:
:func:`frame_arrays` checks and normalises the inputs, :func:`score_frames` matches the
instances of every frame and assembles the typed :class:`EvaluationResult` from the
point metrics (:func:`point_metrics`) and the COCO / identity metrics.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from posekit import __version__
from posekit.errors import DataError
from posekit.evaluation.coco_map import (
    COCO_AREA_RANGE_ALL,
    COCO_MAX_DETECTIONS,
    COCO_RECALL_POINTS,
    CocoKeypointResult,
    FrameDetections,
    coco_keypoint_map,
)
from posekit.evaluation.distances import (
    error_summary,
    error_summary_per_node,
    node_errors,
    pck,
    pck_normalized,
)
from posekit.evaluation.identity import TrackedFrame, identity_metrics
from posekit.evaluation.matching import MATCHING_RULE, match_instances
from posekit.evaluation.oks import instance_areas, oks_matrix, resolve_sigmas
from posekit.evaluation.records import (
    Counts,
    ErrorStats,
    NodeMetrics,
    OksResult,
    PckResult,
    Provenance,
    SettingsRecord,
    VisibilityResult,
    opt_float,
)
from posekit.evaluation.results import EvaluationResult
from posekit.evaluation.settings import EvaluationSettings
from posekit.evaluation.visibility import precision_recall, visibility_counts
from posekit.keypoints import visible_mask

DEFAULT_MATCH_AREA_PX2 = 100.0**2
"""Matching area used for degenerate GT boxes when no GT instance has a non-zero area."""

PREDICTION_SCORE_RULE = "instance score; else mean point score; else 1.0"
COCO_MATCHING_RULE = "COCOeval: greedy per frame, predictions in decreasing score order"
PCK_NORMALIZED_BY = "diagonal of the GT instance's visible-point bounding box"


@dataclass
class FrameArrays:
    """Checked per-frame inputs of one evaluation (lists with one entry per frame).

    Attributes:
        gt: ``(G, K, 2)`` float64 ground-truth points.
        pred: ``(P, K, 2)`` float64 predicted points.
        scores: ``(P,)`` ranking scores (instance score, else mean point score, else 1).
        gt_tracks, pred_tracks: ``(G,)`` / ``(P,)`` int64 track indices, -1 = none.
        videos, frame_indices: each frame's video key and frame index.
        node_names: the skeleton's node names.
        gt_track_names, pred_track_names: names of the track indices.
    """

    gt: list[np.ndarray]
    pred: list[np.ndarray]
    scores: list[np.ndarray]
    gt_tracks: list[np.ndarray]
    pred_tracks: list[np.ndarray]
    videos: list[str]
    frame_indices: list[int]
    node_names: list[str]
    gt_track_names: list[str]
    pred_track_names: list[str]


def _as_frames(arrays: Sequence[np.ndarray], name: str, n_nodes: int | None) -> list[np.ndarray]:
    out = []
    for i, a in enumerate(arrays):
        a = np.asarray(a, dtype=np.float64)
        if a.ndim == 2 and a.shape[0] == 0:
            a = a.reshape(0, n_nodes or 0, 2)
        if a.ndim != 3 or a.shape[-1] != 2 or (n_nodes is not None and a.shape[1] != n_nodes):
            expected = f"(n_instances, {n_nodes if n_nodes is not None else 'n_nodes'}, 2)"
            raise DataError(
                f"{name}[{i}]: points have shape {a.shape}; expected {expected}. "
                "Give one (n_instances, n_nodes, 2) array per frame, NaN for missing points."
            )
        out.append(a)
    return out


def _per_frame(
    values: Sequence[Any] | None, sizes: Sequence[int], name: str, fill: Any, dtype: Any
) -> list[np.ndarray]:
    """Per-frame 1-D arrays of given lengths (``fill`` where ``values`` is None)."""
    if values is None:
        return [np.full(n, fill, dtype=dtype) for n in sizes]
    if len(values) != len(sizes):
        raise DataError(f"{name}: {len(values)} frames; expected {len(sizes)} (one per frame).")
    out = []
    for i, (v, n) in enumerate(zip(values, sizes)):
        arr = np.full(n, fill, dtype=dtype) if v is None else np.asarray(v, dtype=dtype)
        if arr.shape[0] != n:
            raise DataError(
                f"{name}[{i}]: {arr.shape[0]} values; expected {n} (one per instance of that "
                "frame)."
            )
        out.append(arr)
    return out


def instance_scores(scores: np.ndarray, point_scores: np.ndarray | None) -> np.ndarray:
    """Prediction scores for COCO ranking: the instance score where finite, else the mean
    of the finite point scores, else 1.0."""
    scores = np.asarray(scores, dtype=np.float64).copy()
    fallback = np.ones_like(scores)
    if point_scores is not None and scores.shape[0]:
        ps = np.asarray(point_scores, dtype=np.float64).reshape(scores.shape[0], -1)
        finite = np.isfinite(ps)
        n = finite.sum(axis=1)
        mean = np.where(finite, ps, 0.0).sum(axis=1) / np.maximum(n, 1)
        fallback = np.where(n > 0, mean, 1.0)
    return np.where(np.isfinite(scores), scores, fallback)


def frame_arrays(
    gt_points: Sequence[np.ndarray],
    pred_points: Sequence[np.ndarray],
    *,
    pred_scores: Sequence[np.ndarray | None] | None = None,
    pred_point_scores: Sequence[np.ndarray | None] | None = None,
    gt_tracks: Sequence[np.ndarray | None] | None = None,
    pred_tracks: Sequence[np.ndarray | None] | None = None,
    gt_track_names: Sequence[str] = (),
    pred_track_names: Sequence[str] = (),
    videos: Sequence[str] | None = None,
    frame_indices: Sequence[int] | None = None,
    node_names: Sequence[str] | None = None,
) -> FrameArrays:
    """Check and normalise per-frame inputs (arguments as in :func:`evaluate_arrays`).

    Raises:
        DataError: inconsistent shapes or counts.
    """
    if len(gt_points) != len(pred_points):
        raise DataError(
            f"evaluate_arrays: {len(gt_points)} ground-truth frames but {len(pred_points)} "
            "prediction frames; expected one prediction array per ground-truth frame "
            "(an empty (0, n_nodes, 2) array where nothing was predicted)."
        )
    first = next((np.asarray(a) for a in gt_points if np.asarray(a).ndim == 3), None)
    n_nodes = len(node_names) if node_names is not None else (
        first.shape[1] if first is not None else None
    )
    gts = _as_frames(gt_points, "gt_points", n_nodes)
    preds = _as_frames(pred_points, "pred_points", n_nodes)
    if n_nodes is None:
        n_nodes = next((p.shape[1] for p in preds if p.ndim == 3), 0)
    gts = [g.reshape(0, n_nodes, 2) if g.size == 0 else g for g in gts]
    preds = [p.reshape(0, n_nodes, 2) if p.size == 0 else p for p in preds]
    n_frames = len(gts)
    p_sizes = [p.shape[0] for p in preds]
    scores = _per_frame(pred_scores, p_sizes, "pred_scores", np.nan, np.float64)
    point_scores = pred_point_scores if pred_point_scores is not None else [None] * n_frames
    if len(point_scores) != n_frames:
        raise DataError(f"pred_point_scores: {len(point_scores)} frames; expected {n_frames}.")
    video_keys = list(videos) if videos is not None else ["video"] * n_frames
    frame_idx = list(frame_indices) if frame_indices is not None else list(range(n_frames))
    if len(video_keys) != n_frames or len(frame_idx) != n_frames:
        raise DataError(f"videos / frame_indices: expected {n_frames} entries (one per frame).")
    return FrameArrays(
        gt=gts,
        pred=preds,
        scores=[instance_scores(s, ps) for s, ps in zip(scores, point_scores)],
        gt_tracks=_per_frame(gt_tracks, [g.shape[0] for g in gts], "gt_tracks", -1, np.int64),
        pred_tracks=_per_frame(pred_tracks, p_sizes, "pred_tracks", -1, np.int64),
        videos=[str(v) for v in video_keys],
        frame_indices=[int(f) for f in frame_idx],
        node_names=(
            list(node_names) if node_names is not None else [f"node{k}" for k in range(n_nodes)]
        ),
        gt_track_names=list(gt_track_names),
        pred_track_names=list(pred_track_names),
    )


def evaluate_arrays(
    gt_points: Sequence[np.ndarray],
    pred_points: Sequence[np.ndarray],
    settings: EvaluationSettings | None = None,
    **frame_inputs: Any,
) -> EvaluationResult:
    """Compute every pose metric from per-frame point arrays.

    Args:
        gt_points: per frame, ``(G, K, 2)`` ground-truth points (NaN = not visible).
            GT instances without any visible point are dropped (COCO ignores them).
        pred_points: per frame, ``(P, K, 2)`` predicted points (NaN = not predicted).
            An empty array means the model found nothing in that frame (all GT missed).
        settings: what to compute (:class:`EvaluationSettings`; default: its defaults).
        **frame_inputs: optional per-frame data, all keyword arguments of
            :func:`frame_arrays`: ``pred_scores`` (per frame ``(P,)`` instance scores,
            NaN / None = unknown), ``pred_point_scores`` (per frame ``(P, K)``, the score
            fallback), ``gt_tracks`` / ``pred_tracks`` (per frame ``(G,)`` / ``(P,)`` int
            indices into ``gt_track_names`` / ``pred_track_names``, -1 = no track),
            ``videos`` / ``frame_indices`` (order the frames for the identity metrics;
            default one video, frames in the given order) and ``node_names`` (default
            ``node0``, ``node1``...).

    Returns:
        The typed metrics (see docs/metrics.md).

    Raises:
        DataError: inconsistent shapes or counts.
    """
    return score_frames(frame_arrays(gt_points, pred_points, **frame_inputs), settings)


def _drop_invisible(frames: FrameArrays) -> int:
    """Drop GT instances without any visible point (COCO ignores them); their number."""
    dropped = 0
    for i, gt in enumerate(frames.gt):
        keep = visible_mask(gt).any(axis=1)
        dropped += int((~keep).sum())
        frames.gt[i], frames.gt_tracks[i] = gt[keep], frames.gt_tracks[i][keep]
    return dropped


def _match_area_fallback(areas: list[np.ndarray], given: float | None) -> tuple[float, str]:
    """Area used for matching GT instances whose visible points span no area."""
    if given is not None:
        return float(given), "given"
    all_areas = np.concatenate(areas) if areas else np.zeros(0)
    positive = all_areas[all_areas > 0]
    if positive.size:
        return float(np.median(positive)), "median non-zero GT area"
    return DEFAULT_MATCH_AREA_PX2, "default (no GT instance has a non-zero area)"


@dataclass
class _Matches:
    """The matching of every frame: matched pairs, their OKS, COCO and identity inputs."""

    gt: np.ndarray  # (M, K, 2)
    pred: np.ndarray  # (M, K, 2)
    oks: np.ndarray  # (M,)
    coco: list[FrameDetections]
    tracked: list[TrackedFrame]


def _match_frames(
    frames: FrameArrays, sigmas: np.ndarray, fallback_area: float, min_oks: float
) -> _Matches:
    """OKS, COCO detections and the Hungarian matching of every frame."""
    n_nodes = len(frames.node_names)
    pair_gt, pair_pred, pair_oks, coco, tracked = [], [], [], [], []
    for i, (gt, pred) in enumerate(zip(frames.gt, frames.pred)):
        areas = instance_areas(gt)
        oks = oks_matrix(gt, pred, areas, sigmas)
        coco.append(
            FrameDetections(
                oks=oks,
                gt_areas=areas,
                gt_num_visible=visible_mask(gt).sum(axis=1),
                pred_scores=frames.scores[i],
                pred_areas=instance_areas(pred),
            )
        )
        degenerate = areas <= 0
        match_oks = oks
        if degenerate.any():
            match_oks = oks_matrix(gt, pred, np.where(degenerate, fallback_area, areas), sigmas)
        gi, pi = match_instances(match_oks, min_oks)
        pair_gt.append(gt[gi])
        pair_pred.append(pred[pi])
        pair_oks.append(oks[gi, pi])
        tracked.append(
            TrackedFrame(
                frames.videos[i], frames.frame_indices[i], frames.gt_tracks[i],
                frames.pred_tracks[i], gi, pi,
            )
        )
    empty = np.zeros((0, n_nodes, 2))
    return _Matches(
        gt=np.concatenate(pair_gt) if pair_gt else empty,
        pred=np.concatenate(pair_pred) if pair_pred else empty,
        oks=np.concatenate(pair_oks) if pair_oks else np.zeros(0),
        coco=coco,
        tracked=tracked,
    )


def _error_stats(values: dict[str, Any]) -> ErrorStats:
    """ErrorStats from the statistics of :mod:`posekit.evaluation.distances`."""
    return ErrorStats(
        n=int(values["n"]), **{key: opt_float(v) for key, v in values.items() if key != "n"}
    )


def _visibility(counts: dict[str, Any], precision: Any, recall: Any) -> VisibilityResult:
    return VisibilityResult(
        **{c: int(counts[c]) for c in ("tp", "fp", "fn", "tn")},
        precision=opt_float(precision),
        recall=opt_float(recall),
    )


def _fractions(thresholds: Sequence[float], values: Sequence[Any]) -> dict[float, float | None]:
    return {float(t): opt_float(v) for t, v in zip(thresholds, values)}


@dataclass(frozen=True)
class PointMetrics:
    """Pixel errors, PCK and visibility of the matched pairs, overall and per node."""

    localization: ErrorStats
    pck: PckResult
    visibility: VisibilityResult
    per_node: dict[str, NodeMetrics]


def point_metrics(
    mg: np.ndarray,
    mp: np.ndarray,
    names: Sequence[str],
    sigmas: np.ndarray,
    settings: EvaluationSettings,
) -> PointMetrics:
    """Error distribution, PCK, visibility (overall and per node) of matched pairs
    ``mg`` (GT) and ``mp`` (predictions), both ``(M, K, 2)``."""
    errors = node_errors(mg, mp)
    gt_vis = visible_mask(mg)
    px_all, px_node = pck(errors, gt_vis, settings.pck_thresholds)
    fractions = settings.pck_bbox_fractions
    diag_all, diag_node, n_no_diag = pck_normalized(errors, mg, fractions)
    vis = visibility_counts(mg, mp, settings.visibility_max_distance)
    vis_p, vis_r = precision_recall(vis)
    total = {k: int(v.sum()) for k, v in vis.items()}
    per_node_err = error_summary_per_node(errors)
    per_node = {
        name: NodeMetrics(
            oks_sigma=float(sigmas[k]),
            gt_visible_on_matched=int(gt_vis[:, k].sum()),
            localization=_error_stats({s: v[k] for s, v in per_node_err.items()}),
            pck=PckResult(
                px=_fractions(settings.pck_thresholds, px_node[:, k]),
                bbox_diagonal=_fractions(fractions, diag_node[:, k]),
                bbox_instances_excluded=n_no_diag,
            ),
            visibility=_visibility({c: v[k] for c, v in vis.items()}, vis_p[k], vis_r[k]),
        )
        for k, name in enumerate(names)
    }
    return PointMetrics(
        localization=_error_stats(error_summary(errors)),
        pck=PckResult(
            px=_fractions(settings.pck_thresholds, px_all),
            bbox_diagonal=_fractions(fractions, diag_all),
            bbox_instances_excluded=n_no_diag,
        ),
        visibility=_visibility(total, *precision_recall(total)),
        per_node=per_node,
    )


def _counts(frames: FrameArrays, n_dropped: int, n_match: int) -> Counts:
    n_gt = int(sum(g.shape[0] for g in frames.gt))
    n_pred = int(sum(p.shape[0] for p in frames.pred))
    return Counts(
        frames=len(frames.gt),
        gt_instances=n_gt,
        gt_instances_without_visible_points=n_dropped,
        predicted_instances=n_pred,
        matched=n_match,
        missed_gt=n_gt - n_match,
        unmatched_predictions=n_pred - n_match,
        instance_precision=n_match / n_pred if n_pred else None,
        instance_recall=n_match / n_gt if n_gt else None,
    )


def _oks_result(
    coco: CocoKeypointResult, matched_oks: np.ndarray, names: Sequence[str], sigmas: np.ndarray
) -> OksResult:
    thresholds = [round(float(t), 2) for t in coco.thresholds]
    return OksResult(
        map=opt_float(coco.map),
        mar=opt_float(coco.mar),
        ap=_fractions(thresholds, coco.ap),
        ar=_fractions(thresholds, coco.ar),
        mean_oks_matched=opt_float(matched_oks.mean()) if matched_oks.size else None,
        sigmas={n: float(s) for n, s in zip(names, sigmas)},
    )


def _settings_record(
    names: Sequence[str], settings: EvaluationSettings, fallback: tuple[float, str]
) -> SettingsRecord:
    distance = settings.visibility_max_distance
    return SettingsRecord(
        nodes=tuple(names),
        matching=MATCHING_RULE,
        match_oks_threshold=float(settings.match_oks_threshold),
        match_area_fallback_px2=fallback[0],
        match_area_fallback_source=fallback[1],
        pck_thresholds_px=settings.pck_thresholds,
        pck_normalized_by=PCK_NORMALIZED_BY,
        pck_bbox_fractions=settings.pck_bbox_fractions,
        visibility_max_distance_px=None if distance is None else float(distance),
        identity_mapping=settings.identity_mapping,
        coco_recall_points=len(COCO_RECALL_POINTS),
        coco_max_detections_per_frame=COCO_MAX_DETECTIONS,
        coco_area_range=tuple(float(a) for a in COCO_AREA_RANGE_ALL),
        coco_matching=COCO_MATCHING_RULE,
        prediction_score=PREDICTION_SCORE_RULE,
    )


def _notes(coco: CocoKeypointResult, n_nodes: int) -> tuple[str, ...]:
    notes = []
    if coco.n_gt == 0:
        notes.append("no ground-truth instance with visible points: mAP / mAR are undefined")
    if n_nodes == 1:
        notes.append(
            "one-node skeleton: every instance box has zero area, so OKS (and mAP / mAR) only "
            "rewards exact hits; read the pixel errors and PCK instead"
        )
    return tuple(notes)


def score_frames(
    frames: FrameArrays, settings: EvaluationSettings | None = None
) -> EvaluationResult:
    """Every metric of checked per-frame inputs (see :func:`evaluate_arrays`).

    GT instances without a visible point are removed from ``frames`` (counted in
    ``counts.gt_instances_without_visible_points``).
    """
    settings = settings or EvaluationSettings()
    names = frames.node_names
    sigmas = resolve_sigmas(settings.oks_sigmas, names)
    n_dropped = _drop_invisible(frames)
    areas = [instance_areas(g) for g in frames.gt]
    fallback = _match_area_fallback(areas, settings.match_area_fallback)
    matches = _match_frames(frames, sigmas, fallback[0], settings.match_oks_threshold)
    coco = coco_keypoint_map(matches.coco)
    points = point_metrics(matches.gt, matches.pred, names, sigmas, settings)
    identity = identity_metrics(
        matches.tracked, frames.gt_track_names, frames.pred_track_names,
        settings.identity_mapping,
    )
    return EvaluationResult(
        provenance=Provenance(
            posekit_version=__version__,
            created=_dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        ),
        settings=_settings_record(names, settings, fallback),
        counts=_counts(frames, n_dropped, int(matches.oks.shape[0])),
        oks=_oks_result(coco, matches.oks, names, sigmas),
        localization=points.localization,
        pck=points.pck,
        visibility=points.visibility,
        per_node=points.per_node,
        identity=identity,
        notes=_notes(coco, len(names)),
    )
