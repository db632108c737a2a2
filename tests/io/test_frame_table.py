"""FrameTable: arrays, instance selection, node order, pickling and image decoding."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import sleap_io as sio

from posekit.errors import DataError
from posekit.io import FrameTable, save_labels

from .io_helpers import level, tiny_labels, write_video

NAN = np.nan


@pytest.fixture
def labels(tmp_path: Path) -> sio.Labels:
    return tiny_labels(sio.Video.from_filename(str(write_video(tmp_path / "v.avi", 12))))


def test_user_instances_only(labels: sio.Labels) -> None:
    table = FrameTable.from_labels(labels)
    # frame 5 (predicted only) is not a training frame; frame 7 (all NaN) is dropped.
    assert table.keys.tolist() == [[0, 0], [0, 3], [0, 9]]
    assert table.instance_counts.tolist() == [2, 1, 1]
    assert table.n_dropped_all_nan == 1 and table.n_dropped_instances == 1
    assert table.points(0).dtype == np.float32 and table.points(0).shape == (2, 3, 2)
    np.testing.assert_array_equal(
        table.points(0), [[[1, 2], [3, 4], [NAN, NAN]], [[10, 11], [12, 13], [14, 15]]]
    )
    np.testing.assert_array_equal(table.points(1), [[[5, 5], [6, 6], [7, 7]]])
    assert table.track_idx(0).tolist() == [0, 1] and table.track_idx(1).tolist() == [-1]
    assert table.inst_is_user.all()
    assert table.track_names == ("t1", "t2") and table.node_names == ("a", "b", "c")
    assert table.edges == ((0, 1), (1, 2)) and table.max_instances == 2


def test_predictions_included_without_double_counting(labels: sio.Labels) -> None:
    table = FrameTable.from_labels(labels, user_instances_only=False)
    assert table.keys[:, 1].tolist() == [0, 3, 5, 9]
    # frame 3: the user instance replaced its prediction (from_predicted) -> one instance.
    assert table.instance_counts.tolist() == [2, 1, 1, 1]
    record = table[2]
    assert record.frame_idx == 5 and record.is_user.tolist() == [False]
    assert record.track_idx.tolist() == [0]
    np.testing.assert_array_equal(record.points, [[[20, 21], [22, 23], [24, 25]]])


def test_part_names_reorder_and_subset(labels: sio.Labels) -> None:
    table = FrameTable.from_labels(labels, part_names=["c", "a"])
    np.testing.assert_array_equal(table.points(0)[1], [[14, 15], [10, 11]])
    assert table.node_names == ("c", "a") and table.edges == ()
    with pytest.raises(DataError, match="zz"):
        FrameTable.from_labels(labels, part_names=["a", "zz"])


def test_pickle_and_read_image(labels: sio.Labels) -> None:
    table = FrameTable.from_labels(labels)
    img = table.read_image(1)  # opens a decoder; pickling must drop it
    clone = pickle.loads(pickle.dumps(table))
    assert img.dtype == np.uint8 and img.shape == (48, 64, 1)
    assert abs(int(img[5, 5, 0]) - level(3)) <= 2
    np.testing.assert_array_equal(clone.read_image(1), img)
    np.testing.assert_array_equal(clone.inst_points, table.inst_points, strict=True)
    assert clone.skeleton.node_names == ["a", "b", "c"]


def test_subset(labels: sio.Labels) -> None:
    table = FrameTable.from_labels(labels)
    sub = table.subset([2, 0])
    assert sub.keys[:, 1].tolist() == [9, 0]
    assert sub.instance_counts.tolist() == [1, 2]
    np.testing.assert_array_equal(sub.points(1), table.points(0))
    with pytest.raises(IndexError):
        sub.points(2)


def test_embedded_frames_read_back(labels: sio.Labels, tmp_path: Path) -> None:
    pkg = tmp_path / "tiny.pkg.slp"
    save_labels(labels, pkg, embed="user")
    from posekit.io import load_labels

    table = FrameTable.from_labels(load_labels(pkg))
    direct = FrameTable.from_labels(labels)
    for i in range(len(table)):
        np.testing.assert_array_equal(table.read_image(i), direct.read_image(i))
    assert table.videos[0].embedded
