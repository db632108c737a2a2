"""Training steps and time of a run, from its ``training_log.csv`` and configuration.

Steps per epoch are given by the caller, computed with the trainer's rule
(:func:`posekit.data.sampler.steps_per_epoch`: a fixed ``train_steps_per_epoch``, else one
pass over the training samples but at least ``min_train_steps_per_epoch``; the samples
are frames, or animals for models trained on crops around each animal). This module
needs neither torch nor the run's model.
"""

from __future__ import annotations

from dataclasses import dataclass

from posekit.reports.model_common import Record
from posekit.training.training_log import TrainingLog


@dataclass(frozen=True)
class TrainingSummary(Record):
    """How long the model trained.

    Attributes:
        epochs: epochs finished (rows of the training log).
        max_epochs: epochs the configuration asked for.
        train_samples: training samples (frames or animals).
        batch_size: training batch size.
        steps_per_epoch: optimiser steps per epoch.
        steps: optimiser steps in all (``epochs * steps_per_epoch``).
        wall_time_s: seconds from start to the end of the last epoch.
        best_epoch: epoch (0-based) with the lowest validation loss.
        best_val_loss: that loss.
        final_train_loss, final_val_loss: losses of the last epoch.
        loss_gap: ``(final_val_loss - final_train_loss) / final_train_loss``.
    """

    epochs: int
    max_epochs: int | None
    train_samples: int | None
    batch_size: int | None
    steps_per_epoch: int | None
    steps: int | None
    wall_time_s: float | None
    best_epoch: int | None
    best_val_loss: float | None
    final_train_loss: float | None
    final_val_loss: float | None
    loss_gap: float | None


def training_summary(log: TrainingLog | None, *, max_epochs: int | None = None,
                     batch_size: int | None = None, per_epoch: int | None = None,
                     train_samples: int | None = None,
                     wall_time_s: float | None = None) -> TrainingSummary:
    """Summarise a run's training (``per_epoch``: optimiser steps per epoch;
    ``wall_time_s`` is used when the log has no times)."""
    rows = log.epochs if log is not None else ()
    val = [(r.val_loss, r.epoch) for r in rows if r.val_loss is not None]
    best = min(val) if val else None
    last = rows[-1] if rows else None
    elapsed = next((r.elapsed_s for r in reversed(rows) if r.elapsed_s is not None), None)
    gap = None
    if last is not None and last.train_loss and last.val_loss is not None:
        gap = (last.val_loss - last.train_loss) / last.train_loss
    return TrainingSummary(
        epochs=len(rows), max_epochs=max_epochs, train_samples=train_samples,
        batch_size=batch_size, steps_per_epoch=per_epoch,
        steps=per_epoch * len(rows) if per_epoch is not None else None,
        wall_time_s=elapsed if elapsed is not None else wall_time_s,
        best_epoch=best[1] if best else None, best_val_loss=best[0] if best else None,
        final_train_loss=last.train_loss if last else None,
        final_val_loss=last.val_loss if last else None, loss_gap=gap,
    )
