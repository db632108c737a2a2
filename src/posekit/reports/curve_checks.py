"""One check per loss-curve pattern: pure functions of the prepared curves.

Each check measures its evidence on the log-scale curves (:mod:`curve_stats`) and returns
a :class:`~posekit.reports.curve_results.PatternCheck`; docs/reports.md states every rule
in words. Checks never look at one another; :mod:`curve_diagnosis` orders them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from posekit.reports.curve_results import CurveThresholds, Evidence, PatternCheck
from posekit.reports.curve_stats import Spike, Trend, fit_trend, spikes


def trailing_window(n: int, th: CurveThresholds) -> slice:
    """The last ``trailing_share`` (a third) of ``n`` epochs, at least 5 (or all)."""
    return slice(n - min(n, max(5, math.ceil(n * th.trailing_share))), n)


@dataclass(frozen=True)
class PreparedCurves:
    """The curves every check reads: log losses of the epochs with both losses.

    Attributes:
        epochs: epoch numbers (int array).
        train: ``log(training loss)``.
        val: ``log(validation loss)``.
        lr: learning rate per epoch (``None`` where not logged).
        train_smooth: running median of ``train``.
        val_smooth: running median of ``val``.
        train_sigma: noise standard deviation of ``train`` (log units).
        val_sigma: noise standard deviation of ``val``.
        train_loss: the training losses as logged.
        val_loss: the validation losses as logged.
        train_end: ``log(training loss)`` at the last epoch, from the trend of the
            trailing window (robust to a last wild epoch, and not lagging a falling curve
            as a median would).
        val_end: the same for the validation loss.
    """

    epochs: np.ndarray
    train: np.ndarray
    val: np.ndarray
    lr: tuple[float | None, ...]
    train_smooth: np.ndarray
    val_smooth: np.ndarray
    train_sigma: float
    val_sigma: float
    train_loss: tuple[float, ...]
    val_loss: tuple[float, ...]
    train_end: float
    val_end: float

    @property
    def n(self) -> int:
        """Number of epochs."""
        return len(self.epochs)

    def tail(self, th: CurveThresholds) -> slice:
        """The trailing window (:func:`trailing_window`)."""
        return trailing_window(self.n, th)

    def trend(self, which: str, window: slice, th: CurveThresholds) -> Trend:
        """Theil-Sen trend of ``"train"`` or ``"val"`` over ``window``."""
        return fit_trend(self.epochs[window], getattr(self, which)[window], th.confidence)

    def drop(self, which: str) -> float:
        """First epoch's loss / the loss at the end (``*_end``) of ``"train"`` or
        ``"val"``."""
        return math.exp(getattr(self, which)[0] - getattr(self, f"{which}_end"))

    @property
    def gap_ratio(self) -> float:
        """Validation / training loss at the end (``*_end``)."""
        return math.exp(self.val_end - self.train_end)


def pct(fraction: float) -> float:
    """A relative change as a percentage rounded to 0.1 (JSON and page agree)."""
    return round(100.0 * fraction, 1)


def trend_evidence(key: str, label: str, trend: Trend, rule: str = "",
                   met: bool | None = None) -> Evidence:
    """A trend as evidence: its rate in %/epoch with the 95 % interval."""
    def rate(s: float) -> float | None:
        return pct(math.expm1(s)) if math.isfinite(s) else None
    return Evidence(key, f"{label} (epochs {trend.first}-{trend.last})", pct(trend.rate),
                    "%/epoch", rule, met, rate(trend.low), rate(trend.high))


def spike_threshold(sigma: float, th: CurveThresholds) -> float:
    """Height (log units) above both neighbours that makes a spike."""
    return max(math.log1p(th.spike_min), th.spike_sigmas * sigma)


def spikes_needed(n: int, th: CurveThresholds) -> int:
    """Spikes needed to call a curve jumpy."""
    return max(th.min_spikes, math.ceil(th.spike_share * n))


def jumped(count: int) -> str:
    """``"never jumped"``, ``"jumped once"``, ``"jumped twice"``, ``"jumped 5 times"``."""
    return "never jumped" if count == 0 else "jumped " + {1: "once", 2: "twice"}.get(
        count, f"{count} times")


def _epochs_text(found: list[Spike]) -> str:
    return ", ".join(str(s.epoch) for s in found[:8]) + (" ..." if len(found) > 8 else "")


def _spike_epochs(found: list[Spike]) -> tuple[int, ...]:
    return tuple(sorted({s.epoch for s in found} | {s.epoch + 1 for s in found if s.width == 2}))


@dataclass(frozen=True)
class Rise:
    """How a curve moved after its lowest point.

    Attributes:
        low: index of the smoothed curve's lowest point.
        trend: Theil-Sen trend of the epochs after the lowest point's smoothing window
            (those epochs were not chosen for being low, so the trend is not biased
            upwards), or ``None`` when fewer than ``min_rise_epochs`` epochs are left.
        span: epochs from the lowest point to the last epoch.
    """

    low: int
    trend: Trend | None
    span: float

    def change(self, slope: float | None = None) -> float:
        """The trend (or ``slope``) carried from the lowest point to the last epoch, as a
        relative change (0.2: +20 %)."""
        if self.trend is None:
            return 0.0
        return math.expm1((self.trend.slope if slope is None else slope) * self.span)

    def significant(self, th: CurveThresholds) -> bool:
        """Even the lower end of the trend's interval rises by ``min_rise`` or more."""
        return self.trend is not None and self.change(self.trend.low) >= th.min_rise

    def evidence(self, key: str, label: str, th: CurveThresholds) -> Evidence:
        """The rise as evidence, with its interval."""
        assert self.trend is not None
        return Evidence(key, label, pct(self.change()), "%",
                        f"lower end \u2265 +{pct(th.min_rise)} %", self.significant(th),
                        pct(self.change(self.trend.low)) if math.isfinite(self.trend.low)
                        else None,
                        pct(self.change(self.trend.high)) if math.isfinite(self.trend.high)
                        else None)


