"""Train/validation splits and sleap-nn's loading rule."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import sleap_io as sio

from posekit.errors import ConfigError, DataError
from posekit.io import load_labels, load_test_labels, load_train_val, save_labels, split_labels

from .io_helpers import simple_labels, snapshot, tiny_labels, write_video


@pytest.fixture
def video(tmp_path: Path) -> sio.Video:
    return sio.Video.from_filename(str(write_video(tmp_path / "v.avi", 30)))


def _frame_ids(labels: sio.Labels) -> list[int]:
    return sorted(lf.frame_idx for lf in labels.labeled_frames)


def test_split_is_seeded_disjoint_and_complete(video: sio.Video) -> None:
    labels = simple_labels(video, 20, track_names=["p", "q", "r"])
    train, val = split_labels(labels, 0.25, seed=7)
    again_train, again_val = split_labels(labels, 0.25, seed=7)
    _other_train, other_val = split_labels(labels, 0.25, seed=8)
    assert _frame_ids(val) == _frame_ids(again_val) and _frame_ids(train) == _frame_ids(again_train)
    assert _frame_ids(val) != _frame_ids(other_val)
    assert len(val) == 5 and len(train) == 15
    assert sorted(_frame_ids(train) + _frame_ids(val)) == list(range(20))
    # Both parts keep the whole track list, so identity indices agree between them.
    assert [t.name for t in val.tracks] == ["p", "q", "r"] == [t.name for t in train.tracks]


@pytest.mark.parametrize(
    ("n", "fraction", "n_val"), [(2, 0.1, 1), (2, 0.9, 1), (3, 0.5, 2), (10, 0.04, 1)]
)
def test_split_keeps_one_frame_each_side(
    video: sio.Video, n: int, fraction: float, n_val: int
) -> None:
    train, val = split_labels(simple_labels(video, n), fraction, seed=0)
    assert len(val) == n_val and len(train) == n - n_val


def test_split_errors(video: sio.Video) -> None:
    with pytest.raises(DataError, match="at least 2"):
        split_labels(simple_labels(video, 1), 0.1, seed=0)
    with pytest.raises(ConfigError, match="validation_fraction"):
        split_labels(simple_labels(video, 5), 1.0, seed=0)


def test_splits_save_as_slp(video: sio.Video, tmp_path: Path) -> None:
    train, val = split_labels(simple_labels(video, 6), 0.5, seed=1)
    save_labels(train, tmp_path / "train.slp")
    save_labels(val, tmp_path / "val.slp")
    assert _frame_ids(load_labels(tmp_path / "train.slp")) == _frame_ids(train)
    assert _frame_ids(load_labels(tmp_path / "val.slp")) == _frame_ids(val)


def test_load_train_val_fraction_and_user_only(video: sio.Video, tmp_path: Path) -> None:
    path = tmp_path / "tiny.slp"
    save_labels(tiny_labels(video), path)
    train, val = load_train_val([path], None, validation_fraction=0.3, seed=3)
    # frames with user instances: 0, 3, 7, 9 (frame 5 has predictions only)
    assert sorted(_frame_ids(train) + _frame_ids(val)) == [0, 3, 7, 9]
    assert len(val) == 1
    assert all(type(i) is sio.Instance for lf in train.labeled_frames for i in lf.instances)
    train_all, val_all = load_train_val(path, None, 0.3, seed=3, user_instances_only=False)
    assert len(train_all) + len(val_all) == 5


def test_load_train_val_with_val_file(video: sio.Video, tmp_path: Path) -> None:
    save_labels(simple_labels(video, 6, track_names=["p"]), tmp_path / "train.slp")
    save_labels(
        simple_labels(video, 2, ["c", "b", "a"], track_names=["p", "new"]), tmp_path / "val.slp"
    )
    train, val = load_train_val(tmp_path / "train.slp", tmp_path / "val.slp", 0.5, seed=0)
    assert len(train) == 6 and len(val) == 2
    assert val.skeleton is train.skeleton
    assert [t.name for t in train.tracks] == ["p", "new"]
    assert val.labeled_frames[0].instances[0].track is train.tracks[0]
    # val frame 1 had (c, a, b) = (1,2), (2,3), (3,4) -> in train order (a, b, c)
    np.testing.assert_array_equal(
        val.labeled_frames[1].instances[0].numpy(), [[3, 4], [2, 3], [1, 2]]
    )


def test_train_and_val_with_different_skeletons(video: sio.Video, tmp_path: Path) -> None:
    save_labels(simple_labels(video, 4, ["a", "b"]), tmp_path / "train.slp")
    save_labels(simple_labels(video, 2, ["a", "x"]), tmp_path / "val.slp")
    before = snapshot(tmp_path)
    with pytest.raises(DataError) as err:
        load_train_val(tmp_path / "train.slp", tmp_path / "val.slp")
    msg = str(err.value)
    assert "train.slp" in msg and "val.slp" in msg and "['b']" in msg and "['x']" in msg
    assert snapshot(tmp_path) == before


def test_no_user_frames_and_single_frame_errors(video: sio.Video, tmp_path: Path) -> None:
    only_pred = tiny_labels(video)
    only_pred.labeled_frames = [lf for lf in only_pred.labeled_frames if lf.frame_idx == 5]
    save_labels(only_pred, tmp_path / "pred.slp")
    with pytest.raises(DataError, match="no labelled frames with user instances"):
        load_train_val(tmp_path / "pred.slp")
    save_labels(simple_labels(video, 1), tmp_path / "one.slp")
    with pytest.raises(DataError, match="val_labels_path"):
        load_train_val(tmp_path / "one.slp")


def test_load_test_labels(video: sio.Video, tmp_path: Path) -> None:
    save_labels(simple_labels(video, 3), tmp_path / "test.slp")
    assert len(load_test_labels(tmp_path / "test.slp")) == 3
    with pytest.raises(DataError, match="is a video"):
        load_test_labels(tmp_path / "v.avi")
