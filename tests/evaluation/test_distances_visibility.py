"""Localization error statistics, PCK and visibility precision / recall, by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from posekit.evaluation.distances import (
    error_summary,
    error_summary_per_node,
    node_errors,
    pck,
    pck_normalized,
)
from posekit.evaluation.visibility import precision_recall, visibility_counts

NAN = np.nan

# Two matched pairs, three nodes. GT box of pair 0: 30 x 40 (diagonal 50); pair 1 has a
# single visible point (diagonal 0).
GT = np.array(
    [
        [[0.0, 0.0], [30.0, 40.0], [10.0, 10.0]],
        [[100.0, 100.0], [NAN, NAN], [NAN, NAN]],
    ]
)
PRED = np.array(
    [
        [[3.0, 4.0], [30.0, 41.0], [NAN, NAN]],  # errors 5, 1, (missing)
        [[106.0, 108.0], [50.0, 50.0], [NAN, NAN]],  # error 10, FP point, TN
    ]
)


def test_node_errors() -> None:
    err = node_errors(GT, PRED)
    np.testing.assert_allclose(err, [[5.0, 1.0, NAN], [10.0, NAN, NAN]])


def test_error_summary_matches_numpy() -> None:
    summary = error_summary(node_errors(GT, PRED))
    values = np.array([5.0, 1.0, 10.0])
    assert summary["n"] == 3
    assert summary["mean_px"] == pytest.approx(16.0 / 3)
    assert summary["rmse_px"] == pytest.approx(math.sqrt((25 + 1 + 100) / 3))
    assert summary["median_px"] == pytest.approx(5.0)
    for p in (75, 90, 95, 99):
        assert summary[f"p{p}_px"] == pytest.approx(np.percentile(values, p))
    assert summary["p75_px"] == pytest.approx(7.5)  # halfway between 5 and 10


def test_error_summary_random_vs_numpy() -> None:
    rng = np.random.default_rng(0)
    err = rng.gamma(2.0, 2.0, size=(200, 7))
    err[rng.random(err.shape) < 0.2] = NAN
    flat = err[np.isfinite(err)]
    s = error_summary(err)
    assert s["mean_px"] == pytest.approx(flat.mean())
    assert s["rmse_px"] == pytest.approx(np.sqrt(np.mean(flat**2)))
    assert s["p95_px"] == pytest.approx(np.percentile(flat, 95))
    per = error_summary_per_node(err)
    for k in range(7):
        col = err[:, k][np.isfinite(err[:, k])]
        assert per["mean_px"][k] == pytest.approx(col.mean())
        assert per["rmse_px"][k] == pytest.approx(np.sqrt(np.mean(col**2)))
        assert per["median_px"][k] == pytest.approx(np.median(col))
        assert per["p99_px"][k] == pytest.approx(np.percentile(col, 99))


def test_error_summary_empty_is_nan() -> None:
    s = error_summary(np.full((2, 3), NAN))
    assert s["n"] == 0 and math.isnan(s["mean_px"]) and math.isnan(s["p99_px"])
    per = error_summary_per_node(np.array([[1.0, NAN], [3.0, NAN]]))
    assert per["mean_px"][0] == 2.0 and math.isnan(per["median_px"][1]) and per["n"][1] == 0


def test_pck_by_hand() -> None:
    err = node_errors(GT, PRED)
    vis = np.isfinite(GT).all(-1)  # 4 GT-visible nodes: errors 5, 1, missing, 10
    overall, per_node = pck(err, vis, [1, 5, 9.99, 10])
    np.testing.assert_allclose(overall, [1 / 4, 2 / 4, 2 / 4, 3 / 4])
    # node 0: errors 5 and 10; node 1: error 1; node 2: visible once, not predicted.
    np.testing.assert_allclose(per_node[:, 0], [0.0, 0.5, 0.5, 1.0])
    np.testing.assert_allclose(per_node[:, 1], [1.0, 1.0, 1.0, 1.0])
    np.testing.assert_allclose(per_node[:, 2], [0.0, 0.0, 0.0, 0.0])


def test_pck_normalized_by_bbox_diagonal() -> None:
    err = node_errors(GT, PRED)
    # Pair 0 diagonal is 50: 0.1 -> 5 px (errors 5 and 1 pass), 0.02 -> 1 px (only 1 passes).
    overall, per_node, excluded = pck_normalized(err, GT, [0.02, 0.1])
    assert excluded == 1  # pair 1 has a single visible point
    np.testing.assert_allclose(overall, [1 / 3, 2 / 3])
    np.testing.assert_allclose(per_node[1], [1.0, 1.0, 0.0])


def test_visibility_counts_by_hand() -> None:
    counts = visibility_counts(GT, PRED)
    # node 0: TP, TP; node 1: TP, FP; node 2: FN, TN
    np.testing.assert_array_equal(counts["tp"], [2, 1, 0])
    np.testing.assert_array_equal(counts["fp"], [0, 1, 0])
    np.testing.assert_array_equal(counts["fn"], [0, 0, 1])
    np.testing.assert_array_equal(counts["tn"], [0, 0, 1])
    total = {k: int(v.sum()) for k, v in counts.items()}
    p, r = precision_recall(total)
    assert float(p) == pytest.approx(3 / 4) and float(r) == pytest.approx(3 / 4)


def test_visibility_with_distance() -> None:
    # Within 6 px: the 10 px point of pair 1 node 0 is a wrong detection (FP + FN).
    counts = visibility_counts(GT, PRED, max_distance=6.0)
    np.testing.assert_array_equal(counts["tp"], [1, 1, 0])
    np.testing.assert_array_equal(counts["fp"], [1, 1, 0])
    np.testing.assert_array_equal(counts["fn"], [1, 0, 1])
    p, r = precision_recall(counts)
    np.testing.assert_allclose(p, [0.5, 0.5, NAN])
    np.testing.assert_allclose(r, [0.5, 1.0, 0.0])
