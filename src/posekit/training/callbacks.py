"""Lightning callbacks: the CSV training log, ZMQ progress/stop, and crash-safe checkpoints."""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO

from posekit.training.training_log import EpochRow, read_training_log, training_log_text
from posekit.utils.atomic import atomic_path, atomic_write_text


def _metric(metrics: dict[str, Any], key: str) -> float:
    value = metrics.get(key)
    if value is None:
        return math.nan
    return float(value.item() if isinstance(value, torch.Tensor) else value)


def current_lr(trainer: L.Trainer) -> float:
    """Learning rate of the first parameter group of the first optimizer."""
    if not trainer.optimizers:
        return math.nan
    return float(trainer.optimizers[0].param_groups[0]["lr"])


class TrainingLogCSV(L.Callback):
    """Writes ``training_log.csv`` (epoch, train loss, val loss, lr, time) after every epoch.

    The file is rewritten atomically each epoch; on resume, rows of epochs that were already
    logged are kept. Its format and reader: :mod:`posekit.training.training_log`.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.rows: list[EpochRow] = []
        self._epoch_start = 0.0
        self._epoch_lr = math.nan
        self._train_end = 0.0
        self._elapsed_before = 0.0
        self._fit_start = time.perf_counter()

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # After a resume has restored the epoch counter: keep the rows of finished epochs.
        if self.path.is_file():
            logged = read_training_log(self.path).epochs
            self.rows = [r for r in logged if r.epoch < trainer.current_epoch]
            if self.rows:
                self._elapsed_before = self.rows[-1].elapsed_s or 0.0
        self._fit_start = time.perf_counter()

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._epoch_start = time.perf_counter()
        self._epoch_lr = current_lr(trainer)

    def on_validation_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.sanity_checking:
            self._train_end = time.perf_counter()

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        metrics = trainer.callback_metrics
        now = time.perf_counter()
        train_end = self._train_end if self._train_end > self._epoch_start else now
        defined = {
            "train_loss": _metric(metrics, "train_loss"),
            "val_loss": _metric(metrics, "val_loss"),
            "lr": self._epoch_lr,
        }
        self.rows.append(EpochRow(
            epoch=int(trainer.current_epoch),
            **{k: (v if math.isfinite(v) else None) for k, v in defined.items()},
            train_time_s=train_end - self._epoch_start,
            epoch_time_s=now - self._epoch_start,
            elapsed_s=self._elapsed_before + (now - self._fit_start),
        ))
        if trainer.is_global_zero:
            atomic_write_text(self.path, training_log_text(self.rows))


class AtomicCheckpointIO(TorchCheckpointIO):
    """Checkpoints written to a temporary file and renamed: never a half-written ``.ckpt``."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any,
                        storage_options: Any | None = None) -> None:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(target) as tmp:
            torch.save(checkpoint, tmp)

    def load_checkpoint(self, path: Any, map_location: Any | None = None,
                        weights_only: bool | None = None) -> dict[str, Any]:
        return torch.load(path, map_location=map_location or "cpu", weights_only=True)


class SaveOnInterrupt(L.Callback):
    """Saves a resumable ``last.ckpt`` when training is interrupted (Ctrl-C) or crashes."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule,
                     exception: BaseException) -> None:
        if trainer.is_global_zero and trainer.global_step > 0:
            trainer.save_checkpoint(self.path)


def _zmq_endpoint(port: int | None, address: str | None) -> str | None:
    if address:
        return address if "://" in address else f"tcp://{address}"
    if port is not None:
        return f"tcp://127.0.0.1:{int(port)}"
    return None


class ZMQProgress(L.Callback):
    """Publishes per-epoch progress as JSON and obeys stop requests (SLEAP GUI protocol).

    Progress messages go out on a PUB socket connected to the publish endpoint; commands
    (``{"command": "stop"}``) are read from a SUB socket connected to the controller endpoint,
    polled for ``polling_timeout`` microseconds after every training batch. Endpoints are on
    127.0.0.1 unless the configuration gives another address.
    """

    def __init__(self, publish_port: int | None = None, controller_port: int | None = None,
                 publish_address: str | None = None, controller_address: str | None = None,
                 polling_timeout_us: int = 10, what: str = "") -> None:
        try:
            import zmq
        except ImportError as exc:
            from posekit.errors import ConfigError

            raise ConfigError(
                "trainer_config.zmq: publish/controller ports are set but pyzmq is not "
                "installed; expected it for ZMQ progress messages. Install it with "
                "`pip install 'posekit[zmq]'` or set the zmq ports to null."
            ) from exc

        self.what = what
        self._zmq = zmq
        self.context = zmq.Context.instance()
        self.publish_endpoint = _zmq_endpoint(publish_port, publish_address)
        self.controller_endpoint = _zmq_endpoint(controller_port, controller_address)
        self.timeout_ms = max(0, int(polling_timeout_us)) / 1000.0
        self.publisher = self.controller = None
        if self.publish_endpoint:
            self.publisher = self.context.socket(zmq.PUB)
            self.publisher.connect(self.publish_endpoint)
        if self.controller_endpoint:
            self.controller = self.context.socket(zmq.SUB)
            self.controller.setsockopt_string(zmq.SUBSCRIBE, "")
            self.controller.connect(self.controller_endpoint)
        self.stop_requested = False

    def _send(self, event: str, logs: dict[str, float] | None = None, **payload: Any) -> None:
        if self.publisher is not None:
            message = {"what": self.what, "event": event, "logs": logs, "time": time.time(),
                       **payload}
            self.publisher.send_string(json.dumps(message))

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        # One progress stream per run: with several processes only rank 0 publishes (every
        # rank still listens for "stop", and Lightning agrees on stopping across ranks).
        if not trainer.is_global_zero and self.publisher is not None:
            self.publisher.close(linger=0)
            self.publisher = None

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._send("train_begin", max_epochs=trainer.max_epochs)

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._send("epoch_begin", epoch=int(trainer.current_epoch))

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule,
                           outputs: Any, batch: Any, batch_idx: int) -> None:
        if self.controller is None:
            return
        while self.controller.poll(self.timeout_ms):
            try:
                command = json.loads(self.controller.recv_string())
            except (ValueError, UnicodeDecodeError):
                continue
            if isinstance(command, dict) and command.get("command") == "stop":
                self.stop_requested = True
                trainer.should_stop = True

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        metrics = trainer.callback_metrics
        self._send(
            "epoch_end",
            epoch=int(trainer.current_epoch),
            logs={"train_loss": _metric(metrics, "train_loss"),
                  "val_loss": _metric(metrics, "val_loss"),
                  "lr": current_lr(trainer)},
        )

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._send("train_end", stopped_by_controller=self.stop_requested)

    def teardown(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        for sock in (self.publisher, self.controller):
            if sock is not None:
                sock.close(linger=200)
        self.publisher = self.controller = None
