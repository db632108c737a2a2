"""``training_log.csv``: one row per epoch, written during training and read back typed.

The file has the header ``epoch,train_loss,val_loss,lr,train_time_s,epoch_time_s,elapsed_s``
and one row per finished epoch (0-based ``epoch``; losses as logged; ``lr`` the learning
rate the epoch trained with; ``train_time_s`` the epoch's training part without
validation, ``epoch_time_s`` the whole epoch, ``elapsed_s`` the time since the run
started, resumed runs included). A value that was not logged is written ``nan`` and read
back as ``None``. This module needs neither torch nor Lightning, so reports can read logs.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from posekit.errors import DataError

LOG_COLUMNS = ("epoch", "train_loss", "val_loss", "lr", "train_time_s", "epoch_time_s",
               "elapsed_s")
"""The columns of ``training_log.csv``, in order."""


@dataclass(frozen=True)
class EpochRow:
    """One epoch of the training log (``None``: not logged, ``nan`` in the file).

    Attributes:
        epoch: 0-based epoch index.
        train_loss: mean training loss of the epoch.
        val_loss: validation loss after the epoch.
        lr: learning rate the epoch trained with.
        train_time_s: seconds of the epoch's training part (without validation).
        epoch_time_s: seconds of the whole epoch.
        elapsed_s: seconds since the run started (across resumes).
    """

    epoch: int
    train_loss: float | None
    val_loss: float | None
    lr: float | None
    train_time_s: float | None
    epoch_time_s: float | None
    elapsed_s: float | None


@dataclass(frozen=True)
class TrainingLog:
    """A run's training log, one :class:`EpochRow` per finished epoch in epoch order."""

    path: str
    epochs: tuple[EpochRow, ...]

    def column(self, name: str) -> list[float | None]:
        """The values of one column (e.g. ``"val_loss"``), one per epoch."""
        if name not in LOG_COLUMNS:
            raise KeyError(f"{name!r} is not a training-log column; expected one of {LOG_COLUMNS}")
        return [getattr(row, name) for row in self.epochs]


def _value(text: str | None, where: str) -> float | None:
    if text is None or text.strip() in ("", "nan", "NaN"):
        return None
    try:
        value = float(text)
    except ValueError as exc:
        raise DataError(f"{where}: {text!r} is not a number; expected a number or nan.") from exc
    return value if math.isfinite(value) else None


def read_training_log(path: str | os.PathLike[str]) -> TrainingLog:
    """Read ``training_log.csv`` (see the module docstring).

    Raises:
        DataError: the file is missing, lacks a column, or holds a value that is not a number.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DataError(
            f"{path}: cannot read the training log ({exc}); expected the training_log.csv "
            "of a posekit run folder."
        ) from exc
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in LOG_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise DataError(
            f"{path}: the training log lacks the columns {missing}; expected the header "
            f"{','.join(LOG_COLUMNS)} (posekit's training_log.csv)."
        )
    rows = []
    for line, record in enumerate(reader, start=2):
        values = {c: _value(record[c], f"{path}, line {line}, {c}") for c in LOG_COLUMNS}
        if values["epoch"] is None:
            raise DataError(f"{path}, line {line}: no epoch number; expected 0, 1, 2...")
        rows.append(EpochRow(**{**values, "epoch": int(values["epoch"])}))
    return TrainingLog(str(path), tuple(rows))


def training_log_text(rows: Sequence[EpochRow]) -> str:
    """The CSV text of ``rows`` (header first; ``None`` written as ``nan``)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(LOG_COLUMNS)
    for row in rows:
        values = [getattr(row, c) for c in LOG_COLUMNS]
        writer.writerow([math.nan if v is None else v for v in values])
    return buffer.getvalue()
