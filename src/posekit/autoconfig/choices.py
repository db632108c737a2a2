"""The rules of ``posekit config auto``: measured facts in, one value and its reason out.

Every rule is a pure function returning a :class:`Choice` whose ``reason`` names the number
it came from, so the written YAML can say why each value was chosen. The thresholds are
module constants, documented in ``docs/auto.md``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Generic, TypeVar

import numpy as np

from posekit.autoconfig.label_facts import LabelFacts
from posekit.data.cropping import crop_size_for_instances
from posekit.utils.durations import format_duration

T = TypeVar("T")

#: Top-down pays when the animal's p90 size is below this fraction of the frame's shorter side.
TOPDOWN_MAX_RELATIVE = 0.3
#: Bottom-up when at least this share of multi-animal frames has overlapping animals ...
BOTTOMUP_OVERLAP = 0.2
#: ... or when a frame holds at least this many animals.
MANY_ANIMALS = 6
#: Full-frame and instance models: the animal's p90 size is scaled down to at most this.
ANIMAL_PX = 320.0
#: Centroid models: the animal's p90 size is scaled down to about this (a coarse location).
CENTROID_ANIMAL_PX = 64.0
#: Input scales are rounded down to this step, and never below MIN_SCALE.
SCALE_STEP = 0.05
MIN_SCALE = 0.1
#: UNet max_stride candidates, smallest first.
MAX_STRIDES = (8, 16, 32, 64)
#: The receptive field must reach this share of the animal's p90 size ("about the size of
#: the animal", SLEAP's guide). On 96 px mice a stride-4 single-instance model with a 92 px
#: field made 1.5-1.8x the steps of the next depth (212 px) in a 60 s budget and had the
#: lower error on 3 of 3 datasets (``benchmarks/output_stride.py``).
RF_COVER = 0.9
#: Models that find one peak per part (single instance, and the instance stage of top-down
#: models) predict their maps on this coarser grid (sleap-nn's templates use 2) and find
#: sub-pixel peaks by integral refinement. Single instance: in the same budget a stride-4
#: model made 1.4-1.6x the steps of a stride-2 one, had the higher PCK@5px and OKS mAP in 6
#: of 6 synthetic runs and the lower mean error in 5, and was better on every number on the
#: reaching data; stride 8 was worse than 4 everywhere. Top-down instance models on the real
#: two-fly data (centered instance twice, with identity classes once): 1.1-1.3x the steps, a
#: lower mean error in 3 of 3 runs (3.4-4.4 px against 6.0-7.2) and a higher OKS mAP in 3 of 3
#: (0.55-0.67 against 0.00-0.54); on easy synthetic crops, where both grids reach ~1 px,
#: stride 2 was finer on 2 of 3 datasets (``benchmarks/output_stride.py``).
SINGLE_PEAK_OUTPUT_STRIDE = 4
#: Confidence-map spread: this fraction of the animal's size, within SIGMA_PX (model pixels).
#: The floor is sleap-nn's sample spread (2.5 cells at stride 2): narrower maps leave the
#: all-zero start later (a 2.5 px spread found nothing in 45 s where 5 px did).
SIGMA_FRACTION = 0.05
SIGMA_PX = (5.0, 10.0)
#: Part-affinity-field half-width: this fraction of the animal, within PAF_SIGMA_PX.
PAF_FRACTION = 0.075
PAF_SIGMA_PX = (4.0, 15.0)
#: Top view when the 95th-percentile body-axis deviation reaches this (degrees).
TOP_VIEW_DEVIATION = 45.0
TOP_VIEW_ROTATION = 180.0
SIDE_VIEW_ROTATION = 15.0
#: Scale augmentation half-width: the animal size's coefficient of variation, clipped.
SCALE_AUG = (0.1, 0.25)
#: Brightness / contrast half-width: twice the frames' brightness CV, clipped.
INTENSITY_AUG = (0.1, 0.3)
#: Linear learning-rate rule above REFERENCE_BATCH (Protocol B); REFERENCE_LR below it
#: (Adam's usual step, which the pose templates train well with at batch 4).
REFERENCE_BATCH = 8
REFERENCE_LR = 1e-3
#: Largest batch chosen, whatever the memory allows (LR 0.004 at the linear rule).
MAX_BATCH = 32
#: Batch on a CPU: a sample costs about the same time at any batch size there, so the
#: smallest batch the sample configs use gives the most optimiser steps per minute (measured
#: on synthetic mice, 45 s budgets: batch 9 -> PCK@5px 0.65, batch 4 -> 0.97).
CPU_BATCH = 4
#: A budget should allow at least this many optimiser steps; the batch shrinks to allow them.
MIN_BUDGET_STEPS = 200
#: A budget should let the model see at least this many training samples; when the measured
#: time per sample allows fewer, the input scale is lowered (time per sample follows the
#: pixel count) down to BUDGET_ANIMAL_PX.
BUDGET_SAMPLES = 3000
#: The lowest animal p90 size (model pixels) a budget may scale down to, per stage.
BUDGET_ANIMAL_PX = {"centroids": 32.0, "alone": 96.0, "instances": 96.0}
#: A budgeted epoch has at least this many steps, so validation stays a small share.
MIN_EPOCH_STEPS = 50


@dataclass(frozen=True)
class Choice(Generic[T]):
    """A chosen value and the reason, with the number it came from."""

    value: T
    reason: str


def _fmt(x: float) -> str:
    """A number as the comments write it (no trailing zeros)."""
    return f"{x:.3g}" if abs(x) < 10 else f"{x:.0f}"


# ------------------------------------------------------------------ model type


def choose_model_type(facts: LabelFacts) -> Choice[tuple[str, ...]]:
    """The head type of each model to train, in order (two for top-down)."""
    rel = facts.relative_size
    size = (f"animal p90 size {_fmt(facts.size.p90)} px is {rel:.0%} of the frame's "
            f"{facts.frame_side} px side")
    crowded = facts.overlap_share >= BOTTOMUP_OVERLAP or facts.instances_max >= MANY_ANIMALS
    small = rel < TOPDOWN_MAX_RELATIVE
    if facts.tracks.identities:
        if small and not crowded:
            return Choice(("centroid", "multi_class_topdown"),
                          f"tracks are identities ({facts.tracks.reason}) and {size} "
                          f"(< {TOPDOWN_MAX_RELATIVE:.0%}): top-down with identity classes")
        return Choice(("multi_class_bottomup",),
                      f"tracks are identities ({facts.tracks.reason}); "
                      + _bottomup_why(facts, small))
    if facts.instances_max <= 1:
        if small:
            return Choice(("centroid", "centered_instance"),
                          f"one animal per frame and {size} (< {TOPDOWN_MAX_RELATIVE:.0%}): "
                          "a crop model reads far fewer pixels than a full-frame one")
        return Choice(("single_instance",),
                      f"one animal per frame and {size} (>= {TOPDOWN_MAX_RELATIVE:.0%})")
    if crowded or not small:
        return Choice(("bottomup",), f"up to {facts.instances_max} animals per frame "
                      f"({facts.tracks.reason}); " + _bottomup_why(facts, small))
    return Choice(("centroid", "centered_instance"),
                  f"up to {facts.instances_max} animals per frame, overlapping in "
                  f"{facts.overlap_share:.0%} of them, and {size}: top-down crops")


def asked_models(name: str) -> tuple[str, ...]:
    """The models to train for a model type the user names: an instance type (trained on
    crops) gets a centroid model before it; a centroid model alone is not a pipeline.

    Raises:
        ConfigError: an unknown name or a centroid model alone.
    """
    from posekit.errors import ConfigError
    from posekit.model_types.registry import MODEL_TYPES, model_type_class

    askable = [n for n in MODEL_TYPES if model_type_class(n).stage != "centroids"]
    if name not in askable:
        raise ConfigError(f"--model-type {name!r}: expected one of {', '.join(askable)} "
                          "(instance types train a centroid model too).")
    return ("centroid", name) if model_type_class(name).stage == "instances" else (name,)


def asked_model_type(facts: LabelFacts, name: str) -> Choice[tuple[str, ...]]:
    """The model type the user asked for, checked against the labels (by the types' own
    descriptions: one peak per frame, identity classes), with what the rules would have
    chosen in its reason.

    Raises:
        ConfigError: an unknown name, a model that finds one animal for frames with
            several, or an identity model without identity tracks.
    """
    from posekit.errors import ConfigError
    from posekit.model_types.registry import model_type_class

    models = asked_models(name)
    first = model_type_class(models[0])
    if first.stage == "alone" and first.single_peak and facts.instances_max > 1:
        raise ConfigError(f"--model-type {name}: {facts.source} has up to "
                          f"{facts.instances_max} animals in a frame; a {name} model finds "
                          "one. Choose centered_instance or bottomup.")
    if any(model_type_class(m).has_classes for m in models) and not facts.tracks.identities:
        raise ConfigError(f"--model-type {name}: identity models learn the track names as "
                          f"classes, but in {facts.source} {facts.tracks.reason}. Name every "
                          "animal's track consistently, or choose a type without classes.")
    rules_choice = choose_model_type(facts)
    return Choice(models, f"asked for {name} (the rules would choose "
                  f"{' + '.join(rules_choice.value)}: {rules_choice.reason})")


def _bottomup_why(facts: LabelFacts, small: bool) -> str:
    if facts.overlap_share >= BOTTOMUP_OVERLAP:
        return (f"animals overlap in {facts.overlap_share:.0%} of multi-animal frames "
                f"(>= {BOTTOMUP_OVERLAP:.0%}): bottom-up")
    if facts.instances_max >= MANY_ANIMALS:
        return f"{facts.instances_max} animals in a frame (>= {MANY_ANIMALS}): bottom-up"
    return (f"animal p90 size is {facts.relative_size:.0%} of the frame (>= "
            f"{TOPDOWN_MAX_RELATIVE:.0%}): crops would save little, bottom-up"
            if not small else "bottom-up")


# ------------------------------------------------------------------ geometry


def choose_scale(animal_px: float, stage: str) -> Choice[float]:
    """Input scale so the animal's p90 size spans at most :data:`ANIMAL_PX` model pixels
    (:data:`CENTROID_ANIMAL_PX` for ``stage == "centroids"``), rounded down to
    :data:`SCALE_STEP`."""
    target = CENTROID_ANIMAL_PX if stage == "centroids" else ANIMAL_PX
    if animal_px <= target:
        return Choice(1.0, f"the animal's p90 size {_fmt(animal_px)} px is within {_fmt(target)}"
                      " px: full resolution")
    scale = max(MIN_SCALE, math.floor(target / animal_px / SCALE_STEP + 1e-9) * SCALE_STEP)
    scale = round(scale, 3)
    what = "a coarse location is enough: " if stage == "centroids" else ""
    return Choice(scale, f"{what}the animal's p90 size {_fmt(animal_px)} px becomes "
                  f"{_fmt(animal_px * scale)} px (target <= {_fmt(target)} px)")


def choose_budget_scale(scale: float, animal_px: float, stage: str,
                        seconds_per_sample: float, budget_s: float,
                        reserve: float = 0.1) -> Choice[float] | None:
    """A lower input scale when the budget allows fewer than :data:`BUDGET_SAMPLES` samples
    at ``scale`` (``seconds_per_sample`` measured there), assuming time per sample follows
    the pixel count (``scale`` squared); never below the scale at which the animal's p90
    size (``animal_px``, frame pixels) spans :data:`BUDGET_ANIMAL_PX` model pixels. ``None``
    when the budget affords enough samples at ``scale`` or no lower scale is allowed."""
    usable = budget_s * (1.0 - reserve)
    affordable = usable / seconds_per_sample
    if affordable >= BUDGET_SAMPLES:
        return None
    floor_px = BUDGET_ANIMAL_PX.get(stage, BUDGET_ANIMAL_PX["alone"])
    wanted = scale * math.sqrt(affordable / BUDGET_SAMPLES)
    floor = min(scale, floor_px / animal_px)
    lowered = max(MIN_SCALE, floor, math.floor(wanted / SCALE_STEP + 1e-9) * SCALE_STEP)
    lowered = round(min(lowered, scale), 3)
    if lowered >= scale:
        return None
    why = ("the animal's floor of " + _fmt(floor_px) + " px" if lowered <= floor + 1e-9
           else f"about {BUDGET_SAMPLES} samples")
    return Choice(lowered, f"the {format_duration(budget_s)} budget allows {affordable:.0f} "
                  f"samples at scale {scale:g} ({seconds_per_sample:.3g} s each); scale "
                  f"{lowered:g} (the animal's p90 size becomes {_fmt(animal_px * lowered)} px) "
                  f"gives {why} (target {BUDGET_SAMPLES})")


@lru_cache(maxsize=64)
def receptive_field(max_stride: int, output_stride: int, kernel_size: int = 3,
                    convs_per_block: int = 2, middle_block: bool = True) -> int:
    """Receptive field (model pixels) of posekit's UNet with these settings, computed by
    :meth:`posekit.models.unet.UNet.receptive_field` on a one-filter network."""
    from posekit.models.unet import UNet

    net = UNet(filters=1, filters_rate=1.0, max_stride=max_stride, output_stride=output_stride,
               kernel_size=kernel_size, convs_per_block=convs_per_block,
               middle_block=middle_block)
    return int(net.receptive_field())


@lru_cache(maxsize=64)
def lite0_receptive_field(max_stride: int, output_stride: int, kernel_size: int = 3,
                          convs_per_block: int = 2, middle_block: bool = True) -> int:
    """Receptive field (model pixels) of the EfficientNet-Lite0 backbone with these settings
    (:meth:`posekit.models.efficientnet_lite.EfficientNetLite0.receptive_field`;
    ``middle_block`` is a UNet option and is ignored)."""
    from posekit.models.efficientnet_lite import EfficientNetLite0

    net = EfficientNetLite0(max_stride=max_stride, output_stride=output_stride,
                            kernel_size=kernel_size, convs_per_block=convs_per_block)
    return int(net.receptive_field())


def choose_max_stride(animal_px: float, output_stride: int, kernel_size: int = 3,
                      convs_per_block: int = 2, middle_block: bool = True,
                      field: Callable[..., int] = receptive_field) -> Choice[int]:
    """The smallest ``max_stride`` whose receptive field (``field``: the UNet's, or
    :func:`lite0_receptive_field`) reaches :data:`RF_COVER` of ``animal_px``."""
    for stride in MAX_STRIDES:
        if stride < output_stride:
            continue
        rf = field(stride, output_stride, kernel_size, convs_per_block, middle_block)
        if rf >= animal_px:
            return Choice(stride, f"receptive field {rf} px covers the animal's p90 size "
                          f"{_fmt(animal_px)} px")
        if rf >= RF_COVER * animal_px:
            return Choice(stride, f"receptive field {rf} px is within {1 - RF_COVER:.0%} of "
                          f"the animal's p90 size {_fmt(animal_px)} px")
    stride = MAX_STRIDES[-1]
    rf = field(stride, output_stride, kernel_size, convs_per_block, middle_block)
    return Choice(stride, f"receptive field {rf} px, the largest offered, is smaller than the "
                  f"animal's p90 size {_fmt(animal_px)} px: lower the input scale")


def choose_crop_size(points: np.ndarray, scale: float, max_stride: int) -> Choice[int]:
    """Crop side holding every labelled animal at any rotation (at ``scale``), a multiple of
    ``max_stride`` (:func:`posekit.data.cropping.crop_size_for_instances`)."""
    pts = np.asarray(points, dtype=np.float64) * scale
    size = crop_size_for_instances(pts, 0, max_stride, None)
    from posekit.keypoints import anchor_points

    reach = np.linalg.norm(pts - anchor_points(pts)[:, None, :], axis=-1)
    radius = float(np.nanmax(reach))
    return Choice(size, f"holds the largest animal at any rotation (reach {_fmt(radius)} px "
                  f"from its centre, plus margin), a multiple of max_stride {max_stride}")


#: Full-frame models train on windows of WINDOW_CROPS instance crops (rounded up to the max
#: stride) when such a window has at most WINDOW_MAX_SHARE of the input's pixels.
WINDOW_CROPS = 2
WINDOW_MAX_SHARE = 0.5


def choose_training_window(crop: int, input_hw: tuple[int, int], max_stride: int
                           ) -> Choice[int] | None:
    """Window side for training a full-frame model on parts of its frames
    (:mod:`posekit.data.frame_crops`): :data:`WINDOW_CROPS` times the crop that holds one
    animal (``crop``), a multiple of ``max_stride``; ``None`` when such a window would not
    save at least ``1 - WINDOW_MAX_SHARE`` of the input's pixels."""
    window = int(math.ceil(WINDOW_CROPS * crop / max_stride) * max_stride)
    share = window * window / float(input_hw[0] * input_hw[1])
    if share > WINDOW_MAX_SHARE:
        return None
    return Choice(window, f"{WINDOW_CROPS} x the {crop} px crop that holds one animal: a "
                  f"{window} px window has {share:.0%} of the {input_hw[1]}x{input_hw[0]} "
                  "input's pixels; inference still reads whole frames")


