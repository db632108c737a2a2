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
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import sleap_io as sio

from posekit.errors import DataError
from posekit.evaluation.metrics import evaluate_arrays
from posekit.evaluation.records import Pairing, VideoPairing
from posekit.evaluation.results import EvaluationResult
from posekit.evaluation.settings import EvaluationSettings


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


@dataclass
class _Collected:
    """Per-frame arrays gathered from two labels files, and pairing counts."""

    inputs: dict[str, list[Any]] = field(default_factory=lambda: defaultdict(list))
    gt_frames_without_predictions: int = 0
    frames_with_predictions: int = 0


class _Sides:
    """The two labels files and what is looked up on them while collecting frames."""

    def __init__(self, ground_truth: sio.Labels, predictions: sio.Labels) -> None:
        self.gt, self.pr = ground_truth, predictions
        self.gt_path = _source(ground_truth, "<ground truth>")
        self.pr_path = _source(predictions, "<predictions>")
        if not ground_truth.skeletons:
            raise DataError(
                f"{self.gt_path}: the ground truth has no skeleton; expected labelled instances."
            )
        self.nodes = [n.name for n in ground_truth.skeletons[0].nodes]
        self.gt_points = _node_order(self.nodes, self.gt_path)
        self.pr_points = _node_order(self.nodes, self.pr_path)
        self.gt_track_of, self.gt_track_names = _track_index(ground_truth)
        self.pr_track_of, self.pr_track_names = _track_index(predictions)
        self.pr_has_predicted = any(
            isinstance(i, sio.PredictedInstance)
            for lf in predictions.labeled_frames
            for i in lf.instances
        )
        self.pr_frames = _frames_by_key(predictions)
        self.n_pred_instances = sum(len(lf.instances) for lf in predictions.labeled_frames)
        self.pairs = pair_videos(ground_truth.videos, predictions.videos)
        if self.n_pred_instances and not self.pairs:
            raise DataError(
                f"{self.pr_path}: none of its videos "
                f"({[video_names(v)[:1] for v in predictions.videos]}) matches a ground-truth "
                f"video of {self.gt_path} ({[video_names(v)[:1] for v in ground_truth.videos]}) "
                "by file name, base name or position; expected predictions made on the "
                "ground truth's videos. Run the model on the ground-truth file itself (posekit "
                "predict GROUND_TRUTH) and evaluate that output."
            )

    def predictions_at(self, gt_video: int, frame_idx: int) -> list[sio.Instance]:
        """Prediction instances on the frame paired with ``(gt_video, frame_idx)``."""
        if gt_video not in self.pairs:
            return []
        return [
            i
            for lf in self.pr_frames.get((self.pairs[gt_video][0], frame_idx), [])
            for i in lf.instances
            if not self.pr_has_predicted or isinstance(i, sio.PredictedInstance)
        ]


def _add_frame(
    out: _Collected, sides: _Sides, key: tuple[int, int], gt: list[sio.Instance],
    pred: list[sio.Instance],
) -> None:
    """Append one evaluated frame's arrays to ``out``."""
    empty = np.zeros((0, len(sides.nodes), 2))
    row = out.inputs
    row["gt_points"].append(np.stack([sides.gt_points(i) for i in gt]) if gt else empty)
    row["pred_points"].append(np.stack([sides.pr_points(i) for i in pred]) if pred else empty)
    row["pred_scores"].append(np.array([float(getattr(i, "score", np.nan)) for i in pred]))
    row["pred_point_scores"].append(
        np.stack([
            i.points["score"] if isinstance(i, sio.PredictedInstance)
            else np.full(len(i.points), np.nan)
            for i in pred
        ]) if pred else None
    )
    row["gt_tracks"].append(
        np.array([sides.gt_track_of.get(id(i.track), -1) for i in gt], dtype=np.int64)
    )
    row["pred_tracks"].append(
        np.array([sides.pr_track_of.get(id(i.track), -1) for i in pred], dtype=np.int64)
    )
    row["videos"].append(_video_key(sides.gt.videos[key[0]], key[0]))
    row["frame_indices"].append(key[1])


