"""Malformed ``.slp`` / ``.pkg.slp`` files: a specific DataError, or a reported repair.

Each test damages a small file that sleap-io wrote (as a crash, a partial copy or another
tool would) and checks the message (file, what was found, what was expected), or the
repaired points. (Missing files, text/PNG renamed to .slp and a cut-off file are in
test_bad_input.py.)
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import sleap_io as sio

from posekit.errors import DataError
from posekit.io import FrameTable, load_labels, load_train_val, load_training_labels
from posekit.io.repairs import repairs_of

from .io_helpers import refused, repaired, simple_labels, snapshot, write_video

NAN = np.nan


def _labels_file(tmp_path: Path, n: int = 3, **save: object) -> Path:
    """``labels.slp`` (or ``.pkg.slp`` with ``embed``) with one instance per frame 0..n-1."""
    video = sio.Video.from_filename(str(write_video(tmp_path / "v.avi", max(n, 3))))
    name = "labels.pkg.slp" if save.get("embed") else "labels.slp"
    path = tmp_path / name
    sio.save_slp(simple_labels(video, n), str(path), **save)
    return path


def _edit(path: Path, edit) -> Path:
    """Apply ``edit(h5py.File)`` to the file in place (builds the damaged input)."""
    with h5py.File(path, "r+") as f:
        edit(f)
    return path


def _set_field(dataset: str, field: str, row: int, value: int):
    def edit(f: h5py.File) -> None:
        data = f[dataset][:]
        data[field][row] = value
        f[dataset][:] = data

    return edit


# --- not a (complete) SLEAP file ---------------------------------------------------------


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "empty.slp").write_bytes(b"")
    refused(tmp_path / "empty.slp", "empty.slp: is empty (0 bytes)")


def test_damaged_hdf5_superblock(tmp_path: Path) -> None:
    path = _labels_file(tmp_path)
    data = bytearray(path.read_bytes())
    data[8:200] = bytes(b ^ 0xFF for b in data[8:200])
    path.write_bytes(bytes(data))
    refused(path, "labels.slp: is a damaged HDF5 file", "expected a complete SLEAP labels file")


def test_deeplabcut_h5_renamed_to_slp(tmp_path: Path) -> None:
    cols = pd.MultiIndex.from_tuples([("T", "head", "x"), ("T", "head", "y")])
    pd.DataFrame([[1.0, 2.0]], columns=cols, index=["a.png"]).to_hdf(
        tmp_path / "table.slp", key="df_with_missing", mode="w"
    )
    refused(
        tmp_path / "table.slp",
        "is an HDF5 file without the SLEAP datasets",
        "a DeepLabCut CollectedData / machinelabels .h5?",
    )


def test_analysis_h5_renamed_to_slp(tmp_path: Path) -> None:
    with h5py.File(tmp_path / "analysis.slp", "w") as f:
        f["tracks"] = np.zeros((1, 2, 3, 4))
        f["node_names"] = [b"a", b"b", b"c"]
    refused(tmp_path / "analysis.slp", "It is a SLEAP analysis export")


@pytest.mark.parametrize("dataset", ["points", "frames", "videos_json"])
def test_missing_sleap_dataset(tmp_path: Path, dataset: str) -> None:
    path = _edit(_labels_file(tmp_path), lambda f: f.__delitem__(dataset))
    refused(path, f"the SLEAP datasets ['{dataset}'] are missing", "The file is damaged")


def test_metadata_without_json(tmp_path: Path) -> None:
    path = _edit(_labels_file(tmp_path), lambda f: f["metadata"].attrs.__delitem__("json"))
    refused(path, "the 'metadata' group has no 'json' attribute")


# --- inconsistent tables (sleap-io raises a bare IndexError / ValueError) ----------------


@pytest.mark.parametrize(
    ("field", "row", "value", "problem"),
    [
        (
            "skeleton",
            1,
            3,
            "instance 1 (video 0, frame_idx 1) uses skeleton 3, but the file defines 1",
        ),
        (
            "track",
            2,
            5,
            "instance 2 (video 0, frame_idx 2) belongs to track 5, but the file defines 0",
        ),
        (
            "point_id_end",
            1,
            5,
            "instance 1 (video 0, frame_idx 1) has 2 points, but its skeleton 'simple' has 3 nodes",
        ),
    ],
    ids=["unknown skeleton", "unknown track", "points disagree with skeleton"],
)
def test_inconsistent_instance(
    tmp_path: Path, field: str, row: int, value: int, problem: str
) -> None:
    path = _edit(_labels_file(tmp_path), _set_field("instances", field, row, value))
    refused(path, "labels.slp: " + problem, "(sleap-io: ")


def test_frame_with_unknown_video(tmp_path: Path) -> None:
    path = _edit(_labels_file(tmp_path), _set_field("frames", "video", 0, 4))
    refused(path, "its frames refer to videos [0, 4], but it defines 1")


# --- empty labels ------------------------------------------------------------------------


def test_labels_file_without_frames(tmp_path: Path) -> None:
    sio.save_slp(sio.Labels(), str(tmp_path / "none.slp"))
    assert len(load_labels(tmp_path / "none.slp")) == 0  # a valid, empty file
    before = snapshot(tmp_path)
    with pytest.raises(DataError, match=r"none\.slp: holds no labelled frames"):
        load_training_labels([tmp_path / "none.slp"])
    with pytest.raises(DataError, match=r"none\.slp: holds no labelled frames"):
        load_train_val([tmp_path / "none.slp"])
    assert snapshot(tmp_path) == before


# --- skeletons ---------------------------------------------------------------------------


def _two_skeletons(tmp_path: Path, second_nodes: list[str], unused: bool = False) -> Path:
    video = sio.Video.from_filename(str(write_video(tmp_path / "v.avi", 3)))
    one = sio.Skeleton(["a", "b", "c"], edges=[("a", "b")], name="one")
    two = sio.Skeleton(second_nodes, name="two")
    pts_one = np.array([[1.0, 1], [2, 2], [3, 3]])
    pts_two = np.array([[30.0, 30], [10, 10], [20, 20]])  # in the order of second_nodes
    frames = [
        sio.LabeledFrame(
            video=video, frame_idx=0, instances=[sio.Instance.from_numpy(pts_one, skeleton=one)]
        ),
        sio.LabeledFrame(
            video=video,
            frame_idx=1,
            instances=[sio.Instance.from_numpy(pts_two, skeleton=one if unused else two)],
        ),
    ]
    path = tmp_path / "two.slp"
    sio.save_slp(sio.Labels(frames, videos=[video], skeletons=[one, two]), str(path))
    return path


def test_instances_on_skeletons_with_different_nodes(tmp_path: Path) -> None:
    refused(
        _two_skeletons(tmp_path, ["a", "b", "q"]),
        "two.slp: instances use different skeletons: 'one' (1 instances) and 'two' "
        "(1 instances) (nodes only in 'one': ['c']; only in 'two': ['q'])",
    )


def test_same_nodes_in_another_order_are_merged(tmp_path: Path) -> None:
    labels = repaired(
        _two_skeletons(tmp_path, ["c", "a", "b"]),
        "1 instances use skeleton 'two', which has the same nodes as 'one'",
        "points matched by node name, its other edges ignored",
    )
    assert labels.skeletons == [labels.skeleton] and labels.skeleton.name == "one"
    table = FrameTable.from_labels(labels)
    np.testing.assert_array_equal(table.points(1)[0], [[10, 10], [20, 20], [30, 30]])
    np.testing.assert_array_equal(table.points(0)[0], [[1, 1], [2, 2], [3, 3]])


def test_unused_skeleton_is_dropped(tmp_path: Path) -> None:
    labels = repaired(
        _two_skeletons(tmp_path, ["x", "y", "z"], unused=True),
        "skeletons ['two'] are used by no instance and were dropped",
    )
    assert [s.name for s in labels.skeletons] == ["one"]
    assert len(repairs_of(labels)) == 1


def test_repairs_survive_merging_and_saving(tmp_path: Path) -> None:
    path = _two_skeletons(tmp_path, ["c", "a", "b"])
    with pytest.warns(UserWarning, match="same nodes"):
        merged = load_training_labels([path, path])
    assert sum("same nodes" in m for m in repairs_of(merged)) == 1  # one file, one message
    sio.save_slp(merged, str(tmp_path / "merged.slp"))
    back = sio.load_slp(str(tmp_path / "merged.slp"), open_videos=False)
    assert repairs_of(back) == repairs_of(merged)


# --- packages (.pkg.slp) -----------------------------------------------------------------


def test_package_without_its_images(tmp_path: Path) -> None:
    path = _edit(_labels_file(tmp_path, embed="user"), lambda f: f.__delitem__("video0/video"))
    refused(
        path,
        "labels.pkg.slp: the embedded images of video 0 ('video0/video') are missing "
        "(3 user-labelled frames need them)",
        "load the .slp that references the original video",
    )


def test_package_without_frame_numbers(tmp_path: Path) -> None:
    path = _labels_file(tmp_path, embed="user")
    _edit(path, lambda f: f.__delitem__("video0/frame_numbers"))
    refused(path, "'video0/frame_numbers' is missing, so the 3 embedded images of video 0")


def test_package_missing_some_images(tmp_path: Path) -> None:
    path = _labels_file(tmp_path, embed="user")
    _edit(path, lambda f: f["video0/frame_numbers"].__setitem__(1, 7))
    refused(path, "1 of 3 user-labelled frames of video 0 have no embedded image", "[1]")


def test_package_of_user_frames_keeps_prediction_only_frames(tmp_path: Path) -> None:
    """sleap-io's ``embed="user"`` packages legitimately lack prediction-only images."""
    video = sio.Video.from_filename(str(write_video(tmp_path / "v.avi", 4)))
    labels = simple_labels(video, 2)
    skeleton = labels.skeleton
    pred = sio.PredictedInstance.from_numpy(
        np.array([[5.0, 6], [7, 8], [9, 9]]), skeleton=skeleton, point_scores=np.ones(3), score=1
    )
    labels.append(sio.LabeledFrame(video=video, frame_idx=3, instances=[pred]))
    sio.save_slp(labels, str(tmp_path / "p.pkg.slp"), embed="user")
    loaded = load_labels(tmp_path / "p.pkg.slp")
    assert len(loaded) == 3 and repairs_of(loaded) == []
    with h5py.File(tmp_path / "p.pkg.slp") as f:
        assert json.loads(f["videos_json"][0])["backend"]["dataset"] == "video0/video"
    table = FrameTable.from_labels(loaded)
    assert table.read_image(1).shape == (48, 64, 1)
