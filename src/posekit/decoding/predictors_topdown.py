"""Top-down prediction: centroids -> crops around them -> one animal per crop."""

from __future__ import annotations

import numpy as np

from posekit.data.cropping import crop_offsets, cut_crops
from posekit.errors import ModelError
from posekit.inference.backends import Backend
from posekit.decoding.predictors import (
    FramePredictions,
    Predictor,
    PreparedFrames,
    hungarian_classes,
    mean_point_score,
)
from posekit.inference.run_folder import RunFolder

INSTANCE_TYPES = ("centered_instance", "multi_class_topdown")



class CentroidFinder:
    """First stage of top-down inference: a centroid model's anchors per frame."""

    def __init__(self, run: RunFolder, backend: Backend, peak_threshold: float = 0.2,
                 max_instances: int | None = None) -> None:
        if run.head_type != "centroid":
            raise ModelError(
                f"{run.path}: a {run.head_type} model cannot find centroids; expected a "
                "centroid model as the first stage of top-down inference."
            )
        self.run, self.backend = run, backend
        self.peak_threshold = float(peak_threshold)
        self.max_instances = max_instances

    def __call__(self, frames: np.ndarray, prepared: PreparedFrames | None = None
                 ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Centroids ``(n, 2)`` (full-frame pixels, best first) and their scores, per frame."""
        images, transform = prepared or self.run.prep.preprocess_frames(frames)
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
    """A centroid model (or given centroids) followed by a centered-instance model.

    Args:
        centroid_run / centroid_backend: The centroid model; ``None`` to use centroids
            passed to :meth:`predict_frames` (e.g. ground-truth anchors for evaluation).
        instance_run / instance_backend: A ``centered_instance`` or ``multi_class_topdown``
            model.
        peak_threshold: Minimum peak value for centroids and for nodes.
        max_instances: Keep at most this many centroids per frame (best first).
        crop_batch_size: Crops per forward pass of the instance model.
    """

    def __init__(self, centroid_run: RunFolder | None, centroid_backend: Backend | None,
                 instance_run: RunFolder, instance_backend: Backend,
                 peak_threshold: float = 0.2, max_instances: int | None = None,
                 crop_batch_size: int = 16) -> None:
        if instance_run.head_type not in INSTANCE_TYPES:
            raise ModelError(
                f"{instance_run.path}: a {instance_run.head_type} model cannot be the second "
                "stage of top-down inference; expected a centered_instance or "
                "multi_class_topdown model."
            )
        super().__init__(instance_run.info, peak_threshold, max_instances)
        self.centroid_backend = centroid_backend
        self.finder = (CentroidFinder(centroid_run, centroid_backend, peak_threshold,
                                      max_instances)
                       if centroid_run is not None and centroid_backend is not None else None)
        self.instance_run, self.instance_backend = instance_run, instance_backend
        self.has_classes = instance_run.head_type == "multi_class_topdown"
        self.crop_size = int(instance_run.info.crop_size or 0)
        if self.crop_size <= 0:
            raise ModelError(
                f"{instance_run.path}: training_config.yaml has no crop_size; expected the "
                "resolved crop size of a trained centered-instance model."
            )
        self.crop_batch_size = int(crop_batch_size)

    def find_centroids(self, frames: np.ndarray, prepared: PreparedFrames | None = None
                       ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Centroids ``(n, 2)`` (full-frame pixels) and their scores, per frame."""
        if self.finder is None:
            raise ModelError(
                "top-down inference needs a centroid model (or given centroids); expected "
                "--model CENTROID_RUN --model CENTERED_INSTANCE_RUN."
            )
        return self.finder(frames, prepared)

    def prepare(self, frames: np.ndarray) -> PreparedFrames | None:
        """The centroid model's input (None when centroids are given instead)."""
        return self.finder.run.prep.preprocess_frames(frames) if self.finder else None

    def predict_frames(self, frames: np.ndarray, frame_indices: np.ndarray,
                       centroids: list[np.ndarray] | None = None, *,
                       prepared: PreparedFrames | None = None) -> list[FramePredictions]:
        if centroids is None:
            centroids, _ = self.find_centroids(frames, prepared)
        prep = self.instance_run.prep
        model_frames = []
        transform = None
        for frame in frames:
            image, transform = prep.preprocess_image(frame)
            model_frames.append(image)
        stack = np.stack(model_frames)
        counts = [len(c) for c in centroids]
        if sum(counts) == 0:
            return [FramePredictions.empty(int(f), self.info.n_nodes, self.has_classes)
                    for f in frame_indices]
        centers = transform.to_model(np.concatenate([np.asarray(c, np.float64).reshape(-1, 2)
                                                     for c in centroids]))
        image_index = np.repeat(np.arange(len(frames)), counts)
        offsets = crop_offsets(centers, self.crop_size)
        crops = cut_crops(stack, image_index, offsets, self.crop_size)
        points, scores, probs = self._run_crops(crops)
        points = transform.to_image(points + offsets[:, None, :]).astype(np.float32)
        results, start = [], 0
        for b, frame_idx in enumerate(frame_indices):
            sl = slice(start, start + counts[b])
            start += counts[b]
            pts, sc = points[sl], scores[sl]
            inst_scores = mean_point_score(sc, pts)
            keep = np.isfinite(pts).any(axis=(1, 2))
            classes = None
            if self.has_classes:
                classes, class_scores = hungarian_classes(probs[sl][keep])
            results.append(FramePredictions(int(frame_idx), pts[keep], sc[keep],
                                            inst_scores[keep], classes))
        return results

    def _run_crops(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        points, scores, probs = [], [], []
        for start in range(0, len(crops), self.crop_batch_size):
            chunk = crops[start:start + self.crop_batch_size]
            images = chunk.transpose(0, 3, 1, 2).astype(np.float32) / np.float32(255.0)
            out = self.instance_backend.run(images, self.peak_threshold)
            points.append(out["points"].astype(np.float64))
            scores.append(out["scores"].astype(np.float32))
            if "class_probs" in out:
                probs.append(out["class_probs"].astype(np.float32))
        return (np.concatenate(points), np.concatenate(scores),
                np.concatenate(probs) if probs else np.zeros((len(crops), 0), np.float32))
