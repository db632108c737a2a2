"""Tests for posekit.decoding.skeleton_consistency: bone-length priors, the exact choice
among peak candidates, and dropping points no bone supports."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from posekit.decoding import skeleton_consistency as sc

NAN = np.nan
CHAIN = ((0, 1), (1, 2), (2, 3))  # nose - neck - tail base - tail tip


def chain_prior(length: float = 20.0, n: int = 40, seed: int = 0) -> sc.BoneLengthPrior:
    """Prior of a straight 4-node chain whose bones are ``length`` px (+- 1 px noise)."""
    rng = np.random.default_rng(seed)
    steps = length + rng.uniform(-1.0, 1.0, (n, 3))
    x = np.concatenate([np.zeros((n, 1)), np.cumsum(steps, axis=1)], axis=1)
    points = np.stack([x + 100.0, np.full_like(x, 50.0)], axis=-1)
    return sc.bone_length_prior(points, CHAIN)


def test_prior_is_the_median_and_a_floored_robust_spread():
    lengths = np.array([10.0, 11.0, 12.0, 13.0, 30.0, 11.5])  # one mislabel (30)
    points = np.zeros((6, 3, 2))
    points[:, 1, 0] = lengths
    points[:, 2] = NAN  # edge (1, 2) never labelled
    points[0, 2] = (5.0, 5.0)  # ... except once: too few to trust
    prior = sc.bone_length_prior(points, ((0, 1), (1, 2)), min_samples=5)
    assert prior.edges == ((0, 1),)
    median = np.median(lengths)
    mad = np.median(np.abs(lengths - median))
    np.testing.assert_allclose(prior.median, [median])
    size = np.median(np.hypot(lengths, 0.0))  # the boxes of the two-point instances
    np.testing.assert_allclose(prior.spread, [max(1.4826 * mad, 0.1 * median, 0.05 * size,
                                                  1.0)])
    assert prior.n_samples.tolist() == [6]
    rigid = sc.bone_length_prior(np.stack([np.zeros((8, 2)), np.full((8, 2), 30.0)], 1),
                                 ((0, 1),))
    np.testing.assert_allclose(rigid.spread, [0.1 * np.hypot(30, 30)])  # the length floor
    # an eye 3 px from the head of a 100 px animal: 5 % of the animal's size
    eye = np.array([[[0.0, 0.0], [3.0, 0.0], [60.0, 80.0]]] * 8)
    np.testing.assert_allclose(sc.bone_length_prior(eye, ((0, 1),)).spread, [5.0])
    assert sc.animal_size(eye) == pytest.approx(100.0)


def candidates(true: np.ndarray, distractor: dict[int, tuple]) -> tuple[np.ndarray, np.ndarray]:
    """Candidates ``(1, N, 2, 2)``: the true point (score 0.6 where a distractor outranks it,
    else 0.9) and, for nodes in ``distractor``, a stronger (0.95) peak elsewhere."""
    n = len(true)
    points = np.full((1, n, 2, 2), NAN)
    scores = np.zeros((1, n, 2))
    for j in range(n):
        if j in distractor:
            points[0, j] = [distractor[j], true[j]]
            scores[0, j] = [0.95, 0.6]
        else:
            points[0, j, 0], scores[0, j, 0] = true[j], 0.9
    return points, scores


def test_a_distractor_peak_loses_to_the_peak_the_bones_agree_with():
    true = np.array([[100.0, 50.0], [120.0, 50.0], [140.0, 50.0], [160.0, 50.0]])
    points, scores = candidates(true, {3: (400.0, 300.0)})
    chosen, chosen_scores = sc.choose_consistent_peaks(points, scores, chain_prior())
    np.testing.assert_allclose(chosen[0], true)
    np.testing.assert_allclose(chosen_scores[0], [0.9, 0.9, 0.9, 0.6])


def test_a_plausible_pose_keeps_every_global_peak():
    """A tail 15 % longer than usual (inside the free band of 2 spreads, here 2 x 2 px)
    keeps its highest peak even when a weaker peak would give the typical length."""
    true = np.array([[100.0, 50.0], [120.0, 50.0], [140.0, 50.0], [163.0, 50.0]])
    points, scores = candidates(true, {})
    points[0, 3, 1], scores[0, 3, 1] = (160.0, 50.0), 0.8
    chosen, _ = sc.choose_consistent_peaks(points, scores, chain_prior())
    np.testing.assert_allclose(chosen[0], true)


def test_nodes_without_candidates_stay_missing_and_cut_no_bone():
    true = np.array([[100.0, 50.0], [120.0, 50.0], [140.0, 50.0], [160.0, 50.0]])
    points, scores = candidates(true, {3: (400.0, 300.0)})
    points[0, 2], scores[0, 2] = NAN, 0.0  # tail base lost: nothing ties the tip down
    chosen, _ = sc.choose_consistent_peaks(points, scores, chain_prior())
    assert np.isnan(chosen[0, 2]).all()
    np.testing.assert_allclose(chosen[0, 3], (400.0, 300.0))  # the highest peak, unchecked


def energy(points, scores, prior, pick) -> float:
    """The module's cost of one assignment (``pick[j]`` candidate of node ``j``)."""
    chosen = points[np.arange(len(pick)), pick]
    total = -np.log(np.clip(scores[np.arange(len(pick)), pick], 1e-6, 1.0)).sum()
    z = prior.z(chosen)
    return total + float(sc._bone_cost(z).sum())


