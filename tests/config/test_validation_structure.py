"""Validation messages (2/2): one-of sections, strides, choices, bounds, unsupported
features and files that are not configs."""

from __future__ import annotations

from pathlib import Path

import pytest

from posekit.config import ConfigError, InvalidConfigError, load_config
from posekit.config.sleap_nn_compat import UNSUPPORTED
from posekit.config.validation import effective_max_stride

from .conftest import AUG, make, only_problem, problems_of

# -------------------------------------------------------------------- exactly one


def test_zero_backbones() -> None:
    message = only_problem({"model_config": {"backbone_config": {"unet": None}}})
    assert message.startswith(
        "model_config.backbone_config: exactly one backbone must be set, found none"
    )


def test_several_backbones() -> None:
    problems = problems_of({"model_config": {"backbone_config": {"swint": {}}}})
    assert problems[0].startswith(
        "model_config.backbone_config: exactly one backbone must be set, found unet, swint"
    )


def test_zero_and_several_heads() -> None:
    message = only_problem({"model_config": {"head_configs": {"single_instance": None}}})
    assert "exactly one head must be set, found none" in message
    message = only_problem(
        {"model_config": {"head_configs": {"centroid": {"confmaps": {"output_stride": 2}}}}}
    )
    assert message.startswith(
        "model_config.head_configs: exactly one head must be set, found single_instance, centroid"
    )


def test_schedulers_zero_one_or_several() -> None:
    constant = load_config(make({"trainer_config": {"lr_scheduler": {"step_lr": None}}}))
    assert constant.trainer_config.lr_scheduler.scheduler_type is None
    step = load_config(make({"trainer_config": {"lr_scheduler": {"step_lr": {}}}}))
    assert step.trainer_config.lr_scheduler.scheduler_type == "step_lr"
    message = only_problem(
        {"trainer_config": {"lr_scheduler": {"step_lr": {}, "reduce_lr_on_plateau": {}}}}
    )
    assert message.startswith(
        "trainer_config.lr_scheduler: at most one learning-rate scheduler "
        "must be set, found step_lr, reduce_lr_on_plateau"
    )


# --------------------------------------------------------------------------- strides

UNET = "model_config.backbone_config.unet"
HEAD = "model_config.head_configs.single_instance.confmaps.output_stride"


@pytest.mark.parametrize(
    ("update", "start"),
    [
        (
            {"model_config": {"backbone_config": {"unet": {"max_stride": 24}}}},
            f"{UNET}.max_stride: 24; expected a power of two",
        ),
        (
            {"model_config": {"backbone_config": {"unet": {"output_stride": 32}}}},
            f"{UNET}.output_stride: 32; expected a power of two <= max_stride (16)",
        ),
        (
            {"model_config": {"backbone_config": {"unet": {"output_stride": 3}}}},
            f"{UNET}.output_stride: 3; expected a power of two",
        ),
        (
            {"model_config": {"backbone_config": {"unet": {"stem_stride": 32}}}},
            f"{UNET}.stem_stride: 32 does not divide max_stride 16",
        ),
        (
            {
                "model_config": {
                    "head_configs": {"single_instance": {"confmaps": {"output_stride": 1}}}
                }
            },
            f"{HEAD}: 1 is incompatible with the backbone",
        ),
        (
            {
                "model_config": {
                    "head_configs": {"single_instance": {"confmaps": {"output_stride": 32}}}
                }
            },
            f"{HEAD}: 32 is incompatible with the backbone",
        ),
        (
            {
                "model_config": {
                    "head_configs": {"single_instance": {"confmaps": {"output_stride": 6}}}
                }
            },
            f"{HEAD}: 6 is incompatible with the backbone",
        ),
    ],
)
def test_stride_incompatibilities(update: dict, start: str) -> None:
    assert only_problem(update).startswith(start)


def test_head_strides_between_backbone_output_and_max_stride_are_fine() -> None:
    for stride in (2, 4, 8, 16):
        load_config(
            make(
                {
                    "model_config": {
                        "head_configs": {"single_instance": {"confmaps": {"output_stride": stride}}}
                    }
                }
            )
        )
    load_config(make({"model_config": {"backbone_config": {"unet": {"stem_stride": 4}}}}))


def test_class_vectors_stride_must_equal_max_stride() -> None:
    topdown = {
        "model_config": {
            "head_configs": {
                "single_instance": None,
                "multi_class_topdown": {
                    "confmaps": {"output_stride": 2},
                    "class_vectors": {"output_stride": 8},
                },
            }
        }
    }
    message = only_problem(topdown)
    assert message.startswith(
        "model_config.head_configs.multi_class_topdown.class_vectors.output_stride: 8;"
    )
    assert "expected the backbone's max stride (16)" in message
    topdown["model_config"]["head_configs"]["multi_class_topdown"]["class_vectors"][
        "output_stride"
    ] = 16
    assert load_config(make(topdown)).model_config.head_type == "multi_class_topdown"


