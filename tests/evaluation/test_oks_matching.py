"""OKS against hand-computed values, sigma handling, and per-frame Hungarian matching."""

from __future__ import annotations

import math

import numpy as np
import pytest

from posekit.errors import ConfigError
from posekit.evaluation.matching import match_instances
from posekit.evaluation.oks import instance_areas, instance_diagonals, oks_matrix, resolve_sigmas

NAN = np.nan


def test_areas_and_diagonals_use_visible_points_only() -> None:
    pts = np.array(
        [
            [[0.0, 0.0], [100.0, 200.0], [NAN, NAN]],  # box 100 x 200
            [[5.0, 5.0], [NAN, NAN], [NAN, NAN]],  # one point: zero area
            [[NAN, NAN], [NAN, NAN], [NAN, NAN]],  # nothing visible
            [[10.0, 10.0], [40.0, 10.0], [1e6, NAN]],  # half-NaN point is missing: 30 x 0
        ]
    )
    np.testing.assert_array_equal(instance_areas(pts), [20000.0, 0.0, 0.0, 0.0])
    np.testing.assert_allclose(instance_diagonals(pts), [math.hypot(100, 200), 0.0, 0.0, 30.0])


def test_oks_hand_computed() -> None:
    # GT: visible (0,0) and (100,200), third node not labelled -> area 20000 px².
    gt = np.array([[[0.0, 0.0], [100.0, 200.0], [NAN, NAN]]])
    pred = np.array(
        [
            [[3.0, 4.0], [100.0, 200.0], [7.0, 7.0]],  # node 0 off by 5 px
            [[3.0, 4.0], [NAN, NAN], [7.0, 7.0]],  # node 1 missing
        ]
    )
    sigmas = np.full(3, 0.025)
    oks = oks_matrix(gt, pred, instance_areas(gt), sigmas)
    # e = d² / (2σ)² / area / 2 = 25 / 0.0025 / 20000 / 2 = 0.25
    assert oks.shape == (1, 2)
    assert oks[0, 0] == pytest.approx((math.exp(-0.25) + 1.0) / 2, abs=1e-12)
    assert oks[0, 1] == pytest.approx(math.exp(-0.25) / 2, abs=1e-12)
    # Per-node sigma: node 0 with sigma 0.05 -> e = 25 / 0.01 / 20000 / 2 = 0.0625.
    oks2 = oks_matrix(gt, pred[:1], instance_areas(gt), np.array([0.05, 0.025, 0.025]))
    assert oks2[0, 0] == pytest.approx((math.exp(-0.0625) + 1.0) / 2, abs=1e-12)


def test_oks_edge_cases() -> None:
    gt = np.array([[[NAN, NAN], [NAN, NAN]], [[0.0, 0.0], [10.0, 10.0]]])
    pred = np.array([[[0.0, 0.0], [10.0, 10.0]]])
    oks = oks_matrix(gt, pred, instance_areas(gt), np.full(2, 0.025))
    np.testing.assert_array_equal(oks, [[0.0], [1.0]])
    assert oks_matrix(gt, np.zeros((0, 2, 2)), instance_areas(gt), np.full(2, 0.1)).shape == (2, 0)


def test_resolve_sigmas() -> None:
    np.testing.assert_array_equal(resolve_sigmas(None, ["a", "b"]), [0.025, 0.025])
    np.testing.assert_array_equal(resolve_sigmas(0.1, 3), [0.1, 0.1, 0.1])
    np.testing.assert_array_equal(resolve_sigmas({"b": 0.2, "a": 0.1}, ["a", "b"]), [0.1, 0.2])
    np.testing.assert_array_equal(resolve_sigmas([0.3, 0.4], ["a", "b"]), [0.3, 0.4])
    with pytest.raises(ConfigError, match="one per node"):
        resolve_sigmas([0.1, 0.2, 0.3], ["a", "b"])
    with pytest.raises(ConfigError, match="unknown nodes: \\['c'\\]"):
        resolve_sigmas({"a": 0.1, "c": 0.2}, ["a", "b"])
    with pytest.raises(ConfigError, match="positive"):
        resolve_sigmas(-0.1, ["a"])


def test_hungarian_maximises_total_oks_and_applies_minimum() -> None:
    # Greedy on the best pair (0.9) would leave 0.1; the optimum is 0.8 + 0.85.
    oks = np.array([[0.9, 0.8], [0.85, 0.1]])
    gi, pi = match_instances(oks)
    assert list(zip(gi, pi)) == [(0, 1), (1, 0)]
    gi, pi = match_instances(oks, min_oks=0.82)
    assert list(zip(gi, pi)) == [(1, 0)]
    # Zero-OKS pairs never count as matches, whatever the threshold.
    gi, pi = match_instances(np.array([[0.0, 0.0], [0.0, 0.4]]))
    assert list(zip(gi, pi)) == [(1, 1)]
    gi, pi = match_instances(np.zeros((3, 0)))
    assert gi.shape == (0,) and pi.shape == (0,)
