"""``centered_instance``: the second stage of top-down; the centred animal in a crop."""

from __future__ import annotations

from typing import Any

from posekit.model_types.single_instance import SingleInstance


class CenteredInstance(SingleInstance):
    """A single-instance model that sees one crop per animal, centred on its anchor.

    Heads, targets and decoding are those of :class:`SingleInstance`; what differs is the
    stage: it is trained on instance crops and predicts in crops around the centroids a
    first stage (or the labels) gives.
    """

    name = "centered_instance"
    stage = "instances"

    def make_predictor(self, run: Any, backend: Any, settings: Any, centroids: Any = None
                       ) -> Any:
        from posekit.decoding.predictors_topdown import TopDownPredictor

        return TopDownPredictor(centroids, run, backend, self.has_classes,
                                settings.peak_threshold, settings.max_instances,
                                max(1, settings.batch_size * 2),
                                skeleton_check=settings.skeleton_check)