def choose_output_stride(single_peak: bool, template_stride: int) -> Choice[int] | None:
    """Output stride of the maps of a model that finds one peak per part (``single_peak``:
    single instance, or the instance stage of a top-down model):
    :data:`SINGLE_PEAK_OUTPUT_STRIDE`; ``None`` for the models that find many peaks
    (centroid, bottom-up), which keep their template's grid, and never finer than the
    template."""
    if not single_peak or template_stride >= SINGLE_PEAK_OUTPUT_STRIDE:
        return None
    return Choice(SINGLE_PEAK_OUTPUT_STRIDE,
                  "coarser grid, sub-pixel peaks by integral refinement: more steps in a "
                  f"budget and lower error than stride {template_stride} (docs/auto.md)")


def choose_sigma(animal_px: float, output_stride: int) -> Choice[float]:
    """Confidence-map spread in output-grid cells: :data:`SIGMA_FRACTION` of the animal's
    model-pixel size, within :data:`SIGMA_PX`, divided by ``output_stride``."""
    px = float(np.clip(SIGMA_FRACTION * animal_px, *SIGMA_PX))
    cells = round(px / output_stride, 2)
    return Choice(cells, f"{_fmt(cells * output_stride)} model px ({SIGMA_FRACTION:.0%} of the "
                  f"animal's {_fmt(animal_px)} px, within {_fmt(SIGMA_PX[0])}-"
                  f"{_fmt(SIGMA_PX[1])}) / output stride {output_stride}")


