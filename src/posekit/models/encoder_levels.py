"""What ConvNeXt and Swin share: arch selection, the patch stem check, the extra pooled
levels above the last stage and the UNet-style decoder wiring.

Both transformer-era encoders produce four stages at strides ``s0, 2·s0, 4·s0, 8·s0``
(``s0 = stem_patch_stride``). When ``max_stride`` is coarser than the last stage, extra
levels (2×2 max-pool + ``convs_per_block`` × (conv + ReLU)) continue the pyramid up to
``max_stride`` — with ``s0 = 2`` and ``max_stride = 32`` that is one level, the same
pool + middle block sleap-nn appends. The decoder then climbs back to ``output_stride``
with skip connections from every stage output.

Filters at stride ``s`` (extra levels and decoder blocks):
``int(C0 · filters_rate^log2(s / s0))`` where ``C0`` is the first stage's width — with the
default ``filters_rate = 2`` the decoder mirrors the encoder's channel doubling exactly.
"""

from __future__ import annotations

from collections.abc import Mapping

from torch import Tensor, nn

from posekit.errors import ConfigError
from posekit.models.blocks import (
    Decoder,
    DownBlock,
    check_filters_rate,
    check_kernel_size,
    check_positive_int,
    check_power_of_two,
    log2_int,
)


def select_arch(
    model_type: str | None,
    arch: Mapping[str, object] | object | None,
    presets: dict[str, dict[str, object]],
    keys: tuple[str, ...],
    field: str,
) -> dict[str, object]:
    """Return the architecture: ``arch`` when given (dict or dataclass), else the preset.

    An explicit ``arch`` wins over ``model_type`` (``model_type`` has a default, so it
    cannot signal intent on its own).
    """
    if arch is not None:
        values = {
            key: (arch.get(key) if isinstance(arch, Mapping) else getattr(arch, key, None))
            for key in keys
        }
        missing = [key for key, value in values.items() if value is None]
        if missing:
            raise ConfigError(
                f"{field}.arch: missing {', '.join(missing)}; expected all of "
                f"{', '.join(keys)}. Give the full arch or set arch: null and use model_type."
            )
        return values
    if model_type not in presets:
        raise ConfigError(
            f"{field}.model_type: got {model_type!r}; expected one of "
            f"{', '.join(repr(k) for k in presets)}. Or give an explicit arch."
        )
    return dict(presets[model_type])


def check_stem(kernel: object, stride: object, field_kernel: str, field_stride: str) -> int:
    """Validate a patch stem; returns the symmetric padding giving exactly ``H / stride``."""
    stride = check_power_of_two(stride, field_stride)
    kernel = check_positive_int(kernel, field_kernel)
    if kernel < stride or (kernel - stride) % 2:
        raise ConfigError(
            f"{field_kernel}: got {kernel} with {field_stride.rsplit('.', 1)[-1]}={stride}; "
            "expected a kernel >= the stride and differing from it by an even number "
            f"(e.g. {stride}, {stride + 2}) so the stem output is exactly 1/{stride} of the "
            "input."
        )
    return (kernel - stride) // 2


class PyramidTop(nn.Module):
    """Extra pooled levels above an encoder's last stage plus the UNet-style decoder.

    Args:
        stage_channels: channels of each encoder stage output, finest first.
        first_stride: stride of the first stage output (the stem stride).
        max_stride, output_stride, kernel_size, filters_rate, convs_per_block,
        up_interpolate: the backbone options.
        field: config path used in error messages.
    """

    def __init__(
        self,
        stage_channels: list[int],
        first_stride: int,
        max_stride: object,
        output_stride: object,
        kernel_size: object,
        filters_rate: object,
        convs_per_block: object,
        up_interpolate: bool,
        field: str,
    ):
        super().__init__()
        kernel_size = check_kernel_size(kernel_size, f"{field}.kernel_size")
        filters_rate = check_filters_rate(filters_rate, f"{field}.filters_rate")
        convs_per_block = check_positive_int(convs_per_block, f"{field}.convs_per_block")
        output_stride = check_power_of_two(output_stride, f"{field}.output_stride")
        max_stride = check_power_of_two(max_stride, f"{field}.max_stride", at_least=2)
        last_stride = first_stride * 2 ** (len(stage_channels) - 1)
        if max_stride < last_stride:
            raise ConfigError(
                f"{field}.max_stride: got {max_stride}, but the encoder's last stage is "
                f"already at stride {last_stride} (stem stride {first_stride} × "
                f"2^{len(stage_channels) - 1}); expected max_stride >= {last_stride}. "
                f"Set max_stride: {2 * last_stride} (one extra level, the usual choice)."
            )
        if output_stride > max_stride:
            raise ConfigError(
                f"{field}.output_stride: got {output_stride}, larger than max_stride="
                f"{max_stride}; expected output_stride <= max_stride."
            )
        self.max_stride = max_stride
        self.output_stride = output_stride
        self.decoder_kernel = kernel_size
        self.convs_per_block = convs_per_block
        self.stage_strides = [first_stride * 2**i for i in range(len(stage_channels))]
        c0 = stage_channels[0]

        def filters(stride: int) -> int:
            return int(c0 * filters_rate ** (log2_int(stride) - log2_int(first_stride)))

        extra = []
        channels = stage_channels[-1]
        stride = last_stride
        while stride < max_stride:
            stride *= 2
            extra.append(DownBlock(channels, filters(stride), convs_per_block, kernel_size, True))
            channels = filters(stride)
        self.extra = nn.ModuleList(extra)

        decoder_strides = []
        stride = max_stride
        while stride > output_stride:
            stride //= 2
            decoder_strides.append(stride)
        self.decoder = Decoder(
            in_channels=channels,
            max_stride=max_stride,
            output_stride=output_stride,
            skip_channels={
                s: c for s, c in zip(self.stage_strides, stage_channels) if s < max_stride
            },
            filters={s: filters(s) for s in decoder_strides},
            convs_per_block=convs_per_block,
            kernel_size=kernel_size,
            up_interpolate=up_interpolate,
        )
        self.feature_channels: dict[int, int] = dict(self.decoder.channels)

    def forward(self, stages: list[Tensor]) -> dict[int, Tensor]:
        """From the stage outputs (finest first) to ``{stride: features}``."""
        x = stages[-1]
        for level in self.extra:
            x = level(x)
        skips = dict(zip(self.stage_strides, stages))
        return self.decoder(x, skips)


def attach_top(encoder: nn.Module, stage_channels: list[int], first_stride: int,
               field: str, **options: object) -> None:
    """Give ``encoder`` its :class:`PyramidTop` (``options``: max_stride, output_stride,
    kernel_size, filters_rate, convs_per_block, up_interpolate) and the attributes every
    backbone exposes: ``top``, ``max_stride``, ``output_stride``, ``feature_channels`` and
    ``stacks`` (1)."""
    options["up_interpolate"] = bool(options["up_interpolate"])
    encoder.top = PyramidTop(stage_channels=stage_channels, first_stride=first_stride,
                             field=field, **options)
    encoder.max_stride = encoder.top.max_stride
    encoder.output_stride = encoder.top.output_stride
    encoder.feature_channels = encoder.top.feature_channels
    encoder.stacks = 1
