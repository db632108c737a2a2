"""The plateau check: both losses flat for many epochs at one learning rate.

The guide's plateau is an optimiser stuck at its current learning rate, and its fix is a
schedule that lowers the rate. So only the trailing stretch at the *current* learning
rate is examined, and a flat stretch is not a plateau when a schedule is already doing
what the guide asks: when the rate was lowered at most ``plateau_epochs`` before the
stretch began (and the stretch is shorter than twice that), or when the loss stayed flat
*across* the last drop (from half ``plateau_epochs`` before it to the end): that run has
*converged*.
"""

from __future__ import annotations

import math

import numpy as np

from posekit.reports.curve_checks import PreparedCurves, pct, trend_evidence
from posekit.reports.curve_results import CurveThresholds, Evidence, PatternCheck
from posekit.reports.curve_stats import Trend


def _same_lr(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=1e-6)


def lr_segment_start(lr: tuple[float | None, ...]) -> int:
    """Index of the first epoch of the trailing run of epochs at the last learning rate."""
    start = len(lr) - 1
    while start > 0 and _same_lr(lr[start - 1], lr[-1]):
        start -= 1
    return start


def lr_drops(lr: tuple[float | None, ...]) -> list[int]:
    """Indices of the epochs whose learning rate is lower than the epoch before's."""
    return [i for i in range(1, len(lr)) if lr[i] is not None and lr[i - 1] is not None
            and lr[i] < lr[i - 1] * (1 - 1e-6)]  # type: ignore[operator]


def train_flat(train: Trend, th: CurveThresholds) -> bool:
    """The training trend is within ``flat_rate`` per epoch, and its whole interval within
    twice that (a noisy curve that may well be falling is not called flat)."""
    wide = math.log1p(2 * th.flat_rate)
    return abs(train.rate) <= th.flat_rate and train.low >= -wide and train.high <= wide


def val_flat(val: Trend, th: CurveThresholds) -> bool:
    """The validation trend's interval reaches the flat band (a noisy validation curve
    cannot veto a plateau; one clearly moving does)."""
    band = math.log1p(th.flat_rate)
    return val.low <= band and val.high >= -band


def _flat_window(c: PreparedCurves, length: int, th: CurveThresholds
                 ) -> tuple[bool, Trend, Trend]:
    """Whether the last ``length`` epochs are flat: both trends flat, and the training
    loss's level at the window's start (median of its first 3 epochs) within
    ``flat_rate`` per epoch (plus twice the noise) of its level at the end, since a
    robust trend alone ignores a short fall at the start of a long window."""
    window = slice(c.n - length, c.n)
    train, val = c.trend("train", window, th), c.trend("val", window, th)
    start_level = float(np.median(c.train[c.n - length:c.n - length + 3]))
    end_level = float(np.median(c.train[-3:]))
    allowed = math.log1p(th.flat_rate) * (length - 1) + 2 * c.train_sigma
    flat = train_flat(train, th) and val_flat(val, th) and \
        abs(start_level - end_level) <= allowed
    return flat, train, val


def _longest_flat(c: PreparedCurves, start: int, th: CurveThresholds
                  ) -> tuple[int, Trend, Trend]:
    """Longest trailing window (within ``start`` .. end, at least ``plateau_epochs``)
    that is flat: ``(length, train trend, val trend)``; length 0 when none is (then the
    trends are those of the shortest window tried). Lengths are tried from the longest
    down in steps of 15 %, then one by one between the first flat one and the one
    before it."""
    longest = c.n - start
    shortest = min(th.plateau_epochs, longest)
    lengths, length = [], longest
    while length > shortest:
        lengths.append(length)
        length = min(length - 1, int(length * 0.85))
    lengths.append(shortest)
    for k, length in enumerate(lengths):
        if length < th.plateau_epochs:
            break
        flat, train, val = _flat_window(c, length, th)
        if flat:
            for longer in range(lengths[k - 1] - 1 if k else length, length, -1):
                found = _flat_window(c, longer, th)
                if found[0]:
                    return longer, found[1], found[2]
            return length, train, val
    window = slice(c.n - shortest, c.n)
    return 0, c.trend("train", window, th), c.trend("val", window, th)


