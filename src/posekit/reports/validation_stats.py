"""Agreement between two measurements of the same things (pure functions, frozen results).

One *pair* is the same quantity measured twice: by the predictions and by the reference
(a behavioural measure of one animal in one time bin, or one keypoint coordinate in one
sample). For the pairs of one measure :func:`agreement` gives:

* Pearson's r and Spearman's rho (``scipy.stats.pearsonr`` / ``spearmanr``): do the two go
  up and down together;
* ICC(2,1) (:func:`posekit.refinement.consensus.icc_a1`: two-way random effects, absolute
  agreement, single measurement, Shrout & Fleiss): do they give the *same* values; a
  constant offset lowers it, unlike r;
* Bland–Altman: bias (mean of ``prediction - reference``) and the 95 % limits of agreement
  ``bias ± 1.96 SD`` of the differences;
* a paired test of the bias: Shapiro–Wilk on the differences decides; normal (p ≥ alpha)
  → paired t-test (``ttest_rel``), not normal → Wilcoxon signed-rank (``wilcoxon``);
* a verdict in the guide's words: the ICC band (:data:`AGREEMENT_BANDS`) and whether the
  bias is significant.

:func:`cohens_d` is the effect size between two groups (pooled SD), for the guide's test
of which tool sees a drug effect better.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from posekit.refinement.consensus import ICC_BANDS, band, icc_a1

ALPHA = 0.05
"""Significance level of the normality check and of the paired test (the guide: p < 0.05
is a significant difference between methods)."""
LOA_Z = 1.96
"""Limits of agreement: bias ± 1.96 SD of the differences (95 % of differences)."""
MODERATE_ICC = 0.5
"""Lower limit (exclusive) of *moderate* agreement. The guide names targets only for good
(> 0.85) and excellent (> 0.95); below 0.5 reliability is poor by the usual reading of
ICCs (Koo & Li, 2016), so 0.5–0.85 is moderate."""
AGREEMENT_BANDS: tuple[tuple[float, str], ...] = (*ICC_BANDS, (MODERATE_ICC, "moderate"))
"""ICC(2,1) bands, high to low: excellent > 0.95, good > 0.85, moderate > 0.5, else poor."""
MIN_PAIRS = 3
"""Fewest pairs for correlations, ICC and tests (Shapiro–Wilk needs three)."""


@dataclass(frozen=True)
class PairedTest:
    """The paired test of ``prediction - reference`` and why it was chosen.

    Attributes:
        name: ``"paired t-test"``, ``"Wilcoxon signed-rank"`` or ``"none"`` (every
            difference is the same, so no test is defined).
        statistic: t, or Wilcoxon's W.
        p: two-sided p-value.
        shapiro_w: Shapiro–Wilk W of the differences (None when not computable).
        shapiro_p: its p-value.
        reason: one sentence saying why this test.
    """

    name: str
    statistic: float | None
    p: float | None
    shapiro_w: float | None
    shapiro_p: float | None
    reason: str


@dataclass(frozen=True)
class BlandAltman:
    """Bias and 95 % limits of agreement of ``prediction - reference``."""

    n: int
    bias: float
    sd: float
    low: float
    high: float


@dataclass(frozen=True)
class Agreement:
    """Agreement of one measure between predictions and reference.

    Attributes:
        n: pairs with both values finite.
        mean_pred, sd_pred, mean_ref, sd_ref: each source's mean and SD over the pairs.
        pearson_r, pearson_p, spearman_rho, spearman_p: correlations (None: undefined,
            e.g. a constant series).
        icc: ICC(2,1) of the ``(n, 2)`` table (None: undefined).
        bland_altman: bias and limits (None with no pair).
        test: the paired test (None with fewer than :data:`MIN_PAIRS` pairs).
        band: ``excellent`` / ``good`` / ``moderate`` / ``poor`` (None: no ICC).
        significant_bias: the paired test's p < alpha.
    """

    n: int
    mean_pred: float | None
    sd_pred: float | None
    mean_ref: float | None
    sd_ref: float | None
    pearson_r: float | None
    pearson_p: float | None
    spearman_rho: float | None
    spearman_p: float | None
    icc: float | None
    bland_altman: BlandAltman | None
    test: PairedTest | None
    band: str | None
    significant_bias: bool

    @property
    def verdict(self) -> str:
        """The guide's words: ``"good agreement, significant bias"`` and the like."""
        if self.band is None:
            return "not enough pairs" if self.n < MIN_PAIRS else "undefined (no variation)"
        bias = "significant bias" if self.significant_bias else "no significant bias"
        return f"{self.band} agreement, {bias}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready numbers (None where undefined)."""
        out = asdict(self)
        out["verdict"] = self.verdict
        return out


def _finite(value: float) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None


