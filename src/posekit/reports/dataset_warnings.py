"""The dataset audit's warnings: one plain sentence per problem, with what to do about it.

Each rule reads typed results of the audit's sections (never its JSON). The thresholds are
module constants so the docs and the tests name the same numbers:

* a metadata value or a behaviour is *absent* (no labelled frame) or *thin* (fewer than
  half an even share of the frames);
* a split *leaks* (:mod:`posekit.refinement.leakage`);
* a node is *almost never visible* when it is visible in fewer than
  :data:`RARE_NODE_SHARE` of the labelled animals;
* poses are *concentrated* when the pose-variance index is below
  :data:`~posekit.reports.dataset_pose.CONCENTRATED_INDEX` (judged with at least
  :data:`MIN_ALIGNED` aligned animals);
* the frame count is below the guide's minimum for the experiment's complexity.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from posekit.reports.dataset_composition import THIN_SHARE, ColumnCoverage, FrameCountCheck
from posekit.reports.dataset_ethogram import BehaviourCoverage
from posekit.reports.dataset_labelers import ICC_TARGET, LabelerAgreement
from posekit.reports.dataset_pose import CONCENTRATED_INDEX, NodeVisibility, PoseVariance

RARE_NODE_SHARE = 0.1
"""A node visible in fewer than this share of the labelled animals is almost never visible."""
COMBINED = " + "
"""Joins the column names of a combination of condition columns."""
MIN_ALIGNED = 20
"""Fewest aligned animals with which the pose-variance index is judged."""


@dataclass(frozen=True)
class AuditWarning:
    """One problem found by the audit.

    Attributes:
        kind: ``condition_absent``, ``condition_thin``, ``behaviour_absent``,
            ``behaviour_thin``, ``split_leaks``, ``node_rarely_visible``,
            ``poses_concentrated``, ``too_few_frames``, ``no_metadata``,
            ``single_recording``, ``labeler_outlier``, ``labeler_agreement``.
        subject: what it is about (a condition value, a node, a side...).
        message: the sentence shown to the user.
    """

    kind: str
    subject: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        return {"kind": self.kind, "subject": self.subject, "message": self.message}


def _pct(value: float) -> str:
    return f"{100 * value:.0f}%" if value >= 0.01 or value == 0 else f"{100 * value:.1f}%"


def coverage_warnings(coverage: Sequence[ColumnCoverage], frames: int) -> list[AuditWarning]:
    """Absent and thin metadata values. A combination of columns (``a + b``, values
    ``a=x, b=y``) is only named when none of its single values is already named."""
    out = []
    named: set[str] = set()
    for cov in sorted(coverage, key=lambda c: COMBINED in c.column):
        combined = COMBINED in cov.column
        for kind, values in (("condition_absent", cov.absent), ("condition_thin", cov.thin)):
            for value in values:
                subject = value if combined else f"{cov.column}={value}"
                if combined and any(part in named for part in value.split(", ")):
                    continue
                named.add(subject)
                out.append(AuditWarning(kind, subject, _coverage_text(kind, subject, cov,
                                                                       value, frames)))
    return out


def _coverage_text(kind: str, subject: str, cov: ColumnCoverage, value: str,
                   frames: int) -> str:
    if kind == "condition_absent":
        return (f"{subject} is listed in the metadata but has no labelled frame: the model "
                "never sees it. Label frames from its recordings.")
    n = cov.frames_of(value)
    target = math.ceil(THIN_SHARE * cov.even_share)
    return (f"{subject} has {n} of {frames} labelled frames ({_pct(n / frames)}; an even "
            f"share is {cov.even_share:.0f}): add about {target - n} frames from it.")


def behaviour_warnings(cov: BehaviourCoverage, frames: int) -> list[AuditWarning]:
    """Absent and thin behaviours."""
    out = []
    for name in cov.absent:
        out.append(AuditWarning(
            "behaviour_absent", name,
            f"behaviour '{name}' has no labelled frame ({cov.bout_frames.get(name, 0)} frames "
            "of it in the ethogram): label frames inside its bouts."))
    for name in cov.thin:
        n = next(c.frames for c in cov.counts if c.name == name)
        target = math.ceil(THIN_SHARE * cov.even_share)
        out.append(AuditWarning(
            "behaviour_thin", name,
            f"behaviour '{name}' has {n} of {frames} labelled frames (an even share is "
            f"{cov.even_share:.0f}): add about {target - n} frames from its bouts."))
    return out


def visibility_warnings(nodes: Sequence[NodeVisibility]) -> list[AuditWarning]:
    """Nodes almost never visible."""
    return [AuditWarning(
        "node_rarely_visible", n.node,
        f"{n.node} is visible in {n.visible} of {n.animals} labelled animals "
        f"({_pct(n.share)}, below {_pct(RARE_NODE_SHARE)}): a model learns little about it. "
        "Label frames where it is visible, or drop it from the skeleton if it cannot be "
        "seen.") for n in nodes if n.share is not None and n.share < RARE_NODE_SHARE]


def pose_warnings(pose: PoseVariance, subject: str = "all animals") -> list[AuditWarning]:
    """Concentrated poses (only with enough aligned animals to judge)."""
    if pose.index is None or pose.n_aligned < MIN_ALIGNED or not pose.concentrated:
        return []
    where = "" if subject == "all animals" else f" in {subject}"
    return [AuditWarning(
        "poses_concentrated", subject,
        f"poses{where} are concentrated: nodes move by {pose.index:.3f} body lengths around "
        f"their average place (pose-variance index {pose.index:.3f} < {CONCENTRATED_INDEX}). "
        "Label frames with other postures (stretched, curled, turning, rearing), not only "
        "typical ones.")]


def frame_count_warnings(check: FrameCountCheck, max_animals: int) -> list[AuditWarning]:
    """Fewer frames than the guide's minimum for the experiment's complexity."""
    if not check.below_minimum:
        return []
    g = check.guide
    span = f"{g.minimum}-{g.minimum_high}" if g.minimum_high else f"{g.minimum}+"
    return [AuditWarning(
        "too_few_frames", check.complexity,
        f"{check.frames} labelled frames is below the guide's minimum of {span} for a "
        f"{check.complexity} experiment ({g.description}; up to {max_animals} animal(s) per "
        f"frame): label at least {check.missing_to_minimum} more ({g.consideration}).")]


def labeler_warnings(agreement: LabelerAgreement) -> list[AuditWarning]:
    """Labelers far from the others, poor agreement, nodes below the ICC target."""
    out = [AuditWarning(
        "labeler_outlier", name,
        f"labeler {name} disagrees with the others (mean distance more than 2 SD above "
        "theirs): review the labelling protocol with them.") for name in agreement.outliers]
    if agreement.band == "poor":
        out.append(AuditWarning(
            "labeler_agreement", "all nodes",
            f"labelers disagree by {agreement.ila_px:.1f} px on average (poor): write a "
            "labelling protocol with visual examples of every node."))
    low = agreement.below_icc_target()
    if low:
        names = ", ".join(f"{n.node} ({n.icc:.2f})" for n in low)
        out.append(AuditWarning(
            "labeler_agreement", ", ".join(n.node for n in low),
            f"labeler consistency (ICC) is below the guide's {ICC_TARGET} for {names}: define "
            "these nodes more precisely in the protocol."))
    return out