def choose_paf_sigma(animal_px: float) -> Choice[float]:
    """Part-affinity-field half-width (model pixels): :data:`PAF_FRACTION` of the animal."""
    px = round(float(np.clip(PAF_FRACTION * animal_px, *PAF_SIGMA_PX)), 1)
    return Choice(px, f"{PAF_FRACTION:.1%} of the animal's {_fmt(animal_px)} px, within "
                  f"{_fmt(PAF_SIGMA_PX[0])}-{_fmt(PAF_SIGMA_PX[1])} px")


# ------------------------------------------------------------------ augmentation


def choose_rotation(facts: LabelFacts) -> Choice[float]:
    """Rotation range (±degrees): top view when body axes turn widely, else side view."""
    dev = facts.orientation_spread
    if dev >= TOP_VIEW_DEVIATION:
        return Choice(TOP_VIEW_ROTATION, f"±{_fmt(TOP_VIEW_ROTATION)} deg: body axes turn up to "
                      f"{_fmt(dev)} deg from the usual axis (p95 >= {_fmt(TOP_VIEW_DEVIATION)}): "
                      "a top view, any direction")
    return Choice(SIDE_VIEW_ROTATION, f"±{_fmt(SIDE_VIEW_ROTATION)} deg: body axes stay within "
                  f"{_fmt(dev)} deg of the usual axis (p95 < {_fmt(TOP_VIEW_DEVIATION)}): "
                  "a side view")


