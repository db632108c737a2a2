"""Two runs (refinement rounds) on the same test frames: per-keypoint and per-condition
differences in error with paired bootstrap intervals, and a plain summary.

Inputs are the evaluation's own per-frame inputs (:class:`posekit.evaluation.pairs.
FrameInputs`, one per run, over the same frames and the same labels). Each run is matched
exactly as ``posekit eval`` matches it (:meth:`FrameInputs.match`); a labelled point is
*paired* when both runs matched its animal and placed the point, so both have an error for
it. Differences are computed over paired points only (a run that drops hard points must
not look better for it); how many labelled points each run located is reported beside.
The intervals are those of :mod:`posekit.reports.compare_bootstrap`. The standard metrics
of each run (:class:`~posekit.evaluation.EvaluationResult`) are shown side by side.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from posekit.errors import DataError
from posekit.evaluation.pairs import FrameInputs, MatchedPoints
from posekit.evaluation.results import EvaluationResult
from posekit.evaluation.settings import EvaluationSettings
from posekit.keypoints import visible_mask
from posekit.reports.compare_bootstrap import (
    LEVEL,
    N_BOOT,
    SEED,
    Delta,
    paired_deltas,
    resample_indices,
)

LOCATED_CHANGE = 0.05
"""The summary names a keypoint one run locates more often than the other when the counts
differ by at least this share of its labelled points."""


@dataclass(frozen=True, eq=False)
class PairedErrors:
    """Per frame and node: the paired errors' sums and counts, and located points.

    Attributes:
        node_names: the nodes (``K``).
        sum_a, sum_b: ``(F, K)`` sums of each run's errors over the paired points.
        count: ``(F, K)`` paired points.
        labelled: ``(F, K)`` labelled (visible) points.
        located_a, located_b: ``(F, K)`` labelled points each run has an error for.
    """

    node_names: tuple[str, ...]
    sum_a: np.ndarray
    sum_b: np.ndarray
    count: np.ndarray
    labelled: np.ndarray
    located_a: np.ndarray
    located_b: np.ndarray


def _animal_keys(m: MatchedPoints) -> list[tuple[int, bytes]]:
    """A key per matched pair naming its labelled animal: (frame, its labelled points)."""
    gt = np.nan_to_num(m.gt, nan=-1e12)
    return [(int(f), gt[i].tobytes()) for i, f in enumerate(m.frame.tolist())]


def paired_errors(a: MatchedPoints, b: MatchedPoints, labelled: np.ndarray) -> PairedErrors:
    """Pair the two runs' errors by labelled animal and node (module notes).

    Args:
        a, b: the matched points of run A and run B on the same frames.
        labelled: ``(F, K)`` visible labelled points per frame and node.
    """
    n_frames, n_nodes = labelled.shape
    err_a, err_b = a.errors, b.errors
    row_a = {key: i for i, key in enumerate(_animal_keys(a))}
    sum_a, sum_b, count = (np.zeros((n_frames, n_nodes)) for _ in range(3))
    for j, key in enumerate(_animal_keys(b)):
        i = row_a.get(key)
        if i is None:
            continue
        both = np.isfinite(err_a[i]) & np.isfinite(err_b[j])
        f = key[0]
        sum_a[f] += np.where(both, err_a[i], 0.0)
        sum_b[f] += np.where(both, err_b[j], 0.0)
        count[f] += both
    located = []
    for m, err in ((a, err_a), (b, err_b)):
        out = np.zeros((n_frames, n_nodes))
        np.add.at(out, m.frame, np.isfinite(err).astype(np.float64))
        located.append(out)
    return PairedErrors(tuple(a.node_names), sum_a, sum_b, count,
                        np.asarray(labelled, np.float64), located[0], located[1])


@dataclass(frozen=True)
class NodeComparison:
    """One keypoint: the paired difference and the located points of each run."""

    node: str
    delta: Delta
    labelled: int
    located_a: int
    located_b: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        return {"node": self.node, **self.delta.to_dict(), "labelled": self.labelled,
                "located_a": self.located_a, "located_b": self.located_b}


@dataclass(frozen=True)
class ConditionComparison:
    """One condition value: the paired difference over all its points."""

    condition: str
    frames: int
    delta: Delta

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        return {"condition": self.condition, "condition_frames": self.frames,
                **self.delta.to_dict()}


@dataclass(frozen=True)
class RunSide:
    """One of the two runs: its name, folder and standard metrics on the frames."""

    name: str
    path: str
    result: EvaluationResult

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (the full metrics under ``metrics``)."""
        return {"name": self.name, "path": self.path, "metrics": self.result.to_dict()}


