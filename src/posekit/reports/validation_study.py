"""Validate predictions against a reference: behavioural measures and keypoints (the API).

>>> study = validate_predictions("session1.slp", "session1_boris.csv",
...                              ValidationSettings(px_per_cm=10, bin_s=60))  # doctest: +SKIP
>>> [(m.name, m.agreement.verdict) for m in study.measures]  # doctest: +SKIP

Each (predictions, reference) pair is read (:mod:`.validation_files`), aligned in time and
animals (:mod:`.validation_reference`), measured at the reference's sample times with
:func:`posekit.behaviour.summary.measure_tracks` (both sources the same way), and every
measure's pairs over all files, animals and bins are compared (:mod:`.validation_stats`).
With a metadata CSV and a group column, Cohen's d between groups is computed from each
source (whole recording per animal) and set side by side.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from posekit.behaviour.arena import Zone
from posekit.behaviour.measures import Units, position
from posekit.behaviour.summary import measure_tracks
from posekit.errors import ConfigError, DataError
from posekit.reports.validation_files import PoseSeries, read_series
from posekit.reports.validation_reference import (
    Alignment,
    AnimalMatch,
    align,
    common_nodes,
    match_animals,
    node_points,
    on_grid,
    points_at,
    require_identities,
)
from posekit.reports.validation_stats import (
    ALPHA,
    Agreement,
    PointDistances,
    agreement,
    cohens_d,
    point_distances,
)

PathLike = str | os.PathLike[str]
INSTANT_SPEED = "speed (per sample)"
"""Name of the sample-by-sample speed measure."""


@dataclass(frozen=True)
class ValidationSettings:
    """What to compare and how.

    Attributes:
        node: the node giving each animal's position for the measures, or ``centroid``.
        px_per_cm: pixels per cm (None: lengths in px).
        fps: the video's frame rate (None: read from the predictions' video).
        reference_fps: the rate the reference's frame numbers count at, when it is not the
            video's (aligned by timestamps).
        bin_s: time-bin length (s); None: the whole recording per animal.
        immobile_speed: speed below which a sample is immobile (speed unit); None: not
            measured.
        group: the metadata column whose values are the groups (Cohen's d).
        alpha: significance level of the tests.
    """

    node: str = "centroid"
    px_per_cm: float | None = None
    fps: float | None = None
    reference_fps: float | None = None
    bin_s: float | None = None
    immobile_speed: float | None = None
    group: str | None = None
    alpha: float = ALPHA

    def __post_init__(self) -> None:
        Units(self.px_per_cm, self.fps)  # ConfigError for a zero / negative scale or rate
        if self.reference_fps is not None and not (np.isfinite(self.reference_fps)
                                                   and self.reference_fps > 0):
            raise ConfigError(f"--reference-fps: {self.reference_fps} is not a usable frame "
                              "rate; expected a positive number (the reference's samples per "
                              "second).")
        if not 0 < self.alpha < 1:
            raise ConfigError(f"alpha: {self.alpha}; expected a number between 0 and 1.")


@dataclass(frozen=True)
class PairResult:
    """One predictions file compared with one reference file."""

    predictions: str
    reference: str
    reference_kind: str
    alignment: Alignment
    match: AnimalMatch
    nodes: tuple[str, ...]
    group: str | None
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"predictions": self.predictions, "reference": self.reference,
                "reference_kind": self.reference_kind, "alignment": self.alignment.to_dict(),
                "animals": self.match.to_dict(), "nodes": list(self.nodes),
                "group": self.group, "notes": list(self.notes)}


@dataclass(frozen=True)
class MeasureResult:
    """One behavioural measure: its pairs and their agreement.

    ``where`` names each pair (``file #, animal, bin``)."""

    name: str
    unit: str
    pred: tuple[float, ...]
    ref: tuple[float, ...]
    where: tuple[str, ...]
    agreement: Agreement

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form with every pair."""
        return {"name": self.name, "unit": self.unit, **self.agreement.to_dict(),
                "pairs": [{"where": w, "predictions": p, "reference": r}
                          for w, p, r in zip(self.where, self.pred, self.ref, strict=True)]}


@dataclass(frozen=True)
class KeypointResult:
    """Position agreement of one node: x, y and the point distance."""

    node: str
    x: Agreement
    y: Agreement
    distance: PointDistances

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"node": self.node, "x": self.x.to_dict(), "y": self.y.to_dict(),
                "distance_px": self.distance.to_dict()}


@dataclass(frozen=True)
class GroupEffect:
    """Cohen's d of one measure between a group and the control group, from each source."""

    measure: str
    control: str
    treated: str
    n_control: int
    n_treated: int
    d_pred: float | None
    d_ref: float | None

    @property
    def more_sensitive(self) -> str | None:
        """Which source shows the larger effect (|d|), or None when one is undefined."""
        if self.d_pred is None or self.d_ref is None:
            return None
        if abs(self.d_pred) == abs(self.d_ref):
            return "equal"
        return "predictions" if abs(self.d_pred) > abs(self.d_ref) else "reference"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {**asdict(self), "more_sensitive": self.more_sensitive}


@dataclass(frozen=True)
class ValidationStudy:
    """Everything ``posekit report validate`` found."""

    settings: ValidationSettings
    units: dict[str, str]
    pairs: tuple[PairResult, ...]
    measures: tuple[MeasureResult, ...]
    keypoints: tuple[KeypointResult, ...]
    groups: tuple[GroupEffect, ...] = ()
    group_column: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the report's ``results.validation``)."""
        return {"settings": asdict(self.settings), "units": self.units,
                "pairs": [p.to_dict() for p in self.pairs],
                "measures": [m.to_dict() for m in self.measures],
                "keypoints": [k.to_dict() for k in self.keypoints],
                "group_column": self.group_column,
                "group_effects": [g.to_dict() for g in self.groups], "notes": list(self.notes)}


@dataclass
class _Collected:
    """Pairs gathered over every file: ``{measure: (pred list, ref list, where list)}``,
    ``{node: (pred (n, 2) list, ref list)}`` and whole-recording rows for groups."""

    measures: dict[str, tuple[list, list, list]] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)
    nodes: dict[str, tuple[list, list]] = field(default_factory=dict)
    whole: list[tuple[str | None, dict, dict]] = field(default_factory=list)

    def add(self, name: str, unit: str, pred: float, ref: float, where: str) -> None:
        lists = self.measures.setdefault(name, ([], [], []))
        self.units[name] = unit
        for lst, value in zip(lists, (pred, ref, where), strict=True):
            lst.append(value)


def _measure_units(name: str, units: Units) -> str:
    """The unit of a :func:`measure_tracks` column."""
    if name == "distance":
        return units.length
    if name.startswith("speed"):
        return units.speed
    if name.startswith(("time_in_", "immobile")):
        return units.time
    return "fraction" if name.startswith("fraction_in_") else "count"


MEASURE_COLUMNS = ("distance", "speed_mean", "speed_median", "immobile_time")
"""The :func:`measure_tracks` columns compared (plus every zone's time, fraction and
entries)."""


def _positions(pred_pts: np.ndarray, ref_pts: np.ndarray, pred: PoseSeries, ref: PoseSeries,
               node: str) -> tuple[np.ndarray, np.ndarray]:
    """``(N, A, 2)`` positions from each source: ``node`` on both, or (``centroid``) the
    mean of the nodes both have; a one-point reference gives its point."""
    ref_lower = [n.lower() for n in ref.node_names]
    if node.lower() in ref_lower and node != "centroid":
        return (position(pred_pts, pred.node_names, node),
                ref_pts[:, :, ref_lower.index(node.lower())])
    if len(ref.node_names) == 1:
        return position(pred_pts, pred.node_names, node), ref_pts[:, :, 0]
    if node != "centroid":
        known = ", ".join(ref.node_names)
        raise DataError(f"{ref.source}: no node {node!r} in the reference ({known}); "
                        "expected --node to name a node both sources have, or centroid.")
    shared = [(p, r) for _, p, r in common_nodes(pred, ref, node) if p is not None]
    pi, ri = [p for p, _ in shared], [r for _, r in shared]
    return position(pred_pts[:, :, pi], (), "centroid"), position(ref_pts[:, :, ri], (),
                                                                    "centroid")


def _series_pair(predictions: PathLike, reference: PathLike,
                 settings: ValidationSettings) -> tuple[PoseSeries, PoseSeries]:
    pred = read_series(predictions, "predictions", settings.node)
    ref = read_series(reference, "reference", settings.node)
    require_identities(pred, "predictions")
    require_identities(ref, "reference")
    return pred, ref


def _units_for(al: Alignment, settings: ValidationSettings, source: str) -> Units:
    """Scale and sample rate of the measures (the reference's samples)."""
    if al.sample_rate is None and al.step > 1:
        raise ConfigError(f"{source}: the reference has one sample every {al.step} frames "
                          "and the video's frame rate is unknown, so speeds and times cannot "
                          "be given per second or per video frame; expected a readable video."
                          " Pass --fps (the video's frame rate).")
    return Units(settings.px_per_cm, al.sample_rate)


def _compare_pair(index: int, predictions: PathLike, reference: PathLike,
                  settings: ValidationSettings, zones: list[Zone], group: str | None,
                  out: _Collected) -> PairResult:
    """Align, match and measure one pair of files; adds its pairs to ``out``."""
    pred, ref = _series_pair(predictions, reference, settings)
    fps = settings.fps or pred.fps or ref.fps
    al = align(pred, ref, fps, settings.reference_fps)
    pred_pts, ref_pts = points_at(pred, al.frames), ref.points[al.ref_rows]
    pred_xy, ref_xy = _positions(pred_pts, ref_pts, pred, ref, settings.node)
    match = match_animals(pred.animal_names, ref.animal_names, pred_xy, ref_xy)
    ri = [ref.animal_names.index(r) for r, _, _ in match.pairs]
    pi = [pred.animal_names.index(p) for _, p, _ in match.pairs]
    names = tuple(r for r, _, _ in match.pairs)
    units = _units_for(al, settings, str(reference))
    both = np.isfinite(pred_xy[:, pi]).all(-1) & np.isfinite(ref_xy[:, ri]).all(-1)
    grids = [on_grid(np.where(both[..., None], xy, np.nan), al)
             for xy in (pred_xy[:, pi], ref_xy[:, ri])]
    found = [measure_tracks(g, zones, units, settings.immobile_speed, settings.bin_s,
                            names=names) for g in grids]
    tag = f"#{index + 1}"
    for j, name in enumerate(names):
        for p, r in zip(found[0].speed[:, j], found[1].speed[:, j], strict=True):
            out.add(INSTANT_SPEED, units.speed, float(p), float(r), f"{tag} {name}")
    for prow, rrow in zip(found[0].rows, found[1].rows, strict=True):
        if (prow["bin"] == "all") == (settings.bin_s is not None):
            continue
        for col in prow:
            if col in MEASURE_COLUMNS or col.startswith(("time_in_", "fraction_in_",
                                                         "entries_")):
                out.add(col, _measure_units(col, units), float(prow[col]), float(rrow[col]),
                        f"{tag} {prow['animal']} bin {prow['bin']}")
    out.whole += [(group, p, r) for p, r in zip(found[0].rows, found[1].rows, strict=True)
                  if p["bin"] == "all"]
    nodes = common_nodes(pred, ref, settings.node)
    for node, p, r in nodes:
        lists = out.nodes.setdefault(node, ([], []))
        lists[0].append(node_points(pred_pts, p)[:, pi].reshape(-1, 2))
        lists[1].append(ref_pts[:, ri, r].reshape(-1, 2))
    notes = tuple(f"{Path(s.source).name}: {n}" for s in (pred, ref) for n in s.notes)
    return PairResult(str(predictions), str(reference), ref.kind, al, match,
                      tuple(n for n, _, _ in nodes), group, notes)


def _groups(metadata: PathLike, predictions: Sequence[PathLike], column: str | None
            ) -> tuple[str, list[str]]:
    """The group column and each predictions file's group (metadata looked up by the
    predictions' video, else by the predictions file itself)."""
    import sleap_io as sio

    from posekit.refinement.metadata import read_metadata

    meta = read_metadata(metadata)
    if column is None:
        if len(meta.columns) != 1:
            raise ConfigError(f"{metadata}: columns {list(meta.columns)}; expected --group to "
                              "name the column holding the groups (e.g. --group treatment).")
        column = meta.columns[0]
    videos = []
    for path in predictions:
        video = read_series(path, "predictions").video
        videos.append(video if video is not None else sio.Video(
            filename=str(Path(path).resolve()), open_backend=False))
    return column, [row[column] for row in meta.lookup(videos, [column])]


def _group_effects(whole: list[tuple[str | None, dict, dict]], names: list[str]
                   ) -> tuple[GroupEffect, ...]:
    """Cohen's d of every measure between each group and the first group seen."""
    order = list(dict.fromkeys(g for g, _, _ in whole if g is not None))
    if len(order) < 2:
        return ()
    effects = []
    for name in names:
        for treated in order[1:]:
            sides = []
            for source in (1, 2):
                values = {g: [float(row[source][name]) for row in whole if row[0] == g]
                          for g in (order[0], treated)}
                sides.append(values)
            effects.append(GroupEffect(name, order[0], treated, len(sides[0][order[0]]),
                                       len(sides[0][treated]),
                                       cohens_d(sides[0][order[0]], sides[0][treated]),
                                       cohens_d(sides[1][order[0]], sides[1][treated])))
    return tuple(effects)


def validate_predictions(predictions: PathLike | Sequence[PathLike],
                         reference: PathLike | Sequence[PathLike],
                         settings: ValidationSettings | None = None,
                         zones: Sequence[Zone] = (),
                         metadata: PathLike | None = None) -> ValidationStudy:
    """Compare predictions with a reference (one file each, or lists paired in order).

    Args:
        predictions: predictions file(s) (.slp, SLEAP analysis .h5/.csv, DeepLabCut .h5/.csv).
        reference: reference file(s): manual-scoring CSV, labels or another tool's output.
        settings: what to compare (default :class:`ValidationSettings`).
        zones: arena zones (time in zone, thigmotaxis).
        metadata: CSV of video → groups, for Cohen's d between groups.

    Raises:
        ConfigError: bad settings, unequal numbers of files, or no frame rate where needed.
        DataError: unreadable files, no overlap, untracked animals, no common node.
    """
    settings = settings or ValidationSettings()
    preds = [predictions] if isinstance(predictions, (str, os.PathLike)) else list(predictions)
    refs = [reference] if isinstance(reference, (str, os.PathLike)) else list(reference)
    if len(preds) != len(refs) or not preds:
        raise ConfigError(f"{len(preds)} predictions file(s) and {len(refs)} reference "
                          "file(s); expected one reference per predictions file, in the same "
                          "order.")
    column, groups = (_groups(metadata, preds, settings.group) if metadata is not None
                      else (None, [None] * len(preds)))
    out = _Collected()
    pairs = tuple(_compare_pair(i, p, r, settings, list(zones), g, out)
                  for i, (p, r, g) in enumerate(zip(preds, refs, groups, strict=True)))
    measures = tuple(MeasureResult(name, out.units[name], tuple(p), tuple(r), tuple(w),
                                   agreement(np.asarray(p), np.asarray(r), settings.alpha))
                     for name, (p, r, w) in out.measures.items())
    keypoints = []
    for node, (p, r) in out.nodes.items():
        pp, rr = np.concatenate(p), np.concatenate(r)
        keypoints.append(KeypointResult(node, agreement(pp[:, 0], rr[:, 0], settings.alpha),
                                        agreement(pp[:, 1], rr[:, 1], settings.alpha),
                                        point_distances(pp, rr)))
    names = [m.name for m in measures if m.name != INSTANT_SPEED]
    first = Units(settings.px_per_cm, pairs[0].alignment.sample_rate)
    unit_names = {"length": first.length, "time": first.time, "speed": first.speed}
    return ValidationStudy(settings, unit_names, pairs, measures, tuple(keypoints),
                           _group_effects(out.whole, names), column,
                           tuple(n for p in pairs for n in p.notes))
