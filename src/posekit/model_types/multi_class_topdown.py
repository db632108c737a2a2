"""``multi_class_topdown``: top-down with identities; centred maps plus a classifier."""

from __future__ import annotations

from typing import TYPE_CHECKING

from posekit.model_types.base import HeadSpec, weight
from posekit.model_types.centered_instance import CenteredInstance

if TYPE_CHECKING:
    from torch import Tensor


class MultiClassTopDown(CenteredInstance):
    """A centred instance model whose crop also gets identity class probabilities.

    Within a frame each identity goes to one instance at most (highest total probability).
    """

    name = "multi_class_topdown"
    graph_outputs = (*CenteredInstance.graph_outputs, "class_probs")
    has_classes = True

    def build_heads(self) -> list[HeadSpec]:
        vectors = self.config.class_vectors
        return [*super().build_heads(),
                HeadSpec("class_vectors", "class_vectors", self.info.n_classes,
                         int(vectors.output_stride), weight(vectors.loss_weight),
                         "cross_entropy", layer="class_vector")]

    def make_targets(self, points: Tensor, classes: Tensor, input_hw: tuple[int, int]
                     ) -> dict[str, Tensor]:
        return {**super().make_targets(points, classes, input_hw),
                "class_vectors": classes[:, 0].long()}

    def decode(self, outputs: dict[str, Tensor], threshold: Tensor, refinement: str | None,
               patch: int) -> tuple[Tensor, ...]:
        import torch

        return (*super().decode(outputs, threshold, refinement, patch),
                torch.softmax(outputs["class_vectors"], dim=-1))
