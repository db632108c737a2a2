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

The scoring runs on the PAFs' device; the matching and assembly (a few hundred candidates at
most per frame) run on the CPU with numpy and scipy. Inputs may be torch tensors or numpy
arrays; results are torch tensors on the PAFs' device.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from posekit.errors import ConfigError, DataError
from posekit.inference.paf_scoring import (
    MATCHING_METHODS,
    Connections,
    EdgeCandidates,
    match_edge_candidates,
    score_edge_candidates,
)

__all__ = [
    "Connections",
    "EdgeCandidates",
    "PAFGroupingParams",
    "assemble_instances",
    "group_instances",
    "group_instances_batch",
    "match_edge_candidates",
    "score_edge_candidates",
]


@dataclass(frozen=True)
class PAFGroupingParams:
    """Settings of bottom-up grouping (see the module docstring for their meaning).

    ``max_edge_length_ratio`` sets the distance penalty's ``max_edge_length`` as a fraction
    of the longer side of the model input (``None`` disables the penalty).
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
        problems = []
        if self.n_points < 2:
            problems.append(f"n_points={self.n_points} (expected >= 2)")
        if not 0.0 <= self.min_fraction <= 1.0:
            problems.append(f"min_fraction={self.min_fraction} (expected 0..1)")
        if self.max_edge_length_ratio is not None and not self.max_edge_length_ratio > 0:
            problems.append(f"max_edge_length_ratio={self.max_edge_length_ratio} (expected > 0)")
        if self.dist_penalty_weight < 0:
            problems.append(f"dist_penalty_weight={self.dist_penalty_weight} (expected >= 0)")
        if self.matching not in MATCHING_METHODS:
            problems.append(f"matching={self.matching!r} (expected 'hungarian' or 'greedy')")
        if self.max_instances is not None and self.max_instances < 1:
            problems.append(f"max_instances={self.max_instances} (expected >= 1 or None)")
        if self.min_instance_peaks < 0:
            problems.append(f"min_instance_peaks={self.min_instance_peaks} (expected >= 0)")
        if problems:
            raise ConfigError(
                "bottom-up grouping settings: " + "; ".join(problems) + ". "
                "Fix these fields in the inference configuration."
            )


def _as_edges(edges: torch.Tensor | np.ndarray, n_nodes: int) -> torch.Tensor:
    if isinstance(edges, torch.Tensor):
        edges = edges.detach().cpu()
    edges = torch.as_tensor(np.asarray(edges), dtype=torch.long).reshape(-1, 2)
    if edges.numel() and (int(edges.min()) < 0 or int(edges.max()) >= n_nodes):
        raise DataError(
            f"edges: node indices must lie in 0..{n_nodes - 1} for {n_nodes} nodes; got "
            f"{int(edges.min())}..{int(edges.max())}. Check the skeleton edges."
        )
    return edges


def assemble_instances(
    connections: Connections,
    peak_points: torch.Tensor,
    peak_nodes: torch.Tensor,
    peak_scores: torch.Tensor,
    edges: torch.Tensor,
    n_nodes: int,
    *,
    max_instances: int | None = None,
    min_instance_peaks: int = 0,
    keep_isolated_peaks: bool = False,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
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
        ``instances (n, K, 2)`` (``NaN`` where missing), ``point_scores (n, K)`` (``NaN``
        where missing) and ``instance_scores (n,)``, sorted by descending instance score.
    """
    device = peak_points.device if isinstance(peak_points, torch.Tensor) else None
    points = torch.as_tensor(peak_points).detach().cpu().numpy().astype(np.float32)
    nodes = torch.as_tensor(peak_nodes).cpu().numpy().astype(np.int64)
    pscores = torch.as_tensor(peak_scores).detach().cpu().numpy().astype(np.float64)
    edges_np = _as_edges(edges, n_nodes).numpy()
    n_peaks = len(nodes)
    if n_peaks and (nodes.min() < 0 or nodes.max() >= n_nodes):
        raise DataError(
            f"peak_nodes: node indices must lie in 0..{n_nodes - 1}; got {nodes.min()}.."
            f"{nodes.max()}. Check that the confidence maps have one channel per node."
        )

    group = np.arange(n_peaks)
    members = np.zeros((n_peaks, n_nodes), dtype=bool)
    members[np.arange(n_peaks), nodes] = True
    link_score = np.zeros(n_peaks)
    n_links = np.zeros(n_peaks, dtype=np.int64)
    for c in np.argsort(-connections.scores, kind="stable"):
        a, b = group[connections.src[c]], group[connections.dst[c]]
        if a != b:
            if (members[a] & members[b]).any():
                continue
            group[group == b] = a
            members[a] |= members[b]
            link_score[a] += link_score[b]
            n_links[a] += n_links[b]
        link_score[a] += connections.scores[c]
        n_links[a] += 1

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
    return (
        torch.as_tensor(instances[order], device=device),
        torch.as_tensor(point_scores[order], device=device),
        torch.as_tensor(inst_scores[order].astype(np.float32), device=device),
    )


