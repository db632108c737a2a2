"""Tracking parameters: :class:`TrackingConfig`, validated from a dict, CLI options or YAML.

The same dataclass is fed by ``posekit track --tracking ...`` options and by the
``tracking:`` section of an inference config, so every key is checked here once:
unknown keys get a did-you-mean suggestion, wrong types and out-of-range values raise
:class:`posekit.errors.ConfigError` naming ``tracking.<key>``.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from posekit.errors import ConfigError

SIMILARITIES = ("oks", "centroid", "iou")
MATCH_METHODS = ("hungarian", "greedy")


@dataclasses.dataclass(frozen=True)
class TrackingConfig:
    """Everything the tracker and its clean-up post-pass need (see docs/tracking.md).

    Attributes:
        window: A track stays a matching candidate for this many frames after the frame
            where it was last seen (frame indices, not calls).
        similarity: How a new instance is compared with a track's last pose: ``"oks"``
            (object keypoint similarity), ``"centroid"`` (Gaussian of the centroid
            distance) or ``"iou"`` (bounding-box intersection over union).
        oks_sigma: Per-node OKS standard deviation (fraction of object size); one number
            for all nodes or one per node.
        oks_area: Fixed object area in pixels² for OKS; ``None`` uses the bounding-box
            area of the track's pose.
        centroid_scale: Distance in pixels at which the centroid similarity falls to
            ``1/e``; ``None`` uses the size (square root of the bounding-box area) of the
            track's pose.
        anchor_node: Node index used as the centroid (the anchor) where visible; ``None``
            (or a missing anchor) uses the midpoint of the bounding box of the visible nodes
            (:func:`posekit.keypoints.anchor_points`).
        match: ``"hungarian"`` (best total similarity) or ``"greedy"`` (best pair first).
        min_similarity: A match (and a fragment merge or a gap adoption in the post-pass)
            is accepted only if its similarity is at least this and above zero.
        max_tracks: Never create more tracks than this; at the limit, unmatched instances
            re-use free tracks (most similar first, then least recently seen). ``None``:
            unlimited.
        min_new_track_points: An instance needs at least this many visible nodes to start
            a new track or to re-use a free one (it can still continue a track by a match).
        optical_flow: Shift each track's last pose to the current frame with pyramidal
            Lucas-Kanade optical flow before comparing (needs the frame images).
        flow_window_size: Lucas-Kanade search window side, in pixels.
        flow_max_levels: Number of pyramid levels above full resolution for the flow.
        min_track_length: Post-pass: tracks present in fewer frames than this are removed
            (their instances become untracked, id ``-1``).
        max_gap: Post-pass: holes of at most this many frames inside a track are filled,
            with an untracked detection that fits the track or else a linearly
            interpolated pose. ``0`` disables filling.
        merge_max_gap: Post-pass, only when ``max_tracks`` is set: a track that ends and
            another that starts at most this many frames later (no overlap) are joined
            when the last and first poses are similar. ``0`` disables merging.
    """

    window: int = 5
    similarity: str = "oks"
    oks_sigma: float | tuple[float, ...] = 0.025
    oks_area: float | None = None
    centroid_scale: float | None = None
    anchor_node: int | None = None
    match: str = "hungarian"
    min_similarity: float = 0.01
    max_tracks: int | None = None
    min_new_track_points: int = 3
    optical_flow: bool = False
    flow_window_size: int = 21
    flow_max_levels: int = 3
    min_track_length: int = 1
    max_gap: int = 0
    merge_max_gap: int = 0

    def __post_init__(self) -> None:
        values = _validate({f.name: getattr(self, f.name) for f in _FIELDS}, "TrackingConfig")
        for name, value in values.items():
            object.__setattr__(self, name, value)

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any] | None, source: str = "<tracking>"
    ) -> TrackingConfig:
        """Build a config from a mapping (a YAML ``tracking:`` section or CLI options).

        Missing keys take their defaults. ``source`` names where the values came from
        (a file path, ``"command line"``) and starts every error message.

        Raises:
            ConfigError: unknown key (with a did-you-mean suggestion), wrong type or value
                out of range; the message names ``tracking.<key>``.
        """
        if data is None:
            return cls()
        if not isinstance(data, Mapping):
            raise ConfigError(
                f"{source}: tracking: got {type(data).__name__}; expected a mapping of "
                "tracking parameters. Write it as `tracking:` followed by indented "
                "`key: value` lines."
            )
        names = [f.name for f in _FIELDS]
        for key in data:
            if key not in names:
                close = difflib.get_close_matches(str(key), names, n=1, cutoff=0.6)
                hint = (
                    f"Did you mean `{close[0]}`?" if close else f"Valid keys: {', '.join(names)}."
                )
                raise ConfigError(
                    f"{source}: tracking.{key}: unknown key; expected one of the tracking "
                    f"parameters. {hint}"
                )
        return cls(**_validate(dict(data), source))

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python view (lists, no tuples) that :meth:`from_dict` reads back."""
        out = {f.name: getattr(self, f.name) for f in _FIELDS}
        if isinstance(out["oks_sigma"], tuple):
            out["oks_sigma"] = list(out["oks_sigma"])
        return out


