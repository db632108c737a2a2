"""The typed result of an evaluation and its one JSON form (its sections are in
:mod:`posekit.evaluation.records`).

:class:`EvaluationResult` is what :func:`posekit.evaluation.evaluate` and
:func:`posekit.evaluation.evaluate_arrays` return. :meth:`EvaluationResult.to_dict` and
:meth:`EvaluationResult.from_dict` are the only mapping between it and a metrics file:
``schema_version`` :data:`SCHEMA_VERSION`, every field described in docs/metrics.md
("The metrics file"). Undefined values (the error of a node nobody labelled, a ratio
over nothing) are ``None`` here and ``null`` in the file, so a result read back from its
file equals the result that was written.

Files written before the schema had a version (no ``schema_version``) are read too:
their OKS definition moves from ``settings`` to ``oks`` and a single ``note`` joins
``notes``. Files of a newer schema are refused with a message saying so.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from posekit.errors import DataError
from posekit.evaluation.oks import AREA_DEFINITION, OKS_FORMULA
from posekit.evaluation.records import (
    Counts,
    ErrorStats,
    IdentityResult,
    InferenceInfo,
    NodeMetrics,
    OksResult,
    Pairing,
    PckResult,
    Provenance,
    SettingsRecord,
    TrainingInfo,
    VisibilityResult,
    as_mapping,
    missing_field,
)

SCHEMA_VERSION = 1
"""Version of the metrics JSON layout written by :meth:`EvaluationResult.to_dict`."""


@dataclass(frozen=True)
class EvaluationResult:
    """Every metric of one evaluation, with the settings and inputs behind it.

    Attributes:
        provenance: posekit version, time, inputs.
        settings: how the numbers were computed.
        counts: instance counts of the matching.
        oks: mAP / mAR and the OKS definition (sigmas, area, formula).
        localization: pixel-error distribution over all nodes.
        pck: PCK over all nodes.
        visibility: visibility counts over all nodes.
        per_node: ``{node: NodeMetrics}`` in skeleton order.
        identity: identity / tracking metrics.
        notes: anything unusual about this evaluation.
        pairing: how two labels files were lined up (None for arrays).
        inference: speed of the prediction run, when the evaluation made it.
        training: the training run, for a run folder's ``metrics.val.json``.
    """

    provenance: Provenance
    settings: SettingsRecord
    counts: Counts
    oks: OksResult
    localization: ErrorStats
    pck: PckResult
    visibility: VisibilityResult
    per_node: dict[str, NodeMetrics]
    identity: IdentityResult
    notes: tuple[str, ...] = ()
    pairing: Pairing | None = None
    inference: InferenceInfo | None = None
    training: TrainingInfo | None = None

    def with_note(self, note: str) -> EvaluationResult:
        """A copy with ``note`` appended to :attr:`notes`."""
        return replace(self, notes=(*self.notes, note))

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of the metrics file (schema :data:`SCHEMA_VERSION`)."""
        out: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "provenance": self.provenance.to_dict(),
            "settings": self.settings.to_dict(),
            "counts": self.counts.to_dict(),
            "oks": self.oks.to_dict(),
            "localization": self.localization.to_dict(),
            **self.pck.to_dict(),
            "visibility": self.visibility.to_dict(),
            "per_node": {name: node.to_dict() for name, node in self.per_node.items()},
            "identity": self.identity.to_dict(),
            "notes": list(self.notes),
        }
        for name in ("pairing", "inference", "training"):
            section = getattr(self, name)
            if section is not None:
                out[name] = section.to_dict()
        return out

    def to_json(self) -> str:
        """The metrics file's text: indented, strict JSON (no NaN), newline-terminated."""
        return json.dumps(self.to_dict(), indent=2, allow_nan=False) + "\n"

    @classmethod
    def from_json(cls, text: str, source: str = "<metrics>") -> EvaluationResult:
        """Parse a metrics file's text (see :meth:`from_dict`)."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataError(
                f"{source}: not valid JSON ({exc}); expected a metrics file written by posekit."
            ) from exc
        return cls.from_dict(data, source)

    @classmethod
    def from_dict(cls, data: Any, source: str = "<metrics>") -> EvaluationResult:
        """Read a metrics file's JSON object (current schema or the unversioned one).

        Raises:
            DataError: not a posekit metrics file, a newer schema, or a field missing.
        """
        data = as_mapping(data, source)
        data = _checked_version(data, source)
        for key in ("provenance", "settings", "counts", "localization", "per_node", "identity"):
            if key not in data:
                raise missing_field(f"{source}: {key}")
        pck = PckResult.from_dict(data, source)
        per_node = as_mapping(data["per_node"], f"{source}: per_node")
        optional = {
            name: (kind.from_dict(data[name], f"{source}: {name}") if data.get(name) else None)
            for name, kind in (("pairing", Pairing), ("inference", InferenceInfo),
                               ("training", TrainingInfo))
        }
        return cls(
            provenance=Provenance.from_dict(data["provenance"], f"{source}: provenance"),
            settings=SettingsRecord.from_dict(data["settings"], f"{source}: settings"),
            counts=Counts.from_dict(data["counts"], f"{source}: counts"),
            oks=OksResult.from_dict(data.get("oks"), f"{source}: oks"),
            localization=ErrorStats.from_dict(data["localization"], f"{source}: localization"),
            pck=pck,
            visibility=VisibilityResult.from_dict(data.get("visibility"), f"{source}: visibility"),
            per_node={
                str(name): NodeMetrics.from_dict(
                    node, f"{source}: per_node.{name}", pck.bbox_instances_excluded
                )
                for name, node in per_node.items()
            },
            identity=IdentityResult.from_dict(data["identity"], f"{source}: identity"),
            notes=tuple(str(n) for n in data.get("notes") or ()),
            **optional,
        )


def _checked_version(data: Mapping[str, Any], source: str) -> Mapping[str, Any]:
    """The file's object in the current layout; DataError for other files and newer schemas."""
    if "oks" not in data or "counts" not in data:
        raise DataError(
            f"{source}: not a posekit metrics file (no 'oks' / 'counts' sections); expected "
            "the JSON written by posekit eval or by training (metrics.val.json)."
        )
    version = data.get("schema_version")
    if version is None:
        return _upgrade_unversioned(data, source)
    if not isinstance(version, int) or isinstance(version, bool) or version > SCHEMA_VERSION:
        raise DataError(
            f"{source}: metrics schema_version {version!r} is not one this posekit reads "
            f"(1 to {SCHEMA_VERSION}); expected a file written by this or an older posekit. "
            "Upgrade posekit to read it."
        )
    return data


def _upgrade_unversioned(data: Mapping[str, Any], source: str) -> dict[str, Any]:
    """Files from before ``schema_version``: the OKS sigmas, area and formula were under
    ``settings`` (``oks_sigmas``, ``oks_area``, ``oks_formula``, ``oks_thresholds``) and the
    training end could add a single ``note``."""
    out = dict(data)
    settings = dict(as_mapping(data.get("settings"), f"{source}: settings"))
    oks = dict(as_mapping(data.get("oks"), f"{source}: oks"))
    if "oks_sigmas" not in settings and "sigmas" not in oks:
        raise missing_field(f"{source}: settings.oks_sigmas")
    oks.setdefault("sigmas", settings.pop("oks_sigmas", None))
    oks.setdefault("area", settings.pop("oks_area", AREA_DEFINITION))
    oks.setdefault("formula", settings.pop("oks_formula", OKS_FORMULA))
    settings.pop("oks_thresholds", None)
    notes = list(data.get("notes") or [])
    if out.pop("note", None):
        notes.append(str(data["note"]))
    out.update(settings=settings, oks=oks, notes=notes)
    return out
