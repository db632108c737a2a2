"""Evaluate a predictions ``sio.Labels`` against a ground-truth ``sio.Labels``.

How the two are lined up (also in docs/metrics.md):

* **nodes** are matched by name, so a different node order is fine; the node *sets* must
  be equal.
* **videos** are paired, for each ground-truth (GT) video, by an identical file name
  (the video's own name, its stored name, or its source video's name), else by an
  identical base name (when unambiguous), else by position when both files have the same
  number of videos.
* **frames** are paired by (video, frame index). The evaluated frames are the GT frames
  that have GT instances (user-labelled ones when ``user_instances_only_gt``), plus frames
  explicitly marked negative (no animal). A GT frame without predictions counts as missed.
  Predictions on frames that are not evaluated are not used.
* **predictions** are the file's predicted instances; a file without any predicted
  instance (e.g. a second labeller's annotations) is used as a whole.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import sleap_io as sio

from posekit.errors import DataError
from posekit.evaluation.distances import DEFAULT_PCK_BBOX_FRACTIONS, DEFAULT_PCK_THRESHOLDS_PX
from posekit.evaluation.identity import IdentityMapping
from posekit.evaluation.metrics import evaluate_arrays
from posekit.evaluation.oks import OksSigmas


def _source(labels: sio.Labels, fallback: str) -> str:
    name = (labels.provenance or {}).get("filename")
    return str(name) if name else fallback


def video_names(video: sio.Video) -> list[str]:
    """Every file name a video is known by: its own, the stored one, its source video's."""
    names: list[str] = []
    candidates = [video.filename, (video.backend_metadata or {}).get("filename")]
    for other in (video.source_video, getattr(video, "original_video", None)):
        if other is not None:
            candidates.append(other.filename)
    for name in candidates:
        if isinstance(name, (list, tuple)):
            name = name[0] if name else None
        if name and str(name) not in names:
            names.append(str(name))
    return names


def pair_videos(
    gt_videos: Sequence[sio.Video], pred_videos: Sequence[sio.Video]
) -> dict[int, tuple[int, str]]:
    """Pair GT videos with prediction videos.

    Returns:
        ``{gt video index: (prediction video index, method)}`` with method ``"filename"``,
        ``"basename"`` or ``"index"``; unpaired GT videos are absent.
    """
    pairs: dict[int, tuple[int, str]] = {}
    taken: set[int] = set()
    gt_names = [video_names(v) for v in gt_videos]
    pr_names = [video_names(v) for v in pred_videos]
    for g, names in enumerate(gt_names):
        hits = [p for p, other in enumerate(pr_names) if p not in taken and set(names) & set(other)]
        if len(hits) >= 1:
            pairs[g] = (hits[0], "filename")
            taken.add(hits[0])
    for g, names in enumerate(gt_names):
        if g in pairs:
            continue
        base = {os.path.basename(n.replace("\\", "/")) for n in names}
        hits = [
            p
            for p, other in enumerate(pr_names)
            if p not in taken and base & {os.path.basename(n.replace("\\", "/")) for n in other}
        ]
        if len(hits) == 1:
            pairs[g] = (hits[0], "basename")
            taken.add(hits[0])
    if len(gt_videos) == len(pred_videos):
        for g in range(len(gt_videos)):
            if g not in pairs and g not in taken:
                pairs[g] = (g, "index")
                taken.add(g)
    return pairs


def _video_key(video: sio.Video, index: int) -> str:
    names = video_names(video)
    return names[0] if names else f"video{index}"


def _node_order(reference: list[str], path: str) -> Callable[[sio.Instance], np.ndarray]:
    """Function mapping an instance to its ``(K, 2)`` points in ``reference`` node order."""
    cache: dict[int, np.ndarray] = {}

    def points(inst: sio.Instance) -> np.ndarray:
        key = id(inst.skeleton)
        if key not in cache:
            names = [n.name for n in inst.skeleton.nodes]
            if sorted(names) != sorted(reference) or len(set(names)) != len(names):
                missing = sorted(set(reference) - set(names))
                extra = sorted(set(names) - set(reference))
                raise DataError(
                    f"{path}: the skeleton's nodes do not match the ground truth's (missing: "
                    f"{missing or 'none'}; extra: {extra or 'none'}); expected the nodes "
                    f"{reference}. Evaluate predictions made with a model trained on this "
                    "skeleton, or rename the nodes (sleap-io Labels.rename_nodes)."
                )
            cache[key] = np.array([names.index(n) for n in reference], dtype=np.int64)
        return np.asarray(inst.numpy(invisible_as_nan=True), dtype=np.float64)[cache[key]]

    return points


