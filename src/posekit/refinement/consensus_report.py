"""The consensus report: how well the labelers agree, who disagrees, and what it means.

:func:`build_report` computes every section from a :class:`~posekit.refinement.
labeler_set.LabelerSet` and its :class:`~posekit.refinement.consensus.Aggregate`;
:class:`ConsensusReport` is written as JSON (``schema_version`` 1) and printed by
``posekit labels consensus``. Its ``oks.sigmas`` section is the format ``posekit eval
--oks-sigmas-file`` reads, so the report itself can be passed there. ``docs/consensus.md``
explains each section in plain words.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from posekit.errors import ConfigError
from posekit.evaluation.distances import node_errors, pck
from posekit.evaluation.oks import DEFAULT_OKS_SIGMA, instance_areas, oks_matrix
from posekit.keypoints import visible_mask
from posekit.refinement import consensus as cs
from posekit.utils import atomic_write_text

if TYPE_CHECKING:
    from posekit.refinement.labeler_set import LabelerSet

PathLike = str | os.PathLike[str]
REPORT_VERSION = 1
REFERENCE = "consensus of the other labelers, agreement outliers left out"
"""What each labeler's bias, PCK and OKS are measured against."""
WORST_FRAMES = 10
"""Frames with the largest ILA listed in the report, for a consensus meeting."""
ICC_FORM = "ICC(2,1)"
ICC_WHY = (
    "two-way random effects, absolute agreement, one rater (Shrout & Fleiss ICC(2,1)): the "
    "labelers stand for any trained labeler (random), a constant offset of one labeler is "
    "disagreement (absolute, unlike ICC(3,1)), and it rates one labeler's label, which is "
    "what a frame labelled by one person is worth. Targets every labeler annotated; 'image': "
    "image coordinates; 'pose': relative to the centre of the target's consensus pose."
)
SIGMA_RULE = (
    "COCO's derivation: sigma^2 = E[d^2 / area], d the distance of a kept annotation from "
    "the mean of the target's kept annotations (pooled with n - 1 degrees of freedom per "
    "target), area the bounding box of the consensus pose"
)


def _num(value: Any, digits: int = 4) -> float | None:
    """A JSON number (rounded) or None for NaN / infinity / None."""
    if value is None:
        return None
    value = float(value)
    return round(value, digits) if np.isfinite(value) else None


def _matrix(values: np.ndarray) -> list[list[float | None]]:
    return [[_num(v) for v in row] for row in values]


