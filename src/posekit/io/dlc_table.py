"""Reading one DeepLabCut ``CollectedData_<scorer>.h5`` / ``.csv`` annotation table.

Both files hold the same table: one row per labelled image, columns grouped by
``(individual, bodypart)`` with ``x`` / ``y`` coordinates (multi-animal projects add an
``individuals`` header row; single-animal ones have none). Missing points are empty
CSV cells / NaN in the H5 file. The image path is either one column
(``labeled-data/<video>/img001.png``) or, in newer DeepLabCut versions, three
(``labeled-data``, ``<video>``, ``img001.png``).

Malformed tables raise a :class:`~posekit.errors.DataError` naming the file, the line or
column and what was expected; the few problems that can be read without guessing are
repaired and listed in :attr:`DlcTable.repairs` (see ``docs/training.md``, "Messy input
files"). Tables with ``likelihood`` columns are DeepLabCut machine labels (predictions).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from posekit.errors import DataError
from posekit.io.dlc_columns import ColumnHeaders, layout_columns
from posekit.io.images import IMAGE_EXTENSIONS
from posekit.io.repairs import report_repair

_HEADER_NAMES = ("scorer", "individuals", "bodyparts", "coords")
_UNNAMED = re.compile(r"^Unnamed: \d+_level_\d+$")  # pandas' name for an empty header cell
Row = tuple[int, list[str]]  # (line number in the file, cells)


@dataclass
class DlcTable:
    """The content of one annotation table.

    Attributes:
        path: the file it was read from.
        image_paths: one stored image path per row, ``/``-separated.
        individuals: individual of each column group (None in single-animal tables).
        bodyparts: bodypart of each column group.
        xy: ``float64 (n_rows, n_groups, 2)`` coordinates, NaN where missing.
        likelihood: ``float64 (n_rows, n_groups)`` scores of machine-labelled tables,
            None for hand-labelled ones.
        repairs: what was repaired while reading (each message starts with the path;
            :func:`read_dlc_table` also warns them).
    """

    path: Path
    image_paths: list[str]
    individuals: list[str] | None
    bodyparts: list[str]
    xy: np.ndarray
    likelihood: np.ndarray | None = None
    repairs: list[str] = field(default_factory=list)

    @property
    def is_multianimal(self) -> bool:
        """Whether the table has an ``individuals`` header row."""
        return self.individuals is not None

    @property
    def is_machine_labels(self) -> bool:
        """Whether the table holds network predictions (it has likelihood columns)."""
        return self.likelihood is not None


def _csv_rows(path: Path) -> list[Row]:
    """Non-blank rows with their line numbers (rows of empty cells are skipped)."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            return [(reader.line_num, cells) for cells in reader if any(c.strip() for c in cells)]
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{path}: is not UTF-8 text ({exc}); expected a CSV file saved as UTF-8, as "
            "DeepLabCut writes it. Re-save it as 'CSV UTF-8' or use the .h5 next to it."
        ) from exc
    except csv.Error as exc:
        raise DataError(
            f"{path}: cannot be parsed as CSV ({exc}); expected a comma-separated "
            "DeepLabCut table. Re-save the labels from DeepLabCut."
        ) from exc


def _missing_header(path: Path, rows: list[Row], found: list[str], missing: list[str]) -> str:
    """The message for a table without its bodyparts / coords header rows."""
    first = rows[0][1] if rows else []
    hint = ""
    if len(first) == 1 and (";" in first[0] or "\t" in first[0]):
        sep = "';'" if ";" in first[0] else "a tab"
        hint = (
            f" The file uses {sep} as the separator (a spreadsheet in some locales); "
            "re-save it with commas."
        )
    elif not found and first:
        hint = f" Its first line starts with {first[0]!r}."
    return (
        f"{path}: header rows found: {found or 'none'}; missing: {missing}; expected the "
        "rows scorer, bodyparts and coords (multi-animal: scorer, individuals, bodyparts, "
        "coords) at the top, each named in the first column, as DeepLabCut writes "
        f"CollectedData_<scorer>.csv.{hint}"
    )


