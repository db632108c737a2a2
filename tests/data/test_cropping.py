"""Tests for posekit.data.cropping: crop sizes, crops and the crop <-> frame point maps."""

from __future__ import annotations

import pytest
import torch

from posekit.data.cropping import (
    crop_around,
    crop_offsets,
    crop_size_from_instances,
    points_from_crop,
    points_to_crop,
)
from posekit.data.targets import compute_anchors
from posekit.errors import ConfigError, DataError

NAN = float("nan")


def test_crop_size_hand_computed():
    # Bounding box 30 x 10 around its midpoint: needs 30 + 1 px, rounded up to 32.
    inst = torch.tensor([[[0.0, 0.0], [30.0, 10.0], [NAN, NAN]]])
    assert crop_size_from_instances(inst, max_stride=16) == 32
    assert crop_size_from_instances(inst, max_stride=1) == 31
    assert crop_size_from_instances(inst, max_stride=1, padding=8) == 39
    assert crop_size_from_instances(inst, min_crop_size=100, max_stride=16) == 112
    # Centred on node 0 (an end of the animal) the crop must reach 30 px each way.
    assert crop_size_from_instances(inst, max_stride=16, anchor_index=0) == 64
    # The largest instance decides.
    two = torch.cat([inst, torch.tensor([[[0.0, 0.0], [5.0, 5.0], [NAN, NAN]]])])
    assert crop_size_from_instances(two, max_stride=1) == 31


def test_crop_size_without_points():
    empty = torch.full((2, 3, 2), NAN)
    assert crop_size_from_instances(empty, min_crop_size=100, max_stride=16) == 112
    with pytest.raises(DataError, match="no instance"):
        crop_size_from_instances(empty)
    with pytest.raises(ConfigError):
        crop_size_from_instances(empty, max_stride=0)


def test_crop_offsets_round_to_whole_pixels():
    offsets = crop_offsets(torch.tensor([[5.3, 7.6], [10.0, 10.0], [2.5, 2.5]]), (4, 5))
    # x: floor(5.3 - 2 + 0.5) = 3; y: floor(7.6 - 1.5 + 0.5) = 6
    assert offsets[0].tolist() == [3.0, 6.0]
    assert offsets[1].tolist() == [8.0, 9.0]
    assert offsets[2].tolist() == [1.0, 1.0]  # halves round up
    with pytest.raises(DataError, match="NaN"):
        crop_offsets(torch.tensor([[NAN, 1.0]]), 4)


def test_crop_around_copies_pixels_and_pads_with_zeros():
    images = torch.arange(2 * 3 * 10 * 12, dtype=torch.float32).reshape(2, 3, 10, 12) + 1
    centers = torch.tensor([[5.3, 7.6], [0.0, 0.0], [11.0, 9.0]])
    batch_index = torch.tensor([1, 0, 0])
    crops, offsets = crop_around(images, centers, batch_index, (4, 5))
    assert crops.shape == (3, 3, 4, 5)
    assert offsets.tolist() == [[3.0, 6.0], [-2.0, -1.0], [9.0, 8.0]]
    assert torch.equal(crops[0], images[1, :, 6:10, 3:8])
    # Crop 1 starts at (-2, -1): its first row and first two columns lie outside the image.
    assert crops[1, :, 0].abs().sum() == 0 and crops[1, :, :, :2].abs().sum() == 0
    assert torch.equal(crops[1, :, 1:, 2:], images[0, :, 0:3, 0:3])
    # Crop 2 runs past the bottom-right corner.
    assert torch.equal(crops[2, :, :2, :3], images[0, :, 8:10, 9:12])
    assert crops[2, :, 2:].abs().sum() == 0 and crops[2, :, :, 3:].abs().sum() == 0


def test_crop_around_keeps_uint8_and_square_size():
    images = torch.randint(0, 255, (1, 1, 20, 20), dtype=torch.uint8)
    crops, _ = crop_around(images, torch.tensor([[10.0, 10.0]]), torch.tensor([0]), 8)
    assert crops.dtype == torch.uint8 and crops.shape == (1, 1, 8, 8)
    # Origin floor(10 - 3.5 + 0.5) = 7: the centre sits half a pixel left of the middle.
    assert torch.equal(crops[0], images[0, :, 7:15, 7:15])


def test_points_round_trip_and_pixel_correspondence():
    gen = torch.Generator().manual_seed(11)
    height, width = 60, 80
    images = torch.rand(3, 2, height, width, generator=gen)
    points = torch.rand(5, 4, 2, generator=gen) * torch.tensor([width - 1.0, height - 1.0])
    points[2, 1] = NAN
    batch_index = torch.tensor([0, 2, 1, 1, 0])
    centers = compute_anchors(points, anchor_index=0)
    crops, offsets = crop_around(images, centers, batch_index, (24, 32))
    in_crop = points_to_crop(points, offsets)
    back = points_from_crop(in_crop, offsets)
    finite = torch.isfinite(points)
    assert (back[finite] - points[finite]).abs().max().item() < 1e-4
    assert torch.isnan(back[2, 1]).all()
    # An integer pixel of the frame is the same pixel of the crop.
    pix = points.nan_to_num(0).round()
    pix_crop = points_to_crop(pix, offsets).long()
    for m in range(5):
        for k in range(4):
            r, c = pix_crop[m, k, 1], pix_crop[m, k, 0]
            if 0 <= r < 24 and 0 <= c < 32:
                expected = images[batch_index[m], :, pix[m, k, 1].long(), pix[m, k, 0].long()]
                assert torch.equal(crops[m, :, r, c], expected)


def test_computed_crop_size_holds_every_instance():
    gen = torch.Generator().manual_seed(5)
    points = torch.rand(40, 6, 2, generator=gen) * torch.rand(40, 1, 2, generator=gen) * 90
    points = points + torch.rand(40, 1, 2, generator=gen) * 200
    points[torch.rand(40, 6, generator=gen) < 0.2] = NAN
    for anchor_index in (None, 3):
        size = crop_size_from_instances(points, max_stride=1, anchor_index=anchor_index)
        centers = compute_anchors(points, anchor_index)
        usable = torch.isfinite(centers).all(dim=-1)
        offsets = crop_offsets(centers[usable], size)
        in_crop = points_to_crop(points[usable], offsets)
        finite = torch.isfinite(in_crop)
        assert in_crop[finite].min().item() >= -0.5
        assert in_crop[finite].max().item() <= size - 0.5


def test_crop_around_rejects_bad_indices():
    images = torch.zeros(2, 1, 8, 8)
    with pytest.raises(DataError, match="batch_index"):
        crop_around(images, torch.tensor([[1.0, 1.0]]), torch.tensor([2]), 4)
    with pytest.raises(DataError, match="batch_index"):
        crop_around(images, torch.tensor([[1.0, 1.0]]), torch.tensor([0, 1]), 4)
