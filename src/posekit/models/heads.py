"""Head layers and :class:`PoseModel` (backbone + heads).

Output keys (the contract with training and inference):

=================  ======================================================  ==============
key                produced by                                             activation
=================  ======================================================  ==============
``confmaps``       single_instance / centered_instance / bottomup /        none
                   multi_class_bottomup / multi_class_topdown confmaps
``centroids``      centroid confmaps (one channel)                         none
``pafs``           bottomup pafs (edge ``e`` -> channels ``2e``, ``2e+1``)  none
``class_maps``     multi_class_bottomup class maps (one channel per class) sigmoid
``class_vectors``  multi_class_topdown class vectors ``(B, n_classes)``     softmax
=================  ======================================================  ==============

Every head returns raw values (logits for the class heads); :data:`OUTPUT_ACTIVATIONS`
and :func:`activate_outputs` give the probabilities SLEAP's models emit.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

#: Activation that turns each raw output into SLEAP's output ("identity": none).
OUTPUT_ACTIVATIONS: dict[str, str] = {
    "confmaps": "identity",
    "centroids": "identity",
    "pafs": "identity",
    "class_maps": "sigmoid",
    "class_vectors": "softmax",
}


def activate_outputs(outputs: dict[str, Tensor]) -> dict[str, Tensor]:
    """Apply :data:`OUTPUT_ACTIVATIONS` (sigmoid on class maps, softmax on class vectors)."""
    activated = {}
    for key, value in outputs.items():
        kind = OUTPUT_ACTIVATIONS[key]
        if kind == "sigmoid":
            value = torch.sigmoid(value)
        elif kind == "softmax":
            value = torch.softmax(value, dim=-1)
        activated[key] = value
    return activated


class ConvHead(nn.Conv2d):
    """A map head: 1×1 convolution from decoder features to ``out_channels`` maps."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__(in_channels, out_channels, kernel_size=1)


class ClassVectorHead(nn.Module):
    """Identity classification head of multi-class top-down models.

    Reads the encoder's deepest features ``(B, C, h, w)``: global max pooling to ``(B, C)``
    when ``global_pool`` (SLEAP's ``GlobalMaxPooling2D``), otherwise flattening in
    ``(C, h, w)`` order (which needs the feature size ``in_hw`` up front); then
    ``num_fc_layers`` × (Linear(``num_fc_units``) + ReLU) and a final Linear to
    ``n_classes`` logits.
    """

    def __init__(
        self,
        in_channels: int,
        n_classes: int,
        num_fc_layers: int = 1,
        num_fc_units: int = 64,
        global_pool: bool = True,
        in_hw: tuple[int, int] | None = None,
    ):
        super().__init__()
        self.global_pool = bool(global_pool)
        self.in_hw = None if global_pool else in_hw
        if global_pool:
            in_features = in_channels
        else:
            if in_hw is None:
                raise ValueError("in_hw is required when global_pool is False")
            in_features = in_channels * in_hw[0] * in_hw[1]
        layers: list[nn.Module] = []
        for i in range(num_fc_layers):
            layers.append(nn.Linear(in_features if i == 0 else num_fc_units, num_fc_units))
            layers.append(nn.ReLU(inplace=True))
        self.fc = nn.Sequential(*layers)
        self.classifier = nn.Linear(num_fc_units if num_fc_layers else in_features, n_classes)

    def forward(self, x: Tensor) -> Tensor:
        """Map ``(B, C, h, w)`` features to ``(B, n_classes)`` logits."""
        if self.global_pool:
            x = torch.amax(x, dim=(2, 3))
        else:
            x = torch.flatten(x.contiguous(), 1)
        return self.classifier(self.fc(x))


class PoseModel(nn.Module):
    """A backbone plus its heads.

    Args:
        backbone: a UNet / ConvNeXt / SwinT module whose ``forward`` returns one
            ``{stride: features}`` dict per stack and which has ``feature_channels``,
            ``max_stride``, ``in_channels`` and ``stacks`` attributes.
        heads: one ``{output key: head module}`` dict per stack (intermediate stacks get
            their own heads, as in SLEAP); all stacks must use the same keys.
        output_strides: stride each output key reads its features at.

    ``forward(x)`` returns ``{key: tensor}`` for the last stack only;
    :meth:`forward_stacks` returns the outputs of every stack (for intermediate
    supervision when ``stacks > 1``).
    """

    def __init__(
        self,
        backbone: nn.Module,
        heads: list[dict[str, nn.Module]],
        output_strides: dict[str, int],
    ):
        super().__init__()
        self.backbone = backbone
        self.heads = nn.ModuleList([nn.ModuleDict(stack_heads) for stack_heads in heads])
        self.output_strides: dict[str, int] = dict(output_strides)
        self.max_stride: int = int(backbone.max_stride)
        self.in_channels: int = int(backbone.in_channels)
        self.stacks: int = len(heads)
        self._keys = list(output_strides)
        #: reports of the pretrained weights loaded by ``build_model`` (LoadReport objects)
        self.weight_reports: list = []

    @property
    def output_keys(self) -> list[str]:
        """Keys of the dict returned by :meth:`forward`."""
        return list(self._keys)

    def _apply_heads(self, heads: nn.ModuleDict, features: dict[int, Tensor]) -> dict[str, Tensor]:
        return {key: heads[key](features[self.output_strides[key]]) for key in self._keys}

    def forward(self, x: Tensor) -> dict[str, Tensor]:
        """Raw outputs of the last stack: ``{key: (B, C, H/s, W/s)}`` (or ``(B, n)``)."""
        features = self.backbone(x)[-1]
        return self._apply_heads(self.heads[-1], features)

    def forward_stacks(self, x: Tensor) -> list[dict[str, Tensor]]:
        """Raw outputs of every stack, first to last (the last equals :meth:`forward`)."""
        stacks = self.backbone(x)
        return [self._apply_heads(h, f) for h, f in zip(self.heads, stacks)]
