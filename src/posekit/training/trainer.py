"""``train(config)``: from a configuration to a finished run folder.

Steps: load and split the labels -> resolve what the config leaves open -> build datasets,
model and Lightning module -> plan the run (Protocol C, budget, range test, foreground
weighting: :mod:`posekit.training.run_plan`) -> fit -> export the inference graph ->
predict the validation split and write ``metrics.val.json``.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader

from posekit.config import effective_max_stride, load_config, save_config
from posekit.config.rules import settings_from_dict
from posekit.config.schema import TrainingJobConfig
from posekit.data.augmentation import AugmentationParams
from posekit.data.datasets import FrameDataset, InstanceDataset, augmentation_margin
from posekit.data.frame_crops import SECTION as CROPS_SECTION
from posekit.data.frame_crops import FrameCropDataset, TrainingCrops, usable_window
from posekit.data.image_store import ImageStore, measure_frame_sizes
from posekit.data.preprocessing import PreprocessingParams
from posekit.data.sampler import EpochSampler, steps_per_epoch
from posekit.errors import ConfigError, DataError
from posekit.evaluation.results import EvaluationResult
from posekit.io.splits import load_train_val
from posekit.model_types.base import ModelType
from posekit.model_types.losses import OHKMParams
from posekit.model_types.registry import model_type_of
from posekit.model_types.resolve import ResolvedData, resolve_data
from posekit.models.build import build_model, count_parameters
from posekit.training import distributed
from posekit.training.budget import BudgetSettings, budget_settings, close_budget
from posekit.training.cpu_numerics import flush_denormals
from posekit.training.foreground import ForegroundSettings, foreground_note, resolve_foreground
from posekit.training.lr_range import LRRangeResult
from posekit.training.module import OptimSettings, PoseLightningModule
from posekit.training.run_plan import (
    LR_FIND_TIME_S,
    RunPlan,
    RunSetup,
    explicit_epochs,
    make_trainer,
    plan_run,
    trainer_kwargs,
)
from posekit.training.selection import SelectionSettings, resolve_selection

if TYPE_CHECKING:
    from posekit.refinement.frame_weights import FrameWeightSettings

logger = logging.getLogger("posekit.training")


@dataclass
class TrainingResult:
    """What a finished training run produced."""

    run_dir: Path
    config: TrainingJobConfig
    best_checkpoint: Path | None
    last_checkpoint: Path | None
    epochs: int
    train_samples_per_s: float
    wall_time_s: float
    metrics: EvaluationResult | None = None
    notes: list[str] = field(default_factory=list)
    interrupted: bool = False


def resolve_run_dir(cfg: TrainingJobConfig, resuming: bool) -> Path:
    """``<ckpt_dir>/<run_name>``; a fresh run never reuses a folder that has a model in it."""
    tc = cfg.trainer_config
    ckpt_dir = Path(tc.ckpt_dir) if tc.ckpt_dir else Path(".")
    name = tc.run_name or f"{datetime.now():%y%m%d_%H%M%S}.{cfg.model_config.head_type}"
    run_dir = ckpt_dir / name
    if resuming:
        return run_dir
    if run_dir.exists() and any((run_dir / n).exists() for n in ("best.ckpt", "last.ckpt")):
        i = 1
        while (ckpt_dir / f"{name}_{i}").exists():
            i += 1
        logger.warning("%s already holds a trained model; writing this run to %s_%d instead",
                       run_dir, name, i)
        run_dir = ckpt_dir / f"{name}_{i}"
    return run_dir


def optim_settings(cfg: TrainingJobConfig) -> OptimSettings:
    """Optimizer / scheduler settings from ``trainer_config``."""
    tc = cfg.trainer_config
    sched = tc.lr_scheduler
    step = plateau = None
    if sched is not None and sched.step_lr is not None:
        step = (int(sched.step_lr.step_size), float(sched.step_lr.gamma))
    elif sched is not None and sched.reduce_lr_on_plateau is not None:
        p = sched.reduce_lr_on_plateau
        plateau = {"threshold": float(p.threshold), "threshold_mode": p.threshold_mode,
                   "cooldown": int(p.cooldown), "patience": int(p.patience),
                   "factor": float(p.factor), "min_lr": p.min_lr}
    return OptimSettings(tc.optimizer_name, float(tc.optimizer.lr), bool(tc.optimizer.amsgrad),
                         step, plateau)


def _stores(cfg: TrainingJobConfig, data: ResolvedData, run_dir: Path
            ) -> tuple[ImageStore, ImageStore, PreprocessingParams]:
    dc = cfg.data_config
    max_stride = effective_max_stride(cfg.model_config.active_backbone)
    prep = PreprocessingParams.from_config(dc.preprocessing, max_stride)
    train_sizes = measure_frame_sizes(data.train)
    val_sizes = measure_frame_sizes(data.val)
    model_size = prep.plan_input_size([tuple(s) for s in np.concatenate([train_sizes, val_sizes])])
    cache_root = Path(dc.cache_img_path) if dc.cache_img_path else run_dir
    stores = []
    for name, table, sizes in (("train", data.train, train_sizes), ("val", data.val, val_sizes)):
        stores.append(ImageStore(table, prep, model_size, sizes, mode=dc.data_pipeline_fw,
                                 cache_dir=cache_root / f"{name}_imgs",
                                 use_existing=dc.use_existing_imgs,
                                 reuse_complete=not distributed.is_primary_process()))
    return stores[0], stores[1], prep


def _datasets(cfg: TrainingJobConfig, task: ModelType, data: ResolvedData, train_store: ImageStore,
              val_store: ImageStore, aug: AugmentationParams | None,
              crops: TrainingCrops | None = None):
    info = data.info
    if task.crops_instances:
        geo = aug.geometric if aug is not None else None
        rotation = geo is not None and (geo.rotation_min != 0 or geo.rotation_max != 0)
        scale_min = geo.scale_min if geo is not None else 1.0
        window = augmentation_margin(info.crop_size, rotation, scale_min) if geo else info.crop_size
        train_ds = InstanceDataset(train_store, info.crop_size, window, info.anchor_index,
                                   info.class_names)
        val_ds = InstanceDataset(val_store, info.crop_size, info.crop_size, info.anchor_index,
                                 info.class_names)
        if len(train_ds) == 0:
            raise DataError("no instance has a visible point to crop around; nothing to train on.")
        return train_ds, val_ds
    n_max = max(data.train.max_instances, data.val.max_instances, 1)
    window = usable_window(crops, train_store.model_size,
                           effective_max_stride(cfg.model_config.active_backbone))
    train_ds = (FrameDataset(train_store, info.class_names, n_max) if window is None else
                FrameCropDataset(train_store, replace(crops, size=window), info.class_names,
                                 n_max, info.anchor_index))
    if window is not None:
        data.notes.append(f"training on {window} px windows of the {train_store.model_size[1]}x"
                          f"{train_store.model_size[0]} model frames ({crops.random_share:.0%} "
                          "placed anywhere, the rest on an animal); validation reads whole "
                          "frames")
    return train_ds, FrameDataset(val_store, info.class_names, n_max)


def training_crops_for_config(crops: TrainingCrops | dict | None,
                              config: object) -> TrainingCrops | None:
    """The window settings of a run: ``crops`` as given (a dict goes over the sidecar's
    section), else the ``training_crops`` section of the config's sidecar, else ``None``.

    Raises:
        ConfigError: bad settings (every problem listed).
    """
    from posekit.refinement.frame_weights import section_for_config

    if isinstance(crops, TrainingCrops):
        return crops
    side = section_for_config(config, CROPS_SECTION, TrainingCrops)
    if crops is None:
        return side
    return settings_from_dict(TrainingCrops, {**asdict(side or TrainingCrops()), **crops},
                              CROPS_SECTION, "training_crops")


def _augmentation(cfg: TrainingJobConfig, data: ResolvedData) -> AugmentationParams | None:
    dc = cfg.data_config
    if not dc.use_augmentations_train or dc.augmentation_config is None:
        return None
    ac = dc.augmentation_config
    if ac.intensity is None and ac.geometric is None:
        return None
    return AugmentationParams.from_config(ac.intensity, ac.geometric, data.info.symmetries)


def _loaders(cfg: TrainingJobConfig, train_ds, val_ds, seed: int) -> tuple[DataLoader, DataLoader]:
    tc = cfg.trainer_config
    tl, vl = tc.train_data_loader, tc.val_data_loader
    steps = steps_per_epoch(len(train_ds), tl.batch_size, tc.min_train_steps_per_epoch,
                            tc.train_steps_per_epoch)
    # With several processes Lightning wraps this sampler in a DistributedSamplerWrapper:
    # every rank draws the same (seed, epoch) order and keeps every world_size-th index, so
    # the ranks see different samples and split the epoch's steps between them.
    sampler = EpochSampler(len(train_ds), steps * tl.batch_size, tl.shuffle, seed)
    common = {"pin_memory": torch.cuda.is_available()}
    train_loader = DataLoader(train_ds, batch_size=tl.batch_size, sampler=sampler,
                              num_workers=tl.num_workers, drop_last=False,
                              persistent_workers=tl.num_workers > 0, **common)
    val_loader = DataLoader(val_ds, batch_size=vl.batch_size, shuffle=vl.shuffle,
                            num_workers=vl.num_workers, persistent_workers=vl.num_workers > 0,
                            **common)
    return train_loader, val_loader


def _sample_weights(settings: FrameWeightSettings | None, cfg: TrainingJobConfig,
                    data: ResolvedData, train_ds, run_dir: Path) -> torch.Tensor | None:
    """Per-sample weights from inter-labeler agreement (``None`` when not configured);
    writes ``frame_weights.json`` and ``training_config.posekit.yaml`` into the run folder."""
    if settings is None:
        return None
    from dataclasses import replace

    from posekit.refinement import frame_weights as fw_mod
    from posekit.refinement.metadata import video_identity

    videos, keys = data.train_labels.videos, data.train.keys
    fw = fw_mod.match_frame_weights(settings, videos, keys, cfg.data_config.train_labels_path)
    report = run_dir / fw_mod.REPORT_NAME
    if distributed.is_primary_process():  # run folder files are written once
        fw_mod.write_report(fw, report, [video_identity(v).name for v in videos], keys)
        source = settings.source and str(Path(settings.source).resolve())
        fw_mod.write_sidecar(replace(settings, source=source),
                             fw_mod.sidecar_path(run_dir / "training_config.yaml"))
    s = fw.summary()
    line = (f"frame weights from inter-labeler agreement: {s['measured']} frames measured, "
            f"{s['single'] + s['unmatched']} at the default {s['default_weight']:.3g}; "
            f"weights {s['weight_min']:.3g} to {s['weight_max']:.3g} (mean "
            f"{s['weight_mean']:.3g}); per frame in {report}")
    logger.info(line)
    data.notes.extend([line, *fw.notes])
    per_frame = torch.as_tensor(fw.weights, dtype=torch.float32)
    return per_frame[torch.as_tensor(train_ds.sample_frames())]


def _set_up_run(cfg: TrainingJobConfig, seed: int, resuming: bool,
                frame_weights: FrameWeightSettings | None = None,
                crops: TrainingCrops | None = None) -> RunSetup:
    """Load and resolve the data, create the run folder (resolved config, splits), build the
    datasets, the network and the Lightning module."""
    dc, tc = cfg.data_config, cfg.trainer_config
    train_labels, val_labels = load_train_val(dc.train_labels_path, dc.val_labels_path,
                                              dc.validation_fraction, seed,
                                              dc.user_instances_only)
    from posekit.refinement.leakage import warn_if_validation_leaks
    primary = distributed.is_primary_process()  # the others re-run this under Lightning's DDP
    if primary:
        warn_if_validation_leaks(train_labels, val_labels)  # frames near training frames
    data = resolve_data(cfg, train_labels, val_labels)
    cfg = data.config
    run_dir = distributed.agreed_run_dir(lambda: resolve_run_dir(cfg, resuming=resuming),
                                         cfg.trainer_config.ckpt_dir, cfg.trainer_config.run_name)
    run_dir.mkdir(parents=True, exist_ok=True)
    task = model_type_of(cfg.model_config, data.info)
    aug = _augmentation(cfg, data)
    train_store, val_store, _ = _stores(cfg, data, run_dir)
    train_ds, val_ds = _datasets(cfg, task, data, train_store, val_store, aug, crops)
    crop = data.info.crop_size
    model = build_model(cfg.model_config, task.heads,
                        input_size=(crop, crop) if crop else None)
    cfg.model_config.total_params = count_parameters(model)
    cfg.trainer_config.ckpt_dir = str(run_dir.parent)
    cfg.trainer_config.run_name = run_dir.name
    if tc.seed is None:
        cfg.trainer_config.seed = seed
    if primary:
        save_config(cfg, run_dir / "training_config.yaml")
        _save_splits(data, run_dir)
    module = PoseLightningModule(model, task, optim_settings(cfg), aug,
                                 OHKMParams.from_config(tc.online_hard_keypoint_mining),
                                 crop_size=crop if task.crops_instances else None,
                                 seed=seed, channels_last=True,
                                 sample_weights=_sample_weights(frame_weights, cfg, data,
                                                                train_ds, run_dir))
    return RunSetup(cfg, data, run_dir, module, train_ds, val_ds, (train_store, val_store))


def train(config: TrainingJobConfig | str | os.PathLike[str] | dict,
          overrides: list[str] | tuple[str, ...] = (),
          time_limit_s: float | None = None,
          callbacks: list[L.Callback] | None = None,
          frame_weights: FrameWeightSettings | None = None,
          budget_s: float | str | BudgetSettings | None = None,
          selection: SelectionSettings | dict | None = None,
          lr_find: bool = False,
          foreground: ForegroundSettings | dict | None = None,
          training_crops: TrainingCrops | dict | None = None) -> TrainingResult:
    """Train the model a configuration describes and fill its run folder.

    Args:
        config: A :class:`TrainingJobConfig`, a YAML path or a dict.
        overrides: Dotted overrides (``trainer_config.max_epochs=5``).
        time_limit_s: Stop training (cleanly, after saving) once this much time has passed,
            even before ``max_epochs`` (used by the demo).
        callbacks: Extra Lightning callbacks (e.g. custom logging).
        frame_weights: Weigh training frames by inter-labeler agreement. Default: the
            ``frame_weights`` section of ``CONFIG.posekit.yaml`` beside a config given as a
            path, else none (every frame weighs the same).
        budget_s: A wall-clock budget for the whole call (seconds, ``"15m"``, or
            :class:`~posekit.training.budget.BudgetSettings`); see docs/auto.md.
        selection: Protocol C (:class:`~posekit.training.selection.SelectionSettings`, or
            a dict of its fields over the sidecar's ``model_selection`` section).
        lr_find: Run a learning-rate range test first and train at its suggestion.
        foreground: Foreground weighting
            (:class:`~posekit.training.foreground.ForegroundSettings`, or a dict of its
            fields over the sidecar's ``foreground_weighting`` section). Default: the
            sidecar's section, else on with the defaults for a budgeted run and off
            otherwise (see docs/training.md).
        training_crops: Train a full-frame model on windows of its frames
            (:class:`~posekit.data.frame_crops.TrainingCrops`, or a dict of its fields over
            the sidecar's ``training_crops`` section). Default: the sidecar's section, else
            whole frames.
    """
    from posekit.refinement.frame_weights import settings_for_config

    clock_start = time.perf_counter()
    if frame_weights is None:
        frame_weights = settings_for_config(config)
    selection, budget = resolve_selection(selection, config), budget_settings(budget_s)
    if budget is not None and budget.started_at is not None:
        clock_start = min(clock_start, budget.started_at)
    fg, fg_origin = resolve_foreground(foreground, config, budgeted=budget is not None)
    cfg = load_config(config, overrides)
    tc = cfg.trainer_config
    seed = distributed.agreed_seed(tc.seed)  # the same in every training process
    L.seed_everything(seed, workers=True, verbose=False)
    resume = tc.resume_ckpt_path
    if resume and not Path(resume).is_file():
        raise ConfigError(
            f"trainer_config.resume_ckpt_path: {resume} does not exist; expected a .ckpt file "
            "(usually <run folder>/last.ckpt)."
        )
    setup = _set_up_run(cfg, seed, resuming=bool(resume), frame_weights=frame_weights,
                        crops=training_crops_for_config(training_crops, config))
    loaders = _loaders(setup.config, setup.train_ds, setup.val_ds, seed)
    if fg is not None or foreground is not None:  # a plain run's notes stay as they were
        setup.data.notes.append(foreground_note(fg, fg_origin))
    plan = plan_run(setup, loaders[0], selection, budget, clock_start, lr_find,
                    explicit_epochs(overrides), time_limit_s, probe=_finish_probe(setup),
                    foreground=fg)
    trainer = make_trainer(setup, plan, selection, list(callbacks or []), len(loaders[0]))
    return _fit_and_finish(setup, plan, trainer, loaders, resume, clock_start)


def _fit_and_finish(setup: RunSetup, plan: RunPlan, trainer: L.Trainer,
                    loaders: tuple[DataLoader, DataLoader], resume: str | None,
                    clock_start: float) -> TrainingResult:
    """Fit, then (on rank zero, unless interrupted) export, predict the validation split
    and score it; the budget's report closes the run."""
    from posekit.training.finish import finish_run

    cfg, data, run_dir, module = setup.config, setup.data, setup.run_dir, setup.module
    dc = cfg.data_config
    start = time.perf_counter()
    try:
        with flush_denormals():
            trainer.fit(module, *loaders, ckpt_path=resume or None)
    except SystemExit:
        # Lightning exits after a graceful shutdown on Ctrl-C; last.ckpt has been written.
        if not trainer.interrupted:
            raise
    wall = time.perf_counter() - start
    # Lightning's distributed sampler gives every process as many samples (padding the last).
    samples = module.samples_seen * trainer.world_size
    process_note = distributed.process_note(trainer, module.samples_seen)
    used = plan.foreground.summary() if plan.foreground is not None else None
    result = TrainingResult(
        run_dir=run_dir, config=cfg,
        best_checkpoint=_existing(run_dir / "best.ckpt"),
        last_checkpoint=_existing(run_dir / "last.ckpt"),
        epochs=int(trainer.current_epoch), train_samples_per_s=samples / max(wall, 1e-9),
        wall_time_s=wall, notes=list(data.notes) + [n for n in (used, process_note) if n],
        interrupted=bool(trainer.interrupted))
    if (trainer.is_global_zero and dc.data_pipeline_fw == "torch_dataset_cache_img_disk"
            and dc.delete_cache_imgs_after_training):
        for store in setup.stores:
            store.delete_disk_cache()
    if trainer.interrupted or not trainer.is_global_zero:  # rank 0 finishes the run folder
        return result
    finish_run(result, data)
    if plan.budget is not None:
        result.notes.append(close_budget(plan.budget, run_dir, clock_start))
    return result


def _existing(path: Path) -> Path | None:
    return path if path.is_file() else None


def _save_splits(data: ResolvedData, run_dir: Path) -> None:
    """Save the train / validation splits beside the model; frames that were embedded in the
    input stay embedded (so the run folder is self-contained), videos are referenced."""
    from posekit.io.writers import save_labels

    for name, labels in (("train", data.train_labels), ("val", data.val_labels)):
        save_labels(labels, run_dir / f"labels_gt.{name}.slp", embed="auto")


# ---------------------------------------------------------------------- finishing, lr
PROBE_FILES = ("training_config.yaml", "best.ckpt", "labels_gt.train.slp", "labels_gt.val.slp")


def _finish_probe(setup: RunSetup) -> Callable[[], None]:
    """The finishing step (export, validation predictions, metrics) run on a throw-away
    copy of the run folder, for timing."""
    import shutil

    from posekit.training.budget import scratch_run_copy
    from posekit.training.finish import finish_run

    def probe() -> None:
        scratch = scratch_run_copy(setup.run_dir, PROBE_FILES)
        try:
            finish_run(TrainingResult(scratch, setup.config, scratch / "best.ckpt", None, 0,
                                      0.0, 0.0), setup.data)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    return probe


def lr_range_test(config: TrainingJobConfig | str | os.PathLike[str] | dict, steps: int = 100,
                  min_lr: float = 1e-6, max_lr: float = 1.0,
                  time_limit_s: float | None = LR_FIND_TIME_S,
                  overrides: list[str] | tuple[str, ...] = ()) -> LRRangeResult:
    """Protocol A: a learning-rate range test of a configuration's model on its data.

    Creates the run folder (config, splits) and writes ``lr_range.png`` into it; the
    weights are not kept. The suggestion rule: :mod:`posekit.training.lr_range`.

    Args:
        config: A :class:`TrainingJobConfig`, a YAML path or a dict.
        steps: Most optimizer steps (learning rates from ``min_lr`` to ``max_lr``,
            exponentially spaced).
        time_limit_s: Stop after this many seconds whatever the step count.
        overrides: Dotted overrides.
    """
    from posekit.training.lr_range import run_range_test

    cfg = load_config(config, overrides)
    seed = distributed.agreed_seed(cfg.trainer_config.seed)
    L.seed_everything(seed, workers=True, verbose=False)
    setup = _set_up_run(cfg, seed, resuming=False)
    train_loader, _ = _loaders(setup.config, setup.train_ds, setup.val_ds, seed)
    return run_range_test(setup.module, train_loader, trainer_kwargs(setup.config), steps,
                          min_lr, max_lr, time_limit_s, setup.run_dir)
