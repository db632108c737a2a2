"""Metrics files: :func:`save_metrics` writes an :class:`EvaluationResult` atomically,
:func:`load_metrics` reads one back (schema in docs/metrics.md, "The metrics file")."""

from __future__ import annotations

import os
from pathlib import Path

from posekit.errors import DataError
from posekit.evaluation.results import EvaluationResult
from posekit.utils import atomic_write_text


def save_metrics(result: EvaluationResult, path: str | os.PathLike[str]) -> Path:
    """Write ``result`` as indented JSON to ``path`` atomically (undefined values -> null).

    Returns:
        The path written.
    """
    return atomic_write_text(path, result.to_json())


def load_metrics(path: str | os.PathLike[str]) -> EvaluationResult:
    """Read a metrics JSON written by :func:`save_metrics` (or by an older posekit).

    Raises:
        DataError: missing or unreadable file, not a metrics file, or a newer schema.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DataError(
            f"{path}: cannot read the metrics file ({exc}); expected a metrics JSON written "
            "by posekit eval or by training (metrics.val.json). Check the path."
        ) from exc
    return EvaluationResult.from_json(text, source=str(path))
