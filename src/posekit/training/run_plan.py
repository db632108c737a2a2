"""The ``lightning.Trainer`` of a run and how the run uses its time.

``train()`` (:mod:`posekit.training.trainer`) prepares a :class:`RunSetup` (data, run
folder, module); this module plans the rest: the loop settings and callbacks of Protocol C
(:mod:`~posekit.training.selection`), the wall-clock budget
(:mod:`~posekit.training.budget`), the learning-rate range test
(:mod:`~posekit.training.lr_range`) and foreground weighting
(:mod:`~posekit.training.foreground`), then builds the trainer. It never imports
``trainer`` (which imports it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import lightning as L
from torch.utils.data import DataLoader

from posekit.config import save_config
from posekit.config.schema import TrainingJobConfig
from posekit.data.image_store import ImageStore
from posekit.errors import ConfigError
from posekit.model_types.resolve import ResolvedData
from posekit.training import distributed
from posekit.training.budget import BudgetCallback, BudgetClock, BudgetSettings, plan_budget
from posekit.training.foreground import ForegroundCallback, ForegroundSettings
from posekit.training.lr_range import LRRangeResult
from posekit.training.module import PoseLightningModule
from posekit.training.selection import SelectionSettings

logger = logging.getLogger("posekit.training")

LR_FIND_STEPS = 100
LR_FIND_TIME_S = 120.0


@dataclass
class RunSetup:
    """Everything a training run needs before Lightning starts."""

    config: TrainingJobConfig
    data: ResolvedData
    run_dir: Path
    module: PoseLightningModule
    train_ds: object
    val_ds: object
    stores: tuple[ImageStore, ImageStore]


def trainer_kwargs(cfg: TrainingJobConfig) -> dict:
    """Hardware settings passed straight through to ``lightning.Trainer``."""
    tc = cfg.trainer_config
    devices: object = tc.trainer_devices if tc.trainer_devices is not None else "auto"
    if tc.trainer_device_indices:
        devices = list(tc.trainer_device_indices)
    accelerator = tc.trainer_accelerator or "auto"
    return {"accelerator": accelerator, "devices": devices,
            "strategy": tc.trainer_strategy or "auto", "profiler": tc.profiler}


def run_callbacks(cfg: TrainingJobConfig, run_dir: Path, viz_data,
               selection: SelectionSettings | None = None, per_epoch: bool = True
               ) -> list[L.Callback]:
    """The run's callbacks; the best checkpoint and early stopping follow ``selection``
    (Protocol C; default: the validation loss and ``trainer_config.early_stopping``)."""
    from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint, RichProgressBar

    from posekit.training.callbacks import SaveOnInterrupt, TrainingLogCSV, ZMQProgress
    from posekit.training.visualize import PredictionVisualizer

    tc = cfg.trainer_config
    selection = selection or SelectionSettings()
    monitor, mode = selection.monitor
    at_validation = {} if per_epoch else {"save_on_train_epoch_end": False}
    callbacks: list[L.Callback] = [TrainingLogCSV(run_dir / "training_log.csv")]
    if tc.save_ckpt:
        top_k = int(tc.model_ckpt.save_top_k)
        callbacks.append(ModelCheckpoint(
            dirpath=run_dir, filename="best" if top_k in (0, 1) else "best-{epoch:03d}",
            monitor=monitor, mode=mode, save_top_k=top_k, save_last=bool(tc.model_ckpt.save_last),
            auto_insert_metric_name=False, enable_version_counter=False, **at_validation))
        callbacks.append(SaveOnInterrupt(run_dir / "last.ckpt"))
    es = tc.early_stopping
    patience, min_delta = selection.patience, selection.min_delta
    if patience is None and es is not None and es.stop_training_on_plateau:
        patience, min_delta = int(es.patience), float(es.min_delta)
    if patience is not None:
        callbacks.append(EarlyStopping(monitor=monitor, mode=mode, min_delta=float(min_delta),
                                       patience=int(patience), check_finite=False,
                                       **({} if per_epoch else {"check_on_train_epoch_end": False})))
    zmq = tc.zmq
    if zmq is not None and (zmq.publish_port or zmq.controller_port or zmq.publish_address
                            or zmq.controller_address):
        callbacks.append(ZMQProgress(zmq.publish_port, zmq.controller_port, zmq.publish_address,
                                     zmq.controller_address, zmq.controller_polling_timeout,
                                     what=run_dir.name))
    if tc.visualize_preds_during_training:
        wb = tc.wandb
        callbacks.append(PredictionVisualizer(
            run_dir / "viz", viz_data, keep=bool(tc.keep_viz),
            log_to_wandb=bool(tc.use_wandb and wb is not None and wb.save_viz_imgs_wandb)))
    if tc.enable_progress_bar:
        callbacks.append(RichProgressBar(leave=True))
    return callbacks


def run_loggers(cfg: TrainingJobConfig, run_dir: Path) -> list:
    tc = cfg.trainer_config
    if not tc.use_wandb:
        return []
    from posekit.training.wandb_logging import make_wandb_logger

    return [make_wandb_logger(cfg, run_dir)]


@dataclass
class RunPlan:
    """How long and how a run fits: ``lightning.Trainer`` loop settings, the extra
    callbacks (Protocol C metrics, the budget, foreground weighting), and whether
    validation follows epochs."""

    loop: dict
    callbacks: list
    budget: BudgetCallback | None = None
    per_epoch: bool = True
    foreground: ForegroundCallback | None = None


def explicit_epochs(overrides: list[str] | tuple[str, ...]) -> bool:
    """Whether ``trainer_config.max_epochs`` was set on the command line / in the call."""
    return any(o.split("=", 1)[0].strip() == "trainer_config.max_epochs" for o in overrides)


def plan_run(setup: RunSetup, train_loader: DataLoader, selection: SelectionSettings,
             budget: BudgetSettings | None, clock_start: float, lr_find: bool,
             epochs_given: bool, time_limit_s: float | None,
             probe: Callable[[], Any] | None = None,
             foreground: ForegroundSettings | None = None) -> RunPlan:
    """Loop settings and callbacks for Protocol C, the budget, the range test and
    foreground weighting (``None``: off). ``probe`` runs the finishing step on a copy of the
    run folder, for the budget's timing."""
    from posekit.training.selection import selection_callbacks

    tc = setup.config.trainer_config
    loop: dict = {"max_epochs": int(tc.max_epochs),
                  "max_time": {"seconds": float(time_limit_s)} if time_limit_s else None}
    if selection.eval_every:
        loop.update(val_check_interval=int(selection.eval_every), check_val_every_n_epoch=None)
    plan = RunPlan(loop, selection_callbacks(selection, setup.module.task, setup.val_ds),
                   per_epoch=not selection.eval_every)
    if selection.select_on != "val_loss" or selection.patience:
        setup.data.notes.append(
            f"model selection on {selection.monitor[0]} ({selection.monitor[1]}imised)"
            + (f", stopping after {selection.patience} validations without improvement"
               if selection.patience else "")
            + (f", validating every {selection.eval_every} steps" if selection.eval_every else ""))
    clock = BudgetClock(clock_start, budget.budget_s) if budget is not None else None
    if lr_find:
        find_lr(setup, train_loader, budget)
    if budget is not None and clock is not None:
        run_dir, tc = setup.run_dir, setup.config.trainer_config
        setup.module.optim = replace(setup.module.optim, step_lr=None, plateau=None)
        plan.budget, line, plan.per_epoch = plan_budget(
            plan.loop, budget, clock, setup.module.optim.lr, eval_every=selection.eval_every,
            max_epochs=int(tc.max_epochs) if epochs_given else None,
            save_ckpt=bool(tc.save_ckpt), probe=probe,
            checkpoint_ready=lambda: (run_dir / "best.ckpt").is_file())
        plan.callbacks.append(plan.budget)
        setup.data.notes.append(line)
    if foreground is not None:
        # after the budget's callback, so the weight follows this step's elapsed fraction
        plan.foreground = ForegroundCallback(foreground, plan.budget)
        plan.callbacks.append(plan.foreground)
    return plan


