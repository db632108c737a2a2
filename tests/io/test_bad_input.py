"""Bad labels inputs: a specific DataError naming the file and the problem; no file changes.

(DLC folders without CollectedData and DLC headers that disagree with config.yaml are in
test_dlc.py; unopenable videos in test_sources.py; train/val skeleton mismatch in
test_splits.py — each also checks that no file changed.)
"""

from __future__ import annotations

from pathlib import Path

import h5py
import pytest
import sleap_io as sio

from posekit.errors import DataError
from posekit.io import inspect_labels, load_labels, load_training_labels

from .io_helpers import simple_labels, snapshot, write_dlc_project, write_png, write_video


def _slp(tmp_path: Path) -> Path:
    video = sio.Video.from_filename(str(write_video(tmp_path / "v.avi", 3)))
    path = tmp_path / "good.slp"
    sio.save_slp(simple_labels(video, 3), str(path))
    return path


def _cases(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    good = _slp(tmp_path)
    text = tmp_path / "notes.slp"
    text.write_text("frame,x,y\n1,2,3\n")
    png_slp = write_png(tmp_path / "picture.png", 8, 8, 3).rename(tmp_path / "picture.slp")
    png = write_png(tmp_path / "image.png", 8, 8, 3)
    truncated = tmp_path / "truncated.slp"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    empty_h5 = tmp_path / "empty.slp"
    h5py.File(empty_h5, "w").close()
    return {
        "missing": (tmp_path / "absent.slp", "not found"),
        "text": (text, "not an HDF5 file"),
        "png renamed": (png_slp, "PNG image"),
        "png": (png, "unsupported labels format"),
        "truncated": (truncated, "truncated"),
        "hdf5 but not labels": (empty_h5, "HDF5 file without the SLEAP datasets"),
        "folder": (tmp_path, "without config.yaml"),
    }


@pytest.mark.parametrize(
    "case", ["missing", "text", "png renamed", "png", "truncated", "hdf5 but not labels", "folder"]
)
@pytest.mark.parametrize(
    "loader", [load_labels, inspect_labels, lambda p: load_training_labels([p])]
)
def test_bad_labels_files(tmp_path: Path, case: str, loader) -> None:
    path, problem = _cases(tmp_path)[case]
    before = snapshot(tmp_path)
    with pytest.raises(DataError) as err:
        loader(path)
    assert path.name in str(err.value) and problem in str(err.value)
    assert snapshot(tmp_path) == before


def test_bad_dlc_cell_and_yaml(tmp_path: Path) -> None:
    root = write_dlc_project(tmp_path / "p", ["head", "tail"], {"img1.png": {"head": (1, 2)}})
    csv = root / "labeled-data" / "vid" / "CollectedData_Tester.csv"
    csv.write_text(csv.read_text().replace(",1,2,", ",one,2,"))
    before = snapshot(tmp_path)
    with pytest.raises(DataError, match="CollectedData_Tester.csv.*not a number"):
        load_labels(root)
    (root / "config.yaml").write_text("bodyparts: [a\n")
    with pytest.raises(DataError, match="config.yaml.*invalid YAML"):
        load_labels(root)
    (root / "config.yaml").write_text("Task: x\n")
    with pytest.raises(DataError, match="no 'bodyparts'"):
        load_labels(root)
    after = snapshot(tmp_path)
    after.pop("p/config.yaml"), before.pop("p/config.yaml")  # rewritten by this test itself
    assert after == before
