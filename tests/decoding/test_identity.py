"""Tests for posekit.decoding.identity: class-map reads and class-vector identity assignment
(what multi-class bottom-up grouping and top-down prediction call)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from posekit.decoding.identity import (
    assign_identities,
    assign_identities_from_class_vectors,
    class_map_values,
)
from posekit.errors import DataError

NAN = np.nan


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
        class_map_values(np.zeros((1, 2)), np.zeros((4, 4)), 1)
    with pytest.raises(DataError, match="points"):
        class_map_values(np.zeros((2, 3)), np.zeros((1, 4, 4)), 1)
    with pytest.raises(DataError, match="frame_index"):
        assign_identities_from_class_vectors(np.zeros((3, 2)), [0, 1])
    with pytest.raises(DataError, match="probs"):
        assign_identities_from_class_vectors(np.zeros(3))
    with pytest.raises(DataError, match="scores"):
        assign_identities(np.zeros(3))
