"""What the metadata CSV says about each labelled recording, for the dataset audit.

The audit reads the metadata with :func:`posekit.refinement.metadata.read_metadata` and
matches recordings with :meth:`VideoMetadata.lookup` (same rules as ``posekit labels
split``). Unlike the split, the audit does not stop at a recording without a row or with an
empty cell: it names them and counts their frames under ``(no metadata)`` /
``(empty)``.

Column roles: ``animal`` and ``session`` (when present) get their own tables; the
*condition columns* are the ones named with ``--condition``, by default every other column
(``treatment``, ``dose``, ``camera``, ``arena``...).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from posekit.errors import DataError
from posekit.refinement.metadata import VideoMetadata

if TYPE_CHECKING:
    import sleap_io as sio

NO_ROW = "(no metadata)"
EMPTY = "(empty)"
ANIMAL_COLUMN = "animal"
SESSION_COLUMN = "session"


@dataclass(frozen=True)
class RecordingRows:
    """The metadata of each labelled recording.

    Attributes:
        path: the CSV.
        rows: per recording, ``{column: value}`` (:data:`NO_ROW` for every column when the
            recording has no row, :data:`EMPTY` for empty cells).
        unmatched: recordings without a row.
        condition_columns: the columns that define conditions.
        animal_column, session_column: the identity columns used (None when absent).
        listed: per column, the values over all rows of the CSV (labelled or not).
        unlabelled_rows: rows of the CSV no labelled recording matched (approximate:
            rows are compared by their values).
        csv_rows: every row of the CSV.
    """

    path: str
    rows: tuple[dict[str, str], ...]
    unmatched: tuple[str, ...]
    condition_columns: tuple[str, ...]
    animal_column: str | None
    session_column: str | None
    listed: dict[str, tuple[str, ...]] = field(default_factory=dict)
    unlabelled_rows: int = 0
    csv_rows: tuple[dict[str, str], ...] = ()


def _row(metadata: VideoMetadata, video: sio.Video) -> dict[str, str] | None:
    """The row of one video, empty cells as :data:`EMPTY`; None when it has no row."""
    try:
        return metadata.lookup([video])[0]
    except DataError:
        pass
    row: dict[str, str] = {}
    for column in metadata.columns:
        try:
            row[column] = metadata.lookup([video], [column])[0][column]
        except DataError:
            row[column] = EMPTY
    return None if all(v == EMPTY for v in row.values()) else row


def recording_rows(metadata: VideoMetadata, videos: Sequence[sio.Video],
                   names: Sequence[str], condition_columns: Sequence[str] | None = None,
                   animal_column: str = ANIMAL_COLUMN,
                   session_column: str = SESSION_COLUMN) -> RecordingRows:
    """Look up every recording (one ``sio.Video`` each) in the metadata.

    Raises:
        DataError: a named condition column is not in the CSV.
    """
    columns = list(metadata.columns)
    if condition_columns:
        missing = [c for c in condition_columns if c not in columns]
        if missing:
            raise DataError(
                f"{metadata.path}: no column {missing} in the metadata (columns: {columns}); "
                "expected the --condition columns in the CSV. Name existing columns."
            )
        conditions = list(condition_columns)
    else:
        conditions = [c for c in columns if c not in (animal_column, session_column)]
    rows, unmatched = [], []
    for video, name in zip(videos, names):
        row = _row(metadata, video)
        if row is None:
            unmatched.append(name)
            row = {c: NO_ROW for c in columns}
        rows.append(row)
    listed = {c: tuple(dict.fromkeys(r.get(c) or EMPTY for r in metadata.rows)) for c in columns}
    matched = {tuple(r.get(c, "") for c in columns) for r in rows}
    unlabelled = sum(tuple((r.get(c) or EMPTY) for c in columns) not in matched
                     for r in metadata.rows)
    return RecordingRows(
        path=str(metadata.path), rows=tuple(rows), unmatched=tuple(unmatched),
        condition_columns=tuple(conditions),
        animal_column=animal_column if animal_column in columns else None,
        session_column=session_column if session_column in columns else None,
        listed=listed, unlabelled_rows=int(unlabelled), csv_rows=tuple(metadata.rows))
