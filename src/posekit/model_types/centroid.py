"""``centroid``: the first stage of top-down; one map peaking at every animal's anchor."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from posekit.model_types.base import HeadSpec, ModelType, confmap_head

if TYPE_CHECKING:
    import numpy as np
    from torch import Tensor


class Centroid(ModelType):
    """One map with a peak at each animal's anchor (:func:`posekit.keypoints.anchor_points`).

    It cannot predict poses alone: :meth:`make_finder` gives the first stage that an
    ``"instances"`` model crops around.
    """

    name = "centroid"
    stage = "centroids"
    graph_outputs = ("peak_sample", "peak_points", "peak_scores")
    single_peak = False

    def build_heads(self) -> list[HeadSpec]:
        return [confmap_head(self.config.confmaps, "centroids", 1)]

    def make_targets(self, points: Tensor, classes: Tensor, input_hw: tuple[int, int]
                     ) -> dict[str, Tensor]:
        from posekit.data.targets import compute_anchors, make_centroid_maps

        head = self.primary
        anchors = compute_anchors(points, self.info.anchor_index)
        return {head.key: make_centroid_maps(anchors, self.out_hw(input_hw, head), head.stride,
                                             head.sigma)}

    def decode(self, outputs: dict[str, Tensor], threshold: Tensor, refinement: str | None,
               patch: int) -> tuple[Tensor, ...]:
        sample, _, points, scores = self.peaks(outputs, threshold, refinement, patch)
        return sample, points, scores

    def make_finder(self, run: Any, backend: Any, settings: Any) -> Any:
        """The first stage of top-down inference: anchors per frame."""
        from posekit.decoding.predictors_topdown import CentroidFinder

        return CentroidFinder(run, backend, settings.peak_threshold, settings.max_instances)

    def preview_truth(self, points: Tensor) -> np.ndarray:
        from posekit.keypoints import anchor_points

        return anchor_points(points[0].numpy(), self.info.anchor_index)