def test_convnext_and_swint_deepest_stride_comes_from_the_stem() -> None:
    convnext = {
        "model_config": {
            "backbone_config": {"unet": None, "convnext": {"max_stride": 16, "output_stride": 2}},
            "head_configs": {"single_instance": {"confmaps": {"output_stride": 32}}},
        }
    }
    cfg = load_config(make(convnext))  # a stem stride of 2 gives features at stride 32
    assert effective_max_stride(cfg.model_config.active_backbone) == 32
    convnext["model_config"]["backbone_config"]["convnext"]["stem_patch_stride"] = 4
    assert effective_max_stride(load_config(make(convnext)).model_config.active_backbone) == 64
    assert effective_max_stride(load_config(make()).model_config.active_backbone) == 16


# --------------------------------------------------------------------------- choices


@pytest.mark.parametrize(
    ("update", "path", "value"),
    [
        ({"trainer_config": {"optimizer_name": "SGD"}}, "trainer_config.optimizer_name", "SGD"),
        (
            {
                "trainer_config": {
                    "lr_scheduler": {"reduce_lr_on_plateau": {"threshold_mode": "relative"}}
                }
            },
            "trainer_config.lr_scheduler.reduce_lr_on_plateau.threshold_mode",
            "relative",
        ),
        (
            {"data_config": {"data_pipeline_fw": "tf_dataset"}},
            "data_config.data_pipeline_fw",
            "tf_dataset",
        ),
        ({"model_config": {"init_weights": "kaiming"}}, "model_config.init_weights", "kaiming"),
        (
            {
                "model_config": {
                    "backbone_config": {"unet": None, "swint": {"model_type": "large"}},
                    "head_configs": {"single_instance": {"confmaps": {"output_stride": 2}}},
                }
            },
            "model_config.backbone_config.swint.model_type",
            "large",
        ),
        (
            {
                "model_config": {
                    "backbone_config": {"unet": None, "convnext": {"model_type": "huge"}}
                }
            },
            "model_config.backbone_config.convnext.model_type",
            "huge",
        ),
        (
            {"trainer_config": {"trainer_accelerator": "tpu"}},
            "trainer_config.trainer_accelerator",
            "tpu",
        ),
    ],
)
def test_unknown_choice_values(update: dict, path: str, value: str) -> None:
    message = only_problem(update)
    assert message.startswith(f"{path}: unknown value {value!r}; expected one of ")


def test_choice_with_wrong_case_gets_a_hint() -> None:
    message = only_problem({"trainer_config": {"optimizer_name": "adamw"}})
    assert "Did you mean 'AdamW'?" in message


# ------------------------------------------------------------------- other bounds


@pytest.mark.parametrize(
    ("update", "start"),
    [
        (
            {"model_config": {"head_configs": {"single_instance": {"confmaps": {"sigma": 0}}}}},
            "model_config.head_configs.single_instance.confmaps.sigma: value 0.0 is out of range",
        ),
        (
            {"trainer_config": {"train_data_loader": {"batch_size": 0}}},
            "trainer_config.train_data_loader.batch_size: value 0 is out of range; expected a number >= 1",
        ),
        (
            {"trainer_config": {"lr_scheduler": {"reduce_lr_on_plateau": {"factor": 1.0}}}},
            (
                "trainer_config.lr_scheduler.reduce_lr_on_plateau.factor: value 1.0 is out of "
                "range; expected a number > 0 and < 1. A factor of 0.5 halves"
            ),
        ),
        (
            {"data_config": {"preprocessing": {"ensure_rgb": True, "ensure_grayscale": True}}},
            "data_config.preprocessing: ensure_rgb and ensure_grayscale are both true",
        ),
        (
            {"trainer_config": {"zmq": {"publish_port": 9000, "controller_port": 9000}}},
            "trainer_config.zmq: publish_port and controller_port are both 9000",
        ),
        (
            {"trainer_config": {"zmq": {"publish_port": 70000}}},
            "trainer_config.zmq.publish_port: value 70000 is out of range",
        ),
        (
            {"data_config": {"augmentation_config": {"geometric": {"rotation_max": 270}}}},
            f"{AUG}.geometric.rotation_max: value 270.0 is out of range",
        ),
        (
            {
                "model_config": {
                    "head_configs": {"single_instance": {"confmaps": {"part_names": ["a", "a"]}}}
                }
            },
            "model_config.head_configs.single_instance.confmaps.part_names: names are repeated",
        ),
        (
            {"trainer_config": {"trainer_device_indices": [0, 0]}},
            "trainer_config.trainer_device_indices: [0, 0] has negative or repeated indices",
        ),
    ],
)
def test_other_bounds(update: dict, start: str) -> None:
    assert only_problem(update).startswith(start)


