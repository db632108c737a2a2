"""What an evaluation is asked to compute: :class:`EvaluationSettings`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from posekit.errors import ConfigError
from posekit.evaluation.distances import DEFAULT_PCK_BBOX_FRACTIONS, DEFAULT_PCK_THRESHOLDS_PX
from posekit.evaluation.identity import IdentityMapping
from posekit.evaluation.oks import OksSigmas

IDENTITY_MAPPINGS = ("auto", "name", "hungarian")


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
        ConfigError: an unknown identity mapping or a non-positive PCK threshold.
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
        if self.identity_mapping not in IDENTITY_MAPPINGS:
            raise ConfigError(
                f"identity_mapping: {self.identity_mapping!r} is not a mapping rule; expected "
                "'auto', 'name' or 'hungarian'."
            )
        for name in ("pck_thresholds", "pck_bbox_fractions"):
            values = tuple(float(v) for v in getattr(self, name))
            if not values or any(not v > 0 for v in values):
                raise ConfigError(
                    f"{name}: got {list(values)}; expected one or more positive numbers."
                )
            object.__setattr__(self, name, values)
        if self.oks_sigmas is not None and not isinstance(self.oks_sigmas, (Mapping, float, int)):
            object.__setattr__(self, "oks_sigmas", tuple(float(s) for s in self.oks_sigmas))
