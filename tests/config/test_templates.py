"""``config init`` templates: commented, small, and valid once the labels path is set."""

from __future__ import annotations

import pytest
import yaml

from posekit.config import HEAD_TYPES, ConfigError, init_config, load_config
from posekit.config.templates import PLACEHOLDER_LABELS


@pytest.mark.parametrize("model_type", HEAD_TYPES)
def test_template_loads_once_the_labels_path_is_set(model_type: str) -> None:
    text = init_config(model_type)
    assert PLACEHOLDER_LABELS in text
    filled = text.replace(PLACEHOLDER_LABELS, "data/my_labels.pkg.slp")
    cfg = load_config(yaml.safe_load(filled))
    assert cfg.data_config.train_labels_path == ["data/my_labels.pkg.slp"]
    assert cfg.model_config.head_type == model_type
    assert cfg.ignored_fields == []
    # small, CPU-friendly starting model
    unet = cfg.model_config.active_backbone
    assert (unet.filters, unet.max_stride, unet.output_stride) == (16, 16, 2)
    head = cfg.model_config.active_head
    # 5 input pixels (2.5 grid cells × stride 2); the centroid map uses half that so the
    # peaks of animals close together stay apart
    expected_sigma = 1.25 if model_type == "centroid" else 2.5
    assert head.confmaps.sigma == expected_sigma and head.confmaps.output_stride == 2
    assert cfg.trainer_config.save_ckpt and cfg.trainer_config.ckpt_dir == "models"
    # commented: most settings lines explain themselves
    comments = [line for line in text.splitlines() if "#" in line]
    assert len(comments) >= 25


def test_model_specific_choices() -> None:
    bottomup = load_config(yaml.safe_load(init_config("bottomup")))
    pafs = bottomup.model_config.head_configs.bottomup.pafs
    assert (pafs.sigma, pafs.output_stride) == (10.0, 4)
    assert "limb" in init_config("bottomup")
    for topdown in ("centered_instance", "multi_class_topdown", "centroid"):
        text = init_config(topdown)
        assert "anchor_part" in text and "SAME anchor_part" in text
    crop = load_config(yaml.safe_load(init_config("centered_instance"))).data_config.preprocessing
    assert crop.crop_size is None and crop.min_crop_size == 100
    vectors = load_config(yaml.safe_load(init_config("multi_class_topdown")))
    assert vectors.model_config.head_configs.multi_class_topdown.class_vectors.output_stride == 16
    assert (
        load_config(yaml.safe_load(init_config("centroid"))).data_config.preprocessing.scale == 0.5
    )


def test_unknown_model_type() -> None:
    with pytest.raises(
        ConfigError, match="unknown model type; expected one of .*Did you mean 'bottomup'"
    ):
        init_config("bottom_up")