def check_plateau(c: PreparedCurves, th: CurveThresholds) -> PatternCheck:
    """Plateau: after an initial decrease (training fell at least ``underfit_drop``),
    both losses flat for at least ``plateau_epochs`` epochs at an unchanged learning
    rate that no schedule has just lowered (see the module docstring)."""
    seg = lr_segment_start(c.lr)
    drops = lr_drops(c.lr)
    flat, train, val = _longest_flat(c, seg, th) if c.n - seg >= 2 else (0, None, None)
    first = c.n - flat
    converged = False
    if drops:
        across = c.n - max(0, drops[-1] - th.plateau_epochs // 2)
        converged = across >= th.plateau_epochs and _flat_window(c, across, th)[0]
    just_lowered = (bool(drops) and drops[-1] == seg and seg > 0 and flat > 0
                    and first - seg <= th.plateau_epochs and flat < 2 * th.plateau_epochs)
    fell = c.drop("train") >= th.underfit_drop
    long_enough = flat >= th.plateau_epochs
    detected = long_enough and fell and not converged and not just_lowered
    lr_now = c.lr[-1]
    evidence = [
        Evidence("epochs_at_lr", "epochs at the current learning rate", c.n - seg, "epochs"),
        Evidence("flat_epochs", "trailing epochs where both losses are flat", flat, "epochs",
                 f"\u2265 {th.plateau_epochs}", long_enough),
        Evidence("train_drop", "training loss fell before (first epoch \u00f7 end)",
                 round(c.drop("train"), 2), "x", f"\u2265 {th.underfit_drop:g}", fell),
        Evidence("lr_lowered_epoch", "learning rate last lowered at",
                 int(c.epochs[drops[-1]]) if drops else None, "epoch"),
        Evidence("just_lowered", "a schedule lowered the rate just before the flat stretch "
                 f"(at most {th.plateau_epochs} epochs, stretch under "
                 f"{2 * th.plateau_epochs})", "yes" if just_lowered else "no", "", "no",
                 not just_lowered),
        Evidence("converged", "flat across the last drop of the learning rate",
                 "yes" if converged else "no", "", "no", not converged),
    ]
    if train is not None and val is not None:
        band = f"\u00b1{pct(th.flat_rate)} %/epoch"
        evidence += [trend_evidence("train_flat_trend", "training trend", train,
                                    f"within {band}, interval within \u00b1"
                                    f"{pct(2 * th.flat_rate)}", train_flat(train, th)),
                     trend_evidence("val_flat_trend", "validation trend", val,
                                    f"interval reaches {band}", val_flat(val, th))]
    lr_text = "an unknown learning rate" if lr_now is None else f"learning rate {lr_now:g}"
    if detected:
        summary = (f"Both losses have been flat for {flat} epochs (since epoch "
                   f"{c.epochs[first]}) at an unchanged {lr_text}.")
    elif converged:
        summary = (f"Lowering the learning rate at epoch {c.epochs[drops[-1]]} did not move "
                   "the losses, which stayed flat: the run has converged.")
    elif long_enough and just_lowered:
        summary = (f"Flat for {flat} epochs, but the learning rate was lowered at epoch "
                   f"{c.epochs[drops[-1]]}, just before: the schedule is at work.")
    elif long_enough:
        summary = (f"Flat for {flat} epochs, but the training loss fell only "
                   f"{c.drop('train'):.2f}\u00d7 before (see underfitting).")
    else:
        summary = (f"The losses were not flat for {th.plateau_epochs} epochs at the current "
                   f"{lr_text} ({c.n - seg} epochs at it).")
    return PatternCheck("plateau", detected, summary, tuple(evidence),
                        int(c.epochs[first]) if flat else None)
