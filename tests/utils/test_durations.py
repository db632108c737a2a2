"""``parse_duration``: the one reader of time budgets (``15m``, ``90s``, ``1h30m``)."""

from __future__ import annotations

import pytest

from posekit.errors import ConfigError
from posekit.utils.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("15m", 900.0), ("90s", 90.0), ("1h30m", 5400.0), ("1h 5m 30s", 3930.0),
     ("2.5h", 9000.0), (" 45S ", 45.0), ("1H", 3600.0), ("0.5m", 30.0)],
)
def test_reads_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("text", "why"),
    [("", "empty"), ("15", "without a unit"), ("15 minutes", "not a list"),
     ("10d", "not a list"), ("5m5m", "twice"), ("30s1m", "out of order"), ("0m", "zero"),
     ("-5m", "not a list")],
)
def test_bad_text_is_a_clear_error(text: str, why: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_duration(text)
    message = str(err.value)
    assert why in message
    assert repr(text) in message and "15m" in message  # names the text and shows an example


def test_not_text_is_refused() -> None:
    with pytest.raises(ConfigError, match="got a int"):
        parse_duration(900)  # type: ignore[arg-type]


@pytest.mark.parametrize("seconds", [1, 45, 90, 450, 900, 3930, 5400, 7200])
def test_format_round_trips(seconds: int) -> None:
    assert parse_duration(format_duration(seconds)) == seconds


def test_format_examples() -> None:
    assert format_duration(450) == "7m30s"
    assert format_duration(5400) == "1h30m"
    assert format_duration(0.2) == "1s"
