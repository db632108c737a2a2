"""pick_diverse / cluster_picks: planted clusters found, exact N, gaps, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from posekit.errors import ConfigError
from posekit.refinement.clustering import cluster_picks, pick_diverse


def planted(n_clusters: int = 5, per: int = 40, dim: int = 16, seed: int = 0):
    """Rows around ``n_clusters`` far-apart centres; row ``c * per`` IS the centre."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 100, (n_clusters, dim))
    x = np.concatenate([c + rng.normal(0, 1, (per, dim)) for c in centres])
    x[np.arange(n_clusters) * per] = centres  # the exact centre is a row
    return x.astype(np.float32), np.repeat(np.arange(n_clusters), per)


def test_one_pick_per_planted_cluster_and_it_is_the_row_at_the_centre():
    x, truth = planted()
    picks = cluster_picks(x, 5, seed=3)
    assert sorted(truth[picks.indices].tolist()) == [0, 1, 2, 3, 4]
    # the row nearest each (fitted) centre is the planted centre row
    assert sorted(picks.indices.tolist()) == [0, 40, 80, 120, 160]
    assert (picks.cluster_size == 40).all()
    assert not picks.refilled.any()
    assert (picks.distance < 1.0).all()


def test_exactly_n_even_when_clusters_come_out_empty():
    # 3 distinct rows repeated: k-means with 8 clusters leaves duplicate/empty centres
    x = np.repeat(np.eye(3, dtype=np.float32) * 10, 10, axis=0)
    picks = cluster_picks(x, 8, seed=0)
    assert len(picks.indices) == 8
    assert len(set(picks.indices.tolist())) == 8
    assert picks.refilled.sum() >= 5
    # every distinct appearance is among the picks
    assert set((picks.indices // 10).tolist()) == {0, 1, 2}


def test_n_larger_than_rows_returns_every_row_once():
    x, _ = planted(2, 3)
    idx = pick_diverse(x, 50)
    assert sorted(idx.tolist()) == list(range(6))
    assert len(pick_diverse(x, 0)) == 0
    assert len(pick_diverse(np.zeros((0, 4)), 5)) == 0


def test_same_seed_same_picks_and_seed_changes_ties():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, 8)).astype(np.float32)
    a = pick_diverse(x, 12, seed=7)
    b = pick_diverse(x.copy(), 12, seed=7)
    assert np.array_equal(a, b)
    assert len(set(a.tolist())) == 12


def test_min_gap_is_honoured_within_a_group_only():
    # one slowly changing "video": neighbours look alike, so k-means would pick neighbours
    t = np.arange(200, dtype=np.float32)
    x = np.stack([np.sin(t / 15), np.cos(t / 15)], axis=1) * 100
    frames = np.arange(200)
    idx = pick_diverse(x, 10, seed=0, frame_ids=frames, min_gap=15)
    assert len(idx) == 10
    chosen = np.sort(frames[idx])
    assert np.diff(chosen).min() >= 15
    # two videos with the same frame numbers: the gap does not apply across them
    x2 = np.concatenate([x[:20], x[:20] + 1000])
    f2 = np.concatenate([frames[:20], frames[:20]])
    g2 = np.repeat([0, 1], 20)
    idx2 = pick_diverse(x2, 4, frame_ids=f2, groups=g2, min_gap=10)
    assert len(idx2) == 4
    for g in (0, 1):
        mine = np.sort(f2[idx2][g2[idx2] == g])
        assert len(mine) == 2 and np.diff(mine).min() >= 10


def test_gap_that_cannot_be_met_returns_as_many_as_fit():
    x = np.random.default_rng(0).normal(size=(50, 4)).astype(np.float32)
    idx = pick_diverse(x, 10, frame_ids=np.arange(50), min_gap=20)
    frames = np.sort(idx)
    assert 2 <= len(idx) <= 3  # at most 3 frames of 0..49 are 20 apart
    assert np.diff(frames).min() >= 20


def test_large_problem_uses_minibatch_and_still_finds_planted_clusters(monkeypatch):
    from posekit.refinement import clustering

    monkeypatch.setattr(clustering, "EXACT_KMEANS_WORK", 10)
    x, truth = planted(6, 50)
    idx = pick_diverse(x, 6, seed=1)
    assert sorted(truth[idx].tolist()) == list(range(6))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"features": np.zeros(5)},
        {"features": np.full((4, 2), np.nan)},
        {"features": np.zeros((4, 2)), "frame_ids": np.arange(3)},
        {"features": np.zeros((4, 2)), "n": -1},
    ],
)
def test_bad_input_is_a_config_error(kwargs):
    kwargs = {"n": 2, **kwargs}
    with pytest.raises(ConfigError):
        pick_diverse(**kwargs)


def test_allocate_in_proportion_with_and_without_capacities():
    from posekit.refinement.clustering import allocate

    assert allocate(10, np.array([1500, 500])).tolist() == [8, 2]
    assert allocate(7, np.array([1.0, 1.0, 2.0])).tolist() == [2, 2, 3]
    assert allocate(10, np.array([1, 1]), capacity=np.array([3, 100])).tolist() == [3, 7]
    assert allocate(10, np.array([1, 1]), capacity=np.array([2, 3])).tolist() == [2, 3]