def _fail(source: str, key: str, value: Any, expected: str, hint: str) -> ConfigError:
    return ConfigError(f"{source}: tracking.{key}: got {value!r}; expected {expected}. {hint}")


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _int_rule(low: int, high: int | None, optional: bool, what: str) -> Callable:
    def check(source: str, key: str, value: Any) -> int | None:
        if value is None and optional:
            return None
        if not _is_int(value) or value < low or (high is not None and value > high):
            bound = f"between {low} and {high}" if high is not None else f">= {low}"
            extra = " or null" if optional else ""
            raise _fail(
                source,
                key,
                value,
                f"an integer {bound}{extra} ({what})",
                f"Set tracking.{key} to e.g. {_DEFAULT_HINTS[key]}.",
            )
        return int(value)

    return check


def _float_rule(
    low: float, high: float | None, optional: bool, what: str, strict: bool = False
) -> Callable:
    def check(source: str, key: str, value: Any) -> float | None:
        if value is None and optional:
            return None
        bad_low = not _is_number(value) or (value <= low if strict else value < low)
        if bad_low or (high is not None and value > high) or math.isnan(value):
            sign = ">" if strict else ">="
            bound = f"{sign} {low}" + (f" and <= {high}" if high is not None else "")
            extra = " or null" if optional else ""
            raise _fail(
                source,
                key,
                value,
                f"a number {bound}{extra} ({what})",
                f"Set tracking.{key} to e.g. {_DEFAULT_HINTS[key]}.",
            )
        return float(value)

    return check


def _choice_rule(choices: tuple[str, ...]) -> Callable:
    def check(source: str, key: str, value: Any) -> str:
        if not isinstance(value, str) or value.lower() not in choices:
            close = difflib.get_close_matches(str(value).lower(), choices, n=1, cutoff=0.5)
            hint = f"Did you mean {close[0]!r}?" if close else f"Use one of {', '.join(choices)}."
            raise _fail(source, key, value, f"one of {', '.join(choices)}", hint)
        return value.lower()

    return check


def _bool_rule(source: str, key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _fail(
            source,
            key,
            value,
            "true or false",
            f"Write tracking.{key}: true (or false), without quotes.",
        )
    return value


def _sigma_rule(source: str, key: str, value: Any) -> float | tuple[float, ...]:
    expected = "a number > 0 or a non-empty list of numbers > 0 (one per node)"
    hint = "The usual value is 0.025; larger values tolerate more localisation error."
    if _is_number(value):
        if not value > 0:
            raise _fail(source, key, value, expected, hint)
        return float(value)
    is_list = isinstance(value, Sequence) and not isinstance(value, str) and len(value) > 0
    if is_list and all(_is_number(v) and v > 0 for v in value):
        return tuple(float(v) for v in value)
    raise _fail(source, key, value, expected, hint)


_DEFAULT_HINTS = {
    "window": 5,
    "flow_window_size": 21,
    "flow_max_levels": 3,
    "max_tracks": 2,
    "anchor_node": 0,
    "min_new_track_points": 3,
    "min_track_length": 5,
    "max_gap": 5,
    "merge_max_gap": 30,
    "oks_area": 2500.0,
    "centroid_scale": 20.0,
    "min_similarity": 0.01,
}

_RULES: dict[str, Callable] = {
    "window": _int_rule(1, None, False, "frames a lost track stays a candidate"),
    "similarity": _choice_rule(SIMILARITIES),
    "oks_sigma": _sigma_rule,
    "oks_area": _float_rule(0.0, None, True, "object area in pixels squared", strict=True),
    "centroid_scale": _float_rule(0.0, None, True, "distance scale in pixels", strict=True),
    "anchor_node": _int_rule(0, None, True, "node index used as centroid"),
    "match": _choice_rule(MATCH_METHODS),
    "min_similarity": _float_rule(0.0, 1.0, False, "similarity threshold"),
    "max_tracks": _int_rule(1, None, True, "largest number of tracks"),
    "min_new_track_points": _int_rule(1, None, False, "visible nodes needed to start a track"),
    "optical_flow": _bool_rule,
    "flow_window_size": _int_rule(3, None, False, "Lucas-Kanade window side in pixels"),
    "flow_max_levels": _int_rule(0, 10, False, "pyramid levels"),
    "min_track_length": _int_rule(1, None, False, "frames a track needs to be kept"),
    "max_gap": _int_rule(0, None, False, "longest hole to fill, in frames"),
    "merge_max_gap": _int_rule(0, None, False, "longest gap between merged fragments"),
}

_FIELDS = dataclasses.fields(TrackingConfig)


def _validate(values: dict[str, Any], source: str) -> dict[str, Any]:
    """Check and normalise each given field; returns a new dict of clean values."""
    return {key: _RULES[key](source, key, value) for key, value in values.items()}
