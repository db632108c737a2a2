"""``multi_class_bottomup``: all parts at once, grouped by identity class maps."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from posekit.model_types.base import HeadSpec, ModelType, confmap_head, map_sigma, weight

if TYPE_CHECKING:
    from torch import Tensor


class MultiClassBottomUp(ModelType):
    """Confidence maps of all parts plus one class map per identity.

    Each peak joins the identity whose class map is strongest at it, so instances come out
    with their identities and no PAF grouping is needed.
    """

    name = "multi_class_bottomup"
    graph_outputs = ("peak_sample", "peak_channel", "peak_points", "peak_scores",
                     "class_maps")
    has_classes = True
    single_peak = False

    def build_heads(self) -> list[HeadSpec]:
        maps = self.config.class_maps
        return [confmap_head(self.config.confmaps, "confmaps", self.info.n_nodes),
                HeadSpec("class_maps", "class_maps", self.info.n_classes,
                         int(maps.output_stride), weight(maps.loss_weight), "mse_sigmoid",
                         map_sigma(maps))]

    def make_targets(self, points: Tensor, classes: Tensor, input_hw: tuple[int, int]
                     ) -> dict[str, Tensor]:
        from posekit.data.targets import make_class_maps, make_confmaps

        cm, cls = self.heads
        return {
            cm.key: make_confmaps(points, self.out_hw(input_hw, cm), cm.stride, cm.sigma),
            cls.key: make_class_maps(points, classes, self.info.n_classes,
                                     self.out_hw(input_hw, cls), cls.stride, cls.sigma),
        }

    def decode(self, outputs: dict[str, Tensor], threshold: Tensor, refinement: str | None,
               patch: int) -> tuple[Tensor, ...]:
        import torch

        return (*self.peaks(outputs, threshold, refinement, patch),
                torch.sigmoid(outputs["class_maps"]))

    def make_predictor(self, run: Any, backend: Any, settings: Any, centroids: Any = None
                       ) -> Any:
        from posekit.decoding.class_map_grouping import ClassMapGrouper
        from posekit.decoding.predictors_bottomup import BottomUpPredictor

        grouper = ClassMapGrouper(self.info.n_nodes, self.output_strides["class_maps"],
                                  settings.class_grouping)
        return BottomUpPredictor(run, backend, grouper, settings.peak_threshold,
                                 settings.max_instances)
