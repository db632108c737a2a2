"""One-to-one assignment of instances (rows) to tracks (columns) from a similarity matrix."""

from __future__ import annotations

import numpy as np


def acceptable(similarity: np.ndarray, min_similarity: float) -> np.ndarray:
    """Bool mask of pairs that may be matched: finite, above zero and ``>= min_similarity``."""
    sim = np.asarray(similarity)
    return (sim > 0.0) & (sim >= min_similarity) & np.isfinite(sim)


def hungarian_match(
    similarity: np.ndarray, min_similarity: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs maximising the total similarity over acceptable pairs.

    Pairs below the threshold are given weight 0 before solving and dropped after: a
    zero-weight pair adds nothing to the total, so the kept pairs form a maximum-weight
    matching of the acceptable ones.

    Returns:
        ``(rows, cols)`` int64 arrays, sorted by row.
    """
    from scipy.optimize import linear_sum_assignment  # heavy import, deferred to first use

    ok = acceptable(similarity, min_similarity)
    if not ok.any():
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    weights = np.where(ok, similarity, 0.0)
    rows, cols = linear_sum_assignment(weights, maximize=True)
    keep = ok[rows, cols]
    return rows[keep].astype(np.int64), cols[keep].astype(np.int64)


def greedy_match(
    similarity: np.ndarray, min_similarity: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs taken best first, skipping rows or columns already used (ties: lower row,
    then lower column first).

    Returns:
        ``(rows, cols)`` int64 arrays, sorted by row.
    """
    ok = acceptable(similarity, min_similarity)
    r_idx, c_idx = np.nonzero(ok)
    order = np.argsort(-similarity[r_idx, c_idx], kind="stable")
    used_r: set[int] = set()
    used_c: set[int] = set()
    rows: list[int] = []
    cols: list[int] = []
    for r, c in zip(r_idx[order].tolist(), c_idx[order].tolist(), strict=True):
        if r in used_r or c in used_c:
            continue
        used_r.add(r)
        used_c.add(c)
        rows.append(r)
        cols.append(c)
    rows_a, cols_a = np.asarray(rows, np.int64), np.asarray(cols, np.int64)
    by_row = np.argsort(rows_a, kind="stable")
    return rows_a[by_row], cols_a[by_row]


def match(
    similarity: np.ndarray, min_similarity: float, method: str
) -> tuple[np.ndarray, np.ndarray]:
    """Dispatch to :func:`hungarian_match` or :func:`greedy_match` by name."""
    if method == "greedy":
        return greedy_match(similarity, min_similarity)
    return hungarian_match(similarity, min_similarity)
