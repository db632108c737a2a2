"""``bottomup``: every part of every animal at once, grouped by part affinity fields."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from posekit.model_types.base import HeadSpec, ModelType, confmap_head, weight

if TYPE_CHECKING:
    from torch import Tensor


class BottomUp(ModelType):
    """Confidence maps of all parts plus one PAF (x, y) per skeleton edge."""

    name = "bottomup"
    graph_outputs = ("peak_sample", "peak_channel", "peak_points", "peak_scores", "pafs")
    needs_edges = True
    single_peak = False

    def build_heads(self) -> list[HeadSpec]:
        pafs = self.config.pafs
        return [confmap_head(self.config.confmaps, "confmaps", self.info.n_nodes),
                HeadSpec("pafs", "pafs", 2 * self.info.n_edges, int(pafs.output_stride),
                         weight(pafs.loss_weight), "mse", float(pafs.sigma))]

    def make_targets(self, points: Tensor, classes: Tensor, input_hw: tuple[int, int]
                     ) -> dict[str, Tensor]:
        import torch

        from posekit.data.targets import make_confmaps, make_pafs

        cm, paf = self.heads
        edges = torch.as_tensor(self.info.edges, dtype=torch.long, device=points.device)
        return {
            cm.key: make_confmaps(points, self.out_hw(input_hw, cm), cm.stride, cm.sigma),
            paf.key: make_pafs(points, edges.reshape(-1, 2), self.out_hw(input_hw, paf),
                               paf.stride, paf.sigma),
        }

    def decode(self, outputs: dict[str, Tensor], threshold: Tensor, refinement: str | None,
               patch: int) -> tuple[Tensor, ...]:
        return (*self.peaks(outputs, threshold, refinement, patch), outputs["pafs"])

    def make_predictor(self, run: Any, backend: Any, settings: Any, centroids: Any = None
                       ) -> Any:
        from posekit.decoding.paf_grouping import PafGrouper
        from posekit.decoding.predictors_bottomup import BottomUpPredictor

        grouper = PafGrouper(self.info.edges, self.output_strides["pafs"], self.info.n_nodes,
                             settings.grouping, settings.max_instances)
        return BottomUpPredictor(run, backend, grouper, settings.peak_threshold,
                                 settings.max_instances)
