"""Tests for posekit.decoding.identity: class-map and class-vector identity assignment."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from posekit.data.targets import make_class_maps
from posekit.errors import DataError
from posekit.decoding.identity import (
    assign_identities,
    assign_identities_from_class_maps,
    assign_identities_from_class_vectors,
    class_map_scores,
    class_map_values,
)

NAN = np.nan


def test_class_map_scores_are_mean_values_at_visible_points():
    maps = np.zeros((2, 4, 4), dtype=np.float32)
    maps[0, :, :2] = 1.0  # class 0 on the left half
    maps[1, :, 2:] = 0.5  # class 1 on the right half
    maps[1, 0, 0] = 0.25
    instances = np.array(
        [
            [[0.0, 0.0], [2.0, 4.0], [NAN, NAN]],  # cells (0, 0) and (2, 1): left
            [[6.0, 6.0], [4.0, 2.0], [2.0, 2.0]],  # cells (3, 3), (1, 2), (1, 1)
            [[NAN, NAN], [NAN, NAN], [NAN, NAN]],
        ]
    )
    scores = class_map_scores(instances, maps, stride=2)
    assert scores.shape == (3, 2) and scores.dtype == np.float32
    assert scores[0].tolist() == pytest.approx([1.0, 0.125])
    assert scores[1].tolist() == pytest.approx([1 / 3, 1 / 3])
    assert np.isnan(scores[2]).all()


def test_class_map_scores_interpolate_between_cells():
    maps = np.zeros((1, 2, 2))
    maps[0, 0, 1] = 1.0
    scores = class_map_scores([[[1.0, 0.0]]], maps, stride=4)  # x = 0.25 cell
    assert scores.item() == pytest.approx(0.25)


def test_class_map_values_per_point():
    maps = np.stack([np.full((3, 3), 0.2), np.arange(9.0).reshape(3, 3)])
    values = class_map_values([[2.0, 4.0], [NAN, 1.0], [100.0, 0.0]], maps, stride=2)
    assert values.shape == (3, 2)
    assert values[0].tolist() == pytest.approx([0.2, 7.0])  # cell (row 2, col 1)
    assert np.isnan(values[1]).all()
    assert values[2].tolist() == pytest.approx([0.2, 2.0])  # clamped to the last column


def test_hungarian_beats_greedy_assignment():
    class_idx, class_scores = assign_identities([[0.9, 0.8], [0.85, 0.1]])
    assert class_idx.dtype == np.int64 and class_scores.dtype == np.float32
    assert class_idx.tolist() == [1, 0]  # 0.8 + 0.85 > 0.9 + 0.1
    assert class_scores.tolist() == pytest.approx([0.8, 0.85])


def test_ties_still_use_each_class_once():
    class_idx, class_scores = assign_identities(np.full((2, 2), 0.5))
    assert sorted(class_idx.tolist()) == [0, 1]
    assert class_scores.tolist() == [0.5, 0.5]
    class_idx, _ = assign_identities(np.full((3, 3), 0.2))
    assert sorted(class_idx.tolist()) == [0, 1, 2]


def test_more_instances_than_classes():
    class_idx, class_scores = assign_identities([[0.9, 0.1], [0.2, 0.3], [0.8, 0.7]])
    # Best total: 0 -> class 0 (0.9) and 2 -> class 1 (0.7); instance 1 is left over.
    assert class_idx.tolist() == [0, -1, 1]
    assert class_scores.tolist() == pytest.approx([0.9, 0.0, 0.7])


def test_instances_without_evidence_stay_unassigned():
    class_idx, class_scores = assign_identities([[NAN, NAN], [0.4, 0.6]])
    assert class_idx.tolist() == [-1, 1]
    assert class_scores.tolist() == pytest.approx([0.0, 0.6])


def test_identities_from_rendered_class_maps():
    instances = np.array(
        [
            [[20.0, 20.0], [40.0, 24.0], [30.0, 40.0]],
            [[100.0, 90.0], [120.0, 100.0], [NAN, NAN]],
            [[60.0, 110.0], [70.0, 120.0], [80.0, 110.0]],
        ],
        dtype=np.float32,
    )
    class_ids = torch.tensor([[2, 0, 1]])
    maps = make_class_maps(torch.as_tensor(instances)[None], class_ids, 3, (32, 32), 4, 4.0)
    maps = maps[0].numpy()
    class_idx, class_scores = assign_identities_from_class_maps(instances, maps, 4)
    assert class_idx.tolist() == [2, 0, 1]
    assert np.all(class_scores > 0.8)  # bilinear reads between cells lose a little
    # With one class map fewer, the instance that lost its map gets no identity.
    class_idx, _ = assign_identities_from_class_maps(instances, maps[:2], 4)
    assert class_idx.tolist() == [-1, 0, 1]


def test_class_vectors_are_assigned_per_frame():
    probs = np.array(
        [
            [0.7, 0.3],  # frame 0
            [0.6, 0.4],  # frame 0: loses class 0 to the stronger claim
            [0.9, 0.1],  # frame 1: class 0 is free again in a new frame
            [0.2, 0.8],  # frame 2
            [0.3, 0.7],  # frame 2: one instance too many for class 1 ... gets class 0
            [0.5, 0.5],  # frame 2: a third instance for two classes -> -1
        ]
    )
    frames = np.array([0, 0, 1, 2, 2, 2])
    class_idx, class_scores = assign_identities_from_class_vectors(probs, frames)
    assert class_idx[:3].tolist() == [0, 1, 0]
    assert class_scores[:3].tolist() == pytest.approx([0.7, 0.4, 0.9])
    # Frame 2: best total is 0.8 (3 -> 1) + 0.5 (5 -> 0) = 1.3 > 0.8 + 0.3 = 1.1.
    assert class_idx[3:].tolist() == [1, -1, 0]
    single, _ = assign_identities_from_class_vectors(probs[:2])
    assert single.tolist() == [0, 1]
    # Frames given out of order and as a torch tensor: the same per-frame assignment.
    perm = np.array([5, 2, 0, 3, 1, 4])
    shuffled, _ = assign_identities_from_class_vectors(probs[perm], torch.as_tensor(frames[perm]))
    assert shuffled.tolist() == class_idx[perm].tolist()
    empty_idx, empty_scores = assign_identities_from_class_vectors(np.zeros((0, 2)), [])
    assert empty_idx.shape == empty_scores.shape == (0,)


def test_bad_shapes_raise():
    with pytest.raises(DataError, match="class_maps"):
        class_map_scores(np.zeros((1, 2, 2)), np.zeros((4, 4)), 1)
    with pytest.raises(DataError, match="instances"):
        class_map_scores(np.zeros((2, 2)), np.zeros((1, 4, 4)), 1)
    with pytest.raises(DataError, match="frame_index"):
        assign_identities_from_class_vectors(np.zeros((3, 2)), [0, 1])
    with pytest.raises(DataError, match="probs"):
        assign_identities_from_class_vectors(np.zeros(3))
    with pytest.raises(DataError, match="scores"):
        assign_identities(np.zeros(3))
