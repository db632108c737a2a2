"""Malformed DeepLabCut ``.h5`` tables (pandas / PyTables): specific errors or repairs.

(pandas cannot store duplicated column names in an .h5 table, so duplicated columns are
a CSV-only case: see test_dlc_messy.py.)
"""

from __future__ import annotations

import warnings
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from posekit.io import load_labels
from posekit.io.dlc_table import read_dlc_table
from posekit.io.repairs import LabelsRepairWarning

from .io_helpers import DLC_CONFIG as CONFIG
from .io_helpers import EXPECTED, points_by_frame, project, refused, repaired

NAN = np.nan
INDEX = ["labeled-data/vid/img1.png", "labeled-data/vid/img2.png"]
ROWS = [[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, NAN, NAN]]


def columns(names=("scorer", "bodyparts", "coords"), coords=("x", "y")) -> pd.MultiIndex:
    tuples = [("Tester", bp, c) for bp in ("head", "tail") for c in coords]
    if len(names) == 2:
        tuples = [t[1:] for t in tuples]
    return pd.MultiIndex.from_tuples(tuples, names=list(names))


def write_h5(root: Path, df: pd.DataFrame, name: str = "CollectedData_Tester.h5") -> Path:
    """A project whose only table is ``df`` saved as DeepLabCut does (key df_with_missing)."""
    project(root, "", config=CONFIG, name="unused.txt")
    path = root / "labeled-data" / "vid" / name
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTables pickles object columns, and says so
        df.to_hdf(path, key="df_with_missing", mode="w")
    return path


def test_new_style_three_level_index(tmp_path: Path) -> None:
    index = pd.MultiIndex.from_tuples([tuple(p.split("/")) for p in INDEX])
    write_h5(tmp_path, pd.DataFrame(ROWS, columns=columns(), index=index))
    labels = load_labels(tmp_path)
    np.testing.assert_array_equal(points_by_frame(labels), EXPECTED)
    assert labels.provenance["dlc_frame_files"]["0"] == INDEX


def test_two_unnamed_column_levels(tmp_path: Path) -> None:
    cols = pd.MultiIndex.from_tuples([t[1:] for t in columns()])
    write_h5(tmp_path, pd.DataFrame(ROWS, columns=cols, index=INDEX))
    refused(tmp_path, "CollectedData_Tester.h5", "the table has 2 column level(s)", "expected 3")


def test_unknown_column_level_name(tmp_path: Path) -> None:
    cols = columns(names=("scorer", "bodyparts", "coords"))
    cols = cols.set_names(["scorer", "bodyparts", "coords"])
    df = pd.concat({"extra": pd.DataFrame(ROWS, columns=cols, index=INDEX)}, axis=1)
    df.columns = df.columns.set_names(["session", "scorer", "bodyparts", "coords"])
    write_h5(tmp_path, df)
    refused(tmp_path, "column levels are ['session', 'scorer', 'bodyparts', 'coords']")


def test_missing_scorer_level_is_repaired(tmp_path: Path) -> None:
    write_h5(tmp_path, pd.DataFrame(ROWS, columns=columns(("bodyparts", "coords")), index=INDEX))
    labels = repaired(tmp_path, "no 'scorer' column level")
    np.testing.assert_array_equal(points_by_frame(labels), EXPECTED)


def test_non_numeric_value(tmp_path: Path) -> None:
    df = pd.DataFrame(ROWS, columns=columns(), index=INDEX).astype(object)
    df.iloc[1, 1] = "6px"
    write_h5(tmp_path, df)
    refused(
        tmp_path,
        "row 2 (labeled-data/vid/img2.png), column ('Tester', 'head', 'y'): '6px' is not a number",
    )


def test_numbers_stored_as_text_are_read(tmp_path: Path) -> None:
    df = pd.DataFrame(ROWS, columns=columns(), index=INDEX).astype(object)
    df.iloc[0, 0] = "1.0"
    write_h5(tmp_path, df)
    np.testing.assert_array_equal(points_by_frame(load_labels(tmp_path)), EXPECTED)


def test_index_without_image_paths(tmp_path: Path) -> None:
    write_h5(tmp_path, pd.DataFrame(ROWS, columns=columns()))
    refused(tmp_path, "row 1: '0' does not name an image file")


def test_hdf5_that_is_not_a_pandas_table(tmp_path: Path) -> None:
    path = write_h5(tmp_path, pd.DataFrame(ROWS, columns=columns(), index=INDEX))
    with h5py.File(path, "w") as f:
        f["points"] = np.zeros((2, 2))
    refused(tmp_path, "CollectedData_Tester.h5: the HDF5 file holds no pandas table")


def test_machinelabels_h5_gives_predictions(tmp_path: Path) -> None:
    """DeepLabCut's ``machinelabels-iter0.h5`` (x, y, likelihood), passed as the path."""
    cols = columns(coords=("x", "y", "likelihood"))
    rows = [[1, 2, 0.9, 3, 4, 0.5], [5, 6, 0.8, NAN, NAN, 0.1]]
    path = write_h5(
        tmp_path, pd.DataFrame(rows, columns=cols, index=INDEX), "machinelabels-iter0.h5"
    )
    with pytest.warns(LabelsRepairWarning, match="machinelabels-iter0.h5: has likelihood"):
        table = read_dlc_table(path)
    assert table.is_machine_labels
    np.testing.assert_allclose(table.likelihood, [[0.9, 0.5], [0.8, 0.1]])
    with pytest.warns(LabelsRepairWarning):
        labels = load_labels(path)
    np.testing.assert_array_equal(points_by_frame(labels), EXPECTED)
    scores = [lf.instances[0].score for lf in labels.labeled_frames]
    assert scores == pytest.approx([0.7, 0.8])


def test_h5_that_is_not_hdf5(tmp_path: Path) -> None:
    path = write_h5(tmp_path, pd.DataFrame(ROWS, columns=columns(), index=INDEX))
    path.write_text("scorer,Tester\n")
    refused(tmp_path, "CollectedData_Tester.h5: cannot be read as a DeepLabCut annotation table")
