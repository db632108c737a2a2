"""Top-down prediction: centroids -> crops around them -> one animal per crop.

Both stages' preprocessing (the centroid model's input and the instance model's frames)
runs in :meth:`TopDownPredictor.prepare`, which streaming inference calls on the decoding
thread; only the crops (cheap copies) are cut on the thread that runs the models.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from posekit.data.cropping import crop_offsets, cut_crops
from posekit.data.geometry import InputTransform
from posekit.decoding.identity import assign_identities_from_class_vectors
from posekit.decoding.predictors import (
    Backend,
    FramePredictions,
    ModelRun,
    Predictor,
    PreparedFrames,
    decode_single_animal,
    mean_point_score,
)
from posekit.errors import ModelError


class TopDownPrepared(NamedTuple):
    """What :meth:`TopDownPredictor.prepare` computes off the model thread.

    ``centroid_input``: the centroid model's prepared input (``None`` when centroids are
    given); ``frames``: ``uint8 (B, H, W, C)`` frames at the instance model's scale and
    channels; ``transform``: full frame <-> instance-model pixels.
    """

    centroid_input: PreparedFrames | None
    frames: np.ndarray
    transform: InputTransform


class CentroidFinder:
    """First stage of top-down inference: a centroid model's anchors per frame."""

    def __init__(self, run: ModelRun, backend: Backend, peak_threshold: float = 0.2,
                 max_instances: int | None = None) -> None:
        self.run, self.backend = run, backend
        self.peak_threshold = float(peak_threshold)
        self.max_instances = max_instances

    def prepare(self, frames: np.ndarray) -> PreparedFrames:
        """The centroid model's input (resize, pad, scale to [0, 1])."""
        return self.run.prep.preprocess_frames(frames)

    def __call__(self, frames: np.ndarray, prepared: PreparedFrames | None = None
                 ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Centroids ``(n, 2)`` (full-frame pixels, best first) and their scores, per frame."""
        images, transform = prepared or self.prepare(frames)
        out = self.backend.run(images, self.peak_threshold)
        sample = out["peak_sample"].astype(np.int64)
        points = transform.to_image(out["peak_points"].astype(np.float64))
        scores = out["peak_scores"].astype(np.float32)
        centers, center_scores = [], []
        for b in range(len(frames)):
            mine = np.nonzero(sample == b)[0]
            order = mine[np.argsort(-scores[mine], kind="stable")]
            if self.max_instances is not None:
                order = order[: self.max_instances]
            centers.append(points[order])
            center_scores.append(scores[order])
        return centers, center_scores


class TopDownPredictor(Predictor):
    """A centroid model (or given centroids) followed by a centred-instance model.

    Args:
        finder: The first stage; ``None`` to use centroids passed to
            :meth:`predict_frames` (e.g. ground-truth anchors for evaluation).
        instance_run / instance_backend: The second-stage model and its runtime.
        has_classes: Whether the instance model also predicts identity probabilities
            (graph output ``class_probs``); each frame's identities are then assigned one
            to one, maximising the total probability.
        peak_threshold: Minimum peak value for nodes (and centroids).
        max_instances: Keep at most this many centroids per frame (best first).
        crop_batch_size: Crops per forward pass of the instance model.
        skeleton_check: Choose each node's peak in a crop by the training bone lengths
            of the instance run (:mod:`posekit.decoding.skeleton_consistency`), as the
            single-instance predictor does; ``False`` keeps each node's highest peak.
    """

    def __init__(self, finder: CentroidFinder | None, instance_run: ModelRun,
                 instance_backend: Backend, has_classes: bool = False,
                 peak_threshold: float = 0.2, max_instances: int | None = None,
                 crop_batch_size: int = 16, skeleton_check: bool = True) -> None:
        super().__init__(instance_run.info, peak_threshold, max_instances)
        self.bone_lengths = (getattr(instance_run, "bone_lengths", None) if skeleton_check
                             else None)
        self.finder = finder
        self.centroid_backend = finder.backend if finder is not None else None
        self.instance_run, self.instance_backend = instance_run, instance_backend
        self.has_classes = bool(has_classes)
        self.crop_size = int(instance_run.info.crop_size or 0)
        if self.crop_size <= 0:
            raise ModelError(
                f"{instance_run.path}: training_config.yaml has no crop_size; expected the "
                "resolved crop size of a trained centered-instance model."
            )
        self.crop_batch_size = int(crop_batch_size)

    def prepare(self, frames: np.ndarray) -> TopDownPrepared:
        """Both stages' preprocessing of ``frames`` (see the module docstring)."""
        centroid_input = self.finder.prepare(frames) if self.finder is not None else None
        images = []
        transform = None
        for frame in frames:
            image, transform = self.instance_run.prep.preprocess_image(frame)
            images.append(image)
        return TopDownPrepared(centroid_input, np.stack(images), transform)

    def predict_frames(self, frames: np.ndarray, frame_indices: np.ndarray,
                       centroids: list[np.ndarray] | None = None, *,
                       prepared: TopDownPrepared | None = None) -> list[FramePredictions]:
        prepared = prepared or self.prepare(frames)
        if centroids is None:
            if self.finder is None:
                raise ModelError(
                    "top-down inference needs a centroid model (or given centroids); expected "
                    "--model CENTROID_RUN --model CENTERED_INSTANCE_RUN."
                )
            centroids, _ = self.finder(frames, prepared.centroid_input)
        counts = [len(c) for c in centroids]
        if sum(counts) == 0:
            return [FramePredictions.empty(int(f), self.info.n_nodes, self.has_classes)
                    for f in frame_indices]
        transform = prepared.transform
        centers = transform.to_model(np.concatenate([np.asarray(c, np.float64).reshape(-1, 2)
                                                     for c in centroids]))
        image_index = np.repeat(np.arange(len(frames)), counts)
        offsets = crop_offsets(centers, self.crop_size)
        crops = cut_crops(prepared.frames, image_index, offsets, self.crop_size)
        out = self._run_crops(crops)

        def to_image(crop_points: np.ndarray) -> np.ndarray:  # (crops, ..., 2) from crops
            shift = offsets.reshape(len(offsets), *[1] * (crop_points.ndim - 2), 2)
            return transform.to_image(crop_points + shift)

        points, scores = decode_single_animal(out, to_image, self.bone_lengths)
        points, scores = points.astype(np.float32), scores.astype(np.float32)
        probs = out.get("class_probs")
        keep = np.isfinite(points).any(axis=(1, 2))
        classes = class_scores = None
        if self.has_classes:
            classes, class_scores = assign_identities_from_class_vectors(
                probs[keep], image_index[keep])
        results, start = [], 0
        kept_before = np.concatenate([[0], np.cumsum(keep)])
        for b, frame_idx in enumerate(frame_indices):
            sl = slice(start, start + counts[b])
            mine = slice(kept_before[start], kept_before[start + counts[b]])
            start += counts[b]
            pts, sc = points[sl][keep[sl]], scores[sl][keep[sl]]
            results.append(FramePredictions(
                int(frame_idx), pts, sc, mean_point_score(sc, pts),
                None if classes is None else classes[mine],
                None if class_scores is None else class_scores[mine]))
        return results

    def _run_crops(self, crops: np.ndarray) -> dict[str, np.ndarray]:
        """The instance graph's outputs for every crop, batch by batch, concatenated."""
        parts: dict[str, list[np.ndarray]] = {}
        for start in range(0, len(crops), self.crop_batch_size):
            chunk = crops[start:start + self.crop_batch_size]
            images = chunk.transpose(0, 3, 1, 2).astype(np.float32) / np.float32(255.0)
            for name, array in self.instance_backend.run(images, self.peak_threshold).items():
                parts.setdefault(name, []).append(array)
        return {name: np.concatenate(arrays) for name, arrays in parts.items()}
