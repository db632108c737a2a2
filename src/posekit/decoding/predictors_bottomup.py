"""Bottom-up prediction: all parts at once, grouped into animals by PAFs or class maps."""

from __future__ import annotations

import numpy as np

from posekit.inference.backends import Backend
from posekit.decoding.predictors import FramePredictions, Predictor, PreparedFrames
from posekit.inference.run_folder import RunFolder


class BottomUpPredictor(Predictor):
    """``bottomup`` (PAF grouping) and ``multi_class_bottomup`` (class-map grouping) models.

    Args:
        run, backend: The model and its runtime.
        peak_threshold: Minimum confidence-map peak value.
        max_instances: Keep at most this many instances per frame (best first).
        grouping: PAF grouping settings (:class:`PAFGroupingParams`), bottom-up only.
        min_class_score: Minimum class-map value for a peak to join an identity.
    """

    def __init__(self, run: RunFolder, backend: Backend, peak_threshold: float = 0.2,
                 max_instances: int | None = None, grouping=None,
                 min_class_score: float = 0.1) -> None:
        super().__init__(run.info, peak_threshold, max_instances)
        self.run = run
        self.backend = backend
        self.has_classes = run.head_type == "multi_class_bottomup"
        self.min_class_score = float(min_class_score)
        if not self.has_classes:
            from posekit.decoding.paf_grouping import PAFGroupingParams

            params = grouping or PAFGroupingParams()
            if max_instances is not None:
                from dataclasses import replace

                params = replace(params, max_instances=int(max_instances))
            self.grouping = params
        self.edges = np.asarray(run.info.edges, np.int64).reshape(-1, 2)

    def prepare(self, frames: np.ndarray) -> PreparedFrames:
        return self.run.prep.preprocess_frames(frames)

    def predict_frames(self, frames: np.ndarray, frame_indices: np.ndarray, *,
                       prepared: PreparedFrames | None = None) -> list[FramePredictions]:
        images, transform = prepared or self.prepare(frames)
        out = self.backend.run(images, self.peak_threshold)
        peaks = (out["peak_sample"].astype(np.int64), out["peak_channel"].astype(np.int64),
                 out["peak_points"].astype(np.float64), out["peak_scores"].astype(np.float64))
        strides = self.run.strides
        classes = None
        if self.has_classes:
            from posekit.decoding.class_map_grouping import (
                ClassMapGroupingParams,
                group_by_class_maps_batch,
            )

            inst, pscores, iscores, classes = group_by_class_maps_batch(
                *peaks, out["class_maps"], strides["class_maps"], self.info.n_nodes,
                ClassMapGroupingParams(min_class_score=self.min_class_score))
        else:
            from posekit.decoding.paf_grouping import group_instances_batch

            inst, pscores, iscores = group_instances_batch(
                *peaks, out["pafs"], self.edges, strides["pafs"], self.info.n_nodes,
                self.grouping)
        inst = np.asarray(inst, np.float64)
        results = []
        for b, frame_idx in enumerate(frame_indices):
            if b >= inst.shape[0]:
                results.append(FramePredictions.empty(int(frame_idx), self.info.n_nodes,
                                                      self.has_classes))
                continue
            pts = inst[b]
            rows = np.isfinite(pts).any(axis=(1, 2))
            scores_b = np.asarray(iscores[b], np.float64)
            order = np.nonzero(rows)[0]
            order = order[self._limit(scores_b[order])]
            cls = None if classes is None else np.asarray(classes[b], np.int64)[order]
            results.append(FramePredictions(
                int(frame_idx), transform.to_image(pts[order]).astype(np.float32),
                np.nan_to_num(np.asarray(pscores[b], np.float32)[order]),
                scores_b[order].astype(np.float32), cls))
        return results
