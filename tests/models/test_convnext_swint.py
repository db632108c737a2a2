"""ConvNeXt and Swin backbones: shapes, options, ImageNet weight mapping, offline errors."""

from __future__ import annotations

import urllib.error

import pytest
import torch
import torchvision
from torch import nn

from posekit.errors import ConfigError, ModelError
from posekit.models import (
    ConvNeXt,
    SwinT,
    adapt_stem_weight,
    load_torchvision_weights,
    map_torchvision_state,
)
from posekit.models.convnext import CONVNEXT_ARCHS
from posekit.models.encoder_levels import select_arch
from posekit.models.pretrained import check_weights_name, fetch_torchvision_state
from posekit.models.swint import SWINT_ARCHS

from .model_heads import build

SMALL_CONVNEXT = {"depths": [1, 1, 1, 1], "channels": [8, 16, 32, 64]}
SMALL_SWIN = {"embed": 8, "depths": [1, 2, 1, 1], "channels": [1, 2, 2, 4]}


@pytest.mark.parametrize(
    "options",
    [
        {"max_stride": 32, "output_stride": 2},
        {"max_stride": 32, "output_stride": 1, "up_interpolate": False},
        {"max_stride": 16, "output_stride": 4, "convs_per_block": 1},
        {"max_stride": 64, "output_stride": 8, "convs_per_block": 3},
        {"max_stride": 64, "output_stride": 4, "stem_patch_stride": 4, "stem_patch_kernel": 4},
    ],
)
def test_convnext_shapes(options):
    net = ConvNeXt(in_channels=1, arch=SMALL_CONVNEXT, **options)
    size = options["max_stride"]
    (features,) = net(torch.rand(1, 1, 2 * size, size))
    strides = sorted(features, reverse=True)
    assert strides[0] == options["max_stride"] and strides[-1] == options["output_stride"]
    s0 = options.get("stem_patch_stride", 2)
    for stride, tensor in features.items():
        assert tensor.shape == (1, net.feature_channels[stride], 2 * size // stride, size // stride)
        # filters = C0 * rate^log2(stride / s0)
        expected = int(8 * 2.0 ** ((stride.bit_length() - 1) - (s0.bit_length() - 1)))
        assert net.feature_channels[stride] == expected


@pytest.mark.parametrize(
    "options",
    [
        {"max_stride": 32, "output_stride": 2, "window_size": 3},
        {"max_stride": 16, "output_stride": 4, "window_size": 2, "up_interpolate": False},
        {"max_stride": 32, "output_stride": 1, "window_size": 5, "patch_size": 6},
    ],
)
def test_swint_shapes(options):
    net = SwinT(in_channels=3, arch=SMALL_SWIN, **options)
    size = options["max_stride"]
    (features,) = net(torch.rand(2, 3, size, 3 * size))
    for stride, tensor in features.items():
        assert tensor.shape == (2, net.feature_channels[stride], size // stride, 3 * size // stride)
    assert min(features) == options["output_stride"]


def test_swint_handles_sizes_that_are_not_window_multiples():
    # 96x160 input, stem stride 2: stages 48x80, 24x40, 12x20, 6x10; none is a multiple of 7
    net = SwinT(arch=SMALL_SWIN, window_size=7, max_stride=16, output_stride=4)
    (features,) = net(torch.rand(1, 1, 96, 160))
    assert features[4].shape[-2:] == (24, 40)
    features[4].mean().backward()
    assert net.features[0][0].weight.grad.abs().sum() > 0


def test_model_type_presets_and_arch_precedence():
    assert select_arch("small", None, CONVNEXT_ARCHS, ("depths", "channels"), "f") == {
        "depths": [3, 3, 27, 3],
        "channels": [96, 192, 384, 768],
    }
    assert select_arch("base", None, SWINT_ARCHS, ("embed", "depths", "channels"), "f") == {
        "embed": 128,
        "depths": [2, 2, 18, 2],
        "channels": [4, 8, 16, 32],
    }
    net = ConvNeXt(model_type="base", arch=SMALL_CONVNEXT, output_stride=32)
    assert net.channels == [8, 16, 32, 64]  # an explicit arch wins
    with pytest.raises(ConfigError, match="convnext.model_type"):
        ConvNeXt(model_type="huge")
    with pytest.raises(ConfigError, match=r"swint\.arch: missing embed"):
        SwinT(arch={"depths": [2, 2], "channels": [1, 2]})
    with pytest.raises(ConfigError, match="do not divide"):
        SwinT(arch={"embed": 10, "depths": [1, 1], "channels": [3, 6]}, max_stride=8)


def test_invalid_encoder_options():
    with pytest.raises(ConfigError, match="max_stride: got 8"):
        ConvNeXt(arch=SMALL_CONVNEXT, max_stride=8)  # last stage is already at stride 16
    with pytest.raises(ConfigError, match="stem_patch_kernel"):
        ConvNeXt(arch=SMALL_CONVNEXT, stem_patch_kernel=3, stem_patch_stride=2)
    with pytest.raises(ConfigError, match="output_stride"):
        SwinT(arch=SMALL_SWIN, output_stride=64, max_stride=32)


@pytest.mark.slow
def test_convnext_weight_mapping_puts_every_encoder_tensor_in_place():
    torch.manual_seed(0)
    tv_state = torchvision.models.convnext_tiny(weights=None).state_dict()
    net = ConvNeXt(in_channels=1, model_type="tiny", max_stride=32, output_stride=32)
    report = load_torchvision_weights(net, "ConvNeXt_Tiny_Weights", "convnext", state=tv_state)
    ours = net.state_dict()
    assert report.missing == []
    assert sorted(name for name, _ in report.skipped) == [
        "classifier.2.bias",
        "classifier.2.weight",
    ]
    for name, value in tv_state.items():
        if name.startswith("features.") and name != "features.0.0.weight":
            assert torch.equal(ours[name], value), name
    assert torch.equal(ours["norm.weight"], tv_state["classifier.0.weight"])
    assert torch.equal(ours["norm.bias"], tv_state["classifier.0.bias"])
    # grey stem = sum of the RGB filters
    assert torch.equal(
        ours["features.0.0.weight"], tv_state["features.0.0.weight"].sum(1, keepdim=True)
    )


def test_convnext_with_torchvision_stem_computes_torchvision_features():
    torch.manual_seed(0)
    tv_arch = {"depths": [1, 2, 1, 1], "channels": [8, 16, 32, 64]}
    blocks = [
        torchvision.models.convnext.CNBlockConfig(8, 16, 1),
        torchvision.models.convnext.CNBlockConfig(16, 32, 2),
        torchvision.models.convnext.CNBlockConfig(32, 64, 1),
        torchvision.models.convnext.CNBlockConfig(64, None, 1),
    ]
    reference = torchvision.models.convnext.ConvNeXt(blocks).eval()
    net = ConvNeXt(
        in_channels=3,
        arch=tv_arch,
        stem_patch_kernel=4,
        stem_patch_stride=4,
        max_stride=32,
        output_stride=32,
    ).eval()
    report = load_torchvision_weights(
        net, "ConvNeXt_Tiny_Weights", "convnext", state=reference.state_dict()
    )
    assert report.missing == []
    x = torch.rand(1, 3, 64, 96)
    with torch.no_grad():
        expected = reference.classifier[0](reference.features(x))
        stages = net.encode(x)
    assert torch.allclose(stages[-1], expected, atol=1e-5)


@pytest.mark.slow
def test_swin_weight_mapping_puts_every_encoder_tensor_in_place():
    torch.manual_seed(0)
    tv_state = torchvision.models.swin_t(weights=None).state_dict()
    net = SwinT(in_channels=3, model_type="tiny", max_stride=32, output_stride=32)
    report = load_torchvision_weights(net, "Swin_T_Weights", "swint", state=tv_state)
    ours = net.state_dict()
    assert report.missing == []
    assert sorted(name for name, _ in report.skipped) == ["head.bias", "head.weight"]
    for name, value in tv_state.items():
        if name.startswith(("features.", "norm.")):
            assert torch.equal(ours[name], value), name  # in_channels 3: stem copied as is


def test_swin_other_window_keeps_its_own_position_tables():
    reference = torchvision.models.SwinTransformer(
        patch_size=[4, 4],
        embed_dim=8,
        depths=[1, 2, 1, 1],
        num_heads=[1, 2, 2, 4],
        window_size=[7, 7],
    )
    tv_state = reference.state_dict()
    net = SwinT(in_channels=1, arch=SMALL_SWIN, window_size=8, max_stride=32, output_stride=32)
    report = load_torchvision_weights(net, "Swin_T_Weights", "swint", state=tv_state)
    skipped = {name for name, _ in report.skipped}
    assert "features.1.0.attn.relative_position_bias_table" in skipped
    assert "features.1.0.attn.relative_position_bias_table" in report.missing
    assert "features.1.0.attn.qkv.weight" in report.loaded


def test_grey_stem_equals_rgb_stem_on_a_replicated_grey_image():
    weight = torch.randn(5, 3, 4, 4)
    grey = torch.rand(1, 1, 8, 8)
    rgb = grey.expand(-1, 3, -1, -1)
    one = nn.functional.conv2d(grey, adapt_stem_weight(weight, 1))
    three = nn.functional.conv2d(rgb, weight)
    assert torch.allclose(one, three, atol=1e-5)
    two = nn.functional.conv2d(grey.expand(-1, 2, -1, -1), adapt_stem_weight(weight, 2))
    assert torch.allclose(two, three, atol=1e-5)
    assert torch.equal(adapt_stem_weight(weight, 3), weight)


def test_map_torchvision_state_renames_final_norm():
    state = {
        "features.0.0.weight": torch.ones(2, 3, 1, 1),
        "classifier.0.bias": torch.zeros(2),
        "classifier.2.weight": torch.zeros(1, 2),
    }
    mapped, unused = map_torchvision_state(state, "convnext", 1)
    assert set(mapped) == {"features.0.0.weight", "norm.bias"}
    assert torch.equal(mapped["features.0.0.weight"], torch.full((2, 1, 1, 1), 3.0))
    assert [name for name, _ in unused] == ["classifier.2.weight"]


def test_weights_name_must_match_backbone_and_arch():
    arch = {"depths": [3, 3, 9, 3], "channels": [96, 192, 384, 768]}
    check_weights_name("ConvNeXt_Tiny_Weights", "convnext", arch, "f")
    with pytest.raises(ConfigError, match="expected one of ConvNeXt_Tiny_Weights"):
        check_weights_name("Swin_T_Weights", "convnext", arch, "f")
    with pytest.raises(ConfigError, match="trained with depths=\\[3, 3, 27, 3\\]"):
        check_weights_name("ConvNeXt_Base_Weights", "convnext", arch, "f")


def test_download_failure_is_a_clear_model_error(monkeypatch):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    with pytest.raises(ModelError, match="could not download .*convnext_tiny.*hub"):
        fetch_torchvision_state("ConvNeXt_Tiny_Weights")


def test_build_model_loads_imagenet_weights_through_torchvision(model_config, monkeypatch):
    """The config path: name check, fetch (mocked: no network in tests), mapping."""
    from posekit.models import pretrained

    small = [
        torchvision.models.convnext.CNBlockConfig(8, 16, 1),
        torchvision.models.convnext.CNBlockConfig(16, 32, 1),
        torchvision.models.convnext.CNBlockConfig(32, 64, 1),
        torchvision.models.convnext.CNBlockConfig(64, None, 1),
    ]
    tv_state = torchvision.models.convnext.ConvNeXt(small).state_dict()
    monkeypatch.setitem(
        pretrained.TORCHVISION_WEIGHTS, "ConvNeXt_Tiny_Weights", ("convnext", SMALL_CONVNEXT)
    )
    fetched = []
    monkeypatch.setattr(
        pretrained, "fetch_torchvision_state", lambda n: fetched.append(n) or tv_state
    )
    config = model_config(
        "single_instance", backbone="convnext", pre_trained_weights="ConvNeXt_Tiny_Weights"
    )
    model = build(config, {"confmaps": 2})
    assert fetched == ["ConvNeXt_Tiny_Weights"]
    (report,) = model.weight_reports
    assert report.missing == []
    assert torch.equal(
        model.backbone.features[3][0].block[0].weight, tv_state["features.3.0.block.0.weight"]
    )
    # pretrained=False: names are still checked, nothing is fetched
    assert build(config, {"confmaps": 2}, pretrained=False).weight_reports == []
    assert fetched == ["ConvNeXt_Tiny_Weights"]
    bad = model_config("single_instance", backbone="convnext", pre_trained_weights="Swin_T_Weights")
    with pytest.raises(ConfigError, match="pre_trained_weights: got 'Swin_T_Weights'"):
        build(bad, {"confmaps": 2}, pretrained=False)
