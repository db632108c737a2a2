"""The exportable part of inference: network + dense decoding, one graph per model type.

An :class:`InferenceGraph` maps preprocessed images ``float32 (B, C, H, W)`` and a peak
threshold to a fixed tuple of arrays (see :data:`GRAPH_OUTPUTS`). Everything in it is torch
and traceable, so the same graph runs eagerly (torch backend) or as ONNX (ONNX Runtime
backend); only the sparse assembly (PAF grouping, identity matching, crops, coordinate
mapping) happens outside, in numpy.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from posekit.inference.graph_outputs import GRAPH_OUTPUTS
from posekit.decoding.peaks import find_global_peaks, find_local_peaks


class InferenceGraph(nn.Module):
    """Network plus dense decoding for one model type.

    Args:
        model: The trained :class:`~posekit.models.heads.PoseModel`.
        head_type: The model type (a key of :data:`GRAPH_OUTPUTS`).
        strides: Output stride per output key.
        refinement: Sub-pixel refinement (``"integral"``, ``"local"`` or ``None``).
        integral_patch_size: Window of the integral refinement (cells).
    """

    def __init__(
        self,
        model: nn.Module,
        head_type: str,
        strides: dict[str, int],
        refinement: str | None = "integral",
        integral_patch_size: int = 7,
    ) -> None:
        super().__init__()
        if head_type not in GRAPH_OUTPUTS:
            raise ValueError(f"unknown model type {head_type!r}")
        self.model = model
        self.head_type = head_type
        self.strides = dict(strides)
        self.refinement = refinement
        self.patch = int(integral_patch_size)

    @property
    def output_names(self) -> tuple[str, ...]:
        """Names of :meth:`forward`'s outputs."""
        return GRAPH_OUTPUTS[self.head_type]

    def forward(self, images: Tensor, threshold: Tensor) -> tuple[Tensor, ...]:
        out = self.model(images)
        kind = self.head_type
        if kind in ("single_instance", "centered_instance", "multi_class_topdown"):
            points, scores = find_global_peaks(
                out["confmaps"], self.strides["confmaps"], threshold, self.refinement, self.patch
            )
            if kind == "multi_class_topdown":
                return points, scores, torch.softmax(out["class_vectors"], dim=-1)
            return points, scores
        if kind == "centroid":
            sample, _, points, scores = find_local_peaks(
                out["centroids"],
                self.strides["centroids"],
                threshold,
                self.refinement,
                3,
                self.patch,
            )
            return sample, points, scores
        sample, channel, points, scores = find_local_peaks(
            out["confmaps"], self.strides["confmaps"], threshold, self.refinement, 3, self.patch
        )
        if kind == "bottomup":
            return sample, channel, points, scores, out["pafs"]
        return sample, channel, points, scores, torch.sigmoid(out["class_maps"])
