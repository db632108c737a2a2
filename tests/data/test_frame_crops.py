"""Full-frame models trained on windows of their frames (posekit.data.frame_crops)."""

from __future__ import annotations

import numpy as np
import pytest
import sleap_io as sio
import torch

from posekit.data.datasets import FrameDataset
from posekit.data.frame_crops import (
    FrameCropDataset,
    TrainingCrops,
    points_in_window,
    usable_window,
    window_corner,
)
from posekit.data.image_store import ImageStore, measure_frame_sizes
from posekit.data.preprocessing import PreprocessingParams
from posekit.errors import ConfigError
from posekit.io.frames import FrameTable
from posekit.training.trainer import training_crops_for_config


def test_window_on_an_animal_and_anywhere():
    anchors = np.array([[100.0, 60.0], [np.nan, np.nan], [20.0, 180.0]])
    # no jitter (draws 0.5): centred on the drawn anchor, the first usable one for 0.1
    corner = window_corner((200, 300), 64, anchors, np.array([0.9, 0.1, 0.5, 0.5]), 0.2, 0.25)
    np.testing.assert_array_equal(corner, [68, 28])
    # the second usable anchor (20, 180) would leave the frame: the window is kept inside
    corner = window_corner((200, 300), 64, anchors, np.array([0.9, 0.9, 0.5, 0.5]), 0.2, 0.25)
    np.testing.assert_array_equal(corner, [0, 136])
    # jitter moves the centre by up to jitter x size: draws 1.0 -> +16 px in x and y
    corner = window_corner((200, 300), 64, anchors, np.array([0.9, 0.1, 1.0, 1.0]), 0.2, 0.25)
    np.testing.assert_array_equal(corner, [84, 44])
    # a draw under random_share, or no usable anchor: uniform over the frame
    corner = window_corner((200, 300), 64, anchors, np.array([0.1, 0.1, 1.0, 0.5]), 0.2, 0.25)
    np.testing.assert_array_equal(corner, [236, 68])
    none = np.full((2, 2), np.nan)
    corner = window_corner((200, 300), 64, none, np.array([0.9, 0.1, 0.0, 1.0]), 0.2, 0.25)
    np.testing.assert_array_equal(corner, [0, 136])


def test_points_outside_the_window_become_missing():
    points = np.array([[[10.0, 10.0], [70.0, 20.0], [-5.0, 3.0]]])
    moved = points_in_window(points, np.array([4.0, 2.0]), 64)
    np.testing.assert_allclose(moved[0, 0], [6.0, 8.0])
    assert np.isnan(moved[0, 1]).all() and np.isnan(moved[0, 2]).all()


def test_window_size_checks():
    assert usable_window(None, (256, 256), 16) is None
    assert usable_window(TrainingCrops(size=0), (256, 256), 16) is None
    assert usable_window(TrainingCrops(size=128), (256, 192), 16) == 128
    assert usable_window(TrainingCrops(size=256), (256, 192), 16) is None  # holds the frame
    with pytest.raises(ConfigError, match="multiple of the backbone's max_stride 16"):
        usable_window(TrainingCrops(size=100), (256, 256), 16)
    with pytest.raises(ConfigError, match="random_share"):
        TrainingCrops(size=64, random_share=1.5)


def test_sidecar_section_is_read_and_flags_go_over_it(tmp_path):
    config = tmp_path / "bu.yaml"
    config.write_text("{}\n")
    assert training_crops_for_config(None, config) is None
    (tmp_path / "bu.posekit.yaml").write_text("training_crops:\n  size: 96\n  jitter: 0.1\n")
    assert training_crops_for_config(None, config) == TrainingCrops(96, 0.2, 0.1)
    assert training_crops_for_config({"random_share": 0.5}, config) == TrainingCrops(96, 0.5, 0.1)


def test_samples_are_windows_of_the_frame_samples(synth_pair):
    table = FrameTable.from_labels(sio.load_slp(str(synth_pair)))
    prep = PreprocessingParams(scale=1.0, max_stride=8)
    sizes = measure_frame_sizes(table)
    store = ImageStore(table, prep, prep.plan_input_size(map(tuple, sizes)), sizes,
                       mode="torch_dataset_cache_img_memory")
    whole = FrameDataset(store)
    crops = FrameCropDataset(store, TrainingCrops(size=48, random_share=0.0, jitter=0.0))
    torch.manual_seed(0)
    on_animal = 0
    for i in range(20):
        frame, window = whole[i], crops[i]
        assert window.image.shape == (1, 48, 48)
        image = frame.image[0].numpy()
        # find the window in the frame: the points moved by the corner, the pixels equal
        pts, moved = frame.points.numpy(), window.points.numpy()
        both = np.isfinite(moved).all(-1)
        assert both.any()  # placed on an animal: some of its points are inside
        corner = (pts[both] - moved[both])[0]
        np.testing.assert_allclose(pts[both] - moved[both], np.broadcast_to(corner, (both.sum(), 2)),
                                   atol=1e-5)
        x0, y0 = (round(c) for c in corner)
        np.testing.assert_array_equal(window.image[0].numpy(), image[y0:y0 + 48, x0:x0 + 48])
        shifted = pts - np.array([x0, y0])
        inside = ((shifted >= -0.5) & (shifted <= 47.5)).all(-1)
        labelled = np.isfinite(pts).all(-1)
        assert not np.isfinite(moved[labelled & ~inside]).any()  # outside: missing
        assert np.isfinite(moved[labelled & inside]).all()  # inside: kept
        on_animal += int(both.any())
        assert torch.equal(window.classes, frame.classes)
    assert on_animal == 20
