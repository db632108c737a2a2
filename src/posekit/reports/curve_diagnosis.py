"""Diagnose a run's loss curves: :func:`diagnose_curves` (epochs in, typed result out)
and :func:`diagnose_run` (a run folder or its ``training_log.csv``).

The checks run in the refinement guide's order, after a first check that training itself
is stable: unstable -> overfitting -> underfitting -> plateau -> volatile validation. The
first pattern found is the diagnosis; the others found are listed as notes; none found is
healthy. Every rule is in docs/reports.md ("Loss-curve diagnosis").
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from posekit.errors import DataError
from posekit.reports.curve_advice import actions_for
from posekit.reports.curve_checks import (
    PreparedCurves,
    check_overfitting,
    check_underfitting,
    check_unstable,
    check_volatile,
    pct,
    trailing_window,
)
from posekit.reports.curve_plateau import check_plateau
from posekit.reports.curve_results import (
    PATTERN_TITLES,
    CurveDiagnosis,
    CurveSeries,
    CurveThresholds,
    PatternCheck,
)
from posekit.reports.curve_stats import fit_trend, noise_level, running_median
from posekit.training.training_log import EpochRow, read_training_log

LOG_NAME = "training_log.csv"


def _usable(row: EpochRow) -> bool:
    return all(v is not None and v > 0 for v in (row.train_loss, row.val_loss))


def prepare_curves(rows: Iterable[EpochRow], th: CurveThresholds, source: str = ""
                   ) -> tuple[PreparedCurves, tuple[int, ...]]:
    """The log-scale curves of the epochs with both losses (sorted by epoch; a repeated
    epoch keeps its last row), and the epochs left out.

    Raises:
        DataError: fewer than ``th.min_epochs`` epochs have both losses.
    """
    by_epoch = {row.epoch: row for row in rows}
    ordered = [by_epoch[e] for e in sorted(by_epoch)]
    kept = [r for r in ordered if _usable(r)]
    skipped = tuple(r.epoch for r in ordered if not _usable(r))
    if len(kept) < th.min_epochs:
        where = source or "the training log"
        raise DataError(
            f"{where}: holds {len(kept)} epoch(s) with both a training and a validation loss "
            f"({len(ordered)} epoch(s) in all); the loss-curve diagnosis needs at least "
            f"{th.min_epochs}. Train for more epochs (trainer_config.max_epochs) with a "
            "validation set (data_config.validation_fraction > 0), or resume the run.")
    train = np.log([r.train_loss for r in kept])
    val = np.log([r.val_loss for r in kept])
    epochs = np.array([r.epoch for r in kept], dtype=np.int64)
    tail = trailing_window(len(kept), th)
    curves = PreparedCurves(
        epochs=epochs, train=train, val=val, lr=tuple(r.lr for r in kept),
        train_smooth=running_median(train, th.smooth_window),
        val_smooth=running_median(val, th.smooth_window), train_sigma=noise_level(train),
        val_sigma=noise_level(val), train_loss=tuple(float(r.train_loss) for r in kept),
        val_loss=tuple(float(r.val_loss) for r in kept),
        train_end=fit_trend(epochs[tail], train[tail], th.confidence).end,
        val_end=fit_trend(epochs[tail], val[tail], th.confidence).end)
    return curves, skipped


def _series(c: PreparedCurves) -> CurveSeries:
    def loss(y: np.ndarray) -> tuple[float, ...]:
        return tuple(float(v) for v in np.exp(y))
    return CurveSeries(tuple(int(e) for e in c.epochs), c.train_loss, c.val_loss, c.lr,
                       loss(c.train_smooth), loss(c.val_smooth))


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _healthy_headline(c: PreparedCurves) -> str:
    return (f"Healthy \u2013 both losses fell (training {c.drop('train'):.1f}\u00d7, validation "
            f"{c.drop('val'):.1f}\u00d7 over {c.n} epochs) and the validation loss neither rose, "
            "stalled far above the training loss, flattened at a constant learning rate nor "
            "jumped.")


def _notes(c: PreparedCurves, checks: tuple[PatternCheck, ...], pattern: str,
           still_improving: bool, skipped: tuple[int, ...], th: CurveThresholds) -> list[str]:
    notes = [f"Also found \u2013 {PATTERN_TITLES[k.pattern].lower()}: {_lower_first(k.summary)}"
             for k in checks if k.detected and k.pattern != pattern]
    plateau = next(k for k in checks if k.pattern == "plateau")
    if plateau.value("converged") == "yes":
        notes.append(plateau.summary + " More epochs will not help; better data will.")
    if pattern == "healthy" and still_improving:
        notes.append("The validation loss was still falling over the last epochs: the run "
                     "stopped before it converged.")
    volatile = next(k for k in checks if k.pattern == "volatile")
    if not volatile.detected and volatile.epochs:
        notes.append(f"The validation loss jumped at epoch(s) "
                     f"{', '.join(map(str, volatile.epochs))}; too few jumps to be a pattern.")
    if c.n < th.plateau_epochs:
        notes.append(f"Only {c.n} epochs: a short log shows only strong effects (a plateau "
                     f"needs {th.plateau_epochs} flat epochs, a rise "
                     f"{th.min_rise_epochs} epochs after the lowest point).")
    if skipped:
        notes.append(f"{len(skipped)} epoch(s) have no usable loss (missing, or not above 0) "
                     "and were left out: "
                     f"{', '.join(map(str, skipped[:10]))}{' ...' if len(skipped) > 10 else ''}.")
    return notes


def diagnose_curves(rows: Iterable[EpochRow], thresholds: CurveThresholds | None = None,
                    source: str = "") -> CurveDiagnosis:
    """Classify a training log's curves (see the module docstring).

    Args:
        rows: the log's epochs (:class:`~posekit.training.training_log.EpochRow`).
        thresholds: the rules' thresholds (default :class:`CurveThresholds`).
        source: where the rows came from, for messages and the result.

    Raises:
        DataError: fewer than ``thresholds.min_epochs`` epochs have both losses.
    """
    th = thresholds or CurveThresholds()
    c, skipped = prepare_curves(rows, th, source)
    checks = tuple(check(c, th) for check in (check_unstable, check_overfitting,
                                              check_underfitting, check_plateau,
                                              check_volatile))
    found = [k for k in checks if k.detected]
    pattern = found[0].pattern if found else "healthy"
    still_improving = c.trend("val", c.tail(th), th).falling
    headline = (f"{PATTERN_TITLES[pattern]} \u2013 {_lower_first(found[0].summary)}" if found
                else _healthy_headline(c))
    best = int(np.argmin(c.val))
    return CurveDiagnosis(
        pattern=pattern, headline=headline,
        actions=actions_for(pattern, still_improving),
        notes=tuple(_notes(c, checks, pattern, still_improving, skipped, th)),
        checks=checks, n_epochs=c.n, skipped_epochs=skipped,
        best_epoch=int(c.epochs[best]), best_val_loss=c.val_loss[best],
        final_train_loss=c.train_loss[-1], final_val_loss=c.val_loss[-1],
        train_drop=round(c.drop("train"), 4), val_drop=round(c.drop("val"), 4),
        gap_ratio=round(c.gap_ratio, 4),
        train_noise=pct(math.expm1(c.train_sigma)) / 100,
        val_noise=pct(math.expm1(c.val_sigma)) / 100,
        series=_series(c), thresholds=th, source=source)


def find_training_log(path: str | os.PathLike[str]) -> Path:
    """The ``training_log.csv`` of a run folder (or ``path`` itself when it is the file).

    Raises:
        DataError: no such folder or file, or the folder holds no training log.
    """
    path = Path(path)
    if path.is_file():
        return path
    if not path.is_dir():
        raise DataError(f"{path}: no such run folder or file; expected a posekit run folder "
                        f"(<ckpt_dir>/<run_name>, written by posekit train) or its {LOG_NAME}.")
    log = path / LOG_NAME
    if not log.is_file():
        raise DataError(
            f"{path}: holds no {LOG_NAME}; expected a posekit run folder, which gets one "
            "after its first finished epoch. Check the path, or wait for the first epoch to "
            "finish.")
    return log


def diagnose_run(path: str | os.PathLike[str], thresholds: CurveThresholds | None = None
                 ) -> CurveDiagnosis:
    """Diagnose the training log of a run folder (or a ``training_log.csv``).

    Raises:
        DataError: no log, an unreadable log, or too few epochs.
    """
    log_path = find_training_log(path)
    log = read_training_log(log_path)
    return diagnose_curves(log.epochs, thresholds, source=str(log_path))
