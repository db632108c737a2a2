"""What ``posekit filter`` runs: the methods in order and their parameters, checked once."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from posekit.config.parse import suggest
from posekit.config.problems import Problem
from posekit.config.rules import (
    RuleTable,
    check_settings,
    choice,
    field_rule,
    non_empty,
    number,
    rule,
)
from posekit.errors import ConfigError
from posekit.trajectories.gaps import FILL_SCORE, INTERPOLATIONS

#: The filters, in the order the documentation presents them.
METHODS = ("pcutoff", "median", "savgol", "interpolate", "arima", "kalman")
#: Gap length filled when neither ``max_gap`` nor ``max_gap_s`` is given (DeepLabCut's
#: spline filter's ``windowlength``).
DEFAULT_MAX_GAP = 5

#: The settings each method reads (what the output's provenance records for it).
METHOD_FIELDS = {
    "pcutoff": ("pcutoff",),
    "median": ("window",),
    "savgol": ("savgol_window", "polyorder"),
    "interpolate": ("interpolation", "max_gap", "max_gap_s", "fps", "fill_score"),
    "arima": ("p_bound", "ar_degree", "ma_degree"),
    "kalman": ("measurement_sd", "process_sd"),
}


def _unknown_hint(methods: tuple[str, ...]) -> str:
    bad = [m for m in methods if m not in METHODS]
    close = suggest(bad[0], list(METHODS)) if bad else ""
    return (close[0].upper() + close[1:] + " " if close else "") + (
        "Separate several with commas, e.g. --method pcutoff,median,interpolate.")


def _odd(name: str) -> Any:
    return field_rule(name, lambda v: isinstance(v, int) and v % 2 == 0,
                      lambda v: f"window {v} is even", "an odd number of frames (centred)",
                      lambda v: f"Use {v + 1} or {v - 1}.")


@rule("polyorder", "savgol_window")
def _order_below_window(settings: Any, path: str) -> Iterator[Problem]:
    if settings.polyorder >= settings.savgol_window:
        yield Problem("polyorder", f"polyorder {settings.polyorder} is not below the savgol "
                      f"window ({settings.savgol_window})", "polyorder < savgol_window",
                      "Use a lower order or a longer window.")


@rule("max_gap", "max_gap_s")
def _one_gap_unit(settings: Any, path: str) -> Iterator[Problem]:
    if settings.max_gap is not None and settings.max_gap_s is not None:
        yield Problem("max_gap", f"max_gap={settings.max_gap} frames and max_gap_s="
                      f"{settings.max_gap_s} s both given", "one of them",
                      "Give the longest gap to fill in frames or in seconds.")


RULES: RuleTable = {
    "": (
        field_rule("methods", lambda v: any(m not in METHODS for m in v),
                   lambda v: f"unknown method(s) {[m for m in v if m not in METHODS]}",
                   f"names from {', '.join(METHODS)}", _unknown_hint),
        non_empty("methods", "Give at least one method, e.g. --method median."),
        number("pcutoff", 0, hint="DeepLabCut's default pcutoff is 0.6."),
        number("window", 3, hint="The default is 5 frames."),
        _odd("window"),
        number("savgol_window", 3, hint="The default is 7 frames."),
        _odd("savgol_window"),
        number("polyorder", 0, 10),
        _order_below_window,
        choice("interpolation", INTERPOLATIONS),
        number("max_gap", 0, hint=f"The default is {DEFAULT_MAX_GAP} frames."),
        number("max_gap_s", 0, low_open=True),
        _one_gap_unit,
        number("fps", 0, low_open=True),
        number("fill_score", 0),
        number("p_bound", 0, 1, hint="DeepLabCut's arima filter uses 0.001."),
        number("ar_degree", 0, 10),
        number("ma_degree", 0, 5),
        number("measurement_sd", 0, low_open=True, hint="Leave it out to fit it."),
        number("process_sd", 0, low_open=True, hint="Leave it out to fit it."),
    )
}


@dataclass(frozen=True)
class FilterSettings:
    """The filters to run, in order, and their parameters.

    Attributes:
        methods: any of :data:`METHODS`, applied in the order given.
        pcutoff: ``pcutoff``: points scored below it become missing.
        window: ``median``: frames, odd (default 5).
        savgol_window: ``savgol``: frames, odd (default 7).
        polyorder: ``savgol``: degree of the local polynomial (default 2).
        interpolation: ``interpolate``: ``linear`` or ``spline``.
        max_gap: ``interpolate``: the longest gap filled, in frames (default
            :data:`DEFAULT_MAX_GAP` unless ``max_gap_s`` is given).
        max_gap_s: ``interpolate``: the longest gap filled, in seconds (needs the frame
            rate: ``fps`` or the video's).
        fps: frames per second, for ``max_gap_s`` (default: the video's).
        fill_score: ``interpolate``: score of a filled point.
        p_bound: ``arima``: points scored below it are missing for the model.
        ar_degree, ma_degree: ``arima``: the model's orders.
        measurement_sd: ``kalman``: px, error of a point scored 1 (None: fitted).
        process_sd: ``kalman``: px/frame², random acceleration (None: fitted).
    """

    methods: tuple[str, ...] = ("median",)
    pcutoff: float = 0.6
    window: int = 5
    savgol_window: int = 7
    polyorder: int = 2
    interpolation: str = "linear"
    max_gap: int | None = None
    max_gap_s: float | None = None
    fps: float | None = None
    fill_score: float = FILL_SCORE
    p_bound: float = 0.001
    ar_degree: int = 3
    ma_degree: int = 1
    measurement_sd: float | None = None
    process_sd: float | None = None

    def __post_init__(self) -> None:
        check_settings(self, "", RULES)

    def gap_frames(self, fps: float | None = None, source: str = "predictions") -> int:
        """The longest gap ``interpolate`` fills, in frames (``max_gap_s`` times the frame
        rate, rounded down; ``fps`` here is the video's, used when the settings give none).

        Raises:
            ConfigError: ``max_gap_s`` without any frame rate.
        """
        if self.max_gap is not None:
            return int(self.max_gap)
        if self.max_gap_s is None:
            return DEFAULT_MAX_GAP
        rate = self.fps if self.fps is not None else fps
        if rate is None or not rate > 0:
            raise ConfigError(f"{source}: --max-gap-s {self.max_gap_s} needs the frame rate, "
                              "and the video's is unknown; expected --fps. Give --fps, or "
                              "--max-gap in frames.")
        return math.floor(self.max_gap_s * rate + 1e-9)

    def record(self, fps: float | None = None, source: str = "predictions") -> list[dict]:
        """Each method in order with the parameters it used (JSON-ready), as the output's
        provenance records them."""
        values = asdict(self)
        steps = []
        for method in self.methods:
            params = {name: values[name] for name in METHOD_FIELDS[method]}
            if method == "interpolate":
                params["max_gap_frames"] = self.gap_frames(fps, source)
            steps.append({"method": method, **params})
        return steps