@dataclass(frozen=True)
class RoundComparison:
    """Two runs compared on the same frames.

    Attributes:
        run_a, run_b: the runs (``B - A`` is reported: negative is better for B).
        frames: evaluated frames.
        overall: the difference over all paired points.
        nodes: per keypoint.
        condition_column: what ``conditions`` are grouped by.
        conditions: per condition value.
        n_boot, level, seed: the bootstrap settings.
        predictions: where the predictions came from (``"saved validation predictions"``
            or ``"predicted --test LABELS"``).
        summary: the plain summary sentences.
        notes: things worth knowing.
    """

    run_a: RunSide
    run_b: RunSide
    frames: int
    overall: Delta
    nodes: tuple[NodeComparison, ...]
    condition_column: str | None
    conditions: tuple[ConditionComparison, ...]
    n_boot: int
    level: float
    seed: int
    predictions: str = ""
    summary: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)

    def node(self, name: str) -> NodeComparison:
        """The comparison of one keypoint."""
        return next(n for n in self.nodes if n.node == name)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object written under ``results.compare`` of the report's JSON (the
        envelope's ``schema_version`` covers it)."""
        return {
            "run_a": self.run_a.to_dict(), "run_b": self.run_b.to_dict(),
            "frames": self.frames, "predictions": self.predictions,
            "bootstrap": {"resamples": self.n_boot, "level": self.level, "seed": self.seed,
                          "unit": "frame", "paired": True, "interval": "percentile"},
            "overall": self.overall.to_dict(), "nodes": [n.to_dict() for n in self.nodes],
            "condition_column": self.condition_column,
            "conditions": [c.to_dict() for c in self.conditions],
            "summary": list(self.summary), "notes": list(self.notes),
        }


def _check_same_frames(a: FrameInputs, b: FrameInputs) -> None:
    same = (a.n_frames == b.n_frames and a.videos == b.videos
            and a.frame_indices == b.frame_indices and a.node_names == b.node_names
            and all(np.array_equal(x, y, equal_nan=True)
                    for x, y in zip(a.gt_points, b.gt_points)))
    if not same:
        raise DataError(
            f"compare: the runs were scored on different frames ({a.n_frames} vs "
            f"{b.n_frames}) or labels; expected both runs' predictions on the same labelled "
            "frames. Give --test LABELS to predict the same file with both models."
        )


def _labelled(inputs: FrameInputs) -> np.ndarray:
    n_nodes = len(inputs.node_names)
    return np.stack([visible_mask(g).sum(axis=0) if len(g) else np.zeros(n_nodes)
                     for g in inputs.gt_points]).astype(np.float64)


def compare_inputs(
    inputs_a: FrameInputs,
    inputs_b: FrameInputs,
    *,
    names: tuple[str, str] = ("A", "B"),
    paths: tuple[str, str] = ("", ""),
    conditions: Sequence[str] | None = None,
    condition_column: str | None = None,
    n_boot: int = N_BOOT,
    level: float = LEVEL,
    seed: int = SEED,
    settings: EvaluationSettings | None = None,
    predictions: str = "",
    notes: Sequence[str] = (),
) -> RoundComparison:
    """Compare two runs' predictions of the same frames (module notes).

    Args:
        inputs_a, inputs_b: the per-frame inputs of each run (same frames and labels).
        names, paths: the runs' display names and folders.
        conditions: one condition value per frame (None: no per-condition part).
        condition_column: what the conditions are (e.g. ``treatment``, ``video``).
        n_boot, level, seed: the bootstrap settings.
        settings: evaluation settings (matching, sigmas).
        predictions: where the predictions came from, for the report.
        notes: notes to carry into the report.

    Raises:
        DataError: the inputs are not over the same frames and labels.
    """
    _check_same_frames(inputs_a, inputs_b)
    settings = settings or EvaluationSettings()
    paired = paired_errors(inputs_a.match(settings), inputs_b.match(settings),
                           _labelled(inputs_a))
    idx = resample_indices(inputs_a.n_frames, n_boot, seed)
    groups = np.concatenate([paired.count, paired.count.sum(axis=1, keepdims=True)], axis=1)
    sums_a = np.concatenate([paired.sum_a, paired.sum_a.sum(axis=1, keepdims=True)], axis=1)
    sums_b = np.concatenate([paired.sum_b, paired.sum_b.sum(axis=1, keepdims=True)], axis=1)
    deltas = paired_deltas(sums_a, sums_b, groups, idx, level)
    nodes = tuple(NodeComparison(n, deltas[k], int(paired.labelled[:, k].sum()),
                                 int(paired.located_a[:, k].sum()),
                                 int(paired.located_b[:, k].sum()))
                  for k, n in enumerate(paired.node_names))
    by_condition = _conditions(paired, conditions, n_boot, level, seed)
    result = RoundComparison(
        run_a=RunSide(names[0], paths[0], inputs_a.evaluate(settings)),
        run_b=RunSide(names[1], paths[1], inputs_b.evaluate(settings)),
        frames=inputs_a.n_frames, overall=deltas[-1], nodes=nodes,
        condition_column=condition_column if conditions is not None else None,
        conditions=by_condition, n_boot=n_boot, level=level, seed=seed,
        predictions=predictions, notes=tuple(notes))
    return _with_summary(result)


