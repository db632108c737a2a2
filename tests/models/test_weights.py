"""Initialising from posekit checkpoints (pretrained_backbone_weights / _head_weights)."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from posekit.errors import ModelError
from posekit.models import load_checkpoint_weights, read_checkpoint_state

from .model_heads import build


def save_lightning_ckpt(model, path, prefix="model."):
    state = {prefix + k: v for k, v in model.state_dict().items()}
    torch.save({"state_dict": state, "epoch": 3, "global_step": 10}, path)


def test_backbone_and_heads_load_from_a_lightning_checkpoint(model_config, tmp_path):
    torch.manual_seed(0)
    source = build(model_config("bottomup"), {"confmaps": 3, "pafs": 4})
    ckpt = tmp_path / "best.ckpt"
    save_lightning_ckpt(source, ckpt)

    torch.manual_seed(1)
    config = dataclasses.replace(
        model_config("bottomup"),
        pretrained_backbone_weights=str(ckpt),
        pretrained_head_weights=str(ckpt),
    )
    target = build(config, {"confmaps": 3, "pafs": 4})
    for name, value in source.state_dict().items():
        assert torch.equal(target.state_dict()[name], value), name
    backbone_report, head_report = target.weight_reports
    n_backbone = sum(1 for k in source.state_dict() if k.startswith("backbone."))
    assert backbone_report.n_loaded == n_backbone and backbone_report.missing == []
    assert head_report.n_loaded == 4  # two 1x1 convs: weight + bias each


def test_mismatched_tensors_are_skipped_and_reported(model_config, tmp_path):
    torch.manual_seed(0)
    source = build(model_config("bottomup"), {"confmaps": 5, "pafs": 4})
    ckpt = tmp_path / "other.ckpt"
    save_lightning_ckpt(source, ckpt)
    target = build(model_config("bottomup"), {"confmaps": 3, "pafs": 4})
    before = target.heads[0]["confmaps"].weight.clone()
    report = load_checkpoint_weights(target, ckpt, "heads")
    # pafs head matches (loaded); confmaps head has 5 vs 3 channels (skipped, kept)
    assert sorted(report.loaded) == ["heads.0.pafs.bias", "heads.0.pafs.weight"]
    assert {name for name, _ in report.skipped} == {
        "heads.0.confmaps.weight",
        "heads.0.confmaps.bias",
    }
    assert (
        "shape (5, 8, 1, 1) != model's (3, 8, 1, 1)"
        in dict(report.skipped)["heads.0.confmaps.weight"]
    )
    assert torch.equal(target.heads[0]["confmaps"].weight, before)
    assert "loaded 2 tensors, skipped 2" in report.summary()


def test_backbone_with_other_architecture_is_a_model_error(model_config, tmp_path):
    source = build(model_config("single_instance", filters=8), {"confmaps": 2})
    ckpt = tmp_path / "wide.ckpt"
    save_lightning_ckpt(source, ckpt)
    target = build(model_config("single_instance", filters=4), {"confmaps": 2})
    with pytest.raises(ModelError, match="no backbone tensor matching this model"):
        load_checkpoint_weights(target, ckpt, "backbone")


def test_plain_state_dict_and_missing_files(model_config, tmp_path):
    source = build(model_config("centroid"), {})
    plain = tmp_path / "plain.pt"
    torch.save(source.state_dict(), plain)
    assert set(read_checkpoint_state(plain)) == set(source.state_dict())
    with pytest.raises(ModelError, match="checkpoint not found"):
        read_checkpoint_state(tmp_path / "nope.ckpt")
    garbage = tmp_path / "garbage.ckpt"
    garbage.write_text("not a checkpoint")
    with pytest.raises(ModelError, match="cannot be read as a PyTorch checkpoint"):
        read_checkpoint_state(garbage)
    config = dataclasses.replace(
        model_config("centroid"), pretrained_backbone_weights=str(tmp_path / "nope.ckpt")
    )
    with pytest.raises(ModelError, match="nope.ckpt"):
        build(config, {})
    # pretrained=False skips every weight source (used when a run's own checkpoint follows)
    assert build(config, {}, pretrained=False).weight_reports == []


def test_sleap_h5_on_non_unet_backbone_is_rejected(model_config, tmp_path):
    config = dataclasses.replace(
        model_config("single_instance", backbone="convnext"),
        pretrained_backbone_weights=str(tmp_path / "best_model.h5"),
    )
    with pytest.raises(ModelError, match="UNet backbones only"):
        build(config, {"confmaps": 2})
