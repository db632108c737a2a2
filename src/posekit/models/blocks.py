"""Building blocks shared by every backbone.

* :class:`ConvBlock` — ``n`` × (``k × k`` convolution with "same" padding + ReLU).
* :class:`UpBlock` — one decoder step: upsample ×2 (bilinear or a learned transposed
  convolution), concatenate the encoder's skip features (``[skip, upsampled]``, the channel
  order SLEAP uses), refine with a :class:`ConvBlock`.
* :class:`Decoder` — a chain of :class:`UpBlock` from ``max_stride`` down to
  ``output_stride`` that returns the features at *every* stride on the way, so heads with
  different output strides read their own level.
* small validation helpers shared by the backbone constructors.

Everything here is sequencing of modules; there is no data-dependent control flow, so the
blocks trace and compile cleanly and run in either memory format.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from posekit.errors import ConfigError

#: Kernel size of the learned (transposed-convolution) upsampling, as in SLEAP.
TRANSPOSED_KERNEL_SIZE = 3


def is_power_of_two(value: int) -> bool:
    """Whether ``value`` is a positive integer power of two (1, 2, 4, ...)."""
    return (
        isinstance(value, int)
        and not isinstance(value, bool)
        and value > 0
        and (value & (value - 1)) == 0
    )


def log2_int(value: int) -> int:
    """``log2`` of a power of two, as an exact integer."""
    return value.bit_length() - 1


def check_power_of_two(value: object, field: str, *, at_least: int = 1) -> int:
    """Validate a stride-like config value: an integer power of two ``>= at_least``."""
    if not is_power_of_two(value) or value < at_least:  # type: ignore[operator]
        raise ConfigError(
            f"{field}: got {value!r}; expected an integer power of two >= {at_least} "
            "(1, 2, 4, 8, 16, 32...). Strides halve the resolution once per level, so only "
            "powers of two are possible."
        )
    return int(value)  # type: ignore[arg-type]


def check_positive_int(value: object, field: str, *, at_least: int = 1) -> int:
    """Validate an integer config value ``>= at_least``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < at_least:
        raise ConfigError(f"{field}: got {value!r}; expected an integer >= {at_least}.")
    return value


def check_kernel_size(value: object, field: str) -> int:
    """Validate a convolution kernel size: a positive odd integer (symmetric padding)."""
    size = check_positive_int(value, field)
    if size % 2 == 0:
        raise ConfigError(
            f"{field}: got {size}; expected an odd kernel size (1, 3, 5, 7...) so the "
            "convolution keeps the feature map centred. Use 3 (the default) or 5."
        )
    return size


def check_filters_rate(value: object, field: str) -> float:
    """Validate a filters growth rate: a number > 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ConfigError(f"{field}: got {value!r}; expected a number > 0 (e.g. 1.5 or 2).")
    return float(value)


def check_input_size(x: Tensor, multiple: int, in_channels: int, name: str) -> None:
    """Raise a clear error when an input batch cannot go through a backbone.

    Only shapes are inspected (never values), so this adds no data-dependent control flow.
    """
    if x.dim() != 4 or x.shape[1] != in_channels:
        raise ConfigError(
            f"{name} input: got a tensor of shape {tuple(x.shape)}; expected (batch, "
            f"{in_channels}, height, width). Set in_channels to the number of image channels "
            "or convert the images (preprocessing.ensure_rgb / ensure_grayscale)."
        )
    height, width = int(x.shape[-2]), int(x.shape[-1])
    if height % multiple or width % multiple:
        raise ConfigError(
            f"{name} input: height and width must be multiples of max_stride={multiple}, got "
            f"{height}x{width}. Pad the images to a multiple of {multiple} (posekit's "
            "preprocessing does this) or choose a smaller max_stride."
        )


class ConvBlock(nn.Sequential):
    """``n_convs`` × (``kernel_size`` convolution with "same" padding, bias, ReLU).

    The first convolution maps ``in_channels`` to ``out_channels``; the rest keep
    ``out_channels``. Module indices alternate conv / ReLU (``0, 2, 4...`` are the convs).
    """

    def __init__(self, in_channels: int, out_channels: int, n_convs: int, kernel_size: int):
        layers: list[nn.Module] = []
        for i in range(n_convs):
            layers.append(
                nn.Conv2d(
                    in_channels if i == 0 else out_channels,
                    out_channels,
                    kernel_size,
                    padding=kernel_size // 2,
                )
            )
            layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)
        self.out_channels = out_channels

    @property
    def convs(self) -> list[nn.Conv2d]:
        """The convolution layers, in order."""
        return [m for m in self if isinstance(m, nn.Conv2d)]


class DownBlock(nn.Sequential):
    """An encoder level: optional 2×2 max-pool (stride 2) followed by a :class:`ConvBlock`."""

    def __init__(
        self, in_channels: int, out_channels: int, n_convs: int, kernel_size: int, pool: bool
    ):
        layers: list[nn.Module] = [nn.MaxPool2d(2, 2)] if pool else []
        layers.append(ConvBlock(in_channels, out_channels, n_convs, kernel_size))
        super().__init__(*layers)
        self.out_channels = out_channels

    @property
    def conv_block(self) -> ConvBlock:
        """The block's convolutions (after the pooling, if any)."""
        return self[-1]  # type: ignore[return-value]


