"""Bottom-up assembly: group the peaks of one frame into instances with part affinity fields.

Pipeline for one frame (:func:`group_instances`):

1. :func:`score_edge_candidates` - every (source peak, destination peak) pair of every
   skeleton edge is scored by the line integral of that edge's PAF along the segment
   joining them: ``n_points`` evenly spaced samples from source to destination, read with
   bilinear interpolation (same grid mapping as the targets: cell ``(i, j)`` is the
   model-input position ``(j * s, i * s)``), dotted with the segment's unit direction. The
   line score is the mean dot product plus a distance penalty
   ``dist_penalty_weight * min(0, max_edge_length / length - 1)``, which is zero for
   plausible lengths and tends to ``-dist_penalty_weight`` for very long ones. A candidate
   is valid when at least ``min_fraction`` of its samples have a dot product above
   ``sample_threshold`` and its line score is at least ``min_line_score``.
2. :func:`match_edge_candidates` - per edge, a one-to-one matching of source to destination
   peaks among the valid candidates: maximum total score (Hungarian algorithm, where a peak
   may also stay unmatched) or greedy by descending score.
3. :func:`assemble_instances` - the matched connections, strongest first, join the groups of
   their two peaks unless both groups already hold a peak of the same node (so an instance
   never has two peaks of one node; this works for trees and for skeletons with cycles).
   An instance's score is the sum of its peak scores and of its connections' line scores,
   so complete, confident instances rank first; ``max_instances`` keeps the best ones.

Peaks that end up without any connection are dropped, except peaks of nodes that belong to
no skeleton edge, which become single-point instances (there is no other way to report
them); ``keep_isolated_peaks=True`` turns every unconnected peak into its own instance.

Everything here is numpy + scipy (no torch): the inference graph hands over peaks and PAFs
as numpy arrays. Inputs may be anything :func:`numpy.asarray` accepts; results are numpy
arrays (``float32`` points and scores).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from posekit.config.rules import RuleTable, check_settings, choice, number, settings_from_dict
from posekit.decoding.grouping import FramePeaks, GroupedFrame
from posekit.decoding.paf_scoring import (
    MATCHING_METHODS,
    Connections,
    EdgeCandidates,
    match_edge_candidates,
    score_edge_candidates,
)
from posekit.errors import DataError

__all__ = [
    "Connections",
    "EdgeCandidates",
    "PAFGroupingParams",
    "PafGrouper",
    "assemble_instances",
    "group_instances",
    "match_edge_candidates",
    "score_edge_candidates",
]


SECTION = "inference.grouping"
"""YAML path of the bottom-up grouping settings in an inference config."""

RULES: RuleTable = {
    SECTION: (
        number("n_points", 2),
        number("sample_threshold"),
        number("min_fraction", 0, 1, hint="0.8 needs 80 % of the samples along the line."),
        number("min_line_score"),
        number(
            "max_edge_length_ratio",
            0,
            low_open=True,
            hint="Use e.g. 0.25 (a quarter of the input's longer side), or null for no "
            "distance penalty.",
        ),
        number("dist_penalty_weight", 0),
        choice("matching", MATCHING_METHODS),
        number("max_instances", 1, hint="Use e.g. 2, or null for no limit."),
        number("min_instance_peaks", 0),
    )
}
"""The value rules of :class:`PAFGroupingParams` (types come from its annotations)."""


@dataclass(frozen=True)
class PAFGroupingParams:
    """Settings of bottom-up grouping (see the module docstring for their meaning).

    ``max_edge_length_ratio`` sets the distance penalty's ``max_edge_length`` as a fraction
    of the longer side of the model input (``None`` disables the penalty). Checked when
    built (:data:`RULES`; problems name ``inference.grouping.<field>``).
    """

    n_points: int = 10
    sample_threshold: float = 0.05
    min_fraction: float = 0.8
    min_line_score: float = 0.25
    max_edge_length_ratio: float | None = 0.25
    dist_penalty_weight: float = 1.0
    matching: str = "hungarian"
    max_instances: int | None = None
    min_instance_peaks: int = 0
    keep_isolated_peaks: bool = False

    def __post_init__(self) -> None:
        check_settings(self, SECTION, RULES)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None, source: str) -> PAFGroupingParams:
        """Build from a mapping of its fields (``inference.grouping`` of an inference YAML,
        ``--grouping KEY=VALUE`` options); every problem is listed, naming ``source``."""
        return settings_from_dict(cls, data, SECTION, source)


def _as_edges(edges: ArrayLike, n_nodes: int) -> np.ndarray:
    edges = np.asarray(edges).astype(np.int64).reshape(-1, 2)
    if edges.size and (int(edges.min()) < 0 or int(edges.max()) >= n_nodes):
        raise DataError(
            f"edges: node indices must lie in 0..{n_nodes - 1} for {n_nodes} nodes; got "
            f"{int(edges.min())}..{int(edges.max())}. Check the skeleton edges."
        )
    return edges


def _merge_connections(
    connections: Connections, nodes: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Union of peaks along the connections, strongest first, refusing duplicate nodes.

    Returns each peak's group label (the label of a merged group is that of the source
    side's group), and per label the summed line score and number of connections.
    """
    n_peaks = len(nodes)
    order = np.argsort(-np.asarray(connections.scores, dtype=np.float64), kind="stable")
    src = np.asarray(connections.src)[order].tolist()
    dst = np.asarray(connections.dst)[order].tolist()
    values = np.asarray(connections.scores, dtype=np.float64)[order].tolist()
    group = list(range(n_peaks))
    peaks_of = [[p] for p in range(n_peaks)]
    node_mask = [1 << k for k in nodes.tolist()]  # bit k set: the group holds node k
    link_score = [0.0] * n_peaks
    n_links = [0] * n_peaks
    # A sequential union (each merge depends on the earlier ones) over at most a few
    # hundred matched connections, in plain Python: cheaper than numpy calls per merge.
    for s, d, value in zip(src, dst, values):
        a, b = group[s], group[d]
        if a != b:
            if node_mask[a] & node_mask[b]:
                continue
            for p in peaks_of[b]:
                group[p] = a
            peaks_of[a].extend(peaks_of[b])
            peaks_of[b] = []
            node_mask[a] |= node_mask[b]
            link_score[a] += link_score[b]
            n_links[a] += n_links[b]
        link_score[a] += value
        n_links[a] += 1
    return (
        np.asarray(group, dtype=np.int64),
        np.asarray(link_score, dtype=np.float64),
        np.asarray(n_links, dtype=np.int64),
    )


