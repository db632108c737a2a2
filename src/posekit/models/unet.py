"""UNet backbone, layer-for-layer the same network as SLEAP's / sleap-nn's UNet.

Structure (``L = log2(max_stride)`` levels, ``f(s) = int(filters · filters_rate^log2(s))``
filters at stride ``s``)::

    stem levels      strides 1 .. stem_stride/2       (only when stem_stride is set)
    encoder levels   strides stem_stride .. max_stride/2
                     each level = [2×2 max-pool] + convs_per_block × (conv k×k + ReLU);
                     the very first level has no pool (pooling happens before the convs)
    last pool        -> stride max_stride
    middle block     (middle_block=True) convs_per_block - 1 "expand" convs and one
                     "contract" conv, all with f(max_stride) filters
    decoder          from max_stride to output_stride; each step upsamples ×2, concatenates
                     the encoder level of the same stride in front, then convs_per_block
                     × (conv + ReLU) with f(s) filters (mirrors the encoder)

Stem levels are down blocks configured exactly like the encoder levels, but they feed no
skip connection: decoder steps finer than ``stem_stride`` upsample and refine without one.

``stacks`` > 1 repeats encoder + middle + decoder as in a stacked hourglass. Stack ``k >
0`` takes the previous stack's finest decoder features (stride ``output_stride``) as its
input, pools them back down to ``max_stride`` (levels at strides ``output_stride ..
max_stride/2``, the same filter counts as stack 0) and decodes again. Every stack returns
its own ``{stride: features}``; heads read the last one, and intermediate stacks can be
supervised (see :meth:`posekit.models.PoseModel.forward_stacks`).
"""

from __future__ import annotations

from torch import Tensor, nn

from posekit.errors import ConfigError
from posekit.models.blocks import (
    ConvBlock,
    Decoder,
    DownBlock,
    check_filters_rate,
    check_input_size,
    check_kernel_size,
    check_positive_int,
    check_power_of_two,
    log2_int,
)

_FIELD = "model_config.backbone_config.unet"


def unet_filters(filters: int, filters_rate: float, stride: int) -> int:
    """Number of filters of a UNet level at ``stride``: ``int(filters · rate^log2(stride))``.

    Truncation (not rounding) matches SLEAP, e.g. ``8 · 1.5^4 = 40.5 -> 40``.
    """
    return int(filters * filters_rate ** log2_int(stride))


class UNetStack(nn.Module):
    """One encoder → middle block → decoder pass of the UNet (one "hourglass").

    Args:
        in_channels: channels of the stack's input.
        first_stride: stride of the input (1 for stack 0 without a stem).
        first_pool: whether the first level starts with a max-pool (True after a stem).
        max_stride, output_stride: bottleneck and finest decoder strides.
        filters_at: ``{stride: filters}`` for every stride the stack uses.
        convs_per_block, kernel_size, middle_block, up_interpolate: as in :class:`UNet`.
    """

    def __init__(
        self,
        in_channels: int,
        first_stride: int,
        first_pool: bool,
        max_stride: int,
        output_stride: int,
        filters_at: dict[int, int],
        convs_per_block: int,
        kernel_size: int,
        middle_block: bool,
        up_interpolate: bool,
    ):
        super().__init__()
        self.max_stride = max_stride
        self.level_strides: list[int] = []
        levels = []
        channels = in_channels
        stride = first_stride
        while stride < max_stride:
            pool = first_pool or bool(levels)
            levels.append(
                DownBlock(channels, filters_at[stride], convs_per_block, kernel_size, pool)
            )
            self.level_strides.append(stride)
            channels = filters_at[stride]
            stride *= 2
        self.levels = nn.ModuleList(levels)
        self.pool = nn.MaxPool2d(2, 2)

        middle: list[nn.Module] = []
        if middle_block:
            if convs_per_block > 1:
                middle.append(
                    ConvBlock(channels, filters_at[max_stride], convs_per_block - 1, kernel_size)
                )
                channels = filters_at[max_stride]
            middle.append(ConvBlock(channels, filters_at[max_stride], 1, kernel_size))
            channels = filters_at[max_stride]
        self.middle = nn.Sequential(*middle)
        self.bottleneck_channels = channels

        self.decoder = Decoder(
            in_channels=channels,
            max_stride=max_stride,
            output_stride=output_stride,
            skip_channels={s: filters_at[s] for s in self.level_strides},
            filters=filters_at,
            convs_per_block=convs_per_block,
            kernel_size=kernel_size,
            up_interpolate=up_interpolate,
        )

    def forward(self, x: Tensor) -> dict[int, Tensor]:
        """Encode and decode ``x``; returns ``{stride: features}``."""
        skips: dict[int, Tensor] = {}
        for stride, level in zip(self.level_strides, self.levels):
            x = level(x)
            skips[stride] = x
        x = self.middle(self.pool(x))
        return self.decoder(x, skips)