class UpBlock(nn.Module):
    """One decoder step from stride ``2s`` to stride ``s``.

    ``interpolate=True``: bilinear ×2 upsampling (``align_corners=False``, i.e. half-pixel
    centres, the same as Keras' ``UpSampling2D(interpolation="bilinear")``).
    ``interpolate=False``: a 3×3 transposed convolution with stride 2 and ``out_channels``
    filters followed by ReLU. It reproduces TensorFlow's ``padding="same"`` exactly: the
    full ``2h + 1`` output is computed and the last row and column are dropped.

    When ``skip_channels > 0`` the encoder features at stride ``s`` are concatenated in
    front of the upsampled features before the refining :class:`ConvBlock`.
    """

    def __init__(
        self,
        in_channels: int,
        skip_channels: int,
        out_channels: int,
        n_convs: int,
        kernel_size: int,
        interpolate: bool,
    ):
        super().__init__()
        self.interpolate = interpolate
        self.has_skip = skip_channels > 0
        if interpolate:
            self.up: nn.ConvTranspose2d | None = None
            up_channels = in_channels
        else:
            self.up = nn.ConvTranspose2d(
                in_channels, out_channels, TRANSPOSED_KERNEL_SIZE, stride=2
            )
            up_channels = out_channels
        self.refine = ConvBlock(skip_channels + up_channels, out_channels, n_convs, kernel_size)
        self.out_channels = out_channels

    def upsample(self, x: Tensor) -> Tensor:
        """Double the spatial size of ``x``."""
        if self.up is None:
            return F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
        height, width = x.shape[-2], x.shape[-1]
        return F.relu(self.up(x), inplace=True)[..., : 2 * height, : 2 * width]

    def forward(self, x: Tensor, skip: Tensor) -> Tensor:
        """Upsample ``x``, join ``skip`` (ignored when the block has no skip), refine."""
        x = self.upsample(x)
        if self.has_skip:
            x = torch.cat([skip, x], dim=1)
        return self.refine(x)


class Decoder(nn.Module):
    """UNet-style decoder from ``max_stride`` to ``output_stride``.

    Args:
        in_channels: channels of the bottleneck features (stride ``max_stride``).
        max_stride: stride of the bottleneck.
        output_stride: the finest stride produced (``== max_stride`` means no blocks).
        skip_channels: encoder feature channels by stride; strides absent here get no skip.
        filters: output channels of the decoder block at each stride it produces.
        convs_per_block: refining convolutions per block.
        kernel_size: refining convolution kernel size.
        up_interpolate: bilinear upsampling (True) or transposed convolutions (False).

    ``forward(x, skips)`` returns ``{stride: features}`` for every stride from
    ``max_stride`` (the input itself) down to ``output_stride``.
    """

    def __init__(
        self,
        in_channels: int,
        max_stride: int,
        output_stride: int,
        skip_channels: dict[int, int],
        filters: dict[int, int],
        convs_per_block: int,
        kernel_size: int,
        up_interpolate: bool,
    ):
        super().__init__()
        self.max_stride = max_stride
        self.output_stride = output_stride
        self.strides: list[int] = []
        blocks = []
        channels = in_channels
        stride = max_stride
        while stride > output_stride:
            stride //= 2
            block = UpBlock(
                channels,
                skip_channels.get(stride, 0),
                filters[stride],
                convs_per_block,
                kernel_size,
                up_interpolate,
            )
            blocks.append(block)
            self.strides.append(stride)
            channels = block.out_channels
        self.blocks = nn.ModuleList(blocks)
        self.channels: dict[int, int] = {max_stride: in_channels}
        self.channels.update({s: b.out_channels for s, b in zip(self.strides, blocks)})

    def forward(self, x: Tensor, skips: dict[int, Tensor]) -> dict[int, Tensor]:
        """Decode ``x``; ``skips`` maps stride to encoder features (missing = no skip)."""
        features = {self.max_stride: x}
        for stride, block in zip(self.strides, self.blocks):
            x = block(x, skips[stride] if block.has_skip else x)
            features[stride] = x
        return features
