"""build_model, heads, PoseModel outputs, init_weights, count_parameters."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from posekit.config import HEAD_TYPES
from posekit.errors import ConfigError
from posekit.models import (
    ClassVectorHead,
    PoseModel,
    activate_outputs,
    count_parameters,
    init_weights,
)

from .model_heads import build, heads_of

CHANNELS = {"confmaps": 3, "pafs": 4, "class_maps": 2, "class_vectors": 2, "centroids": 1}


@pytest.mark.parametrize("head_type", HEAD_TYPES)
@pytest.mark.parametrize("backbone", ["unet", "convnext", "swint", "efficientnet_lite0"])
def test_every_model_type_on_every_backbone(model_config, head_type, backbone):
    config = model_config(head_type, backbone=backbone)
    heads = heads_of(config, CHANNELS)
    model = build(config, CHANNELS)
    assert isinstance(model, PoseModel)
    assert model.output_keys == [h.key for h in heads]
    assert model.in_channels == 1
    size = model.max_stride
    outputs = model(torch.rand(2, 1, 2 * size, size))
    assert set(outputs) == {h.key for h in heads}
    for key, value in outputs.items():
        if key == "class_vectors":
            assert value.shape == (2, CHANNELS[key])
            assert model.output_strides[key] == model.max_stride
        else:
            stride = model.output_strides[key]
            assert value.shape == (2, CHANNELS[key], 2 * size // stride, size // stride)


def test_heads_attach_at_their_own_strides(model_config):
    config = model_config("bottomup", heads={"stride": 2, "paf_stride": 8}, output_stride=2)
    model = build(config, {"confmaps": 5, "pafs": 6})
    assert model.output_strides == {"confmaps": 2, "pafs": 8}
    outputs = model(torch.rand(1, 1, 64, 32))
    assert outputs["confmaps"].shape == (1, 5, 32, 16)
    assert outputs["pafs"].shape == (1, 6, 8, 4)
    # each head is a 1x1 conv on the decoder features of its stride
    backbone_features = model.backbone(torch.zeros(1, 1, 64, 32))[-1]
    assert model.heads[0]["pafs"].in_channels == backbone_features[8].shape[1]
    assert model.heads[0]["pafs"].kernel_size == (1, 1)


def test_head_stride_not_produced_by_backbone_is_a_config_error(model_config):
    config = model_config("single_instance", heads={"stride": 1}, output_stride=2)
    with pytest.raises(ConfigError, match=r"single_instance\.confmaps\.output_stride: got 1"):
        build(config, {"confmaps": 2})
    config = model_config("single_instance", heads={"stride": 32}, max_stride=16)
    with pytest.raises(ConfigError, match="strides \\[2, 4, 8, 16\\]"):
        build(config, {"confmaps": 2})


def test_missing_or_bad_channel_counts(model_config):
    # no skeleton edge: no PAF channel
    with pytest.raises(ConfigError, match=r"bottomup\.pafs: needs 0 output channels"):
        build(model_config("bottomup"), {"confmaps": 2})
    with pytest.raises(ConfigError, match="class_maps: needs 0"):
        build(model_config("multi_class_bottomup"), {"confmaps": 2, "class_maps": 0})
    model = build(model_config("centroid"), {})  # one centroid map whatever the nodes
    assert model.heads[0]["centroids"].out_channels == 1


def test_class_vector_head_global_max_pool_and_fc_layers():
    torch.manual_seed(0)
    head = ClassVectorHead(4, 3, num_fc_layers=2, num_fc_units=5, global_pool=True)
    linears = [m for m in head.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(4, 5), (5, 5), (5, 3)]
    x = torch.randn(2, 4, 3, 3)
    pooled = x.amax(dim=(2, 3))
    h = torch.relu(linears[1](torch.relu(linears[0](pooled))))
    assert torch.allclose(head(x), linears[2](h), atol=1e-6)


def test_class_vector_head_without_pooling_needs_input_size(model_config):
    config = model_config("multi_class_topdown", heads={"global_pool": False, "num_fc_layers": 1})
    with pytest.raises(ConfigError, match="input_size"):
        build(config, {"confmaps": 2, "class_vectors": 3})
    model = build(config, {"confmaps": 2, "class_vectors": 3}, input_size=(64, 32))
    head = model.heads[0]["class_vectors"]
    # deepest features: 64 channels (4 * 2^4) on a 4 x 2 grid -> 512 inputs
    assert head.fc[0].in_features == 64 * 4 * 2
    assert model(torch.rand(2, 1, 64, 32))["class_vectors"].shape == (2, 3)


def test_stacked_unet_has_heads_per_stack(model_config):
    model = build(model_config("single_instance", stacks=2), {"confmaps": 2})
    assert model.stacks == 2 and len(model.heads) == 2
    x = torch.rand(1, 1, 32, 32)
    per_stack = model.forward_stacks(x)
    assert len(per_stack) == 2
    assert torch.equal(per_stack[-1]["confmaps"], model(x)["confmaps"])
    assert per_stack[0]["confmaps"].shape == per_stack[1]["confmaps"].shape == (1, 2, 16, 16)
    assert model.heads[0]["confmaps"] is not model.heads[1]["confmaps"]


def test_activate_outputs():
    outputs = {
        "confmaps": torch.tensor([[-1.0, 2.0]]),
        "class_maps": torch.tensor([[0.0, 100.0]]),
        "class_vectors": torch.tensor([[0.0, math.log(3.0)]]),
    }
    activated = activate_outputs(outputs)
    assert torch.equal(activated["confmaps"], outputs["confmaps"])
    assert torch.allclose(activated["class_maps"], torch.tensor([[0.5, 1.0]]))
    assert torch.allclose(activated["class_vectors"], torch.tensor([[0.25, 0.75]]))


def test_init_weights_xavier_and_default(model_config):
    torch.manual_seed(0)
    model = build(model_config("bottomup", init_weights="xavier"), CHANNELS)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    for conv in convs:
        assert torch.count_nonzero(conv.bias) == 0
        fan_in = conv.weight.shape[1] * conv.weight[0, 0].numel()
        fan_out = conv.weight.shape[0] * conv.weight[0, 0].numel()
        bound = math.sqrt(6.0 / (fan_in + fan_out))
        assert conv.weight.abs().max() <= bound
    big = convs[1]  # 4 -> 4 3x3: bound sqrt(6/72)
    assert big.weight.abs().max() > 0.5 * math.sqrt(6.0 / 72)

    init_weights(model, "default")
    for conv in convs:
        # PyTorch's default: kaiming_uniform(a=sqrt(5)) -> bound 1/sqrt(fan_in), biases too
        fan_in = conv.weight.shape[1] * conv.weight[0, 0].numel()
        assert conv.weight.abs().max() <= 1 / math.sqrt(fan_in) + 1e-7
        assert torch.count_nonzero(conv.bias) > 0
    with pytest.raises(ConfigError, match="init_weights: got 'he'"):
        init_weights(model, "he")
    with pytest.raises(ConfigError, match="init_weights"):
        build(model_config("bottomup", init_weights="normal"), CHANNELS)


def test_count_parameters_matches_hand_calculation(model_config):
    # UNet filters 2, rate 2, max_stride 4, output_stride 2 = 1746 (see test_unet) plus a
    # 1x1 head 4 -> 3 channels: 4*3 + 3.
    config = model_config("single_instance", filters=2, max_stride=4, output_stride=2)
    model = build(config, {"confmaps": 3})
    assert count_parameters(model) == 1746 + 15
    model.heads.requires_grad_(False)
    assert count_parameters(model, trainable_only=True) == 1746


def test_gradients_reach_every_parameter(model_config):
    torch.manual_seed(0)
    model = build(model_config("multi_class_topdown"), CHANNELS)
    outputs = model(torch.rand(2, 1, 32, 32))
    loss = outputs["confmaps"].square().mean() + outputs["class_vectors"].square().mean()
    loss.backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or p.grad.abs().sum() == 0]
    assert missing == []


@pytest.mark.parametrize(
    "backbone",
    [pytest.param(name, marks=pytest.mark.slow) for name in ("unet", "convnext")],
)
def test_forward_compiles_to_one_graph(model_config, backbone):
    model = build(model_config("bottomup", backbone=backbone), {"confmaps": 2, "pafs": 2})
    model.eval()
    # fullgraph=True fails on any graph break (data-dependent control flow, unsupported ops)
    compiled = torch.compile(model, fullgraph=True, backend="eager")
    x = torch.rand(1, 1, 64, 32)
    with torch.no_grad():
        assert torch.allclose(compiled(x)["pafs"], model(x)["pafs"], atol=1e-6)
