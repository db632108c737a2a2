"""Loading .slp files: video path resolution, unreachable videos, merging."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
import sleap_io as sio

from posekit.errors import DataError, VideoError
from posekit.io import FrameTable, load_labels, load_training_labels
from posekit.io.slp import resolve_video_path, video_path_candidates

from .io_helpers import level, simple_labels, write_video


def _rewrite_video_path(slp: Path, new: str) -> None:
    """Replace the stored video path in videos_json (as an external tool would)."""
    import json

    with h5py.File(slp, "r+") as f:
        entries = [json.loads(s) for s in f["videos_json"][:]]
        for e in entries:
            e["backend"]["filename"] = new
        del f["videos_json"]
        f.create_dataset("videos_json", data=[json.dumps(e) for e in entries])


def _project(folder: Path, n: int = 4) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    video = sio.Video.from_filename(str(write_video(folder / "clip.avi", n)))
    labels_path = folder / "labels.slp"
    sio.save_slp(simple_labels(video, n), str(labels_path))
    _rewrite_video_path(labels_path, "clip.avi")
    return labels_path


def test_relative_video_resolves_next_to_labels_before_cwd(tmp_path: Path, monkeypatch) -> None:
    labels_path = _project(tmp_path / "proj")
    decoy_dir = tmp_path / "cwd"
    decoy_dir.mkdir()
    write_video(decoy_dir / "clip.avi", 4, height=20, width=30)  # a different clip.avi in CWD
    monkeypatch.chdir(decoy_dir)
    labels = load_labels(labels_path)
    assert Path(labels.video.filename) == (tmp_path / "proj" / "clip.avi").resolve()
    table = FrameTable.from_labels(labels)
    img = table.read_image(2)
    assert img.shape == (48, 64, 1)
    assert abs(int(img[10, 10, 0]) - level(2)) <= 2


def test_moved_project_and_windows_path_resolve_by_basename(tmp_path: Path) -> None:
    labels_path = _project(tmp_path / "proj")
    _rewrite_video_path(labels_path, r"D:\\experiments\\day1\\clip.avi")
    moved = tmp_path / "moved"
    shutil.move(tmp_path / "proj", moved)
    labels = load_labels(moved / "labels.slp")
    assert Path(labels.video.filename) == (moved / "clip.avi").resolve()
    assert labels.video.is_open


def test_unreachable_video_loads_and_fails_on_read(tmp_path: Path) -> None:
    labels_path = _project(tmp_path / "proj")
    _rewrite_video_path(labels_path, "/Users/someone/data/missing_video.avi")
    labels = load_labels(labels_path)  # no error here
    assert len(labels) == 4
    table = FrameTable.from_labels(labels)
    np.testing.assert_array_equal(table.points(1)[0], [[1, 2], [2, 3], [3, 4]])
    with pytest.raises(VideoError, match="missing_video.avi"):
        table.read_image(0)


def test_candidates_order(tmp_path: Path) -> None:
    cands = video_path_candidates("videos/a.mp4", tmp_path)
    assert cands == [tmp_path / "videos/a.mp4", Path("videos/a.mp4"), tmp_path / "a.mp4"]
    assert video_path_candidates(r"C:\data\b.mp4", tmp_path) == [tmp_path / "b.mp4"]
    assert resolve_video_path("nothing.mp4", tmp_path) is None


def test_merge_reorders_nodes_and_maps_tracks_by_name(tmp_path: Path) -> None:
    video = sio.Video.from_filename(str(write_video(tmp_path / "v.avi", 3)))
    first = simple_labels(video, 2, ["a", "b", "c"], track_names=["x", "y"])
    second = simple_labels(video, 3, ["c", "a", "b"], track_names=["y", "z"])
    sio.save_slp(first, str(tmp_path / "one.slp"))
    sio.save_slp(second, str(tmp_path / "two.slp"))
    merged = load_training_labels([tmp_path / "one.slp", tmp_path / "two.slp"])
    assert merged.skeleton.node_names == ["a", "b", "c"]
    assert [t.name for t in merged.tracks] == ["x", "y", "z"]
    assert len(merged) == 5
    table = FrameTable.from_labels(merged)
    # second file, frame 2: nodes (c, a, b) had points (2,4), (3,5), (4,6)
    np.testing.assert_array_equal(table.points(4)[0], [[3, 5], [4, 6], [2, 4]])
    assert table.track_names == ("x", "y", "z")
    assert table.inst_track.tolist() == [0, 1, 1, 2, 1]


def test_merge_with_different_nodes_names_both_files(tmp_path: Path) -> None:
    video = sio.Video.from_filename(str(write_video(tmp_path / "v.avi", 3)))
    sio.save_slp(simple_labels(video, 2, ["a", "b"]), str(tmp_path / "one.slp"))
    sio.save_slp(simple_labels(video, 2, ["a", "q"]), str(tmp_path / "two.slp"))
    with pytest.raises(DataError) as err:
        load_training_labels([tmp_path / "one.slp", tmp_path / "two.slp"])
    msg = str(err.value)
    assert "one.slp" in msg and "two.slp" in msg and "['b']" in msg and "['q']" in msg


def test_relative_labels_path_survives_chdir(tmp_path: Path, monkeypatch) -> None:
    _project(tmp_path / "proj")
    monkeypatch.chdir(tmp_path)
    labels = load_labels(Path("proj") / "labels.slp")
    monkeypatch.chdir(os.sep)
    assert FrameTable.from_labels(labels).read_image(0).shape == (48, 64, 1)