@dataclass
class ConsensusReport:
    """Everything ``posekit labels consensus`` measured (``to_dict`` is its JSON form).

    Sections (see ``docs/consensus.md``): ``frames``, ``annotations`` (removed as
    outliers), ``ila`` (per node, with bands), ``pairwise_ila`` (labeler-by-labeler
    matrices), ``agreement`` and ``outliers`` (the 2 SD rule), ``bias`` (against the other
    labelers' consensus), ``gold`` (against the gold labeler), ``stability`` (the stop
    rule), ``icc``, ``human`` (PCK and OKS against the consensus), ``oks`` (sigmas) and
    ``worst_frames`` (the frames with the largest ILA, to review together).
    """

    labelers: list[str]
    sources: list[str]
    nodes: list[str]
    settings: dict[str, Any]
    frames: dict[str, Any]
    annotations: dict[str, Any]
    ila: dict[str, Any]
    pairwise_ila: dict[str, Any]
    agreement: list[dict[str, Any]]
    agreement_by_node: list[dict[str, Any]]
    outliers: list[str]
    bias: dict[str, Any]
    stability: dict[str, Any]
    icc: dict[str, Any]
    human: dict[str, Any]
    oks: dict[str, Any]
    worst_frames: list[dict[str, Any]] = field(default_factory=list)
    gold: dict[str, Any] | None = None
    output: str | None = None
    ila_csv: str | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (``schema_version`` 1)."""
        return {"schema_version": REPORT_VERSION, **asdict(self)}

    def save(self, path: PathLike) -> Path:
        """Write the report as JSON (atomic)."""
        return atomic_write_text(path, json.dumps(self.to_dict(), indent=2) + "\n")

    def save_sigmas(self, path: PathLike) -> Path:
        """Write ``{node: sigma}`` as JSON (atomic), for ``posekit eval --oks-sigmas-file``."""
        return atomic_write_text(path, json.dumps(self.oks["sigmas"], indent=2) + "\n")


def _ila(lset: LabelerSet, agg: cs.Aggregate) -> tuple[dict[str, Any], np.ndarray]:
    """ILA after outlier removal: per node (pairs pooled over targets) and per frame."""
    sums, counts = cs.pair_sums(lset.points, agg.kept)  # (T, K)
    n_frames = len(lset.frames)
    frame_sum = np.bincount(lset.target_frame, weights=sums.sum(axis=1), minlength=n_frames)
    frame_n = np.bincount(lset.target_frame, weights=counts.sum(axis=1), minlength=n_frames)
    frame_ila = cs.ratio(frame_sum, frame_n)
    per_node = {}
    for k, node in enumerate(lset.node_names):
        value = cs.ratio(sums[:, k].sum(), counts[:, k].sum())
        per_node[node] = {"mean_px": _num(value), "pairs": int(counts[:, k].sum()),
                          "band": cs.band(float(value), cs.ILA_BANDS, "poor")}
    overall = cs.ratio(sums.sum(), counts.sum())
    section = {"mean_px": _num(overall), "band": cs.band(float(overall), cs.ILA_BANDS, "poor"),
               "pairs": int(counts.sum()), "per_node": per_node,
               "bands_px": {name: limit for limit, name in cs.ILA_BANDS}}
    return section, frame_ila


def _agreement(lset: LabelerSet, settings: cs.ConsensusSettings) -> tuple[dict, list, list]:
    """Pairwise matrices, each labeler's mean distance to the others, and the 2 SD flags."""
    sums, counts = cs.pairwise_matrix(lset.points)  # (L, L, K)
    names, nodes = lset.names, lset.node_names
    pairwise = {
        "overall_px": _matrix(cs.ratio(sums.sum(axis=2), counts.sum(axis=2))),
        "per_node_px": {n: _matrix(cs.ratio(sums[..., k], counts[..., k]))
                        for k, n in enumerate(nodes)},
        "points_compared": counts.sum(axis=2).tolist(),
    }
    test = cs.outlier_test(cs.ratio(sums.sum(axis=(1, 2)), counts.sum(axis=(1, 2))),
                           settings.outlier_sd)
    agreement = [{"labeler": name, "mean_px": _num(test.value[i]),
                  "others_mean_px": _num(test.others_mean[i]),
                  "others_sd_px": _num(test.others_sd[i]), "z": _num(test.z[i], 2),
                  "outlier": bool(test.outlier[i])} for i, name in enumerate(names)]
    by_node = []
    for k, node in enumerate(nodes):
        node_test = cs.outlier_test(cs.ratio(sums[..., k].sum(axis=1), counts[..., k].sum(axis=1)),
                                    settings.outlier_sd)
        by_node += [{"labeler": names[i], "node": node, "mean_px": _num(node_test.value[i]),
                     "others_mean_px": _num(node_test.others_mean[i]),
                     "z": _num(node_test.z[i], 2)}
                    for i in np.flatnonzero(node_test.outlier)]
    return pairwise, agreement, by_node


def _offsets_entry(off: cs.Offsets, nodes: list[str]) -> dict[str, Any]:
    return {
        "mean_px": _num(off.mean_px_all), "dx": _num(off.bias_all[0]),
        "dy": _num(off.bias_all[1]), "n": int(off.n.sum()),
        "per_node": {node: {"mean_px": _num(off.mean_px[k]), "dx": _num(off.bias[k, 0]),
                            "dy": _num(off.bias[k, 1]), "n": int(off.n[k])}
                     for k, node in enumerate(nodes)},
    }