def _split_header(
    path: Path, rows: list[Row], repairs: list[str]
) -> tuple[dict[str, Row], list[Row]]:
    """Header rows by name and the data rows after them."""
    header: dict[str, Row] = {}
    n = 0
    while n < len(rows) and rows[n][1][0].strip() in _HEADER_NAMES:
        line, cells = rows[n]
        name = cells[0].strip()
        if name in header:
            raise DataError(
                f"{path}: the '{name}' header row appears twice (lines {header[name][0]} and "
                f"{line}); expected each of scorer, individuals, bodyparts, coords once. "
                "Delete the extra row."
            )
        header[name] = (line, cells)
        n += 1
    missing = [name for name in ("bodyparts", "coords") if name not in header]
    if missing:
        raise DataError(_missing_header(path, rows, list(header), missing))
    if "scorer" not in header:
        repairs.append(
            "no 'scorer' header row; the table was read without it (posekit does not use "
            "the scorer name)."
        )
    unnamed = 0
    for _, cells in header.values():
        for k, cell in enumerate(cells):
            if _UNNAMED.match(cell.strip()):
                cells[k] = ""
                unnamed += 1
    if unnamed:
        repairs.append(
            f"{unnamed} header cells read 'Unnamed: <n>_level_<m>' (pandas' placeholder for "
            "an empty cell, written when the table is re-saved with pandas); they were read "
            "as empty."
        )
    return header, rows[n:]


def _index_width(path: Path, header: dict[str, Row]) -> tuple[int, int]:
    """Number of image-path columns and of columns in all (from the coords row)."""
    coords = header["coords"][1]
    n_index = 1
    while n_index < len(coords) and not coords[n_index].strip():
        n_index += 1
    width = len(coords)
    while width > n_index and not coords[width - 1].strip():
        width -= 1
    if width <= n_index:
        raise DataError(
            f"{path}: line {header['coords'][0]}: the 'coords' header row names no "
            "coordinate columns; expected x, y per bodypart. Re-save the labels from "
            "DeepLabCut."
        )
    for name, (line, cells) in header.items():
        stray = [k for k in range(1, min(n_index, len(cells))) if cells[k].strip()]
        if stray:
            raise DataError(
                f"{path}: line {line}: the '{name}' header row has {cells[stray[0]]!r} in "
                f"column {stray[0] + 1}, where the 'coords' row leaves the image-path "
                f"columns (1-{n_index}) empty; expected the header rows aligned column for "
                "column. A cell was inserted or deleted in one of the rows."
            )
    return n_index, width


def _check_width(path: Path, row: Row, width: int) -> list[str]:
    """The row's first ``width`` cells; DataError if it is shorter or has values beyond."""
    line, cells = row
    if len(cells) < width:
        raise DataError(
            f"{path}: line {line} has {len(cells)} cells; expected {width} (one per header "
            "column). The row is cut short (a truncated file or a hand edit): complete or "
            "delete it."
        )
    if any(c.strip() for c in cells[width:]):
        raise DataError(
            f"{path}: line {line} has values beyond the last header column ({len(cells)} "
            f"cells); expected {width}. A cell was inserted or a decimal comma split a "
            "number: fix the row."
        )
    return cells[:width]


def _check_image_names(path: Path, image_paths: list[str], rows: list[str]) -> None:
    """DataError for the first row whose stored path is not an image file."""
    for stored, where in zip(image_paths, rows, strict=True):
        if not stored.lower().endswith(IMAGE_EXTENSIONS):
            raise DataError(
                f"{path}: {where}: {stored!r} does not name an image file; expected the "
                "image path (labeled-data/<video>/img001.png, or its three parts) at the "
                "start of every data row. Delete rows that are not labelled images."
            )


def _parse_cells(path: Path, body: list[Row], n_index: int, where: list[str]) -> np.ndarray:
    """Coordinates of the data rows (empty cell: NaN)."""
    values = np.full((len(body), len(where)), np.nan)
    for r, (line, cells) in enumerate(body):
        for j, cell in enumerate(cells[n_index:]):
            text = cell.strip()
            if not text:
                continue
            try:
                values[r, j] = float(text)
            except ValueError:
                raise DataError(
                    f"{path}: line {line}, {where[j]}: {cell!r} is not a number; expected a "
                    "coordinate in pixels or an empty cell for a missing point. Fix the cell "
                    "(a spreadsheet can write text, units or a decimal comma)."
                ) from None
    return values