def group_instances(
    peak_points: torch.Tensor,
    peak_nodes: torch.Tensor,
    peak_scores: torch.Tensor,
    pafs: torch.Tensor,
    edges: torch.Tensor,
    stride: float,
    n_nodes: int,
    params: PAFGroupingParams | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Group one frame's peaks into instances.

    Args:
        peak_points: ``(P, 2)`` peaks (model-input pixels), e.g. from
            :func:`posekit.inference.peaks.find_local_peaks` for one sample.
        peak_nodes: ``(P,)`` node (channel) index of each peak.
        peak_scores: ``(P,)`` confidence-map value of each peak.
        pafs: ``(2E, h, w)`` PAFs of the frame.
        edges: ``(E, 2)`` skeleton edges.
        stride: output stride of the PAFs.
        n_nodes: number of skeleton nodes ``K``.
        params: grouping settings (defaults: :class:`PAFGroupingParams`).

    Returns:
        ``instances (n, K, 2)``, ``point_scores (n, K)``, ``instance_scores (n,)``.
    """
    params = params or PAFGroupingParams()
    pafs = torch.as_tensor(pafs)
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
    instances, point_scores, instance_scores = assemble_instances(
        connections,
        torch.as_tensor(peak_points),
        peak_nodes,
        peak_scores,
        edges,
        n_nodes,
        max_instances=params.max_instances,
        min_instance_peaks=params.min_instance_peaks,
        keep_isolated_peaks=params.keep_isolated_peaks,
    )
    return instances.to(pafs.device), point_scores.to(pafs.device), instance_scores.to(pafs.device)


def group_instances_batch(
    sample_idx: torch.Tensor,
    channel_idx: torch.Tensor,
    points: torch.Tensor,
    scores: torch.Tensor,
    pafs: torch.Tensor,
    edges: torch.Tensor,
    stride: float,
    n_nodes: int,
    params: PAFGroupingParams | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """:func:`group_instances` for every frame of a batch, padded with ``NaN``.

    Args:
        sample_idx, channel_idx, points, scores: peaks of the batch, as returned by
            :func:`posekit.inference.peaks.find_local_peaks`.
        pafs: ``(B, 2E, h, w)`` PAFs.
        edges, stride, n_nodes, params: as for :func:`group_instances`.

    Returns:
        ``instances (B, n_max, K, 2)``, ``point_scores (B, n_max, K)`` and
        ``instance_scores (B, n_max)``; rows past a frame's instance count are ``NaN``.
    """
    pafs = torch.as_tensor(pafs)
    sample_idx, channel_idx, points, scores = (
        torch.as_tensor(v) for v in (sample_idx, channel_idx, points, scores)
    )
    if pafs.ndim != 4:
        raise DataError(
            f"pafs: got shape {tuple(pafs.shape)}; expected (batch, 2 * edges, height, width)."
        )
    per_frame = []
    for b in range(pafs.shape[0]):
        sel = sample_idx == b
        per_frame.append(
            group_instances(
                points[sel], channel_idx[sel], scores[sel], pafs[b], edges, stride, n_nodes, params
            )
        )
    n_max = max((len(f[2]) for f in per_frame), default=0)
    batch = pafs.shape[0]
    instances = torch.full((batch, n_max, n_nodes, 2), float("nan"), device=pafs.device)
    point_scores = torch.full((batch, n_max, n_nodes), float("nan"), device=pafs.device)
    instance_scores = torch.full((batch, n_max), float("nan"), device=pafs.device)
    for b, (inst, pscore, iscore) in enumerate(per_frame):
        instances[b, : len(iscore)] = inst
        point_scores[b, : len(iscore)] = pscore
        instance_scores[b, : len(iscore)] = iscore
    return instances, point_scores, instance_scores