def _track_index(labels: sio.Labels) -> tuple[dict[int, int], list[str]]:
    index = {id(t): i for i, t in enumerate(labels.tracks)}
    return index, [t.name for t in labels.tracks]


def _frames_by_key(labels: sio.Labels) -> dict[tuple[int, int], list[sio.LabeledFrame]]:
    video_index = {id(v): i for i, v in enumerate(labels.videos)}
    frames: dict[tuple[int, int], list[sio.LabeledFrame]] = {}
    for lf in labels.labeled_frames:
        key = (video_index[id(lf.video)], int(lf.frame_idx))
        frames.setdefault(key, []).append(lf)
    return frames


def evaluate(
    ground_truth: sio.Labels,
    predictions: sio.Labels,
    *,
    oks_sigmas: OksSigmas | None = None,
    pck_thresholds: Sequence[float] = DEFAULT_PCK_THRESHOLDS_PX,
    pck_bbox_fractions: Sequence[float] = DEFAULT_PCK_BBOX_FRACTIONS,
    match_oks_threshold: float = 0.0,
    match_area_fallback: float | None = None,
    visibility_max_distance: float | None = None,
    identity_mapping: IdentityMapping = "auto",
    user_instances_only_gt: bool = True,
) -> dict[str, Any]:
    """Score predictions against ground truth; returns the metrics dict of
    :func:`posekit.evaluation.evaluate_arrays` plus provenance and a pairing report.

    Args:
        ground_truth: labels with the reference instances.
        predictions: labels with the model's output on (at least) the same frames.
        user_instances_only_gt: use only user-labelled GT instances (skip GT frames that
            hold predictions only); False takes every GT instance.
        Other arguments: see :func:`posekit.evaluation.evaluate_arrays`.

    Raises:
        DataError: skeletons differ by node names, no GT frame to evaluate, or no frame
            of the predictions can be paired with a GT frame.
    """
    gt_path = _source(ground_truth, "<ground truth>")
    pr_path = _source(predictions, "<predictions>")
    if not ground_truth.skeletons:
        raise DataError(
            f"{gt_path}: the ground truth has no skeleton; expected labelled instances."
        )
    reference = [n.name for n in ground_truth.skeletons[0].nodes]
    gt_points = _node_order(reference, gt_path)
    pr_points = _node_order(reference, pr_path)
    gt_track_of, gt_track_names = _track_index(ground_truth)
    pr_track_of, pr_track_names = _track_index(predictions)

    pr_has_predicted = any(
        isinstance(i, sio.PredictedInstance)
        for lf in predictions.labeled_frames
        for i in lf.instances
    )
    pr_frames = _frames_by_key(predictions)
    n_pred_instances = sum(len(lf.instances) for lf in predictions.labeled_frames)
    pairs = pair_videos(ground_truth.videos, predictions.videos)
    if n_pred_instances and not pairs:
        raise DataError(
            f"{pr_path}: none of its videos ({[video_names(v)[:1] for v in predictions.videos]}) "
            f"matches a ground-truth video of {gt_path} "
            f"({[video_names(v)[:1] for v in ground_truth.videos]}) by file name, base name or "
            "position; expected predictions made on the ground truth's videos. Run the model on "
            "the ground-truth file itself (posekit predict GROUND_TRUTH) and evaluate that output."
        )

    keys = ["gt", "pred", "scores", "point_scores", "gt_tracks", "pred_tracks", "videos", "frames"]
    arrays: dict[str, list[Any]] = {k: [] for k in keys}
    gt_frames_without_predictions = 0
    frames_with_predictions = 0
    for key, lfs in sorted(_frames_by_key(ground_truth).items()):
        insts = [i for lf in lfs for i in lf.instances]
        if user_instances_only_gt:
            insts = [i for i in insts if not isinstance(i, sio.PredictedInstance)]
        negative = any(getattr(lf, "is_negative", False) for lf in lfs)
        if not insts and not negative:
            continue
        gvid, fidx = key
        pred_insts: list[sio.Instance] = []
        if gvid in pairs:
            for lf in pr_frames.get((pairs[gvid][0], fidx), []):
                pred_insts.extend(
                    i
                    for i in lf.instances
                    if not pr_has_predicted or isinstance(i, sio.PredictedInstance)
                )
        if pred_insts:
            frames_with_predictions += 1
        elif insts:
            gt_frames_without_predictions += 1
        n_nodes = len(reference)
        arrays["gt"].append(
            np.stack([gt_points(i) for i in insts]) if insts else np.zeros((0, n_nodes, 2))
        )
        arrays["pred"].append(
            np.stack([pr_points(i) for i in pred_insts])
            if pred_insts
            else np.zeros((0, n_nodes, 2))
        )
        arrays["scores"].append(np.array([float(getattr(i, "score", np.nan)) for i in pred_insts]))
        arrays["point_scores"].append(
            np.stack(
                [
                    i.points["score"]
                    if isinstance(i, sio.PredictedInstance)
                    else np.full(len(i.points), np.nan)
                    for i in pred_insts
                ]
            )
            if pred_insts
            else None
        )
        arrays["gt_tracks"].append(
            np.array([gt_track_of.get(id(i.track), -1) for i in insts], dtype=np.int64)
        )
        arrays["pred_tracks"].append(
            np.array([pr_track_of.get(id(i.track), -1) for i in pred_insts], dtype=np.int64)
        )
        arrays["videos"].append(_video_key(ground_truth.videos[gvid], gvid))
        arrays["frames"].append(fidx)
    if not arrays["gt"]:
        kind = "user-labelled instances" if user_instances_only_gt else "instances"
        raise DataError(
            f"{gt_path}: the ground truth has no frame with {kind}; expected labelled frames. "
            + (
                "If its instances are predictions you want to use as reference, pass "
                "user_instances_only_gt=False (CLI: --all-gt-instances)."
                if user_instances_only_gt
                else "Label some frames first."
            )
        )
    if n_pred_instances and frames_with_predictions == 0:
        raise DataError(
            f"{pr_path}: none of its frames pairs with one of the {len(arrays['gt'])} evaluated "
            f"ground-truth frames of {gt_path} (same video and frame index); expected predictions "
            "on the labelled frames. Predict on the ground-truth file itself (posekit predict "
            "GROUND_TRUTH) or check that both refer to the same video."
        )
    metrics = evaluate_arrays(
        arrays["gt"],
        arrays["pred"],
        pred_scores=arrays["scores"],
        pred_point_scores=arrays["point_scores"],
        gt_tracks=arrays["gt_tracks"],
        pred_tracks=arrays["pred_tracks"],
        gt_track_names=gt_track_names,
        pred_track_names=pr_track_names,
        videos=arrays["videos"],
        frame_indices=arrays["frames"],
        node_names=reference,
        oks_sigmas=oks_sigmas,
        pck_thresholds=pck_thresholds,
        pck_bbox_fractions=pck_bbox_fractions,
        match_oks_threshold=match_oks_threshold,
        match_area_fallback=match_area_fallback,
        visibility_max_distance=visibility_max_distance,
        identity_mapping=identity_mapping,
    )
    metrics["provenance"]["inputs"] = {"ground_truth": gt_path, "predictions": pr_path}
    metrics["settings"]["user_instances_only_gt"] = user_instances_only_gt
    metrics["settings"]["predictions_used"] = (
        "predicted instances"
        if pr_has_predicted
        else "all instances (file has no predicted instances)"
    )
    metrics["pairing"] = {
        "videos": {
            _video_key(v, g): (
                {
                    "predictions_video": _video_key(predictions.videos[pairs[g][0]], pairs[g][0]),
                    "method": pairs[g][1],
                }
                if g in pairs
                else {"predictions_video": None, "method": "unpaired"}
            )
            for g, v in enumerate(ground_truth.videos)
        },
        "gt_frames_evaluated": len(arrays["gt"]),
        "gt_frames_without_predictions": gt_frames_without_predictions,
    }
    unpaired = [g for g in range(len(ground_truth.videos)) if g not in pairs]
    if unpaired and n_pred_instances:
        metrics["notes"].append(
            f"{len(unpaired)} ground-truth video(s) have no matching predictions video; their "
            "frames count as missed"
        )
    return metrics
