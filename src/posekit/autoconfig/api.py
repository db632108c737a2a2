"""``auto_config``: measure a labels file, choose a training configuration, write it.

One config file per model to train: ``CONFIG.yaml`` for a single-stage model; for top-down
``CONFIG.centroid.yaml`` and ``CONFIG.<instance type>.yaml`` (the same stem, the model type
before the suffix), trained one after the other with half of the budget each. Beside each
config its posekit-only sidecar ``<config stem>.posekit.yaml`` (foreground weighting on,
:mod:`posekit.training.foreground`). The preview PNG is ``CONFIG.preview.png``.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from posekit.autoconfig.choices import (
    Choice,
    asked_model_type,
    choose_batch_size,
    choose_budget_scale,
    choose_learning_rate,
    choose_model_type,
    choose_schedule,
    lite0_receptive_field,
    receptive_field,
)
from posekit.autoconfig.commented_yaml import apply_settings, settings_yaml, sidecar_yaml
from posekit.autoconfig.label_facts import LabelData, LabelFacts, measure_labels
from posekit.autoconfig.plan import (
    BACKBONES,
    PREP,
    TRAINER,
    Setting,
    StagePlan,
    get_path,
    n_training_samples,
    plan_stage,
    training_settings,
)
from posekit.autoconfig.step_timing import (
    MemoryFit,
    StepBench,
    StepTime,
    fit_batch,
    retime,
    time_batch,
)
from posekit.data.info import DataInfo
from posekit.errors import ConfigError
from posekit.refinement.frame_weights import sidecar_path
from posekit.reports.figures import COLORS
from posekit.training.foreground import ForegroundSettings
from posekit.utils import atomic_write_text
from posekit.utils.durations import format_duration
from posekit.utils.outputs import check_new_outputs

if TYPE_CHECKING:
    from posekit.autoconfig.preview import PreviewBox

PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class StageResult:
    """One model's configuration: its plan, settings, YAML text and measurements."""

    plan: StagePlan
    settings: tuple[Setting, ...]
    text: str
    path: Path | None
    fit: MemoryFit
    step: StepTime
    budget_s: float | None
    sidecar: Path | None = None


@dataclass(frozen=True)
class AutoConfigResult:
    """What :func:`auto_config` measured, chose and wrote."""

    facts: LabelFacts
    model_type: Choice[tuple[str, ...]]
    stages: tuple[StageResult, ...]
    preview: Path | None
    budget_s: float | None


def output_paths(output: PathLike, head_types: tuple[str, ...]) -> tuple[list[Path], Path]:
    """The config path of each model and the preview path for ``output``."""
    output = Path(output)
    stem = output.with_suffix("") if output.suffix in (".yaml", ".yml") else output
    suffix = output.suffix if output.suffix in (".yaml", ".yml") else ".yaml"
    if len(head_types) == 1:
        configs = [stem.with_name(stem.name + suffix)]
    else:
        configs = [stem.with_name(f"{stem.name}.{h}{suffix}") for h in head_types]
    return configs, stem.with_name(stem.name + ".preview.png")


def _info(facts: LabelFacts, plan: StagePlan) -> DataInfo:
    classes = facts.tracks.names if facts.tracks.identities else ()
    crop = plan.input_hw[0] if plan.stage == "instances" else None
    return DataInfo(node_names=facts.node_names, edges=facts.edges, class_names=classes,
                    crop_size=crop)


def _header(facts: LabelFacts, plan: StagePlan, path: Path | None, budget_s: float | None,
            n_stages: int, kind: Choice[tuple[str, ...]]) -> list[str]:
    sizes = ", ".join(f"{w}x{h} ({n})" for w, h, n in facts.frame_sizes)
    lines = [
        f"posekit config auto: a {plan.head_type} model chosen from {facts.source}",
        (f"measured: {facts.n_frames} labelled frames, {facts.n_instances} instances "
         f"(max {facts.instances_max} per frame), frames {sizes};"),
        (f"  animal size median {facts.size.median:.0f} / p90 {facts.size.p90:.0f} / max "
         f"{facts.size.max:.0f} px; body-axis deviation p95 {facts.orientation_spread:.0f} deg;"),
        f"  tracks: {facts.tracks.reason}.",
        f"model type: {', '.join(kind.value)}: {kind.reason}.",
    ]
    if n_stages > 1:
        lines.append("top-down: train every stage's config (same stem, model type before "
                     ".yaml); inference uses them together.")
    if budget_s is not None:
        share = format_duration(budget_s)
        target = path if path is not None else "CONFIG.yaml"
        lines.append(f"sized for a {share} training budget on this machine; "
                     f"`posekit train {target} --budget {share}` keeps it on time.")
    lines.append("Every chosen value says why beside it; docs/auto.md explains the rules.")
    return lines


