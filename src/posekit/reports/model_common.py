"""What the model report's sections share: the guide's bands, JSON conversion, wording.

The bands are the refinement guide's target values ("Key quantitative metrics"): a value
is ``"excellent"``, ``"good"`` or ``"poor"`` (outside both targets). They are a reading
aid, not a law: a 4-pixel error is excellent on a 1000-pixel rat and poor on a 20-pixel fly,
which is why the report also gives the error as a share of the animal's size.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Self

import numpy as np

from posekit.evaluation.records import threshold_key


@dataclass(frozen=True)
class Band:
    """A target of the guide for one metric.

    Attributes:
        metric: what is rated.
        excellent: the excellent limit.
        good: the good limit (None: the guide gives only the excellent one).
        higher_is_better: True for confidences, False for errors.
        unit: how limits are written (``"px"``, ``"%"`` for fractions shown as percent,
            ``""`` for plain numbers).
    """

    metric: str
    excellent: float
    good: float | None
    higher_is_better: bool
    unit: str = ""

    def rate(self, value: float | None) -> str | None:
        """``"excellent"``, ``"good"`` or ``"poor"``; None for an undefined value."""
        if value is None or not math.isfinite(value):
            return None
        better = (lambda v, limit: v > limit) if self.higher_is_better else (
            lambda v, limit: v < limit)
        if better(value, self.excellent):
            return "excellent"
        if self.good is not None and better(value, self.good):
            return "good"
        return "poor"

    def describe(self) -> str:
        """The limits in words, e.g. ``"< 15 % good, < 5 % excellent"``."""
        sign = ">" if self.higher_is_better else "<"
        parts = []
        if self.good is not None:
            parts.append(f"{sign} {self._limit(self.good)} good")
        parts.append(f"{sign} {self._limit(self.excellent)} excellent")
        return ", ".join(parts)

    def _limit(self, value: float) -> str:
        if self.unit == "%":
            return f"{value * 100:g} %"
        return f"{value:g} {self.unit}".strip()

    def to_dict(self) -> dict[str, Any]:
        """The band's JSON object."""
        return {"metric": self.metric, "excellent": self.excellent, "good": self.good,
                "higher_is_better": self.higher_is_better, "unit": self.unit}


MEAN_ERROR_BAND = Band("mean pixel error", 2.0, 5.0, False, "px")
"""Mean pixel error: < 5 px good, < 2 px excellent (guide, "Mean Pixel Error")."""
TRAIN_TEST_GAP_BAND = Band("train-test error gap", 0.05, 0.15, False, "%")
"""Relative rise of the test error over the train error: < 15 % good, < 5 % excellent."""
SIZE_ERROR_BAND = Band("error as a share of animal size", 0.05, None, False, "%")
"""Mean error over the animal's size: < 5 % excellent (guide, "Normalize by Animal Size")."""
CONFIDENCE_BAND = Band("median prediction score", 0.99, 0.9, True)
"""Median predicted score over videos: > 0.9 good, > 0.99 excellent."""
COHORT_RISE_THRESHOLD = 0.05
"""A held-out cohort whose RMSE rises more than this (relative) is flagged (guide: > 5 %)."""


def to_plain(value: Any) -> Any:
    """``value`` as JSON-ready data: dataclasses via their ``to_dict`` (else field by
    field), tuples as lists, float mapping keys as threshold keys (``5.0`` -> ``"5"``),
    numpy scalars as Python numbers and non-finite floats as None."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        if hasattr(value, "to_dict"):
            return value.to_dict()
        return {f.name: to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)
                if not f.name.startswith("_")}
    if isinstance(value, Mapping):
        return {(threshold_key(k) if isinstance(k, float) else str(k)): to_plain(v)
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return [to_plain(v) for v in value.tolist()]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value


def from_plain(kind: Any, data: Any) -> Any:
    """Read JSON data written by :func:`to_plain` back as ``kind`` (a type hint: a
    :class:`Record` or :class:`Band`, ``tuple[X, ...]``, ``dict[K, V]``, ``X | None``,
    ``str``, ``int``, ``float``, ``bool``)."""
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        if data is None:
            return None
        options = [a for a in typing.get_args(kind) if a is not type(None)]
        return from_plain(options[0], data)
    if origin is tuple:
        item = typing.get_args(kind)[0]
        return tuple(from_plain(item, v) for v in data)
    if origin is dict:
        key, value = typing.get_args(kind)
        return {(float(k) if key is float else k): from_plain(value, v) for k, v in data.items()}
    if dataclasses.is_dataclass(kind):
        hints = typing.get_type_hints(kind)
        return kind(**{f.name: from_plain(hints[f.name], data[f.name])
                       for f in dataclasses.fields(kind) if f.name in data})
    if kind is float and data is not None:
        return float(data)
    return data


class Record:
    """Mixin: ``to_dict()`` / ``from_dict()`` of a frozen dataclass, field by field with
    :func:`to_plain` / :func:`from_plain` (a result read back equals the one written)."""

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of this record (field names as keys)."""
        record: Any = self
        return {f.name: to_plain(getattr(record, f.name)) for f in dataclasses.fields(record)
                if not f.name.startswith("_")}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Read the record back from :meth:`to_dict` output."""
        return from_plain(cls, data)


def finite(value: Any) -> float | None:
    """``value`` as a float, or None when it is None or not finite."""
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def fmt_p(p: float | None) -> str:
    """A p-value for a sentence: ``0.032``, ``0.0007`` or ``2.1e-09``."""
    if p is None:
        return "n/a"
    if p >= 0.001:
        return f"{p:.3f}".rstrip("0").rstrip(".") if p < 1 else "1"
    if p >= 0.0001:
        return f"{p:.4f}"
    return f"{p:.1e}"


def fmt_px(value: float | None, digits: int = 1) -> str:
    """A pixel value for a sentence (``"n/a"`` when undefined)."""
    return "n/a" if value is None else f"{value:.{digits}f} px"


def fmt_share(value: float | None, digits: int = 0) -> str:
    """A fraction as a percentage for a sentence (``0.6`` -> ``"60 %"``)."""
    return "n/a" if value is None else f"{value * 100:.{digits}f} %"
