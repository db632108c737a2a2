"""The one way a configuration is checked: rules keyed by the YAML path of a section.

A :class:`Rule` checks one section (a schema dataclass) found at a dotted YAML path and
returns a :class:`~posekit.config.problems.Problem` for each thing wrong with it. The
rules of a configuration are a table ``{section path pattern: (rules, ...)}``; a pattern
is a dotted path in which a part may hold ``*`` wildcards (``"model_config.head_configs.*.*"``
is every head's sub-section). :func:`run_rules` walks every section of a config, applies
each rule whose pattern matches, and returns every problem found (never only the first).

Common rules are built with :func:`number`, :func:`probability`, :func:`ordered`,
:func:`choice`, :func:`one_of` and :func:`distinct` (other one-field tests with
:func:`field_rule`); rules that relate several fields are plain generator functions
wrapped with :func:`rule`. A rule names the fields it
reads, and is skipped on a matched section that lacks one of them (a wildcard may match
sections of several kinds, e.g. a backbone without ``filters``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields, is_dataclass
from fnmatch import fnmatchcase
from typing import Any

from posekit.config.parse import suggest
from posekit.config.problems import Problem
from posekit.config.schema import INTERNAL

Check = Callable[[Any, str], Iterable[Problem]]
"""``check(section, section_path)``: the problems of one section."""


@dataclass(frozen=True)
class Rule:
    """A check of one config section.

    Attributes:
        fields: The section's fields the check reads; the rule does not apply to a
            section lacking any of them.
        check: ``check(section, section_path)`` yielding :class:`Problem` objects.
    """

    fields: tuple[str, ...]
    check: Check

    def __call__(self, section: Any, path: str) -> list[Problem]:
        """The problems of ``section`` (found at YAML ``path``) under this rule."""
        if not all(hasattr(section, name) for name in self.fields):
            return []
        return list(self.check(section, path))


RuleTable = Mapping[str, Sequence[Rule]]
"""Rules by section path pattern (see the module docstring)."""


def rule(*names: str) -> Callable[[Check], Rule]:
    """Decorator: turn a generator ``check(section, path)`` reading ``names`` into a Rule."""

    def wrap(check: Check) -> Rule:
        return Rule(names, check)

    return wrap


def join(path: str, name: str) -> str:
    """The dotted YAML path of field ``name`` inside the section at ``path``."""
    return f"{path}.{name}" if path else name


def matches(pattern: str, path: str) -> bool:
    """Whether dotted ``path`` matches ``pattern`` (``*`` never crosses a dot)."""
    wanted = pattern.split(".") if pattern else []
    parts = path.split(".") if path else []
    return len(wanted) == len(parts) and all(map(fnmatchcase, parts, wanted))


def sections(obj: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Yield ``(path, section)`` for ``obj`` and every section below it, depth first."""
    yield path, obj
    for f in fields(obj):
        value = getattr(obj, f.name)
        if is_dataclass(value) and not f.metadata.get(INTERNAL):
            yield from sections(value, join(path, f.name))


def run_rules(table: RuleTable, obj: Any, path: str = "") -> list[Problem]:
    """Every problem the rules of ``table`` find in ``obj`` (at ``path``) and below it."""
    problems: list[Problem] = []
    for sub_path, section in sections(obj, path):
        for pattern, rules in table.items():
            if matches(pattern, sub_path):
                for one in rules:
                    problems += one(section, sub_path)
    return problems


