"""save_config / config_to_dict: fully resolved output that loads back equal."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from posekit.config import (
    HEAD_TYPES,
    ConfigError,
    config_to_dict,
    config_to_yaml,
    init_config,
    load_config,
    save_config,
)
from posekit.config.schema import TrainingJobConfig
from posekit.errors import PosekitError

from .conftest import make

HEAD_UPDATES = {
    "single_instance": {},
    "centroid": {"confmaps": {"anchor_part": "thorax", "sigma": 3.0, "output_stride": 4}},
    "centered_instance": {
        "confmaps": {
            "part_names": ["a", "b"],
            "anchor_part": "a",
            "output_stride": 2,
            "loss_weight": 0.5,
        }
    },
    "bottomup": {
        "confmaps": {"output_stride": 2, "loss_weight": 1.0},
        "pafs": {"edges": [["a", "b"], ["b", "c"]], "sigma": 10.0, "output_stride": 4},
    },
    "multi_class_bottomup": {
        "confmaps": {"output_stride": 2},
        "class_maps": {"classes": ["m", "f"], "output_stride": 2},
    },
    "multi_class_topdown": {
        "confmaps": {"output_stride": 2},
        "class_vectors": {
            "classes": ["m", "f"],
            "num_fc_layers": 2,
            "output_stride": 16,
            "loss_weight": 0.01,
        },
    },
}

BACKBONES = {
    "unet": {"unet": {"filters": 8, "max_stride": 16, "output_stride": 2, "stem_stride": 2}},
    "convnext": {
        "unet": None,
        "convnext": {
            "model_type": "small",
            "output_stride": 2,
            "arch": {"depths": [3, 3, 27, 3], "channels": [96, 192, 384, 768]},
        },
    },
    "swint": {
        "unet": None,
        "swint": {"pre_trained_weights": "Swin_T_Weights", "in_channels": 3, "output_stride": 2},
    },
}


def full_config(head: str, backbone: str) -> dict:
    heads = {name: None for name in HEAD_TYPES}
    heads[head] = HEAD_UPDATES[head]
    if head == "single_instance":
        heads[head] = {"confmaps": {"output_stride": 2}}
    if head == "multi_class_topdown" and backbone != "unet":
        heads[head]["class_vectors"]["output_stride"] = 32
    return make(
        {
            "data_config": {
                "val_labels_path": ["val.slp"],
                "preprocessing": {"crop_size": 128},
                "use_augmentations_train": True,
                "augmentation_config": {
                    "intensity": {"contrast_p": 0.5},
                    "geometric": {"rotation_p": 0.7, "flip_p": 0.5},
                },
            },
            "model_config": {"backbone_config": BACKBONES[backbone], "head_configs": heads},
            "trainer_config": {
                "max_epochs": 3,
                "seed": 7,
                "trainer_device_indices": [0],
                "lr_scheduler": {"step_lr": {"step_size": 5}},
                "zmq": {"publish_port": 9001, "controller_port": 9000},
                "wandb": {"entity": "lab", "group": "g"},
            },
            "name": "exp",
            "description": "round trip",
            "sleap_nn_version": "0.3.5",
        }
    )


@pytest.mark.parametrize("backbone", list(BACKBONES))
@pytest.mark.parametrize("head", HEAD_TYPES)
def test_save_load_round_trip_for_every_model_type(
    tmp_path: Path, head: str, backbone: str
) -> None:
    cfg = load_config(full_config(head, backbone))
    assert cfg.model_config.head_type == head
    assert cfg.model_config.backbone_type == backbone
    path = save_config(cfg, tmp_path / "out.yaml")
    again = load_config(path)
    assert again == cfg
    assert config_to_dict(again) == config_to_dict(cfg)
    assert save_config(again, tmp_path / "again.yaml").read_text() == path.read_text()


@pytest.mark.parametrize("head", HEAD_TYPES)
def test_templates_round_trip(tmp_path: Path, head: str) -> None:
    cfg = load_config(yaml.safe_load(init_config(head)))
    assert load_config(save_config(cfg, tmp_path / "t.yaml")) == cfg


def test_saved_file_is_fully_resolved(tmp_path: Path) -> None:
    path = save_config(load_config(make()), tmp_path / "c.yaml")
    text = path.read_text()
    assert text.startswith("# posekit ")
    data = yaml.safe_load(text)
    assert list(data) == [
        "data_config",
        "model_config",
        "trainer_config",
        "name",
        "description",
        "sleap_nn_version",
        "filename",
    ]
    # defaults are written out, e.g. the guide's early stopping and optimizer values
    assert data["trainer_config"]["early_stopping"] == {
        "min_delta": 0.0,
        "patience": 1,
        "stop_training_on_plateau": False,
    }
    assert data["trainer_config"]["optimizer"] == {"lr": 0.001, "amsgrad": False}
    assert data["model_config"]["backbone_config"]["unet"]["kernel_size"] == 3
    assert "ignored_fields" not in text
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_saving_writes_the_newer_spellings(tmp_path: Path) -> None:
    cfg = load_config(
        make(
            {
                "data_config": {"preprocessing": {"crop_hw": [96, 96]}},
                "trainer_config": {
                    "save_ckpt_path": "models/run1",
                    "zmq": {
                        "publish_address": "tcp://127.0.0.1:9001",
                        "controller_address": "tcp://192.168.1.5:9000",
                    },
                },
            }
        )
    )
    data = yaml.safe_load(save_config(cfg, tmp_path / "c.yaml").read_text())
    trainer = data["trainer_config"]
    assert (trainer["ckpt_dir"], trainer["run_name"]) == ("models", "run1")
    assert "save_ckpt_path" not in trainer
    assert data["data_config"]["preprocessing"]["crop_size"] == 96
    assert "crop_hw" not in data["data_config"]["preprocessing"]
    assert trainer["zmq"] == {
        "publish_port": 9001,
        "controller_port": 9000,
        "controller_polling_timeout": 10,
        "controller_address": "tcp://192.168.1.5:9000",
    }
    assert load_config(tmp_path / "c.yaml") == cfg


def test_sleap_nn_ignored_fields_are_not_saved(tmp_path: Path) -> None:
    cfg = load_config(make({"trainer_config": {"eval": {"enabled": True}}}))
    assert cfg.ignored_fields == ["trainer_config.eval"]
    text = save_config(cfg, tmp_path / "c.yaml").read_text()
    assert "eval" not in yaml.safe_load(text)["trainer_config"]


def test_api_key_is_masked_everywhere(tmp_path: Path) -> None:
    secret = "0123456789abcdef0123456789abcdef01234567"
    cfg = load_config(make({"trainer_config": {"use_wandb": True, "wandb": {"api_key": secret}}}))
    assert cfg.trainer_config.wandb.api_key == secret  # kept in memory for the logger
    saved = save_config(cfg, tmp_path / "c.yaml").read_text()
    assert secret not in saved and "api_key: '****'" in saved
    assert secret not in config_to_yaml(cfg)
    assert secret not in repr(cfg) and secret not in str(cfg)
    assert config_to_dict(cfg)["trainer_config"]["wandb"]["api_key"] == "****"
    assert config_to_dict(cfg, mask_secrets=False)["trainer_config"]["wandb"]["api_key"] == secret
    # a masked key reads back as "no key in the file"
    assert load_config(tmp_path / "c.yaml").trainer_config.wandb.api_key is None
    assert "api_key: null" in config_to_yaml(load_config(make()))


def test_save_refuses_an_invalid_config(tmp_path: Path) -> None:
    cfg = load_config(make())
    cfg.trainer_config.optimizer_name = "SGD"
    with pytest.raises(ConfigError, match="optimizer_name: unknown value 'SGD'"):
        save_config(cfg, tmp_path / "c.yaml")
    assert not (tmp_path / "c.yaml").exists()
    with pytest.raises(PosekitError, match="does not exist"):
        save_config(load_config(make()), tmp_path / "missing_dir" / "c.yaml")
    with pytest.raises(ConfigError, match="expected a TrainingJobConfig"):
        config_to_dict({"a": 1})  # type: ignore[arg-type]


def test_config_built_in_code_is_validated_on_load() -> None:
    cfg = TrainingJobConfig()
    with pytest.raises(ConfigError, match="exactly one backbone"):
        load_config(cfg)
