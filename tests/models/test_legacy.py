"""SLEAP 1.x UNet weights: our UNet reproduces TensorFlow's recorded outputs."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
import torch

from posekit.config import (
    BackboneConfig,
    ClassMapConfig,
    ClassVectorsConfig,
    HeadConfigs,
    ModelConfig,
    UNetConfig,
    schema,
)
from posekit.errors import ModelError
from posekit.models import (
    activate_outputs,
    load_sleap_h5_weights,
    read_keras_h5,
    read_sleap_input_channels,
)
from posekit.models.legacy import SLEAP_HEAD_NAMES

from .model_heads import build

MODELS = [
    "minimal_robot.UNet.single_instance",
    "minimal_instance.UNet.centroid",
    "minimal_instance.UNet.centered_instance",
    "minimal_instance.UNet.bottomup",
    "min_tracks_2node.UNet.bottomup_multiclass",
    "min_tracks_2node.UNet.topdown_multiclass",
]
SLEAP_TO_KEY = {name: key for key, names in SLEAP_HEAD_NAMES.items() for name in names}


def model_config_from_json(path):
    """Our ModelConfig for a SLEAP training_config.json (read directly, no converter)."""
    legacy = json.loads(path.read_text())["model"]
    unet = legacy["backbone"]["unet"]
    backbone = UNetConfig(
        filters=unet["filters"],
        filters_rate=unet["filters_rate"],
        max_stride=unet["max_stride"],
        output_stride=unet["output_stride"],
        stem_stride=unet["stem_stride"],
        middle_block=unet["middle_block"],
        up_interpolate=unet["up_interpolate"],
        stacks=unet["stacks"],
    )
    heads = {name: value for name, value in legacy["heads"].items() if value}
    ((head_type, head),) = heads.items()
    if head_type == "single_instance":
        cfg = schema.SingleInstanceConfig(
            schema.SingleInstanceConfMapsConfig(output_stride=head["output_stride"])
        )
    elif head_type == "centroid":
        cfg = schema.CentroidConfig(
            schema.CentroidConfMapsConfig(output_stride=head["output_stride"])
        )
    elif head_type == "centered_instance":
        cfg = schema.CenteredInstanceConfig(
            schema.CenteredInstanceConfMapsConfig(output_stride=head["output_stride"])
        )
    elif head_type == "multi_instance":
        head_type = "bottomup"
        cfg = schema.BottomUpConfig(
            schema.BottomUpConfMapsConfig(output_stride=head["confmaps"]["output_stride"]),
            schema.PAFConfig(output_stride=head["pafs"]["output_stride"]),
        )
    elif head_type == "multi_class_bottomup":
        cfg = schema.MultiClassBottomUpConfig(
            schema.BottomUpConfMapsConfig(output_stride=head["confmaps"]["output_stride"]),
            ClassMapConfig(output_stride=head["class_maps"]["output_stride"]),
        )
    else:
        vectors = head["class_vectors"]
        cfg = schema.MultiClassTopDownConfig(
            schema.CenteredInstanceConfMapsConfig(output_stride=head["confmaps"]["output_stride"]),
            ClassVectorsConfig(
                num_fc_layers=vectors["num_fc_layers"],
                num_fc_units=vectors["num_fc_units"],
                global_pool=vectors["global_pool"],
            ),
        )
    return ModelConfig(
        backbone_config=BackboneConfig(unet=backbone), head_configs=HeadConfigs(**{head_type: cfg})
    )


def recorded_outputs(path):
    """``(input shape NHWC, {output key: array NHWC / (N, classes)})`` from the h5."""
    with h5py.File(path, "r") as handle:
        metadata = json.loads(handle["metadata"][()])
        outputs = {}
        for name in handle:
            base = name.removesuffix("_0")
            if base in SLEAP_TO_KEY:
                outputs[SLEAP_TO_KEY[base]] = handle[name][()]
    return metadata["input_shape"], outputs


@pytest.mark.parametrize("name", MODELS)
def test_reproduces_tensorflow_outputs(shared_data, name):
    folder = shared_data / "legacy_sleap_models" / name
    input_shape, expected = recorded_outputs(folder / "dummy_activations.h5")
    config = model_config_from_json(folder / "training_config.json")
    # SLEAP configs do not record the image channels; the first kernel does
    assert read_sleap_input_channels(folder / "best_model.h5") == input_shape[3]
    config.backbone_config.unet.in_channels = input_shape[3]
    channels = {key: value.shape[-1] for key, value in expected.items()}
    model = build(config, channels).eval()
    report = load_sleap_h5_weights(model, folder / "best_model.h5")
    assert report.missing == []
    assert all(layer.startswith("OffsetRefinementHead") for layer, _ in report.skipped)

    n, h, w, c = input_shape
    with torch.no_grad():
        outputs = activate_outputs(model(torch.zeros(n, c, h, w)))
    assert set(outputs) == set(expected)
    for key, reference in expected.items():
        ours = outputs[key].numpy()
        if ours.ndim == 4:
            ours = ours.transpose(0, 2, 3, 1)  # NCHW -> NHWC
        assert ours.shape == reference.shape
        np.testing.assert_allclose(ours, reference, atol=1e-4, rtol=0)


def test_h5_as_pretrained_weights_via_config(shared_data):
    import dataclasses

    folder = shared_data / "legacy_sleap_models" / "minimal_instance.UNet.centroid"
    config = model_config_from_json(folder / "training_config.json")
    h5 = str(folder / "best_model.h5")
    config = dataclasses.replace(config, pretrained_backbone_weights=h5)
    model = build(config, {"centroids": 1})
    (report,) = model.weight_reports
    assert report.n_loaded == 22 and report.missing == []  # 11 convs; heads left alone
    layers = read_keras_h5(h5)
    kernel = layers["stack0_enc0_conv0"]["kernel"]  # (kh, kw, in, out)
    ours = model.backbone.stack_modules[0].levels[0].conv_block.convs[0].weight
    assert torch.equal(ours, torch.from_numpy(kernel).permute(3, 2, 0, 1))


def test_h5_with_other_architecture_is_a_model_error(shared_data, model_config):
    folder = shared_data / "legacy_sleap_models" / "minimal_instance.UNet.centroid"
    config = model_config("centroid", heads={"stride": 4}, filters=5, max_stride=8, output_stride=4)
    model = build(config, {})
    with pytest.raises(ModelError, match="no SLEAP layer matched"):
        load_sleap_h5_weights(model, folder / "best_model.h5", part="backbone")


def write_keras_h5(path, layers):
    """Write ``{layer: {"kernel": array, "bias": array}}`` in Keras' full-model h5 layout."""
    with h5py.File(path, "w") as handle:
        root = handle.create_group("model_weights")
        root.attrs["layer_names"] = [name.encode() for name in ["input", *layers]]
        handle["model_weights"].create_group("input").attrs["weight_names"] = []
        for name, weights in layers.items():
            group = root.create_group(name)
            names = [f"{name}/{w}:0" for w in weights]
            group.attrs["weight_names"] = [n.encode() for n in names]
            for weight_name, value in zip(names, weights.values()):
                group.create_dataset(weight_name, data=value)