def paired_pairs(pred: np.ndarray, ref: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The pairs where both values are finite, as float64 arrays."""
    pred, ref = np.asarray(pred, np.float64).ravel(), np.asarray(ref, np.float64).ravel()
    if pred.shape != ref.shape:
        raise ValueError(f"paired values differ in number: {pred.shape} vs {ref.shape}")
    keep = np.isfinite(pred) & np.isfinite(ref)
    return pred[keep], ref[keep]


def bland_altman(pred: np.ndarray, ref: np.ndarray) -> BlandAltman | None:
    """Bias (mean of ``pred - ref``), SD of the differences (n - 1) and the 95 % limits."""
    pred, ref = paired_pairs(pred, ref)
    if not len(pred):
        return None
    diff = pred - ref
    bias = float(diff.mean())
    sd = float(diff.std(ddof=1)) if len(diff) > 1 else 0.0
    return BlandAltman(len(diff), bias, sd, bias - LOA_Z * sd, bias + LOA_Z * sd)


def paired_test(diff: np.ndarray, alpha: float = ALPHA) -> PairedTest | None:
    """Paired t-test or Wilcoxon signed-rank on the differences, chosen by Shapiro–Wilk.

    Returns None with fewer than :data:`MIN_PAIRS` differences.
    """
    from scipy import stats

    d = np.asarray(diff, np.float64)
    d = d[np.isfinite(d)]
    if len(d) < MIN_PAIRS:
        return None
    if np.ptp(d) == 0:
        p = 1.0 if d[0] == 0 else 0.0
        return PairedTest("none", None, p, None, None, "every difference is "
                          f"{d[0]:g}, so no test is needed (p = {p:g} by definition)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # large n: scipy warns that p may be inaccurate
        shapiro = stats.shapiro(d)
    w, sp = float(shapiro.statistic), float(shapiro.pvalue)
    zeros = np.zeros_like(d)
    if sp >= alpha:
        res = stats.ttest_rel(d, zeros)
        return PairedTest("paired t-test", _finite(res.statistic), _finite(res.pvalue), w, sp,
                          f"differences look normal (Shapiro–Wilk p = {sp:.3g} ≥ {alpha:g})")
    res = stats.wilcoxon(d)
    return PairedTest("Wilcoxon signed-rank", _finite(res.statistic), _finite(res.pvalue), w,
                      sp, f"differences are not normal (Shapiro–Wilk p = {sp:.3g} < "
                      f"{alpha:g})")


def _correlation(fn: Any, pred: np.ndarray, ref: np.ndarray) -> tuple[float | None, ...]:
    if len(pred) < MIN_PAIRS or np.ptp(pred) == 0 or np.ptp(ref) == 0:
        return None, None
    res = fn(pred, ref)
    return _finite(res.statistic), _finite(res.pvalue)


def agreement(pred: np.ndarray, ref: np.ndarray, alpha: float = ALPHA) -> Agreement:
    """Every agreement statistic of the finite pairs of ``pred`` and ``ref`` (same shape)."""
    from scipy import stats

    pred, ref = paired_pairs(pred, ref)
    n = len(pred)
    moments = [(_finite(v.mean()), _finite(v.std(ddof=1)) if n > 1 else None) if n else
               (None, None) for v in (pred, ref)]
    r, rp = _correlation(stats.pearsonr, pred, ref)
    rho, sp = _correlation(stats.spearmanr, pred, ref)
    icc = icc_a1(np.column_stack([pred, ref])) if n >= MIN_PAIRS else None
    test = paired_test(pred - ref, alpha)
    significant = bool(test is not None and test.p is not None and test.p < alpha)
    return Agreement(n, *moments[0], *moments[1], r, rp, rho, sp, icc,
                     bland_altman(pred, ref), test,
                     band(icc, AGREEMENT_BANDS, "poor", higher_is_better=True), significant)


def cohens_d(control: np.ndarray, treated: np.ndarray) -> float | None:
    """Cohen's d of ``treated - control`` with the pooled SD (n - 1 in each group).

    ``d = (mean_t - mean_c) / sqrt(((n_c - 1) s_c² + (n_t - 1) s_t²) / (n_c + n_t - 2))``;
    None when a group has fewer than two finite values or the pooled SD is 0.
    """
    c = np.asarray(control, np.float64)
    t = np.asarray(treated, np.float64)
    c, t = c[np.isfinite(c)], t[np.isfinite(t)]
    if len(c) < 2 or len(t) < 2:
        return None
    pooled = ((len(c) - 1) * c.var(ddof=1) + (len(t) - 1) * t.var(ddof=1)) / (len(c) + len(t)
                                                                              - 2)
    if not pooled > 0:
        return None
    return float((t.mean() - c.mean()) / np.sqrt(pooled))


@dataclass(frozen=True)
class PointDistances:
    """How far the predicted points are from the reference points (px)."""

    n: int
    mean: float | None
    median: float | None
    p95: float | None
    rmse: float | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready numbers."""
        return asdict(self)


def point_distances(pred: np.ndarray, ref: np.ndarray) -> PointDistances:
    """Summary of the Euclidean distances between ``pred`` and ``ref`` points ``(..., 2)``
    where both are found."""
    d = np.linalg.norm(np.asarray(pred, np.float64) - np.asarray(ref, np.float64), axis=-1)
    d = d[np.isfinite(d)].ravel()
    if not len(d):
        return PointDistances(0, None, None, None, None)
    return PointDistances(len(d), float(d.mean()), float(np.median(d)),
                          float(np.percentile(d, 95)), float(np.sqrt(np.mean(d ** 2))))
