"""Tests for posekit.keypoints: visibility, boxes, areas and the anchor rule."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from posekit.data.targets import compute_anchors
from posekit.keypoints import anchor_points, bounding_boxes, box_areas, visible_mask

NAN = np.nan


def test_boxes_areas_and_visibility_hand_computed():
    pts = np.array([
        [[0.0, 0.0], [4.0, 2.0], [NAN, 1.0]],      # box 4 x 2
        [[NAN, NAN], [NAN, NAN], [NAN, NAN]],      # nothing visible
        [[3.0, 3.0], [NAN, NAN], [NAN, NAN]],      # one node: zero area, floored
    ])
    assert visible_mask(pts).tolist() == [[True, True, False], [False] * 3,
                                          [True, False, False]]
    boxes = bounding_boxes(pts)
    assert boxes[0].tolist() == [0.0, 0.0, 4.0, 2.0]
    assert np.isnan(boxes[1]).all()
    assert boxes[2].tolist() == [3.0, 3.0, 3.0, 3.0]
    areas = box_areas(pts)
    assert areas[0] == 8.0 and np.isnan(areas[1]) and areas[2] == 1.0


def test_anchor_rule_hand_computed():
    pts = np.array([
        [[10.0, 10.0], [0.0, 0.0], [4.0, 2.0]],    # anchor node visible
        [[NAN, NAN], [0.0, 0.0], [4.0, 2.0]],      # anchor missing: box midpoint
        [[NAN, NAN], [NAN, NAN], [NAN, NAN]],      # nothing: NaN
    ])
    assert anchor_points(pts, 0)[0].tolist() == [10.0, 10.0]
    assert anchor_points(pts, 0)[1].tolist() == [2.0, 1.0]
    assert np.isnan(anchor_points(pts, 0)[2]).all()
    # Bounding-box midpoint, not the mean of the nodes (which would be (4.67, 4)).
    assert anchor_points(pts, None)[0].tolist() == [5.0, 5.0]
    with pytest.raises(ValueError, match="out of range"):
        anchor_points(pts, 3)


def test_numpy_and_torch_anchor_rules_agree():
    rng = np.random.default_rng(3)
    pts = rng.random((4, 7, 5, 2)) * 100
    pts[rng.random((4, 7, 5)) < 0.4] = NAN
    for anchor in (None, 0, 3):
        expected = anchor_points(pts, anchor)
        got = compute_anchors(torch.from_numpy(pts), anchor).numpy()
        np.testing.assert_allclose(got, expected, equal_nan=True)
