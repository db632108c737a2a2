"""Tracking parameters: :class:`TrackingConfig`, validated from a dict, CLI options or YAML.

The same dataclass is fed by ``posekit track --tracking ...`` options and by the
``tracking:`` section of an inference config, so every key is checked here once, by the
project's one validation mechanism (:mod:`posekit.config.rules`): the types of the fields'
annotations and the rules of :data:`RULES`. Unknown keys get a did-you-mean suggestion;
every problem is listed in one :class:`~posekit.config.problems.InvalidConfigError` naming
``tracking.<key>``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from posekit.config.rules import (
    RuleTable,
    check_settings,
    choice,
    non_empty,
    number,
    settings_from_dict,
)

SECTION = "tracking"
"""YAML path of the tracking settings (the ``tracking:`` section of an inference config)."""

SIMILARITIES = ("oks", "centroid", "iou")
MATCH_METHODS = ("hungarian", "greedy")

RULES: RuleTable = {
    SECTION: (
        number("window", 1),
        choice("similarity", SIMILARITIES),
        number(
            "oks_sigma",
            0,
            low_open=True,
            hint="The default is 0.05 (COCO uses 0.025); larger values tolerate more error.",
        ),
        non_empty("oks_sigma", "Give one number for all nodes or one per node."),
        number(
            "oks_area",
            0,
            low_open=True,
            hint="Use e.g. 2500 (pixels squared), or null "
            "for the bounding-box area of the track's pose.",
        ),
        number(
            "centroid_scale",
            0,
            low_open=True,
            hint="Use e.g. 20 (pixels), or null for the size of the track's pose.",
        ),
        number(
            "anchor_node",
            0,
            hint="Use a node index such as 0, or null for the middle of the visible nodes.",
        ),
        choice("match", MATCH_METHODS),
        number("min_similarity", 0, 1),
        number("max_tracks", 1, hint="Use e.g. 2, or null for no limit."),
        number("min_new_track_points", 1),
        number("flow_window_size", 3),
        number("flow_max_levels", 0, 10),
        number(
            "motion_tolerance",
            0,
            hint="Use e.g. 2 (multiples of the track's observed motion per frame), or 0 to "
            "compare poses by their size alone.",
        ),
        number("min_track_length", 1, hint="Use e.g. 5 to drop tracks shorter than 5 frames."),
        number("max_gap", 0, hint="Use e.g. 5 to fill holes of up to 5 frames, or 0 for none."),
        number(
            "merge_max_gap",
            0,
            hint="Use e.g. 30 to join fragments up to 30 frames apart, or 0 for none.",
        ),
    )
}
"""The value rules of :class:`TrackingConfig` (types come from its annotations)."""


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
        motion_tolerance: How far, in multiples of a track's observed motion per frame
            (the running mean of its nodes' frame-to-frame displacement, noise included),
            an instance may lie from the track's last pose and still match well: the
            OKS scale (and the centroid scale) of each candidate grows by this many
            observed steps per frame since it was last seen. ``0``: size alone.
        optical_flow: Shift each track's last pose to the current frame with pyramidal
            Lucas-Kanade optical flow before comparing (needs the frame images).
        flow_window_size: Lucas-Kanade search window side, in pixels.
        flow_max_levels: Number of pyramid levels above full resolution for the flow.
        min_track_length: Post-pass: tracks present in fewer frames than this are removed
            (their instances become untracked, id ``-1``).
        max_gap: Post-pass: holes of at most this many frames inside a track are filled,
            with an untracked detection that fits the track or else a linearly
            interpolated pose. ``0`` disables filling.
        merge_max_gap: Post-pass: a track that ends and
            another that starts at most this many frames later (no overlap) are joined
            when the last and first poses are similar. ``0`` disables merging.
    """

    window: int = 30
    similarity: str = "oks"
    oks_sigma: float | tuple[float, ...] = 0.05
    oks_area: float | None = None
    centroid_scale: float | None = None
    anchor_node: int | None = None
    match: str = "hungarian"
    min_similarity: float = 0.01
    max_tracks: int | None = None
    min_new_track_points: int = 3
    motion_tolerance: float = 2.0
    optical_flow: bool = False
    flow_window_size: int = 21
    flow_max_levels: int = 3
    min_track_length: int = 1
    max_gap: int = 0
    merge_max_gap: int = 30

    def __post_init__(self) -> None:
        for name in ("similarity", "match"):  # names are accepted in any case
            value = getattr(self, name)
            if isinstance(value, str):
                object.__setattr__(self, name, value.lower())
        check_settings(self, SECTION, RULES)

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any] | None, source: str = "<tracking>"
    ) -> TrackingConfig:
        """Build a config from a mapping (a YAML ``tracking:`` section or CLI options).

        Missing keys take their defaults. ``source`` names where the values came from
        (a file path, ``"command line"``) and starts the error message.

        Raises:
            InvalidConfigError: listing every unknown key (with a did-you-mean
                suggestion), wrong type and value out of range, each naming
                ``tracking.<key>``.
        """
        return settings_from_dict(cls, data, SECTION, source)

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python view (lists, no tuples) that :meth:`from_dict` reads back."""
        out = dataclasses.asdict(self)
        if isinstance(out["oks_sigma"], tuple):
            out["oks_sigma"] = list(out["oks_sigma"])
        return out
