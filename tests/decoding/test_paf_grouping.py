"""Tests for bottom-up grouping: decoding rendered targets, assembly and batching.

Fixtures are rendered with the torch target functions; the grouping under test is numpy.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from posekit.data.targets import make_confmaps, make_pafs
from posekit.decoding.grouping import peaks_per_sample
from posekit.decoding.paf_grouping import (
    Connections,
    PafGrouper,
    PAFGroupingParams,
    assemble_instances,
    group_instances,
)
from posekit.decoding.peaks import find_local_peaks
from posekit.errors import ConfigError, DataError

NAN = np.nan
STRIDE = 4
GRID = (64, 64)  # a 256 x 256 model input


def render(points: np.ndarray, edges: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Peaks (sample, channel, points, scores) and PAFs of a batch ``(B, N, K, 2)``."""
    points_t = torch.as_tensor(points, dtype=torch.float32)
    confmaps = make_confmaps(points_t, GRID, STRIDE, 3.0)
    pafs = make_pafs(points_t, torch.as_tensor(edges), GRID, STRIDE, 5.0)
    peaks = [v.numpy() for v in find_local_peaks(confmaps, STRIDE, 0.2)]
    return peaks, pafs.numpy()


def decode(points: np.ndarray, edges: np.ndarray, params=None, n_nodes=None):
    """Render targets for one frame of instances ``(N, K, 2)`` and group them back."""
    n_nodes = n_nodes or points.shape[1]
    (sample_idx, channel_idx, peaks, scores), pafs = render(points[None], edges)
    assert np.all(sample_idx == 0)
    return group_instances(peaks, channel_idx, scores, pafs[0], edges, STRIDE, n_nodes, params)


def assert_same_instances(found: np.ndarray, truth: np.ndarray, tol: float = 0.1) -> None:
    """Same instances up to order: same visible nodes, points within ``tol`` pixels."""
    assert found.shape == truth.shape, (found.shape, truth.shape)
    unmatched = list(range(len(found)))
    for inst in truth:
        hits = [
            i
            for i in unmatched
            if np.array_equal(np.isnan(found[i]), np.isnan(inst))
            and np.nan_to_num(np.abs(found[i] - inst)).max() < tol
        ]
        assert hits, f"instance {inst.tolist()} not recovered from {found.tolist()}"
        unmatched.remove(hits[0])


def random_tree(n_nodes: int, rng: np.random.Generator) -> np.ndarray:
    """Edges (parent, child) of a random tree over shuffled node labels."""
    labels = rng.permutation(n_nodes)
    return np.array([(labels[rng.integers(0, k)], labels[k]) for k in range(1, n_nodes)])


