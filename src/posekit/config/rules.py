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

Settings dataclasses outside the training configuration (tracking, grouping, evaluation,
preprocessing, the synthetic renderer) are checked the same way, from their own
``__post_init__``, with :func:`check_settings`: each field's value is checked against
(and converted to) its type annotation, then the rules of their table run, and one
:class:`~posekit.config.problems.InvalidConfigError` lists every problem.
:func:`settings_from_dict` builds one from a YAML section or command-line options, adding
unknown keys (with a did-you-mean) to the same list.
"""

from __future__ import annotations

import math
import numbers
import types
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import MISSING, dataclass, fields, is_dataclass
from fnmatch import fnmatchcase
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

from posekit.config.parse import describe, show_value, suggest, yaml_fields
from posekit.config.problems import InvalidConfigError, Problem, raise_if_problems
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
    """Rule: field ``name`` (a number, or a list or tuple of numbers) is finite and within bounds.

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
        for v in value if isinstance(value, (list, tuple)) else [value]:
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
    """Rule: the list (or tuple) in field ``name`` has no repeated items (``null`` passes)."""
    return field_rule(
        name,
        lambda v: isinstance(v, (list, tuple)) and len(set(map(str, v))) != len(v),
        lambda v: f"names are repeated in {v!r}",
        "distinct names",
        "Remove the repeated names.",
    )


def non_empty(name: str, hint: str) -> Rule:
    """Rule: the list (or tuple) in field ``name`` holds at least one item (``null`` passes)."""
    return field_rule(
        name,
        lambda v: isinstance(v, (list, tuple)) and not v,
        lambda v: "the list is empty",
        "at least one value",
        hint,
    )


# ------------------------------------------------------------------ settings dataclasses

_T = TypeVar("_T")
_UNIONS = (Union, types.UnionType)
_SEQUENCES = (tuple, list, Sequence)


def _conform_items(value: Any, origin: Any, args: tuple[Any, ...]) -> tuple[bool, Any]:
    """:func:`conform` for ``tuple[...]``, ``list[...]`` and ``Sequence[...]``."""
    if hasattr(value, "tolist") and getattr(value, "ndim", None) == 1:
        value = value.tolist()  # a 1-d numpy array
    if not isinstance(value, (list, tuple)):
        return False, value
    if origin is tuple and args and args[-1] is not Ellipsis:
        if len(value) != len(args):
            return False, value
        kinds = args
    else:
        kinds = (args[0] if args else Any,) * len(value)
    pairs = [conform(item, kind) for item, kind in zip(value, kinds)]
    if not all(ok for ok, _ in pairs):
        return False, value
    items = [item for _, item in pairs]
    return True, (items if origin is list else tuple(items))


def conform(value: Any, tp: Any) -> tuple[bool, Any]:
    """Whether ``value`` has the annotated type ``tp``, and the value converted to it.

    Numbers become plain Python numbers (numpy scalars too; an integer given for a
    ``float`` becomes a float; ``bool`` is never a number), lists, tuples and 1-d numpy
    arrays become tuples for ``tuple[...]`` / ``Sequence[...]`` (lists for ``list[...]``)
    and mappings ``dict``. For ``Literal[...]`` only the type of its values is checked
    (which values is a :func:`choice` rule's job, with its did-you-mean). Other classes
    are checked with ``isinstance``; ``Any`` and unknown annotations pass.
    """
    origin, args = get_origin(tp), get_args(tp)
    if origin in _UNIONS:
        for alternative in args:
            ok, out = conform(value, alternative)
            if ok:
                return True, out
        return False, value
    if origin is Literal:
        return conform(value, type(args[0]))
    if tp is int or tp is float:
        kind = numbers.Integral if tp is int else numbers.Real
        ok = isinstance(value, kind) and not isinstance(value, bool)
        return ok, (tp(value) if ok else value)
    if origin in _SEQUENCES:
        return _conform_items(value, origin, args)
    if origin in (dict, Mapping):
        key_tp, value_tp = args or (Any, Any)
        if not isinstance(value, Mapping):
            return False, value
        pairs = [(conform(k, key_tp), conform(v, value_tp)) for k, v in value.items()]
        if not all(k_ok and v_ok for (k_ok, _), (v_ok, _) in pairs):
            return False, value
        return True, {k: v for (_, k), (_, v) in pairs}
    if isinstance(tp, type) and tp is not object:
        return isinstance(value, tp), value
    return True, value


