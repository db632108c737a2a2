"""Similarity measures and the assignment step, against hand-computed values."""

from __future__ import annotations

import math

import numpy as np

from posekit.tracking import centroid_similarity, iou_similarity, oks_similarity
from posekit.tracking.matching import greedy_match, hungarian_match
from posekit.tracking.similarity import bounding_boxes, centroids

NAN = np.nan


def test_oks_matches_the_coco_formula_by_hand() -> None:
    # Candidate box 10 x 20 -> area 200; sigma 0.025 -> (2 sigma)^2 = 0.0025;
    # each node off by 1 px: e = 1 / (2 * 200 * 0.0025) = 1 -> OKS = exp(-1).
    cand = np.array([[[0.0, 0.0], [10.0, 20.0]]])
    inst = cand + [1.0, 0.0]
    assert np.isclose(oks_similarity(inst, cand)[0, 0], math.exp(-1.0))
    # Per-node sigma: node 0 with sigma 0.05 -> e = 1/4; node 1 with 0.025 -> e = 1.
    per_node = oks_similarity(inst, cand, sigma=np.array([0.05, 0.025]))[0, 0]
    assert np.isclose(per_node, (math.exp(-0.25) + math.exp(-1.0)) / 2)
    # Fixed area 800 -> e = 1/4 for both nodes.
    assert np.isclose(oks_similarity(inst, cand, area=800.0)[0, 0], math.exp(-0.25))


def test_oks_missing_nodes() -> None:
    cand = np.array([[[0.0, 0.0], [10.0, 20.0], [NAN, NAN]]])
    inst = np.array([[[0.0, 0.0], [NAN, NAN], [5.0, 5.0]]])
    # Reference = candidate: 2 visible nodes; node 0 exact (1), node 1 missing in the
    # instance (0); node 2 is not in the reference and is ignored.
    assert np.isclose(oks_similarity(inst, cand)[0, 0], 0.5)
    empty = np.full((1, 3, 2), NAN)
    assert oks_similarity(inst, empty)[0, 0] == 0.0
    assert oks_similarity(empty, cand)[0, 0] == 0.0


def test_centroid_similarity_uses_size_or_scale() -> None:
    cand = np.array([[[0.0, 0.0], [10.0, 10.0]]])  # centroid (5, 5), box 10 x 10 -> size 10
    inst = np.array([[[10.0, 0.0], [20.0, 10.0]], [[NAN, NAN], [NAN, NAN]]])  # moved 10 px
    sim = centroid_similarity(inst, cand)
    assert np.isclose(sim[0, 0], math.exp(-1.0)) and sim[1, 0] == 0.0
    assert np.isclose(centroid_similarity(inst, cand, scale=20.0)[0, 0], math.exp(-0.25))
    # Anchor node 1 where visible: distance between (20, 10) and (10, 10) is again 10.
    assert np.isclose(centroid_similarity(inst, cand, anchor_node=1)[0, 0], math.exp(-1.0))


def test_centroids_fall_back_to_the_mean_when_the_anchor_is_missing() -> None:
    pts = np.array([[[NAN, NAN], [2.0, 4.0], [4.0, 8.0]], [[1.0, 1.0], [3.0, 3.0], [NAN, NAN]]])
    np.testing.assert_allclose(centroids(pts, anchor_node=0), [[3.0, 6.0], [1.0, 1.0]])
    np.testing.assert_allclose(bounding_boxes(pts), [[2, 4, 4, 8], [1, 1, 3, 3]])


def test_iou_by_hand() -> None:
    cand = np.array([[[0.0, 0.0], [10.0, 10.0]]])
    inst = np.array(
        [
            [[5.0, 0.0], [15.0, 10.0]],  # overlap 5 x 10 = 50, union 150
            [[20.0, 20.0], [30.0, 30.0]],  # disjoint
            [[0.0, 0.0], [0.0, 10.0]],  # zero-width box
        ]
    )
    np.testing.assert_allclose(iou_similarity(inst, cand)[:, 0], [1 / 3, 0.0, 0.0])


def test_hungarian_beats_greedy_on_the_total() -> None:
    sim = np.array([[0.9, 0.8], [0.7, 0.0]])
    r, c = hungarian_match(sim)
    assert list(zip(r.tolist(), c.tolist(), strict=True)) == [(0, 1), (1, 0)]  # total 1.5
    r, c = greedy_match(sim)
    assert list(zip(r.tolist(), c.tolist(), strict=True)) == [(0, 0)]  # 0.9, then nothing > 0


def test_threshold_drops_pairs_without_stealing() -> None:
    sim = np.array([[0.5, 0.05], [0.04, 0.6], [0.3, 0.2]])
    for fn in (hungarian_match, greedy_match):
        r, c = fn(sim, min_similarity=0.1)
        assert list(zip(r.tolist(), c.tolist(), strict=True)) == [(0, 0), (1, 1)]
    r, c = hungarian_match(np.full((2, 2), np.nan))
    assert len(r) == len(c) == 0