def rise_after_lowest(c: PreparedCurves, which: str, th: CurveThresholds) -> Rise:
    """The :class:`Rise` of ``"train"`` or ``"val"``."""
    low = int(np.argmin(getattr(c, f"{which}_smooth")))
    first = low + th.smooth_window // 2 + 1
    span = float(c.epochs[-1] - c.epochs[low])
    if c.n - first < th.min_rise_epochs:
        return Rise(low, None, span)
    return Rise(low, c.trend(which, slice(first, c.n), th), span)


def epochs_needed_after_lowest(th: CurveThresholds) -> int:
    """Epochs that must follow the lowest point before a rise can be measured."""
    return th.min_rise_epochs + th.smooth_window // 2


def check_unstable(c: PreparedCurves, th: CurveThresholds) -> PatternCheck:
    """Unstable training: the training loss itself jumps (spikes) or rises after its
    lowest point. A learning rate too high or batches too small; checked first because
    no other pattern means anything while training itself misbehaves."""
    threshold = spike_threshold(c.train_sigma, th)
    found = spikes(c.epochs, c.train, threshold)
    need = spikes_needed(c.n, th)
    rise = rise_after_lowest(c, "train", th)
    low = rise.low
    rising = rise.significant(th)
    jumpy = len(found) >= need
    evidence = [
        Evidence("train_spikes", "training-loss spikes", len(found), "", f"\u2265 {need}", jumpy),
        Evidence("spike_threshold", "a spike is at least this far above both neighbours",
                 pct(math.expm1(threshold)), "%"),
        Evidence("train_lowest_epoch", "lowest point of the smoothed training loss",
                 int(c.epochs[low]), "epoch"),
    ]
    if rise.trend is not None:
        evidence += [
            rise.evidence("train_rise", "training-loss change since its lowest point", th),
            trend_evidence("train_rise_trend", "training-loss trend after its lowest point",
                           rise.trend, "95 % interval above 0", rise.trend.rising),
        ]
    if rising:
        summary = (f"The training loss rose {pct(rise.change())} % after its lowest point at "
                   f"epoch {c.epochs[low]} (a steady rise, beyond the noise): the optimisation "
                   "is unstable.")
    elif jumpy:
        summary = (f"The training loss {jumped(len(found))} (epochs {_epochs_text(found)}; "
                   f"up to +{pct(max(s.height for s in found))} %): the optimisation is "
                   "unstable.")
    else:
        summary = (f"The training loss did not rise after its lowest point (epoch "
                   f"{c.epochs[low]}) and {jumped(len(found))}; unstable needs a "
                   f"steady rise of {pct(th.min_rise)} % or {need} jumps.")
    return PatternCheck("unstable", rising or jumpy, summary, tuple(evidence),
                        int(c.epochs[low]) if rising else None, _spike_epochs(found))