def separated_instances(n_inst: int, n_nodes: int, rng: np.random.Generator) -> np.ndarray:
    """Instances in distinct quadrants of the input, nodes at least 8 px apart."""
    out = np.empty((n_inst, n_nodes, 2), dtype=np.float32)
    for n, quadrant in enumerate(rng.permutation(4)[:n_inst]):
        corner = np.array([quadrant % 2, quadrant // 2]) * 128 + 24
        while True:
            pts = corner + rng.uniform(0, 80, size=(n_nodes, 2))
            gaps = np.linalg.norm(pts[:, None] - pts[None], axis=-1) + np.eye(n_nodes) * 99
            if gaps.min() >= 8:
                break
        out[n] = pts
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
    assert found.dtype == point_scores.dtype == instance_scores.dtype == np.float32
    assert_same_instances(found, truth)
    assert np.all(point_scores > 0.6)
    # Every complete instance scores about K peaks + (K - 1) connections.
    assert np.all(instance_scores > 0.6 * (2 * n_nodes - 1))
    assert np.all(instance_scores[:-1] >= instance_scores[1:])


def test_crossing_limbs_are_not_confused():
    edges = np.array([[0, 1], [1, 2]])
    truth = np.array(
        [
            [[60.0, 60.0], [124.0, 124.0], [180.0, 100.0]],
            [[124.0, 60.0], [60.0, 124.0], [40.0, 190.0]],
        ],
        dtype=np.float32,
    )
    found, _, _ = decode(truth, edges)
    assert_same_instances(found, truth)


def test_close_parallel_instances_stay_apart():
    edges = np.array([[0, 1], [1, 2], [1, 3]])
    one = np.array([[40.0, 100.0], [100.0, 100.0], [160.0, 100.0], [100.0, 140.0]])
    truth = np.stack([one, one + np.array([8.0, 16.0])]).astype(np.float32)
    found, _, _ = decode(truth, edges)
    assert_same_instances(found, truth)


def test_missing_leaf_node_leaves_a_gap():
    edges = np.array([[0, 1], [1, 2], [1, 3]])
    truth = separated_instances(3, 4, np.random.default_rng(1))
    truth[1, 3] = NAN
    found, point_scores, _ = decode(truth, edges)
    assert_same_instances(found, truth)
    assert int(np.isnan(point_scores).sum()) == 1


def test_missing_middle_node_splits_an_instance():
    edges = np.array([[0, 1], [1, 2]])
    truth = separated_instances(2, 3, np.random.default_rng(2))
    truth[1, 1] = NAN  # nodes 0 and 2 of instance 1 have no edge left between them
    found, _, _ = decode(truth, edges)
    assert_same_instances(found, truth[:1])
    found, _, scores = decode(truth, edges, PAFGroupingParams(keep_isolated_peaks=True))
    singles = np.full((2, 3, 2), NAN, dtype=np.float32)
    singles[0, 0], singles[1, 2] = truth[1, 0], truth[1, 2]
    assert_same_instances(found, np.concatenate([truth[:1], singles]))
    assert scores[0] > scores[1] and scores[0] > scores[2]  # complete instance first


def test_nodes_without_edges_become_single_point_instances():
    edges = np.array([[0, 1]])  # node 2 belongs to no edge
    truth = separated_instances(2, 3, np.random.default_rng(3))
    found, _, _ = decode(truth, edges)
    expected = np.full((4, 3, 2), NAN, dtype=np.float32)
    expected[:2, :2] = truth[:, :2]
    expected[2, 2], expected[3, 2] = truth[0, 2], truth[1, 2]
    assert_same_instances(found, expected)


def test_max_instances_and_min_instance_peaks():
    edges = np.array([[0, 1], [1, 2], [2, 3]])
    truth = separated_instances(3, 4, np.random.default_rng(4))
    truth[2, 3] = NAN  # the smallest instance has the lowest score
    found, _, scores = decode(truth, edges, PAFGroupingParams(max_instances=2))
    assert_same_instances(found, truth[:2])
    assert scores.shape == (2,)
    found, _, _ = decode(truth, edges, PAFGroupingParams(min_instance_peaks=4))
    assert_same_instances(found, truth[:2])


def test_skeleton_with_a_cycle():
    edges = np.array([[0, 1], [1, 2], [2, 0], [2, 3]])
    truth = separated_instances(3, 4, np.random.default_rng(5))
    found, _, _ = decode(truth, edges)
    assert_same_instances(found, truth)


def test_assembly_refuses_two_peaks_of_one_node():
    # Chain 0-1-2; peaks 0, 1 (node 0, twice), 2 (node 1), 3 (node 2).
    points = np.array([[0.0, 0.0], [5.0, 5.0], [10.0, 0.0], [20.0, 0.0]])
    nodes = np.array([0, 0, 1, 2])
    connections = Connections(
        edge_idx=np.array([0, 1, 0]),
        src=np.array([0, 2, 1]),
        dst=np.array([2, 3, 2]),
        scores=np.array([0.9, 0.8, 0.3]),
    )
    edges = np.array([[0, 1], [1, 2]])
    instances, point_scores, scores = assemble_instances(
        connections, points, nodes, np.ones(4), edges, 3
    )
    assert instances.shape == (1, 3, 2)
    assert instances[0].tolist() == [[0.0, 0.0], [10.0, 0.0], [20.0, 0.0]]
    assert scores.tolist() == pytest.approx([0.9 + 0.8 + 3.0])
    assert point_scores.tolist() == [[1.0, 1.0, 1.0]]


def test_assembly_merges_groups_built_from_both_ends():
    # Chain 0-1-2-3: links (0,1) and (2,3) form two groups first, then (1,2) joins them;
    # a later link from a second node-0 peak (4) into the merged group is refused.
    points = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [3.0, 0.0], [9.0, 9.0]])
    nodes = np.array([0, 1, 2, 3, 0])
    connections = Connections(
        edge_idx=np.array([0, 2, 1, 0]),
        src=np.array([0, 2, 1, 4]),
        dst=np.array([1, 3, 2, 1]),
        scores=np.array([0.9, 0.8, 0.7, 0.6]),
    )
    edges = np.array([[0, 1], [1, 2], [2, 3]])
    instances, _, scores = assemble_instances(connections, points, nodes, np.full(5, 0.5), edges, 4)
    assert instances.shape == (1, 4, 2)
    assert instances[0, :, 0].tolist() == [0.0, 1.0, 2.0, 3.0]
    assert scores.tolist() == pytest.approx([0.9 + 0.8 + 0.7 + 4 * 0.5])
    with_isolated = assemble_instances(
        connections, points, nodes, np.full(5, 0.5), edges, 4, keep_isolated_peaks=True
    )
    assert with_isolated[0].shape == (2, 4, 2)
    assert with_isolated[0][1, 0].tolist() == [9.0, 9.0]
    assert with_isolated[2].tolist() == pytest.approx([4.4, 0.5])


