"""Tests for posekit.decoding.paf_scoring: line scores, validity, matching, grid reads."""

from __future__ import annotations

import numpy as np
import pytest

from posekit.decoding.paf_scoring import (
    EdgeCandidates,
    bilinear_sample,
    match_edge_candidates,
    score_edge_candidates,
)
from posekit.errors import ConfigError, DataError


def as_dict(cand: EdgeCandidates) -> dict[tuple[int, int, int], tuple[float, bool]]:
    return {
        (int(e), int(s), int(d)): (float(v), bool(ok))
        for e, s, d, v, ok in zip(cand.edge_idx, cand.src, cand.dst, cand.scores, cand.valid)
    }


def test_bilinear_sample_hand_computed():
    maps = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)  # value = 12c + 4i + j
    values = bilinear_sample(maps, [[0], [1]], [0.5, 3.0, 9.0, -1.0], [1.25, 2.0, 0.0, 0.5])
    # Linear maps are read exactly inside; outside positions clamp to the border.
    expected = np.array([[5.5, 11.0, 3.0, 2.0], [17.5, 23.0, 15.0, 14.0]])
    assert values.dtype == np.float64
    np.testing.assert_allclose(values, expected)
    single_row = bilinear_sample(np.array([[[2.0, 4.0]]]), 0, [0.25, 1.0], [0.0, 3.0])
    np.testing.assert_allclose(single_row, [2.5, 4.0])


def test_line_scores_hand_computed():
    pafs = np.zeros((4, 16, 16), dtype=np.float32)
    pafs[0] = 1.0  # edge 0 points along +x everywhere
    pafs[3, :, :8] = 1.0  # edge 1 points along +y in the left half only
    peaks = np.array([[8.0, 8.0], [48.0, 8.0], [8.0, 48.0], [48.0, 48.0]])
    nodes = np.array([0, 1, 1, 2])
    edges = np.array([[0, 1], [1, 2]])
    cand = score_edge_candidates(pafs, peaks, nodes, edges, 4, n_points=5)
    assert cand.edge_idx.tolist() == [0, 0, 1, 1]  # grouped by edge, then src, dst
    result = as_dict(cand)
    assert result[(0, 0, 1)] == pytest.approx((1.0, True))  # along +x
    assert result[(0, 0, 2)] == pytest.approx((0.0, False))  # perpendicular
    # Peak 1 -> 3 runs along +y at x = 48 (no field there); 2 -> 3 along +x (no y field).
    assert result[(1, 1, 3)] == pytest.approx((0.0, False))
    assert result[(1, 2, 3)] == pytest.approx((0.0, False))
    # The distance penalty: 40 px edges with a 20 px limit lose 20 / 40 - 1 = -0.5.
    cand = score_edge_candidates(pafs, peaks, nodes, edges, 4, max_edge_length=20.0)
    assert float(cand.scores[0]) == pytest.approx(0.5)
    cand = score_edge_candidates(
        pafs, peaks, nodes, edges, 4, max_edge_length=20.0, dist_penalty_weight=0.5
    )
    assert float(cand.scores[0]) == pytest.approx(0.75)


def test_half_field_fails_the_fraction_rule():
    pafs = np.zeros((2, 16, 16))
    pafs[0, :, :6] = 1.0  # only the first half of the segment carries the field
    peaks = np.array([[0.0, 20.0], [44.0, 20.0]])
    cand = score_edge_candidates(pafs, peaks, [0, 1], [[0, 1]], 4)
    assert not bool(cand.valid[0])
    relaxed = score_edge_candidates(pafs, peaks, [0, 1], [[0, 1]], 4, min_fraction=0.4)
    assert bool(relaxed.valid[0])


def test_candidates_skip_missing_peaks_and_self_pairs():
    pafs = np.zeros((4, 8, 8))
    peaks = np.array([[1.0, 1.0], [np.nan, np.nan], [5.0, 5.0], [9.0, 9.0]])
    nodes = np.array([0, 1, 1, 0])
    cand = score_edge_candidates(pafs, peaks, nodes, [[0, 1], [0, 0]], 4)
    pairs = list(zip(cand.edge_idx.tolist(), cand.src.tolist(), cand.dst.tolist()))
    assert pairs == [(0, 0, 2), (0, 3, 2), (1, 0, 3), (1, 3, 0)]


def test_hungarian_and_greedy_matching_differ_as_expected():
    # Sources 0, 1 and destinations 2, 3 of edge 0; one invalid candidate.
    cand = EdgeCandidates(
        edge_idx=np.array([0, 0, 0, 0, 0]),
        src=np.array([0, 0, 1, 1, 1]),
        dst=np.array([2, 3, 2, 3, 4]),
        scores=np.array([0.9, 0.8, 0.7, 0.1, 5.0]),
        valid=np.array([True, True, True, True, False]),
    )
    best = match_edge_candidates(cand, "hungarian")
    assert sorted(zip(best.src.tolist(), best.dst.tolist())) == [(0, 3), (1, 2)]
    assert best.scores.sum() == pytest.approx(1.5)
    greedy = match_edge_candidates(cand, "greedy")
    assert sorted(zip(greedy.src.tolist(), greedy.dst.tolist())) == [(0, 2), (1, 3)]
    with pytest.raises(ConfigError, match="matching"):
        match_edge_candidates(cand, "auction")


def test_matching_keeps_edges_apart():
    # The same peak pair may be matched on two different edges (e.g. a cycle's edges).
    cand = EdgeCandidates(
        edge_idx=np.array([0, 1, 1]),
        src=np.array([0, 0, 1]),
        dst=np.array([1, 2, 2]),
        scores=np.array([0.5, 0.9, 0.4]),
        valid=np.array([True, True, True]),
    )
    for method in ("hungarian", "greedy"):
        kept = match_edge_candidates(cand, method)
        assert list(zip(kept.edge_idx.tolist(), kept.src.tolist(), kept.dst.tolist())) == [
            (0, 0, 1),
            (1, 0, 2),
        ]


def test_hungarian_leaves_peaks_unmatched_rather_than_take_negative_scores():
    cand = EdgeCandidates(
        edge_idx=np.array([0, 0]),
        src=np.array([0, 1]),
        dst=np.array([2, 2]),
        scores=np.array([-0.2, 0.6]),
        valid=np.array([True, True]),
    )
    best = match_edge_candidates(cand)
    assert best.src.tolist() == [1] and best.dst.tolist() == [2]


def test_bad_shapes_raise():
    with pytest.raises(DataError, match="pafs"):
        score_edge_candidates(np.zeros((3, 8, 8)), np.zeros((0, 2)), np.zeros(0), [[0, 1]], 4)
    with pytest.raises(DataError, match="peak_nodes"):
        score_edge_candidates(np.zeros((2, 8, 8)), np.zeros((2, 2)), [0], [[0, 1]], 4)