def _gold(lset: LabelerSet, gold: str) -> dict[str, Any]:
    """Every other labeler against the gold labeler's own points."""
    if gold not in lset.names:
        raise ConfigError(
            f"--gold {gold}: not a labeler; expected one of {lset.names} (the file stems, or "
            "the names given with --names)."
        )
    g = lset.names.index(gold)
    per = {name: _offsets_entry(cs.offsets(lset.points[:, i], lset.points[:, g]),
                                lset.node_names)
           for i, name in enumerate(lset.names) if i != g}
    return {"labeler": gold, "per_labeler": per}


def _stability(lset: LabelerSet, settings: cs.ConsensusSettings) -> dict[str, Any]:
    steps = cs.stability(lset.points, settings.mad_factor, settings.min_mad_px)
    rows, enough = [], None
    for n, (mean, p95, count) in enumerate(steps, start=2):
        stable = bool(np.isfinite(mean) and mean < settings.stable_px)
        rows.append({"n_labelers": n, "added": lset.names[n - 1], "mean_shift_px": _num(mean),
                     "p95_shift_px": _num(p95), "points": count, "stable": stable})
        if stable and enough is None:
            enough = n - 1
    return {"threshold_px": settings.stable_px, "order": list(lset.names), "steps": rows,
            "sufficient_labelers": enough}


def _icc(lset: LabelerSet, agg: cs.Aggregate) -> dict[str, Any]:
    """ICC(2,1) per node and axis, in image coordinates and relative to the pose centre."""
    image, n = cs.icc_per_node(lset.points)
    pose, _ = cs.icc_per_node(lset.points, agg.consensus)
    per_node = {}
    for k, node in enumerate(lset.node_names):
        entry: dict[str, Any] = {"n_targets": int(n[k])}
        for frame, values in (("image", image[k]), ("pose", pose[k])):
            entry[frame] = {axis: _num(v) for axis, v in zip("xy", values)}
            entry[frame].update({f"band_{axis}": cs.band(float(v), cs.ICC_BANDS,
                                                         "below target", True)
                                 for axis, v in zip("xy", values)})
        per_node[node] = entry
    return {"form": ICC_FORM, "why": ICC_WHY, "per_node": per_node,
            "bands": {name: limit for limit, name in cs.ICC_BANDS}}


def paired_oks(reference: np.ndarray, points: np.ndarray, sigmas: float | np.ndarray,
               chunk: int = 256) -> np.ndarray:
    """``(M,)`` OKS of ``points[m]`` against ``reference[m]`` (``posekit.evaluation.oks``)."""
    out = np.zeros(reference.shape[0])
    areas = instance_areas(reference)
    for start in range(0, reference.shape[0], chunk):
        part = slice(start, start + chunk)
        out[part] = np.diag(oks_matrix(reference[part], points[part], areas[part], sigmas))
    return out


def _human(lset: LabelerSet, loo: np.ndarray, settings: cs.ConsensusSettings) -> dict:
    """Each labeler scored like a model against the consensus of the other labelers."""
    thresholds = list(settings.pck_thresholds_px)
    per, pcks, okss = {}, [], []
    for i, name in enumerate(lset.names):
        ref, pts = loo[i], lset.points[:, i]
        rows = visible_mask(ref).any(axis=1) & visible_mask(pts).any(axis=1)
        if not rows.any():
            per[name] = {"instances": 0, "pck": None, "oks_mean": None}
            continue
        overall, _ = pck(node_errors(ref[rows], pts[rows]), visible_mask(ref[rows]), thresholds)
        oks = float(paired_oks(ref[rows], pts[rows], settings.oks_sigma).mean())
        per[name] = {"instances": int(rows.sum()), "oks_mean": _num(oks),
                     "pck": {str(t): _num(v) for t, v in zip(thresholds, overall)}}
        pcks.append(overall)
        okss.append(oks)
    mean = {"oks_mean": _num(np.mean(okss)) if okss else None,
            "pck": ({str(t): _num(v) for t, v in zip(thresholds, np.nanmean(pcks, axis=0))}
                    if pcks else None)}
    return {"reference": REFERENCE, "oks_sigma": settings.oks_sigma,
            "pck_thresholds_px": thresholds, "per_labeler": per, "mean": mean}


