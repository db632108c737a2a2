"""Bottom-up prediction: all parts at once, grouped into animals frame by frame.

The grouping (PAFs for ``bottomup``, class maps for ``multi_class_bottomup``) is a
:class:`Grouper` the model type hands in, so this predictor never asks which type it runs.
"""

from __future__ import annotations

import numpy as np

from posekit.decoding.grouping import Grouper, peaks_per_sample
from posekit.decoding.predictors import (
    Backend,
    FramePredictions,
    ModelRun,
    OneModelPredictor,
    PreparedFrames,
)


class BottomUpPredictor(OneModelPredictor):
    """All parts of all animals at once, grouped by the model type's :class:`Grouper`.

    Args:
        run, backend: The model and its runtime.
        grouper: How peaks become instances (PAFs or class maps).
        peak_threshold: Minimum confidence-map peak value.
        max_instances: Keep at most this many instances per frame (best first).
    """

    def __init__(self, run: ModelRun, backend: Backend, grouper: Grouper,
                 peak_threshold: float = 0.2, max_instances: int | None = None) -> None:
        super().__init__(run, backend, peak_threshold, max_instances)
        self.grouper = grouper
        self.has_classes = grouper.has_classes

    def predict_frames(self, frames: np.ndarray, frame_indices: np.ndarray, *,
                       prepared: PreparedFrames | None = None) -> list[FramePredictions]:
        images, transform = prepared or self.prepare(frames)
        out = self.backend.run(images, self.peak_threshold)
        per_frame = peaks_per_sample(out["peak_sample"], out["peak_channel"],
                                     out["peak_points"], out["peak_scores"], len(frame_indices))
        extra = out[self.grouper.output]
        results = []
        for b, frame_idx in enumerate(frame_indices):
            found = self.grouper(per_frame[b], extra[b])
            order = np.flatnonzero(np.isfinite(found.instances).any(axis=(1, 2)))
            order = order[self._limit(np.asarray(found.instance_scores, np.float64)[order])]
            points = transform.to_image(np.asarray(found.instances, np.float64)[order])
            results.append(FramePredictions(
                int(frame_idx), points.astype(np.float32),
                np.nan_to_num(np.asarray(found.point_scores, np.float32)[order]),
                np.asarray(found.instance_scores, np.float32)[order],
                None if found.classes is None else np.asarray(found.classes, np.int64)[order],
                None if found.class_scores is None
                else np.asarray(found.class_scores, np.float32)[order]))
        return results
