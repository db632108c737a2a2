"""Legacy SLEAP (<= 1.4) training_config.json conversion."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from posekit.config import ConfigError, convert_legacy_config, load_config, save_config
from posekit.config.legacy import legacy_to_dict

MODELS = {
    "min_tracks_2node.UNet.bottomup_multiclass": "multi_class_bottomup",
    "min_tracks_2node.UNet.topdown_multiclass": "multi_class_topdown",
    "minimal_instance.UNet.bottomup": "bottomup",
    "minimal_instance.UNet.centered_instance": "centered_instance",
    "minimal_instance.UNet.centroid": "centroid",
    "minimal_robot.UNet.single_instance": "single_instance",
}


@pytest.mark.parametrize("file_name", ["training_config.json", "initial_config.json"])
@pytest.mark.parametrize("folder", sorted(MODELS))
def test_real_legacy_configs_convert(
    shared_data: Path, tmp_path: Path, folder: str, file_name: str
) -> None:
    path = shared_data / "legacy_sleap_models" / folder / file_name
    legacy = json.loads(path.read_text())
    cfg = convert_legacy_config(path)
    model = cfg.model_config
    assert model.head_type == MODELS[folder] and model.backbone_type == "unet"
    unet = legacy["model"]["backbone"]["unet"]
    assert model.active_backbone.max_stride == unet["max_stride"]
    assert model.active_backbone.filters == unet["filters"]
    assert model.active_backbone.output_stride == unet["output_stride"]
    assert model.active_backbone.up_interpolate == unet["up_interpolate"]
    opt = legacy["optimization"]
    trainer = cfg.trainer_config
    assert trainer.train_data_loader.batch_size == opt["batch_size"]
    assert trainer.max_epochs == opt["epochs"]
    assert trainer.optimizer.lr == opt["initial_learning_rate"]
    assert trainer.run_name == folder and trainer.optimizer_name == "Adam"
    assert cfg.data_config.preprocessing.scale == legacy["data"]["preprocessing"]["input_scaling"]
    if file_name == "training_config.json":
        assert cfg.data_config.skeletons[0]["nodes"]
    else:
        assert cfg.data_config.skeletons is None  # initial configs hold no skeleton
    assert load_config(save_config(cfg, tmp_path / "c.yaml")) == cfg


def test_bottomup_details(shared_data: Path) -> None:
    cfg = convert_legacy_config(
        shared_data / "legacy_sleap_models/minimal_instance.UNet.bottomup/training_config.json"
    )
    head = cfg.model_config.head_configs.bottomup
    assert head.confmaps.part_names == ["A", "B"]
    assert (head.confmaps.sigma, head.confmaps.output_stride, head.confmaps.loss_weight) == (
        1.5,
        2,
        1.0,
    )
    assert head.pafs.edges == [["A", "B"]]
    assert (head.pafs.sigma, head.pafs.output_stride) == (50.0, 4)
    assert cfg.data_config.skeletons == [
        {
            "nodes": [{"name": "A"}, {"name": "B"}],
            "edges": [{"source": {"name": "A"}, "destination": {"name": "B"}}],
            "symmetries": [],
            "name": "Skeleton-0",
        }
    ]
    plateau = cfg.trainer_config.lr_scheduler.reduce_lr_on_plateau
    assert (plateau.factor, plateau.patience, plateau.cooldown, plateau.threshold_mode) == (
        0.5,
        5,
        3,
        "abs",
    )
    assert plateau.threshold == 1e-6 and plateau.min_lr == 1e-8
    early = cfg.trainer_config.early_stopping
    assert (early.stop_training_on_plateau, early.patience, early.min_delta) == (True, 10, 1e-6)
    assert cfg.ignored_fields == ["model.heads.multi_instance.confmaps.offset_refinement"]
    # the publish/controller switches are off: no ports
    assert cfg.trainer_config.zmq.publish_port is None


def test_topdown_multiclass_details(shared_data: Path) -> None:
    cfg = convert_legacy_config(
        shared_data
        / "legacy_sleap_models/min_tracks_2node.UNet.topdown_multiclass/training_config.json"
    )
    head = cfg.model_config.head_configs.multi_class_topdown
    assert head.confmaps.anchor_part == "thorax"
    assert head.class_vectors.classes == ["female", "male"]
    assert (
        head.class_vectors.num_fc_layers,
        head.class_vectors.output_stride,
        head.class_vectors.loss_weight,
    ) == (3, 16, 0.01)
    assert cfg.data_config.preprocessing.crop_size == 128


def _legacy(**changes) -> dict:
    data = {
        "data": {
            "labels": {"training_labels": "train.slp"},
            "preprocessing": {"ensure_rgb": True, "input_scaling": 0.5},
            "instance_cropping": {"center_on_part": "thorax", "crop_size": 64},
        },
        "model": {
            "backbone": {"unet": {"max_stride": 16, "output_stride": 4, "filters": 8}},
            "heads": {"centered_instance": {"sigma": 2.0, "output_stride": 4}},
        },
        "optimization": {
            "augmentation_config": {
                "rotate": True,
                "rotation_min_angle": -90,
                "rotation_max_angle": 90,
                "translate": True,
                "scale": False,
                "uniform_noise": True,
                "uniform_noise_min_val": 0.0,
                "uniform_noise_max_val": 25.5,
                "brightness": True,
                "brightness_min_val": -25.5,
                "brightness_max_val": 51.0,
                "random_flip": True,
                "flip_horizontal": True,
            },
            "optimizer": "adamw",
            "learning_rate_schedule": {"reduce_on_plateau": False},
        },
        "outputs": {
            "runs_folder": "runs",
            "run_name_prefix": "p_",
            "run_name": "r",
            "run_name_suffix": "_s",
            "zmq": {
                "publish_updates": True,
                "publish_address": "tcp://127.0.0.1:9001",
                "subscribe_to_controller": True,
                "controller_address": "tcp://10.0.0.2:9000",
            },
        },
    }
    for key, value in changes.items():
        data[key] = value
    return data


def test_legacy_mapping_rules() -> None:
    raw, dropped = legacy_to_dict(_legacy())
    cfg = load_config(raw)
    unet = cfg.model_config.backbone_config.unet
    assert (unet.in_channels, unet.kernel_size, unet.convs_per_block) == (3, 3, 2)
    confmaps = cfg.model_config.head_configs.centered_instance.confmaps
    assert confmaps.anchor_part == "thorax"  # from instance_cropping.center_on_part
    data = cfg.data_config
    assert data.preprocessing.crop_size == 64 and data.preprocessing.ensure_rgb
    assert data.use_augmentations_train
    intensity, geometric = data.augmentation_config.intensity, data.augmentation_config.geometric
    assert intensity.uniform_noise_max == pytest.approx(0.1)  # 25.5 / 255
    assert intensity.uniform_noise_p == 1.0
    assert (intensity.brightness_min, intensity.brightness_max) == pytest.approx((0.9, 1.2))
    assert (geometric.rotation_min, geometric.rotation_max, geometric.rotation_p) == (
        -90.0,
        90.0,
        1.0,
    )
    assert (geometric.scale_p, geometric.translate_p, geometric.affine_p) == (0.0, 0.0, 0.0)
    assert geometric.flip_p == 0.5
    assert dropped == ["optimization.augmentation_config.translate"]
    trainer = cfg.trainer_config
    assert trainer.optimizer_name == "AdamW"
    assert trainer.lr_scheduler.scheduler_type is None
    assert (trainer.ckpt_dir, trainer.run_name) == ("runs", "p_r_s")
    zmq = trainer.zmq
    assert (zmq.publish_port, zmq.publish_address) == (9001, None)
    assert (zmq.controller_port, zmq.controller_address) == (9000, "tcp://10.0.0.2:9000")


@pytest.mark.parametrize("backbone", ["leap", "hourglass", "resnet", "pretrained_encoder"])
def test_non_unet_backbones_are_refused(tmp_path: Path, backbone: str) -> None:
    data = _legacy()
    data["model"]["backbone"] = {"unet": None, backbone: {"filters": 16}}
    path = tmp_path / "training_config.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ConfigError) as info:
        convert_legacy_config(path)
    message = str(info.value)
    assert message.startswith(f"{path}: model.backbone: the legacy backbone is '{backbone}'")
    assert "only UNet models can be converted" in message


def test_bad_legacy_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="legacy config not found"):
        convert_legacy_config(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ConfigError, match=r"bad\.json: not valid JSON"):
        convert_legacy_config(bad)
    other = tmp_path / "other.json"
    other.write_text('{"data_config": {}}')
    with pytest.raises(ConfigError, match="not a legacy SLEAP training config"):
        convert_legacy_config(other)
    invalid = tmp_path / "invalid.json"
    data = _legacy()
    data["model"]["backbone"]["unet"]["max_stride"] = 12
    invalid.write_text(json.dumps(data))
    with pytest.raises(ConfigError, match=r"invalid\.json \(after conversion\): .*max_stride: 12"):
        convert_legacy_config(invalid)
