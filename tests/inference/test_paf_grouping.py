"""Tests for bottom-up grouping: PAF line scores, matching and instance assembly."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from posekit.data.targets import make_confmaps, make_pafs
from posekit.errors import ConfigError, DataError
from posekit.inference.paf_grouping import (
    Connections,
    EdgeCandidates,
    PAFGroupingParams,
    assemble_instances,
    group_instances,
    group_instances_batch,
    match_edge_candidates,
    score_edge_candidates,
)
from posekit.inference.peaks import find_local_peaks

NAN = float("nan")
STRIDE = 4
GRID = (64, 64)  # a 256 x 256 model input


def decode(points: torch.Tensor, edges: torch.Tensor, params=None, n_nodes=None):
    """Render targets for one frame of instances ``(N, K, 2)`` and group them back."""
    n_nodes = n_nodes or points.shape[1]
    confmaps = make_confmaps(points[None], GRID, STRIDE, 3.0)
    pafs = make_pafs(points[None], edges, GRID, STRIDE, 5.0)
    sample_idx, channel_idx, peaks, scores = find_local_peaks(confmaps, STRIDE, 0.2)
    assert torch.all(sample_idx == 0)
    return group_instances(peaks, channel_idx, scores, pafs[0], edges, STRIDE, n_nodes, params)


def assert_same_instances(found: torch.Tensor, truth: torch.Tensor, tol: float = 0.1) -> None:
    """Same instances up to order: same visible nodes, points within ``tol`` pixels."""
    assert found.shape == truth.shape, (found.shape, truth.shape)
    unmatched = list(range(len(found)))
    for inst in truth:
        hits = [
            i
            for i in unmatched
            if torch.equal(torch.isnan(found[i]), torch.isnan(inst))
            and (found[i] - inst).nan_to_num().abs().max().item() < tol
        ]
        assert hits, f"instance {inst.tolist()} not recovered from {found.tolist()}"
        unmatched.remove(hits[0])


def random_tree(n_nodes: int, rng: np.random.Generator) -> torch.Tensor:
    """Edges (parent, child) of a random tree over shuffled node labels."""
    labels = rng.permutation(n_nodes)
    edges = [(labels[rng.integers(0, k)], labels[k]) for k in range(1, n_nodes)]
    return torch.tensor(edges, dtype=torch.long)


def separated_instances(n_inst: int, n_nodes: int, rng: np.random.Generator) -> torch.Tensor:
    """Instances in distinct quadrants of the input, nodes at least 8 px apart."""
    out = torch.empty(n_inst, n_nodes, 2)
    for n, quadrant in enumerate(rng.permutation(4)[:n_inst]):
        corner = np.array([quadrant % 2, quadrant // 2]) * 128 + 24
        while True:
            pts = corner + rng.uniform(0, 80, size=(n_nodes, 2))
            gaps = np.linalg.norm(pts[:, None] - pts[None], axis=-1) + np.eye(n_nodes) * 99
            if gaps.min() >= 8:
                break
        out[n] = torch.tensor(pts, dtype=torch.float32)
    return out


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("matching", ["hungarian", "greedy"])
def test_known_pafs_give_back_known_instances(seed, matching):
    rng = np.random.default_rng(seed)
    n_inst, n_nodes = int(rng.integers(2, 5)), int(rng.integers(3, 8))
    edges = random_tree(n_nodes, rng)
    truth = separated_instances(n_inst, n_nodes, rng)
    found, point_scores, instance_scores = decode(
        truth, edges, PAFGroupingParams(matching=matching)
    )
    assert_same_instances(found, truth)
    assert torch.all(point_scores > 0.6)
    # Every complete instance scores about K peaks + (K - 1) connections.
    assert torch.all(instance_scores > 0.6 * (2 * n_nodes - 1))
    assert torch.all(instance_scores[:-1] >= instance_scores[1:])


def test_crossing_limbs_are_not_confused():
    edges = torch.tensor([[0, 1], [1, 2]])
    truth = torch.tensor(
        [
            [[60.0, 60.0], [124.0, 124.0], [180.0, 100.0]],
            [[124.0, 60.0], [60.0, 124.0], [40.0, 190.0]],
        ]
    )
    found, _, _ = decode(truth, edges)
    assert_same_instances(found, truth)


def test_close_parallel_instances_stay_apart():
    edges = torch.tensor([[0, 1], [1, 2], [1, 3]])
    one = torch.tensor([[40.0, 100.0], [100.0, 100.0], [160.0, 100.0], [100.0, 140.0]])
    truth = torch.stack([one, one + torch.tensor([8.0, 16.0])])
    found, _, _ = decode(truth, edges)
    assert_same_instances(found, truth)


def test_missing_leaf_node_leaves_a_gap():
    edges = torch.tensor([[0, 1], [1, 2], [1, 3]])
    truth = separated_instances(3, 4, np.random.default_rng(1))
    truth[1, 3] = NAN
    found, point_scores, _ = decode(truth, edges)
    assert_same_instances(found, truth)
    assert int(torch.isnan(point_scores).sum()) == 1


def test_missing_middle_node_splits_an_instance():
    edges = torch.tensor([[0, 1], [1, 2]])
    truth = separated_instances(2, 3, np.random.default_rng(2))
    truth[1, 1] = NAN  # nodes 0 and 2 of instance 1 have no edge left between them
    found, _, _ = decode(truth, edges)
    assert_same_instances(found, truth[:1])
    found, _, scores = decode(truth, edges, PAFGroupingParams(keep_isolated_peaks=True))
    singles = torch.full((2, 3, 2), NAN)
    singles[0, 0], singles[1, 2] = truth[1, 0], truth[1, 2]
    assert_same_instances(found, torch.cat([truth[:1], singles]))
    assert scores[0] > scores[1] and scores[0] > scores[2]  # complete instance first


def test_nodes_without_edges_become_single_point_instances():
    edges = torch.tensor([[0, 1]])  # node 2 belongs to no edge
    truth = separated_instances(2, 3, np.random.default_rng(3))
    found, _, _ = decode(truth, edges)
    expected = torch.full((4, 3, 2), NAN)
    expected[:2, :2] = truth[:, :2]
    expected[2, 2], expected[3, 2] = truth[0, 2], truth[1, 2]
    assert_same_instances(found, expected)


def test_max_instances_and_min_instance_peaks():
    edges = torch.tensor([[0, 1], [1, 2], [2, 3]])
    truth = separated_instances(3, 4, np.random.default_rng(4))
    truth[2, 3] = NAN  # the smallest instance has the lowest score
    found, _, scores = decode(truth, edges, PAFGroupingParams(max_instances=2))
    assert_same_instances(found, truth[:2])
    assert scores.shape == (2,)
    found, _, _ = decode(truth, edges, PAFGroupingParams(min_instance_peaks=4))
    assert_same_instances(found, truth[:2])


def test_skeleton_with_a_cycle():
    edges = torch.tensor([[0, 1], [1, 2], [2, 0], [2, 3]])
    truth = separated_instances(3, 4, np.random.default_rng(5))
    found, _, _ = decode(truth, edges)
    assert_same_instances(found, truth)


def test_line_scores_hand_computed():
    pafs = torch.zeros(4, 16, 16)
    pafs[0] = 1.0  # edge 0 points along +x everywhere
    pafs[3, :, :8] = 1.0  # edge 1 points along +y in the left half only
    peaks = torch.tensor([[8.0, 8.0], [48.0, 8.0], [8.0, 48.0], [48.0, 48.0]])
    nodes = torch.tensor([0, 1, 1, 2])
    edges = torch.tensor([[0, 1], [1, 2]])
    cand = score_edge_candidates(pafs, peaks, nodes, edges, 4, n_points=5)
    result = {
        (int(e), int(s), int(d)): (float(v), bool(ok))
        for e, s, d, v, ok in zip(cand.edge_idx, cand.src, cand.dst, cand.scores, cand.valid)
    }
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
    pafs = torch.zeros(2, 16, 16)
    pafs[0, :, :6] = 1.0  # only the first half of the segment carries the field
    peaks = torch.tensor([[0.0, 20.0], [44.0, 20.0]])
    cand = score_edge_candidates(pafs, peaks, torch.tensor([0, 1]), torch.tensor([[0, 1]]), 4)
    assert not bool(cand.valid[0])
    relaxed = score_edge_candidates(
        pafs, peaks, torch.tensor([0, 1]), torch.tensor([[0, 1]]), 4, min_fraction=0.4
    )
    assert bool(relaxed.valid[0])


def test_hungarian_and_greedy_matching_differ_as_expected():
    # Sources 0, 1 and destinations 2, 3 of edge 0; one invalid candidate.
    cand = EdgeCandidates(
        edge_idx=torch.tensor([0, 0, 0, 0, 0]),
        src=torch.tensor([0, 0, 1, 1, 1]),
        dst=torch.tensor([2, 3, 2, 3, 4]),
        scores=torch.tensor([0.9, 0.8, 0.7, 0.1, 5.0]),
        valid=torch.tensor([True, True, True, True, False]),
    )
    best = match_edge_candidates(cand, "hungarian")
    assert sorted(zip(best.src.tolist(), best.dst.tolist())) == [(0, 3), (1, 2)]
    assert best.scores.sum() == pytest.approx(1.5)
    greedy = match_edge_candidates(cand, "greedy")
    assert sorted(zip(greedy.src.tolist(), greedy.dst.tolist())) == [(0, 2), (1, 3)]
    with pytest.raises(ConfigError, match="matching"):
        match_edge_candidates(cand, "auction")


def test_hungarian_leaves_peaks_unmatched_rather_than_take_negative_scores():
    cand = EdgeCandidates(
        edge_idx=torch.tensor([0, 0]),
        src=torch.tensor([0, 1]),
        dst=torch.tensor([2, 2]),
        scores=torch.tensor([-0.2, 0.6]),
        valid=torch.tensor([True, True]),
    )
    best = match_edge_candidates(cand)
    assert best.src.tolist() == [1] and best.dst.tolist() == [2]


def test_assembly_refuses_two_peaks_of_one_node():
    # Chain 0-1-2; peaks 0, 1 (node 0, twice), 2 (node 1), 3 (node 2).
    points = torch.tensor([[0.0, 0.0], [5.0, 5.0], [10.0, 0.0], [20.0, 0.0]])
    nodes = torch.tensor([0, 0, 1, 2])
    connections = Connections(
        edge_idx=np.array([0, 1, 0]),
        src=np.array([0, 2, 1]),
        dst=np.array([2, 3, 2]),
        scores=np.array([0.9, 0.8, 0.3]),
    )
    edges = torch.tensor([[0, 1], [1, 2]])
    instances, point_scores, scores = assemble_instances(
        connections, points, nodes, torch.ones(4), edges, 3
    )
    assert instances.shape == (1, 3, 2)
    assert instances[0].tolist() == [[0.0, 0.0], [10.0, 0.0], [20.0, 0.0]]
    assert scores.tolist() == pytest.approx([0.9 + 0.8 + 3.0])
    assert point_scores.tolist() == [[1.0, 1.0, 1.0]]


def test_batched_grouping_pads_with_nan():
    edges = torch.tensor([[0, 1], [1, 2]])
    frames = [separated_instances(n, 3, np.random.default_rng(n)) for n in (2, 3)]
    points = torch.full((2, 3, 3, 2), NAN)
    points[0, :2], points[1] = frames
    confmaps = make_confmaps(points, GRID, STRIDE, 3.0)
    pafs = make_pafs(points, edges, GRID, STRIDE, 5.0)
    peaks = find_local_peaks(confmaps, STRIDE, 0.2)
    instances, point_scores, scores = group_instances_batch(*peaks, pafs, edges, STRIDE, 3)
    assert instances.shape == (2, 3, 3, 2) and scores.shape == (2, 3)
    assert torch.isnan(instances[0, 2]).all() and torch.isnan(scores[0, 2])
    assert torch.isnan(point_scores[0, 2]).all()
    assert_same_instances(instances[0, :2], frames[0])
    assert_same_instances(instances[1], frames[1])
    # numpy inputs give the same result.
    as_numpy = [v.numpy() for v in peaks]
    again = group_instances_batch(*as_numpy, pafs.numpy(), edges.numpy(), STRIDE, 3)
    assert torch.equal(again[0].nan_to_num(-1), instances.nan_to_num(-1))


@pytest.mark.parametrize("seed", range(4))
def test_random_fields_give_consistent_instances(seed):
    """On arbitrary peaks and PAFs every peak is used at most once, by its own node."""
    gen = torch.Generator().manual_seed(seed)
    n_nodes, n_peaks = 5, 30
    edges = torch.tensor([[0, 1], [1, 2], [2, 0], [2, 3]])  # node 4 has no edge
    peaks = torch.rand(n_peaks, 2, generator=gen) * 120
    nodes = torch.randint(0, n_nodes, (n_peaks,), generator=gen)
    scores = torch.rand(n_peaks, generator=gen)
    pafs = torch.randn(8, 32, 32, generator=gen)
    params = PAFGroupingParams(min_fraction=0.3, min_line_score=0.0, max_edge_length_ratio=None)
    for matching in ("hungarian", "greedy"):
        instances, point_scores, _ = group_instances(
            peaks, nodes, scores, pafs, edges, 4, n_nodes, replace(params, matching=matching)
        )
        used = []
        for inst, inst_scores in zip(instances, point_scores):
            for k in torch.isfinite(inst).all(dim=1).nonzero().flatten().tolist():
                hit = ((peaks == inst[k]).all(dim=1) & (nodes == k)).nonzero().flatten()
                assert len(hit) == 1 and scores[hit[0]] == inst_scores[k]
                used.append(int(hit[0]))
        assert len(used) == len(set(used))
        assert set(used) >= set((nodes == 4).nonzero().flatten().tolist())


def test_empty_frame_and_bad_inputs():
    edges = torch.tensor([[0, 1]])
    empty = group_instances(
        torch.zeros(0, 2),
        torch.zeros(0, dtype=torch.long),
        torch.zeros(0),
        torch.zeros(2, 8, 8),
        edges,
        4,
        2,
    )
    assert empty[0].shape == (0, 2, 2) and empty[2].shape == (0,)
    with pytest.raises(DataError, match="pafs"):
        score_edge_candidates(torch.zeros(3, 8, 8), torch.zeros(0, 2), torch.zeros(0), edges, 4)
    with pytest.raises(ConfigError, match="n_points"):
        PAFGroupingParams(n_points=1)
    with pytest.raises(DataError, match="edges"):
        group_instances(
            torch.zeros(0, 2),
            torch.zeros(0),
            torch.zeros(0),
            torch.zeros(2, 8, 8),
            torch.tensor([[0, 5]]),
            4,
            2,
        )
