"""Tests for posekit.data.cropping: crop sizes, crop placement and cutting.

These are the functions training (instance samples), int8 calibration and top-down
inference all call, so the tests cover the code that runs.
"""

from __future__ import annotations

import numpy as np
import pytest

from posekit.data.cropping import crop_offsets, crop_size_for_instances, cut_crops
from posekit.errors import ConfigError, DataError
from posekit.keypoints import anchor_points

NAN = float("nan")


def test_crop_size_hand_computed():
    # Bounding box 30 x 10, anchor at its midpoint (15, 5): the farthest point is
    # sqrt(15² + 5²) = 15.81 px away. Need 2 * (15.81 + 2) + 1 = 36.62 px (margin 2 px at
    # max_stride 1 and 4; 4 px at max_stride 16).
    inst = np.array([[[0.0, 0.0], [30.0, 10.0], [NAN, NAN]]])
    radius = np.hypot(15.0, 5.0)
    assert crop_size_for_instances(inst, max_stride=1) == int(np.ceil(2 * (radius + 2) + 1))
    assert crop_size_for_instances(inst, max_stride=16) == 48  # 2 * (15.81 + 4) + 1 = 40.6
    assert crop_size_for_instances(inst, min_crop_size=100, max_stride=16) == 112
    # Centred on node 0 (an end of the animal) the crop must reach |(30, 10)| = 31.6 px.
    far = np.hypot(30.0, 10.0)
    assert crop_size_for_instances(inst, max_stride=1, anchor_index=0) == int(
        np.ceil(2 * (far + 2) + 1))
    # The largest instance decides.
    two = np.concatenate([inst, [[[0.0, 0.0], [5.0, 5.0], [NAN, NAN]]]])
    assert crop_size_for_instances(two, max_stride=1) == crop_size_for_instances(inst, max_stride=1)


def test_crop_size_without_points():
    empty = np.full((2, 3, 2), NAN)
    assert crop_size_for_instances(empty, min_crop_size=100, max_stride=16) == 112
    with pytest.raises(DataError, match="no instance"):
        crop_size_for_instances(empty)
    with pytest.raises(ConfigError):
        crop_size_for_instances(empty, max_stride=0)


def test_crop_offsets_round_to_whole_pixels():
    offsets = crop_offsets([[5.3, 7.6], [10.0, 10.0], [2.5, 2.5]], 4)
    # floor(5.3 - 1.5 + 0.5) = 4; floor(7.6 - 1.5 + 0.5) = 6
    assert offsets[0].tolist() == [4.0, 6.0]
    assert offsets[1].tolist() == [9.0, 9.0]
    assert offsets[2].tolist() == [1.0, 1.0]  # halves round up
    with pytest.raises(DataError, match="NaN"):
        crop_offsets([[NAN, 1.0]], 4)
    with pytest.raises(ConfigError, match="crop_size"):
        crop_offsets([[1.0, 1.0]], 0)


def test_cut_crops_copies_pixels_and_pads_with_zeros():
    images = (np.arange(2 * 10 * 12 * 3).reshape(2, 10, 12, 3) % 250 + 1).astype(np.uint8)
    offsets = crop_offsets([[5.3, 7.6], [0.0, 0.0], [11.0, 9.0]], 5)
    assert offsets.tolist() == [[3.0, 6.0], [-2.0, -2.0], [9.0, 7.0]]
    crops = cut_crops(images, [1, 0, 0], offsets, 5)
    assert crops.shape == (3, 5, 5, 3) and crops.dtype == np.uint8
    assert np.array_equal(crops[0, :4], images[1, 6:10, 3:8])
    assert crops[0, 4:].sum() == 0  # below the image
    # Crop 1 starts at (-2, -2): its first two rows and columns lie outside the image.
    assert crops[1, :2].sum() == 0 and crops[1, :, :2].sum() == 0
    assert np.array_equal(crops[1, 2:, 2:], images[0, 0:3, 0:3])
    # Crop 2 runs past the bottom-right corner.
    assert np.array_equal(crops[2, :3, :3], images[0, 7:10, 9:12])
    assert crops[2, 3:].sum() == 0 and crops[2, :, 3:].sum() == 0


def test_cut_crops_rejects_bad_indices():
    images = np.zeros((2, 8, 8, 1), np.uint8)
    with pytest.raises(DataError, match="image_index"):
        cut_crops(images, [2], np.zeros((1, 2)), 4)
    with pytest.raises(DataError, match="image_index"):
        cut_crops(images, [0, 1], np.zeros((1, 2)), 4)


def test_computed_crop_size_holds_every_instance_at_any_rotation():
    rng = np.random.default_rng(5)
    points = rng.random((40, 6, 2)) * rng.random((40, 1, 2)) * 90 + rng.random((40, 1, 2)) * 200
    points[rng.random((40, 6)) < 0.2] = NAN
    for anchor_index in (None, 3):
        size = crop_size_for_instances(points, max_stride=1, anchor_index=anchor_index)
        centers = anchor_points(points, anchor_index)
        usable = np.isfinite(centers).all(axis=-1)
        for angle in np.linspace(0, 2 * np.pi, 13):
            rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
            turned = (points[usable] - centers[usable, None]) @ rot.T + centers[usable, None]
            offsets = crop_offsets(centers[usable], size)
            in_crop = turned - offsets[:, None]
            finite = np.isfinite(in_crop)
            assert in_crop[finite].min() >= -0.5
            assert in_crop[finite].max() <= size - 0.5


def test_a_frame_pixel_is_the_same_crop_pixel():
    rng = np.random.default_rng(11)
    images = rng.integers(0, 255, (3, 60, 80, 2), dtype=np.uint8)
    points = rng.random((5, 4, 2)) * [79.0, 59.0]
    centers = anchor_points(points, 0)
    offsets = crop_offsets(centers, 24)
    index = np.array([0, 2, 1, 1, 0])
    crops = cut_crops(images, index, offsets, 24)
    pix = points.round().astype(int)
    in_crop = pix - offsets[:, None].astype(int)
    for m in range(5):
        for k in range(4):
            c, r = in_crop[m, k]
            if 0 <= r < 24 and 0 <= c < 24:
                assert np.array_equal(crops[m, r, c], images[index[m], pix[m, k, 1], pix[m, k, 0]])
