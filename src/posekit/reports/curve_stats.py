"""Robust statistics of one loss curve (pure numpy / scipy, no I/O).

Loss curves are studied on the log scale: a loss that halves moves by the same amount
whether it goes from 1 to 0.5 or from 0.002 to 0.001, so slopes are *relative changes per
epoch* and thresholds are percentages. Every statistic here resists the noise and the
occasional wild epoch of real training logs:

* :func:`running_median` - the smoothed curve (a single spike does not move it);
* :func:`noise_level` - the epoch-to-epoch noise: each epoch against the median of its
  four neighbours (the trend cancels), spread by the median absolute deviation (spikes
  do not count);
* :func:`fit_trend` - the Theil-Sen line (median of pairwise slopes) with its 95 %
  interval (Sen's, computed as ``scipy.stats.theilslopes`` does): one wild epoch barely
  moves it;
* :func:`spikes` - epochs above *both* neighbours by a margin (a falling or rising trend,
  or a step down when the learning rate drops, never makes one).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

MAD_TO_SIGMA = 1.4826
"""Median absolute deviation -> standard deviation for Gaussian noise."""


def running_median(y: np.ndarray, window: int = 5) -> np.ndarray:
    """Centred running median of ``y`` over ``window`` values; near the ends the window
    is cut off (the first value becomes the median of the first three), which keeps the
    ends robust to one wild epoch."""
    y = np.asarray(y, dtype=np.float64)
    half, n = window // 2, len(y)
    out = np.empty_like(y)
    if n >= window:
        out[half:n - half] = np.median(np.lib.stride_tricks.sliding_window_view(y, window),
                                       axis=1)
    for i in (*range(min(half, n)), *range(max(n - half, half), n)):
        out[i] = np.median(y[max(0, i - half):min(n, i + half + 1)])
    return out


RESIDUAL_TO_SIGMA = 1 / 1.148
"""Spread of ``y[t] - median(y[t-2], y[t-1], y[t+1], y[t+2])`` -> noise standard
deviation (Gaussian noise; measured by simulation: that residual spreads 1.148 times the
noise)."""


def noise_level(y: np.ndarray) -> float:
    """Standard deviation of the epoch-to-epoch noise of ``y`` (log losses).

    Each interior epoch is compared with the median of its four neighbours (two before,
    two after), which follows a rising or falling trend but not the epoch's own noise; a
    spike disturbs only its own residual, not its neighbours' medians. The residuals'
    spread is the median absolute deviation, so a few spikes do not inflate it. 0 when
    fewer than 3 epochs have two neighbours on each side.
    """
    y = np.asarray(y, dtype=np.float64)
    if len(y) < 7:
        return 0.0
    around = np.stack([y[:-4], y[1:-3], y[3:-1], y[4:]])
    residual = y[2:-2] - np.median(around, axis=0)
    mad = float(np.median(np.abs(residual - np.median(residual))))
    return MAD_TO_SIGMA * mad * RESIDUAL_TO_SIGMA


@dataclass(frozen=True)
class Trend:
    """A Theil-Sen line through ``log(loss)`` over epochs ``first`` .. ``last``.

    Attributes:
        first: first epoch of the window.
        last: last epoch of the window.
        n: values fitted.
        slope: fitted change of ``log(loss)`` per epoch.
        low: lower end of the slope's 95 % interval (``-inf`` when unknown).
        high: upper end of the slope's 95 % interval (``inf`` when unknown).
        end: the fitted ``log(loss)`` at ``last``.
    """

    first: int
    last: int
    n: int
    slope: float
    low: float
    high: float
    end: float

    @property
    def rate(self) -> float:
        """Relative change per epoch (``-0.02``: falls 2 % per epoch)."""
        return math.expm1(self.slope)

    @property
    def change(self) -> float:
        """Relative change of the fitted line across the window (``0.25``: +25 %)."""
        return math.expm1(self.slope * (self.last - self.first))

    @property
    def rising(self) -> bool:
        """The whole 95 % interval of the slope is above 0."""
        return self.low > 0

    @property
    def falling(self) -> bool:
        """The whole 95 % interval of the slope is below 0."""
        return self.high < 0


def _tie_term(values: np.ndarray) -> float:
    counts = np.unique(values, return_counts=True)[1]
    counts = counts[counts > 1].astype(np.float64)
    return float(np.sum(counts * (counts - 1) * (2 * counts + 5)))


def fit_trend(epochs: np.ndarray, y: np.ndarray, confidence: float = 0.95) -> Trend:
    """Theil-Sen fit of ``y`` (log losses) against ``epochs``, with Sen's (1968) interval
    of the slope from Kendall's tau (as ``scipy.stats.theilslopes``; unknown below 3
    values)."""
    x = np.asarray(epochs, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n = len(x)
    if n < 2:
        raise ValueError("a trend needs at least 2 epochs")
    dx = x[:, None] - x
    dy = y[:, None] - y
    slopes = np.sort(dy[dx > 0] / dx[dx > 0])
    slope = float(np.median(slopes))
    intercept = float(np.median(y) - slope * np.median(x))
    low, high = -math.inf, math.inf
    if n >= 3:
        z = NormalDist().inv_cdf((1 - confidence) / 2)
        sigma = math.sqrt((n * (n - 1) * (2 * n + 5) - _tie_term(x) - _tie_term(y)) / 18)
        upper = min(int(np.round((len(slopes) - z * sigma) / 2)), len(slopes) - 1)
        lower = max(int(np.round((len(slopes) + z * sigma) / 2)) - 1, 0)
        low, high = float(slopes[lower]), float(slopes[upper])
    return Trend(int(x[0]), int(x[-1]), n, slope, low, high, intercept + slope * float(x[-1]))


@dataclass(frozen=True)
class Spike:
    """An epoch (or two in a row) whose loss is above both neighbours.

    Attributes:
        epoch: the (first) spiking epoch.
        width: 1 or 2 epochs.
        height: how far above the higher neighbour, as a relative change (0.6: +60 %).
    """

    epoch: int
    width: int
    height: float


def spikes(epochs: np.ndarray, y: np.ndarray, threshold: float) -> list[Spike]:
    """Spikes of ``y`` (log losses) at least ``threshold`` (in log units) above both
    neighbours: one epoch above epochs ``t-1`` and ``t+1``, or two epochs in a row above
    ``t-1`` and ``t+2``; the last epoch counts when it is that far above the one before.
    The first epoch never counts (it has no earlier neighbour)."""
    y = np.asarray(y, dtype=np.float64)
    n = len(y)
    found: dict[int, Spike] = {}
    for t in range(1, n - 1):
        height = y[t] - max(y[t - 1], y[t + 1])
        if height >= threshold:
            found[t] = Spike(int(epochs[t]), 1, math.expm1(height))
    for t in range(1, n - 2):
        height = min(y[t], y[t + 1]) - max(y[t - 1], y[t + 2])
        if height >= threshold and t not in found and t + 1 not in found:
            found[t] = Spike(int(epochs[t]), 2, math.expm1(height))
    if n >= 3 and y[-1] - y[-2] >= threshold and (n - 2) not in found:
        found[n - 1] = Spike(int(epochs[-1]), 1, math.expm1(y[-1] - y[-2]))
    return [found[t] for t in sorted(found)]