def _measure_stage(facts: LabelFacts, plan: StagePlan, labels: Path, device: str | None,
                   timing_s: float) -> tuple[tuple[Setting, ...], StepBench, int, MemoryFit,
                                             StepTime]:
    """The stage's base settings, its step bench, training samples, memory fit and the
    step time measured at the largest batch the rules allow."""
    from posekit.config import load_config

    channels = facts.channels or 1
    base = (Setting("data_config.train_labels_path", [str(labels)], "the labels measured"),
            Setting(f"{plan.backbone_path}.in_channels", channels,
                    f"the frames have {channels} channel(s)"),
            *plan.settings)
    cfg = load_config(apply_settings(plan.template, base))
    bench = StepBench(cfg.model_config, _info(facts, plan), plan.train_hw, device)
    n_train = n_training_samples(facts, plan.stage, float(cfg.data_config.validation_fraction))
    fit = fit_batch(bench, n_train)
    largest = choose_batch_size(fit.max_batch, n_train, fit.reason,
                                cpu=bench.device.type == "cpu")
    return base, bench, n_train, fit, time_batch(bench, largest.value, timing_s)


def _configure_stage(facts: LabelFacts, plan: StagePlan, labels: Path, budget_s: float | None,
                     device: str | None, timing_s: float) -> tuple[StagePlan,
                                                                    tuple[Setting, ...],
                                                                    MemoryFit, StepTime]:
    """Measure the stage; with a budget that allows too few samples, plan it again at the
    budget's lower input scale (:func:`choose_budget_scale`) and measure that."""
    base, bench, n_train, fit, step = _measure_stage(facts, plan, labels, device, timing_s)
    if budget_s is not None:
        lower = choose_budget_scale(plan.value(f"{PREP}.scale"), facts.size.p90, plan.stage,
                                    step.seconds / step.batch, budget_s)
        if lower is not None:
            plan = plan_stage(facts, plan.head_type, lower, backbone=plan.backbone)
            base, bench, n_train, fit, step = _measure_stage(facts, plan, labels, device,
                                                             timing_s)
    cpu = bench.device.type == "cpu"
    batch = choose_batch_size(fit.max_batch, n_train, fit.reason, step.seconds / step.batch,
                              budget_s, cpu=cpu)
    step = retime(bench, step, batch.value, timing_s)
    schedule = choose_schedule(step.seconds, budget_s, n_train, batch.value,
                               int(get_path(plan.template, f"{TRAINER}.max_epochs")))
    settings = base + training_settings(batch, choose_learning_rate(batch.value), schedule)
    return plan, settings, fit, step


def stage_receptive_field(plan: StagePlan) -> int:
    """Receptive field (model pixels) of the stage's backbone as planned."""
    block = get_path(plan.template, plan.backbone_path)
    field = lite0_receptive_field if plan.backbone == "efficientnet_lite0" else receptive_field
    return field(plan.value(f"{plan.backbone_path}.max_stride"), plan.output_stride,
                 int(block["kernel_size"]), int(block["convs_per_block"]),
                 bool(block.get("middle_block", True)))


def _preview_boxes(stages: list[StageResult]) -> list[PreviewBox]:
    from posekit.autoconfig.preview import PreviewBox

    boxes = []
    for stage, colour in zip(stages, (COLORS["train"], COLORS["val"]), strict=False):
        plan = stage.plan
        rf = stage_receptive_field(plan)
        scale = plan.value("data_config.preprocessing.scale")
        boxes.append(PreviewBox(f"{plan.head_type} receptive field {rf / scale:.0f} px",
                                rf / scale, colour, dashed=plan.stage == "centroids"))
        if plan.stage == "instances":
            crop = plan.value("data_config.preprocessing.crop_size") / scale
            boxes.append(PreviewBox(f"crop {crop:.0f} px", crop, COLORS["lr"]))
        if plan.window is not None:
            side = plan.window.value / scale
            boxes.append(PreviewBox(f"training window {side:.0f} px", side, COLORS["lr"],
                                    dashed=True))
    return boxes


