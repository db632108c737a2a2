"""The LightningModule shared by every model type.

Per batch, on the training device: ``uint8`` images -> float -> augmentation (training only)
-> centred crop (instance models) -> targets -> forward -> loss. The model type only decides
the targets and losses (:mod:`posekit.model_types`), so this class never branches on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import lightning as L
import torch
from torch import Tensor, nn

from posekit.data.augmentation import AugmentationParams, augment_batch
from posekit.data.datasets import PoseSample, center_crop
from posekit.model_types.base import ModelType
from posekit.model_types.losses import OHKMParams, task_loss
from posekit.training.distributed import augmentation_seed, sum_across_processes


class PreparedBatch(NamedTuple):
    """A batch ready for the network: ``images`` float ``(B, C, H, W)`` in [0, 1] (augmented
    and, for instance models, centre-cropped), ``points`` ``(B, N, K, 2)`` in their pixels,
    and ``targets`` keyed by output (the model type's heads)."""

    images: Tensor
    points: Tensor
    targets: dict[str, Tensor]


@dataclass(frozen=True)
class OptimSettings:
    """Optimizer and learning-rate schedule (from ``trainer_config``)."""

    optimizer_name: str = "Adam"
    lr: float = 1e-3
    amsgrad: bool = False
    step_lr: tuple[int, float] | None = None  # (step_size, gamma)
    plateau: dict | None = None  # ReduceLROnPlateau keyword arguments


class PoseLightningModule(L.LightningModule):
    """Trains a :class:`~posekit.models.heads.PoseModel` for one model type.

    Args:
        model: The network (backbone + heads).
        task: The model type (its targets and losses).
        optim: Optimizer / scheduler settings.
        augmentation: Training augmentation, or ``None``.
        ohkm: Online hard keypoint mining, or ``None``.
        crop_size: Final crop side for instance models (``None`` for frame models).
        seed: Base seed of the per-step augmentation generator (reproducible, resumable).
        channels_last: Run convolutions in channels-last memory format.
        sample_weights: ``(N,)`` weight of each training sample (by its dataset index), or
            ``None``: every sample weighs the same (the plain loss). Validation is never
            weighted.

    Attributes:
        foreground_weight: The foreground weight of the training loss
            (:func:`~posekit.model_types.losses.channel_mse`); 1 (plain) unless a
            :class:`~posekit.training.foreground.ForegroundCallback` sets it per batch.
            Validation always uses the plain loss.
    """

    def __init__(
        self,
        model: nn.Module,
        task: ModelType,
        optim: OptimSettings,
        augmentation: AugmentationParams | None = None,
        ohkm: OHKMParams | None = None,
        crop_size: int | None = None,
        seed: int = 0,
        channels_last: bool = True,
        sample_weights: Tensor | None = None,
    ) -> None:
        super().__init__()
        self.model = model
        self.task = task
        self.optim = optim
        self.augmentation = augmentation
        self.ohkm = ohkm
        self.crop_size = crop_size
        self.seed = int(seed)
        self.channels_last = channels_last
        self.sample_weights = sample_weights
        self.foreground_weight = 1.0
        self.stamp: dict[str, object] = {"head_type": task.name,
                                         "node_names": list(task.info.node_names)}
        self.samples_seen = 0
        self.scheduler: torch.optim.lr_scheduler.LRScheduler | None = None
        self._scheduler_state: dict | None = None
        self._val_sum = 0.0
        self._val_count = 0
        if channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)

    # ------------------------------------------------------------------ batches
    def prepare_batch(self, batch: PoseSample, train: bool) -> PreparedBatch:
        """Images (float, augmented when ``train``), keypoints and targets of a batch."""
        images = batch.image.float().div_(255.0)
        points = batch.points.float()
        if train and self.augmentation is not None:
            generator = torch.Generator(device=images.device)
            generator.manual_seed(augmentation_seed(self.seed, self.global_step,
                                                    self.global_rank))  # ranks differ
            images, points = augment_batch(images, points, self.augmentation, generator)
        if self.task.crops_instances and self.crop_size is not None:
            images, points = center_crop(images, points, self.crop_size)
        if self.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        targets = self.task.make_targets(points, batch.classes, tuple(images.shape[-2:]))
        return PreparedBatch(images, points, targets)

    def forward(self, images: Tensor) -> dict[str, Tensor]:
        return self.model(images)

    def batch_weights(self, batch: PoseSample) -> Tensor | None:
        """The ``(B,)`` weights of a training batch's samples (on the batch's device), or
        ``None`` without sample weights."""
        if self.sample_weights is None:
            return None
        if self.sample_weights.device != batch.index.device:
            self.sample_weights = self.sample_weights.to(batch.index.device)
        return self.sample_weights[batch.index]

    def _loss(self, outputs: dict[str, Tensor], targets: dict[str, Tensor], ohkm: OHKMParams | None,
              weights: Tensor | None, foreground: float = 1.0
              ) -> tuple[Tensor, dict[str, Tensor]]:
        if weights is None and foreground == 1.0:
            return self.task.loss(outputs, targets, ohkm)
        return task_loss(self.task, outputs, targets, ohkm, weights, foreground)

    def _step(self, batch: PoseSample, train: bool) -> tuple[Tensor, dict[str, Tensor]]:
        loss, parts, _, _ = self._step_outputs(batch, train)
        return loss, parts

    def _step_outputs(self, batch: PoseSample, train: bool
                      ) -> tuple[Tensor, dict[str, Tensor], dict[str, Tensor], Tensor]:
        """Loss, its parts, the network's outputs (the last stack's) and the batch's points."""
        images, points, targets = self.prepare_batch(batch, train)
        ohkm = self.ohkm if train else None
        weights = self.batch_weights(batch) if train else None
        foreground = float(self.foreground_weight) if train else 1.0
        if getattr(self.model, "stacks", 1) > 1 and train:
            # Intermediate supervision: every stack of a stacked UNet learns the targets.
            total, parts = None, {}
            for outputs in self.model.forward_stacks(images):
                loss, parts = self._loss(outputs, targets, ohkm, weights, foreground)
                total = loss if total is None else total + loss
            return total, parts, outputs, points
        outputs = self.model(images)
        loss, parts = self._loss(outputs, targets, ohkm, weights, foreground)
        return loss, parts, outputs, points

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["posekit"] = dict(self.stamp)
        if self.scheduler is not None:
            checkpoint["posekit_scheduler"] = self.scheduler.state_dict()

    def training_step(self, batch: PoseSample, batch_idx: int) -> Tensor:
        loss, parts = self._step(batch, train=True)
        bs = batch.image.shape[0]
        self.samples_seen += int(bs)
        self.log("train_loss", loss, on_step=False, on_epoch=True, prog_bar=True, batch_size=bs,
                 sync_dist=True)
        if len(parts) > 1:
            for key, value in parts.items():
                self.log(f"train_{key}_loss", value, on_step=False, on_epoch=True, batch_size=bs,
                         sync_dist=True)
        return loss

    def on_validation_epoch_start(self) -> None:
        self._val_sum, self._val_count = 0.0, 0

    def validation_step(self, batch: PoseSample, batch_idx: int) -> dict[str, object]:
        """The validation loss, plus the network's outputs and the batch's points for
        callbacks that score decoded poses (Protocol C) without a second forward pass."""
        loss, parts, outputs, points = self._step_outputs(batch, train=False)
        bs = batch.image.shape[0]
        self._val_sum += float(loss.detach()) * bs
        self._val_count += int(bs)
        self.log("val_loss", loss, on_step=False, on_epoch=True, prog_bar=True, batch_size=bs,
                 sync_dist=True)
        if len(parts) > 1:
            for key, value in parts.items():
                self.log(f"val_{key}_loss", value, on_step=False, on_epoch=True, batch_size=bs,
                         sync_dist=True)
        return {"loss": loss, "outputs": outputs, "points": points}

    # ------------------------------------------------------------------ optimisation
    def configure_optimizers(self) -> torch.optim.Optimizer:
        """The optimizer; the learning-rate schedule is stepped by this module itself.

        Schedules step at the end of each validation epoch, *before* the checkpoint of that
        epoch is written, and their state travels in the checkpoint, so a resumed run
        continues the schedule exactly where an unbroken run would be.
        """
        cls = torch.optim.AdamW if self.optim.optimizer_name == "AdamW" else torch.optim.Adam
        optimizer = cls(self.model.parameters(), lr=self.optim.lr, amsgrad=self.optim.amsgrad)
        if self.optim.step_lr is not None:
            step_size, gamma = self.optim.step_lr
            self.scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=step_size,
                                                             gamma=gamma)
        elif self.optim.plateau is not None:
            self.scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
                optimizer, mode="min", **self.optim.plateau)
        if self.scheduler is not None and self._scheduler_state is not None:
            self.scheduler.load_state_dict(self._scheduler_state)
        return optimizer

    def on_validation_epoch_end(self) -> None:
        if self.trainer.sanity_checking or self.scheduler is None:
            return
        if isinstance(self.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            # Every process validates its own share: the schedule follows the loss of them all.
            val_sum, val_count = sum_across_processes(self, self._val_sum, self._val_count)
            if val_count > 0:
                self.scheduler.step(val_sum / val_count)
        elif self._val_count > 0:
            self.scheduler.step()

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        self._scheduler_state = checkpoint.get("posekit_scheduler")
