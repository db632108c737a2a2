"""``single_instance``: one animal per frame; each node's map peaks at its position."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from posekit.model_types.base import HeadSpec, ModelType, confmap_head

if TYPE_CHECKING:
    from torch import Tensor

#: Peaks kept per node for the skeleton-consistent choice.
N_CANDIDATES = 5


class SingleInstance(ModelType):
    """One confidence map per node; the global peak of each map is that node, unless the
    skeleton's bone lengths prefer another of its highest peaks (the graph also returns
    :data:`N_CANDIDATES` candidates per node; :mod:`posekit.decoding.skeleton_consistency`)."""

    name = "single_instance"
    stage = "alone"
    graph_outputs = ("points", "scores", "candidate_points", "candidate_scores")

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
        from posekit.decoding.peaks import find_peak_candidates

        head = self.primary
        candidates = find_peak_candidates(outputs[head.key], head.stride, N_CANDIDATES,
                                          threshold, refinement, patch)
        return (*self.peaks(outputs, threshold, refinement, patch), *candidates)

    def make_predictor(self, run: Any, backend: Any, settings: Any, centroids: Any = None
                       ) -> Any:
        from posekit.decoding.predictors import SingleInstancePredictor

        return SingleInstancePredictor(run, backend, settings.peak_threshold,
                                       skeleton_check=settings.skeleton_check)
