"""Candidate connections for bottom-up grouping: PAF line scores and per-edge matching.

Used by :mod:`posekit.decoding.paf_grouping` (which documents the rules and re-exports
these names). Pure numpy + scipy: the PAFs arrive as numpy arrays from the inference graph,
and nothing here imports torch. :func:`bilinear_sample` (the grid read shared with the
identity modules) also lives here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.optimize import linear_sum_assignment

from posekit.errors import ConfigError, DataError

__all__ = [
    "MATCHING_METHODS",
    "Connections",
    "EdgeCandidates",
    "bilinear_sample",
    "match_edge_candidates",
    "score_edge_candidates",
]

MATCHING_METHODS = ("hungarian", "greedy")


@dataclass(frozen=True)
class EdgeCandidates:
    """Scored candidate connections of one frame; ``src``/``dst`` index the frame's peaks."""

    edge_idx: np.ndarray  # (Q,) int64
    src: np.ndarray  # (Q,) int64
    dst: np.ndarray  # (Q,) int64
    scores: np.ndarray  # (Q,) float64 line score incl. distance penalty
    valid: np.ndarray  # (Q,) bool


@dataclass(frozen=True)
class Connections:
    """Matched connections of one frame; ``src``/``dst`` index the peaks."""

    edge_idx: np.ndarray  # (C,) int64
    src: np.ndarray  # (C,) int64
    dst: np.ndarray  # (C,) int64
    scores: np.ndarray  # (C,) float64


def bilinear_sample(
    maps: np.ndarray, channels: ArrayLike, gx: ArrayLike, gy: ArrayLike
) -> np.ndarray:
    """Read ``maps (C, h, w)`` with bilinear interpolation at grid positions.

    ``channels``, ``gx`` (column) and ``gy`` (row) broadcast together; positions are in
    grid cells (model-input pixels divided by the stride, see ``docs/design.md``), must be
    finite, and are clamped to the map.

    Returns:
        ``float64`` values with the broadcast shape.
    """
    maps = np.asarray(maps)
    _, h, w = maps.shape
    gx = np.clip(np.asarray(gx, dtype=np.float64), 0, w - 1)
    gy = np.clip(np.asarray(gy, dtype=np.float64), 0, h - 1)
    # Top-left corner of the cell holding the position (truncation is floor on >= 0); the
    # last row / column is reached with weight 1 from the one before it.
    x0 = np.minimum(gx.astype(np.int64), max(w - 2, 0))
    y0 = np.minimum(gy.astype(np.int64), max(h - 2, 0))
    fx = np.minimum(gx - x0, 1.0)
    fy = np.minimum(gy - y0, 1.0)
    flat = np.ascontiguousarray(maps).reshape(-1)
    i00 = np.asarray(channels, dtype=np.int64) * (h * w) + (y0 * w + x0)
    dx, dy = int(w > 1), w * int(h > 1)  # offsets of the right / lower neighbours
    top = flat[i00] * (1 - fx) + flat[i00 + dx] * fx
    bottom = flat[i00 + dy] * (1 - fx) + flat[i00 + dy + dx] * fx
    return top * (1 - fy) + bottom * fy


