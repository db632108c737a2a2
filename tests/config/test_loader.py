"""load_config: sources, spellings, overrides and the ignored-field report."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from posekit.config import (
    BottomUpConfig,
    BottomUpConfMapsConfig,
    ConfigError,
    InvalidConfigError,
    PAFConfig,
    StepLRConfig,
    TrainingJobConfig,
    load_config,
)
from posekit.config.overrides import merge_into, overrides_to_dict, parse_override

from .conftest import make


def write(tmp_path: Path, data: object, name: str = "c.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_load_from_file_dict_and_object_agree(tmp_path: Path) -> None:
    data = make()
    from_dict = load_config(data)
    from_file = load_config(write(tmp_path, data))
    from_obj = load_config(from_file)
    assert from_dict == from_file == from_obj
    assert isinstance(from_dict, TrainingJobConfig)
    assert from_dict.model_config.head_type == "single_instance"
    assert from_dict.model_config.active_backbone.filters == 16
    assert data == make()  # the input dict is not modified


def test_run_folder_is_accepted(tmp_path: Path) -> None:
    write(tmp_path, make(), "training_config.yaml")
    assert load_config(tmp_path).data_config.train_labels_path == ["train.slp"]
    empty = tmp_path / "empty_dir"
    empty.mkdir()
    with pytest.raises(ConfigError, match="without a training_config.yaml"):
        load_config(empty)


def test_paths_are_kept_as_written() -> None:
    cfg = load_config(
        make(
            {
                "data_config": {
                    "train_labels_path": ["../data/a.slp", "/abs/b.slp"],
                    "val_labels_path": "rel/val.pkg.slp",
                }
            }
        )
    )
    assert cfg.data_config.train_labels_path == ["../data/a.slp", "/abs/b.slp"]
    assert cfg.data_config.val_labels_path == ["rel/val.pkg.slp"]  # a single path becomes a list


def test_yaml_number_quirks() -> None:
    # PyYAML reads 1e-6 (no dot) as text; it must still be a float. Ints are fine for floats.
    cfg = load_config(
        make(
            {
                "trainer_config": {
                    "optimizer": {"lr": "1e-3"},
                    "lr_scheduler": {"reduce_lr_on_plateau": {"threshold": "1e-6", "min_lr": 0}},
                },
                "model_config": {"backbone_config": {"unet": {"filters_rate": 2}}},
            }
        )
    )
    assert cfg.trainer_config.optimizer.lr == pytest.approx(1e-3)
    plateau = cfg.trainer_config.lr_scheduler.reduce_lr_on_plateau
    assert plateau.threshold == pytest.approx(1e-6) and plateau.min_lr == 0.0
    assert isinstance(cfg.model_config.backbone_config.unet.filters_rate, float)


def test_null_sections_take_defaults_and_optional_ones_stay_null() -> None:
    cfg = load_config(
        make(
            {
                "trainer_config": {"optimizer": None, "early_stopping": None},
                "data_config": {"augmentation_config": None},
            }
        )
    )
    assert cfg.trainer_config.optimizer.lr == 1e-3
    assert cfg.trainer_config.early_stopping.patience == 1
    assert cfg.data_config.augmentation_config is None


# ------------------------------------------------------------------ both spellings


def test_save_ckpt_path_becomes_ckpt_dir_and_run_name() -> None:
    cfg = load_config(make({"trainer_config": {"save_ckpt_path": "a/b/name"}}))
    assert (cfg.trainer_config.ckpt_dir, cfg.trainer_config.run_name) == ("a/b", "name")
    cfg = load_config(make({"trainer_config": {"save_ckpt_path": "your_model_name/"}}))
    assert (cfg.trainer_config.ckpt_dir, cfg.trainer_config.run_name) == (".", "your_model_name")


def test_save_ckpt_path_conflict_is_reported() -> None:
    with pytest.raises(
        InvalidConfigError, match=r"save_ckpt_path: conflicts with trainer_config\.run_name"
    ):
        load_config(make({"trainer_config": {"save_ckpt_path": "a/x", "run_name": "y"}}))
    # agreeing spellings are fine
    cfg = load_config(make({"trainer_config": {"save_ckpt_path": "a/x", "ckpt_dir": "a"}}))
    assert cfg.trainer_config.run_name == "x"


def test_crop_hw_square_and_non_square() -> None:
    cfg = load_config(make({"data_config": {"preprocessing": {"crop_hw": [160, 160]}}}))
    assert cfg.data_config.preprocessing.crop_size == 160
    with pytest.raises(InvalidConfigError) as info:
        load_config(make({"data_config": {"preprocessing": {"crop_hw": [128, 192]}}}))
    message = str(info.value)
    assert "data_config.preprocessing.crop_hw" in message
    assert "non-square" in message and "crop_size: 192" in message


def test_zmq_loopback_addresses_become_ports() -> None:
    cfg = load_config(
        make(
            {
                "trainer_config": {
                    "zmq": {
                        "publish_address": "tcp://127.0.0.1:9001",
                        "controller_address": "tcp://localhost:9000",
                    }
                }
            }
        )
    )
    zmq = cfg.trainer_config.zmq
    assert (zmq.publish_port, zmq.controller_port) == (9001, 9000)
    assert zmq.publish_address is None and zmq.controller_address is None


def test_zmq_remote_address_is_kept_for_binding() -> None:
    cfg = load_config(make({"trainer_config": {"zmq": {"publish_address": "tcp://10.0.0.7:5555"}}}))
    zmq = cfg.trainer_config.zmq
    assert zmq.publish_port == 5555 and zmq.publish_address == "tcp://10.0.0.7:5555"


def test_zmq_empty_and_bad_addresses() -> None:
    cfg = load_config(
        make({"trainer_config": {"zmq": {"publish_address": None, "controller_address": ""}}})
    )
    assert cfg.trainer_config.zmq.publish_port is None
    with pytest.raises(
        InvalidConfigError, match="publish_address: cannot read address 'localhost'"
    ):
        load_config(make({"trainer_config": {"zmq": {"publish_address": "localhost"}}}))
    with pytest.raises(InvalidConfigError, match="port 6000 differs from publish_port 7000"):
        load_config(
            make({"trainer_config": {"zmq": {"publish_address": "tcp://10.1.1.1:6000"}}}),
            ["trainer_config.zmq.publish_port=7000"],
        )


def test_use_augmentations_old_key() -> None:
    cfg = load_config(make({"data_config": {"use_augmentations": True}}))
    assert cfg.data_config.use_augmentations_train is True


# ----------------------------------------------------------------------- overrides


def test_parse_override_values() -> None:
    assert parse_override("trainer_config.max_epochs=5") == (["trainer_config", "max_epochs"], 5)
    assert parse_override("data_config.train_labels_path=[a.slp, b.slp]")[1] == ["a.slp", "b.slp"]
    assert parse_override("a.b=null")[1] is None
    assert parse_override("a.b=")[1] is None
    assert parse_override("a.b=tcp://127.0.0.1:9001")[1] == "tcp://127.0.0.1:9001"
    with pytest.raises(ConfigError, match="missing '='"):
        parse_override("trainer_config.max_epochs")
    with pytest.raises(ConfigError, match="empty part"):
        parse_override("trainer_config..max_epochs=3")


def test_overrides_apply_and_later_ones_win() -> None:
    cfg = load_config(
        make(),
        [
            "trainer_config.max_epochs=5",
            "data_config.train_labels_path=[a.slp]",
            "trainer_config.max_epochs=7",
            "model_config.backbone_config.unet.filters=8",
        ],
    )
    assert cfg.trainer_config.max_epochs == 7
    assert cfg.data_config.train_labels_path == ["a.slp"]
    assert cfg.model_config.backbone_config.unet.filters == 8


def test_overrides_create_nested_sections() -> None:
    cfg = load_config(
        make(),
        [
            "trainer_config.lr_scheduler.step_lr.step_size=20",
            "trainer_config.lr_scheduler.step_lr.gamma=0.5",
        ],
    )
    assert cfg.trainer_config.lr_scheduler.step_lr == StepLRConfig(step_size=20, gamma=0.5)
    # switching model type from the command line
    cfg = load_config(
        make(),
        [
            "model_config.head_configs.single_instance=null",
            "model_config.head_configs.bottomup.confmaps.output_stride=2",
            "model_config.head_configs.bottomup.pafs={sigma: 10, output_stride: 4}",
        ],
    )
    assert cfg.model_config.head_type == "bottomup"
    assert cfg.model_config.head_configs.bottomup == BottomUpConfig(
        confmaps=BottomUpConfMapsConfig(output_stride=2),
        pafs=PAFConfig(sigma=10.0, output_stride=4),
    )


def test_overrides_in_old_spelling_and_on_objects() -> None:
    base = load_config(make({"trainer_config": {"ckpt_dir": "models", "run_name": "r1"}}))
    cfg = load_config(base, ["trainer_config.save_ckpt_path=out/r2"])
    assert (cfg.trainer_config.ckpt_dir, cfg.trainer_config.run_name) == ("out", "r2")
    assert base.trainer_config.run_name == "r1"  # the source object is untouched


def test_override_errors_name_the_path() -> None:
    with pytest.raises(
        InvalidConfigError,
        match=r"trainer_config\.max_epoch: unknown field; did you mean 'max_epochs'",
    ):
        load_config(make(), ["trainer_config.max_epoch=5"])
    with pytest.raises(
        InvalidConfigError, match=r"trainer_config\.max_epochs: expected an integer, got 'five'"
    ):
        load_config(make(), ["trainer_config.max_epochs=five"])
    with pytest.raises(InvalidConfigError, match="not a section"):
        load_config(
            make({"trainer_config": {"max_epochs": 3}}), ["trainer_config.max_epochs.value=5"]
        )


def test_merge_into_rules() -> None:
    base = {"a": {"b": 1, "c": None}, "d": [1, 2]}
    assert merge_into(base, {"a": {"c": {"x": 1}}, "d": [3]}) == []
    assert base == {"a": {"b": 1, "c": {"x": 1}}, "d": [3]}
    assert overrides_to_dict(["a.b=1", "a.c=2", "a=3"]) == {"a": 3}


# --------------------------------------------------------------- ignored fields


def test_sleap_nn_only_fields_are_ignored_and_reported() -> None:
    cfg = load_config(
        make(
            {
                "data_config": {
                    "use_same_data_for_val": True,
                    "preprocessing": {"tiling": {"enabled": False}},
                },
                "trainer_config": {
                    "eval": {"enabled": False},
                    "model_ckpt": {"monitor": "val/loss"},
                    "wandb": {"current_run_id": None},
                },
            }
        )
    )
    assert sorted(cfg.ignored_fields) == [
        "data_config.preprocessing.tiling",
        "data_config.use_same_data_for_val",
        "trainer_config.eval",
        "trainer_config.model_ckpt.monitor",
        "trainer_config.wandb.current_run_id",
    ]
    # the report survives re-loading the object, and is not part of equality
    assert load_config(cfg).ignored_fields == cfg.ignored_fields
    assert cfg == load_config(make())


def test_sleap_nn_extras_the_schema_keeps() -> None:
    skeleton = {
        "nodes": [{"name": "a"}, {"name": "b"}],
        "edges": [{"source": {"name": "a"}, "destination": {"name": "b"}}],
        "symmetries": [],
        "name": "sk",
    }
    cfg = load_config(
        make({"data_config": {"skeletons": [skeleton]}, "model_config": {"total_params": 1953237}})
    )
    assert cfg.data_config.skeletons == [skeleton]
    assert cfg.model_config.total_params == 1953237
    assert cfg.ignored_fields == []
