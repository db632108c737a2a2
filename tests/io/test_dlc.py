"""DeepLabCut project import on small hand-made projects."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from posekit.errors import DataError
from posekit.io import FrameTable, load_labels
from posekit.io.dlc_table import read_dlc_table

from .io_helpers import points_by_frame, snapshot, write_dlc_project, write_png

ROWS = {
    "img1.png": {"head": (1.0, 2.0), "tail": (3.0, 4.0)},
    "img10.png": {"mid": (5.0, 6.0)},
    "img2.png": {"head": (7.5, 8.25), "mid": (9.0, 10.0), "tail": (11.0, 12.0)},
}
# Natural order of the image names: img1, img2, img10 -> frame indices 0, 1, 2.
EXPECTED = np.array(
    [
        [[1, 2], [3, 4], [np.nan, np.nan]],
        [[7.5, 8.25], [11, 12], [9, 10]],
        [[np.nan, np.nan], [np.nan, np.nan], [5, 6]],
    ]
)


@pytest.mark.parametrize("three_columns", [False, True])
def test_csv_nodes_follow_config_order(tmp_path: Path, three_columns: bool) -> None:
    root = write_dlc_project(
        tmp_path / "proj",
        ["head", "tail", "mid"],
        ROWS,
        header_order=["tail", "mid", "head"],
        three_column_index=three_columns,
        skeleton=[["head", "tail"], ["tail", "mid"]],
    )
    labels = load_labels(root)
    assert labels.skeleton.node_names == ["head", "tail", "mid"]
    assert labels.skeleton.edge_inds == [(0, 1), (1, 2)]
    np.testing.assert_array_equal(points_by_frame(labels), EXPECTED)
    assert labels.provenance["dlc_frame_files"]["0"] == [
        "labeled-data/vid/img1.png",
        "labeled-data/vid/img2.png",
        "labeled-data/vid/img10.png",
    ]
    assert not labels.tracks


def test_config_yaml_path_and_collected_data_path_load_the_same(tmp_path: Path) -> None:
    root = write_dlc_project(tmp_path / "proj", ["head", "tail", "mid"], ROWS)
    a = points_by_frame(load_labels(root / "config.yaml"))
    b = points_by_frame(load_labels(root / "labeled-data" / "vid" / "CollectedData_Tester.csv"))
    np.testing.assert_array_equal(a, EXPECTED)
    np.testing.assert_array_equal(b, EXPECTED)


def test_h5_preferred_over_csv(tmp_path: Path) -> None:
    root = write_dlc_project(tmp_path / "proj", ["head", "tail", "mid"], ROWS, write_h5=True)
    csv = root / "labeled-data" / "vid" / "CollectedData_Tester.csv"
    csv.write_text(csv.read_text().replace("1.0,2.0", "100.0,200.0"))
    labels = load_labels(root)
    np.testing.assert_array_equal(points_by_frame(labels), EXPECTED)  # values of the .h5
    assert labels.provenance["dlc_tables"][0].endswith(".h5")
    (root / "labeled-data" / "vid" / "CollectedData_Tester.h5").unlink()
    assert points_by_frame(load_labels(root))[0, 0].tolist() == [100.0, 200.0]


def test_h5_and_csv_tables_read_identically(tmp_path: Path) -> None:
    root = write_dlc_project(tmp_path / "proj", ["head", "tail", "mid"], ROWS, write_h5=True)
    a = read_dlc_table(root / "labeled-data" / "vid" / "CollectedData_Tester.csv")
    b = read_dlc_table(root / "labeled-data" / "vid" / "CollectedData_Tester.h5")
    assert a.image_paths == b.image_paths and a.bodyparts == b.bodyparts
    np.testing.assert_array_equal(a.xy, b.xy)


def test_mixed_image_sizes_read_per_frame_and_moved_project(tmp_path: Path) -> None:
    sizes = {"img1.png": (40, 50), "img2.png": (30, 20), "img10.png": (40, 50)}
    root = write_dlc_project(tmp_path / "proj", ["head", "tail", "mid"], ROWS, image_sizes=sizes)
    moved = tmp_path / "elsewhere" / "renamed"
    shutil.move(root, moved)
    labels = load_labels(moved)
    table = FrameTable.from_labels(labels)
    shapes = [table.read_image(i).shape for i in range(len(table))]
    assert shapes == [(40, 50, 3), (30, 20, 3), (40, 50, 3)]
    assert table.read_image(1)[0, 0].tolist() == [20, 20, 30]  # RGB of img2 (2nd row written)
    assert all(str(moved) in f for f in labels.videos[0].filename)


MADLC_CONFIG = """\
Task: ma
scorer: Me
multianimalproject: true
individuals: [mouse1, mouse2]
multianimalbodyparts: [snout, tail]
uniquebodyparts: [corner]
bodyparts: MULTI!
skeleton: [[snout, tail]]
"""
MADLC_CSV = """\
scorer,,,Me,Me,Me,Me,Me,Me,Me,Me,Me,Me
individuals,,,mouse1,mouse1,mouse1,mouse1,mouse2,mouse2,mouse2,mouse2,single,single
bodyparts,,,tail,tail,snout,snout,snout,snout,tail,tail,corner,corner
coords,,,x,y,x,y,x,y,x,y,x,y
labeled-data,v,a.png,1,2,3,4,5,6,7,8,9,10
labeled-data,v,b.png,,,11,12,,,,,,
"""


def _madlc(root: Path) -> Path:
    folder = root / "labeled-data" / "v"
    folder.mkdir(parents=True)
    (root / "config.yaml").write_text(MADLC_CONFIG)
    (folder / "CollectedData_Me.csv").write_text(MADLC_CSV)
    write_png(folder / "a.png", 10, 12, 5)
    write_png(folder / "b.png", 10, 12, 6)
    return root


def test_multi_animal_tracks_and_unique_bodyparts(tmp_path: Path) -> None:
    labels = load_labels(_madlc(tmp_path / "ma"))
    assert labels.skeleton.node_names == ["snout", "tail", "corner"]
    assert [t.name for t in labels.tracks] == ["mouse1", "mouse2", "single"]
    frame_a, frame_b = sorted(labels.labeled_frames, key=lambda lf: lf.frame_idx)
    got = {inst.track.name: inst.numpy() for inst in frame_a.instances}
    nan = [np.nan, np.nan]
    np.testing.assert_array_equal(got["mouse1"], [[3, 4], [1, 2], nan])
    np.testing.assert_array_equal(got["mouse2"], [[5, 6], [7, 8], nan])
    np.testing.assert_array_equal(got["single"], [nan, nan, [9, 10]])
    # Individuals without a visible point in a row give no instance.
    assert [inst.track.name for inst in frame_b.instances] == ["mouse1"]
    table = FrameTable.from_labels(labels)
    assert table.track_names == ("mouse1", "mouse2", "single")
    assert sorted(table.track_idx(0).tolist()) == [0, 1, 2]


def test_header_disagreeing_with_config_names_parts(tmp_path: Path) -> None:
    root = write_dlc_project(tmp_path / "proj", ["head", "tail", "mid"], ROWS)
    cfg = root / "config.yaml"
    cfg.write_text(cfg.read_text().replace("- mid\n", "- paw\n"))
    before = snapshot(tmp_path)
    with pytest.raises(DataError) as err:
        load_labels(root)
    msg = str(err.value)
    assert "CollectedData_Tester.csv" in msg and "['mid']" in msg and "['paw']" in msg
    assert snapshot(tmp_path) == before


def test_missing_collected_data_is_an_error(tmp_path: Path) -> None:
    root = write_dlc_project(tmp_path / "proj", ["head", "tail"], {"img1.png": {}})
    (root / "labeled-data" / "vid" / "CollectedData_Tester.csv").unlink()
    before = snapshot(tmp_path)
    with pytest.raises(DataError, match="no CollectedData"):
        load_labels(root)
    assert snapshot(tmp_path) == before


def test_folder_without_config_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "labeled-data").mkdir()
    with pytest.raises(DataError, match="config.yaml"):
        load_labels(tmp_path)


def test_unknown_skeleton_edge_is_ignored_with_warning(tmp_path: Path) -> None:
    root = write_dlc_project(
        tmp_path / "proj",
        ["head", "tail"],
        {"img1.png": {"head": (1, 1)}},
        skeleton=[["head", "tail"], ["head", "ghost"]],
    )
    with pytest.warns(UserWarning, match="ghost"):
        labels = load_labels(root)
    assert labels.skeleton.edge_inds == [(0, 1)]


def test_missing_image_fails_only_when_read(tmp_path: Path) -> None:
    root = write_dlc_project(tmp_path / "proj", ["head", "tail"], {"img1.png": {"head": (1, 1)}})
    (root / "labeled-data" / "vid" / "img1.png").unlink()
    table = FrameTable.from_labels(load_labels(root))
    from posekit.errors import VideoError

    with pytest.raises(VideoError, match="img1.png"):
        table.read_image(0)
