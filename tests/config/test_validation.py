"""Validation messages (1/2): unknown keys, wrong types, probabilities, min > max ranges."""

from __future__ import annotations

from dataclasses import fields

import pytest

from posekit.config import (
    GeometricConfig,
    IntensityConfig,
    load_config,
)

from .conftest import AUG, make, only_problem

# ------------------------------------------------------------------ unknown keys


def test_guide_typo_roration_max_is_rejected_with_suggestion() -> None:
    message = only_problem(
        {
            "data_config": {
                "augmentation_config": {"geometric": {"rotation_min": -15.0, "roration_max": 15.0}}
            }
        }
    )
    assert message.startswith(f"{AUG}.geometric.roration_max: unknown field")
    assert "did you mean 'rotation_max'" in message


@pytest.mark.parametrize(
    ("update", "path", "hint"),
    [
        (
            {"data_config": {"train_label_path": ["a.slp"]}},
            "data_config.train_label_path",
            "train_labels_path",
        ),
        (
            {"trainer_config": {"optimiser_name": "Adam"}},
            "trainer_config.optimiser_name",
            "optimizer_name",
        ),
        (
            {"model_config": {"head_configs": {"single_instance": {"confmap": {}}}}},
            "model_config.head_configs.single_instance.confmap",
            "confmaps",
        ),
        ({"model_konfig": {}}, "model_konfig", "model_config"),
    ],
)
def test_unknown_keys_name_the_full_path_and_suggest(update: dict, path: str, hint: str) -> None:
    message = only_problem(update)
    assert message.startswith(f"{path}: unknown field; did you mean '{hint}'")


def test_unknown_key_without_close_match() -> None:
    message = only_problem({"trainer_config": {"zzz": 1}})
    assert message.startswith("trainer_config.zzz: unknown field; expected one of the fields")
    assert "did you mean" not in message


def test_sleap_nn_field_in_the_wrong_section_is_still_unknown() -> None:
    message = only_problem({"trainer_config": {"use_same_data_for_val": True}})
    assert "trainer_config.use_same_data_for_val: unknown field" in message


# -------------------------------------------------------------------- wrong types


@pytest.mark.parametrize(
    ("update", "path", "expected"),
    [
        ({"trainer_config": {"max_epochs": "ten"}}, "trainer_config.max_epochs", "an integer"),
        ({"trainer_config": {"max_epochs": 16.5}}, "trainer_config.max_epochs", "an integer"),
        ({"trainer_config": {"max_epochs": True}}, "trainer_config.max_epochs", "an integer"),
        (
            {"trainer_config": {"use_wandb": "yes please"}},
            "trainer_config.use_wandb",
            "a boolean (true/false)",
        ),
        (
            {"trainer_config": {"optimizer": {"lr": "fast"}}},
            "trainer_config.optimizer.lr",
            "a number",
        ),
        ({"data_config": {"preprocessing": 5}}, "data_config.preprocessing", "a mapping (section)"),
        (
            {"data_config": {"val_labels_path": {"a": 1}}},
            "data_config.val_labels_path",
            "a list of strings or null",
        ),
        (
            {"model_config": {"backbone_config": {"unet": {"stem_stride": "2"}}}},
            "model_config.backbone_config.unet.stem_stride",
            "an integer or null",
        ),
        (
            {"trainer_config": {"trainer_device_indices": 0}},
            "trainer_config.trainer_device_indices",
            "a list of integers or null",
        ),
    ],
)
def test_wrong_types_name_the_path_and_expected_type(
    update: dict, path: str, expected: str
) -> None:
    message = only_problem(update)
    assert message.startswith(f"{path}: expected {expected}, got ")


def test_wrong_list_item_type() -> None:
    message = only_problem(
        {
            "model_config": {
                "head_configs": {
                    "single_instance": {"confmaps": {"part_names": ["nose", {"name": "tail"}]}}
                }
            }
        }
    )
    assert message == (
        "model_config.head_configs.single_instance.confmaps.part_names[1]: "
        "expected a string, got {'name': 'tail'} (mapping)"
    )


