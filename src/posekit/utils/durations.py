"""Durations written by people (``15m``, ``90s``, ``1h30m``, ``2.5h``) read as seconds.

One parser for every command that takes a time budget, so ``posekit config auto --budget``
and ``posekit train --budget`` accept exactly the same text.
"""

from __future__ import annotations

import math
import re

from posekit.errors import ConfigError

__all__ = ["format_duration", "parse_duration"]

#: Seconds in one of each unit; the key is the unit as written (lower case).
UNIT_SECONDS: dict[str, float] = {"h": 3600.0, "m": 60.0, "s": 1.0}

_PART = re.compile(r"(\d+(?:\.\d+)?|\.\d+)\s*([hms])")
_WHOLE = re.compile(r"\s*(?:(?:\d+(?:\.\d+)?|\.\d+)\s*[hms]\s*)+")
_UNIT_ORDER = "hms"


def _bad(text: object, what: str) -> ConfigError:
    return ConfigError(
        f"duration {text!r}: {what}; expected a number of hours, minutes and/or seconds "
        "such as 90s, 15m, 1h30m or 2.5h (units h, m, s, largest first, each at most once). "
        "Write 15m for fifteen minutes."
    )


def parse_duration(text: str) -> float:
    """Read a duration such as ``15m``, ``90s``, ``1h30m`` or ``1h 5m 30s``; return seconds.

    Units are ``h``, ``m`` and ``s`` (case-insensitive), each used at most once, largest
    first; numbers may have decimals (``2.5h``). A bare number is refused because minutes and
    seconds are both common, so the unit must be written.

    Raises:
        ConfigError: empty text, a bare number, an unknown unit, a repeated or out-of-order
            unit, or a total of zero seconds.
    """
    if not isinstance(text, str):
        raise _bad(text, f"got a {type(text).__name__}, not text")
    lowered = text.strip().lower()
    if not lowered:
        raise _bad(text, "the text is empty")
    if re.fullmatch(r"\d+(?:\.\d+)?", lowered):
        raise _bad(text, "a number without a unit (seconds? minutes?)")
    if not _WHOLE.fullmatch(lowered):
        raise _bad(text, "it is not a list of numbers each followed by h, m or s")
    parts = _PART.findall(lowered)
    units = [unit for _, unit in parts]
    if len(set(units)) != len(units):
        raise _bad(text, "a unit is given twice")
    if units != sorted(units, key=_UNIT_ORDER.index):
        raise _bad(text, "the units are out of order")
    seconds = sum(float(value) * UNIT_SECONDS[unit] for value, unit in parts)
    if not math.isfinite(seconds) or seconds <= 0:
        raise _bad(text, "the duration is zero")
    return seconds


def format_duration(seconds: float) -> str:
    """Write ``seconds`` the way :func:`parse_duration` reads it (``1h30m``, ``7m30s``, ``45s``).

    Rounded to whole seconds; at least ``1s``.
    """
    total = max(1, round(float(seconds)))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "")
    return text + (f"{secs}s" if secs or not text else "")