def assemble_instances(
    connections: Connections,
    peak_points: ArrayLike,
    peak_nodes: ArrayLike,
    peak_scores: ArrayLike,
    edges: ArrayLike,
    n_nodes: int,
    *,
    max_instances: int | None = None,
    min_instance_peaks: int = 0,
    keep_isolated_peaks: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Join matched connections into instances (see the module docstring for the rules).

    Args:
        connections: output of :func:`match_edge_candidates`.
        peak_points: ``(P, 2)`` peaks; ``peak_nodes (P,)`` their nodes; ``peak_scores (P,)``.
        edges: ``(E, 2)`` skeleton edges (used to find nodes without any edge).
        n_nodes: number of skeleton nodes ``K``.
        max_instances: keep at most this many instances (highest scores).
        min_instance_peaks: drop instances with fewer points.
        keep_isolated_peaks: make every unconnected peak a single-point instance.

    Returns:
        ``instances (n, K, 2)`` float32 (``NaN`` where missing), ``point_scores (n, K)``
        float32 (``NaN`` where missing) and ``instance_scores (n,)`` float32, sorted by
        descending instance score.
    """
    points = np.asarray(peak_points, dtype=np.float32).reshape(-1, 2)
    nodes = np.asarray(peak_nodes).astype(np.int64).reshape(-1)
    pscores = np.asarray(peak_scores, dtype=np.float64).reshape(-1)
    edges_np = _as_edges(edges, n_nodes)
    n_peaks = len(nodes)
    if len(points) != n_peaks or len(pscores) != n_peaks:
        raise DataError(
            f"peaks: got {len(points)} points, {n_peaks} node indices and {len(pscores)} "
            "scores; expected one of each per peak. Pass the peak finder's outputs unchanged."
        )
    if n_peaks and (nodes.min() < 0 or nodes.max() >= n_nodes):
        raise DataError(
            f"peak_nodes: node indices must lie in 0..{n_nodes - 1}; got {nodes.min()}.."
            f"{nodes.max()}. Check that the confidence maps have one channel per node."
        )

    group, link_score, n_links = _merge_connections(connections, nodes)
    edgeless = np.ones(n_nodes, dtype=bool)
    edgeless[edges_np.reshape(-1)] = False
    keep_peak = (n_links[group] > 0) | keep_isolated_peaks | edgeless[nodes]
    keep_peak &= np.isfinite(points).all(axis=1)
    groups, inst_of_peak = np.unique(group[keep_peak], return_inverse=True)
    n_inst = len(groups)
    kept_idx = np.flatnonzero(keep_peak)
    instances = np.full((n_inst, n_nodes, 2), np.nan, dtype=np.float32)
    point_scores = np.full((n_inst, n_nodes), np.nan, dtype=np.float32)
    instances[inst_of_peak, nodes[kept_idx]] = points[kept_idx]
    point_scores[inst_of_peak, nodes[kept_idx]] = pscores[kept_idx]
    inst_scores = link_score[groups] + np.bincount(
        inst_of_peak, weights=pscores[kept_idx], minlength=n_inst
    )
    n_points = np.isfinite(point_scores).sum(axis=1)
    order = np.argsort(-inst_scores, kind="stable")
    order = order[n_points[order] >= max(min_instance_peaks, 1)]
    if max_instances is not None:
        order = order[:max_instances]
    return instances[order], point_scores[order], inst_scores[order].astype(np.float32)


def _check_pafs(pafs: np.ndarray, ndim: int, expected: str) -> None:
    if pafs.ndim != ndim:
        raise DataError(
            f"pafs: got shape {tuple(pafs.shape)}; expected {expected}. Pass the PAF output "
            "of a bottom-up model."
        )


def group_instances(
    peak_points: ArrayLike,
    peak_nodes: ArrayLike,
    peak_scores: ArrayLike,
    pafs: ArrayLike,
    edges: ArrayLike,
    stride: float,
    n_nodes: int,
    params: PAFGroupingParams | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Group one frame's peaks into instances.

    Args:
        peak_points: ``(P, 2)`` peaks (model-input pixels), e.g. the inference graph's peak
            outputs for one sample.
        peak_nodes: ``(P,)`` node (channel) index of each peak.
        peak_scores: ``(P,)`` confidence-map value of each peak.
        pafs: ``(2E, h, w)`` PAFs of the frame.
        edges: ``(E, 2)`` skeleton edges.
        stride: output stride of the PAFs.
        n_nodes: number of skeleton nodes ``K``.
        params: grouping settings (defaults: :class:`PAFGroupingParams`).

    Returns:
        ``instances (n, K, 2)``, ``point_scores (n, K)``, ``instance_scores (n,)`` (float32
        numpy arrays, as :func:`assemble_instances`).
    """
    params = params or PAFGroupingParams()
    pafs = np.asarray(pafs)
    _check_pafs(pafs, 3, "(2 * edges, height, width) for one frame")
    edges = _as_edges(edges, n_nodes)
    max_length = None
    if params.max_edge_length_ratio is not None:
        max_length = params.max_edge_length_ratio * max(pafs.shape[-2:]) * stride
    candidates = score_edge_candidates(
        pafs,
        peak_points,
        peak_nodes,
        edges,
        stride,
        n_points=params.n_points,
        sample_threshold=params.sample_threshold,
        min_fraction=params.min_fraction,
        min_line_score=params.min_line_score,
        max_edge_length=max_length,
        dist_penalty_weight=params.dist_penalty_weight,
    )
    connections = match_edge_candidates(candidates, params.matching)
    return assemble_instances(
        connections,
        peak_points,
        peak_nodes,
        peak_scores,
        edges,
        n_nodes,
        max_instances=params.max_instances,
        min_instance_peaks=params.min_instance_peaks,
        keep_isolated_peaks=params.keep_isolated_peaks,
    )


class PafGrouper:
    """Bottom-up grouping of one frame's peaks along the skeleton's part affinity fields.

    The :class:`~posekit.decoding.grouping.Grouper` of ``bottomup`` models.

    Args:
        edges: ``(E, 2)`` skeleton edges (PAF channel order).
        stride: output stride of the PAFs.
        n_nodes: number of skeleton nodes.
        params: grouping settings; ``max_instances``, when given, overrides theirs.
    """

    output = "pafs"
    has_classes = False

    def __init__(self, edges: ArrayLike, stride: float, n_nodes: int,
                 params: PAFGroupingParams | None = None,
                 max_instances: int | None = None) -> None:
        self.edges = _as_edges(edges, n_nodes)
        self.stride, self.n_nodes = float(stride), int(n_nodes)
        params = params or PAFGroupingParams()
        if max_instances is not None:
            params = replace(params, max_instances=int(max_instances))
        self.params = params

    def __call__(self, peaks: FramePeaks, frame_output: np.ndarray) -> GroupedFrame:
        """Instances of one frame: ``peaks`` ``(points, nodes, scores)`` and its ``(2E, h, w)``
        PAFs (see :func:`group_instances`)."""
        return GroupedFrame(*group_instances(*peaks, frame_output, self.edges, self.stride,
                                             self.n_nodes, self.params))
