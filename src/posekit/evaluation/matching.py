"""One-to-one matching of predicted to ground-truth instances within a frame.

The rule used for every metric other than mAP/mAR (which follows COCO's own greedy
matching, see :mod:`posekit.evaluation.coco_map`): the Hungarian algorithm picks the
pairing with the largest total OKS; a pair is then kept only when its OKS is greater than
zero and at least ``min_oks``. Unpaired GT instances are misses (false negatives) and
unpaired predictions are false positives.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

MATCHING_RULE = (
    "per frame, Hungarian assignment maximising the total OKS between ground-truth and "
    "predicted instances; a pair counts as a match when its OKS is > 0 and >= min_oks"
)


def match_instances(oks: np.ndarray, min_oks: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Match the instances of one frame from their OKS matrix.

    Args:
        oks: ``(G, P)`` OKS between GT (rows) and predicted (columns) instances.
        min_oks: smallest OKS a pair may have to count as a match.

    Returns:
        ``(gt_index, pred_index)``: two ``(M,)`` int64 arrays of matched pairs, in
        increasing GT order.
    """
    oks = np.asarray(oks, dtype=np.float64)
    empty = np.zeros(0, dtype=np.int64)
    if oks.ndim != 2:
        raise ValueError(f"oks must be a (G, P) matrix; got shape {oks.shape}")
    if oks.size == 0:
        return empty, empty.copy()
    rows, cols = linear_sum_assignment(oks, maximize=True)
    values = oks[rows, cols]
    keep = (values > 0) & (values >= min_oks)
    return rows[keep].astype(np.int64), cols[keep].astype(np.int64)
