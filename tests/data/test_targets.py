"""Tests for posekit.data.targets: confidence maps, centroids, anchors, PAFs, class targets."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from posekit.data.targets import (
    compute_anchors,
    grid_positions,
    make_centroid_maps,
    make_class_maps,
    make_class_vectors,
    make_confmaps,
    make_pafs,
    paf_half_width,
)
from posekit.errors import ConfigError, DataError

NAN = float("nan")


def reference_confmaps(points: np.ndarray, out_hw, stride, sigma) -> np.ndarray:
    """Brute-force confidence maps: loop over every cell, instance and node."""
    batch, n_inst, n_nodes, _ = points.shape
    h, w = out_hw
    out = np.zeros((batch, n_nodes, h, w))
    for b in range(batch):
        for k in range(n_nodes):
            for i in range(h):
                for j in range(w):
                    best = 0.0
                    for n in range(n_inst):
                        x, y = points[b, n, k]
                        if np.isnan(x) or np.isnan(y):
                            continue
                        d2 = (j * stride - x) ** 2 + (i * stride - y) ** 2
                        best = max(best, math.exp(-d2 / (2 * sigma**2)))
                    out[b, k, i, j] = best
    return out


def reference_pafs(points: np.ndarray, edges, out_hw, stride, sigma) -> np.ndarray:
    """Brute-force PAFs with the documented rule (band around the segment, mean vector)."""
    batch, n_inst = points.shape[:2]
    h, w = out_hw
    radius = max(sigma, stride / math.sqrt(2))
    out = np.zeros((batch, 2 * len(edges), h, w))
    for b in range(batch):
        for e, (s, d) in enumerate(edges):
            for i in range(h):
                for j in range(w):
                    p = np.array([j * stride, i * stride], dtype=float)
                    vectors = []
                    for n in range(n_inst):
                        a, c = points[b, n, s], points[b, n, d]
                        if np.isnan(a).any() or np.isnan(c).any():
                            continue
                        seg = c - a
                        length = np.linalg.norm(seg)
                        if length == 0:
                            continue
                        t = np.clip(np.dot(p - a, seg) / length**2, 0, 1)
                        if np.linalg.norm(p - (a + t * seg)) <= radius:
                            vectors.append(seg / length)
                    if vectors:
                        out[b, 2 * e : 2 * e + 2, i, j] = np.mean(vectors, axis=0)
    return out


def test_grid_positions_follow_the_output_mapping():
    xs, ys = grid_positions((3, 4), 4)
    assert xs.tolist() == [0, 4, 8, 12]
    assert ys.tolist() == [0, 4, 8]


def test_confmap_hand_computed_values():
    points = torch.tensor([[[[4.0, 2.0]]]])  # one instance, one node at x=4, y=2
    maps = make_confmaps(points, (3, 5), stride=2, sigma=2.0)
    assert maps.shape == (1, 1, 3, 5)
    assert maps[0, 0, 1, 2].item() == pytest.approx(1.0)  # cell (1, 2) is (4, 2)
    assert maps[0, 0, 1, 3].item() == pytest.approx(math.exp(-4 / 8))  # 2 px to the right
    assert maps[0, 0, 0, 0].item() == pytest.approx(math.exp(-(16 + 4) / 8))
    assert maps.argmax().item() == 1 * 5 + 2


def test_confmaps_match_brute_force_with_missing_points_and_overlaps():
    gen = torch.Generator().manual_seed(3)
    points = torch.rand(2, 3, 4, 2, generator=gen) * 30
    points[0, 1, 2] = NAN  # one missing point
    points[1, :, 3] = NAN  # a node missing in every instance
    points[0, 2] = NAN  # a padding instance
    points[1, 1, 0] = points[1, 0, 0] + 1.5  # overlapping Gaussians (max, not sum)
    maps = make_confmaps(points, (9, 11), stride=3, sigma=2.5)
    expected = reference_confmaps(points.numpy().astype(float), (9, 11), 3, 2.5)
    np.testing.assert_allclose(maps.numpy(), expected, atol=1e-6)
    assert maps[1, 3].abs().max().item() == 0.0
    assert maps.dtype == torch.float32


def test_confmaps_of_an_empty_batch_are_zero():
    maps = make_confmaps(torch.full((2, 0, 3, 2), NAN), (4, 4), 1, 1.0)
    assert maps.shape == (2, 3, 4, 4) and maps.abs().sum().item() == 0.0


def test_centroid_maps_are_one_channel_maxima():
    centroids = torch.tensor([[[2.0, 2.0], [10.0, 6.0], [NAN, NAN]]])
    maps = make_centroid_maps(centroids, (5, 7), stride=2, sigma=1.5)
    assert maps.shape == (1, 1, 5, 7)
    assert maps[0, 0, 1, 1].item() == pytest.approx(1.0)
    assert maps[0, 0, 3, 5].item() == pytest.approx(1.0)
    expected = reference_confmaps(centroids[:, :, None].numpy().astype(float), (5, 7), 2, 1.5)
    np.testing.assert_allclose(maps.numpy(), expected, atol=1e-6)


def test_compute_anchors_rules():
    points = torch.tensor(
        [
            [[1.0, 1.0], [5.0, 9.0], [3.0, 2.0]],  # anchor node 2 visible
            [[0.0, 0.0], [4.0, 10.0], [NAN, NAN]],  # anchor missing -> bbox midpoint
            [[NAN, NAN], [NAN, NAN], [NAN, NAN]],  # nothing visible
        ]
    )
    anchors = compute_anchors(points, anchor_index=2)
    assert anchors[0].tolist() == [3.0, 2.0]
    assert anchors[1].tolist() == [2.0, 5.0]
    assert torch.isnan(anchors[2]).all()
    mids = compute_anchors(points, anchor_index=None)
    assert mids[0].tolist() == [3.0, 5.0]
    # Leading batch axes are kept.
    assert compute_anchors(points[None].expand(4, -1, -1, -1), 2).shape == (4, 3, 2)
    with pytest.raises(ConfigError, match="anchor_part"):
        compute_anchors(points, anchor_index=7)


def test_paf_hand_computed_band():
    points = torch.tensor([[[[2.0, 4.0], [10.0, 4.0]]]])
    pafs = make_pafs(points, torch.tensor([[0, 1]]), (9, 13), stride=1, sigma=1.0)
    assert pafs.shape == (1, 2, 9, 13)
    x, y = pafs[0, 0], pafs[0, 1]
    assert y.abs().max().item() == 0.0
    inside = x == 1.0
    assert set(np.unique(x.numpy())) <= {0.0, 1.0}
    # Band: rows 3..5 between the ends, plus the round caps (1, 4) and (11, 4).
    expected = np.zeros((9, 13), dtype=bool)
    expected[3:6, 2:11] = True
    expected[4, 1] = expected[4, 11] = True
    np.testing.assert_array_equal(inside.numpy(), expected)


def test_pafs_match_brute_force_with_overlap_and_missing():
    gen = torch.Generator().manual_seed(7)
    points = torch.rand(2, 3, 4, 2, generator=gen) * 24
    points[0, 0, 1] = NAN  # edge (0, 1) of instance 0 cannot be drawn
    points[1, 2] = NAN  # padding instance
    points[1, 1, 2] = points[1, 1, 3]  # coincident endpoints: nothing drawn
    points[1, 1, 0] = points[1, 0, 0] + 1.0  # two instances' bands overlap
    points[1, 1, 1] = points[1, 0, 1] + 1.0
    edges = torch.tensor([[0, 1], [1, 2], [2, 3], [3, 0]])
    pafs = make_pafs(points, edges, (7, 9), stride=3, sigma=4.0)
    expected = reference_pafs(points.numpy().astype(float), edges.tolist(), (7, 9), 3, 4.0)
    np.testing.assert_allclose(pafs.numpy(), expected, atol=1e-6)


def test_pafs_average_opposite_and_equal_vectors():
    edges = torch.tensor([[0, 1]])
    same = torch.tensor([[[[0.0, 4.0], [16.0, 4.0]], [[0.0, 4.5], [16.0, 4.5]]]])
    pafs = make_pafs(same, edges, (9, 17), stride=1, sigma=2.0)
    assert pafs[0, 0, 4, 8].item() == pytest.approx(1.0)  # both agree: unit length
    opposite = torch.tensor([[[[0.0, 4.0], [16.0, 4.0]], [[16.0, 4.0], [0.0, 4.0]]]])
    pafs = make_pafs(opposite, edges, (9, 17), stride=1, sigma=2.0)
    assert pafs[0, :, 4, 8].abs().max().item() == pytest.approx(0.0)


def test_paf_band_never_thinner_than_half_a_cell_diagonal():
    assert paf_half_width(15.0, 8) == 15.0
    assert paf_half_width(1.0, 8) == pytest.approx(8 / math.sqrt(2))
    # A thin diagonal limb on a coarse grid still lights the cells around the segment.
    points = torch.tensor([[[[3.0, 5.0], [45.0, 37.0]]]])
    pafs = make_pafs(points, torch.tensor([[0, 1]]), (8, 8), stride=8, sigma=0.5)
    lit = (pafs[0, 0] != 0).sum().item()
    assert lit >= 8


def test_class_maps_follow_instance_classes():
    points = torch.tensor(
        [
            [
                [[2.0, 2.0], [6.0, 2.0]],
                [[2.0, 8.0], [NAN, NAN]],
                [[8.0, 8.0], [10.0, 10.0]],
            ]
        ]
    )
    class_ids = torch.tensor([[1, 0, -1]])
    maps = make_class_maps(points, class_ids, 3, (6, 6), stride=2, sigma=1.0)
    assert maps.shape == (1, 3, 6, 6)
    inst1 = reference_confmaps(points[:, 0:1].numpy().astype(float), (6, 6), 2, 1.0).max(axis=1)
    inst0 = reference_confmaps(points[:, 1:2].numpy().astype(float), (6, 6), 2, 1.0).max(axis=1)
    np.testing.assert_allclose(maps[0, 1].numpy(), inst1[0], atol=1e-6)
    np.testing.assert_allclose(maps[0, 0].numpy(), inst0[0], atol=1e-6)
    assert maps[0, 2].abs().max().item() == 0.0  # no instance of class 2; -1 adds nothing
    with pytest.raises(DataError, match="class_ids"):
        make_class_maps(points, torch.tensor([[1, 0, 3]]), 3, (6, 6), 2, 1.0)


def test_class_vectors_one_hot():
    vectors = make_class_vectors(torch.tensor([1, -1, 0]), 2)
    assert vectors.tolist() == [[0.0, 1.0], [0.0, 0.0], [1.0, 0.0]]
    assert vectors.dtype == torch.float32
    with pytest.raises(DataError):
        make_class_vectors(torch.tensor([2]), 2)


def test_bad_inputs_raise_specific_errors():
    with pytest.raises(ConfigError, match="sigma"):
        make_confmaps(torch.zeros(1, 1, 1, 2), (4, 4), 1, 0.0)
    with pytest.raises(DataError, match="points"):
        make_confmaps(torch.zeros(1, 1, 2), (4, 4), 1, 1.0)
    with pytest.raises(ConfigError, match="output_stride"):
        make_confmaps(torch.zeros(1, 1, 1, 2), (4, 4), 0, 1.0)
    with pytest.raises(DataError, match="edges"):
        make_pafs(torch.zeros(1, 1, 2, 2), torch.tensor([[0, 2]]), (4, 4), 1, 1.0)


def test_targets_keep_float64_precision():
    points = torch.tensor([[[[1.25, 2.5]]]], dtype=torch.float64)
    assert make_confmaps(points, (3, 3), 1, 1.0).dtype == torch.float64
