"""The epoch sampler: sleap-nn's epoch length rule and reproducible, resumable order."""

from __future__ import annotations

from collections import Counter

from posekit.data.sampler import EpochSampler, steps_per_epoch


def test_steps_per_epoch_rule():
    assert steps_per_epoch(50, 4, 200, None) == 200  # small data: the minimum wins
    assert steps_per_epoch(5000, 4, 200, None) == 1250  # one pass is longer
    assert steps_per_epoch(50, 4, 200, 12) == 12  # explicit steps win
    assert steps_per_epoch(3, 8, None, None) == 1


def test_sampler_cycles_through_every_item_evenly():
    sampler = EpochSampler(n_items=10, num_samples=30, shuffle=True, seed=3)
    counts = Counter(iter(sampler))
    assert len(sampler) == 30 and set(counts) == set(range(10))
    assert set(counts.values()) == {3}


def test_order_depends_only_on_seed_and_epoch():
    a = EpochSampler(20, 20, shuffle=True, seed=1)
    b = EpochSampler(20, 20, shuffle=True, seed=1)
    a.set_epoch(4)
    b.set_epoch(4)
    assert list(a) == list(b)
    b.set_epoch(5)
    assert list(a) != list(b)
    c = EpochSampler(20, 20, shuffle=True, seed=2)
    c.set_epoch(4)
    assert list(a) != list(c)


def test_unshuffled_order_wraps_around():
    assert list(EpochSampler(3, 7, shuffle=False)) == [0, 1, 2, 0, 1, 2, 0]