def is_real(value: Any) -> bool:
    """True for an int or float (not a bool)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _range_text(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    parts = []
    if low is not None:
        parts.append(f"{'>' if low_open else '>='} {low}")
    if high is not None:
        parts.append(f"{'<' if high_open else '<='} {high}")
    return "a number " + " and ".join(parts) if parts else "a finite number"


def _default_hint(section: Any, name: str) -> str:
    default = next(f.default for f in fields(section) if f.name == name)
    if is_real(default):
        return f"The default is {default!r}."
    if default is None:
        return "Or set it to null (the default)."
    return "Choose a value in that range."


def number(
    name: str,
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
    high_open: bool = False,
    hint: str = "",
) -> Rule:
    """Rule: field ``name`` (a number, or a list of numbers) is finite and within bounds.

    ``low`` / ``high`` are inclusive unless ``low_open`` / ``high_open``. ``null`` and
    non-numbers pass (types are checked when the file is read). ``hint`` is the
    suggestion; by default it names the field's default value.
    """
    expected = _range_text(low, high, low_open, high_open)

    def inside(v: float) -> bool:
        if not math.isfinite(v):
            return False
        above = low is None or (v > low if low_open else v >= low)
        below = high is None or (v < high if high_open else v <= high)
        return above and below

    @rule(name)
    def check(section: Any, path: str) -> Iterator[Problem]:
        value = getattr(section, name)
        for v in value if isinstance(value, list) else [value]:
            if is_real(v) and not inside(v):
                where = join(path, name)
                yield Problem(
                    where,
                    f"value {v!r} is out of range",
                    expected,
                    hint or _default_hint(section, name),
                )
                return

    return check


def field_rule(
    name: str,
    is_wrong: Callable[[Any], bool],
    wrong: Callable[[Any], str],
    expected: str,
    suggestion: str | Callable[[Any], str],
) -> Rule:
    """Rule on one field: a problem when ``is_wrong(value)``.

    ``wrong(value)`` says what was found; ``suggestion`` is text, or a function of the
    value giving it.
    """

    @rule(name)
    def check(section: Any, path: str) -> Iterator[Problem]:
        value = getattr(section, name)
        if is_wrong(value):
            hint = suggestion if isinstance(suggestion, str) else suggestion(value)
            yield Problem(join(path, name), wrong(value), expected, hint)

    return check


def probability(name: str, hint: str = "") -> Rule:
    """Rule: field ``name`` is a probability in ``[0, 1]`` (``null`` passes).

    ``hint`` is the suggestion (by default: what 0 and 1 mean).
    """
    return field_rule(
        name,
        lambda v: is_real(v) and not 0.0 <= v <= 1.0,
        lambda v: f"probability {v!r} is outside [0, 1]",
        "a number between 0 and 1",
        hint or "Use 0 to never apply it and 1 to always.",
    )


def ordered(low_name: str, high_name: str) -> Rule:
    """Rule: ``low_name <= high_name`` when both are numbers."""

    @rule(low_name, high_name)
    def check(section: Any, path: str) -> Iterator[Problem]:
        low, high = getattr(section, low_name), getattr(section, high_name)
        if is_real(low) and is_real(high) and low > high:
            yield Problem(
                join(path, low_name),
                f"{low_name} ({low!r}) is greater than {high_name} ({high!r})",
                f"{low_name} <= {high_name}",
                "Swap them or fix one.",
            )

    return check


def _choice_hint(value: Any, options: Sequence[Any]) -> str:
    names = [str(c) for c in options if c is not None]
    if isinstance(value, str):
        folded = {n.lower(): n for n in names}
        if value.lower() in folded:
            return f"Did you mean '{folded[value.lower()]}'? (names are case-sensitive)"
        close = suggest(value, names)
        if close:
            return close[0].upper() + close[1:]
    return "Use one of these names exactly as written."


def choice(name: str, options: Sequence[Any]) -> Rule:
    """Rule: field ``name`` is one of ``options`` (``None`` among them allows null)."""
    allowed = ", ".join("null" if c is None else str(c) for c in options)
    return field_rule(
        name,
        lambda v: v not in options,
        lambda v: f"unknown value {v!r}",
        f"one of {allowed}",
        lambda v: _choice_hint(v, options),
    )


def one_of(names: Sequence[str], what: str, exactly: bool) -> Rule:
    """Rule: exactly one (or at most one) of the sub-sections ``names`` is set."""
    how_many = "exactly one" if exactly else "at most one"

    @rule(*names)
    def check(section: Any, path: str) -> Iterator[Problem]:
        chosen = [n for n in names if getattr(section, n) is not None]
        if len(chosen) == 1 or (not exactly and not chosen):
            return
        yield Problem(
            path,
            f"{how_many} {what} must be set, found {', '.join(chosen) or 'none'}",
            f"one of {', '.join(names)}",
            "Keep the one you want and set the others to null.",
        )

    return check


def distinct(name: str) -> Rule:
    """Rule: the list in field ``name`` has no repeated items (``null`` passes)."""
    return field_rule(
        name,
        lambda v: isinstance(v, list) and len(set(map(str, v))) != len(v),
        lambda v: f"names are repeated in {v!r}",
        "distinct names",
        "Remove the repeated names.",
    )
