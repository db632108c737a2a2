"""Writing metrics to disk: JSON-safe conversion and atomic save."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from posekit.utils import atomic_write_text


def to_json_safe(value: Any) -> Any:
    """Convert numpy scalars / arrays to Python values and NaN / inf to None, recursively."""
    if isinstance(value, Mapping):
        return {str(k): to_json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return [to_json_safe(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


def save_metrics(metrics: Mapping[str, Any], path: str | os.PathLike[str]) -> Path:
    """Write ``metrics`` as indented JSON to ``path`` atomically (undefined values -> null).

    Returns:
        The path written.
    """
    text = json.dumps(to_json_safe(metrics), indent=2, allow_nan=False)
    return atomic_write_text(path, text + "\n")


def load_metrics(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a metrics JSON written by :func:`save_metrics`."""
    return json.loads(Path(path).read_text(encoding="utf-8"))