def choose_scale_augmentation(facts: LabelFacts) -> Choice[float]:
    """Half-width of the scale augmentation: the animal size's CV within :data:`SCALE_AUG`."""
    half = round(float(np.clip(facts.size.cv, *SCALE_AUG)), 2)
    return Choice(half, f"±{half:g}: animal size varies by CV {facts.size.cv:.2f} (kept "
                  f"within {SCALE_AUG[0]}-{SCALE_AUG[1]})")


def choose_intensity(facts: LabelFacts) -> Choice[float]:
    """Half-width of brightness and contrast changes: twice the frames' brightness CV within
    :data:`INTENSITY_AUG`."""
    values = np.asarray(facts.brightness, dtype=np.float64)
    cv = float(values.std() / values.mean()) if values.size and values.mean() > 0 else 0.0
    half = round(float(np.clip(2.0 * cv, *INTENSITY_AUG)), 2)
    return Choice(half, f"±{half:g}: frame brightness varies by CV {cv:.3f} over "
                  f"{values.size} sampled frames (2 x CV kept within "
                  f"{INTENSITY_AUG[0]}-{INTENSITY_AUG[1]})")


# ------------------------------------------------------------------ batch and schedule


def choose_batch_size(max_fit: int, n_train: int, fit_reason: str,
                      seconds_per_sample: float | None = None, budget_s: float | None = None,
                      reserve: float = 0.1, cpu: bool = False) -> Choice[int]:
    """Protocol B: the largest batch that fits memory, at most :data:`MAX_BATCH` and the
    number of training samples (on a CPU at most :data:`CPU_BATCH`: larger batches do not
    process samples faster there, they only take fewer steps); with a budget, small enough
    that the budget still allows :data:`MIN_BUDGET_STEPS` steps at ``seconds_per_sample``."""
    cap = CPU_BATCH if cpu else MAX_BATCH
    batch = max(1, min(int(max_fit), cap, int(n_train)))
    limits = {max_fit: fit_reason, n_train: f"{n_train} training samples",
              cap: (f"{CPU_BATCH} on a CPU: a sample costs the same time at any batch size, "
                    "so a small batch gives the most steps per minute") if cpu
              else f"capped at {MAX_BATCH}"}
    reason = f"{limits.get(batch, fit_reason)} (memory allows {max_fit})"
    if budget_s is not None and seconds_per_sample:
        usable = budget_s * (1.0 - reserve)
        affordable = int(usable / (MIN_BUDGET_STEPS * seconds_per_sample))
        if affordable < batch:
            return Choice(max(1, affordable),
                          f"{seconds_per_sample:.3g} s per sample: a larger batch would leave "
                          f"the budget fewer than {MIN_BUDGET_STEPS} steps; {reason}")
    return Choice(batch, reason)