def auto_config(labels_path: PathLike, budget_s: float | None = None,
                output: PathLike | None = None, force: bool = False, device: str | None = None,
                timing_s: float = 2.0, preview: bool = True,
                model_type: str | None = None, backbone: str = "unet") -> AutoConfigResult:
    """Measure ``labels_path``, choose a configuration and (with ``output``) write it.

    Args:
        labels_path: a ``.slp`` / ``.pkg.slp`` file or DeepLabCut project.
        budget_s: training time budget in seconds (shared equally by top-down stages).
        output: the config path (see the module docstring); None writes nothing.
        force: replace existing outputs.
        device: where steps are timed (default: CUDA when available, else CPU).
        timing_s: at most about this long is spent timing each stage's step.
        preview: write the receptive-field preview PNG beside the config.
        model_type: train this type instead of the rules' choice (any model type but
            ``centroid``; instance types get a centroid model too, see
            :func:`~posekit.autoconfig.choices.asked_models`); every other choice still
            follows the labels.
        backbone: ``"unet"`` (sleap-nn's, from scratch; the file stays readable by
            sleap-nn) or ``"efficientnet_lite0"`` (posekit only: an ImageNet-pretrained
            encoder in the UNet's place, same depth and output stride).

    Raises:
        DataError: the labels cannot be read or have nothing labelled.
        ConfigError: an output exists (without ``force``) or would replace the labels; a
            ``model_type`` the labels cannot train.
    """
    if backbone not in BACKBONES:
        raise ConfigError(f"config auto: backbone {backbone!r}; expected one of "
                          f"{', '.join(BACKBONES)}.")
    labels = Path(labels_path).resolve()
    facts, data = measure_labels(labels)
    kind = choose_model_type(facts) if model_type is None else asked_model_type(facts,
                                                                               model_type)
    paths: list[Path | None] = [None] * len(kind.value)
    preview_path = None
    if output is not None:
        config_paths, preview_path = output_paths(output, kind.value)
        paths = list(config_paths)
        check_new_outputs([*config_paths, *(sidecar_path(p) for p in config_paths)]
                          + ([preview_path] if preview else []), [labels], force)
    share = None if budget_s is None else budget_s / len(kind.value)
    stages: list[StageResult] = []
    for head_type, path in zip(kind.value, paths, strict=True):
        plan = plan_stage(facts, head_type, backbone=backbone)
        plan, settings, fit, step = _configure_stage(facts, plan, labels, share, device,
                                                     timing_s)
        header = _header(facts, plan, path, share, len(kind.value), kind)
        text = settings_yaml(plan.template, settings, header)
        stages.append(StageResult(plan, settings, text, path, fit, step, share,
                                  sidecar_path(path) if path is not None else None))
    for stage in stages:
        if stage.path is not None:
            atomic_write_text(stage.path, stage.text)
        if stage.path is not None and stage.sidecar is not None:
            window = stage.plan.window
            atomic_write_text(stage.sidecar, sidecar_yaml(
                stage.path.name, asdict(ForegroundSettings()),
                (window.value, window.reason) if window is not None else None))
    if preview_path is not None and preview:
        _write_preview(preview_path, data, facts, stages, kind)
    return AutoConfigResult(facts, kind, tuple(stages),
                            preview_path if preview else None, budget_s)


def _write_preview(path: Path, data: LabelData, facts: LabelFacts, stages: list[StageResult],
                   kind: Choice[tuple[str, ...]]) -> None:
    from posekit.autoconfig.preview import write_preview

    title = (f"{' + '.join(kind.value)}: animal p90 {facts.size.p90:.0f} px "
             f"({Path(facts.source).name})")
    write_preview(path, data.table, facts, _preview_boxes(stages), title)