@pytest.mark.parametrize("seed", range(12))
def test_the_choice_is_the_least_cost_assignment(seed):
    """Dynamic programming equals exhaustive search on random candidates of a branching
    skeleton (a head with two ears, a spine and a tail)."""
    edges = ((0, 1), (1, 2), (1, 3), (1, 4), (4, 5))
    rng = np.random.default_rng(seed)
    pose = rng.uniform(0, 100, (30, 6, 2))
    prior = sc.bone_length_prior(pose, edges)
    points = rng.uniform(0, 100, (1, 6, 3, 2))
    scores = rng.uniform(0.2, 1.0, (1, 6, 3))
    chosen, _ = sc.choose_consistent_peaks(points, scores, prior)
    pick = [int(np.flatnonzero((points[0, j] == chosen[0, j]).all(axis=1))[0])
            for j in range(6)]
    best = min(energy(points[0], scores[0], prior, p)
               for p in itertools.product(range(3), repeat=6))
    assert energy(points[0], scores[0], prior, pick) == pytest.approx(best)


def test_the_choice_is_made_per_frame_of_a_batch():
    true = np.array([[100.0, 50.0], [120.0, 50.0], [140.0, 50.0], [160.0, 50.0]])
    a = candidates(true, {3: (400.0, 300.0)})
    b = candidates(true + 30.0, {0: (10.0, 10.0)})
    chosen, _ = sc.choose_consistent_peaks(np.concatenate([a[0], b[0]]),
                                           np.concatenate([a[1], b[1]]), chain_prior())
    np.testing.assert_allclose(chosen, [true, true + 30.0])


def test_points_no_bone_supports_are_dropped_fewest_first():
    prior = chain_prior()
    pose = np.array([[[100.0, 50.0], [120.0, 50.0], [140.0, 50.0], [400.0, 300.0]],
                     [[100.0, 50.0], [300.0, 50.0], [140.0, 50.0], [160.0, 50.0]],
                     [[100.0, 50.0], [120.0, 50.0], [140.0, 50.0], [161.0, 50.0]]])
    scores = np.full((3, 4), 0.9)
    kept = sc.drop_implausible_points(pose, scores, prior)
    assert np.isnan(kept[0, 3]).all() and np.isfinite(kept[0, :3]).all()  # a leaf
    assert np.isnan(kept[1, 1]).all() and np.isfinite(kept[1, [0, 2, 3]]).all()  # a middle
    np.testing.assert_array_equal(kept[2], pose[2])  # nothing wrong, nothing dropped
    assert np.isfinite(pose).all()  # the input is not changed
    two = sc.bone_length_prior(np.array([[[0.0, 0.0], [10.0, 0.0]]] * 6), ((0, 1),))
    lone = sc.drop_implausible_points(np.array([[[0.0, 0.0], [90.0, 0.0]]]),
                                      np.array([[0.9, 0.4]]), two)
    assert np.isfinite(lone[0, 0]).all() and np.isnan(lone[0, 1]).all()  # the weaker goes


def test_a_skeleton_without_priors_changes_nothing():
    empty = sc.bone_length_prior(np.zeros((3, 2, 2)), ((0, 1),))  # too few samples
    assert empty.edges == ()
    points, scores = candidates(np.array([[0.0, 0.0], [5.0, 0.0]]), {1: (90.0, 90.0)})
    chosen, _ = sc.choose_consistent_peaks(points, scores, empty)
    np.testing.assert_allclose(chosen[0], [[0.0, 0.0], [90.0, 90.0]])
    np.testing.assert_array_equal(sc.drop_implausible_points(chosen, scores[..., 0], empty),
                                  chosen)
