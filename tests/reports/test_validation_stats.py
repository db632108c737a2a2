"""The agreement statistics of ``posekit report validate`` against SciPy and hand sums."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from posekit.reports.validation_stats import (
    agreement,
    bland_altman,
    cohens_d,
    paired_test,
    point_distances,
)

REF = np.array([10.2, 12.9, 8.4, 15.1, 11.7, 9.8, 13.3, 14.6, 7.9, 12.2])
PRED = np.array([10.9, 12.4, 9.1, 15.8, 12.5, 9.5, 14.1, 14.9, 8.6, 12.0])


def hand_icc(table: np.ndarray) -> float:
    """ICC(2,1) written out from the two-way ANOVA mean squares (Shrout & Fleiss, 1979)."""
    n, k = table.shape
    grand = table.mean()
    msr = k * ((table.mean(axis=1) - grand) ** 2).sum() / (n - 1)
    msc = n * ((table.mean(axis=0) - grand) ** 2).sum() / (k - 1)
    resid = table - table.mean(axis=1, keepdims=True) - table.mean(axis=0, keepdims=True) + grand
    mse = (resid ** 2).sum() / ((n - 1) * (k - 1))
    return (msr - mse) / (msr + (k - 1) * mse + k * (msc - mse) / n)


def test_agreement_equals_scipy_and_hand_sums():
    a = agreement(PRED, REF)
    r = stats.pearsonr(PRED, REF)
    rho = stats.spearmanr(PRED, REF)
    assert a.n == 10
    assert a.pearson_r == pytest.approx(r.statistic, abs=1e-12)
    assert a.pearson_p == pytest.approx(r.pvalue, rel=1e-9)
    assert a.spearman_rho == pytest.approx(rho.statistic, abs=1e-12)
    assert a.spearman_p == pytest.approx(rho.pvalue, rel=1e-9)
    assert a.icc == pytest.approx(hand_icc(np.column_stack([PRED, REF])), abs=1e-12)
    assert a.icc == pytest.approx(0.9700, abs=1e-4)  # the number itself, for the record
    diff = PRED - REF
    assert a.bland_altman.bias == pytest.approx(diff.sum() / 10, abs=1e-12)
    sd = np.sqrt(((diff - diff.mean()) ** 2).sum() / 9)
    assert a.bland_altman.sd == pytest.approx(sd, abs=1e-12)
    assert a.bland_altman.low == pytest.approx(diff.mean() - 1.96 * sd, abs=1e-12)
    assert a.bland_altman.high == pytest.approx(diff.mean() + 1.96 * sd, abs=1e-12)
    assert a.mean_pred == pytest.approx(PRED.mean()) and a.sd_ref == pytest.approx(
        REF.std(ddof=1))


def test_normal_differences_get_the_paired_t_test():
    rng = np.random.default_rng(1)
    ref = rng.normal(20, 4, 40)
    pred = ref + 0.8 + rng.normal(0, 0.5, 40)
    test = paired_test(pred - ref)
    shapiro = stats.shapiro(pred - ref)
    assert shapiro.pvalue >= 0.05
    assert test.name == "paired t-test"
    assert test.shapiro_w == pytest.approx(shapiro.statistic)
    assert test.shapiro_p == pytest.approx(shapiro.pvalue)
    t = stats.ttest_rel(pred, ref)
    assert test.statistic == pytest.approx(t.statistic) and test.p == pytest.approx(t.pvalue)
    assert "normal" in test.reason and "≥ 0.05" in test.reason
    a = agreement(pred, ref)
    assert a.significant_bias and a.verdict.endswith("significant bias")
    assert "no significant" not in a.verdict


def test_heavy_tailed_differences_get_wilcoxon():
    rng = np.random.default_rng(2)
    ref = rng.normal(20, 4, 40)
    pred = ref + stats.t.rvs(df=1, size=40, random_state=3) * 0.3  # Cauchy differences
    shapiro = stats.shapiro(pred - ref)
    assert shapiro.pvalue < 0.05
    test = paired_test(pred - ref)
    w = stats.wilcoxon(pred, ref)
    assert test.name == "Wilcoxon signed-rank"
    assert test.statistic == pytest.approx(w.statistic) and test.p == pytest.approx(w.pvalue)
    assert "not normal" in test.reason


def test_cohens_d_by_hand():
    control = np.array([100.0, 110.0, 95.0, 105.0])
    treated = np.array([80.0, 85.0, 90.0, 75.0])
    pooled = np.sqrt((3 * control.var(ddof=1) + 3 * treated.var(ddof=1)) / 6)
    assert cohens_d(control, treated) == pytest.approx((82.5 - 102.5) / pooled)
    assert cohens_d(control, treated) == pytest.approx(-20 / np.sqrt(41.6666667), rel=1e-6)
    assert cohens_d([1.0], treated) is None  # one animal: no SD


def test_verdict_bands_and_undefined_cases():
    rng = np.random.default_rng(4)
    ref = rng.normal(0, 10, 30)
    assert agreement(ref + rng.normal(0, 0.5, 30), ref).band == "excellent"
    assert agreement(ref + rng.normal(0, 4.5, 30), ref).band == "good"
    assert agreement(ref + rng.normal(0, 12, 30), ref).band == "moderate"
    assert agreement(rng.normal(0, 10, 30), ref).band == "poor"
    short = agreement(np.array([1.0, 2.0]), np.array([1.5, 2.5]))
    assert short.test is None and short.icc is None and short.verdict == "not enough pairs"
    same = paired_test(np.zeros(5))
    assert same.name == "none" and same.p == 1.0
    assert bland_altman(np.array([np.nan]), np.array([1.0])) is None


def test_point_distances_by_hand():
    pred = np.array([[0.0, 0.0], [3.0, 4.0], [np.nan, 1.0]])
    ref = np.array([[0.0, 1.0], [0.0, 0.0], [1.0, 1.0]])
    d = point_distances(pred, ref)
    assert d.n == 2 and d.mean == pytest.approx(3.0) and d.rmse == pytest.approx(np.sqrt(13))
