"""Rounds side by side: the paired bootstrap and the per-keypoint / per-condition deltas."""

from __future__ import annotations

import numpy as np
import pytest

from posekit.evaluation.pairs import array_inputs
from posekit.reports.compare_bootstrap import paired_deltas, resample_indices
from posekit.reports.compare_rounds import compare_inputs

NODES = [f"n{k}" for k in range(5)]


def _study(n_frames: int = 80, animals: int = 1, seed: int = 0):
    """Labelled animals far apart, and a frame condition alternating x / y."""
    rng = np.random.default_rng(seed)
    gt = []
    for _ in range(n_frames):
        centres = np.arange(animals)[:, None] * 300.0 + 60.0
        gt.append(centres[:, None, :] + rng.uniform(-25, 25, size=(animals, len(NODES), 2)))
    return gt, rng


def _predict(gt, rng, sigma):
    sigma = np.asarray(sigma, dtype=np.float64)[None, :, None]
    return [g + rng.normal(0, 1, g.shape) * sigma for g in gt]


def test_bootstrap_interval_matches_a_hand_computation() -> None:
    rng = np.random.default_rng(5)
    n_frames, n_boot, seed = 30, 400, 7
    count = rng.integers(0, 4, size=(n_frames, 2)).astype(float)
    sum_a = count * rng.uniform(1, 3, size=(n_frames, 2))
    sum_b = count * rng.uniform(0.5, 3, size=(n_frames, 2))
    deltas = paired_deltas(sum_a, sum_b, count, resample_indices(n_frames, n_boot, seed))
    draw = np.random.default_rng(seed).integers(0, n_frames, size=(n_boot, n_frames))
    for g in range(2):
        stats = []
        for b in range(n_boot):
            s = sum(sum_b[f, g] - sum_a[f, g] for f in draw[b])
            n = sum(count[f, g] for f in draw[b])
            if n:
                stats.append(s / n)
        low, high = np.percentile(stats, [2.5, 97.5])
        d = deltas[g]
        assert d.low == pytest.approx(low, rel=1e-12) and d.high == pytest.approx(high, rel=1e-12)
        assert d.delta == pytest.approx((sum_b[:, g].sum() - sum_a[:, g].sum())
                                        / count[:, g].sum(), rel=1e-12)
        assert d.points == int(count[:, g].sum())


def test_planted_improvement_is_found_and_unchanged_nodes_are_noise() -> None:
    gt, rng = _study()
    a = _predict(gt, rng, [2.0] * 5)
    b = _predict(gt, rng, [2.0, 2.0, 0.5, 2.0, 2.0])  # n2 improved
    cond = ["x" if i % 2 else "y" for i in range(len(gt))]
    c = compare_inputs(array_inputs(gt, a, node_names=NODES),
                       array_inputs(gt, b, node_names=NODES), conditions=cond,
                       condition_column="treatment", names=("round1", "round2"))
    better = c.node("n2").delta
    assert better.verdict == "better" and better.delta < -1.0 and better.high < 0
    for node in ("n0", "n1", "n3", "n4"):
        d = c.node(node).delta
        assert d.low < 0 < d.high, node
        assert d.verdict == "within noise"
    # the per-node means are the errors' means, computed here independently
    err_a = np.array([np.hypot(*(p - g)[0, 2]) for p, g in zip(a, gt)])
    err_b = np.array([np.hypot(*(p - g)[0, 2]) for p, g in zip(b, gt)])
    assert better.mean_a == pytest.approx(err_a.mean()) and better.mean_b == pytest.approx(
        err_b.mean())
    assert [x.condition for x in c.conditions] == ["y", "x"]
    assert c.summary[2].startswith("By treatment: ")
    assert sum(x.frames for x in c.conditions) == len(gt)
    assert "n2" in c.summary[1] and "1 of 5 keypoints improved" in c.summary[1]
    assert c.run_a.result.localization.n == 5 * len(gt)  # typed metrics of each run


def test_a_worse_run_is_called_worse() -> None:
    gt, rng = _study(seed=3)
    a = _predict(gt, rng, [1.0] * 5)
    b = _predict(gt, rng, [3.0] * 5)
    c = compare_inputs(array_inputs(gt, a, node_names=NODES),
                       array_inputs(gt, b, node_names=NODES))
    assert c.overall.verdict == "worse" and c.overall.low > 0
    assert c.summary[0].startswith("B is worse than A")
    assert c.conditions == ()


def test_animals_are_paired_whatever_the_prediction_order() -> None:
    gt, rng = _study(n_frames=40, animals=2, seed=4)
    a = _predict(gt, rng, [1.0] * 5)
    b = [p[::-1] for p in _predict(gt, rng, [1.0, 1.0, 1.0, 1.0, 4.0])]  # other order
    c = compare_inputs(array_inputs(gt, a, node_names=NODES),
                       array_inputs(gt, b, node_names=NODES))
    assert c.overall.points == 2 * 40 * 5
    assert c.node("n4").delta.verdict == "worse"
    assert c.node("n0").delta.verdict == "within noise"


def test_points_a_run_misses_are_left_out_and_reported() -> None:
    gt, rng = _study(n_frames=60, seed=6)
    a = _predict(gt, rng, [1.0] * 5)
    b = _predict(gt, rng, [1.0] * 5)
    for i in range(0, 60, 3):  # B drops n1 in a third of the frames
        b[i][0, 1] = np.nan
    c = compare_inputs(array_inputs(gt, a, node_names=NODES),
                       array_inputs(gt, b, node_names=NODES))
    n1 = c.node("n1")
    assert (n1.labelled, n1.located_a, n1.located_b) == (60, 60, 40)
    assert n1.delta.points == 40
    assert "B locates fewer points than A of n1 (40 vs 60 of 60)" in c.summary[-1]


def test_runs_without_shared_points_are_explained() -> None:
    gt, rng = _study(n_frames=10)
    a = array_inputs(gt, [np.zeros((0, 5, 2))] * 10, node_names=NODES)  # found nothing
    b = array_inputs(gt, _predict(gt, rng, [1.0] * 5), node_names=NODES)
    c = compare_inputs(a, b)
    assert c.overall.verdict == "no data" and c.overall.points == 0
    assert "A located 0 and B 50 of 50 labelled points" in c.summary[0]


def test_different_frames_are_refused() -> None:
    gt, rng = _study(n_frames=10)
    a = array_inputs(gt, _predict(gt, rng, [1.0] * 5), node_names=NODES)
    b = array_inputs(gt[:9], _predict(gt[:9], rng, [1.0] * 5), node_names=NODES)
    from posekit.errors import DataError

    with pytest.raises(DataError, match="--test LABELS"):
        compare_inputs(a, b)
