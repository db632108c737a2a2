"""Labeler agreement for the dataset audit, from the consensus code.

The numbers come from :func:`posekit.refinement.labeler_files.consensus_labels_files`
(the same as ``posekit labels consensus``; ``docs/consensus.md`` explains them): the
inter-labeler agreement (ILA: mean distance in pixels between two labelers' clicks on the
same node of the same animal, after outlier removal) with its band, the ICC(2,1) of each
node in the animal's frame (the guide's "labeler consistency": > 0.9 for precise
keypoints), and the labelers flagged by the 2 SD rule. This module only picks the numbers
the audit shows; it computes nothing of its own.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

ICC_TARGET = 0.9
"""The guide's labeler-consistency target for precise keypoints (ICC > 0.9)."""


@dataclass(frozen=True)
class NodeAgreement:
    """Agreement on one node.

    Attributes:
        node: the node.
        ila_px: mean inter-labeler distance (None: no pair).
        band: the ILA band (``excellent`` / ``good`` / ``fair`` / ``poor``).
        icc: the lower of the x and y ICC(2,1) in the animal's frame (None: undefined).
    """

    node: str
    ila_px: float | None
    band: str | None
    icc: float | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class LabelerAgreement:
    """Labeler agreement in the audit.

    Attributes:
        labelers: labeler names.
        sources: their files.
        frames_in_consensus: frames labelled by two or more labelers.
        ila_px: overall mean inter-labeler distance.
        band: its band.
        nodes: per node.
        outliers: labelers whose mean distance to the others is more than 2 SD above.
        notes: the consensus code's notes.
    """

    labelers: tuple[str, ...]
    sources: tuple[str, ...]
    frames_in_consensus: int
    ila_px: float | None
    band: str | None
    nodes: tuple[NodeAgreement, ...]
    outliers: tuple[str, ...]
    notes: tuple[str, ...] = ()

    def below_icc_target(self) -> list[NodeAgreement]:
        """Nodes with an ICC below :data:`ICC_TARGET`."""
        return [n for n in self.nodes if n.icc is not None and n.icc < ICC_TARGET]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        return {"labelers": list(self.labelers), "sources": list(self.sources),
                "frames_in_consensus": self.frames_in_consensus, "ila_px": self.ila_px,
                "band": self.band, "nodes": [n.to_dict() for n in self.nodes],
                "outliers": list(self.outliers), "icc_target": ICC_TARGET,
                "notes": list(self.notes)}


def _min_icc(entry: dict[str, Any] | None) -> float | None:
    """The lower of a node's x and y ICC in the animal's frame (``pose``)."""
    pose = (entry or {}).get("pose") or {}
    values = [v for v in (pose.get("x"), pose.get("y")) if v is not None]
    return min(values) if values else None


def labeler_agreement(paths: Sequence[str | os.PathLike[str]],
                      names: Sequence[str] | None = None) -> LabelerAgreement:
    """Agreement of several labelers' files (two or more).

    Raises:
        DataError: fewer than two files, a file fails to load, or skeletons differ.
    """
    from posekit.refinement.labeler_files import consensus_labels_files

    _, report = consensus_labels_files(list(paths), names=list(names) if names else None)
    ila = report.ila
    icc = report.icc.get("per_node", {})
    nodes = tuple(
        NodeAgreement(node, entry.get("mean_px"), entry.get("band"), _min_icc(icc.get(node)))
        for node, entry in ila.get("per_node", {}).items())
    return LabelerAgreement(
        labelers=tuple(report.labelers), sources=tuple(report.sources),
        frames_in_consensus=int(report.frames.get("in_consensus", 0)),
        ila_px=ila.get("mean_px"), band=ila.get("band"), nodes=nodes,
        outliers=tuple(report.outliers), notes=tuple(report.notes))