def choose_learning_rate(batch: int) -> Choice[float]:
    """Linear rule above the reference batch: :data:`REFERENCE_LR` × batch /
    :data:`REFERENCE_BATCH`; at or below it :data:`REFERENCE_LR` (scaling a small CPU batch
    down would start training on the all-zero plateau with a tenth of the usual step)."""
    if batch <= REFERENCE_BATCH:
        return Choice(REFERENCE_LR, f"{REFERENCE_LR:g}: Adam's usual step at batch {batch} "
                      f"(the linear rule scales up from batch {REFERENCE_BATCH} only)")
    lr = float(f"{REFERENCE_LR * batch / REFERENCE_BATCH:.3g}")
    return Choice(lr, f"linear rule: {REFERENCE_LR:g} x batch {batch} / {REFERENCE_BATCH}")


@dataclass(frozen=True)
class Schedule:
    """Epochs and steps per epoch (``None`` leaves sleap-nn's own epoch length)."""

    max_epochs: int
    steps_per_epoch: int | None


def choose_schedule(step_seconds: float, budget_s: float | None, n_train: int, batch: int,
                    max_epochs: int, reserve: float = 0.1) -> Choice[Schedule]:
    """Epochs × steps that fill ``budget_s`` less ``reserve`` (validation and export); an
    epoch is one pass over the training samples but at least :data:`MIN_EPOCH_STEPS` steps.
    Without a budget: ``max_epochs`` and sleap-nn's own epoch length."""
    per_epoch = max(1, math.ceil(n_train / batch))
    if budget_s is None:
        minutes = step_seconds * per_epoch / 60
        return Choice(Schedule(max_epochs, None),
                      f"no budget given; one epoch of {per_epoch} steps takes about "
                      f"{minutes:.2g} min at {step_seconds:.3g} s per step")
    usable = budget_s * (1.0 - reserve)
    total = max(1, int(usable / step_seconds))
    steps = min(max(per_epoch, MIN_EPOCH_STEPS), total)
    epochs = max(1, total // steps)
    return Choice(Schedule(epochs, steps),
                  f"{epochs} x {steps} steps at {step_seconds:.3g} s per step fill "
                  f"{usable / 60:.3g} of the {budget_s / 60:.3g} min budget "
                  f"({reserve:.0%} kept for validation and export)")
