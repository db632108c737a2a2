"""ConvNeXt backbone: torchvision's ConvNeXt stages under our patch stem, UNet decoder.

Encoder (module names follow ``torchvision.models.convnext`` so ImageNet weights map 1:1)::

    features.0   stem: Conv2d(in_channels, C0, stem_patch_kernel, stride=stem_patch_stride,
                 symmetric padding) + LayerNorm2d            -> stride s0
    features.1   stage 1: depths[0] × CNBlock(C0)           -> stride s0
    features.2   LayerNorm2d + Conv2d(2×2, stride 2)         (downsample)
    features.3   stage 2 ... features.7  stage 4             -> stride 8·s0
    norm         LayerNorm2d on the last stage (torchvision's classifier.0)

Then :class:`~posekit.models.encoder_levels.PyramidTop`: extra pooled conv levels up to
``max_stride`` and the UNet-style decoder down to ``output_stride`` with skips from each
stage output. Stochastic depth is off (0) and layer scale starts at 1e-6 as in torchvision.
"""

from __future__ import annotations

from functools import partial

from torch import Tensor, nn
from torchvision.models.convnext import CNBlock, LayerNorm2d

from posekit.errors import ConfigError
from posekit.models.blocks import check_input_size, check_positive_int
from posekit.models.encoder_levels import attach_top, check_stem, select_arch

_FIELD = "model_config.backbone_config.convnext"

#: ``model_type`` presets (torchvision's ConvNeXt variants).
CONVNEXT_ARCHS: dict[str, dict[str, object]] = {
    "tiny": {"depths": [3, 3, 9, 3], "channels": [96, 192, 384, 768]},
    "small": {"depths": [3, 3, 27, 3], "channels": [96, 192, 384, 768]},
    "base": {"depths": [3, 3, 27, 3], "channels": [128, 256, 512, 1024]},
    "large": {"depths": [3, 3, 27, 3], "channels": [192, 384, 768, 1536]},
}


class ConvNeXt(nn.Module):
    """ConvNeXt encoder + UNet-style decoder.

    Args:
        in_channels: image channels.
        model_type: "tiny" / "small" / "base" / "large" (ignored when ``arch`` is given).
        arch: explicit ``{"depths": [...], "channels": [...]}`` (dict or config object).
        stem_patch_kernel, stem_patch_stride: the patch stem convolution.
        max_stride: bottleneck stride (>= 8·stem_patch_stride; extra levels above that).
        kernel_size, filters_rate, convs_per_block, up_interpolate, output_stride: decoder
            (and extra level) options, as for the UNet.
        layer_scale: initial layer-scale value of the CNBlocks.
        stochastic_depth_prob: largest drop-path rate (linearly increasing per block).

    ``forward(x)`` returns ``[{stride: features}]`` (a single stack).
    """

    def __init__(
        self,
        in_channels: int = 1,
        model_type: str | None = "tiny",
        arch: object | None = None,
        stem_patch_kernel: int = 4,
        stem_patch_stride: int = 2,
        max_stride: int = 32,
        kernel_size: int = 3,
        filters_rate: float = 2.0,
        convs_per_block: int = 2,
        up_interpolate: bool = True,
        output_stride: int = 1,
        layer_scale: float = 1e-6,
        stochastic_depth_prob: float = 0.0,
    ):
        super().__init__()
        spec = select_arch(model_type, arch, CONVNEXT_ARCHS, ("depths", "channels"), _FIELD)
        depths = [int(d) for d in spec["depths"]]  # type: ignore[union-attr]
        channels = [int(c) for c in spec["channels"]]  # type: ignore[union-attr]
        if len(depths) != len(channels) or not depths:
            raise ConfigError(
                f"{_FIELD}.arch: depths {depths} and channels {channels} must be non-empty "
                "lists of the same length (one entry per stage)."
            )
        self.in_channels = check_positive_int(in_channels, f"{_FIELD}.in_channels")
        padding = check_stem(
            stem_patch_kernel,
            stem_patch_stride,
            f"{_FIELD}.stem_patch_kernel",
            f"{_FIELD}.stem_patch_stride",
        )
        self.depths = depths
        self.channels = channels
        self.stem_patch_kernel = int(stem_patch_kernel)
        self.stem_patch_stride = int(stem_patch_stride)

        norm = partial(LayerNorm2d, eps=1e-6)
        layers: list[nn.Module] = [
            nn.Sequential(
                nn.Conv2d(
                    self.in_channels,
                    channels[0],
                    kernel_size=self.stem_patch_kernel,
                    stride=self.stem_patch_stride,
                    padding=padding,
                ),
                norm(channels[0]),
            )
        ]
        total_blocks = sum(depths)
        block_id = 0
        for i, (depth, dim) in enumerate(zip(depths, channels)):
            stage = []
            for _ in range(depth):
                rate = stochastic_depth_prob * block_id / max(total_blocks - 1, 1)
                stage.append(CNBlock(dim, layer_scale, rate))
                block_id += 1
            layers.append(nn.Sequential(*stage))
            if i + 1 < len(depths):
                layers.append(
                    nn.Sequential(norm(dim), nn.Conv2d(dim, channels[i + 1], 2, stride=2))
                )
        self.features = nn.Sequential(*layers)
        self.norm = norm(channels[-1])

        attach_top(self, channels, self.stem_patch_stride, _FIELD, max_stride=max_stride,
                   output_stride=output_stride, kernel_size=kernel_size,
                   filters_rate=filters_rate, convs_per_block=convs_per_block,
                   up_interpolate=up_interpolate)

    def encode(self, x: Tensor) -> list[Tensor]:
        """Stage outputs, finest first (the last one layer-normalised)."""
        stages = []
        x = self.features[0](x)
        for i in range(1, len(self.features), 2):
            x = self.features[i](x)
            stages.append(x)
            if i + 1 < len(self.features):
                x = self.features[i + 1](x)
        stages[-1] = self.norm(stages[-1])
        return stages

    def forward(self, x: Tensor) -> list[dict[int, Tensor]]:
        """Encode and decode; returns ``[{stride: features}]``."""
        check_input_size(x, self.max_stride, self.in_channels, "ConvNeXt")
        return [self.top(self.encode(x))]