def find_lr(setup: RunSetup, train_loader: DataLoader, budget: BudgetSettings | None
             ) -> LRRangeResult | None:
    """Protocol A inside ``train()``: the range test, then train at its suggestion (or at
    the config's rate, with a note, when the test could not read a suggestion)."""
    from posekit.training.lr_range import run_range_test

    limit = budget.lr_find_fraction * budget.budget_s if budget is not None else LR_FIND_TIME_S
    module, cfg = setup.module, setup.config
    old = module.optim.lr
    try:
        result = run_range_test(module, train_loader, trainer_kwargs(cfg), steps=LR_FIND_STEPS,
                                time_limit_s=limit, plot_dir=setup.run_dir)
    except ConfigError as exc:  # too few steps fitted in its share of the time
        result, reason = None, str(exc)
    else:
        reason = "; ".join(result.notes)
    if result is None or not result.reliable:
        line = f"learning-rate range test gave no suggestion ({reason}); training at {old:.3g}"
        logger.warning(line)
        setup.data.notes.append(line)
        return result
    module.optim = replace(module.optim, lr=result.suggested_lr)
    cfg.trainer_config.optimizer.lr = result.suggested_lr
    if distributed.is_primary_process():
        save_config(cfg, setup.run_dir / "training_config.yaml")
    line = (f"learning-rate range test ({len(result.lrs)} steps, {result.seconds:.1f} s): "
            f"suggested {result.suggested_lr:.3g} (steepest descent {result.steepest_lr:.3g}, "
            f"smoothed minimum {result.divergence_lr:.3g}); training at it instead of "
            f"{old:.3g}; curve in {result.plot}")
    logger.info(line)
    setup.data.notes.extend([line, *result.notes])
    return result


def make_trainer(setup: RunSetup, plan: RunPlan, selection: SelectionSettings,
                  extra: list[L.Callback], steps_per_epoch_: int) -> L.Trainer:
    """The ``lightning.Trainer`` of a run."""
    from posekit.training.callbacks import AtomicCheckpointIO

    cfg, run_dir = setup.config, setup.run_dir
    tc = cfg.trainer_config
    return L.Trainer(
        callbacks=(run_callbacks(cfg, run_dir, setup.val_ds, selection, plan.per_epoch)
                   + plan.callbacks + extra),
        logger=run_loggers(cfg, run_dir) or False, enable_checkpointing=bool(tc.save_ckpt),
        enable_progress_bar=bool(tc.enable_progress_bar), enable_model_summary=False,
        default_root_dir=str(run_dir), deterministic=False, num_sanity_val_steps=0,
        log_every_n_steps=max(1, min(50, steps_per_epoch_)),
        plugins=[AtomicCheckpointIO()], **plan.loop, **trainer_kwargs(cfg))


