"""Skeleton-consistent single-animal decoding: bone lengths decide between peaks.

A single-animal model reports, for every node, the highest peak of its map. When a
distractor (an object, a reflection, a second animal out of the training set) makes a map
peak far from the animal, that point is hundreds of pixels off although the node's true
position is often the map's *second* peak. The training labels say how long each bone is, so
the decoder can tell: a tail tip 300 px from its tail base is not a tail tip.

The rules (numbers are module constants):

* **Bone-length prior.** For every skeleton edge with at least :data:`MIN_SAMPLES` labelled
  instances where both ends are visible: the median length ``m`` and a spread
  ``s = max(1.4826 * MAD, 0.1 * m, 0.05 * A, 1 px)``: the MAD scaled to a standard
  deviation, floored so that rigid bones still allow foreshortening, and short bones (an
  eye beside the head) a localisation error of a few percent of the animal's size ``A``
  (the median diagonal of the labelled instances' bounding boxes). A bone of length ``l``
  has ``z = (l - m) / s``.
* **Choice.** Each node takes one of its candidate peaks (:func:`~posekit.decoding.peaks.
  find_peak_candidates`) so that the total cost is least: ``-log(score)`` per node plus, per
  bone, ``0.5 * (|z| - 2)**2`` beyond :data:`FREE_Z` robust deviations (nothing within),
  capped at :data:`CAP_Z`. Inside the free band the maps alone decide, so a pose that
  agrees with the labels keeps every global peak; only an implausible bone makes a weaker
  peak worth taking. Solved exactly by dynamic programming on a spanning forest of the
  edges (edges that close a cycle only take part in the check below).
* **Check.** While some bone is still longer or shorter than :data:`DROP_Z` deviations, the
  point with the largest share of such bones (then the most, then the lower score) is
  dropped (``NaN``, its score kept): a point reported in the wrong place is worse than a
  missing one.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

from posekit.keypoints import bounding_boxes, visible_mask

__all__ = ["BoneLengthPrior", "bone_length_prior", "bone_length_prior_from_labels",
           "choose_consistent_peaks", "drop_implausible_points", "skeleton_consistent_points"]

#: Labelled instances (both ends visible) an edge needs before its length is trusted.
MIN_SAMPLES = 5
#: Robust deviations a bone may differ from its median at no cost.
FREE_Z = 2.0
#: Deviations beyond which a bone costs no more (an implausible bone has a fixed price).
CAP_Z = 8.0
#: Deviations beyond which a bone is implausible after the choice: one of its points goes.
DROP_Z = 6.0
#: Spread floor as a share of the median length.
MIN_RELATIVE_SPREAD = 0.1
#: Spread floor as a share of the animal's size (median bounding-box diagonal).
MIN_SIZE_SPREAD = 0.05
_SCORE_FLOOR = 1e-6


@dataclass(frozen=True)
class BoneLengthPrior:
    """Typical length of each skeleton edge, from training labels (image pixels).

    Attributes:
        edges: ``(a, b)`` node indices of the edges that have a prior.
        median: ``(E,)`` median length.
        spread: ``(E,)`` robust spread (see the module docstring).
        n_samples: ``(E,)`` labelled instances each was measured on.
    """

    edges: tuple[tuple[int, int], ...]
    median: np.ndarray
    spread: np.ndarray
    n_samples: np.ndarray

    def z(self, points: np.ndarray) -> np.ndarray:
        """``(..., E)`` deviations of the bones of ``points (..., N, 2)`` (``NaN`` where an
        end is missing)."""
        if not self.edges:
            return np.zeros(points.shape[:-2] + (0,))
        a, b = np.asarray(self.edges).T
        length = np.linalg.norm(points[..., a, :] - points[..., b, :], axis=-1)
        return (length - self.median) / self.spread


def animal_size(points: np.ndarray) -> float:
    """Median diagonal of the bounding boxes of instances ``(F, N, 2)`` with at least two
    visible points (0 when there are none)."""
    boxes = bounding_boxes(points[visible_mask(points).sum(axis=1) >= 2])
    if not len(boxes):
        return 0.0
    return float(np.median(np.hypot(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])))


def bone_length_prior(points: np.ndarray, edges: tuple[tuple[int, int], ...] | list,
                      min_samples: int = MIN_SAMPLES) -> BoneLengthPrior:
    """The prior of ``edges`` measured on labelled ``points (F, N, 2)`` (``NaN`` = not
    visible); edges with fewer than ``min_samples`` complete instances are left out."""
    points = np.asarray(points, np.float64)
    floor = max(1.0, MIN_SIZE_SPREAD * animal_size(points))
    kept, medians, spreads, counts = [], [], [], []
    for a, b in edges:
        length = np.linalg.norm(points[:, a] - points[:, b], axis=-1)
        length = length[np.isfinite(length)]
        if len(length) < min_samples:
            continue
        median = float(np.median(length))
        mad = float(np.median(np.abs(length - median)))
        kept.append((int(a), int(b)))
        medians.append(median)
        spreads.append(max(1.4826 * mad, MIN_RELATIVE_SPREAD * median, floor))
        counts.append(len(length))
    return BoneLengthPrior(tuple(kept), np.asarray(medians, np.float64),
                           np.asarray(spreads, np.float64), np.asarray(counts, np.int64))


def bone_length_prior_from_labels(labels: Any, node_names: tuple[str, ...],
                                  edges: tuple[tuple[int, int], ...]) -> BoneLengthPrior:
    """The prior measured on every user-labelled instance of a sleap-io ``Labels``, nodes
    matched by name to ``node_names`` (the model's channel order)."""
    rows = []
    for frame in labels.labeled_frames:
        for inst in frame.user_instances:
            names = list(inst.skeleton.node_names)
            pts = np.asarray(inst.numpy(), np.float64)
            row = np.full((len(node_names), 2), np.nan)
            for j, name in enumerate(node_names):
                if name in names:
                    row[j] = pts[names.index(name)]
            rows.append(row)
    points = np.stack(rows) if rows else np.zeros((0, len(node_names), 2))
    return bone_length_prior(points, edges)


def _bone_cost(z: np.ndarray) -> np.ndarray:
    excess = np.clip(np.abs(z) - FREE_Z, 0.0, CAP_Z - FREE_Z)
    return np.where(np.isfinite(z), 0.5 * excess ** 2, 0.0)


def _spanning_forest(n_nodes: int, edges: tuple[tuple[int, int], ...]
                     ) -> list[tuple[int, int, int]]:
    """``(parent, child, edge index)`` in breadth-first order over every component."""
    neighbours: list[list[tuple[int, int]]] = [[] for _ in range(n_nodes)]
    for e, (a, b) in enumerate(edges):
        neighbours[a].append((b, e))
        neighbours[b].append((a, e))
    seen = [False] * n_nodes
    order = []
    for root in range(n_nodes):
        if seen[root]:
            continue
        seen[root] = True
        queue = deque([root])
        while queue:
            node = queue.popleft()
            for other, e in neighbours[node]:
                if not seen[other]:
                    seen[other] = True
                    order.append((node, other, e))
                    queue.append(other)
    return order


def _pair_costs(parent: np.ndarray, child: np.ndarray, prior: BoneLengthPrior, e: int
                ) -> np.ndarray:
    """``(B, C+1, C+1)`` bone costs between a parent's and a child's candidates (last state:
    missing, free)."""
    length = np.linalg.norm(parent[:, :, None] - child[:, None, :], axis=-1)
    cost = _bone_cost((length - prior.median[e]) / prior.spread[e])
    return np.pad(cost, ((0, 0), (0, 1), (0, 1)))


def choose_consistent_peaks(points: np.ndarray, scores: np.ndarray, prior: BoneLengthPrior
                            ) -> tuple[np.ndarray, np.ndarray]:
    """One candidate per node, chosen with the bone-length prior (module docstring).

    Args:
        points: ``(B, N, C, 2)`` candidate positions, best first (``NaN``: no candidate).
        scores: ``(B, N, C)`` their map values.
        prior: the bone lengths of the training labels.

    Returns:
        ``points (B, N, 2)`` and ``scores (B, N)``; a node without candidates is ``NaN``.
    """
    points = np.asarray(points, np.float64)
    scores = np.asarray(scores, np.float64)
    batch, n_nodes, _ = scores.shape
    valid = np.isfinite(points).all(axis=-1)
    unary = np.where(valid, -np.log(np.clip(scores, _SCORE_FLOOR, 1.0)), np.inf)
    missing = np.where(valid.any(axis=-1), np.inf, 0.0)
    cost = np.concatenate([unary, missing[..., None]], axis=-1)  # (B, N, C+1)
    order = _spanning_forest(n_nodes, prior.edges)
    back: dict[int, np.ndarray] = {}
    for parent, child, e in reversed(order):
        pair = _pair_costs(points[:, parent], points[:, child], prior, e)
        total = cost[:, child][:, None, :] + pair  # (B, parent state, child state)
        back[child] = np.argmin(total, axis=-1)
        cost[:, parent] += np.take_along_axis(total, back[child][..., None], -1)[..., 0]
    choice = np.argmin(cost, axis=-1)  # right for the roots; children are set below
    rows = np.arange(batch)
    for parent, child, _ in order:
        choice[:, child] = back[child][rows, choice[:, parent]]
    padded_points = np.concatenate([points, np.full((batch, n_nodes, 1, 2), np.nan)], axis=2)
    padded_scores = np.concatenate([scores, scores[:, :, :1]], axis=2)
    index = choice[:, :, None]
    chosen = np.take_along_axis(padded_points, index[..., None], axis=2)[:, :, 0]
    return chosen, np.take_along_axis(padded_scores, index, axis=2)[:, :, 0]


def drop_implausible_points(points: np.ndarray, scores: np.ndarray, prior: BoneLengthPrior,
                            drop_z: float = DROP_Z) -> np.ndarray:
    """``points (B, N, 2)`` with points dropped (``NaN``) until no bone deviates more than
    ``drop_z``. Each round drops, per frame, the point whose bones are most often
    implausible: the largest share of its bones, then the most bones, then the lower score
    (a leaf 300 px from its parent goes, not the parent whose other bones agree). A copy;
    the input is not changed."""
    points = np.array(points, np.float64)
    if not prior.edges:
        return points
    n_nodes = points.shape[1]
    incidence = np.zeros((len(prior.edges), n_nodes))
    for e, (a, b) in enumerate(prior.edges):
        incidence[e, a] = incidence[e, b] = 1.0
    tie_break = 0.5 * np.clip(np.nan_to_num(np.asarray(scores, np.float64)), 0.0, 1.0)
    for _ in range(n_nodes):
        with np.errstate(invalid="ignore"):
            z = np.abs(prior.z(points))
        bad = z > drop_z  # NaN compares False
        frames = np.flatnonzero(bad.any(axis=1))
        if not len(frames):
            break
        counts = bad[frames].astype(np.float64) @ incidence
        degree = np.isfinite(z[frames]).astype(np.float64) @ incidence
        share = counts / np.maximum(degree, 1.0)
        worst = np.argmax(share * (n_nodes + 2) + counts - tie_break[frames], axis=1)
        points[frames, worst] = np.nan
    return points


def skeleton_consistent_points(points: np.ndarray, scores: np.ndarray,
                               prior: BoneLengthPrior) -> tuple[np.ndarray, np.ndarray]:
    """The choice then the check: candidates ``(B, N, C, 2)`` with scores ``(B, N, C)`` ->
    points ``(B, N, 2)`` (``NaN`` where missing or dropped) and their scores ``(B, N)``."""
    chosen, chosen_scores = choose_consistent_peaks(points, scores, prior)
    return drop_implausible_points(chosen, chosen_scores, prior), chosen_scores
