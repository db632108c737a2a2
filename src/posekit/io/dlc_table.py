"""Reading one DeepLabCut ``CollectedData_<scorer>.h5`` / ``.csv`` annotation table.

Both files hold the same table: one row per labelled image, columns grouped by
``(individual, bodypart)`` with ``x`` / ``y`` coordinates (multi-animal projects add an
``individuals`` header row; single-animal ones have none). Missing points are empty
CSV cells / NaN in the H5 file. The image path is either one column
(``labeled-data/<video>/img001.png``) or, in newer DeepLabCut versions, three
(``labeled-data``, ``<video>``, ``img001.png``).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from posekit.errors import DataError

_HEADER_NAMES = ("scorer", "individuals", "bodyparts", "coords")


@dataclass
class DlcTable:
    """The content of one annotation table.

    Attributes:
        path: the file it was read from.
        image_paths: one stored image path per row, ``/``-separated.
        individuals: individual of each column group (None in single-animal tables).
        bodyparts: bodypart of each column group.
        xy: ``float64 (n_rows, n_groups, 2)`` coordinates, NaN where missing.
    """

    path: Path
    image_paths: list[str]
    individuals: list[str] | None
    bodyparts: list[str]
    xy: np.ndarray

    @property
    def is_multianimal(self) -> bool:
        """Whether the table has an ``individuals`` header row."""
        return self.individuals is not None


def _group_columns(
    path: Path, coords: list[str], bodyparts: list[str], individuals: list[str] | None
) -> tuple[list[tuple[str | None, str]], np.ndarray, np.ndarray]:
    """Column indices of x and y for each (individual, bodypart) group, in file order."""
    groups: list[tuple[str | None, str]] = []
    x_cols: dict[tuple[str | None, str], int] = {}
    y_cols: dict[tuple[str | None, str], int] = {}
    for j, (coord, part) in enumerate(zip(coords, bodyparts, strict=True)):
        key = (individuals[j] if individuals is not None else None, part)
        if coord not in ("x", "y"):
            continue  # e.g. "likelihood" in machine-labelled tables
        if key not in x_cols and key not in y_cols:
            groups.append(key)
        (x_cols if coord == "x" else y_cols)[key] = j
    missing = [k for k in groups if k not in x_cols or k not in y_cols]
    if missing:
        names = ", ".join(f"{ind + '/' if ind else ''}{part}" for ind, part in missing)
        raise DataError(
            f"{path}: bodyparts without both x and y columns: {names}; expected an x and a "
            "y column per bodypart. Re-save the labels from DeepLabCut."
        )
    return groups, np.array([x_cols[g] for g in groups]), np.array([y_cols[g] for g in groups])


def _read_csv(path: Path) -> DlcTable:
    with open(path, newline="", encoding="utf-8-sig") as fh:
        rows = [row for row in csv.reader(fh) if row]
    header = {}
    n_header = 0
    for row in rows:
        if row[0].strip() not in _HEADER_NAMES:
            break
        header[row[0].strip()] = row
        n_header += 1
    if "bodyparts" not in header or "coords" not in header:
        raise DataError(
            f"{path}: not a DeepLabCut annotation table (no 'bodyparts' and 'coords' header "
            "rows); expected the CollectedData_<scorer>.csv written by DeepLabCut."
        )
    coords_row = header["coords"]
    n_index = 1
    while n_index < len(coords_row) and coords_row[n_index].strip() == "":
        n_index += 1
    width = len(coords_row)
    body = [row + [""] * (width - len(row)) for row in rows[n_header:]]
    header = {k: row + [""] * (width - len(row)) for k, row in header.items()}
    try:
        values = np.array(
            [[float(c) if c.strip() else np.nan for c in row[n_index:width]] for row in body],
            dtype=np.float64,
        ).reshape(len(body), width - n_index)
    except ValueError as exc:
        raise DataError(
            f"{path}: a coordinate cell is not a number ({exc}); expected numbers or empty "
            "cells for missing points. Open the file and fix the offending row."
        ) from exc
    image_paths = ["/".join(c.strip() for c in row[:n_index] if c.strip()) for row in body]
    individuals = header["individuals"][n_index:width] if "individuals" in header else None
    return _finish(
        path,
        image_paths,
        coords_row[n_index:width],
        header["bodyparts"][n_index:width],
        individuals,
        values,
    )


def _read_h5(path: Path) -> DlcTable:
    import pandas as pd

    try:
        with pd.HDFStore(path, mode="r") as store:
            keys = store.keys()
            key = "/df_with_missing" if "/df_with_missing" in keys else (keys[0] if keys else None)
            if key is None:
                raise DataError(f"{path}: the HDF5 file holds no table; expected a DLC table.")
            df = store[key]
    except DataError:
        raise
    except Exception as exc:
        raise DataError(
            f"{path}: cannot be read as a DeepLabCut annotation table ({exc}); expected the "
            "CollectedData_<scorer>.h5 written by DeepLabCut (pandas/PyTables). Use the "
            ".csv next to it, or re-save the labels from DeepLabCut."
        ) from exc
    cols = df.columns
    names = [str(n) if n is not None else "" for n in getattr(cols, "names", [])]
    if getattr(cols, "nlevels", 1) not in (3, 4):
        raise DataError(
            f"{path}: the table has {cols.nlevels} column levels; expected 3 (scorer, "
            "bodyparts, coords) or 4 (scorer, individuals, bodyparts, coords)."
        )
    level = {name: i for i, name in enumerate(names) if name in _HEADER_NAMES}
    bp_level = level.get("bodyparts", cols.nlevels - 2)
    coord_level = level.get("coords", cols.nlevels - 1)
    ind_level = level.get("individuals", 1 if cols.nlevels == 4 else None)
    individuals = (
        [str(v) for v in cols.get_level_values(ind_level)] if ind_level is not None else None
    )
    index = [
        "/".join(str(p) for p in idx) if isinstance(idx, tuple) else str(idx) for idx in df.index
    ]
    return _finish(
        path,
        index,
        [str(v) for v in cols.get_level_values(coord_level)],
        [str(v) for v in cols.get_level_values(bp_level)],
        individuals,
        df.to_numpy(dtype=np.float64, na_value=np.nan),
    )


def _finish(
    path: Path,
    image_paths: list[str],
    coords: list[str],
    bodyparts: list[str],
    individuals: list[str] | None,
    values: np.ndarray,
) -> DlcTable:
    groups, x_idx, y_idx = _group_columns(path, coords, bodyparts, individuals)
    if not groups:
        raise DataError(
            f"{path}: no x/y coordinate columns found; expected a DeepLabCut annotation table."
        )
    xy = np.stack([values[:, x_idx], values[:, y_idx]], axis=-1)
    return DlcTable(
        path=path,
        image_paths=[p.replace("\\", "/") for p in image_paths],
        individuals=[g[0] for g in groups] if individuals is not None else None,  # type: ignore[misc]
        bodyparts=[g[1] for g in groups],
        xy=xy,
    )


def read_dlc_table(path: str | Path) -> DlcTable:
    """Read a ``CollectedData_*.h5`` or ``.csv`` table.

    Raises:
        DataError: the file is missing or is not a DeepLabCut annotation table.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found; expected a DeepLabCut annotation table.")
    if path.suffix.lower() in (".h5", ".hdf5"):
        return _read_h5(path)
    if path.suffix.lower() == ".csv":
        return _read_csv(path)
    raise DataError(
        f"{path}: unsupported annotation file type '{path.suffix}'; expected "
        "CollectedData_<scorer>.h5 or .csv."
    )
