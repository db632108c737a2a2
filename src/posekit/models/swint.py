"""Swin Transformer backbone: torchvision's Swin stages under our patch stem, UNet decoder.

Encoder (module names follow ``torchvision.models.swin_transformer`` so ImageNet weights
map 1:1; tensors inside the encoder are channels-last ``(B, H, W, C)``)::

    features.0   Conv2d(in_channels, embed, patch_size, stride=stem_patch_stride,
                 symmetric padding) + Permute to (B, H, W, C) + LayerNorm  -> stride s0
    features.1   stage 1: depths[0] × SwinTransformerBlock(embed, heads[0], window)
    features.2   PatchMerging (×2 stride, ×2 channels)
    features.3 ... features.7  stages 2-4                                  -> stride 8·s0
    norm         LayerNorm on the last stage

Blocks alternate plain and half-window-shifted attention. torchvision's window attention
pads every stage to a multiple of ``window_size`` internally and crops afterwards, and
patch merging pads odd sizes, so no input size needs to be a multiple of the window; the
only requirement is the backbone-wide one that inputs are multiples of ``max_stride``.
Then :class:`~posekit.models.encoder_levels.PyramidTop` adds the extra pooled levels and
the UNet-style decoder. Stochastic depth is off (0).
"""

from __future__ import annotations

from torch import Tensor, nn
from torchvision.models.swin_transformer import PatchMerging, SwinTransformerBlock
from torchvision.ops.misc import Permute

from posekit.errors import ConfigError
from posekit.models.blocks import check_input_size, check_positive_int
from posekit.models.encoder_levels import attach_top, check_stem, select_arch

_FIELD = "model_config.backbone_config.swint"

#: ``model_type`` presets (torchvision's Swin V1 variants); "channels" = attention heads.
SWINT_ARCHS: dict[str, dict[str, object]] = {
    "tiny": {"embed": 96, "depths": [2, 2, 6, 2], "channels": [3, 6, 12, 24]},
    "small": {"embed": 96, "depths": [2, 2, 18, 2], "channels": [3, 6, 12, 24]},
    "base": {"embed": 128, "depths": [2, 2, 18, 2], "channels": [4, 8, 16, 32]},
}


def _checked_arch(spec: dict) -> tuple[int, list[int], list[int], list[int]]:
    """``embed``, per-stage depths, head counts and widths of an architecture, checked."""
    embed = check_positive_int(spec["embed"], f"{_FIELD}.arch.embed")
    depths = [int(d) for d in spec["depths"]]
    heads = [int(h) for h in spec["channels"]]
    if len(depths) != len(heads) or not depths:
        raise ConfigError(
            f"{_FIELD}.arch: depths {depths} and channels (attention heads) {heads} must "
            "be non-empty lists of the same length (one entry per stage)."
        )
    dims = [embed * 2**i for i in range(len(depths))]
    for dim, n_heads in zip(dims, heads):
        if n_heads < 1 or dim % n_heads:
            raise ConfigError(
                f"{_FIELD}.arch.channels: {n_heads} attention heads do not divide the "
                f"stage width {dim}; expected each stage width (embed · 2^i) to be a "
                "multiple of its head count, e.g. embed 96 with heads [3, 6, 12, 24]."
            )
    return embed, depths, heads, dims