def to_keras(tensor, kind, in_hw=None):
    """Inverse of the loader's kernel conversion (the Keras layouts)."""
    if kind == "conv":
        return tensor.permute(2, 3, 1, 0).numpy()
    if kind == "flat":
        out = tensor.shape[0]
        channels = tensor.shape[1] // (in_hw[0] * in_hw[1])
        return tensor.reshape(out, channels, *in_hw).permute(2, 3, 1, 0).reshape(-1, out).numpy()
    return tensor.t().numpy()


def test_round_trip_through_keras_layout_with_flattened_class_vectors(model_config, tmp_path):
    """Every layer kind, including the (h, w, c) -> (c, h, w) reorder after Flatten."""
    torch.manual_seed(0)
    config = model_config(
        "multi_class_topdown",
        heads={"global_pool": False, "num_fc_layers": 2},
        filters=4,
        filters_rate=1.5,
        max_stride=8,
        output_stride=2,
        up_interpolate=False,
    )
    channels = {"confmaps": 3, "class_vectors": 2}
    source = build(config, channels, input_size=(32, 48))
    unet = source.backbone.stack_modules[0]
    layers = {}

    def add(name, module, kind="conv", in_hw=None):
        layers[name] = {
            "kernel": to_keras(module.weight.detach(), kind, in_hw),
            "bias": module.bias.detach().numpy(),
        }

    for i, level in enumerate(unet.levels):
        for j, conv in enumerate(level.conv_block.convs):
            add(f"stack0_enc{i}_conv{j}", conv)
    add("stack0_enc4_middle_expand_conv0", unet.middle[0].convs[0])
    add("stack0_enc5_middle_contract_conv0", unet.middle[1].convs[0])
    for b, (stride, block) in enumerate(zip(unet.decoder.strides, unet.decoder.blocks)):
        prefix = f"stack0_dec{b}_s{2 * stride}_to_s{stride}"
        add(f"{prefix}_trans_conv", block.up)  # (in, out, kh, kw) -> (kh, kw, out, in)
        for j, conv in enumerate(block.refine.convs):
            add(f"{prefix}_refine_conv{j}", conv)
    add("CenteredInstanceConfmapsHead_0", source.heads[0]["confmaps"])
    head = source.heads[0]["class_vectors"]
    add("pre_classification0_fc", head.fc[0], "flat", head.in_hw)
    add("pre_classification1_fc", head.fc[2], "dense")
    add("ClassVectorsHead", head.classifier, "dense")
    layers["OffsetRefinementHead_0"] = {"kernel": np.zeros((1, 1, 6, 4), np.float32)}
    path = tmp_path / "best_model.h5"
    write_keras_h5(path, layers)

    torch.manual_seed(1)
    target = build(config, channels, input_size=(32, 48))
    report = load_sleap_h5_weights(target, path)
    assert report.missing == []
    assert [name for name, _ in report.skipped] == ["OffsetRefinementHead_0"]
    x = torch.rand(2, 1, 32, 48)
    with torch.no_grad():
        expected, ours = source(x), target(x)
    for key in expected:
        assert torch.allclose(ours[key], expected[key], atol=1e-6), key

    # only the heads, then only the backbone
    torch.manual_seed(2)
    partial = build(config, channels, input_size=(32, 48))
    heads_report = load_sleap_h5_weights(partial, path, part="heads")
    assert all(name.startswith("heads.") for name in heads_report.loaded)
    assert heads_report.n_loaded == 2 + 6 and heads_report.missing == []
