"""training_log.csv: the typed reader, the writer, and the callback that keeps it."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from posekit.errors import DataError
from posekit.training.callbacks import TrainingLogCSV
from posekit.training.training_log import (
    LOG_COLUMNS,
    EpochRow,
    TrainingLog,
    read_training_log,
    training_log_text,
)

ROWS = (
    EpochRow(0, 1.25, 0.875, 0.001, 2.5, 3.0, 3.0),
    EpochRow(1, 0.5, None, 0.0005, 2.25, 2.75, 5.75),  # validation not run this epoch
)


def test_round_trip_and_format(tmp_path: Path) -> None:
    path = tmp_path / "training_log.csv"
    path.write_text(training_log_text(ROWS))
    lines = path.read_text().splitlines()
    assert lines[0] == ",".join(LOG_COLUMNS)
    assert lines[2] == "1,0.5,nan,0.0005,2.25,2.75,5.75"
    log = read_training_log(path)
    assert log == TrainingLog(str(path), ROWS)
    assert log.column("val_loss") == [0.875, None]
    with pytest.raises(KeyError, match="not a training-log column"):
        log.column("accuracy")


def test_reads_logs_written_before_the_typed_reader(tmp_path: Path) -> None:
    """The earlier writer: csv.DictWriter over float rows, ``nan`` for missing values."""
    path = tmp_path / "training_log.csv"
    path.write_text(
        "epoch,train_loss,val_loss,lr,train_time_s,epoch_time_s,elapsed_s\r\n"
        "0,0.0123,0.0456,0.0001,10.5,12.25,12.25\r\n"
        "1,0.01,,nan,9.0,11.0,23.25\r\n"
    )
    epochs = read_training_log(path).epochs
    assert epochs[0] == EpochRow(0, 0.0123, 0.0456, 0.0001, 10.5, 12.25, 12.25)
    assert epochs[1].val_loss is None and epochs[1].lr is None and epochs[1].elapsed_s == 23.25


def test_bad_logs_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="cannot read the training log"):
        read_training_log(tmp_path / "absent.csv")
    short = tmp_path / "short.csv"
    short.write_text("epoch,train_loss\n0,1.0\n")
    with pytest.raises(DataError, match=r"lacks the columns \['val_loss'"):
        read_training_log(short)
    bad = tmp_path / "bad.csv"
    bad.write_text(",".join(LOG_COLUMNS) + "\n0,abc,1,1,1,1,1\n")
    with pytest.raises(DataError, match="line 2, train_loss: 'abc' is not a number"):
        read_training_log(bad)


def _trainer(epoch: int, train_loss: float, val_loss: float | None) -> SimpleNamespace:
    metrics = {"train_loss": torch.tensor(train_loss)}
    if val_loss is not None:
        metrics["val_loss"] = torch.tensor(val_loss)
    optimizer = SimpleNamespace(param_groups=[{"lr": 0.01}])
    return SimpleNamespace(current_epoch=epoch, callback_metrics=metrics, optimizers=[optimizer],
                           is_global_zero=True, sanity_checking=False)


def _run_epoch(callback: TrainingLogCSV, trainer: SimpleNamespace) -> None:
    callback.on_train_epoch_start(trainer, None)
    callback.on_validation_start(trainer, None)
    callback.on_train_epoch_end(trainer, None)


def test_callback_writes_the_log_and_keeps_finished_epochs_on_resume(tmp_path: Path) -> None:
    path = tmp_path / "training_log.csv"
    first = TrainingLogCSV(path)
    first.on_train_start(_trainer(0, 1.0, None), None)
    for epoch, (train, val) in enumerate([(1.0, 0.9), (0.5, None), (0.25, 0.2)]):
        _run_epoch(first, _trainer(epoch, train, val))
    log = read_training_log(path)
    assert [r.epoch for r in log.epochs] == [0, 1, 2]
    assert log.column("train_loss") == [1.0, 0.5, 0.25]
    assert log.column("val_loss") == [pytest.approx(0.9), None, pytest.approx(0.2)]
    assert log.column("lr") == [0.01] * 3
    assert all(r.epoch_time_s is not None and r.epoch_time_s >= r.train_time_s >= 0
               for r in log.epochs)
    # Resuming from the checkpoint of epoch 1 (epoch 2 is redone): rows 0 and 1 stay.
    resumed = TrainingLogCSV(path)
    resumed.on_train_start(_trainer(2, 0.3, 0.3), None)
    assert resumed.rows == list(log.epochs[:2])
    _run_epoch(resumed, _trainer(2, 0.3, 0.3))
    again = read_training_log(path)
    assert again.epochs[:2] == log.epochs[:2] and again.epochs[2].train_loss == pytest.approx(0.3)
    elapsed = again.column("elapsed_s")
    assert elapsed[2] is not None and elapsed[1] is not None and elapsed[2] >= elapsed[1]
    assert not math.isnan(elapsed[2])