def _gap(c: PreparedCurves, th: CurveThresholds) -> tuple[bool, list[Evidence]]:
    """Widening-gap overfitting: validation stalled far above a still-falling training
    loss."""
    ratio_end = c.gap_ratio
    ratio_start = math.exp(c.val_smooth[0] - c.train_smooth[0])
    widening = ratio_end / ratio_start
    tail = c.tail(th)
    val_tail, train_tail = c.trend("val", tail, th), c.trend("train", tail, th)
    found = (c.n >= 6 and ratio_end >= th.gap_ratio and widening >= th.gap_widening
             and not val_tail.falling and train_tail.falling)
    return found, [
        Evidence("gap_ratio", "validation \u00f7 training loss at the end", round(ratio_end, 2),
                 "x", f"\u2265 {th.gap_ratio:g}", ratio_end >= th.gap_ratio),
        Evidence("gap_widening", "growth of that ratio since the first epochs",
                 round(widening, 2), "x", f"\u2265 {th.gap_widening:g}",
                 widening >= th.gap_widening),
        trend_evidence("val_tail_trend", "validation trend at the end", val_tail,
                       "not falling (interval reaches 0)", not val_tail.falling),
        trend_evidence("train_tail_trend", "training trend at the end", train_tail,
                       "falling (interval below 0)", train_tail.falling),
    ]


def check_overfitting(c: PreparedCurves, th: CurveThresholds) -> PatternCheck:
    """Overfitting: after its lowest point the validation loss rises (beyond the noise,
    by ``min_rise``) while the training loss does not; or the validation loss has stalled
    at ``gap_ratio`` times a training loss that keeps falling (a widening gap)."""
    rise = rise_after_lowest(c, "val", th)
    low, after, need = rise.low, c.n - 1 - rise.low, epochs_needed_after_lowest(th)
    evidence = [Evidence("val_lowest_epoch", "lowest point of the smoothed validation loss",
                         int(c.epochs[low]), "epoch"),
                Evidence("epochs_after_lowest", "epochs after it", after, "epochs",
                         f"\u2265 {need}", after >= need)]
    rising = False
    if rise.trend is not None:
        train = c.trend("train", slice(low, c.n), th)
        train_ok = train.rate <= th.flat_rate
        rising = rise.significant(th) and train_ok
        evidence += [
            rise.evidence("val_rise", "validation-loss change since its lowest point", th),
            trend_evidence("val_rise_trend", "validation trend after its lowest point",
                           rise.trend, "95 % interval above 0", rise.trend.rising),
            trend_evidence("train_trend_meanwhile", "training trend since that point", train,
                           f"\u2264 +{pct(th.flat_rate)} %/epoch", train_ok),
        ]
    gap, gap_evidence = _gap(c, th)
    evidence += gap_evidence
    ratio = gap_evidence[0].value
    if rising:
        summary = (f"The validation loss rose {pct(rise.change())} % after its lowest point at "
                   f"epoch {c.epochs[low]} while the training loss kept falling or stayed "
                   "flat: the curves diverge.")
    elif gap:
        summary = (f"The validation loss stopped improving at {ratio}\u00d7 the training loss, "
                   "which keeps falling: the gap between them widens.")
    else:
        summary = ("The validation loss did not rise after its lowest point (epoch "
                   f"{c.epochs[low]}) beyond the noise, and ended at {ratio}\u00d7 the "
                   "training loss without a widening gap.")
    detected = rising or gap
    return PatternCheck("overfitting", detected, summary, tuple(evidence),
                        int(c.epochs[low]) if detected else None)