def _stages(depths: list[int], dims: list[int], heads: list[int], window_size: int,
            mlp_ratio: float, stochastic_depth_prob: float) -> list[nn.Module]:
    """The transformer stages (shifted windows every other block) with a patch merge
    between stages; stochastic depth grows linearly over all blocks."""
    window = [window_size, window_size]
    total_blocks, block_id = sum(depths), 0
    layers: list[nn.Module] = []
    for i, (depth, dim, n_heads) in enumerate(zip(depths, dims, heads)):
        stage = []
        for j in range(depth):
            shift = [0, 0] if j % 2 == 0 else [w // 2 for w in window]
            rate = stochastic_depth_prob * block_id / max(total_blocks - 1, 1)
            stage.append(SwinTransformerBlock(dim, n_heads, window_size=window, shift_size=shift,
                                              mlp_ratio=mlp_ratio, stochastic_depth_prob=rate))
            block_id += 1
        layers.append(nn.Sequential(*stage))
        if i + 1 < len(depths):
            layers.append(PatchMerging(dim))
    return layers

class SwinT(nn.Module):
    """Swin Transformer encoder + UNet-style decoder.

    Args:
        in_channels: image channels.
        model_type: "tiny" / "small" / "base" (ignored when ``arch`` is given).
        arch: explicit ``{"embed": int, "depths": [...], "channels": [heads per stage]}``.
        patch_size, stem_patch_stride: the patch stem convolution.
        window_size: attention window side (in stage cells).
        max_stride, kernel_size, filters_rate, convs_per_block, up_interpolate,
        output_stride: as for :class:`~posekit.models.convnext.ConvNeXt`.
        mlp_ratio: hidden size of each block's MLP relative to its width.
        stochastic_depth_prob: largest drop-path rate (linearly increasing per block).
    """

    def __init__(
        self,
        in_channels: int = 1,
        model_type: str | None = "tiny",
        arch: object | None = None,
        patch_size: int = 4,
        stem_patch_stride: int = 2,
        window_size: int = 7,
        max_stride: int = 32,
        kernel_size: int = 3,
        filters_rate: float = 2.0,
        convs_per_block: int = 2,
        up_interpolate: bool = True,
        output_stride: int = 1,
        mlp_ratio: float = 4.0,
        stochastic_depth_prob: float = 0.0,
    ):
        super().__init__()
        spec = select_arch(model_type, arch, SWINT_ARCHS, ("embed", "depths", "channels"), _FIELD)
        embed, depths, heads, dims = _checked_arch(spec)
        self.in_channels = check_positive_int(in_channels, f"{_FIELD}.in_channels")
        self.window_size = check_positive_int(window_size, f"{_FIELD}.window_size")
        padding = check_stem(
            patch_size, stem_patch_stride, f"{_FIELD}.patch_size", f"{_FIELD}.stem_patch_stride"
        )
        self.embed = embed
        self.depths = depths
        self.num_heads = heads
        self.patch_size = int(patch_size)
        self.stem_patch_stride = int(stem_patch_stride)

        layers: list[nn.Module] = [
            nn.Sequential(
                nn.Conv2d(
                    self.in_channels,
                    embed,
                    kernel_size=self.patch_size,
                    stride=self.stem_patch_stride,
                    padding=padding,
                ),
                Permute([0, 2, 3, 1]),
                nn.LayerNorm(embed),
            )
        ]
        layers += _stages(depths, dims, heads, self.window_size, mlp_ratio,
                          stochastic_depth_prob)
        self.features = nn.Sequential(*layers)
        self.norm = nn.LayerNorm(dims[-1])

        attach_top(self, dims, self.stem_patch_stride, _FIELD, max_stride=max_stride,
                   output_stride=output_stride, kernel_size=kernel_size,
                   filters_rate=filters_rate, convs_per_block=convs_per_block,
                   up_interpolate=up_interpolate)

    def encode(self, x: Tensor) -> list[Tensor]:
        """Stage outputs as ``(B, C, H, W)`` views (channels-last memory), finest first."""
        stages = []
        x = self.features[0](x)
        n_layers = len(self.features)
        for i in range(1, n_layers, 2):
            x = self.features[i](x)
            out = self.norm(x) if i == n_layers - 1 else x
            stages.append(out.permute(0, 3, 1, 2))
            if i + 1 < n_layers:
                x = self.features[i + 1](x)
        return stages

    def forward(self, x: Tensor) -> list[dict[int, Tensor]]:
        """Encode and decode; returns ``[{stride: features}]``."""
        check_input_size(x, self.max_stride, self.in_channels, "SwinT")
        return [self.top(self.encode(x))]
