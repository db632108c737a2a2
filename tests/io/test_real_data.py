"""posekit.io on the real datasets of ../shared/data (counts from README.md / manifest.json)."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from posekit.io import FrameTable, inspect_labels, load_labels, open_frame_source
from posekit.io.dlc_table import read_dlc_table

REACHING_PARTS = ["Hand", "Finger1", "Tongue", "Joystick1", "Joystick2"]
CLIP_MISSING = {
    "forelegR4": 251,
    "forelegL4": 115,
    "midlegL4": 81,
    "hindlegL4": 53,
    "hindlegR4": 52,
    "eyeL": 37,
    "eyeR": 32,
    "midlegR4": 16,
}


def _facts(shared_data: Path) -> dict[str, dict]:
    manifest = json.loads((shared_data / "manifest.json").read_text())
    return {f["path"]: f.get("facts", {}) for f in manifest["files"]}


def _by_frame(labels) -> dict[int, np.ndarray]:
    return {
        lf.frame_idx: np.stack([i.numpy() for i in lf.instances]) for lf in labels.labeled_frames
    }


@pytest.mark.parametrize(
    "name",
    [
        "reaching.pkg.slp",
        "clip.slp",
        "clip_subset.pkg.slp",
        "centered_pair_predictions.slp",
        "minimal_instance.pkg.slp",
        "small_robot_minimal.slp",
    ],
)
def test_slp_counts_match_manifest(
    shared_data: Path, name: str, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)  # an unrelated working directory
    facts = _facts(shared_data)[name]
    labels = load_labels(shared_data / name)
    user = sum(len(lf.user_instances) for lf in labels.labeled_frames)
    predicted = sum(len(lf.predicted_instances) for lf in labels.labeled_frames)
    assert len(labels) == facts["n_labeled_frames"]
    assert (user, predicted) == (facts["n_user_instances"], facts["n_predicted_instances"])
    assert labels.skeleton.node_names == facts["nodes"]
    assert [t.name for t in labels.tracks] == facts["track_names"]
    for video in labels.videos:  # every video resolved inside the shared folder
        assert video.is_open and str(shared_data.resolve()) in str(video.filename)


def test_dlc_project_matches_package(shared_data: Path) -> None:
    labels = load_labels(shared_data / "dlc_reaching")
    assert len(labels) == 55 and labels.skeleton.node_names == REACHING_PARTS
    assert labels.skeleton.edge_inds == [(0, 1), (3, 4)]
    table = FrameTable.from_labels(labels)
    visible = (~np.isnan(table.inst_points[..., 0])).sum(axis=0)
    assert visible.tolist() == [54, 54, 15, 55, 55]
    package = load_labels(shared_data / "reaching.pkg.slp")
    ours, theirs = _by_frame(labels), _by_frame(package)
    assert sorted(ours) == sorted(theirs) == list(range(55))
    for fi in ours:
        np.testing.assert_array_equal(ours[fi], theirs[fi])
    files = package.provenance["dlc_frame_files"]["0"]
    assert [f.split("dlc_reaching/")[1] for f in files] == labels.provenance["dlc_frame_files"]["0"]
    folder = shared_data / "dlc_reaching" / "labeled-data" / "reachingvideo1"
    csv, h5 = (
        read_dlc_table(folder / "CollectedData_Mackenzie.csv"),
        read_dlc_table(folder / "CollectedData_Mackenzie.h5"),
    )
    assert csv.image_paths == h5.image_paths
    np.testing.assert_array_equal(csv.xy, h5.xy)


def test_dlc_image_sizes_per_frame_and_moved_copy(shared_data: Path, tmp_path: Path) -> None:
    copy = tmp_path / "moved" / "reaching_copy"
    shutil.copytree(shared_data / "dlc_reaching", copy)
    table = FrameTable.from_labels(load_labels(copy))
    package = FrameTable.from_labels(load_labels(shared_data / "reaching.pkg.slp"))
    sizes = Counter()
    for i in range(len(table)):
        img = table.read_image(i)
        sizes[f"{img.shape[1]}x{img.shape[0]}x{img.shape[2]}"] += 1
        if i % 11 == 0:  # the package holds the same PNG pixels
            np.testing.assert_array_equal(img, package.read_image(i))
    assert sizes == {"832x747x3": 40, "640x470x3": 15}


def test_reaching_package_sizes_via_inspect(shared_data: Path) -> None:
    summary = inspect_labels(shared_data / "reaching.pkg.slp")
    assert summary.videos[0].image_sizes == {"832x747": 40, "640x470": 15}
    assert summary.problems == () and summary.images_embedded == "all"


def test_clip_tracks_missing_points_and_subset(shared_data: Path) -> None:
    clip = load_labels(shared_data / "clip.slp")
    table = FrameTable.from_labels(clip)
    assert len(table) == 1500 and table.inst_points.shape == (3000, 13, 2)
    assert table.track_names == ("female", "male") and (table.inst_track >= 0).all()
    missing = np.isnan(table.inst_points[..., 0]).sum(axis=0)
    got = {n: int(m) for n, m in zip(table.node_names, missing, strict=True) if m}
    assert got == CLIP_MISSING
    subset = load_labels(shared_data / "clip_subset.pkg.slp")
    full, part = _by_frame(clip), _by_frame(subset)
    assert sorted(part) == list(range(0, 1500, 40))
    for fi, pts in part.items():  # same points, instance order may differ: compare as sets
        assert sorted(map(tuple, np.nan_to_num(pts, nan=-1).reshape(2, -1))) == sorted(
            map(tuple, np.nan_to_num(full[fi], nan=-1).reshape(2, -1))
        )
    sub_table = FrameTable.from_labels(subset)
    img = sub_table.read_image(1)
    assert img.shape == (1024, 1024, 1) and img.dtype == np.uint8


def test_predictions_only_file(shared_data: Path) -> None:
    labels = load_labels(shared_data / "centered_pair_predictions.slp")
    assert len(FrameTable.from_labels(labels)) == 0
    table = FrameTable.from_labels(labels, user_instances_only=False)
    assert len(table) == 1100 and len(table.inst_points) == 2274
    assert not table.inst_is_user.any() and len(table.track_names) == 27
    assert table.max_instances == 5


def test_small_robot_video_resolves_rgb(shared_data: Path) -> None:
    labels = load_labels(shared_data / "small_robot_minimal.slp")
    table = FrameTable.from_labels(labels)
    assert table.keys[:, 1].tolist() == [0, 79]
    assert table.read_image(1).shape == (320, 560, 3)


def test_stream_centered_pair_video(shared_data: Path) -> None:
    video = shared_data / "centered_pair_low_quality.mp4"
    source = open_frame_source(video, batch_size=32)
    assert len(source) == 1100
    count, first = 0, None
    for frame_indices, images, *_ in source:
        assert images.shape[1:] == (384, 384, 1)
        assert frame_indices.tolist() == list(range(count, count + len(frame_indices)))
        first = images[0] if first is None else first
        count += len(frame_indices)
    assert count == 1100 and source.skipped == []
    # minimal_instance.pkg.slp embeds frame 0 of this video (decoded by another decoder).
    embedded = FrameTable.from_labels(
        load_labels(shared_data / "minimal_instance.pkg.slp")
    ).read_image(0)
    assert np.abs(first.astype(int) - embedded.astype(int)).max() <= 2
    ranged = open_frame_source(video, frames="10,20,1000-1009", batch_size=4)
    got = [int(i) for fi, *_ in ranged for i in fi]
    assert got == [10, 20, *range(1000, 1010)]


def test_stream_clip_matches_embedded_subset(shared_data: Path) -> None:
    source = open_frame_source(shared_data / "clip.mp4", frames=[0, 40, 1480], batch_size=8)
    frames = {int(i): img for fi, imgs, *_ in source for i, img in zip(fi, imgs, strict=True)}
    subset = FrameTable.from_labels(load_labels(shared_data / "clip_subset.pkg.slp"))
    for row, fi in enumerate(subset.keys[:, 1].tolist()):
        if fi in frames:
            np.testing.assert_array_equal(frames[fi], subset.read_image(row))
    assert sorted(frames) == [0, 40, 1480]


def test_unreachable_video_paths_in_legacy_labels(shared_data: Path) -> None:
    from posekit.errors import VideoError

    files = sorted((shared_data / "legacy_sleap_models").glob("*/labels_*.slp"))
    assert files
    for path in files:  # stored paths: repo-relative or D:/... Windows paths, none resolvable
        labels = load_labels(path)
        table = FrameTable.from_labels(labels, user_instances_only=False)
        assert len(table) == len(labels) == 1
        kinds = [p.kind for p in inspect_labels(path).problems]
        assert kinds == ["video_unavailable"]
        with pytest.raises(VideoError, match=Path(str(labels.video.filename)).name):
            table.read_image(0)


def test_real_files_need_no_repair(shared_data: Path) -> None:
    """The messy-file checks find nothing to repair or refuse in well-formed real files."""
    import warnings

    from posekit.io.repairs import LabelsRepairWarning, repairs_of

    names = [
        f["path"].rstrip("/")
        for f in json.loads((shared_data / "manifest.json").read_text())["files"]
    ]
    paths = [shared_data / n for n in names if n.endswith(".slp") or n == "dlc_reaching"]
    paths += sorted((shared_data / "legacy_sleap_models").glob("*/labels_*.slp"))
    assert len(paths) >= 8
    with warnings.catch_warnings():
        warnings.simplefilter("error", LabelsRepairWarning)
        for path in paths:
            assert repairs_of(load_labels(path)) == [], path
    for suffix in ("csv", "h5"):
        table = read_dlc_table(
            shared_data
            / f"dlc_reaching/labeled-data/reachingvideo1/CollectedData_Mackenzie.{suffix}"
        )
        assert table.repairs == [] and not table.is_machine_labels