def check_underfitting(c: PreparedCurves, th: CurveThresholds) -> PatternCheck:
    """Underfitting: both losses are still high - neither fell by ``underfit_drop``
    (2x) from the first epoch to the end."""
    drop_train, drop_val = c.drop("train"), c.drop("val")
    pace = c.trend("train", c.tail(th), th)
    detected = drop_train < th.underfit_drop and drop_val < th.underfit_drop
    rule = f"< {th.underfit_drop:g}"
    evidence = (
        Evidence("train_drop", "training loss: first epoch \u00f7 end", round(drop_train, 2),
                 "x", rule, drop_train < th.underfit_drop),
        Evidence("val_drop", "validation loss: first epoch \u00f7 end", round(drop_val, 2),
                 "x", rule, drop_val < th.underfit_drop),
        trend_evidence("train_pace", "training trend at the end", pace),
    )
    if detected:
        still = ("still falling " f"{-pct(pace.rate)} %/epoch" if pace.falling
                 else "no longer falling clearly")
        summary = (f"Both losses are still high: the training loss fell only "
                   f"{drop_train:.2f}\u00d7 and the validation loss {drop_val:.2f}\u00d7 over "
                   f"{c.n} epochs (a model that learns falls at least {th.underfit_drop:g}\u00d7), "
                   f"and training is {still}.")
    else:
        summary = (f"The losses fell enough: training {drop_train:.1f}\u00d7, validation "
                   f"{drop_val:.1f}\u00d7 (underfitting: both below {th.underfit_drop:g}\u00d7).")
    return PatternCheck("underfitting", detected, summary, evidence)


def check_volatile(c: PreparedCurves, th: CurveThresholds) -> PatternCheck:
    """Volatile validation: the validation loss spikes (above both neighbours by
    ``spike_min`` and ``spike_sigmas`` noise deviations) at least ``min_spikes`` times at
    epochs where the training loss does not."""
    threshold = spike_threshold(c.val_sigma, th)
    val_spikes = spikes(c.epochs, c.val, threshold)
    train_at = {s.epoch for s in spikes(c.epochs, c.train,
                                        spike_threshold(c.train_sigma, th) / 2)}
    only = [s for s in val_spikes if s.epoch not in train_at]
    need = spikes_needed(c.n, th)
    detected = len(only) >= need
    largest = max((s.height for s in only), default=None)
    evidence = (
        Evidence("val_spikes", "validation spikes (training calm)", len(only), "",
                 f"\u2265 {need}", detected),
        Evidence("largest_spike", "largest, above both neighbours",
                 None if largest is None else pct(largest), "%"),
        Evidence("spike_threshold", "a spike is at least this far above both neighbours",
                 pct(math.expm1(threshold)), "%"),
        Evidence("joint_spikes", "validation spikes with a training spike too",
                 len(val_spikes) - len(only), ""),
        Evidence("val_noise", "validation noise (typical change per epoch)",
                 pct(math.expm1(c.val_sigma)), "%"),
        Evidence("train_noise", "training noise (typical change per epoch)",
                 pct(math.expm1(c.train_sigma)), "%"),
    )
    if detected:
        summary = (f"The validation loss {jumped(len(only))} (epochs {_epochs_text(only)}; "
                   f"up to +{pct(largest or 0.0)} %) while the training loss stayed calm.")
    else:
        summary = (f"The validation loss {jumped(len(only))} above both neighbours by "
                   f"more than {pct(math.expm1(threshold))} %; volatile needs {need} jumps.")
    return PatternCheck("volatile", detected, summary, evidence, None, _spike_epochs(only))