def test_grouper_groups_a_batch_frame_by_frame():
    """The path bottom-up prediction runs: batch peaks -> frames -> PafGrouper."""
    edges = np.array([[0, 1], [1, 2]])
    frames = [separated_instances(n, 3, np.random.default_rng(n)) for n in (2, 3)]
    points = np.full((2, 3, 3, 2), NAN, dtype=np.float32)
    points[0, :2], points[1] = frames
    peaks, pafs = render(points, edges)
    grouper = PafGrouper(edges, STRIDE, 3)
    found = [grouper(frame, pafs[b]) for b, frame in enumerate(peaks_per_sample(*peaks, 2))]
    assert [len(f.instance_scores) for f in found] == [2, 3]
    assert found[0].classes is None and found[0].class_scores is None
    assert_same_instances(found[0].instances, frames[0])
    assert_same_instances(found[1].instances, frames[1])
    # Shuffled peak order (and torch tensors) give the same instances.
    perm = np.random.default_rng(0).permutation(len(peaks[0]))
    shuffled = peaks_per_sample(*(torch.as_tensor(v[perm]) for v in peaks), 2)
    for b, frame in enumerate(shuffled):
        again = grouper(frame, pafs[b])
        assert_same_instances(again.instances, found[b].instances, tol=1e-6)
    # max_instances keeps the best ones.
    best = PafGrouper(edges, STRIDE, 3, max_instances=1)(peaks_per_sample(*peaks, 2)[1], pafs[1])
    assert len(best.instance_scores) == 1
    assert best.instance_scores[0] == pytest.approx(found[1].instance_scores.max())


def test_peaks_per_sample_keeps_order_and_drops_out_of_range_samples():
    sample = np.array([1, 0, 1, 5, 0])
    frames = peaks_per_sample(sample, np.arange(5), np.arange(10.0).reshape(5, 2), -sample, 3)
    assert [f[1].tolist() for f in frames] == [[1, 4], [0, 2], []]
    assert frames[0][0].tolist() == [[2.0, 3.0], [8.0, 9.0]]
    with pytest.raises(DataError, match="peaks"):
        peaks_per_sample(sample, np.arange(4), np.zeros((5, 2)), np.zeros(5), 3)


@pytest.mark.parametrize("seed", range(4))
def test_random_fields_give_consistent_instances(seed):
    """On arbitrary peaks and PAFs every peak is used at most once, by its own node."""
    rng = np.random.default_rng(seed)
    n_nodes, n_peaks = 5, 30
    edges = np.array([[0, 1], [1, 2], [2, 0], [2, 3]])  # node 4 has no edge
    peaks = (rng.random((n_peaks, 2)) * 120).astype(np.float32)
    nodes = rng.integers(0, n_nodes, n_peaks)
    scores = rng.random(n_peaks).astype(np.float32)
    pafs = rng.standard_normal((8, 32, 32)).astype(np.float32)
    params = PAFGroupingParams(min_fraction=0.3, min_line_score=0.0, max_edge_length_ratio=None)
    for matching in ("hungarian", "greedy"):
        instances, point_scores, _ = group_instances(
            peaks, nodes, scores, pafs, edges, 4, n_nodes, replace(params, matching=matching)
        )
        used = []
        for inst, inst_scores in zip(instances, point_scores):
            for k in np.flatnonzero(np.isfinite(inst).all(axis=1)):
                hit = np.flatnonzero((peaks == inst[k]).all(axis=1) & (nodes == k))
                assert len(hit) == 1 and scores[hit[0]] == inst_scores[k]
                used.append(int(hit[0]))
        assert len(used) == len(set(used))
        assert set(used) >= set(np.flatnonzero(nodes == 4).tolist())