def _read_csv(path: Path) -> DlcTable:
    """Read a ``.csv`` table (one or three image-path columns)."""
    repairs: list[str] = []
    header, body = _split_header(path, _csv_rows(path), repairs)
    n_index, width = _index_width(path, header)
    for line, row in body:
        if row[0].strip() in _HEADER_NAMES:
            raise DataError(
                f"{path}: line {line} repeats the '{row[0].strip()}' header row after the "
                "data rows began; expected the header rows only at the top (two tables "
                "pasted together?). Merge labelled data with DeepLabCut instead."
            )
    cells = {name: _check_width(path, row, width)[n_index:] for name, row in header.items()}
    body = [(line, _check_width(path, (line, row), width)) for line, row in body]
    image_paths = [
        "/".join(c.strip() for c in row[:n_index] if c.strip()).replace("\\", "/")
        for _, row in body
    ]
    _check_image_names(path, image_paths, [f"line {line}" for line, _ in body])
    individuals = cells.get("individuals")
    names = [
        "/".join(c.strip() or "?" for c in cell)
        for cell in zip(*([individuals] if individuals else []), cells["bodyparts"], strict=True)
    ]
    where = [
        f"column {n_index + j + 1} ({name} {coord.strip() or '?'})"
        for j, (name, coord) in enumerate(zip(names, cells["coords"], strict=True))
    ]
    headers = ColumnHeaders(cells["coords"], cells["bodyparts"], individuals, where)
    return _finish(path, image_paths, headers, _parse_cells(path, body, n_index, where), repairs)


def _read_h5_frame(path: Path) -> Any:
    """The pandas DataFrame stored in a DLC ``.h5`` table."""
    import pandas as pd

    try:
        with pd.HDFStore(path, mode="r") as store:
            keys = store.keys()
            key = "/df_with_missing" if "/df_with_missing" in keys else (keys[0] if keys else None)
            if key is None:
                raise DataError(
                    f"{path}: the HDF5 file holds no pandas table; expected the "
                    "CollectedData_<scorer>.h5 written by DeepLabCut. Use the .csv next to it."
                )
            return store[key]
    except DataError:
        raise
    except Exception as exc:
        raise DataError(
            f"{path}: cannot be read as a DeepLabCut annotation table ({type(exc).__name__}: "
            f"{exc}); expected the CollectedData_<scorer>.h5 written by DeepLabCut "
            "(pandas/PyTables). Use the .csv next to it, or re-save the labels from DeepLabCut."
        ) from exc


def _h5_levels(path: Path, columns: Any, repairs: list[str]) -> dict[str, int]:
    """Level number of bodyparts, coords and (if any) individuals in the column index."""
    names = [str(n) if n is not None else "" for n in getattr(columns, "names", [None])]
    by_name = {name: i for i, name in enumerate(names) if name in _HEADER_NAMES}
    if "bodyparts" in by_name and "coords" in by_name:
        unknown = [n for i, n in enumerate(names) if i not in by_name.values()]
        if unknown or len(names) != len(by_name):
            raise DataError(
                f"{path}: the table's column levels are {names}; expected scorer, "
                "(individuals,) bodyparts, coords. Re-save the labels from DeepLabCut."
            )
        if "scorer" not in by_name:
            repairs.append(
                "no 'scorer' column level; the table was read without it (posekit does not "
                "use the scorer name)."
            )
        return by_name
    if len(names) not in (3, 4):
        raise DataError(
            f"{path}: the table has {len(names)} column level(s) {names}; expected 3 "
            "(scorer, bodyparts, coords) or 4 (scorer, individuals, bodyparts, coords)."
        )
    levels = {"bodyparts": len(names) - 2, "coords": len(names) - 1}
    if len(names) == 4:
        levels["individuals"] = 1
    return levels


