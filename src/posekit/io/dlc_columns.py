"""Checking and grouping the coordinate columns of a DeepLabCut table.

A DeepLabCut ``CollectedData`` table names each coordinate column by ``(individual,
bodypart, coords)`` (single-animal tables have no individual). posekit expects exactly
one ``x`` and one ``y`` column per ``(individual, bodypart)``; machine-labelled tables
(``machinelabels-iter*.h5``, analysed-video tables) add one ``likelihood`` column each.
Everything else is either repaired and reported (an exact duplicate column) or refused
with a :class:`~posekit.errors.DataError` naming the file and the column.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from posekit.errors import DataError

COORDS = ("x", "y", "likelihood")
Key = tuple[str | None, str]


@dataclass
class ColumnHeaders:
    """The header cells of each coordinate column of a table.

    Attributes:
        coords: ``x`` / ``y`` / ``likelihood`` of each column.
        bodyparts: the bodypart of each column.
        individuals: the individual of each column (None in single-animal tables).
        where: how to name each column in a message (``"column 5 (head x)"``).
    """

    coords: list[str]
    bodyparts: list[str]
    individuals: list[str] | None
    where: list[str]


@dataclass
class ColumnLayout:
    """Where each ``(individual, bodypart)`` group's coordinates are.

    Attributes:
        groups: ``(individual or None, bodypart)`` in file order.
        x: column index of each group's ``x``.
        y: column index of each group's ``y``.
        likelihood: column index of each group's ``likelihood`` (None when the table has
            no likelihood columns).
    """

    groups: list[Key]
    x: np.ndarray
    y: np.ndarray
    likelihood: np.ndarray | None


def group_name(key: Key) -> str:
    """``individual/bodypart`` (or just ``bodypart``) for messages."""
    individual, part = key
    return f"{individual}/{part}" if individual else part


def _check_names(
    path: Path,
    coords: list[str],
    bodyparts: list[str],
    individuals: list[str] | None,
    where: list[str],
) -> None:
    """Refuse empty header cells and coordinate names other than x / y / likelihood."""
    levels = [("bodyparts", bodyparts), ("coords", coords)]
    if individuals is not None:
        levels.insert(0, ("individuals", individuals))
    for level, cells in levels:
        for j, cell in enumerate(cells):
            if not cell.strip():
                named = " and ".join(name for name, _ in levels)
                raise DataError(
                    f"{path}: {where[j]} has an empty '{level}' header cell; expected every "
                    f"coordinate column to name its {named}. Name the column or delete it."
                )
    unknown = sorted({c for c in coords if c not in COORDS})
    if unknown:
        first = where[next(j for j, c in enumerate(coords) if c in unknown)]
        raise DataError(
            f"{path}: unknown coordinate name(s) {unknown} in the 'coords' header (first at "
            f"{first}); expected 'x' and 'y' for every bodypart, plus 'likelihood' in "
            "machine-labelled tables. Rename the cells (the names are case-sensitive)."
        )


def _differing_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row indices where two columns differ (NaN equals NaN)."""
    return np.flatnonzero(~((a == b) | (np.isnan(a) & np.isnan(b))))


def _pick_column(
    path: Path,
    key: Key,
    coord: str,
    columns: list[int],
    values: np.ndarray,
    where: list[str],
    repairs: list[str],
) -> int:
    """The one column of ``key``/``coord``; identical duplicates are dropped and reported."""
    first = columns[0]
    hint = (
        " (Or is this a multi-animal table that lost its 'individuals' header row?)"
        if key[0] is None
        else ""
    )
    for other in columns[1:]:
        differ = _differing_rows(values[:, first], values[:, other])
        if differ.size:
            row = int(differ[0])
            raise DataError(
                f"{path}: {group_name(key)} has two '{coord}' columns with different values "
                f"({where[first]} and {where[other]}; data row {row + 1}: "
                f"{values[row, first]} vs {values[row, other]}); expected one '{coord}' "
                f"column per bodypart. Delete the wrong column.{hint}"
            )
    if len(columns) > 1:
        extra = ", ".join(where[j] for j in columns[1:])
        repairs.append(
            f"duplicate '{coord}' column(s) of {group_name(key)} ({extra}) hold the same "
            f"values as {where[first]}; the duplicates were ignored."
        )
    return first


def layout_columns(
    path: Path, headers: ColumnHeaders, values: np.ndarray, repairs: list[str]
) -> ColumnLayout:
    """Group the coordinate columns by ``(individual, bodypart)``.

    Args:
        path: the table (for messages).
        headers: the header cells of each coordinate column.
        values: ``(n_rows, n_columns)`` coordinates (to compare duplicated columns).
        repairs: repair messages are appended here.

    Raises:
        DataError: an empty header cell, an unknown coordinate name, two different
            columns for the same coordinate, an x without its y (or the reverse), or
            likelihood columns for some bodyparts only.
    """
    where = headers.where
    coords = [c.strip() for c in headers.coords]
    bodyparts = [b.strip() for b in headers.bodyparts]
    individuals = (
        [i.strip() for i in headers.individuals] if headers.individuals is not None else None
    )
    _check_names(path, coords, bodyparts, individuals, where)
    columns: dict[Key, dict[str, list[int]]] = {}
    for j, (coord, part) in enumerate(zip(coords, bodyparts, strict=True)):
        key = (individuals[j] if individuals is not None else None, part)
        columns.setdefault(key, {}).setdefault(coord, []).append(j)
    incomplete = [k for k, c in columns.items() if "x" not in c or "y" not in c]
    if incomplete:
        names = ", ".join(f"{group_name(k)} (has {sorted(columns[k])})" for k in incomplete)
        raise DataError(
            f"{path}: bodyparts without both x and y columns: {names}; expected an x and a "
            "y column per bodypart. Re-save the labels from DeepLabCut, or add the missing "
            "column (empty cells for missing points)."
        )
    with_lik = [k for k, c in columns.items() if "likelihood" in c]
    if with_lik and len(with_lik) != len(columns):
        names = [group_name(k) for k, c in columns.items() if "likelihood" not in c]
        raise DataError(
            f"{path}: likelihood columns for some bodyparts only (none for {names}); "
            "expected a likelihood column for every bodypart (machine labels) or for none "
            "(labelled data). Re-export the table from DeepLabCut."
        )
    groups = list(columns)
    picked = {
        coord: np.array(
            [
                _pick_column(path, k, coord, columns[k][coord], values, where, repairs)
                for k in groups
            ],
            dtype=np.intp,
        )
        for coord in (COORDS if with_lik else COORDS[:2])
    }
    return ColumnLayout(groups, picked["x"], picked["y"], picked.get("likelihood"))
