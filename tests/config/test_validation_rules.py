"""The rule table: augmentation limits (one rule per setting, shared by the augmentation
code), non-finite numbers, sections checked from code, the table's own consistency, and
settings dataclasses checked with the same rules (check_settings, settings_from_dict)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, Literal

import numpy as np
import pytest

from posekit.config import (
    BottomUpConfig,
    CenteredInstanceConfig,
    CentroidConfig,
    ConvNextArchConfig,
    ConvNextConfig,
    EfficientNetLite0Config,
    GeometricConfig,
    IntensityConfig,
    InvalidConfigError,
    MultiClassBottomUpConfig,
    MultiClassTopDownConfig,
    ReduceLROnPlateauConfig,
    SingleInstanceConfig,
    StepLRConfig,
    SwinTArchConfig,
    SwinTConfig,
    TrainingJobConfig,
    UNetConfig,
    load_config,
)
from posekit.config.rules import (
    check_settings,
    choice,
    conform,
    distinct,
    matches,
    non_empty,
    number,
    run_rules,
    sections,
    settings_from_dict,
    type_text,
)
from posekit.config.validation import RULES, check_section, validate

from .conftest import AUG, make, problems_of

SECTIONS = {"intensity": IntensityConfig, "geometric": GeometricConfig}
PROB = "expected a number between 0 and 1. Use 0 to never apply it and 1 to always"


def from_code(section: str, values: dict[str, Any]) -> list[str]:
    """The problems check_section reports for a section built in code."""
    with pytest.raises(InvalidConfigError) as info:
        check_section(SECTIONS[section](**values), f"{AUG}.{section}")
    return info.value.problems


def from_file(section: str, values: dict[str, Any]) -> list[str]:
    """The problems load_config reports for the same values read from YAML data."""
    return problems_of({"data_config": {"augmentation_config": {section: values}}})


# Moved here from the augmentation tests: the augmentation code now uses these rules.
INVALID = [
    ("geometric", {"affine_p": 2.0}, f"affine_p: probability 2.0 is outside [0, 1]; {PROB}."),
    (
        "geometric",
        {"rotation_p": -0.1},
        (
            f"rotation_p: probability -0.1 is outside [0, 1]; {PROB}, or null to draw it with "
            "affine_p."
        ),
    ),
    (
        "geometric",
        {"scale_min": 0.0},
        "scale_min: value 0.0 is out of range; expected a number > 0. The default is 0.9.",
    ),
    (
        "geometric",
        {"rotation_min": 20.0, "rotation_max": 10.0},
        (
            "rotation_min: rotation_min (20.0) is greater than rotation_max (10.0); expected "
            "rotation_min <= rotation_max. Swap them or fix one."
        ),
    ),
    (
        "geometric",
        {"erase_scale_max": 1.5},
        (
            "erase_scale_max: value 1.5 is out of range; expected a number > 0 and <= 1. "
            "The default is 0.01."
        ),
    ),
    (
        "geometric",
        {"translate_width": -0.1},
        (
            "translate_width: value -0.1 is out of range; expected a number >= 0 and <= 1. "
            "The default is 0.0."
        ),
    ),
    (
        "geometric",
        {"mixup_lambda_max": 1.5},
        (
            "mixup_lambda_max: value 1.5 is out of range; expected a number >= 0 and <= 1. "
            "The default is 0.05."
        ),
    ),
    ("intensity", {"contrast_p": 1.5}, f"contrast_p: probability 1.5 is outside [0, 1]; {PROB}."),
    (
        "intensity",
        {"uniform_noise_min": 0.5, "uniform_noise_max": 0.1},
        (
            "uniform_noise_min: uniform_noise_min (0.5) is greater than uniform_noise_max (0.1); "
            "expected uniform_noise_min <= uniform_noise_max. Swap them or fix one."
        ),
    ),
    (
        "intensity",
        {"gaussian_noise_std": -0.1},
        (
            "gaussian_noise_std: value -0.1 is out of range; expected a number >= 0. "
            "The default is 1.0."
        ),
    ),
    (
        "intensity",
        {"brightness_min": -1.0},
        "brightness_min: value -1.0 is out of range; expected a number >= 0. The default is 1.0.",
    ),
]


@pytest.mark.parametrize(("section", "values", "message"), INVALID, ids=lambda v: str(v))
def test_invalid_augmentation_options(section: str, values: dict, message: str) -> None:
    expected = [f"{AUG}.{section}.{message}"]
    assert from_file(section, values) == expected
    assert from_code(section, values) == expected  # the same rule, from a file or from code


# Where the config schema and the augmentation code disagreed, sleap-nn's limits won:
# uniform noise in [0, 1] (its guide: "uniform_noise_min >= 0", max <= 1) and rotation
# angles in [-180, 180] (its GeometricConfig: ge(-180), le(180)).


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"uniform_noise_min": -0.1},
            (
                "uniform_noise_min: value -0.1 is out of range; expected a number >= 0 and <= 1. "
                "The default is 0.0."
            ),
        ),
        (
            {"uniform_noise_max": 1.2},
            (
                "uniform_noise_max: value 1.2 is out of range; expected a number >= 0 and <= 1. "
                "The default is 1.0."
            ),
        ),
    ],
)
def test_uniform_noise_is_within_zero_and_one(values: dict, message: str) -> None:
    assert from_file("intensity", values) == [f"{AUG}.intensity.{message}"]
    assert from_code("intensity", values) == [f"{AUG}.intensity.{message}"]


def test_uniform_noise_edges_are_allowed() -> None:
    section = check_section(
        IntensityConfig(uniform_noise_min=0.0, uniform_noise_max=1.0), f"{AUG}.intensity"
    )
    assert (section.uniform_noise_min, section.uniform_noise_max) == (0.0, 1.0)


@pytest.mark.parametrize(("name", "value"), [("rotation_min", -181.0), ("rotation_max", 180.5)])
def test_rotation_is_within_half_a_turn(name: str, value: float) -> None:
    default = GeometricConfig().__getattribute__(name)
    message = (
        f"{AUG}.geometric.{name}: value {value!r} is out of range; expected a number >= -180 "
        f"and <= 180. The default is {default!r}."
    )
    assert from_file("geometric", {name: value}) == [message]
    assert from_code("geometric", {name: value}) == [message]


def test_rotation_edges_are_allowed() -> None:
    cfg = load_config(
        make(
            {
                "data_config": {
                    "augmentation_config": {
                        "geometric": {"rotation_min": -180, "rotation_max": 180}
                    }
                }
            }
        )
    )
    geometric = cfg.data_config.augmentation_config.geometric
    assert (geometric.rotation_min, geometric.rotation_max) == (-180.0, 180.0)


@pytest.mark.parametrize(
    ("section", "name", "value", "expected"),
    [
        ("intensity", "gaussian_noise_mean", float("inf"), "a finite number. The default is 0.0."),
        ("geometric", "scale_max", float("nan"), "a number > 0. The default is 1.1."),
        ("geometric", "erase_ratio_max", float("inf"), "a number > 0. The default is 1.0."),
    ],
)
def test_non_finite_numbers_are_rejected(
    section: str, name: str, value: float, expected: str
) -> None:
    message = f"{AUG}.{section}.{name}: value {value!r} is out of range; expected {expected}"
    assert from_file(section, {name: value}) == [message]


def test_nan_probability_is_rejected() -> None:
    assert from_code("intensity", {"contrast_p": float("nan")}) == [
        f"{AUG}.intensity.contrast_p: probability nan is outside [0, 1]; {PROB}."
    ]


# ------------------------------------------------------------- sections checked from code


def test_check_section_reports_wrong_types_and_every_rule() -> None:
    problems = from_code(
        "geometric",
        {"flip_p": "often", "scale_min": -1.0, "erase_p": 3.0},
    )
    assert problems == [
        f"{AUG}.geometric.flip_p: expected a number, got 'often' (string)",
        f"{AUG}.geometric.erase_p: probability 3.0 is outside [0, 1]; {PROB}.",
        (
            f"{AUG}.geometric.scale_min: value -1.0 is out of range; expected a number > 0. "
            "The default is 0.9."
        ),
    ]


def test_check_section_returns_an_independent_converted_copy() -> None:
    original = GeometricConfig(rotation_min=-30, rotation_max=30, flip_p=1)
    checked = check_section(original, f"{AUG}.geometric")
    assert checked == original and checked is not original
    assert isinstance(checked.rotation_min, float) and isinstance(checked.flip_p, float)
    original.rotation_max = 45.0
    assert checked.rotation_max == 30.0


# ----------------------------------------------------------------- the table itself


def full_config() -> TrainingJobConfig:
    """A config with every optional section set (to its defaults)."""
    cfg = TrainingJobConfig()
    cfg.data_config.augmentation_config.intensity = IntensityConfig()
    backbones = cfg.model_config.backbone_config
    backbones.unet = UNetConfig()
    backbones.convnext = ConvNextConfig(arch=ConvNextArchConfig())
    backbones.swint = SwinTConfig(arch=SwinTArchConfig())
    backbones.efficientnet_lite0 = EfficientNetLite0Config()
    heads = cfg.model_config.head_configs
    heads.single_instance = SingleInstanceConfig()
    heads.centroid = CentroidConfig()
    heads.centered_instance = CenteredInstanceConfig()
    heads.bottomup = BottomUpConfig()
    heads.multi_class_bottomup = MultiClassBottomUpConfig()
    heads.multi_class_topdown = MultiClassTopDownConfig()
    schedulers = cfg.trainer_config.lr_scheduler
    schedulers.step_lr = StepLRConfig()
    schedulers.reduce_lr_on_plateau = ReduceLROnPlateauConfig()
    return cfg


def test_defaults_satisfy_every_rule() -> None:
    problems = validate(full_config())
    assert [p.split(":")[0] for p in problems] == [
        "model_config.backbone_config",  # four backbones set
        "model_config.head_configs",  # six heads set
        "trainer_config.lr_scheduler",  # two schedulers set
    ]


def test_every_rule_reads_fields_that_exist() -> None:
    all_sections = list(sections(full_config()))
    for pattern, rules in RULES.items():
        matched = [section for path, section in all_sections if matches(pattern, path)]
        assert matched, pattern
        for one in rules:
            for name in one.fields:
                assert any(hasattr(s, name) for s in matched), (pattern, name)


def test_one_rule_per_setting() -> None:
    seen: dict[tuple[str, str], str] = {}
    for path, section in sections(full_config()):
        for pattern, rules in RULES.items():
            if not matches(pattern, path):
                continue
            for one in rules:
                if len(one.fields) == 1 and hasattr(section, one.fields[0]):
                    key = (path, one.fields[0])
                    assert key not in seen, f"{key} checked by {seen[key]} and {pattern}"
                    seen[key] = pattern
    assert seen[(f"{AUG}.intensity", "uniform_noise_min")] == f"{AUG}.intensity"
    assert seen[(f"{AUG}.geometric", "rotation_max")] == f"{AUG}.geometric"


def test_patterns_match_one_name_per_star() -> None:
    assert matches("model_config.head_configs.*.*", "model_config.head_configs.bottomup.pafs")
    assert not matches("model_config.head_configs.*", "model_config.head_configs.bottomup.pafs")
    assert matches("trainer_config.*_data_loader", "trainer_config.val_data_loader")
    assert not matches("trainer_config.*_data_loader", "trainer_config.zmq")
    assert matches("", "") and not matches("", "data_config")


def test_every_problem_names_path_wrong_expected_and_suggestion() -> None:
    cfg = full_config()
    cfg.trainer_config.max_epochs = 0
    cfg.trainer_config.optimizer_name = "SGD"
    cfg.data_config.augmentation_config.geometric.flip_p = 2.0
    cfg.data_config.augmentation_config.intensity.contrast_min = 2.0
    cfg.trainer_config.zmq.publish_port = cfg.trainer_config.zmq.controller_port = 9000
    problems = run_rules(RULES, cfg)
    assert len(problems) == 3 + 5
    shape = re.compile(r"^[\w.\[\]]+: [^;]+; expected .+\. \S.*$")
    for problem in problems:
        assert problem.path and problem.wrong and problem.expected and problem.suggestion
        assert shape.match(str(problem)), str(problem)


# ------------------------------------------------- settings dataclasses (check_settings)


@dataclass(frozen=True)
class _Demo:
    """A settings dataclass checked like the tracking / grouping settings."""

    count: int = 3
    ratio: float = 0.5
    names: tuple[str, ...] = ("a",)
    sizes: float | tuple[float, ...] = 1.0
    mode: Literal["fast", "slow"] = "fast"
    limit: int | None = None

    def __post_init__(self) -> None:
        check_settings(self, "demo", _DEMO_RULES)


_DEMO_RULES = {
    "demo": (
        number("count", 1),
        number("ratio", 0, 1),
        non_empty("names", "Name one."),
        distinct("names"),
        number("sizes", 0, low_open=True),
        choice("mode", ("fast", "slow")),
        number("limit", 1, hint="Or null."),
    )
}


@pytest.mark.parametrize(
    ("value", "annotation", "expected"),
    [
        (np.int64(3), int, (True, 3)),
        (2.5, int, (False, 2.5)),
        (True, int, (False, True)),
        (True, float, (False, True)),
        (1, float, (True, 1.0)),
        (np.float32(0.5), float, (True, 0.5)),
        ([1, 2], tuple[float, ...], (True, (1.0, 2.0))),
        (np.array([1, 2]), tuple[float, ...], (True, (1.0, 2.0))),
        ((1, "a"), tuple[float, ...], (False, (1, "a"))),
        (("a", "b"), tuple[str, str], (True, ("a", "b"))),
        (("a",), tuple[str, str], (False, ("a",))),
        ((1, 2), list[int], (True, [1, 2])),
        ([0.1], float | tuple[float, ...], (True, (0.1,))),
        (None, int | None, (True, None)),
        ("x", Literal["a", "b"], (True, "x")),
        (3, Literal["a", "b"], (False, 3)),
        ({"a": np.int64(1)}, Mapping[str, float], (True, {"a": 1.0})),
        ({"a": "b"}, Mapping[str, float], (False, {"a": "b"})),
        ("abc", Sequence[float], (False, "abc")),
    ],
)
def test_conform_checks_and_converts(value: Any, annotation: Any, expected: tuple) -> None:
    ok, out = conform(value, annotation)
    assert (ok, out) == expected
    assert type(out) is type(expected[1])


def test_type_text_names_annotations_as_yaml() -> None:
    assert type_text(int | None) == "an integer or null"
    assert type_text(float | tuple[float, ...]) == "a number or a list of numbers"
    assert type_text(Literal["a", "b"]) == "one of 'a', 'b'"
    assert type_text(str | UNetConfig) == "a string or a UNetConfig"
    assert type_text(bool) == "a boolean (true/false)"


def test_check_settings_converts_in_place_and_lists_every_problem() -> None:
    demo = _Demo(count=np.int64(2), ratio=1, names=["x", "y"], sizes=[1, 2], limit=None)
    assert demo == _Demo(count=2, ratio=1.0, names=("x", "y"), sizes=(1.0, 2.0))
    assert type(demo.count) is int and type(demo.ratio) is float
    with pytest.raises(InvalidConfigError) as info:
        _Demo(count="2", ratio=2, names=["x", "x"], sizes=(1, 0), mode="fats", limit=0)
    assert info.value.source == "_Demo"
    assert info.value.problems == [
        "demo.count: got '2' (string); expected an integer. The default is 3.",
        ("demo.ratio: value 2.0 is out of range; expected a number >= 0 and <= 1. The default "
         "is 0.5."),
        ("demo.names: names are repeated in ('x', 'x'); expected distinct names. Remove the "
         "repeated names."),
        "demo.sizes: value 0.0 is out of range; expected a number > 0. The default is 1.0.",
        "demo.mode: unknown value 'fats'; expected one of fast, slow. Did you mean 'fast'?",
        "demo.limit: value 0 is out of range; expected a number >= 1. Or null.",
    ]
    with pytest.raises(InvalidConfigError) as info:
        _Demo(names=(), mode=3)
    assert info.value.problems == [
        "demo.mode: got 3 (int); expected one of 'fast', 'slow'. The default is 'fast'.",
        "demo.names: the list is empty; expected at least one value. Name one.",
    ]


def test_settings_from_dict_lists_unknown_keys_with_the_other_problems() -> None:
    assert settings_from_dict(_Demo, None, "demo", "a.yaml") == _Demo()
    assert settings_from_dict(_Demo, {"count": 5}, "demo", "a.yaml") == _Demo(count=5)
    with pytest.raises(InvalidConfigError) as info:
        settings_from_dict(_Demo, {"cuont": 5, "ratio": -1, 7: 1}, "demo", "a.yaml")
    assert str(info.value) == (
        "a.yaml: 3 problems in the configuration:\n"
        "  - demo.cuont: unknown key; expected one of count, ratio, names, sizes, mode, limit. "
        "Did you mean 'count'?\n"
        "  - demo.7: unknown key; expected one of count, ratio, names, sizes, mode, limit. "
        "Remove it or use one of these names.\n"
        "  - demo.ratio: value -1.0 is out of range; expected a number >= 0 and <= 1. The "
        "default is 0.5."
    )
    with pytest.raises(InvalidConfigError) as info:
        settings_from_dict(_Demo, ["count"], "demo", "cli")
    assert str(info.value) == (
        "cli: demo: got ['count'] (list); expected a mapping of settings. Write one indented "
        "`key: value` line per setting."
    )


def test_every_settings_rule_reads_fields_of_its_dataclass() -> None:
    """A misspelt field in a settings table would make its rule silently skip."""
    from posekit.data import geometry
    from posekit.decoding import class_map_grouping, paf_grouping
    from posekit.evaluation import settings
    from posekit.io.synthetic import bodies, spec
    from posekit.tracking import config as tracking

    shared = {name for one in RULES["data_config.preprocessing"] for name in one.fields}
    tables = [
        (tracking.TrackingConfig, tracking.RULES),
        (paf_grouping.PAFGroupingParams, paf_grouping.RULES),
        (class_map_grouping.ClassMapGroupingParams, class_map_grouping.RULES),
        (settings.EvaluationSettings, settings.RULES),
        (geometry.PreprocessingOptions, geometry.RULES),
        (spec.SynthSpec, spec.RULES),
        (bodies.BodyPlan, bodies.RULES),
    ]
    for cls, table in tables:
        names = {f.name for f in fields(cls)}
        assert len(table) == 1, cls  # one section per settings dataclass
        for one in next(iter(table.values())):
            missing = set(one.fields) - names
            # The preprocessing options share the config's rules; crop sizes are not options.
            assert not missing or (cls is geometry.PreprocessingOptions and missing <= shared)
