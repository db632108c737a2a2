"""Optical-flow shifting: a large uniform motion that defeats plain matching."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from posekit.errors import DataError
from posekit.tracking import Tracker, TrackingConfig
from posekit.tracking.flow import flow_shift, to_gray

H, W = 200, 400
SHAPE = np.array([[-15, -10], [15, -10], [0, 0], [-15, 10], [15, 10]], dtype=np.float64)
SPACING, SHIFT = 45, 30  # animals 45 px apart; the whole scene moves 30 px between frames


@pytest.fixture(scope="module")
def world() -> np.ndarray:
    """A textured arena wider than the view; animals are textured patches on it."""
    rng = np.random.default_rng(0)
    noise = cv2.GaussianBlur(rng.random((H, W + 200)).astype(np.float32), (0, 0), 4)
    noise = (noise - noise.min()) / (noise.max() - noise.min())
    return (40 + 170 * noise).astype(np.uint8)


def view(world: np.ndarray, offset: int) -> np.ndarray:
    """The camera view after the scene moved ``offset`` px to the right."""
    return np.ascontiguousarray(world[:, 100 - offset : 100 - offset + W])


def poses(x0: float) -> np.ndarray:
    return np.stack([SHAPE + [x0, 100.0], SHAPE + [x0 + SPACING, 100.0]])


def test_flow_shift_follows_the_motion(world: np.ndarray) -> None:
    moved = flow_shift(poses(150), view(world, 0), view(world, SHIFT))
    np.testing.assert_allclose(moved, poses(150 + SHIFT), atol=0.05)
    # Missing nodes stay missing; the others still move.
    pts = poses(150)
    pts[0, 1] = np.nan
    moved = flow_shift(pts, view(world, 0), view(world, SHIFT))
    assert np.isnan(moved[0, 1]).all()
    np.testing.assert_allclose(moved[0, 0], pts[0, 0] + [SHIFT, 0], atol=0.05)


def test_untrackable_nodes_move_with_the_rest_of_their_instance(world: np.ndarray) -> None:
    prev = view(world, 0).copy()
    cur = view(world, SHIFT).copy()
    prev[:, :100] = 128  # flat: the flow cannot lock onto nodes here
    cur[:, :130] = 128
    pts = poses(150)
    pts[0, 0] = [60.0, 100.0]  # one node of animal 0 sits on the flat area
    moved = flow_shift(pts, prev, cur)
    np.testing.assert_allclose(moved[0, 0], [60.0 + SHIFT, 100.0], atol=0.05)


@pytest.mark.parametrize("similarity", ["oks", "centroid", "iou"])
def test_flow_fixes_matching_after_a_large_fast_motion(world: np.ndarray, similarity: str) -> None:
    frames = [
        (0, poses(150), None, view(world, 0)),
        (1, poses(150 + SHIFT), None, view(world, SHIFT)),
    ]
    plain = Tracker(TrackingConfig(similarity=similarity)).track_video(frames)
    # Animal 0 lands 15 px from where animal 1 was and 30 px from its own old place:
    # without flow it is taken for animal 1 (centroid, IoU) or matches nothing (OKS).
    assert plain[1].tolist() != [0, 1]
    flowed = Tracker(TrackingConfig(similarity=similarity, optical_flow=True)).track_video(frames)
    assert flowed[1].tolist() == [0, 1]


def test_an_unmatched_track_keeps_moving_with_the_flow(world: np.ndarray) -> None:
    # Animal 1 is missed on frame 1; its candidate is still carried 30 px by the flow, so
    # on frame 2 (60 px from where it was last seen) it is matched again.
    tracker = Tracker(TrackingConfig(similarity="centroid", optical_flow=True))
    assert tracker.update(0, poses(150), None, view(world, 0)).tolist() == [0, 1]
    assert tracker.update(1, poses(150 + SHIFT)[:1], None, view(world, SHIFT)).tolist() == [0]
    ids = tracker.update(2, poses(150 + 2 * SHIFT), None, view(world, 2 * SHIFT))
    assert ids.tolist() == [0, 1]
    np.testing.assert_allclose(tracker.tracking_scores, 1.0, atol=1e-3)


def test_to_gray_accepts_common_layouts() -> None:
    rgb = np.zeros((4, 5, 3), np.uint8)
    rgb[..., 1] = 200
    assert to_gray(rgb, 0).shape == (4, 5)
    assert to_gray(rgb, 0)[0, 0] == round(0.587 * 200)
    assert to_gray(np.full((4, 5, 1), 7, np.uint8), 0)[0, 0] == 7
    assert to_gray(np.full((4, 5), 0.5, np.float32), 0)[0, 0] == 128
    with pytest.raises(DataError, match="frame 3: image of shape"):
        to_gray(np.zeros((4, 5, 2)), 3)


def test_image_size_must_not_change(world: np.ndarray) -> None:
    tracker = Tracker(TrackingConfig(optical_flow=True))
    tracker.update(0, poses(150), None, view(world, 0))
    with pytest.raises(DataError, match="image size"):
        tracker.update(1, poses(150), None, view(world, 0)[:100])