def _h5_values(path: Path, df: Any, image_paths: list[str], where: list[str]) -> np.ndarray:
    """The table's cells as float64; DataError naming the first cell that is not a number."""
    import pandas as pd

    values = np.empty(df.shape, dtype=np.float64)
    for j in range(df.shape[1]):
        column = df.iloc[:, j]
        numbers = pd.to_numeric(column, errors="coerce")
        bad = np.flatnonzero(column.notna().to_numpy() & numbers.isna().to_numpy())
        if bad.size:
            r = int(bad[0])
            raise DataError(
                f"{path}: row {r + 1} ({image_paths[r]}), {where[j]}: {column.iloc[r]!r} is "
                "not a number; expected a coordinate in pixels or NaN for a missing point. "
                "Fix the value and re-save the table."
            )
        values[:, j] = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
    return values


def _read_h5(path: Path) -> DlcTable:
    """Read an ``.h5`` table (a pandas DataFrame stored with PyTables)."""
    repairs: list[str] = []
    df = _read_h5_frame(path)
    cols = df.columns
    levels = _h5_levels(path, cols, repairs)
    image_paths = [
        "/".join(str(p) for p in idx) if isinstance(idx, tuple) else str(idx) for idx in df.index
    ]
    image_paths = [p.replace("\\", "/") for p in image_paths]
    _check_image_names(path, image_paths, [f"row {i + 1}" for i in range(len(image_paths))])
    level = {name: [str(v) for v in cols.get_level_values(i)] for name, i in levels.items()}
    where = [f"column {c}" for c in cols]
    headers = ColumnHeaders(level["coords"], level["bodyparts"], level.get("individuals"), where)
    return _finish(path, image_paths, headers, _h5_values(path, df, image_paths, where), repairs)


def _check_points(path: Path, xy: np.ndarray, image_paths: list[str], names: list[str]) -> None:
    """Refuse infinite coordinates and points with only one of x / y."""
    bad = np.argwhere(np.isinf(xy).any(axis=-1) | (np.isnan(xy).sum(axis=-1) == 1))
    if bad.size:
        r, g = (int(v) for v in bad[0])
        x, y = ("empty" if np.isnan(v) else str(v) for v in xy[r, g])
        raise DataError(
            f"{path}: {image_paths[r]}: bodypart {names[g]} has x={x}, y={y}; expected two "
            "finite numbers, or both cells empty for a missing point. Fix the row."
        )


def _finish(
    path: Path,
    image_paths: list[str],
    headers: ColumnHeaders,
    values: np.ndarray,
    repairs: list[str],
) -> DlcTable:
    """Check and group the columns; the table's points (and likelihoods)."""
    layout = layout_columns(path, headers, values, repairs)
    xy = np.stack([values[:, layout.x], values[:, layout.y]], axis=-1)
    names = [f"{i}/{p}" if i else p for i, p in layout.groups]
    _check_points(path, xy, image_paths, names)
    likelihood = None
    if layout.likelihood is not None:
        likelihood = values[:, layout.likelihood]
        repairs.append(
            "has likelihood columns: these are DeepLabCut machine labels (network "
            "predictions), read as predicted instances with the likelihood as point scores. "
            "Training uses user-labelled instances only: refine the frames in DeepLabCut (or "
            "delete the likelihood columns) to train on them."
        )
    return DlcTable(
        path=path,
        image_paths=image_paths,
        individuals=[str(g[0]) for g in layout.groups] if headers.individuals is not None else None,
        bodyparts=[g[1] for g in layout.groups],
        xy=xy,
        likelihood=likelihood,
        repairs=list(repairs),
    )


def read_dlc_table(path: str | Path) -> DlcTable:
    """Read a ``CollectedData_*.h5`` or ``.csv`` table (or DLC machine labels).

    Each repair (listed in :attr:`DlcTable.repairs`) is also issued as a
    :class:`~posekit.io.repairs.LabelsRepairWarning`.

    Raises:
        DataError: the file is missing, is not a DeepLabCut annotation table, or is
            malformed (the message names the line / column and what was expected).
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found; expected a DeepLabCut annotation table.")
    if path.suffix.lower() in (".h5", ".hdf5"):
        table = _read_h5(path)
    elif path.suffix.lower() == ".csv":
        table = _read_csv(path)
    else:
        raise DataError(
            f"{path}: unsupported annotation file type '{path.suffix}'; expected "
            "CollectedData_<scorer>.h5 or .csv."
        )
    table.repairs = [report_repair(path, message) for message in table.repairs]
    return table