def _checked_stem_stride(max_stride: int, output_stride: int, stem_stride: int | None,
                         stacks: int) -> int:
    """The stem's stride (1 without a stem), after checking how the strides relate."""
    if output_stride > max_stride:
        raise ConfigError(
            f"{_FIELD}.output_stride: got {output_stride}, larger than max_stride="
            f"{max_stride}; expected output_stride <= max_stride. Lower output_stride "
            "or raise max_stride."
        )
    checked = 1
    if stem_stride is not None:
        checked = check_power_of_two(stem_stride, f"{_FIELD}.stem_stride")
        if checked >= max_stride:
            raise ConfigError(
                f"{_FIELD}.stem_stride: got {stem_stride} with max_stride={max_stride}; "
                "expected stem_stride < max_stride so at least one encoder level "
                "remains. Use a smaller stem_stride or null."
            )
    if stacks > 1 and output_stride == max_stride:
        raise ConfigError(
            f"{_FIELD}.stacks: got {stacks} with output_stride == max_stride == "
            f"{max_stride}; a stacked UNet needs at least one level between them to "
            "re-encode. Lower output_stride or set stacks: 1."
        )
    return checked


class UNet(nn.Module):
    """UNet backbone (see the module docstring for the exact layer structure).

    Args:
        in_channels: image channels (1 grey, 3 RGB).
        kernel_size: convolution kernel size (odd).
        filters: filters of the first (stride 1) level.
        filters_rate: growth of the filter count per halving of resolution.
        max_stride: stride of the bottleneck; ``log2(max_stride)`` pooling steps in all
            (stem included). Inputs must be multiples of it.
        stem_stride: when set, the levels finer than this stride form a "stem": same
            blocks, no skip connections. Must be ``< max_stride``.
        middle_block: add the expand/contract convolutions at ``max_stride``.
        up_interpolate: bilinear upsampling (True) or transposed convolutions (False).
        stacks: number of stacked encoder-decoder passes (>= 1).
        convs_per_block: convolutions per encoder level / decoder step.
        output_stride: the finest stride the decoder produces.

    ``forward(x)`` returns one ``{stride: features}`` dict per stack (strides
    ``max_stride, max_stride/2, ..., output_stride``); ``feature_channels`` gives the
    channel count at each of those strides.
    """

    def __init__(
        self,
        in_channels: int = 1,
        kernel_size: int = 3,
        filters: int = 32,
        filters_rate: float = 1.5,
        max_stride: int = 16,
        stem_stride: int | None = None,
        middle_block: bool = True,
        up_interpolate: bool = True,
        stacks: int = 1,
        convs_per_block: int = 2,
        output_stride: int = 1,
    ):
        super().__init__()
        self.in_channels = check_positive_int(in_channels, f"{_FIELD}.in_channels")
        self.kernel_size = check_kernel_size(kernel_size, f"{_FIELD}.kernel_size")
        self.filters = check_positive_int(filters, f"{_FIELD}.filters")
        self.filters_rate = check_filters_rate(filters_rate, f"{_FIELD}.filters_rate")
        self.max_stride = check_power_of_two(max_stride, f"{_FIELD}.max_stride", at_least=2)
        self.output_stride = check_power_of_two(output_stride, f"{_FIELD}.output_stride")
        self.stacks = check_positive_int(stacks, f"{_FIELD}.stacks")
        self.convs_per_block = check_positive_int(convs_per_block, f"{_FIELD}.convs_per_block")
        self.middle_block = bool(middle_block)
        self.up_interpolate = bool(up_interpolate)
        self.stem_stride = _checked_stem_stride(self.max_stride, self.output_stride,
                                                stem_stride, self.stacks)

        all_strides = [2**i for i in range(log2_int(self.max_stride) + 1)]
        self.filters_at = {s: unet_filters(self.filters, self.filters_rate, s) for s in all_strides}

        self.stem = self._build_stem()
        has_stem = len(self.stem) > 0
        channels = self.filters_at[self.stem_stride // 2] if has_stem else self.in_channels

        stack_modules = []
        for k in range(self.stacks):
            stack = UNetStack(
                in_channels=channels,
                first_stride=self.stem_stride if k == 0 else self.output_stride,
                first_pool=k == 0 and has_stem,
                max_stride=self.max_stride,
                output_stride=self.output_stride,
                filters_at=self.filters_at,
                convs_per_block=self.convs_per_block,
                kernel_size=self.kernel_size,
                middle_block=self.middle_block,
                up_interpolate=self.up_interpolate,
            )
            stack_modules.append(stack)
            channels = stack.decoder.channels[self.output_stride]
        self.stack_modules = nn.ModuleList(stack_modules)
        self.feature_channels: dict[int, int] = dict(stack_modules[-1].decoder.channels)

    def _build_stem(self) -> nn.ModuleList:
        """The levels finer than ``stem_stride``: encoder blocks without skip connections."""
        stem: list[nn.Module] = []
        channels, stride = self.in_channels, 1
        while stride < self.stem_stride:
            stem.append(DownBlock(channels, self.filters_at[stride], self.convs_per_block,
                                  self.kernel_size, pool=bool(stem)))
            channels = self.filters_at[stride]
            stride *= 2
        return nn.ModuleList(stem)

    @property
    def strides(self) -> list[int]:
        """Strides at which features are available, coarsest first."""
        return sorted(self.feature_channels, reverse=True)

    def forward(self, x: Tensor) -> list[dict[int, Tensor]]:
        """Run all stacks; returns one ``{stride: features}`` dict per stack."""
        check_input_size(x, self.max_stride, self.in_channels, "UNet")
        for level in self.stem:
            x = level(x)
        outputs = []
        for stack in self.stack_modules:
            features = stack(x)
            outputs.append(features)
            x = features[self.output_stride]
        return outputs

    def receptive_field(self) -> int:
        """Receptive field (input pixels) of one output cell at ``output_stride``.

        Counts every convolution, pooling and ×2 upsampling (each upsampled value mixes two
        neighbouring coarse cells) on the path through the first stack's bottleneck and
        back: the side of the image square that can influence one output value.
        """
        field, jump = 1, 1
        grow = self.kernel_size - 1
        levels_total = log2_int(self.max_stride)
        for level in range(levels_total):
            if level > 0:
                field += jump  # 2x2 pool, stride 2
                jump *= 2
            field += self.convs_per_block * grow * jump
        field += jump  # last pool
        jump *= 2
        if self.middle_block:
            field += self.convs_per_block * grow * jump
        stride = self.max_stride
        while stride > self.output_stride:
            stride //= 2
            field += 2 * stride  # two coarse cells feed each upsampled cell
            field += self.convs_per_block * grow * stride
        return field