def test_union_types_accept_each_alternative() -> None:
    cfg = load_config(make({"trainer_config": {"trainer_devices": "auto"}}))
    assert cfg.trainer_config.trainer_devices == "auto"
    cfg = load_config(
        make(
            {
                "trainer_config": {
                    "trainer_devices": 2,
                    "lr_scheduler": {"reduce_lr_on_plateau": {"min_lr": [1e-6, 1e-7]}},
                }
            }
        )
    )
    assert cfg.trainer_config.trainer_devices == 2
    assert cfg.trainer_config.lr_scheduler.reduce_lr_on_plateau.min_lr == [1e-6, 1e-7]
    assert "expected a number of devices" in only_problem(
        {"trainer_config": {"trainer_devices": "two"}}
    )


# ----------------------------------------------------------------- probabilities

PROBABILITIES = [
    (f"{AUG}.intensity", f.name) for f in fields(IntensityConfig) if f.name.endswith("_p")
]
PROBABILITIES += [
    (f"{AUG}.geometric", f.name) for f in fields(GeometricConfig) if f.name.endswith("_p")
]


@pytest.mark.parametrize(("section", "name"), PROBABILITIES)
@pytest.mark.parametrize("value", [-0.1, 1.5])
def test_probabilities_outside_unit_interval(section: str, name: str, value: float) -> None:
    update: dict = {}
    node = update
    for part in section.split("."):
        node = node.setdefault(part, {})
    node[name] = value
    bundled = name in ("rotation_p", "scale_p", "translate_p")
    hint = ", or null to draw it with affine_p." if bundled else "."
    assert only_problem(update) == (
        f"{section}.{name}: probability {value!r} is outside [0, 1]; expected a number between "
        f"0 and 1. Use 0 to never apply it and 1 to always{hint}"
    )


def test_every_augmentation_probability_is_covered() -> None:
    assert len(PROBABILITIES) == 4 + 7  # uniform/gaussian/contrast/brightness; rot/scale/...


def test_validation_fraction_range_and_edges() -> None:
    assert "validation_fraction: probability 1.2" in only_problem(
        {"data_config": {"validation_fraction": 1.2}}
    )
    for ok in (0.0, 1.0, 0.25):
        assert load_config(make({"data_config": {"validation_fraction": ok}}))


# ----------------------------------------------------------------- min > max ranges


RANGES = [
    (f"{AUG}.intensity", "uniform_noise_min", "uniform_noise_max", 0.5, 0.2),
    (f"{AUG}.intensity", "contrast_min", "contrast_max", 1.2, 0.8),
    (f"{AUG}.intensity", "brightness_min", "brightness_max", 1.2, 0.8),
    (f"{AUG}.geometric", "rotation_min", "rotation_max", 10.0, -10.0),
    (f"{AUG}.geometric", "scale_min", "scale_max", 0.9, 0.5),
    (f"{AUG}.geometric", "erase_scale_min", "erase_scale_max", 0.9, 0.5),
    (f"{AUG}.geometric", "erase_ratio_min", "erase_ratio_max", 1.2, 0.8),
    (f"{AUG}.geometric", "mixup_lambda_min", "mixup_lambda_max", 0.9, 0.5),
    (
        "trainer_config.online_hard_keypoint_mining",
        "min_hard_keypoints",
        "max_hard_keypoints",
        5,
        3,
    ),
]


@pytest.mark.parametrize(("section", "low", "high", "lo", "hi"), RANGES, ids=lambda v: str(v))
def test_min_greater_than_max(section: str, low: str, high: str, lo: float, hi: float) -> None:
    update: dict = {}
    node = update
    for part in section.split("."):
        node = node.setdefault(part, {})
    node.update({low: lo, high: hi})
    assert only_problem(update) == (
        f"{section}.{low}: {low} ({lo!r}) is greater than {high} ({hi!r}); "
        f"expected {low} <= {high}. Swap them or fix one."
    )


def test_equal_min_and_max_are_fine() -> None:
    cfg = load_config(
        make(
            {
                "data_config": {
                    "augmentation_config": {"geometric": {"rotation_min": 0.0, "rotation_max": 0.0}}
                }
            }
        )
    )
    assert cfg.data_config.augmentation_config.geometric.rotation_max == 0.0
