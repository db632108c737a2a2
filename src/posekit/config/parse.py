"""Turn plain YAML data (dicts, lists, scalars) into the schema dataclasses.

Every value is checked against the type annotation of its field. Problems are not raised
one at a time: they are collected (each naming its dotted YAML path) so that a file with
several mistakes is reported in one go. Keys sleap-nn writes that posekit does not use are
recorded as ignored; keys for features posekit does not have are errors when set; any
other unknown key is an error with a "did you mean" suggestion.
"""

from __future__ import annotations

import difflib
import re
import types
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from functools import cache
from typing import Any, Union, get_args, get_origin, get_type_hints

from posekit.config import sleap_nn_compat
from posekit.config.schema import INTERNAL

_FLOAT_TEXT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


@dataclass
class ParseReport:
    """Problems and ignored fields collected while building a config."""

    errors: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    # Sections in which an unsupported alternative (e.g. a segmentation head) was set.
    unsupported_in: set[str] = field(default_factory=set)

    def error(self, path: str, message: str) -> None:
        """Record a problem at ``path`` (a dotted YAML path)."""
        self.errors.append(f"{path or '<top level>'}: {message}")


class _Mismatch(Exception):
    """A value does not have the annotated type (internal signal)."""


@cache
def yaml_fields(cls: type) -> dict[str, Any]:
    """The YAML keys of a schema class mapped to their resolved type annotations."""
    hints = get_type_hints(cls)
    return {f.name: hints[f.name] for f in fields(cls) if not f.metadata.get(INTERNAL)}


def _is_optional(tp: Any) -> bool:
    return _is_union(tp) and type(None) in get_args(tp)


def _is_union(tp: Any) -> bool:
    return get_origin(tp) in (Union, types.UnionType)


def describe(tp: Any) -> str:
    """A short human description of a type annotation, for error messages."""
    if _is_union(tp):
        parts = [describe(a) for a in get_args(tp) if a is not type(None)]
        text = " or ".join(parts)
        return f"{text} or null" if _is_optional(tp) else text
    origin = get_origin(tp)
    if origin is list:
        (item,) = get_args(tp)
        inner = describe(item)
        for article in ("an ", "a "):
            word = inner[len(article) :]
            if inner.startswith(article) and " " not in word:
                return f"a list of {word}s"
        return f"a list whose items are {inner}"
    if origin is dict or tp is dict:
        return "a mapping"
    if is_dataclass(tp):
        return "a mapping (section)"
    return {
        bool: "a boolean (true/false)",
        int: "an integer",
        float: "a number",
        str: "a string",
    }.get(tp, getattr(tp, "__name__", str(tp)))


def show_value(value: Any) -> str:
    """A value as error messages show it: its repr (cut at 60 characters) and its type."""
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    kind = "null" if value is None else type(value).__name__
    kind = {"dict": "mapping", "list": "list", "str": "string", "bool": "boolean"}.get(kind, kind)
    return f"{text} ({kind})"


def _scalar(tp: type, value: Any) -> Any:
    """Convert a scalar or raise :class:`_Mismatch`."""
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        # PyYAML reads "1e-4" (no dot) as text; accept numeric text like OmegaConf does.
        if isinstance(value, str) and _FLOAT_TEXT.match(value.strip()):
            return float(value)
    elif tp is str:
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
    elif tp is Any:
        return value
    raise _Mismatch


def convert(tp: Any, value: Any, path: str, report: ParseReport) -> Any:
    """Convert ``value`` to the annotated type ``tp``; raise :class:`_Mismatch` on a type error.

    Problems inside nested sections are recorded in ``report`` instead of raised.
    """
    if _is_union(tp):
        args = [a for a in get_args(tp) if a is not type(None)]
        if value is None:
            if _is_optional(tp):
                return None
            raise _Mismatch
        for alternative in args:
            try:
                return convert(alternative, value, path, report)
            except _Mismatch:
                continue
        raise _Mismatch
    if is_dataclass(tp):
        if value is None:
            return tp()
        if not isinstance(value, Mapping):
            raise _Mismatch
        return build(tp, value, path, report)
    origin = get_origin(tp)
    if origin is list:
        if not isinstance(value, list):
            raise _Mismatch
        (item_tp,) = get_args(tp)
        out = []
        for i, item in enumerate(value):
            item_path = f"{path}[{i}]"
            try:
                out.append(convert(item_tp, item, item_path, report))
            except _Mismatch:
                report.error(item_path, f"expected {describe(item_tp)}, got {show_value(item)}")
        return out
    if origin is dict or tp is dict:
        if not isinstance(value, Mapping):
            raise _Mismatch
        return _plain_copy(value)
    return _scalar(tp, value)


def _plain_copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain_copy(v) for v in value]
    return value


def suggest(key: str, candidates: list[str]) -> str:
    """A "did you mean" sentence for an unknown ``key`` ("" when nothing is close)."""
    close = difflib.get_close_matches(key, candidates, n=2, cutoff=0.6)
    if not close:
        return ""
    return "did you mean " + " or ".join(f"'{c}'" for c in close) + "?"


def build(cls: type, data: Mapping[str, Any], path: str, report: ParseReport) -> Any:
    """Build schema class ``cls`` from the mapping ``data`` found at YAML ``path``."""
    known = yaml_fields(cls)
    ignored = sleap_nn_compat.IGNORED.get(cls, ())
    unsupported = sleap_nn_compat.UNSUPPORTED.get(cls, {})
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        sub = f"{path}.{key}" if path else str(key)
        if not isinstance(key, str):
            report.error(sub, f"keys must be text, got {show_value(key)}")
            continue
        if key in known:
            tp = known[key]
            try:
                kwargs[key] = convert(tp, value, sub, report)
            except _Mismatch:
                report.error(sub, f"expected {describe(tp)}, got {show_value(value)}")
        elif key in ignored:
            report.ignored.append(sub)
        elif key in unsupported:
            if value is not None:
                report.error(sub, unsupported[key])
                report.unsupported_in.add(path)
        else:
            hint = suggest(key, [*known, *ignored])
            section = f"'{path}'" if path else "the top level"
            expected = f"one of the fields of {section}: {', '.join(known)}."
            if hint:
                report.error(sub, f"unknown field; {hint} Expected {expected}")
            else:
                report.error(sub, f"unknown field; expected {expected}")
    return cls(**kwargs)
