"""UNet: output strides/shapes for every option, hand-counted parameters, errors, stacks."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from posekit.errors import ConfigError
from posekit.models import UNet, count_parameters, unet_filters
from posekit.models.blocks import UpBlock


def conv_params(c_in: int, c_out: int, k: int = 3) -> int:
    return k * k * c_in * c_out + c_out


@pytest.mark.parametrize(
    "options",
    [
        {"max_stride": 16, "output_stride": 2},
        {"max_stride": 8, "output_stride": 1},
        {"max_stride": 32, "output_stride": 4},
        {"max_stride": 16, "output_stride": 16},
        {"max_stride": 16, "output_stride": 2, "up_interpolate": False},
        {"max_stride": 16, "output_stride": 2, "middle_block": False},
        {"max_stride": 8, "output_stride": 2, "convs_per_block": 1},
        {"max_stride": 8, "output_stride": 2, "convs_per_block": 3},
        {"max_stride": 16, "output_stride": 2, "stem_stride": 4},
        {"max_stride": 16, "output_stride": 8, "stem_stride": 2, "up_interpolate": False},
        {"max_stride": 16, "output_stride": 2, "kernel_size": 5},
    ],
)
def test_features_at_every_stride(options):
    filters, rate = 4, 1.5
    net = UNet(in_channels=1, filters=filters, filters_rate=rate, **options)
    x = torch.rand(2, 1, 64, 96)
    (features,) = net(x)
    max_stride, output_stride = options["max_stride"], options["output_stride"]
    expected_strides = [s for s in (32, 16, 8, 4, 2, 1) if output_stride <= s <= max_stride]
    assert sorted(features, reverse=True) == expected_strides == net.strides
    for stride, tensor in features.items():
        assert tensor.shape == (2, net.feature_channels[stride], 64 // stride, 96 // stride)
        if stride < max_stride:  # decoder levels mirror the encoder's filter counts
            assert net.feature_channels[stride] == int(filters * rate ** (stride.bit_length() - 1))
    bottleneck = features[max_stride].shape[1]
    if options.get("middle_block", True):
        assert bottleneck == unet_filters(filters, rate, max_stride)
    else:
        assert bottleneck == unet_filters(filters, rate, max_stride // 2)


def test_filters_truncate_like_sleap():
    assert [unet_filters(8, 1.5, s) for s in (1, 2, 4, 8, 16)] == [8, 12, 18, 27, 40]
    assert [unet_filters(16, 1.5, s) for s in (1, 2, 4, 8)] == [16, 24, 36, 54]


def test_parameter_count_matches_hand_calculation():
    # filters 2, rate 2, max_stride 4, output_stride 2, 2 convs per block, 3x3, interpolation.
    net = UNet(in_channels=1, filters=2, filters_rate=2, max_stride=4, output_stride=2)
    expected = (
        conv_params(1, 2)
        + conv_params(2, 2)  # level at stride 1
        + conv_params(2, 4)
        + conv_params(4, 4)  # level at stride 2
        + conv_params(4, 8)
        + conv_params(8, 8)  # middle expand + contract at stride 4
        + conv_params(4 + 8, 4)
        + conv_params(4, 4)  # decoder s4 -> s2: [skip 4, up 8] -> 4
    )
    assert expected == 1746
    assert count_parameters(net) == expected


def test_parameter_count_transposed_conv_and_no_middle_block():
    net = UNet(
        in_channels=3,
        filters=2,
        filters_rate=2,
        max_stride=4,
        output_stride=1,
        middle_block=False,
        up_interpolate=False,
        convs_per_block=1,
    )
    expected = (
        conv_params(3, 2)  # stride 1
        + conv_params(2, 4)  # stride 2; pooled to stride 4 with 4 channels, no middle block
        + (9 * 4 * 4 + 4)
        + conv_params(4 + 4, 4)  # s4->s2: transposed conv 4->4, refine
        + (9 * 4 * 2 + 2)
        + conv_params(2 + 2, 2)  # s2->s1: transposed conv 4->2, refine
    )
    assert count_parameters(net) == expected


def test_receptive_field_hand_calculation():
    # max_stride 4, output_stride 4, 2 convs 3x3, middle block:
    # stride-1 convs +2+2 -> 5; pool +1 -> 6 (jump 2); convs +4+4 -> 14; pool +2 -> 16
    # (jump 4); middle convs +8+8 -> 32.
    net = UNet(filters=2, max_stride=4, output_stride=4)
    assert net.receptive_field() == 32
    # one decoder step to stride 2 adds 2*2 (upsampling) + 2*2*2 (refine convs).
    assert UNet(filters=2, max_stride=4, output_stride=2).receptive_field() == 32 + 4 + 8


def test_stem_levels_have_no_skip_connections():
    net = UNet(filters=4, filters_rate=2, max_stride=16, output_stride=1, stem_stride=4)
    decoder = net.stack_modules[0].decoder
    skips = {s: b.has_skip for s, b in zip(decoder.strides, decoder.blocks)}
    assert skips == {8: True, 4: True, 2: False, 1: False}
    assert len(net.stem) == 2
    # same pooling steps as without a stem: log2(16) = 4 in all
    pools = sum(isinstance(m, nn.MaxPool2d) for m in net.modules())
    assert pools == 4


def test_stacks_return_one_feature_dict_per_stack():
    net = UNet(filters=4, filters_rate=2, max_stride=16, output_stride=4, stacks=3)
    outputs = net(torch.rand(1, 1, 64, 64))
    assert len(outputs) == 3
    for features in outputs:
        assert {s: t.shape[-1] for s, t in features.items()} == {16: 4, 8: 8, 4: 16}
    # later stacks re-encode from output_stride: levels at strides 4 and 8 only
    assert net.stack_modules[1].level_strides == [4, 8]
    assert net.stack_modules[0].level_strides == [1, 2, 4, 8]
    # the stacks are different computations (separate weights)
    assert not torch.equal(outputs[0][4], outputs[1][4])


def test_transposed_conv_matches_tensorflow_same_padding():
    # TF "same" transposed conv, stride 2, k 3: y[2i + a] += w[a] x[i] for a in 0..2, cropped
    # to 2n. A single impulse at input (1, 1) must land at output rows/cols 2..4.
    block = UpBlock(1, 0, 1, 1, 3, interpolate=False)
    with torch.no_grad():
        block.up.weight.copy_(torch.arange(1.0, 10.0).reshape(1, 1, 3, 3))
        block.up.bias.zero_()
        x = torch.zeros(1, 1, 3, 3)
        x[0, 0, 1, 1] = 1.0
        y = block.upsample(x)
    assert y.shape == (1, 1, 6, 6)
    expected = torch.zeros(6, 6)
    expected[2:5, 2:5] = torch.arange(1.0, 10.0).reshape(3, 3)
    assert torch.equal(y[0, 0], expected)


def test_channels_last_gives_same_result_and_gradients_flow():
    torch.manual_seed(0)
    net = UNet(filters=4, filters_rate=2, max_stride=8, output_stride=2, up_interpolate=False)
    x = torch.rand(2, 1, 32, 32)
    reference = net(x)[-1][2]
    net_cl = net.to(memory_format=torch.channels_last)
    out = net_cl(x.contiguous(memory_format=torch.channels_last))[-1][2]
    assert torch.allclose(out, reference, atol=1e-5)
    out.square().mean().backward()
    grads = [p.grad for p in net.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert all(g.abs().sum() > 0 for g in grads)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"max_stride": 12}, "max_stride"),
        ({"max_stride": 1}, "max_stride"),
        ({"output_stride": 32, "max_stride": 16}, "output_stride"),
        ({"stem_stride": 16, "max_stride": 16}, "stem_stride"),
        ({"stem_stride": 3}, "stem_stride"),
        ({"kernel_size": 4}, "kernel_size"),
        ({"convs_per_block": 0}, "convs_per_block"),
        ({"filters_rate": 0}, "filters_rate"),
        ({"stacks": 2, "output_stride": 16, "max_stride": 16}, "stacks"),
    ],
)
def test_invalid_options_name_the_field(kwargs, field):
    with pytest.raises(ConfigError, match=rf"backbone_config\.unet\.{field}"):
        UNet(**kwargs)


def test_input_not_multiple_of_max_stride_is_a_clear_error():
    net = UNet(filters=2, max_stride=16, output_stride=4)
    with pytest.raises(ConfigError, match="multiples of max_stride=16"):
        net(torch.rand(1, 1, 40, 48))
    with pytest.raises(ConfigError, match="in_channels"):
        net(torch.rand(1, 3, 32, 32))
