"""Candidate connections for bottom-up grouping: PAF line scores and per-edge matching.

Used by :mod:`posekit.inference.paf_grouping` (which documents the rules and re-exports
these names). Scoring runs on the PAFs' device; matching runs on the CPU.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

from posekit.errors import ConfigError, DataError

__all__ = [
    "MATCHING_METHODS",
    "Connections",
    "EdgeCandidates",
    "match_edge_candidates",
    "score_edge_candidates",
]

MATCHING_METHODS = ("hungarian", "greedy")


@dataclass(frozen=True)
class EdgeCandidates:
    """Scored candidate connections of one frame; ``src``/``dst`` index the frame's peaks."""

    edge_idx: torch.Tensor  # (Q,) long
    src: torch.Tensor  # (Q,) long
    dst: torch.Tensor  # (Q,) long
    scores: torch.Tensor  # (Q,) line score incl. distance penalty
    valid: torch.Tensor  # (Q,) bool


@dataclass(frozen=True)
class Connections:
    """Matched connections of one frame (numpy arrays); ``src``/``dst`` index the peaks."""

    edge_idx: np.ndarray  # (C,) int64
    src: np.ndarray  # (C,) int64
    dst: np.ndarray  # (C,) int64
    scores: np.ndarray  # (C,) float64


def _bilinear(
    pafs: torch.Tensor, channels: torch.Tensor, gx: torch.Tensor, gy: torch.Tensor
) -> torch.Tensor:
    """Sample ``pafs (C, h, w)`` at grid positions ``(gx, gy) (Q, S)`` of channels ``(Q,)``."""
    _, h, w = pafs.shape
    gx = gx.clamp(0, w - 1)
    gy = gy.clamp(0, h - 1)
    x0 = gx.floor().long().clamp(max=max(w - 2, 0))
    y0 = gy.floor().long().clamp(max=max(h - 2, 0))
    x1 = (x0 + 1).clamp(max=w - 1)
    y1 = (y0 + 1).clamp(max=h - 1)
    fx = (gx - x0).clamp(0, 1)
    fy = (gy - y0).clamp(0, 1)
    flat = pafs.reshape(-1)
    base = channels[:, None] * (h * w)
    top = flat[base + y0 * w + x0] * (1 - fx) + flat[base + y0 * w + x1] * fx
    bottom = flat[base + y1 * w + x0] * (1 - fx) + flat[base + y1 * w + x1] * fx
    return top * (1 - fy) + bottom * fy


def score_edge_candidates(
    pafs: torch.Tensor,
    peak_points: torch.Tensor,
    peak_nodes: torch.Tensor,
    edges: torch.Tensor,
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
        The candidates, grouped by edge.
    """
    pafs = torch.as_tensor(pafs)
    device = pafs.device
    peak_points = torch.as_tensor(peak_points, device=device, dtype=torch.float32)
    peak_nodes = torch.as_tensor(peak_nodes, device=device).long()
    edges = torch.as_tensor(edges, device=device).long().reshape(-1, 2)
    if pafs.ndim != 3 or pafs.shape[0] != 2 * edges.shape[0]:
        raise DataError(
            f"pafs: got shape {tuple(pafs.shape)}; expected ({2 * edges.shape[0]}, height, "
            f"width) for {edges.shape[0]} edges. Check that the model matches the skeleton."
        )
    finite = torch.isfinite(peak_points).all(dim=-1)
    pair = (
        (peak_nodes[None, :, None] == edges[:, 0, None, None])
        & (peak_nodes[None, None, :] == edges[:, 1, None, None])
        & finite[None, :, None]
        & finite[None, None, :]
    )
    pair &= ~torch.eye(peak_nodes.shape[0], dtype=torch.bool, device=device)[None]
    edge_idx, src, dst = pair.nonzero(as_tuple=True)
    start, end = peak_points[src], peak_points[dst]
    vec = end - start
    length = torch.linalg.vector_norm(vec, dim=-1)
    unit = vec / length.clamp_min(1e-6)[:, None]
    steps = torch.linspace(0.0, 1.0, n_points, device=device)
    samples = start[:, None, :] + steps[None, :, None] * vec[:, None, :]  # (Q, S, 2)
    pafs = pafs.float()
    gx, gy = samples[..., 0] / stride, samples[..., 1] / stride
    vx = _bilinear(pafs, 2 * edge_idx, gx, gy)
    vy = _bilinear(pafs, 2 * edge_idx + 1, gx, gy)
    dots = vx * unit[:, 0, None] + vy * unit[:, 1, None]
    scores = dots.mean(dim=1)
    if max_edge_length is not None:
        penalty = (max_edge_length / length.clamp_min(1e-6) - 1.0).clamp_max(0.0)
        scores = scores + dist_penalty_weight * penalty
    agree = (dots > sample_threshold).float().mean(dim=1)
    valid = (agree >= min_fraction) & (scores >= min_line_score) & (length > 0)
    return EdgeCandidates(edge_idx, src, dst, scores, valid)


def _match_hungarian(
    edge_idx: np.ndarray, src: np.ndarray, dst: np.ndarray, scores: np.ndarray
) -> np.ndarray:
    """Indices of the candidates kept by a maximum-weight matching per edge."""
    kept = []
    for e in np.unique(edge_idx):
        sel = np.flatnonzero(edge_idx == e)
        src_ids, rows = np.unique(src[sel], return_inverse=True)
        dst_ids, cols = np.unique(dst[sel], return_inverse=True)
        n_src, n_dst = len(src_ids), len(dst_ids)
        # Square problem with one dummy partner per peak so any peak may stay unmatched
        # at zero cost; real pairs cost -score, pairs that are not candidates are barred.
        barred = 1e9
        cost = np.zeros((n_src + n_dst, n_dst + n_src))
        cost[:n_src, :n_dst] = barred
        cost[rows, cols] = -scores[sel]
        cand_at = np.full((n_src, n_dst), -1)
        cand_at[rows, cols] = sel
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
        candidates: output of :func:`score_edge_candidates`.
        method: ``"hungarian"`` (maximum total line score; default) or ``"greedy"``
            (strongest candidates first).

    Returns:
        The matched connections (numpy arrays, on the CPU).
    """
    if method not in MATCHING_METHODS:
        raise ConfigError(
            f"matching: got {method!r}; expected 'hungarian' or 'greedy'. "
            "Use 'hungarian' unless speed on crowded frames matters more."
        )
    valid = candidates.valid.cpu().numpy()
    edge_idx = candidates.edge_idx.cpu().numpy()[valid]
    src = candidates.src.cpu().numpy()[valid]
    dst = candidates.dst.cpu().numpy()[valid]
    scores = candidates.scores.detach().cpu().numpy().astype(np.float64)[valid]
    match = _match_hungarian if method == "hungarian" else _match_greedy
    kept = np.sort(match(edge_idx, src, dst, scores)) if len(scores) else np.zeros(0, np.int64)
    return Connections(edge_idx[kept], src[kept], dst[kept], scores[kept])