def _collect(sides: _Sides, user_only: bool) -> _Collected:
    """The evaluated frames: GT frames with (user) instances or marked negative."""
    out = _Collected()
    for key, lfs in sorted(_frames_by_key(sides.gt).items()):
        insts = [i for lf in lfs for i in lf.instances]
        if user_only:
            insts = [i for i in insts if not isinstance(i, sio.PredictedInstance)]
        if not insts and not any(getattr(lf, "is_negative", False) for lf in lfs):
            continue
        pred = sides.predictions_at(*key)
        if pred:
            out.frames_with_predictions += 1
        elif insts:
            out.gt_frames_without_predictions += 1
        _add_frame(out, sides, key, insts, pred)
    n_frames = len(out.inputs["gt_points"])
    if not n_frames:
        kind = "user-labelled instances" if user_only else "instances"
        raise DataError(
            f"{sides.gt_path}: the ground truth has no frame with {kind}; expected labelled "
            "frames. " + (
                "If its instances are predictions you want to use as reference, pass "
                "user_instances_only_gt=False (CLI: --all-gt-instances)."
                if user_only
                else "Label some frames first."
            )
        )
    if sides.n_pred_instances and out.frames_with_predictions == 0:
        raise DataError(
            f"{sides.pr_path}: none of its frames pairs with one of the {n_frames} evaluated "
            f"ground-truth frames of {sides.gt_path} (same video and frame index); expected "
            "predictions on the labelled frames. Predict on the ground-truth file itself "
            "(posekit track GROUND_TRUTH -m RUN_DIR) or check that both refer to the same video."
        )
    return out


def _pairing(sides: _Sides, collected: _Collected) -> Pairing:
    videos = {}
    for g, video in enumerate(sides.gt.videos):
        if g in sides.pairs:
            p, method = sides.pairs[g]
            videos[_video_key(video, g)] = VideoPairing(
                _video_key(sides.pr.videos[p], p), method
            )
        else:
            videos[_video_key(video, g)] = VideoPairing(None, "unpaired")
    return Pairing(
        videos=videos,
        gt_frames_evaluated=len(collected.inputs["gt_points"]),
        gt_frames_without_predictions=collected.gt_frames_without_predictions,
    )


def evaluate(
    ground_truth: sio.Labels,
    predictions: sio.Labels,
    settings: EvaluationSettings | None = None,
) -> EvaluationResult:
    """Score predictions against ground truth (docs/metrics.md, section 1 for the pairing).

    Args:
        ground_truth: labels with the reference instances.
        predictions: labels with the model's output on (at least) the same frames.
        settings: what to compute; ``settings.user_instances_only_gt`` (default True) uses
            only user-labelled GT instances (skipping GT frames that hold predictions only).

    Returns:
        The metrics of :func:`posekit.evaluation.evaluate_arrays` plus the inputs in
        ``provenance``, the pairing report and the labels-specific settings.

    Raises:
        DataError: skeletons differ by node names, no GT frame to evaluate, or no frame
            of the predictions can be paired with a GT frame.
    """
    settings = settings or EvaluationSettings()
    sides = _Sides(ground_truth, predictions)
    collected = _collect(sides, settings.user_instances_only_gt)
    result = evaluate_arrays(
        settings=settings,
        gt_track_names=sides.gt_track_names,
        pred_track_names=sides.pr_track_names,
        node_names=sides.nodes,
        **collected.inputs,
    )
    used = ("predicted instances" if sides.pr_has_predicted
            else "all instances (file has no predicted instances)")
    result = replace(
        result,
        provenance=replace(
            result.provenance,
            inputs={"ground_truth": sides.gt_path, "predictions": sides.pr_path},
        ),
        settings=replace(
            result.settings,
            user_instances_only_gt=settings.user_instances_only_gt,
            predictions_used=used,
        ),
        pairing=_pairing(sides, collected),
    )
    unpaired = [g for g in range(len(ground_truth.videos)) if g not in sides.pairs]
    if unpaired and sides.n_pred_instances:
        result = result.with_note(
            f"{len(unpaired)} ground-truth video(s) have no matching predictions video; their "
            "frames count as missed"
        )
    return result
