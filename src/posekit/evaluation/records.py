"""The sections of an evaluation result (typed) and the JSON helpers they share.

Each section is a frozen dataclass with ``to_dict`` / ``from_dict``; together they make up
:class:`posekit.evaluation.results.EvaluationResult` (the JSON layout is in docs/metrics.md,
"The metrics file"). Undefined values are ``None`` here and ``null`` in JSON.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, Self

from posekit.errors import DataError
from posekit.evaluation.oks import AREA_DEFINITION, OKS_FORMULA


def opt_float(value: Any) -> float | None:
    """``value`` as a Python float, or None when it is None, NaN or infinite (undefined)."""
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def threshold_key(value: float) -> str:
    """JSON key of a threshold: ``5.0`` -> ``"5"``, ``0.05`` -> ``"0.05"`` (reads back exactly)."""
    text = f"{value:g}"
    return text if float(text) == value else repr(float(value))


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def as_mapping(data: Any, where: str) -> Mapping[str, Any]:
    """``data`` if it is a JSON object, else a DataError naming ``where``."""
    if not isinstance(data, Mapping):
        raise DataError(
            f"{where}: holds {type(data).__name__}; expected a JSON object as written by "
            "posekit (see docs/metrics.md, 'The metrics file')."
        )
    return data


def missing_field(where: str) -> DataError:
    """The error for a field missing from a metrics file."""
    return DataError(
        f"{where}: missing; expected it in a posekit metrics file (see docs/metrics.md, "
        "'The metrics file'). Re-run posekit eval to write a complete file."
    )


def _thresholds(data: Any, where: str) -> dict[float, float | None]:
    """``{"5": 0.9}`` -> ``{5.0: 0.9}``; a non-numeric key is a DataError."""
    out: dict[float, float | None] = {}
    for key, value in as_mapping(data, where).items():
        try:
            out[float(key)] = opt_float(value)
        except (TypeError, ValueError) as exc:
            raise DataError(
                f"{where}: key {key!r} with value {value!r} is not a threshold and its value; "
                "expected numbers such as {\"5\": 0.93}."
            ) from exc
    return out


class _Flat:
    """A JSON object whose keys are the dataclass's field names (tuples as lists)."""

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of this record."""
        record: Any = self
        return {f.name: _plain(getattr(record, f.name)) for f in fields(record)}

    @classmethod
    def from_dict(cls, data: Any, where: str) -> Self:
        """Read the record from its JSON object; ``where`` names it in error messages."""
        data = as_mapping(data, where)
        values: dict[str, Any] = {}
        for f in fields(cls):  # type: ignore[arg-type]
            if f.name in data:
                value = data[f.name]
                values[f.name] = tuple(value) if isinstance(value, list) else value
            elif f.default is MISSING and f.default_factory is MISSING:
                raise missing_field(f"{where}.{f.name}")
        return cls(**values)


@dataclass(frozen=True)
class ErrorStats(_Flat):
    """Distribution of the Euclidean distances (pixels) between labelled and predicted points.

    Attributes:
        n: number of distances measured (pairs where both points exist).
        mean_px: arithmetic mean of the distances (the mean pixel error).
        rmse_px: root mean square of the distances (square root of the mean squared error).
        median_px: 50th percentile.
        p75_px, p90_px, p95_px, p99_px: upper percentiles (linear interpolation).
    """

    n: int
    mean_px: float | None
    rmse_px: float | None
    median_px: float | None
    p75_px: float | None
    p90_px: float | None
    p95_px: float | None
    p99_px: float | None


@dataclass(frozen=True)
class VisibilityResult(_Flat):
    """Whether the model placed the points the label has (counts over node decisions).

    Attributes:
        tp, fp, fn, tn: true / false positives, false / true negatives.
        precision: ``tp / (tp + fp)``.
        recall: ``tp / (tp + fn)``.
    """

    tp: int
    fp: int
    fn: int
    tn: int
    precision: float | None
    recall: float | None


@dataclass(frozen=True)
class PckResult:
    """Percentage of correct keypoints of matched animals.

    Attributes:
        px: ``{threshold in px: share of labelled points within it}``.
        bbox_diagonal: ``{fraction: share of labelled points within that fraction of the
            diagonal of the labelled animal's visible-point bounding box}``.
        bbox_instances_excluded: matched animals left out of ``bbox_diagonal`` (one visible
            point: no diagonal).
    """

    px: dict[float, float | None]
    bbox_diagonal: dict[float, float | None]
    bbox_instances_excluded: int

    def to_dict(self) -> dict[str, Any]:
        """``{"pck_px": {...}, "pck_bbox_diagonal": {..., "matched_instances_excluded": n}}``."""
        return {
            "pck_px": {threshold_key(t): v for t, v in self.px.items()},
            "pck_bbox_diagonal": {
                **{threshold_key(f): v for f, v in self.bbox_diagonal.items()},
                "matched_instances_excluded": self.bbox_instances_excluded,
            },
        }

    @classmethod
    def from_dict(cls, data: Any, where: str, excluded_default: int | None = None) -> Self:
        """Read the two PCK objects of ``data`` (``excluded_default`` where a legacy per-node
        section lacks ``matched_instances_excluded``)."""
        data = as_mapping(data, where)
        bbox = dict(as_mapping(data.get("pck_bbox_diagonal"), f"{where}.pck_bbox_diagonal"))
        excluded = bbox.pop("matched_instances_excluded", excluded_default)
        if excluded is None:
            raise missing_field(f"{where}.pck_bbox_diagonal.matched_instances_excluded")
        px = _thresholds(data.get("pck_px"), f"{where}.pck_px")
        return cls(px, _thresholds(bbox, f"{where}.pck_bbox_diagonal"), int(excluded))


@dataclass(frozen=True)
class NodeMetrics:
    """The metrics of one body part.

    Attributes:
        oks_sigma: the node's OKS sigma.
        gt_visible_on_matched: labelled points of this node on matched animals.
        localization: its pixel-error distribution.
        pck: its PCK (``bbox_instances_excluded`` as for all nodes).
        visibility: its visibility counts.
    """

    oks_sigma: float
    gt_visible_on_matched: int
    localization: ErrorStats
    pck: PckResult
    visibility: VisibilityResult

    def to_dict(self) -> dict[str, Any]:
        """The node's JSON object in ``per_node``."""
        return {
            "oks_sigma": self.oks_sigma,
            "gt_visible_on_matched": self.gt_visible_on_matched,
            "localization": self.localization.to_dict(),
            **self.pck.to_dict(),
            "visibility": self.visibility.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Any, where: str, excluded_default: int | None = None) -> Self:
        """Read one ``per_node`` entry."""
        data = as_mapping(data, where)
        for key in ("oks_sigma", "gt_visible_on_matched", "localization", "visibility"):
            if key not in data:
                raise missing_field(f"{where}.{key}")
        return cls(
            oks_sigma=float(data["oks_sigma"]),
            gt_visible_on_matched=int(data["gt_visible_on_matched"]),
            localization=ErrorStats.from_dict(data["localization"], f"{where}.localization"),
            pck=PckResult.from_dict(data, where, excluded_default),
            visibility=VisibilityResult.from_dict(data["visibility"], f"{where}.visibility"),
        )


@dataclass(frozen=True)
class OksResult:
    """COCO keypoint mAP / mAR and the OKS definition they were computed with.

    Attributes:
        map: mean average precision over the OKS thresholds (JSON ``mAP``).
        mar: mean average recall over the thresholds (JSON ``mAR``).
        ap: ``{OKS threshold: average precision}`` (JSON ``AP``, keys ``"0.50"``...).
        ar: ``{OKS threshold: recall}`` (JSON ``AR``).
        mean_oks_matched: mean OKS of the pairs of the Hungarian matching.
        sigmas: ``{node: sigma}`` used in the formula.
        area_definition: what the object area of the formula is (JSON ``area``).
        formula: the OKS formula computed.
    """

    map: float | None
    mar: float | None
    ap: dict[float, float | None]
    ar: dict[float, float | None]
    mean_oks_matched: float | None
    sigmas: dict[str, float]
    area_definition: str = AREA_DEFINITION
    formula: str = OKS_FORMULA

    def to_dict(self) -> dict[str, Any]:
        """The ``oks`` JSON object."""
        return {
            "mAP": self.map,
            "mAR": self.mar,
            "AP": {f"{t:.2f}": v for t, v in self.ap.items()},
            "AR": {f"{t:.2f}": v for t, v in self.ar.items()},
            "mean_oks_matched": self.mean_oks_matched,
            "sigmas": dict(self.sigmas),
            "area": self.area_definition,
            "formula": self.formula,
        }

    @classmethod
    def from_dict(cls, data: Any, where: str = "oks") -> Self:
        """Read the ``oks`` JSON object."""
        data = as_mapping(data, where)
        for key in ("mAP", "mAR", "AP", "AR", "sigmas"):
            if key not in data:
                raise missing_field(f"{where}.{key}")
        sigmas = as_mapping(data["sigmas"], f"{where}.sigmas")
        return cls(
            map=opt_float(data["mAP"]),
            mar=opt_float(data["mAR"]),
            ap=_thresholds(data["AP"], f"{where}.AP"),
            ar=_thresholds(data["AR"], f"{where}.AR"),
            mean_oks_matched=opt_float(data.get("mean_oks_matched")),
            sigmas={str(k): float(v) for k, v in sigmas.items()},
            area_definition=str(data.get("area", AREA_DEFINITION)),
            formula=str(data.get("formula", OKS_FORMULA)),
        )


@dataclass(frozen=True)
class Counts(_Flat):
    """Instance counts of the Hungarian matching (docs/metrics.md, section 7).

    Attributes:
        frames: frames evaluated.
        gt_instances: labelled animals with at least one visible point.
        gt_instances_without_visible_points: labelled animals dropped for having none.
        predicted_instances: predictions on the evaluated frames.
        matched: matched pairs.
        missed_gt: labelled animals without a partner.
        unmatched_predictions: predictions without a partner (false positives).
        instance_precision: ``matched / predicted_instances``.
        instance_recall: ``matched / gt_instances``.
    """

    frames: int
    gt_instances: int
    gt_instances_without_visible_points: int
    predicted_instances: int
    matched: int
    missed_gt: int
    unmatched_predictions: int
    instance_precision: float | None
    instance_recall: float | None


@dataclass(frozen=True)
class MotCounts(_Flat):
    """CLEAR-MOT counts summed over the evaluated frames (``id_switches`` only with tracks)."""

    gt: int
    predictions: int
    matches: int
    false_negatives: int
    false_positives: int
    id_switches: int | None = None


@dataclass(frozen=True)
class TrackIdentity(_Flat):
    """Identity metrics of one labelled track (see :class:`IdentityResult`)."""

    gt_instances: int
    matched: int
    correct_identity: int
    identity_accuracy: float | None
    id_switches: int
    fragmentations: int


@dataclass(frozen=True)
class IdentityResult:
    """Identity / tracking metrics (docs/metrics.md, section 8).

    When ground truth or predictions carry no tracks, ``available`` is False, ``reason``
    says why and only ``mot_counts`` (without ID switches) is filled.

    Attributes:
        available: whether identity metrics could be computed.
        mot_counts: CLEAR-MOT counts.
        reason: why they are not available.
        mapping_rule: ``"name"`` or ``"hungarian"``, the rule applied.
        mapping: ``{video or "all videos": {predicted track: GT track or None}}``.
        matched_instances_with_gt_track: matched animals whose label has a track.
        correct_identity: of those, the ones whose predicted track maps to that track.
        identity_accuracy: ``correct_identity / matched_instances_with_gt_track``.
        matched_without_predicted_track: matched animals whose prediction has no track.
        id_switches, fragmentations: totals over the labelled tracks.
        mota: multiple-object tracking accuracy.
        per_track: the same per labelled track.
        frames_with_duplicate_gt_tracks, frames_with_duplicate_predicted_tracks: frames
            where one track is used twice.
    """

    available: bool
    mot_counts: MotCounts
    reason: str | None = None
    mapping_rule: str | None = None
    mapping: dict[str, dict[str, str | None]] = field(default_factory=dict)
    matched_instances_with_gt_track: int | None = None
    correct_identity: int | None = None
    identity_accuracy: float | None = None
    matched_without_predicted_track: int | None = None
    id_switches: int | None = None
    fragmentations: int | None = None
    mota: float | None = None
    per_track: dict[str, TrackIdentity] = field(default_factory=dict)
    frames_with_duplicate_gt_tracks: int | None = None
    frames_with_duplicate_predicted_tracks: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The ``identity`` JSON object (only ``available``, ``reason`` and ``mot_counts``
        when not available)."""
        if not self.available:
            return {"available": False, "reason": self.reason,
                    "mot_counts": self.mot_counts.to_dict()}
        out: dict[str, Any] = {"available": True}
        for f in fields(self):
            if f.name not in ("available", "reason", "mot_counts", "per_track"):
                out[f.name] = _plain(getattr(self, f.name))
        out["mot_counts"] = self.mot_counts.to_dict()
        out["per_track"] = {name: t.to_dict() for name, t in self.per_track.items()}
        return out

    @classmethod
    def from_dict(cls, data: Any, where: str = "identity") -> Self:
        """Read the ``identity`` JSON object."""
        data = dict(as_mapping(data, where))
        for key in ("available", "mot_counts"):
            if key not in data:
                raise missing_field(f"{where}.{key}")
        mot = MotCounts.from_dict(data.pop("mot_counts"), f"{where}.mot_counts")
        per_track = as_mapping(data.pop("per_track", {}), f"{where}.per_track")
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        for key in ("identity_accuracy", "mota"):
            values[key] = opt_float(values.get(key))
        return cls(
            mot_counts=mot,
            per_track={
                str(name): TrackIdentity.from_dict(t, f"{where}.per_track.{name}")
                for name, t in per_track.items()
            },
            **values,
        )


@dataclass(frozen=True)
class SettingsRecord(_Flat):
    """How the metrics were computed (the JSON ``settings``; the OKS definition is in
    :class:`OksResult`).

    Attributes:
        nodes: node names in order.
        matching: the rule pairing labelled and predicted animals.
        match_oks_threshold: minimum OKS of a matched pair.
        match_area_fallback_px2: area used, for matching only, for labelled animals whose
            visible points span no area.
        match_area_fallback_source: where that area comes from.
        pck_thresholds_px: PCK thresholds in pixels.
        pck_normalized_by: what the normalised PCK fractions refer to.
        pck_bbox_fractions: normalised PCK thresholds.
        visibility_max_distance_px: distance within which a placed point counts as correct
            in the visibility metrics (None: any distance).
        identity_mapping: the requested track mapping rule (``auto``, ``name``, ``hungarian``).
        coco_recall_points: recall points of the COCO precision curve.
        coco_max_detections_per_frame: COCO's per-frame cap on predictions.
        coco_area_range: COCO's "all" area range (px²).
        coco_matching: COCO's matching rule.
        prediction_score: how a prediction's ranking score is chosen.
        user_instances_only_gt: only user-labelled GT instances were used (None when the
            arrays were given directly).
        predictions_used: which instances of the predictions file were used (None when
            the arrays were given directly).
    """

    nodes: tuple[str, ...]
    matching: str
    match_oks_threshold: float
    match_area_fallback_px2: float
    match_area_fallback_source: str
    pck_thresholds_px: tuple[float, ...]
    pck_normalized_by: str
    pck_bbox_fractions: tuple[float, ...]
    visibility_max_distance_px: float | None
    identity_mapping: str
    coco_recall_points: int
    coco_max_detections_per_frame: int
    coco_area_range: tuple[float, ...]
    coco_matching: str
    prediction_score: str
    user_instances_only_gt: bool | None = None
    predictions_used: str | None = None


@dataclass(frozen=True)
class Provenance(_Flat):
    """Where the metrics come from.

    Attributes:
        posekit_version: version of posekit that computed them.
        created: UTC time, ISO 8601.
        inputs: ``{role: path}`` of the inputs (``ground_truth``, ``predictions``,
            ``model``...).
    """

    posekit_version: str
    created: str
    inputs: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class VideoPairing(_Flat):
    """How one ground-truth video was paired (``method``: filename, basename, index or
    unpaired)."""

    predictions_video: str | None
    method: str


@dataclass(frozen=True)
class Pairing:
    """How two labels files were lined up (only for :func:`posekit.evaluation.evaluate`).

    Attributes:
        videos: ``{ground-truth video: its pairing}``.
        gt_frames_evaluated: ground-truth frames evaluated.
        gt_frames_without_predictions: of those, frames with labelled animals and no
            prediction.
    """

    videos: dict[str, VideoPairing]
    gt_frames_evaluated: int
    gt_frames_without_predictions: int

    def to_dict(self) -> dict[str, Any]:
        """The ``pairing`` JSON object."""
        return {
            "videos": {name: v.to_dict() for name, v in self.videos.items()},
            "gt_frames_evaluated": self.gt_frames_evaluated,
            "gt_frames_without_predictions": self.gt_frames_without_predictions,
        }

    @classmethod
    def from_dict(cls, data: Any, where: str = "pairing") -> Self:
        """Read the ``pairing`` JSON object."""
        data = as_mapping(data, where)
        for key in ("videos", "gt_frames_evaluated", "gt_frames_without_predictions"):
            if key not in data:
                raise missing_field(f"{where}.{key}")
        videos = as_mapping(data["videos"], f"{where}.videos")
        return cls(
            videos={
                str(k): VideoPairing.from_dict(v, f"{where}.videos.{k}") for k, v in videos.items()
            },
            gt_frames_evaluated=int(data["gt_frames_evaluated"]),
            gt_frames_without_predictions=int(data["gt_frames_without_predictions"]),
        )


@dataclass(frozen=True)
class InferenceInfo(_Flat):
    """How fast the predictions were made (when the evaluation ran the model itself)."""

    frames: int
    seconds: float
    frames_per_second: float | None
    backend: str | None = None


@dataclass(frozen=True)
class TrainingInfo(_Flat):
    """The training run behind a ``metrics.val.json``."""

    epochs: int
    wall_time_s: float
    train_samples_per_s: float | None