def _sigmas(lset: LabelerSet, agg: cs.Aggregate, notes: list[str]) -> dict[str, Any]:
    sigma, dof = cs.coco_sigmas(lset.points, agg.kept, agg.consensus)
    values, defaulted = {}, []
    for k, node in enumerate(lset.node_names):
        if np.isfinite(sigma[k]) and sigma[k] > 0:
            values[node] = round(float(sigma[k]), 6)
        else:
            values[node] = DEFAULT_OKS_SIGMA
            defaulted.append(node)
    if defaulted:
        notes.append(f"OKS sigma of {defaulted}: no spread measured (no target with two kept "
                     f"annotations that differ); the default {DEFAULT_OKS_SIGMA} is written.")
    return {"sigmas": values, "dof": {n: int(d) for n, d in zip(lset.node_names, dof)},
            "defaulted": defaulted, "rule": SIGMA_RULE}


def _worst_frames(lset: LabelerSet, frame_ila: np.ndarray, count: int = WORST_FRAMES) -> list:
    order = [int(i) for i in np.argsort(-np.nan_to_num(frame_ila, nan=-1.0)) if
             np.isfinite(frame_ila[i])][:count]
    return [{"recording": lset.frames[i].recording,
             "frame_idx": lset.frames[i].locations[0][1], "ila_px": _num(frame_ila[i]),
             "n_labelers": len(lset.frames[i].labelers)} for i in order]


def _annotations(lset: LabelerSet, agg: cs.Aggregate) -> dict[str, Any]:
    placed, removed = int(agg.present.sum()), int(agg.removed.sum())
    return {"placed": placed, "removed": removed,
            "removed_fraction": _num(removed / placed if placed else np.nan),
            "removed_by_labeler": {n: int(agg.removed[:, i].sum())
                                   for i, n in enumerate(lset.names)}}


def build_report(
    lset: LabelerSet,
    agg: cs.Aggregate,
    settings: cs.ConsensusSettings | None = None,
    gold: str | None = None,
) -> tuple[ConsensusReport, np.ndarray]:
    """Every section of the report, and the ``(F,)`` ILA of each frame (NaN: no pair).

    Raises:
        ConfigError: ``gold`` is not one of the labelers.
    """
    settings = settings or cs.ConsensusSettings()
    notes = list(lset.notes)
    gold_section = _gold(lset, gold) if gold is not None else None
    ila, frame_ila = _ila(lset, agg)
    pairwise, agreement, by_node = _agreement(lset, settings)
    outliers = [a["labeler"] for a in agreement if a["outlier"]]
    loo = cs.leave_one_out(lset.points, settings.mad_factor, settings.min_mad_px,
                           exclude=[lset.names.index(name) for name in outliers])
    bias = {"reference": REFERENCE,
            "per_labeler": {name: _offsets_entry(cs.offsets(lset.points[:, i], loo[i]),
                                                 lset.node_names)
                            for i, name in enumerate(lset.names)}}
    in_consensus = sum(f.in_consensus for f in lset.frames)
    frames = {"total": len(lset.frames), "in_consensus": in_consensus,
              "single_labeler": len(lset.frames) - in_consensus, "animals": len(lset.points)}
    report = ConsensusReport(
        labelers=list(lset.names), sources=list(lset.paths), nodes=lset.node_names,
        settings=settings.to_dict(), frames=frames, annotations=_annotations(lset, agg),
        ila=ila, pairwise_ila=pairwise, agreement=agreement, agreement_by_node=by_node,
        outliers=outliers, bias=bias,
        stability=_stability(lset, settings), icc=_icc(lset, agg),
        human=_human(lset, loo, settings), oks=_sigmas(lset, agg, notes),
        worst_frames=_worst_frames(lset, frame_ila), gold=gold_section, notes=notes)
    return report, frame_ila