def _candidate_pairs(
    nodes: np.ndarray, finite: np.ndarray, edges: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (source peak, destination peak) pair of every edge, ordered by edge, src, dst.

    Only finite peaks take part, and a peak is never paired with itself.
    """
    usable = np.flatnonzero(finite)
    order = usable[np.argsort(nodes[usable], kind="stable")]  # by node, then peak index
    sorted_nodes = nodes[order]
    src_lo = np.searchsorted(sorted_nodes, edges[:, 0], side="left")
    n_src = np.searchsorted(sorted_nodes, edges[:, 0], side="right") - src_lo
    dst_lo = np.searchsorted(sorted_nodes, edges[:, 1], side="left")
    n_dst = np.searchsorted(sorted_nodes, edges[:, 1], side="right") - dst_lo
    n_pairs = n_src * n_dst
    edge_idx = np.repeat(np.arange(len(edges), dtype=np.int64), n_pairs)
    local = np.arange(len(edge_idx), dtype=np.int64) - np.repeat(
        np.cumsum(n_pairs) - n_pairs, n_pairs
    )
    width = n_dst[edge_idx]
    src = order[src_lo[edge_idx] + local // np.maximum(width, 1)]
    dst = order[dst_lo[edge_idx] + local % np.maximum(width, 1)]
    distinct = src != dst
    return edge_idx[distinct], src[distinct], dst[distinct]


def score_edge_candidates(
    pafs: ArrayLike,
    peak_points: ArrayLike,
    peak_nodes: ArrayLike,
    edges: ArrayLike,
    stride: float,
    *,
    n_points: int = 10,
    sample_threshold: float = 0.05,
    min_fraction: float = 0.8,
    min_line_score: float = 0.25,
    max_edge_length: float | None = None,
    dist_penalty_weight: float = 1.0,
) -> EdgeCandidates:
    """Score every candidate connection of one frame by its PAF line integral.

    Args:
        pafs: ``(2E, h, w)`` PAFs of one frame (edge ``e`` in channels ``2e``, ``2e + 1``).
        peak_points: ``(P, 2)`` peaks in model-input pixels.
        peak_nodes: ``(P,)`` node index of each peak.
        edges: ``(E, 2)`` (source, destination) node indices.
        stride: output stride of the PAFs.
        n_points: samples along each segment (both ends included).
        sample_threshold: a sample agrees when its dot product exceeds this.
        min_fraction: minimum fraction of agreeing samples for a valid candidate.
        min_line_score: minimum line score (mean dot product + penalty) for a valid one.
        max_edge_length: length (model-input pixels) beyond which the penalty starts;
            ``None`` disables the penalty.
        dist_penalty_weight: scale of the penalty.

    Returns:
        The candidates, grouped by edge (then by source and destination peak index).
    """
    pafs = np.asarray(pafs)
    edges = np.asarray(edges).astype(np.int64).reshape(-1, 2)
    if pafs.ndim != 3 or pafs.shape[0] != 2 * edges.shape[0]:
        raise DataError(
            f"pafs: got shape {tuple(pafs.shape)}; expected ({2 * edges.shape[0]}, height, "
            f"width) for {edges.shape[0]} edges. Check that the model matches the skeleton."
        )
    points = np.asarray(peak_points, dtype=np.float64).reshape(-1, 2)
    nodes = np.asarray(peak_nodes).astype(np.int64).reshape(-1)
    if len(nodes) != len(points):
        raise DataError(
            f"peak_nodes: got {len(nodes)} node indices for {len(points)} peaks; expected one "
            "per peak. Pass the channel index returned by the peak finder."
        )
    finite = np.isfinite(points).all(axis=1)
    edge_idx, src, dst = _candidate_pairs(nodes, finite, edges)
    start, end = points[src], points[dst]
    vec = end - start
    length = np.sqrt((vec**2).sum(axis=-1))
    unit = vec / np.maximum(length, 1e-6)[:, None]
    steps = np.linspace(0.0, 1.0, n_points)
    samples = start[:, None, :] + steps[None, :, None] * vec[:, None, :]  # (Q, S, 2)
    # Both components of every sample in one read, laid out (2, Q * S) for long inner loops.
    gx, gy = samples[..., 0].reshape(-1) / stride, samples[..., 1].reshape(-1) / stride
    channels = np.repeat(2 * edge_idx, n_points)[None] + np.array([[0], [1]])
    vx, vy = bilinear_sample(pafs, channels, gx, gy).reshape(2, len(src), n_points)
    dots = vx * unit[:, 0, None] + vy * unit[:, 1, None]
    scores = dots.mean(axis=1)
    if max_edge_length is not None:
        penalty = np.minimum(max_edge_length / np.maximum(length, 1e-6) - 1.0, 0.0)
        scores = scores + dist_penalty_weight * penalty
    agree = (dots > sample_threshold).mean(axis=1)
    valid = (agree >= min_fraction) & (scores >= min_line_score) & (length > 0)
    return EdgeCandidates(edge_idx, src, dst, scores, valid)


def _local_index(
    edge_idx: np.ndarray, peaks: np.ndarray, n_peaks: int
) -> tuple[np.ndarray, np.ndarray]:
    """Rank of each candidate's peak among its edge's distinct peaks, and their count per edge.

    Returns ``local (Q,)`` and ``count (E_max + 1,)`` (distinct peaks of each edge index).
    """
    keys, inverse = np.unique(edge_idx * n_peaks + peaks, return_inverse=True)
    key_edge = keys // n_peaks
    n_edges = int(edge_idx.max()) + 1
    first = np.searchsorted(key_edge, np.arange(n_edges + 1), side="left")
    return inverse.reshape(-1) - first[edge_idx], np.diff(first)


def _match_hungarian(
    edge_idx: np.ndarray, src: np.ndarray, dst: np.ndarray, scores: np.ndarray
) -> np.ndarray:
    """Indices of the candidates kept by a maximum-weight matching per edge."""
    n_peaks = int(max(src.max(), dst.max())) + 1
    rows, n_src_of = _local_index(edge_idx, src, n_peaks)
    cols, n_dst_of = _local_index(edge_idx, dst, n_peaks)
    order = np.argsort(edge_idx, kind="stable")
    bounds = np.searchsorted(edge_idx[order], np.arange(len(n_src_of) + 1), side="left")
    kept = []
    for e in np.flatnonzero(np.diff(bounds)):  # edges with at least one candidate
        sel = order[bounds[e] : bounds[e + 1]]
        n_src, n_dst = int(n_src_of[e]), int(n_dst_of[e])
        # Square problem with one dummy partner per peak so any peak may stay unmatched
        # at zero cost; real pairs cost -score, pairs that are not candidates are barred.
        barred = 1e9
        cost = np.zeros((n_src + n_dst, n_dst + n_src))
        cost[:n_src, :n_dst] = barred
        cost[rows[sel], cols[sel]] = -scores[sel]
        cand_at = np.full((n_src, n_dst), -1)
        cand_at[rows[sel], cols[sel]] = sel
        r, c = linear_sum_assignment(cost)
        real = (r < n_src) & (c < n_dst)
        picked = cand_at[r[real], c[real]]
        kept.append(picked[picked >= 0])
    return np.concatenate(kept) if kept else np.zeros(0, dtype=np.int64)


def _match_greedy(
    edge_idx: np.ndarray, src: np.ndarray, dst: np.ndarray, scores: np.ndarray
) -> np.ndarray:
    """Greedy matching by descending score, all edges at once.

    Each round accepts every remaining candidate that is the best of both its source and
    its destination peak (the strongest candidate always is), then removes the candidates
    that share a peak with an accepted one; this yields the greedy matching.
    """
    n_peaks = int(max(src.max(initial=-1), dst.max(initial=-1))) + 1
    src_key = edge_idx * n_peaks + src
    dst_key = edge_idx * n_peaks + dst
    # Break exact ties by candidate order so each round's choice is unique.
    rank = np.empty(len(scores), dtype=np.int64)
    rank[np.lexsort((np.arange(len(scores)), -scores))] = np.arange(len(scores))
    alive = np.ones(len(scores), dtype=bool)
    kept = []
    n_keys = int(max(src_key.max(initial=0), dst_key.max(initial=0))) + 1
    while alive.any():
        best_src = np.full(n_keys, len(scores))
        best_dst = np.full(n_keys, len(scores))
        np.minimum.at(best_src, src_key[alive], rank[alive])
        np.minimum.at(best_dst, dst_key[alive], rank[alive])
        accept = alive & (best_src[src_key] == rank) & (best_dst[dst_key] == rank)
        kept.append(np.flatnonzero(accept))
        used_src = np.isin(src_key, src_key[accept])
        used_dst = np.isin(dst_key, dst_key[accept])
        alive &= ~(used_src | used_dst)
    return np.concatenate(kept) if kept else np.zeros(0, dtype=np.int64)


def match_edge_candidates(candidates: EdgeCandidates, method: str = "hungarian") -> Connections:
    """One-to-one matching of source to destination peaks per edge, among valid candidates.

    Args:
        candidates: output of :func:`score_edge_candidates` (fields may be any array-like).
        method: ``"hungarian"`` (maximum total line score; default) or ``"greedy"``
            (strongest candidates first).

    Returns:
        The matched connections, in candidate order.
    """
    if method not in MATCHING_METHODS:
        raise ConfigError(
            f"matching: got {method!r}; expected 'hungarian' or 'greedy'. "
            "Use 'hungarian' unless speed on crowded frames matters more."
        )
    valid = np.asarray(candidates.valid, dtype=bool).reshape(-1)
    edge_idx = np.asarray(candidates.edge_idx).astype(np.int64).reshape(-1)[valid]
    src = np.asarray(candidates.src).astype(np.int64).reshape(-1)[valid]
    dst = np.asarray(candidates.dst).astype(np.int64).reshape(-1)[valid]
    scores = np.asarray(candidates.scores, dtype=np.float64).reshape(-1)[valid]
    match = _match_hungarian if method == "hungarian" else _match_greedy
    kept = np.sort(match(edge_idx, src, dst, scores)) if len(scores) else np.zeros(0, np.int64)
    return Connections(edge_idx[kept], src[kept], dst[kept], scores[kept])