def test_several_errors_are_reported_together() -> None:
    with pytest.raises(InvalidConfigError) as info:
        load_config(
            make(
                {
                    "data_config": {
                        "validation_fraction": 2,
                        "augmentation_config": {
                            "geometric": {"roration_max": 1, "scale_min": 2.0, "scale_max": 1.0}
                        },
                    },
                    "trainer_config": {"max_epochs": "many", "optimizer_name": "SGD"},
                }
            )
        )
    error = info.value
    assert len(error.problems) == 5
    text = str(error)
    assert text.startswith("<dict>: 5 problems in the configuration:\n  - ")
    for fragment in (
        "roration_max",
        "max_epochs",
        "validation_fraction",
        "scale_min",
        "optimizer_name",
    ):
        assert fragment in text
    assert isinstance(error, ConfigError)


# ------------------------------------------------------------ unsupported features


def _unsupported_cases() -> list[tuple[str, str]]:
    from posekit.config.schema import BackboneConfig, HeadConfigs, LRSchedulerConfig

    where = {
        BackboneConfig: "model_config.backbone_config",
        HeadConfigs: "model_config.head_configs",
        LRSchedulerConfig: "trainer_config.lr_scheduler",
    }
    return [(where[cls], name) for cls, table in UNSUPPORTED.items() for name in table]


@pytest.mark.parametrize(("section", "name"), _unsupported_cases())
def test_unsupported_sleap_nn_features(section: str, name: str) -> None:
    update: dict = {}
    node = update
    for part in section.split("."):
        node = node.setdefault(part, {})
    node[name] = None
    assert load_config(make(update)).ignored_fields == []  # null is fine
    node[name] = {"anything": 1}
    message = only_problem(update)
    assert message.startswith(f"{section}.{name}: ")
    assert "not supported by posekit" in message


def test_unsupported_head_alone_gives_one_clear_error() -> None:
    message = only_problem(
        {
            "model_config": {
                "head_configs": {
                    "single_instance": None,
                    "semantic_segmentation": {"segmentation": {}},
                }
            }
        }
    )
    assert message.startswith(
        "model_config.head_configs.semantic_segmentation: the 'semantic_segmentation' model type"
    )


# ----------------------------------------------------------- files that are not configs


def test_not_yaml_files(tmp_path: Path) -> None:
    binary = tmp_path / "labels.slp"
    binary.write_bytes(b"\x89HDF\r\n\x1a\n\x00\xff\xfe")
    with pytest.raises(ConfigError, match=r"labels\.slp: is not a text file"):
        load_config(binary)
    broken = tmp_path / "broken.yaml"
    broken.write_text("data_config:\n  train_labels_path: [a.slp\nmodel_config: {}\n")
    with pytest.raises(ConfigError, match=r"broken\.yaml: not valid YAML \(line \d+, column \d+\)"):
        load_config(broken)
    empty = tmp_path / "empty.yaml"
    empty.write_text("  \n")
    with pytest.raises(ConfigError, match=r"empty\.yaml: the file is empty"):
        load_config(empty)
    listing = tmp_path / "list.yaml"
    listing.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match=r"list\.yaml: the config is a list, not a mapping"):
        load_config(listing)
    with pytest.raises(ConfigError, match=r"missing\.yaml: config file not found"):
        load_config(tmp_path / "missing.yaml")


def test_repeated_keys_are_an_error(tmp_path: Path) -> None:
    path = tmp_path / "dup.yaml"
    path.write_text("trainer_config:\n  max_epochs: 5\n  max_epochs: 6\n")
    with pytest.raises(
        ConfigError, match=r"dup\.yaml: not valid YAML \(line 3.*'max_epochs' appears twice"
    ):
        load_config(path)


def test_legacy_json_given_to_load_config(tmp_path: Path) -> None:
    path = tmp_path / "training_config.json"
    path.write_text('{"data": {}, "model": {}, "optimization": {}, "outputs": {}}')
    with pytest.raises(ConfigError, match="legacy SLEAP.*posekit config convert"):
        load_config(path)


def test_wrong_source_type() -> None:
    with pytest.raises(ConfigError, match="cannot load a config from int"):
        load_config(3)  # type: ignore[arg-type]
