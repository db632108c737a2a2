"""What an evaluation is asked to compute: :class:`EvaluationSettings`."""

from __future__ import annotations

from dataclasses import dataclass

from posekit.config.rules import RuleTable, check_settings, choice, non_empty, number
from posekit.evaluation.distances import DEFAULT_PCK_BBOX_FRACTIONS, DEFAULT_PCK_THRESHOLDS_PX
from posekit.evaluation.identity import IdentityMapping
from posekit.evaluation.oks import OksSigmas

IDENTITY_MAPPINGS = ("auto", "name", "hungarian")

_THRESHOLDS = "Give one or more positive numbers, e.g. [1, 2, 5, 10]."

RULES: RuleTable = {
    "": (
        number(
            "oks_sigmas",
            0,
            low_open=True,
            hint="The usual value is 0.025 (sleap-nn's default), or null for it.",
        ),
        number("pck_thresholds", 0, low_open=True, hint=_THRESHOLDS),
        non_empty("pck_thresholds", _THRESHOLDS),
        number("pck_bbox_fractions", 0, low_open=True, hint="E.g. [0.05, 0.1, 0.2]."),
        non_empty("pck_bbox_fractions", "E.g. [0.05, 0.1, 0.2]."),
        number("match_oks_threshold", 0, 1, hint="OKS lies in [0, 1]; the default is 0."),
        number(
            "match_area_fallback",
            0,
            low_open=True,
            hint="Use an area in pixels squared such as 10000, or null for the data set's "
            "median.",
        ),
        number(
            "visibility_max_distance",
            0,
            hint="Use a distance in pixels such as 10, or null for any distance.",
        ),
        choice("identity_mapping", IDENTITY_MAPPINGS),
    )
}
"""The value rules of :class:`EvaluationSettings` (types come from its annotations); its
fields have no enclosing YAML section, so problems name the bare field."""


@dataclass(frozen=True)
class EvaluationSettings:
    """The choices behind one evaluation (all optional; defaults as in docs/metrics.md).

    Attributes:
        oks_sigmas: OKS sigma(s): one number, one per node (in node order) or
            ``{node: sigma}``; None for 0.025 on every node (sleap-nn's default).
        pck_thresholds: PCK pixel thresholds.
        pck_bbox_fractions: normalised-PCK thresholds, as fractions of the labelled
            animal's bounding-box diagonal.
        match_oks_threshold: minimum OKS for a matched pair (besides OKS > 0).
        match_area_fallback: area (px²) used *for matching only* for labelled animals whose
            visible points span no area (one point, or all on a line); None: the median
            non-zero area of the data set's labelled animals, or 100² px² if there is none.
        visibility_max_distance: distance (px) within which a placed point counts as
            correct in the visibility metrics; None: any distance.
        identity_mapping: ``"auto"``, ``"name"`` or ``"hungarian"`` (identity metrics).
        user_instances_only_gt: labels files only: use only user-labelled ground-truth
            instances (False also takes the predicted instances of the ground-truth file).

    Raises:
        InvalidConfigError: listing every value of the wrong type or breaking a rule of
            :data:`RULES` (e.g. an unknown identity mapping, a non-positive PCK threshold).
    """

    oks_sigmas: OksSigmas | None = None
    pck_thresholds: tuple[float, ...] = DEFAULT_PCK_THRESHOLDS_PX
    pck_bbox_fractions: tuple[float, ...] = DEFAULT_PCK_BBOX_FRACTIONS
    match_oks_threshold: float = 0.0
    match_area_fallback: float | None = None
    visibility_max_distance: float | None = None
    identity_mapping: IdentityMapping = "auto"
    user_instances_only_gt: bool = True

    def __post_init__(self) -> None:
        check_settings(self, "", RULES)