def test_empty_frame_and_bad_inputs():
    edges = np.array([[0, 1]])
    empty = group_instances(
        np.zeros((0, 2)), np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros((2, 8, 8)), edges, 4, 2
    )
    assert empty[0].shape == (0, 2, 2) and empty[2].shape == (0,)
    with pytest.raises(ConfigError, match="n_points"):
        PAFGroupingParams(n_points=1)
    with pytest.raises(DataError, match="edges"):
        group_instances(
            np.zeros((0, 2)), np.zeros(0), np.zeros(0), np.zeros((2, 8, 8)), [[0, 5]], 4, 2
        )
    with pytest.raises(DataError, match="pafs"):
        group_instances(np.zeros((0, 2)), np.zeros(0), np.zeros(0), np.zeros(8), edges, 4, 2)
    with pytest.raises(DataError, match="edges"):
        PafGrouper([[0, 5]], 4, 2)
    with pytest.raises(DataError, match="peak_nodes"):
        assemble_instances(
            Connections(*(np.zeros(0, dtype=np.int64),) * 4), [[1.0, 1.0]], [3], [1.0], edges, 2
        )


def test_params_report_every_problem_with_its_inference_path():
    with pytest.raises(ConfigError) as err:
        PAFGroupingParams(
            n_points=1, min_fraction=1.5, matching="greddy", max_instances=0, sample_threshold="x"
        )
    assert err.value.problems == [
        ("inference.grouping.sample_threshold: got 'x' (string); expected a number. The "
         "default is 0.05."),
        ("inference.grouping.n_points: value 1 is out of range; expected a number >= 2. The "
         "default is 10."),
        ("inference.grouping.min_fraction: value 1.5 is out of range; expected a number >= 0 "
         "and <= 1. 0.8 needs 80 % of the samples along the line."),
        ("inference.grouping.matching: unknown value 'greddy'; expected one of hungarian, "
         "greedy. Did you mean 'greedy'?"),
        ("inference.grouping.max_instances: value 0 is out of range; expected a number >= 1. "
         "Use e.g. 2, or null for no limit."),
    ]
    assert str(err.value).startswith("PAFGroupingParams: 5 problems in the configuration:")
    with pytest.raises(ConfigError, match=r"^PAFGroupingParams: inference\.grouping\."
                                          r"min_line_score: value nan is out of range; "
                                          r"expected a finite number\. The default is 0\.25\.$"):
        PAFGroupingParams(min_line_score=float("nan"))


def test_params_from_a_mapping():
    params = PAFGroupingParams.from_dict({"min_line_score": 0, "max_instances": np.int64(3)}, "x")
    assert params == PAFGroupingParams(min_line_score=0.0, max_instances=3)
    assert isinstance(params.min_line_score, float) and type(params.max_instances) is int
    assert PAFGroupingParams.from_dict(None, "x") == PAFGroupingParams()
    with pytest.raises(ConfigError) as err:
        PAFGroupingParams.from_dict(
            {"min_line_scores": 0.3, "dist_penalty_weight": -1, "max_edge_length_ratio": 0},
            "infer.yaml",
        )
    assert err.value.source == "infer.yaml"
    unknown, ratio, weight = err.value.problems
    assert unknown.startswith("inference.grouping.min_line_scores: unknown key; expected one of "
                              "n_points, sample_threshold, ")
    assert unknown.endswith(". Did you mean 'min_line_score' or 'min_instance_peaks'?")
    assert weight == ("inference.grouping.dist_penalty_weight: value -1.0 is out of range; "
                      "expected a number >= 0. The default is 1.0.")
    assert ratio == ("inference.grouping.max_edge_length_ratio: value 0.0 is out of range; "
                     "expected a number > 0. Use e.g. 0.25 (a quarter of the input's longer "
                     "side), or null for no distance penalty.")
