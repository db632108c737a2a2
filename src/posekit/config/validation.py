"""Checks on a built config that go beyond per-field types.

:func:`validate` returns every problem found (as ``"dotted.path: message"`` strings) rather
than stopping at the first, so a user sees all of them at once. Checks: allowed values,
probabilities in [0, 1], ``min <= max`` ranges, positive sizes, exactly one backbone and
head, at most one learning-rate scheduler, and stride compatibility between the backbone
and the heads.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import fields, is_dataclass
from typing import Any

from posekit.config.problems import raise_if_problems
from posekit.config.schema import (
    BACKBONE_TYPES,
    HEAD_TYPES,
    INTERNAL,
    LR_SCHEDULER_TYPES,
    ClassVectorsConfig,
    ConvNextConfig,
    SwinTConfig,
    TrainingJobConfig,
    UNetConfig,
)
from posekit.config.spellings import parse_address

CHOICES: dict[str, tuple[Any, ...]] = {
    "data_config.provider": ("LabelsReader",),
    "data_config.data_pipeline_fw": (
        "torch_dataset",
        "torch_dataset_cache_img_memory",
        "torch_dataset_cache_img_disk",
    ),
    "model_config.init_weights": ("default", "xavier"),
    "model_config.backbone_config.convnext.model_type": ("tiny", "small", "base", "large"),
    "model_config.backbone_config.convnext.pre_trained_weights": (
        None,
        "ConvNeXt_Tiny_Weights",
        "ConvNeXt_Small_Weights",
        "ConvNeXt_Base_Weights",
        "ConvNeXt_Large_Weights",
    ),
    "model_config.backbone_config.swint.model_type": ("tiny", "small", "base"),
    "model_config.backbone_config.swint.pre_trained_weights": (
        None,
        "Swin_T_Weights",
        "Swin_S_Weights",
        "Swin_B_Weights",
    ),
    "trainer_config.trainer_accelerator": ("auto", "cpu", "gpu", "cuda", "mps"),
    "trainer_config.profiler": (None, "simple", "advanced", "pytorch", "passthrough"),
    "trainer_config.optimizer_name": ("Adam", "AdamW"),
    "trainer_config.lr_scheduler.reduce_lr_on_plateau.threshold_mode": ("rel", "abs"),
    "trainer_config.wandb.wandb_mode": (None, "online", "offline", "disabled"),
}

# (section path, low field, high field) pairs that must satisfy low <= high.
_AUG = "data_config.augmentation_config"
RANGES: tuple[tuple[str, str, str], ...] = (
    (f"{_AUG}.intensity", "uniform_noise_min", "uniform_noise_max"),
    (f"{_AUG}.intensity", "contrast_min", "contrast_max"),
    (f"{_AUG}.intensity", "brightness_min", "brightness_max"),
    (f"{_AUG}.geometric", "rotation_min", "rotation_max"),
    (f"{_AUG}.geometric", "scale_min", "scale_max"),
    (f"{_AUG}.geometric", "erase_scale_min", "erase_scale_max"),
    (f"{_AUG}.geometric", "erase_ratio_min", "erase_ratio_max"),
    (f"{_AUG}.geometric", "mixup_lambda_min", "mixup_lambda_max"),
    ("trainer_config.online_hard_keypoint_mining", "min_hard_keypoints", "max_hard_keypoints"),
)

# Field name -> (lowest allowed, lowest is allowed itself, highest allowed or None).
# Applied wherever a field of that name appears with a numeric value.
BOUNDS: dict[str, tuple[float, bool, float | None]] = {
    "sigma": (0, False, None),
    "batch_size": (1, True, None),
    "num_workers": (0, True, None),
    "max_epochs": (1, True, None),
    "min_train_steps_per_epoch": (1, True, None),
    "train_steps_per_epoch": (1, True, None),
    "lr": (0, False, None),
    "scale": (0, False, None),
    "crop_size": (1, True, None),
    "min_crop_size": (0, True, None),
    "max_height": (1, True, None),
    "max_width": (1, True, None),
    "in_channels": (1, True, None),
    "kernel_size": (1, True, None),
    "filters": (1, True, None),
    "filters_rate": (0, False, None),
    "stacks": (1, True, None),
    "convs_per_block": (1, True, None),
    "patch_size": (1, True, None),
    "window_size": (1, True, None),
    "stem_patch_kernel": (1, True, None),
    "num_fc_layers": (0, True, None),
    "num_fc_units": (1, True, None),
    "loss_weight": (0, True, None),
    "step_size": (1, True, None),
    "gamma": (0, False, None),
    "factor": (0, False, None),
    "cooldown": (0, True, None),
    "patience": (0, True, None),
    "threshold": (0, True, None),
    "min_lr": (0, True, None),
    "min_delta": (0, True, None),
    "save_top_k": (-1, True, None),
    "seed": (0, True, None),
    "hard_to_easy_ratio": (0, False, None),
    "min_hard_keypoints": (1, True, None),
    "max_hard_keypoints": (1, True, None),
    "loss_scale": (0, False, None),
    "controller_polling_timeout": (0, True, None),
    "publish_port": (1, True, 65535),
    "controller_port": (1, True, 65535),
    "total_params": (0, True, None),
    "uniform_noise_min": (0, True, 1),
    "uniform_noise_max": (0, True, 1),
    "gaussian_noise_std": (0, True, None),
    "contrast_min": (0, True, None),
    "brightness_min": (0, True, None),
    "rotation_min": (-180, True, 180),
    "rotation_max": (-180, True, 180),
    "scale_min": (0, False, None),
    "translate_width": (0, True, 1),
    "translate_height": (0, True, 1),
    "erase_scale_min": (0, False, 1),
    "erase_scale_max": (0, False, 1),
    "erase_ratio_min": (0, False, None),
    "mixup_lambda_min": (0, True, 1),
    "mixup_lambda_max": (0, True, 1),
}


def walk(obj: Any, path: str = "") -> Iterator[tuple[str, str, Any, Any]]:
    """Yield ``(path, field name, value, owner)`` for every YAML field, depth first."""
    for f in fields(obj):
        if f.metadata.get(INTERNAL):
            continue
        value = getattr(obj, f.name)
        sub = f"{path}.{f.name}" if path else f.name
        yield sub, f.name, value, obj
        if is_dataclass(value):
            yield from walk(value, sub)


def _lookup(cfg: Any, dotted: str) -> Any:
    obj = cfg
    for part in dotted.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def is_power_of_two(value: Any) -> bool:
    """True for 1, 2, 4, 8, ... (integers only)."""
    return isinstance(value, int) and value >= 1 and (value & (value - 1)) == 0


def effective_max_stride(backbone: UNetConfig | ConvNextConfig | SwinTConfig) -> int:
    """The stride of the backbone's deepest features.

    For UNet this is ``max_stride``. ConvNeXt and Swin have a fixed depth (a stem, then
    three 2x downsamplings and a final 2x), so their deepest stride is always
    ``stem_patch_stride * 16`` whatever ``max_stride`` says; sleap-nn does the same.
    """
    if isinstance(backbone, UNetConfig):
        return backbone.max_stride
    return backbone.stem_patch_stride * 16


def _bound_problem(name: str, value: Any) -> str | None:
    low, inclusive, high = BOUNDS[name]
    values = value if isinstance(value, list) else [value]
    for v in values:
        if not isinstance(v, (int, float)) or isinstance(v, bool):
            continue
        too_low = v < low or (v == low and not inclusive)
        too_high = high is not None and v > high
        if too_low or too_high:
            lower = f">= {low}" if inclusive else f"> {low}"
            upper = f" and <= {high}" if high is not None else ""
            return f"value {v!r} is out of range; expected a number {lower}{upper}."
    return None


def _field_checks(cfg: TrainingJobConfig, problems: list[str]) -> None:
    for path, name, value, _owner in walk(cfg):
        if value is None:
            continue
        if name.endswith("_p") or name == "validation_fraction":
            if not (0.0 <= value <= 1.0):
                problems.append(
                    f"{path}: probability {value!r} is outside [0, 1]; expected a number "
                    "between 0 and 1."
                )
        elif name in BOUNDS:
            problem = _bound_problem(name, value)
            if problem:
                problems.append(f"{path}: {problem}")
        if path in CHOICES and value not in CHOICES[path]:
            allowed = ", ".join("null" if c is None else str(c) for c in CHOICES[path])
            hint = ""
            lowered = {str(c).lower(): c for c in CHOICES[path] if c is not None}
            if isinstance(value, str) and value.lower() in lowered:
                hint = f" Did you mean '{lowered[value.lower()]}'? (names are case-sensitive)"
            problems.append(f"{path}: unknown value {value!r}; expected one of {allowed}.{hint}")


def _range_checks(cfg: TrainingJobConfig, problems: list[str]) -> None:
    for section_path, low_name, high_name in RANGES:
        section = _lookup(cfg, section_path)
        if section is None:
            continue
        low, high = getattr(section, low_name), getattr(section, high_name)
        if low is not None and high is not None and low > high:
            problems.append(
                f"{section_path}.{low_name}: {low_name} ({low!r}) is greater than {high_name} "
                f"({high!r}); expected {low_name} <= {high_name}. Swap them or fix one."
            )


def _one_of(section: Any, names: tuple[str, ...], path: str, what: str, exactly: bool) -> list[str]:
    chosen = [n for n in names if getattr(section, n) is not None]
    if (exactly and len(chosen) == 1) or (not exactly and len(chosen) <= 1):
        return []
    found = ", ".join(chosen) if chosen else "none"
    rule = "exactly one" if exactly else "at most one"
    message = (
        f"{path}: {rule} {what} must be set, found {found}; expected one of "
        f"{', '.join(names)}. Keep the one you want and set the others to null."
    )
    return [message]


def _misc_checks(cfg: TrainingJobConfig, problems: list[str]) -> None:
    pre = cfg.data_config.preprocessing
    if pre.ensure_rgb and pre.ensure_grayscale:
        problems.append(
            "data_config.preprocessing: ensure_rgb and ensure_grayscale are both true; "
            "expected at most one. Keep the channel layout your backbone's in_channels expects."
        )
    plateau = cfg.trainer_config.lr_scheduler.reduce_lr_on_plateau
    if plateau is not None and plateau.factor >= 1:
        problems.append(
            f"trainer_config.lr_scheduler.reduce_lr_on_plateau.factor: {plateau.factor!r} would "
            "not lower the learning rate; expected a number between 0 and 1 (e.g. 0.5)."
        )
    devices = cfg.trainer_config.trainer_devices
    if isinstance(devices, str) and devices != "auto":
        problems.append(
            f"trainer_config.trainer_devices: unknown value {devices!r}; expected a number of "
            "devices (>= 1), 'auto' or null."
        )
    elif isinstance(devices, int) and devices < 1:
        problems.append(
            f"trainer_config.trainer_devices: {devices} devices requested; expected >= 1, "
            "'auto' or null."
        )
    indices = cfg.trainer_config.trainer_device_indices
    if indices is not None and (any(i < 0 for i in indices) or len(set(indices)) != len(indices)):
        problems.append(
            f"trainer_config.trainer_device_indices: {indices!r} has negative or repeated "
            "indices; expected distinct device numbers such as [0, 1]."
        )
    zmq = cfg.trainer_config.zmq
    if zmq.publish_port is not None and zmq.publish_port == zmq.controller_port:
        problems.append(
            f"trainer_config.zmq: publish_port and controller_port are both {zmq.publish_port}; "
            "expected two different ports (e.g. 9001 and 9000)."
        )
    for kind in ("publish", "controller"):
        address = getattr(zmq, f"{kind}_address")
        if address is None:
            continue
        try:
            _host, port = parse_address(address)
        except ValueError:
            problems.append(
                f"trainer_config.zmq.{kind}_address: cannot read {address!r}; expected "
                "'tcp://HOST:PORT'."
            )
            continue
        if port != getattr(zmq, f"{kind}_port"):
            problems.append(
                f"trainer_config.zmq.{kind}_address: port {port} differs from {kind}_port "
                f"{getattr(zmq, f'{kind}_port')!r}; expected the same port. Fix one of them."
            )
    _arch_checks(cfg, problems)
    _name_list_checks(cfg, problems)


def _arch_checks(cfg: TrainingJobConfig, problems: list[str]) -> None:
    backbones = cfg.model_config.backbone_config
    for name in ("convnext", "swint"):
        backbone = getattr(backbones, name)
        if backbone is None or backbone.arch is None:
            continue
        arch = backbone.arch
        path = f"model_config.backbone_config.{name}.arch"
        for key in ("depths", "channels"):
            values = getattr(arch, key)
            if len(values) != 4 or any(v < 1 for v in values):
                problems.append(
                    f"{path}.{key}: {values!r}; expected 4 positive integers (one per stage)."
                )
        if name == "swint" and arch.embed < 1:
            problems.append(f"{path}.embed: {arch.embed!r}; expected a positive integer.")


def _name_list_checks(cfg: TrainingJobConfig, problems: list[str]) -> None:
    for path, name, value, _owner in walk(
        cfg.model_config.head_configs, "model_config.head_configs"
    ):
        if value is None:
            continue
        if name in ("part_names", "classes") and len(set(value)) != len(value):
            problems.append(f"{path}: names are repeated in {value!r}; expected distinct names.")
        if name == "edges":
            for i, edge in enumerate(value):
                if len(edge) != 2:
                    problems.append(
                        f"{path}[{i}]: {edge!r}; expected a [source, destination] pair."
                    )


def _stride_checks(cfg: TrainingJobConfig, problems: list[str]) -> None:
    model = cfg.model_config
    chosen = [n for n in BACKBONE_TYPES if getattr(model.backbone_config, n) is not None]
    if len(chosen) != 1:
        return
    name = chosen[0]
    backbone = getattr(model.backbone_config, name)
    path = f"model_config.backbone_config.{name}"
    max_stride = effective_max_stride(backbone)
    if isinstance(backbone, UNetConfig):
        if not is_power_of_two(backbone.max_stride):
            problems.append(
                f"{path}.max_stride: {backbone.max_stride!r}; expected a power of two "
                "(4, 8, 16, 32, ...)."
            )
            return
        stem = backbone.stem_stride
        if stem is not None and (not is_power_of_two(stem) or max_stride % stem):
            problems.append(
                f"{path}.stem_stride: {stem!r} does not divide max_stride {max_stride}; "
                "expected a power of two <= max_stride, or null."
            )
    elif not is_power_of_two(backbone.stem_patch_stride):
        problems.append(
            f"{path}.stem_patch_stride: {backbone.stem_patch_stride!r}; expected a power of two."
        )
        return
    out = backbone.output_stride
    if not is_power_of_two(out) or out > max_stride:
        problems.append(
            f"{path}.output_stride: {out!r}; expected a power of two <= max_stride ({max_stride})."
        )
        return
    heads = [n for n in HEAD_TYPES if getattr(model.head_configs, n) is not None]
    if len(heads) != 1:
        return
    head = getattr(model.head_configs, heads[0])
    for f in fields(head):
        block = getattr(head, f.name)
        stride = block.output_stride
        block_path = f"model_config.head_configs.{heads[0]}.{f.name}.output_stride"
        if isinstance(block, ClassVectorsConfig):
            if stride != max_stride:
                problems.append(
                    f"{block_path}: {stride!r}; the identity classifier reads the deepest "
                    f"features, so expected the backbone's max stride ({max_stride})."
                )
        elif not is_power_of_two(stride) or not out <= stride <= max_stride:
            problems.append(
                f"{block_path}: {stride!r} is incompatible with the backbone; expected a power "
                f"of two between the backbone output_stride ({out}) and its max stride "
                f"({max_stride})."
            )


def validate(cfg: TrainingJobConfig) -> list[str]:
    """Return every cross-field problem of ``cfg`` (empty when it is valid)."""
    problems: list[str] = []
    _field_checks(cfg, problems)
    _range_checks(cfg, problems)
    problems += _one_of(
        cfg.model_config.backbone_config,
        BACKBONE_TYPES,
        "model_config.backbone_config",
        "backbone",
        exactly=True,
    )
    problems += _one_of(
        cfg.model_config.head_configs,
        HEAD_TYPES,
        "model_config.head_configs",
        "head",
        exactly=True,
    )
    problems += _one_of(
        cfg.trainer_config.lr_scheduler,
        LR_SCHEDULER_TYPES,
        "trainer_config.lr_scheduler",
        "learning-rate scheduler",
        exactly=False,
    )
    _misc_checks(cfg, problems)
    _stride_checks(cfg, problems)
    return problems


def check_config(cfg: TrainingJobConfig, source: str = "config") -> None:
    """Raise :class:`~posekit.config.problems.InvalidConfigError` listing every problem."""
    raise_if_problems(source, validate(cfg))
