"""From measured facts to the settings of each model to train (pure; no I/O, no torch).

:func:`plan_stage` applies the geometric and augmentation rules of
:mod:`posekit.autoconfig.choices` to one model (one config file); :func:`training_settings`
adds the batch size, learning rate and schedule once the step has been measured.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from posekit.autoconfig import choices as rules
from posekit.autoconfig.choices import Choice, Schedule
from posekit.autoconfig.label_facts import LabelFacts
from posekit.config import init_config
from posekit.data.geometry import plan_input_size
from posekit.model_types.registry import model_type_class

BACKBONE = "model_config.backbone_config.unet"
LITE0 = "model_config.backbone_config.efficientnet_lite0"
#: The backbones ``config auto`` can write, by name: the config path of each.
BACKBONES = {"unet": BACKBONE, "efficientnet_lite0": LITE0}
PREP = "data_config.preprocessing"
GEOM = "data_config.augmentation_config.geometric"
INTENSITY = "data_config.augmentation_config.intensity"
TRAINER = "trainer_config"


@dataclass(frozen=True)
class Setting:
    """One value written into a config: its dotted YAML path, value and reason."""

    path: str
    value: Any
    reason: str


@dataclass(frozen=True)
class StagePlan:
    """One model's geometry and augmentation.

    Attributes:
        head_type: the model type (``model_config.head_configs`` key).
        stage: ``"alone"``, ``"centroids"`` or ``"instances"`` (from the model type).
        template: the ``config init`` template of the type, as a plain dict.
        settings: the chosen values with their reasons.
        input_hw: the model input ``(height, width)`` (the crop for instance models).
        animal_px: the animal's p90 size in model pixels.
        window: the training window of a full-frame model (posekit-only, written to the
            sidecar's ``training_crops``), or ``None`` to train on whole frames.
        backbone: ``"unet"`` or ``"efficientnet_lite0"``.
    """

    head_type: str
    stage: str
    template: dict[str, Any]
    settings: tuple[Setting, ...]
    input_hw: tuple[int, int]
    animal_px: float
    window: Choice[int] | None = None
    backbone: str = "unet"

    @property
    def backbone_path(self) -> str:
        """Config path of the backbone block (``model_config.backbone_config.<name>``)."""
        return BACKBONES[self.backbone]

    @property
    def train_hw(self) -> tuple[int, int]:
        """What one training sample holds: the window, else the model input."""
        return (self.window.value, self.window.value) if self.window else self.input_hw

    @property
    def output_stride(self) -> int:
        """The backbone's output stride: the chosen one, else the template's."""
        try:
            return int(self.value(f"{self.backbone_path}.output_stride"))
        except KeyError:
            return int(get_path(self.template, f"{self.backbone_path}.output_stride"))

    def value(self, path: str) -> Any:
        """The chosen value at ``path`` (KeyError when it was not chosen)."""
        for setting in self.settings:
            if setting.path == path:
                return setting.value
        raise KeyError(path)


def get_path(data: dict[str, Any], path: str) -> Any:
    """The value at a dotted ``path`` of nested dicts."""
    for key in path.split("."):
        data = data[key]
    return data


def _set(out: list[Setting], path: str, choice: Choice[Any]) -> None:
    out.append(Setting(path, choice.value, choice.reason))


def plan_stage(facts: LabelFacts, head_type: str,
               scale_choice: Choice[float] | None = None, backbone: str = "unet") -> StagePlan:
    """Choose scale, max_stride, crop, sigmas and augmentation for one model
    (``scale_choice`` replaces the rule's input scale, e.g. a budget's lower one;
    ``backbone`` "efficientnet_lite0" puts the ImageNet-pretrained encoder in the UNet's
    place, see :func:`on_lite0`)."""
    template = yaml.safe_load(init_config(head_type))
    kind = model_type_class(head_type)
    stage = kind.stage
    unet = get_path(template, BACKBONE)
    head = f"model_config.head_configs.{head_type}"
    out_stride = int(get_path(template, f"{head}.confmaps.output_stride"))
    net = {"kernel_size": int(unet["kernel_size"]),
           "convs_per_block": int(unet["convs_per_block"]),
           "middle_block": bool(unet["middle_block"])}
    out: list[Setting] = []
    coarser = rules.choose_output_stride(kind.single_peak, out_stride)
    if coarser is not None:
        out_stride = coarser.value
        _set(out, f"{BACKBONE}.output_stride", coarser)
        _set(out, f"{head}.confmaps.output_stride", coarser)
    scale = scale_choice or rules.choose_scale(facts.size.p90, stage)
    _set(out, f"{PREP}.scale", scale)
    animal_px = facts.size.p90 * scale.value
    field = (rules.lite0_receptive_field if backbone == "efficientnet_lite0"
             else rules.receptive_field)
    max_stride = rules.choose_max_stride(animal_px, out_stride, **net, field=field)
    _set(out, f"{BACKBONE}.max_stride", max_stride)
    window = None
    if stage == "instances":
        crop = rules.choose_crop_size(facts.points, scale.value, max_stride.value)
        _set(out, f"{PREP}.crop_size", crop)
        _set(out, f"{PREP}.min_crop_size", Choice(
            crop.value, "the chosen crop_size (used only when crop_size is null)"))
        input_hw = (crop.value, crop.value)
    else:
        input_hw = plan_input_size([facts.frame_hw], scale.value, max_stride=max_stride.value)
        if stage == "alone":
            crop = rules.choose_crop_size(facts.points, scale.value, max_stride.value)
            window = rules.choose_training_window(crop.value, tuple(input_hw), max_stride.value)
    _set(out, f"{head}.confmaps.sigma", rules.choose_sigma(animal_px, out_stride))
    blocks = get_path(template, head)
    if "pafs" in blocks:
        _set(out, f"{head}.pafs.sigma", rules.choose_paf_sigma(animal_px))
    if "class_maps" in blocks:
        stride = int(blocks["class_maps"]["output_stride"])
        _set(out, f"{head}.class_maps.sigma", rules.choose_sigma(animal_px, stride))
    if "class_vectors" in blocks:
        _set(out, f"{head}.class_vectors.output_stride",
             Choice(max_stride.value, "reads the deepest features: equals max_stride"))
    _augmentation(out, facts)
    plan = StagePlan(head_type, stage, template, tuple(out), tuple(input_hw), animal_px,
                     window)
    return on_lite0(plan) if backbone == "efficientnet_lite0" else plan


def on_lite0(plan: StagePlan) -> StagePlan:
    """``plan`` (planned with the Lite0 encoder's receptive field) with the
    EfficientNet-Lite0 backbone block in the UNet's place: the same max_stride, output stride
    and channels, ImageNet weights."""
    template = json_copy(plan.template)
    unet = get_path(template, BACKBONE)
    template["model_config"]["backbone_config"] = {
        "unet": None, "convnext": None, "swint": None,
        "efficientnet_lite0": {
            "pre_trained_weights": "imagenet", "max_stride": unet["max_stride"],
            "in_channels": unet["in_channels"], "kernel_size": unet["kernel_size"],
            "filters_rate": 2.0, "convs_per_block": unet["convs_per_block"],
            "up_interpolate": unet["up_interpolate"], "output_stride": unet["output_stride"]}}
    settings = [Setting(LITE0 + s.path[len(BACKBONE):], s.value, s.reason)
                if s.path.startswith(BACKBONE + ".") else s for s in plan.settings]
    settings.append(Setting(f"{LITE0}.pre_trained_weights", "imagenet", LITE0_REASON))
    return StagePlan(plan.head_type, plan.stage, template, tuple(settings), plan.input_hw,
                     plan.animal_px, plan.window, backbone="efficientnet_lite0")


#: Why ``config auto --backbone efficientnet_lite0`` starts from ImageNet weights.
LITE0_REASON = ("ImageNet weights shipped with posekit; fewer large errors than the UNet "
                "from scratch in the same minutes (docs/auto.md)")


def json_copy(data: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of plain YAML data."""
    return yaml.safe_load(yaml.safe_dump(data))


def _augmentation(out: list[Setting], facts: LabelFacts) -> None:
    rotation = rules.choose_rotation(facts)
    _set(out, f"{GEOM}.rotation_min", Choice(-rotation.value, rotation.reason))
    _set(out, f"{GEOM}.rotation_max", Choice(rotation.value, rotation.reason))
    half = rules.choose_scale_augmentation(facts)
    _set(out, f"{GEOM}.scale_min", Choice(round(1 - half.value, 2), half.reason))
    _set(out, f"{GEOM}.scale_max", Choice(round(1 + half.value, 2), half.reason))
    light = rules.choose_intensity(facts)
    for name in ("brightness", "contrast"):
        _set(out, f"{INTENSITY}.{name}_min", Choice(round(1 - light.value, 2), light.reason))
        _set(out, f"{INTENSITY}.{name}_max", Choice(round(1 + light.value, 2), light.reason))


def n_training_samples(facts: LabelFacts, stage: str, validation_fraction: float) -> int:
    """Training samples per epoch: frames (instances for crop models) less validation."""
    total = facts.n_instances if stage == "instances" else facts.n_frames
    return max(1, total - max(1, round(total * validation_fraction)))


def training_settings(batch: Choice[int], lr: Choice[float],
                      schedule: Choice[Schedule]) -> tuple[Setting, ...]:
    """Batch sizes, learning rate, epochs and steps per epoch as settings."""
    plan = schedule.value
    out = [
        Setting(f"{TRAINER}.train_data_loader.batch_size", batch.value, batch.reason),
        Setting(f"{TRAINER}.val_data_loader.batch_size", batch.value,
                "same as training (validation needs no more memory)"),
        Setting(f"{TRAINER}.optimizer.lr", lr.value, lr.reason),
        Setting(f"{TRAINER}.max_epochs", plan.max_epochs, schedule.reason),
    ]
    if plan.steps_per_epoch is not None:
        out.append(Setting(f"{TRAINER}.train_steps_per_epoch", plan.steps_per_epoch,
                           schedule.reason))
    return tuple(out)
