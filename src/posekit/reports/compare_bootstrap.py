"""Paired bootstrap over frames of the difference in mean error between two runs (numpy).

Both runs predicted the *same* frames, so each frame gives a pair of errors and the frames
are resampled together (a paired bootstrap): what varies between resamples is which frames
are in the test set, not which run saw which frames.

For one group of points (a node, a condition, all points) the inputs are, per frame ``f``,
the sum ``S[f]`` of the paired differences ``error_B - error_A`` over the points of that
group in the frame where *both* runs have an error, and their number ``N[f]``. The observed
difference is ``sum(S) / sum(N)`` (the difference of the two means over the paired
points). Resample ``b`` draws ``F`` frames with replacement,

    ``idx = numpy.random.default_rng(seed).integers(0, F, size=(n_boot, F))``

(one draw shared by every group, so the groups' intervals come from the same resamples),
and its statistic is ``sum(S[idx[b]]) / sum(N[idx[b]])``. The confidence interval is the
percentile interval (``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles, numpy's linear
interpolation) of those statistics; resamples where the group has no point are dropped.
The difference is *beyond noise* when the interval excludes 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

N_BOOT = 2000
"""Default number of bootstrap resamples."""
LEVEL = 0.95
"""Default confidence level."""
SEED = 0
"""Default seed: the same inputs and seed give the same intervals."""


@dataclass(frozen=True)
class Delta:
    """The difference ``B - A`` of mean errors over paired points, with its interval.

    Attributes:
        points: paired points (both runs have an error).
        frames: frames holding at least one of them.
        mean_a, mean_b: mean error (px) of each run over those points.
        delta: ``mean_b - mean_a`` (negative: B is better).
        low, high: the bootstrap confidence interval of ``delta``.
        relative: ``delta / mean_a`` (None when ``mean_a`` is 0 or undefined).
    """

    points: int
    frames: int
    mean_a: float | None
    mean_b: float | None
    delta: float | None
    low: float | None
    high: float | None
    relative: float | None

    @property
    def beyond_noise(self) -> bool:
        """Whether the interval excludes 0."""
        return self.low is not None and self.high is not None and (
            self.low > 0 or self.high < 0)

    @property
    def verdict(self) -> str:
        """``"better"`` (B lower beyond noise), ``"worse"`` or ``"within noise"`` (or
        ``"no data"``)."""
        if self.delta is None:
            return "no data"
        if not self.beyond_noise:
            return "within noise"
        return "better" if self.delta < 0 else "worse"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        return {"points": self.points, "frames": self.frames, "mean_a_px": self.mean_a,
                "mean_b_px": self.mean_b, "delta_px": self.delta, "ci_low_px": self.low,
                "ci_high_px": self.high, "relative": self.relative,
                "beyond_noise": self.beyond_noise, "verdict": self.verdict}


def resample_indices(n_frames: int, n_boot: int = N_BOOT, seed: int = SEED) -> np.ndarray:
    """``(n_boot, n_frames)`` frame indices drawn with replacement (module notes)."""
    return np.random.default_rng(seed).integers(0, n_frames, size=(n_boot, n_frames))


def _weights(idx: np.ndarray, n_frames: int) -> np.ndarray:
    """``(n_boot, n_frames)`` how many times each frame is drawn in each resample."""
    n_boot = idx.shape[0]
    flat = (idx + n_frames * np.arange(n_boot)[:, None]).ravel()
    return np.bincount(flat, minlength=n_boot * n_frames).reshape(n_boot, n_frames)


def _opt(value: float) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None


def paired_deltas(sum_a: np.ndarray, sum_b: np.ndarray, count: np.ndarray,
                  idx: np.ndarray, level: float = LEVEL) -> list[Delta]:
    """The :class:`Delta` of every group.

    Args:
        sum_a, sum_b: ``(F, G)`` per frame and group, the sums of run A's and run B's
            errors over the paired points.
        count: ``(F, G)`` the number of paired points.
        idx: ``(n_boot, F)`` resampled frames (:func:`resample_indices`).
        level: confidence level.
    """
    sum_a, sum_b = np.asarray(sum_a, np.float64), np.asarray(sum_b, np.float64)
    count = np.asarray(count, np.float64)
    n_frames = count.shape[0]
    weights = _weights(idx, n_frames).astype(np.float64) if n_frames else np.zeros((0, 0))
    diff = sum_b - sum_a
    boot_s, boot_n = weights @ diff, weights @ count  # (n_boot, G)
    out = []
    q = [(1 - level) / 2, (1 + level) / 2]
    for g in range(count.shape[1]):
        n = count[:, g].sum()
        if n == 0:
            out.append(Delta(0, 0, None, None, None, None, None, None))
            continue
        mean_a, mean_b = sum_a[:, g].sum() / n, sum_b[:, g].sum() / n
        ok = boot_n[:, g] > 0
        stats = boot_s[ok, g] / boot_n[ok, g]
        low, high = np.quantile(stats, q) if stats.size else (np.nan, np.nan)
        delta = mean_b - mean_a
        out.append(Delta(int(n), int((count[:, g] > 0).sum()), _opt(mean_a), _opt(mean_b),
                         _opt(delta), _opt(low), _opt(high),
                         _opt(delta / mean_a) if mean_a > 0 else None))
    return out