def _as_yaml(tp: Any) -> Any:
    """``tp`` with sequences written as ``list[...]`` and mappings as ``dict`` (for
    :func:`~posekit.config.parse.describe`)."""
    origin, args = get_origin(tp), get_args(tp)
    if origin in _SEQUENCES:
        return list[_as_yaml(args[0])] if args else list
    if origin in (dict, Mapping):
        return dict
    return tp


def type_text(tp: Any) -> str:
    """How an error message names the annotated type ``tp`` (``"an integer or null"``)."""
    origin, args = get_origin(tp), get_args(tp)
    if origin in _UNIONS:
        text = " or ".join(type_text(a) for a in args if a is not type(None))
        return f"{text} or null" if type(None) in args else text
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if isinstance(tp, type) and is_dataclass(tp):
        return f"a {tp.__name__}"
    return describe(_as_yaml(tp))


def _default_text(section: Any, name: str) -> str:
    """The suggestion for a value of the wrong type: the field's default."""
    default = next(f.default for f in fields(section) if f.name == name)
    if default is MISSING:
        return "Give a value of that type."
    if default is None:
        return "Or set it to null (the default)."
    if isinstance(default, bool):
        return f"The default is {str(default).lower()}."
    return f"The default is {list(default) if isinstance(default, tuple) else default!r}."


def check_settings(section: Any, path: str, table: RuleTable, source: str = "") -> None:
    """Check a settings dataclass from its ``__post_init__``: types, then rules.

    Each field's value is checked against its type annotation and replaced (in place, so
    frozen dataclasses work too) by its :func:`conform`-converted value. Then every rule of
    ``table`` whose pattern matches ``path`` runs on ``section``, except rules reading a
    field whose type was wrong.

    Args:
        section: The dataclass instance being initialised.
        path: Its dotted YAML path (``"tracking"``; ``""`` for none), which selects its
            rules and starts every problem's path.
        table: Rules by section path pattern.
        source: What the error names first; by default the class name.

    Raises:
        InvalidConfigError: naming ``source``, listing every problem found.
    """
    problems: list[Problem] = []
    mistyped: set[str] = set()
    for name, tp in yaml_fields(type(section)).items():
        value = getattr(section, name)
        ok, converted = conform(value, tp)
        if ok:
            object.__setattr__(section, name, converted)
            continue
        mistyped.add(name)
        problems.append(
            Problem(
                join(path, name), f"got {show_value(value)}", type_text(tp), _default_text(section, name)
            )
        )
    for pattern, rules in table.items():
        if matches(pattern, path):
            for one in rules:
                if mistyped.isdisjoint(one.fields):
                    problems += one(section, path)
    raise_if_problems(source or type(section).__name__, problems)


def _unknown_key(key: Any, names: list[str], path: str) -> Problem:
    close = suggest(str(key), names)
    hint = close[0].upper() + close[1:] if close else "Remove it or use one of these names."
    return Problem(join(path, str(key)), "unknown key", f"one of {', '.join(names)}", hint)


def settings_from_dict(cls: type[_T], data: Any, path: str, source: str) -> _T:
    """Build the settings dataclass ``cls`` (checked by :func:`check_settings` at ``path``)
    from a mapping: a YAML section or command-line options.

    ``None`` gives the defaults. One :class:`InvalidConfigError` naming ``source`` (a
    file, ``"command line"``) lists every problem: keys that are not fields of ``cls``
    (with a did-you-mean from :func:`~posekit.config.parse.suggest`) and whatever the
    check of ``cls`` finds in the others.
    """
    if data is None:
        return cls()
    if not isinstance(data, Mapping):
        raise InvalidConfigError(
            source,
            [
                Problem(
                    path,
                    f"got {show_value(data)}",
                    "a mapping of settings",
                    "Write one indented `key: value` line per setting.",
                )
            ],
        )
    names = list(yaml_fields(cls))
    problems: list[str | Problem] = [_unknown_key(k, names, path) for k in data if k not in names]
    try:
        made = cls(**{k: v for k, v in data.items() if k in names})
    except InvalidConfigError as exc:
        raise InvalidConfigError(source, [*problems, *exc.problems]) from None
    raise_if_problems(source, problems)
    return made
