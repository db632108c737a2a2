"""All pose metrics from per-frame arrays: :func:`evaluate_arrays`.

This is the file-free entry point (training calls it on its validation predictions);
:func:`posekit.evaluation.evaluate` turns two labels files into the same arrays.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from typing import Any

import numpy as np

from posekit import __version__
from posekit.errors import DataError
from posekit.evaluation.coco_map import (
    COCO_AREA_RANGE_ALL,
    COCO_MAX_DETECTIONS,
    COCO_OKS_THRESHOLDS,
    FrameDetections,
    coco_keypoint_map,
)
from posekit.evaluation.distances import (
    DEFAULT_PCK_BBOX_FRACTIONS,
    DEFAULT_PCK_THRESHOLDS_PX,
    error_summary,
    error_summary_per_node,
    node_errors,
    pck,
    pck_normalized,
)
from posekit.evaluation.identity import IdentityMapping, TrackedFrame, identity_metrics
from posekit.evaluation.matching import MATCHING_RULE, match_instances
from posekit.evaluation.oks import (
    OksSigmas,
    instance_areas,
    oks_matrix,
    resolve_sigmas,
    visible_mask,
)
from posekit.evaluation.visibility import precision_recall, visibility_counts

AREA_DEFINITION = (
    "width * height of the bounding box of the ground-truth instance's visible points "
    "(square pixels)"
)
OKS_FORMULA = (
    "OKS = mean over GT-visible nodes of exp(-d^2 / ((2*sigma)^2 * (area + eps) * 2)), "
    "eps = 2.2e-16; a missing predicted point scores 0"
)
DEFAULT_MATCH_AREA_PX2 = 100.0**2
"""Matching area used for degenerate GT boxes when no GT instance has a non-zero area."""


def _fmt(value: float) -> str:
    return f"{value:g}"


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
                f"{name}[{i}]: {arr.shape[0]} values; expected {n} (one per instance of that frame)."
            )
        out.append(arr)
    return out


def _stack(frames: list[np.ndarray], n_nodes: int) -> np.ndarray:
    return np.concatenate(frames) if frames else np.zeros((0, n_nodes, 2))


def _split(values: np.ndarray, sizes: Sequence[int]) -> list[np.ndarray]:
    return np.split(values, np.cumsum(sizes)[:-1]) if len(sizes) else []


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


def _node_section(values: dict[str, np.ndarray], k: int) -> dict[str, Any]:
    return {key: (int(v[k]) if key == "n" else float(v[k])) for key, v in values.items()}


def _match_area_fallback(areas: list[np.ndarray], given: float | None) -> tuple[float, str]:
    """Area used for matching GT instances whose visible points span no area."""
    if given is not None:
        return float(given), "given"
    all_areas = np.concatenate(areas) if areas else np.zeros(0)
    positive = all_areas[all_areas > 0]
    if positive.size:
        return float(np.median(positive)), "median non-zero GT area"
    return DEFAULT_MATCH_AREA_PX2, "default (no GT instance has a non-zero area)"


def _point_metrics(
    mg: np.ndarray,
    mp: np.ndarray,
    names: Sequence[str],
    sigmas: np.ndarray,
    pck_thresholds: Sequence[float],
    pck_bbox_fractions: Sequence[float],
    visibility_max_distance: float | None,
) -> dict[str, Any]:
    """Error distribution, PCK, visibility (overall and per node) of the matched pairs."""
    errors = node_errors(mg, mp)
    gt_vis = visible_mask(mg)
    pck_all, pck_node = pck(errors, gt_vis, pck_thresholds)
    npck_all, npck_node, n_no_diag = pck_normalized(errors, mg, pck_bbox_fractions)
    vis = visibility_counts(mg, mp, visibility_max_distance)
    vis_p, vis_r = precision_recall(vis)
    tot = {k: int(v.sum()) for k, v in vis.items()}
    tot_p, tot_r = precision_recall(tot)
    per_node_err = error_summary_per_node(errors)
    per_node: dict[str, Any] = {}
    for k, name in enumerate(names):
        per_node[name] = {
            "oks_sigma": float(sigmas[k]),
            "gt_visible_on_matched": int(gt_vis[:, k].sum()),
            "localization": _node_section(per_node_err, k),
            "pck_px": {_fmt(t): float(pck_node[j, k]) for j, t in enumerate(pck_thresholds)},
            "pck_bbox_diagonal": {
                _fmt(f): float(npck_node[j, k]) for j, f in enumerate(pck_bbox_fractions)
            },
            "visibility": {
                **{c: int(vis[c][k]) for c in ("tp", "fp", "fn", "tn")},
                "precision": float(vis_p[k]),
                "recall": float(vis_r[k]),
            },
        }
    return {
        "localization": error_summary(errors),
        "pck_px": {_fmt(t): float(v) for t, v in zip(pck_thresholds, pck_all)},
        "pck_bbox_diagonal": {
            **{_fmt(f): float(v) for f, v in zip(pck_bbox_fractions, npck_all)},
            "matched_instances_excluded": n_no_diag,
        },
        "visibility": {**tot, "precision": float(tot_p), "recall": float(tot_r)},
        "per_node": per_node,
    }


def evaluate_arrays(
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
    oks_sigmas: OksSigmas | None = None,
    pck_thresholds: Sequence[float] = DEFAULT_PCK_THRESHOLDS_PX,
    pck_bbox_fractions: Sequence[float] = DEFAULT_PCK_BBOX_FRACTIONS,
    match_oks_threshold: float = 0.0,
    match_area_fallback: float | None = None,
    visibility_max_distance: float | None = None,
    identity_mapping: IdentityMapping = "auto",
) -> dict[str, Any]:
    """Compute every pose metric from per-frame point arrays.

    Args:
        gt_points: per frame, ``(G, K, 2)`` ground-truth points (NaN = not visible).
            GT instances without any visible point are dropped (COCO ignores them).
        pred_points: per frame, ``(P, K, 2)`` predicted points (NaN = not predicted).
            An empty array means the model found nothing in that frame (all GT missed).
        pred_scores: per frame ``(P,)`` instance scores (NaN / None = unknown).
        pred_point_scores: per frame ``(P, K)`` point scores, the fallback score.
        gt_tracks, pred_tracks: per frame ``(G,)`` / ``(P,)`` int track indices into
            ``gt_track_names`` / ``pred_track_names`` (-1 = no track).
        videos, frame_indices: per frame video key and frame index; they order frames for
            the identity metrics. Default: one video, frames in the given order.
        node_names: skeleton node names (default ``node0``, ``node1``...).
        oks_sigmas: OKS sigma(s): a number, one per node, or ``{node: sigma}``
            (default 0.025 for every node).
        pck_thresholds: PCK pixel thresholds.
        pck_bbox_fractions: normalised-PCK thresholds as fractions of the GT box diagonal.
        match_oks_threshold: minimum OKS for a matched pair (besides OKS > 0).
        match_area_fallback: area (px²) used *for matching only* for GT instances whose
            visible points span no area (one point, or all on a line); default: the median
            non-zero GT area of the data set, or 100² px² if there is none.
        visibility_max_distance: optional distance (px) for a visible point to count as
            correctly detected in the visibility metrics.
        identity_mapping: ``"auto"``, ``"name"`` or ``"hungarian"`` (see identity metrics).

    Returns:
        A JSON-ready dict (NaN where a metric is undefined); see docs/metrics.md.

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
    n_nodes = (
        len(node_names)
        if node_names is not None
        else (first.shape[1] if first is not None else None)
    )
    gts = _as_frames(gt_points, "gt_points", n_nodes)
    preds = _as_frames(pred_points, "pred_points", n_nodes)
    if n_nodes is None:
        n_nodes = next((p.shape[1] for p in preds if p.ndim == 3), 0)
    names = list(node_names) if node_names is not None else [f"node{k}" for k in range(n_nodes)]
    sigmas = resolve_sigmas(oks_sigmas, names)
    n_frames = len(gts)
    g_sizes = [g.shape[0] for g in gts]
    p_sizes = [p.shape[0] for p in preds]
    scores = _per_frame(pred_scores, p_sizes, "pred_scores", np.nan, np.float64)
    point_scores = pred_point_scores if pred_point_scores is not None else [None] * n_frames
    if len(point_scores) != n_frames:
        raise DataError(f"pred_point_scores: {len(point_scores)} frames; expected {n_frames}.")
    scores = [instance_scores(s, ps) for s, ps in zip(scores, point_scores)]
    g_tracks = _per_frame(gt_tracks, g_sizes, "gt_tracks", -1, np.int64)
    p_tracks = _per_frame(pred_tracks, p_sizes, "pred_tracks", -1, np.int64)
    video_keys = list(videos) if videos is not None else ["video"] * n_frames
    frame_idx = list(frame_indices) if frame_indices is not None else list(range(n_frames))
    if len(video_keys) != n_frames or len(frame_idx) != n_frames:
        raise DataError(f"videos / frame_indices: expected {n_frames} entries (one per frame).")

    # Drop GT instances without any visible point (COCO ignores them; nothing to match).
    n_dropped = 0
    for i in range(n_frames):
        keep = visible_mask(gts[i]).any(axis=1)
        n_dropped += int((~keep).sum())
        gts[i], g_tracks[i] = gts[i][keep], g_tracks[i][keep]

    areas = _split(instance_areas(_stack(gts, n_nodes)), [g.shape[0] for g in gts])
    pred_areas = _split(instance_areas(_stack(preds, n_nodes)), p_sizes)
    fallback, fallback_source = _match_area_fallback(areas, match_area_fallback)

    coco_frames: list[FrameDetections] = []
    tracked: list[TrackedFrame] = []
    pair_gt, pair_pred, pair_oks = [], [], []
    for i in range(n_frames):
        oks = oks_matrix(gts[i], preds[i], areas[i], sigmas)
        coco_frames.append(
            FrameDetections(
                oks=oks,
                gt_areas=areas[i],
                gt_num_visible=visible_mask(gts[i]).sum(axis=1),
                pred_scores=scores[i],
                pred_areas=pred_areas[i],
            )
        )
        degenerate = areas[i] <= 0
        match_oks = oks
        if degenerate.any():
            match_oks = oks_matrix(
                gts[i], preds[i], np.where(degenerate, fallback, areas[i]), sigmas
            )
        gi, pi = match_instances(match_oks, match_oks_threshold)
        pair_gt.append(gts[i][gi])
        pair_pred.append(preds[i][pi])
        pair_oks.append(oks[gi, pi])
        tracked.append(
            TrackedFrame(str(video_keys[i]), int(frame_idx[i]), g_tracks[i], p_tracks[i], gi, pi)
        )

    coco = coco_keypoint_map(coco_frames)
    mg = np.concatenate(pair_gt) if pair_gt else np.zeros((0, n_nodes, 2))
    mp = np.concatenate(pair_pred) if pair_pred else np.zeros((0, n_nodes, 2))
    moks = np.concatenate(pair_oks) if pair_oks else np.zeros(0)
    points = _point_metrics(
        mg, mp, names, sigmas, pck_thresholds, pck_bbox_fractions, visibility_max_distance
    )
    n_gt = int(sum(g.shape[0] for g in gts))
    n_pred = int(sum(p_sizes))
    n_match = int(moks.shape[0])
    notes = []
    if coco.n_gt == 0:
        notes.append("no ground-truth instance with visible points: mAP / mAR are undefined")
    if n_nodes == 1:
        notes.append(
            "one-node skeleton: every instance box has zero area, so OKS (and mAP / mAR) only "
            "rewards exact hits; read the pixel errors and PCK instead"
        )
    return {
        "provenance": {
            "posekit_version": __version__,
            "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        },
        "settings": {
            "nodes": names,
            "oks_sigmas": {n: float(s) for n, s in zip(names, sigmas)},
            "oks_area": AREA_DEFINITION,
            "oks_formula": OKS_FORMULA,
            "oks_thresholds": [round(float(t), 2) for t in COCO_OKS_THRESHOLDS],
            "coco_recall_points": 101,
            "coco_max_detections_per_frame": COCO_MAX_DETECTIONS,
            "coco_area_range": [float(a) for a in COCO_AREA_RANGE_ALL],
            "coco_matching": "COCOeval: greedy per frame, predictions in decreasing score order",
            "prediction_score": "instance score; else mean point score; else 1.0",
            "matching": MATCHING_RULE,
            "match_oks_threshold": float(match_oks_threshold),
            "match_area_fallback_px2": fallback,
            "match_area_fallback_source": fallback_source,
            "pck_thresholds_px": [float(t) for t in pck_thresholds],
            "pck_normalized_by": "diagonal of the GT instance's visible-point bounding box",
            "pck_bbox_fractions": [float(f) for f in pck_bbox_fractions],
            "visibility_max_distance_px": visibility_max_distance,
            "identity_mapping": identity_mapping,
        },
        "counts": {
            "frames": n_frames,
            "gt_instances": n_gt,
            "gt_instances_without_visible_points": n_dropped,
            "predicted_instances": n_pred,
            "matched": n_match,
            "missed_gt": n_gt - n_match,
            "unmatched_predictions": n_pred - n_match,
            "instance_precision": n_match / n_pred if n_pred else float("nan"),
            "instance_recall": n_match / n_gt if n_gt else float("nan"),
        },
        "oks": {
            "mAP": coco.map,
            "mAR": coco.mar,
            "AP": {f"{t:.2f}": float(v) for t, v in zip(coco.thresholds, coco.ap)},
            "AR": {f"{t:.2f}": float(v) for t, v in zip(coco.thresholds, coco.ar)},
            "mean_oks_matched": float(moks.mean()) if n_match else float("nan"),
        },
        **points,
        "identity": identity_metrics(
            tracked, list(gt_track_names), list(pred_track_names), identity_mapping
        ),
        "notes": notes,
    }
