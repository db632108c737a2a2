"""The exportable part of inference: network + dense decoding of one model type.

An :class:`InferenceGraph` maps preprocessed images ``float32 (B, C, H, W)`` and a peak
threshold to the fixed tuple of arrays its model type names
(:attr:`~posekit.model_types.base.ModelType.graph_outputs`). Everything in it is torch and
traceable, so the same graph runs eagerly (torch backend) or as ONNX (ONNX Runtime
backend); the sparse assembly (grouping, identities, crops, coordinate mapping) happens
outside, in numpy (:mod:`posekit.decoding`).
"""

from __future__ import annotations

from torch import Tensor, nn

from posekit.model_types.base import ModelType


class InferenceGraph(nn.Module):
    """Network plus the model type's dense decoding.

    Args:
        model: The trained :class:`~posekit.models.heads.PoseModel`.
        model_type: Its model type (:meth:`~posekit.model_types.base.ModelType.decode`).
        refinement: Sub-pixel refinement (``"integral"``, ``"local"`` or ``None``).
        integral_patch_size: Window of the integral refinement (cells).
    """

    def __init__(self, model: nn.Module, model_type: ModelType,
                 refinement: str | None = "integral", integral_patch_size: int = 7) -> None:
        super().__init__()
        self.model = model
        self.model_type = model_type
        self.refinement = refinement
        self.patch = int(integral_patch_size)

    @property
    def output_names(self) -> tuple[str, ...]:
        """Names of :meth:`forward`'s outputs."""
        return self.model_type.graph_outputs

    def forward(self, images: Tensor, threshold: Tensor) -> tuple[Tensor, ...]:
        return self.model_type.decode(self.model(images), threshold, self.refinement,
                                      self.patch)