def _conditions(paired: PairedErrors, conditions: Sequence[str] | None, n_boot: int,
                level: float, seed: int) -> tuple[ConditionComparison, ...]:
    """The overall difference within each condition (its frames resampled, same seed)."""
    if conditions is None:
        return ()
    values = np.asarray(list(conditions), dtype=object)
    if len(values) != paired.count.shape[0]:
        raise ValueError(f"conditions: {len(values)} values for {paired.count.shape[0]} frames")
    out = []
    for value in dict.fromkeys(values.tolist()):
        keep = values == value
        rows = [x[keep].sum(axis=1, keepdims=True)
                for x in (paired.sum_a, paired.sum_b, paired.count)]
        idx = resample_indices(int(keep.sum()), n_boot, seed)
        out.append(ConditionComparison(str(value), int(keep.sum()),
                                       paired_deltas(*rows, idx, level)[0]))
    return tuple(out)


def _px(value: float | None, sign: bool = False) -> str:
    if value is None:
        return "n/a"
    return f"{value:+.2f}" if sign else f"{value:.2f}"


def overall_sentence(c: RoundComparison) -> str:
    """One sentence on the overall difference."""
    d, a, b = c.overall, c.run_a.name, c.run_b.name
    if d.delta is None:
        labelled = sum(n.labelled for n in c.nodes)
        return (f"{a} and {b} share no located point, so nothing can be compared point by "
                f"point: {a} located {sum(n.located_a for n in c.nodes)} and {b} "
                f"{sum(n.located_b for n in c.nodes)} of {labelled} labelled points.")
    numbers = (f"mean error {_px(d.mean_a)} \u2192 {_px(d.mean_b)} px ({_px(d.delta, True)} px, "
               f"{c.level:.0%} CI {_px(d.low, True)} to {_px(d.high, True)}) over {d.points} "
               f"points in {d.frames} frames")
    if d.verdict == "better":
        return f"{b} is better than {a}: {numbers}."
    if d.verdict == "worse":
        return f"{b} is worse than {a}: {numbers}."
    return f"{a} and {b} do not differ beyond noise: {numbers}; the interval includes 0."


def _listing(items: Sequence[NodeComparison | ConditionComparison], what: str) -> str:
    def label(x: Any) -> str:
        return x.node if isinstance(x, NodeComparison) else x.condition

    better = sorted((x for x in items if x.delta.verdict == "better"),
                    key=lambda x: x.delta.delta)
    worse = sorted((x for x in items if x.delta.verdict == "worse"),
                   key=lambda x: -x.delta.delta)
    same = [x for x in items if x.delta.verdict == "within noise"]
    parts = []
    if better:
        parts.append(f"{len(better)} of {len(items)} {what} improved beyond noise ("
                     + ", ".join(f"{label(x)} {_px(x.delta.delta, True)} px"
                                 for x in better[:3]) + ")")
    if worse:
        parts.append(f"{len(worse)} got worse ("
                     + ", ".join(f"{label(x)} {_px(x.delta.delta, True)} px"
                                 for x in worse[:3]) + ")")
    if same:
        parts.append(f"{len(same)} did not change beyond noise")
    return "; ".join(parts) + "." if parts else ""


def _located_sentences(c: RoundComparison) -> list[str]:
    """Keypoints one run locates noticeably more often than the other, and keypoints
    nothing can be compared on."""
    a, b = c.run_a.name, c.run_b.name
    more, fewer = [], []
    for n in c.nodes:
        diff = n.located_b - n.located_a
        if n.labelled and abs(diff) >= LOCATED_CHANGE * n.labelled:
            text = f"{n.node} ({n.located_b} vs {n.located_a} of {n.labelled})"
            (more if diff > 0 else fewer).append(text)
    lines = []
    if more:
        lines.append(f"{b} locates more points than {a} of {', '.join(more)}.")
    if fewer:
        lines.append(f"{b} locates fewer points than {a} of {', '.join(fewer)}: its error "
                     "there is measured on fewer, perhaps easier points.")
    none = [n.node for n in c.nodes if n.delta.delta is None]
    if none and c.overall.delta is not None:
        lines.append(f"Not compared (no point located by both runs): {', '.join(none)}.")
    return lines


def _with_summary(c: RoundComparison) -> RoundComparison:
    lines = [overall_sentence(c)]
    nodes = _listing(c.nodes, "keypoints")
    if nodes:
        lines.append(nodes[0].upper() + nodes[1:])
    if len(c.conditions) > 1:
        conds = _listing(c.conditions, "values")
        if conds:
            lines.append(f"By {c.condition_column or 'condition'}: {conds}")
    lines += _located_sentences(c)
    return replace(c, summary=tuple(lines))
