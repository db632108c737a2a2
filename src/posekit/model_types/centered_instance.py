"""``centered_instance``: the second stage of top-down; the centred animal in a crop."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from posekit.model_types.base import HeadSpec, ModelType, confmap_head

if TYPE_CHECKING:
    from torch import Tensor


class CenteredInstance(ModelType):
    """Confidence maps of the animal centred in a crop around its anchor."""

    name = "centered_instance"
    stage = "instances"
    graph_outputs = ("points", "scores")

    def build_heads(self) -> list[HeadSpec]:
        return [confmap_head(self.config.confmaps, "confmaps", self.info.n_nodes)]

    def make_targets(self, points: Tensor, classes: Tensor, input_hw: tuple[int, int]
                     ) -> dict[str, Tensor]:
        from posekit.data.targets import make_confmaps

        head = self.primary
        return {head.key: make_confmaps(points[:, :1], self.out_hw(input_hw, head), head.stride,
                                        head.sigma)}

    def decode(self, outputs: dict[str, Tensor], threshold: Tensor, refinement: str | None,
               patch: int) -> tuple[Tensor, ...]:
        return self.peaks(outputs, threshold, refinement, patch)

    def make_predictor(self, run: Any, backend: Any, settings: Any, centroids: Any = None
                       ) -> Any:
        from posekit.decoding.predictors_topdown import TopDownPredictor

        return TopDownPredictor(centroids, run, backend, self.has_classes,
                                settings.peak_threshold, settings.max_instances,
                                max(1, settings.batch_size * 2))
