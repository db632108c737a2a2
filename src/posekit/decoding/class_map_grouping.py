"""Bottom-up grouping for multi-class models: class maps instead of part affinity fields.

A multi-class bottom-up model predicts, besides one confidence map per node, one sigmoid
class map per identity (class) and no PAFs: the identity of a peak tells which instance it
belongs to. Rules for one frame (:func:`group_by_class_maps`):

1. Each peak is scored against every class by the value of that class's map at the peak,
   read with bilinear interpolation at ``(x / stride, y / stride)`` (cell ``(i, j)`` is the
   model-input position ``(j * stride, i * stride)``), clamped to the map.
2. Per node, peaks are assigned to classes one-to-one so that the total class value is
   maximal (Hungarian algorithm). Only pairs whose value is at least ``min_class_score``
   may be assigned. A peak without such a pair is dropped, and so are the peaks left over
   when a node has more candidate peaks than classes (e.g. of two peaks that only class
   ``c`` claims, the one where class ``c``'s map is weaker).
3. Every class with at least one assigned peak becomes one instance, holding its assigned
   peak of each node (``NaN`` where none). Instances are ordered by class index and carry
   that class index as their identity.
4. The instance score is ``mean(point scores) * mean(class values)`` over the instance's
   points: the mean confidence-map value of its peaks times the mean value of its own
   class's map at those peaks. Both factors lie in ``[0, 1]`` for sigmoid maps, so the score
   does too. (Bottom-up PAF grouping uses a different scale: a sum over peaks and links.)

Pure numpy + scipy (no torch): inputs may be anything :func:`numpy.asarray` accepts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from scipy.optimize import linear_sum_assignment

from posekit.config.rules import RuleTable, check_settings, number, settings_from_dict
from posekit.decoding.grouping import FramePeaks, GroupedFrame
from posekit.decoding.identity import check_class_maps, class_map_values
from posekit.errors import DataError

__all__ = [
    "ClassMapGrouper",
    "ClassMapGroupingParams",
    "assign_peaks_to_classes",
    "group_by_class_maps",
]


SECTION = "inference.class_grouping"
"""YAML path of the multi-class bottom-up grouping settings in an inference config."""

RULES: RuleTable = {
    SECTION: (
        number("min_class_score", 0, 1, hint="Class maps are sigmoid values; the default is 0.1."),
        number("min_instance_peaks", 0),
    )
}
"""The value rules of :class:`ClassMapGroupingParams` (types come from its annotations)."""


@dataclass(frozen=True)
class ClassMapGroupingParams:
    """Settings of multi-class bottom-up grouping (see the module docstring).

    ``min_class_score`` is the smallest class-map value at which a peak may take a class;
    ``min_instance_peaks`` drops instances with fewer points (every instance has at least
    one). Checked when built (:data:`RULES`; problems name
    ``inference.class_grouping.<field>``).
    """

    min_class_score: float = 0.1
    min_instance_peaks: int = 0

    def __post_init__(self) -> None:
        check_settings(self, SECTION, RULES)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None, source: str) -> ClassMapGroupingParams:
        """Build from a mapping of its fields (``inference.class_grouping`` of an inference
        YAML); every problem is listed, naming ``source``."""
        return settings_from_dict(cls, data, SECTION, source)


def assign_peaks_to_classes(
    values: ArrayLike, peak_nodes: ArrayLike, min_class_score: float = 0.1
) -> np.ndarray:
    """Per node, a one-to-one peak-to-class assignment maximising the total class value.

    Args:
        values: ``(P, C)`` class value of each peak (``NaN`` never assigned).
        peak_nodes: ``(P,)`` node index of each peak.
        min_class_score: pairs below this value are never assigned.

    Returns:
        ``(P,)`` int64 class of each peak, ``-1`` for peaks left unassigned.
    """
    values = np.asarray(values, dtype=np.float64)
    nodes = np.asarray(peak_nodes).astype(np.int64).reshape(-1)
    if values.ndim != 2 or len(values) != len(nodes):
        raise DataError(
            f"values: got shape {tuple(values.shape)} for {len(nodes)} peaks; expected "
            f"({len(nodes)}, classes), one row of class values per peak."
        )
    allowed = values >= min_class_score  # False for NaN
    # Barred pairs weigh 0 and allowed ones >= 0: every matching among allowed pairs extends
    # to a full rectangular assignment of the same total, so dropping the barred pairs of the
    # optimal full assignment leaves an optimal matching among allowed pairs.
    weights = np.where(allowed, values, 0.0)
    classes = np.full(len(nodes), -1, dtype=np.int64)
    candidates = np.flatnonzero(allowed.any(axis=1))
    if len(candidates) == 0:
        return classes
    order = candidates[np.argsort(nodes[candidates], kind="stable")]
    starts = np.flatnonzero(np.r_[True, nodes[order][1:] != nodes[order][:-1]])
    for sel in np.split(order, starts[1:]):  # one small assignment per node
        rows, cols = linear_sum_assignment(weights[sel], maximize=True)
        ok = allowed[sel[rows], cols]
        classes[sel[rows[ok]]] = cols[ok]
    return classes


def _check_peaks(
    peak_points: ArrayLike, peak_nodes: ArrayLike, peak_scores: ArrayLike, n_nodes: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    points = np.asarray(peak_points, dtype=np.float32)
    nodes = np.asarray(peak_nodes).astype(np.int64).reshape(-1)
    scores = np.asarray(peak_scores, dtype=np.float64).reshape(-1)
    if points.ndim != 2 or points.shape[1] != 2:
        raise DataError(f"peak_points: got shape {tuple(points.shape)}; expected (peaks, 2).")
    if len(nodes) != len(points) or len(scores) != len(points):
        raise DataError(
            f"peaks: got {len(points)} points, {len(nodes)} node indices and {len(scores)} "
            "scores; expected one of each per peak. Pass the peak finder's outputs unchanged."
        )
    if len(nodes) and (nodes.min() < 0 or nodes.max() >= n_nodes):
        raise DataError(
            f"peak_nodes: node indices must lie in 0..{n_nodes - 1}; got {nodes.min()}.."
            f"{nodes.max()}. Check that the confidence maps have one channel per node."
        )
    return points, nodes, scores


def group_by_class_maps(
    peak_points: ArrayLike,
    peak_nodes: ArrayLike,
    peak_scores: ArrayLike,
    class_maps: ArrayLike,
    stride: float,
    n_nodes: int,
    params: ClassMapGroupingParams | None = None,
) -> GroupedFrame:
    """Group one frame's peaks into identity-labelled instances (module docstring rules).

    Args:
        peak_points: ``(P, 2)`` peaks in model-input pixels (non-finite ones are ignored).
        peak_nodes: ``(P,)`` node (channel) index of each peak.
        peak_scores: ``(P,)`` confidence-map value of each peak.
        class_maps: ``(C, h, w)`` sigmoid class maps of the frame.
        stride: output stride of the class maps.
        n_nodes: number of skeleton nodes ``K``.
        params: grouping settings (defaults: :class:`ClassMapGroupingParams`).

    Returns:
        ``instances (n, K, 2)`` float32 (``NaN`` where missing), ``point_scores (n, K)``
        float32 (``NaN`` where missing), ``instance_scores (n,)`` float32,
        ``class_idx (n,)`` int64, ordered by class (``n <= C``), and ``class_scores (n,)``
        float32 (the mean value of the instance's own class map at its points).
    """
    params = params or ClassMapGroupingParams()
    maps = check_class_maps(class_maps)
    points, nodes, scores = _check_peaks(peak_points, peak_nodes, peak_scores, n_nodes)
    values = class_map_values(points, maps, stride)  # (P, C), NaN for non-finite peaks
    peak_class = assign_peaks_to_classes(values, nodes, params.min_class_score)
    taken = np.flatnonzero(peak_class >= 0)
    classes, inst_of_peak = np.unique(peak_class[taken], return_inverse=True)
    n_inst = len(classes)
    instances = np.full((n_inst, n_nodes, 2), np.nan, dtype=np.float32)
    point_scores = np.full((n_inst, n_nodes), np.nan, dtype=np.float32)
    instances[inst_of_peak, nodes[taken]] = points[taken]
    point_scores[inst_of_peak, nodes[taken]] = scores[taken]
    count = np.bincount(inst_of_peak, minlength=n_inst)
    mean_score = np.bincount(inst_of_peak, weights=scores[taken], minlength=n_inst)
    mean_class = np.bincount(
        inst_of_peak, weights=values[taken, peak_class[taken]], minlength=n_inst
    )
    instance_scores = mean_score / np.maximum(count, 1) * mean_class / np.maximum(count, 1)
    keep = count >= max(params.min_instance_peaks, 1)
    class_scores = mean_class / np.maximum(count, 1)
    return GroupedFrame(
        instances[keep],
        point_scores[keep],
        instance_scores[keep].astype(np.float32),
        classes[keep].astype(np.int64),
        class_scores[keep].astype(np.float32),
    )


class ClassMapGrouper:
    """Multi-class bottom-up grouping of one frame's peaks by identity class maps.

    The :class:`~posekit.decoding.grouping.Grouper` of ``multi_class_bottomup`` models.
    """

    output = "class_maps"
    has_classes = True

    def __init__(self, n_nodes: int, stride: float,
                 params: ClassMapGroupingParams | None = None) -> None:
        self.n_nodes, self.stride = int(n_nodes), float(stride)
        self.params = params or ClassMapGroupingParams()

    def __call__(self, peaks: FramePeaks, frame_output: np.ndarray) -> GroupedFrame:
        """Instances of one frame: ``peaks`` and its ``(C, h, w)`` sigmoid class maps."""
        return group_by_class_maps(*peaks, frame_output, self.stride, self.n_nodes, self.params)
