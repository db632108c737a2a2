"""Malformed DeepLabCut CSV tables: a specific DataError, or a reported repair.

Each test writes the bad table by hand (the way a spreadsheet, a pandas round trip or a
hand edit leaves it) and checks the message names the file and the problem, or that the
repaired read gives the intended numbers and says so (warning + provenance). No input
file is ever changed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from posekit.errors import DataError
from posekit.io import FrameTable, load_labels
from posekit.io.repairs import LabelsRepairWarning, repairs_of

from .io_helpers import DLC_CONFIG as CONFIG
from .io_helpers import EXPECTED, points_by_frame, project, refused, repaired

NAN = np.nan
GOOD = """\
scorer,Tester,Tester,Tester,Tester
bodyparts,head,head,tail,tail
coords,x,y,x,y
labeled-data/vid/img1.png,1,2,3,4
labeled-data/vid/img2.png,5,6,,
"""
TABLE = "CollectedData_Tester.csv"


def test_good_table_loads_without_repairs(tmp_path: Path, recwarn) -> None:
    labels = load_labels(project(tmp_path, GOOD))
    np.testing.assert_array_equal(points_by_frame(labels), EXPECTED)
    assert repairs_of(labels) == []
    assert not [w for w in recwarn if w.category is LabelsRepairWarning]


# Each case: the table as a hand edit, a spreadsheet or a pandas round trip leaves it, and the
# fragments the error must hold. The good table reads EXPECTED (test above).
REFUSED = {
    "coords row missing": (
        GOOD.replace("coords,x,y,x,y\n", ""),
        [TABLE, "header rows found: ['scorer', 'bodyparts']", "missing: ['coords']"],
    ),
    "bodyparts row missing (three-column index)": (
        "scorer,,,T,T,T,T\ncoords,,,x,y,x,y\nlabeled-data,vid,img1.png,1,2,3,4\n",
        ["missing: ['bodyparts']"],
    ),
    "header row twice": (
        GOOD.replace("coords,x,y,x,y\n", "coords,x,y,x,y\ncoords,x,y,x,y\n"),
        ["the 'coords' header row appears twice (lines 3 and 4)"],
    ),
    "two tables pasted together": (
        GOOD + GOOD.replace("img1", "img3").replace("img2", "img4"),
        ["line 6 repeats the 'scorer' header row"],
    ),
    "index-names row (pandas)": (
        GOOD.replace("coords,x,y,x,y\n", "coords,x,y,x,y\nimage,,,,\n"),
        ["line 4: 'image' does not name an image file"],
    ),
    "semicolons": (GOOD.replace(",", ";"), ["header rows found: none", "uses ';'"]),
    "misaligned header row": (
        (
            "scorer,,,T,T,T,T\nbodyparts,,head,head,tail,tail,\ncoords,,,x,y,x,y\n"
            "labeled-data,vid,img1.png,1,2,3,4\n"
        ),
        ["line 2: the 'bodyparts' header row has 'head' in column 3"],
    ),
    "text in a cell": (
        GOOD.replace("img2.png,5,6", "img2.png,5,6px"),
        ["line 5, column 3 (head y): '6px' is not a number"],
    ),
    "x without y in a row": (
        GOOD.replace("5,6,,", "5,,,"),
        ["img2.png: bodypart head has x=5.0, y=empty"],
    ),
    "infinite coordinate": (
        GOOD.replace("5,6,,", "inf,6,,"),
        ["img2.png: bodypart head has x=inf, y=6.0"],
    ),
    "short row": (GOOD.replace("5,6,,", "5,6"), ["line 5 has 3 cells; expected 5"]),
    "values past the header": (
        GOOD.replace("1,2,3,4", "1,2,3,4,9"),
        ["line 4 has values beyond the last header column"],
    ),
    "x column without y column": (
        (
            "scorer,Tester,Tester,Tester\nbodyparts,head,head,tail\ncoords,x,y,x\n"
            "labeled-data/vid/img1.png,1,2,3\n"
        ),
        ["bodyparts without both x and y columns: tail (has ['x'])"],
    ),
    "unknown coordinate names": (
        GOOD.replace("coords,x,y,x,y", "coords,X,Y,x,y"),
        ["unknown coordinate name(s) ['X', 'Y']", "column 2 (head X)"],
    ),
    "empty bodypart cell": (
        GOOD.replace("bodyparts,head,head", "bodyparts,head,"),
        ["column 3 (? y) has an empty 'bodyparts' header cell"],
    ),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_malformed_csv_is_refused(tmp_path: Path, case: str) -> None:
    table, fragments = REFUSED[case]
    refused(project(tmp_path, table), *fragments)


# --- repairs and harmless variations ----------------------------------------------------


def test_missing_scorer_row_is_repaired(tmp_path: Path) -> None:
    labels = repaired(project(tmp_path, GOOD.split("\n", 1)[1]), "no 'scorer' header row")
    np.testing.assert_array_equal(points_by_frame(labels), EXPECTED)


def test_pandas_unnamed_placeholders_are_repaired(tmp_path: Path) -> None:
    """``pd.read_csv(header=[0, 1, 2], index_col=0)`` + ``to_csv`` on a 3-column index."""
    table = (
        "scorer,Unnamed: 1_level_0,Unnamed: 2_level_0,Tester,Tester,Tester,Tester\n"
        "bodyparts,Unnamed: 1_level_1,Unnamed: 2_level_1,head,head,tail,tail\n"
        "coords,Unnamed: 1_level_2,Unnamed: 2_level_2,x,y,x,y\n"
        "labeled-data,vid,img1.png,1.0,2.0,3,4\nlabeled-data,vid,img2.png,5.0,6.0,,\n"
    )
    labels = repaired(project(tmp_path, table), "6 header cells read 'Unnamed: <n>_level_<m>'")
    np.testing.assert_array_equal(points_by_frame(labels), EXPECTED)
    assert labels.provenance["dlc_frame_files"]["0"][1] == "labeled-data/vid/img2.png"


def test_blank_rows_and_trailing_empty_cells_are_harmless(tmp_path: Path) -> None:
    table = GOOD.replace("1,2,3,4\n", "1,2,3,4,,\n,,,,\n\n")
    np.testing.assert_array_equal(points_by_frame(load_labels(project(tmp_path, table))), EXPECTED)


def test_windows_paths_in_old_style_index(tmp_path: Path) -> None:
    table = GOOD.replace("labeled-data/vid/", r"C:\project\labeled-data\vid" + "\\")
    labels = load_labels(project(tmp_path, table))
    np.testing.assert_array_equal(points_by_frame(labels), EXPECTED)
    assert labels.provenance["dlc_frame_files"]["0"][0] == "C:/project/labeled-data/vid/img1.png"


def test_not_utf8(tmp_path: Path) -> None:
    root = project(tmp_path, GOOD)
    table = root / "labeled-data" / "vid" / TABLE
    table.write_bytes(GOOD.replace("Tester", "M\xfcller").encode("latin-1"))
    refused(root, "is not UTF-8 text")


DUPLICATE = """\
scorer,Tester,Tester,Tester,Tester,Tester,Tester
bodyparts,head,head,tail,tail,head,head
coords,x,y,x,y,x,y
labeled-data/vid/img1.png,1,2,3,4,1,2
labeled-data/vid/img2.png,5,6,,,5,{y}
"""


def test_identical_duplicate_columns_are_repaired(tmp_path: Path) -> None:
    labels = repaired(
        project(tmp_path, DUPLICATE.format(y=6)),
        "duplicate 'x' column(s) of head (column 6 (head x)) hold the same values as column 2",
        "duplicate 'y' column(s) of head",
    )
    np.testing.assert_array_equal(points_by_frame(labels), EXPECTED)


def test_differing_duplicate_columns(tmp_path: Path) -> None:
    refused(
        project(tmp_path, DUPLICATE.format(y=60)),
        "head has two 'y' columns with different values",
        "column 3 (head y) and column 7 (head y); data row 2: 6.0 vs 60.0",
    )


# --- bodyparts against config.yaml -------------------------------------------------------


def test_table_bodypart_not_in_config(tmp_path: Path) -> None:
    root = project(tmp_path, GOOD, config="bodyparts: [head]\n")
    refused(root, TABLE, "bodyparts not in config.yaml: ['tail']")


def test_config_bodypart_without_columns_is_repaired(tmp_path: Path) -> None:
    root = project(tmp_path, GOOD, config=CONFIG.replace("- tail\n", "- tail\n- paw\n"))
    labels = repaired(root, "bodyparts ['paw'] have no columns in this table")
    assert labels.skeleton.node_names == ["head", "tail", "paw"]
    nan = [NAN, NAN]
    np.testing.assert_array_equal(
        points_by_frame(labels), [[[1, 2], [3, 4], nan], [[5, 6], nan, nan]]
    )


def test_table_in_other_order_follows_config(tmp_path: Path) -> None:
    root = project(tmp_path, GOOD, config=CONFIG.replace("- head\n- tail\n", "- tail\n- head\n"))
    labels = load_labels(root)
    assert labels.skeleton.node_names == ["tail", "head"]
    np.testing.assert_array_equal(points_by_frame(labels), EXPECTED[:, ::-1])


# --- machine labels (likelihood) ---------------------------------------------------------

MACHINE = """\
scorer,DLC_net,DLC_net,DLC_net,DLC_net,DLC_net,DLC_net
bodyparts,head,head,head,tail,tail,tail
coords,x,y,likelihood,x,y,likelihood
labeled-data/vid/img1.png,1,2,0.9,3,4,0.5
labeled-data/vid/img2.png,5,6,0.8,,,0.01
"""


@pytest.mark.parametrize("name", [TABLE, "machinelabels-iter0.csv"])
def test_likelihood_columns_give_predicted_instances(tmp_path: Path, name: str) -> None:
    root = project(tmp_path, MACHINE, name=name)
    path = root if name == TABLE else root / "labeled-data" / "vid" / name
    with pytest.warns(LabelsRepairWarning, match="machine labels"):
        labels = load_labels(path)
    frames = sorted(labels.labeled_frames, key=lambda lf: lf.frame_idx)
    assert all(not lf.user_instances and len(lf.predicted_instances) == 1 for lf in frames)
    np.testing.assert_array_equal(points_by_frame(labels), EXPECTED)
    first, second = (lf.predicted_instances[0] for lf in frames)
    np.testing.assert_allclose(first.numpy(scores=True)[:, 2], [0.9, 0.5])
    assert first.score == pytest.approx(0.7) and second.score == pytest.approx(0.8)
    np.testing.assert_allclose(second.numpy(scores=True)[:, 2], [0.8, 0.0])  # tail missing
    assert labels.provenance["dlc_machine_labels"][0].endswith(name)
    assert "machine labels" in repairs_of(labels)[0]


def test_machine_labels_are_not_training_targets(tmp_path: Path) -> None:
    from posekit.io import load_train_val

    root = project(tmp_path, MACHINE)
    with pytest.warns(LabelsRepairWarning), pytest.raises(DataError, match="no labelled frames"):
        load_train_val([root])


def test_likelihood_for_some_bodyparts_only(tmp_path: Path) -> None:
    table = MACHINE.replace("x,y,likelihood\n", "x,y,x\n")
    refused(
        project(tmp_path, table), "likelihood columns for some bodyparts only (none for ['tail'])"
    )


# --- multi-animal ------------------------------------------------------------------------

MA_CONFIG = (
    "Task: ma\nscorer: Me\nmultianimalproject: true\nindividuals: [m1, m2]\n"
    "multianimalbodyparts: [head, tail]\nuniquebodyparts: []\nbodyparts: MULTI!\n"
)
MA_TABLE = """\
scorer,,,Me,Me,Me,Me,Me,Me,Me,Me
individuals,,,m1,m1,m1,m1,m2,m2,m2,m2
bodyparts,,,head,head,tail,tail,head,head,tail,tail
coords,,,x,y,x,y,x,y,x,y
labeled-data,vid,img1.png,1,2,3,4,5,6,7,8
"""


def test_multi_animal_table_reads_tracks(tmp_path: Path) -> None:
    labels = load_labels(project(tmp_path, MA_TABLE, config=MA_CONFIG))
    table = FrameTable.from_labels(labels)
    assert table.track_names == ("m1", "m2")
    by_track = {inst.track.name: inst.numpy() for inst in labels.labeled_frames[0].instances}
    np.testing.assert_array_equal(by_track["m1"], [[1, 2], [3, 4]])
    np.testing.assert_array_equal(by_track["m2"], [[5, 6], [7, 8]])


def test_multi_animal_table_without_individuals_row(tmp_path: Path) -> None:
    table = "\n".join(line for line in MA_TABLE.splitlines() if not line.startswith("indiv"))
    refused(
        project(tmp_path, table, config=MA_CONFIG),
        "head has two 'x' columns with different values",
        "a multi-animal table that lost its 'individuals' header row?",
    )
    # with one individual left the layouts disagree
    one = "\n".join(line.rsplit(",", 4)[0] for line in table.splitlines())
    (tmp_path / "labeled-data" / "vid" / TABLE).write_text(one)
    refused(
        tmp_path,
        "is a single-animal table (it has no 'individuals' header row)",
        "multianimalproject=True",
    )


def test_individuals_row_in_single_animal_project(tmp_path: Path) -> None:
    root = project(tmp_path, MA_TABLE, config=CONFIG)
    refused(root, "is a multi-animal table (it has 'individuals' header row)")


def test_empty_individual_cell(tmp_path: Path) -> None:
    root = project(tmp_path, MA_TABLE.replace("m2,m2,m2,m2", "m2,m2,m2,"), config=MA_CONFIG)
    refused(root, "column 11 (?/tail y) has an empty 'individuals' header cell")


def test_table_outside_its_project(tmp_path: Path) -> None:
    (tmp_path / TABLE).write_text(GOOD)
    refused(tmp_path / TABLE, "DeepLabCut table without its project (no config.yaml")
