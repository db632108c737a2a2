"""How varied the labelled poses are, and how often each node is visible (numpy only).

**Body frame.** Each labelled animal is moved into its own frame of reference before its
poses are compared, so that *where* the animal is and *which way* it faces do not count
as pose variety:

1. the *body axis* runs from the tail node to the head node (:func:`axis_nodes`): nodes
   named like a head (``head``, ``nose``, ``snout``) and a tail (``tail_base``,
   ``abdomen``, ``tail``...) when the skeleton has them and they are visible together in at
   least half of the animals; otherwise the most rigid long pair of nodes: among pairs
   visible together in at least half of the animals, the one whose distance is largest
   relative to how much it varies (mean distance / (standard deviation + 1 px)), rather
   than two leg tips;
2. the origin is the midpoint of the two axis nodes, and the pose is rotated so the axis
   points along +x (head at ``x > 0``); nothing is scaled;
3. animals without both axis nodes visible cannot be aligned and are left out (counted).

**Spread of node k** (pixels): the root-mean-square distance of node ``k``'s aligned
positions from their mean position, over the animals where ``k`` is visible.

**Pose-variance index** (no unit): the root mean square of the node spreads divided by the
median body length (the distance between the two axis nodes). ``0`` means every animal
holds exactly the same pose; ``0.1`` means nodes wander by about a tenth of a body length
around their average place; walking and turning rodents give about 0.15 to 0.3. The guide
asks to report the "standard deviation of keypoint locations across the dataset": this is
that standard deviation, taken in the animal's own frame and in body lengths so that
datasets of different resolutions compare.

**Pose components.** The aligned poses (missing nodes filled with the node's mean
position) projected on their two first principal components, for the pose-variance plot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from posekit.keypoints import visible_mask

HEAD_NAMES = ("head", "nose", "snout", "beak")
"""Node names (lower case, without ``_`` / ``-`` / spaces) taken as the head, in order."""
TAIL_NAMES = ("tailbase", "tailroot", "tailstart", "abdomen", "tail", "rump", "spine")
"""Node names taken as the tail end of the body axis, in order of preference."""
MIN_COVISIBLE = 0.5
"""An automatic axis pair must be visible together in at least this share of animals."""
CONCENTRATED_INDEX = 0.05
"""Poses are *concentrated* when the pose-variance index is below this (nodes move by less
than a twentieth of a body length around their average place)."""


@dataclass(frozen=True)
class PoseAlignment:
    """Labelled animals in their own frame of reference.

    Attributes:
        head: index of the head node (the axis points to it).
        tail: index of the tail node.
        aligned: ``(M, K, 2)`` aligned poses of the animals that could be aligned.
        used: ``(N,)`` bool, which of the input animals are in ``aligned``.
        body_length: ``(M,)`` distance between the axis nodes of each aligned animal.
    """

    head: int
    tail: int
    aligned: np.ndarray
    used: np.ndarray
    body_length: np.ndarray


@dataclass(frozen=True)
class PoseVariance:
    """The pose-variance numbers (see the module notes).

    Attributes:
        head_node, tail_node: the axis nodes.
        axis_rule: how they were chosen (``"given"``, ``"named"`` or ``"rigid pair"``).
        n_animals: labelled animals given.
        n_aligned: animals with both axis nodes visible (the index uses these).
        median_body_length_px: median distance between the axis nodes.
        node_spread_px: ``{node: spread in px}`` (None: fewer than two observations).
        spread_px: root mean square of the node spreads.
        index: ``spread_px / median_body_length_px`` (None when undefined).
        image_spread_px: the same spread without alignment (image coordinates), for
            contrast: it mixes where animals are with how they pose.
        explained: share of the aligned-pose variance on the first two components.
    """

    head_node: str
    tail_node: str
    axis_rule: str
    n_animals: int
    n_aligned: int
    median_body_length_px: float | None
    node_spread_px: dict[str, float | None]
    spread_px: float | None
    index: float | None
    image_spread_px: float | None
    explained: tuple[float, ...] = ()

    @property
    def concentrated(self) -> bool:
        """Whether the index is below :data:`CONCENTRATED_INDEX`."""
        return self.index is not None and self.index < CONCENTRATED_INDEX

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        return {
            "head_node": self.head_node, "tail_node": self.tail_node,
            "axis_rule": self.axis_rule, "n_animals": self.n_animals,
            "n_aligned": self.n_aligned, "median_body_length_px": self.median_body_length_px,
            "node_spread_px": dict(self.node_spread_px), "spread_px": self.spread_px,
            "index": self.index, "image_spread_px": self.image_spread_px,
            "explained_by_two_components": list(self.explained),
            "concentrated": self.concentrated, "concentrated_below": CONCENTRATED_INDEX,
        }


def _opt(value: float) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None


def _simple(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def named_axis(node_names: Sequence[str]) -> tuple[int, int] | None:
    """``(head, tail)`` indices of nodes named like a head and a tail, or None."""
    simple = [_simple(n) for n in node_names]
    head = next((simple.index(n) for n in HEAD_NAMES if n in simple), None)
    tail = next((simple.index(n) for n in TAIL_NAMES if n in simple), None)
    if head is None or tail is None or head == tail:
        return None
    return head, tail


def axis_nodes(points: np.ndarray, node_names: Sequence[str] | None = None,
               min_covisible: float = MIN_COVISIBLE) -> tuple[tuple[int, int], str]:
    """The automatic body axis ``((head, tail), rule)``.

    ``rule`` is ``"named"`` when ``node_names`` hold a head and a tail name
    (:data:`HEAD_NAMES`, :data:`TAIL_NAMES`) visible together in at least
    ``min_covisible`` of the animals; else ``"rigid pair"``: among node pairs visible
    together that often (else the most often co-visible pairs), the largest
    ``mean distance / (standard deviation + 1 px)``, the node earlier in the skeleton
    being the head.

    Raises:
        ValueError: fewer than two nodes.
    """
    pts = np.asarray(points, dtype=np.float64)
    n_nodes = pts.shape[1]
    if n_nodes < 2:
        raise ValueError(f"points: {n_nodes} node(s); a body axis needs two nodes.")
    vis = visible_mask(pts)
    named = named_axis(node_names) if node_names is not None else None
    if named is not None and (vis[:, named[0]] & vis[:, named[1]]).mean() >= min_covisible:
        return named, "named"
    best, best_key = (0, 1), (-1.0, -1.0)
    n = max(len(pts), 1)
    for a in range(n_nodes):
        for b in range(a + 1, n_nodes):
            both = vis[:, a] & vis[:, b]
            share = both.sum() / n
            dist = np.hypot(*(pts[both, a] - pts[both, b]).T)
            rigid = dist.mean() / (dist.std() + 1.0) if dist.size else 0.0
            key = (1.0 if share >= min_covisible else share, float(rigid))
            if key > best_key:
                best, best_key = (a, b), key
    return best, "rigid pair"


def align_poses(points: np.ndarray, head: int, tail: int) -> PoseAlignment:
    """Move every animal of ``points`` ``(N, K, 2)`` into its body frame (module notes)."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, *np.shape(points)[-2:])
    axis = pts[:, head] - pts[:, tail]
    length = np.hypot(axis[:, 0], axis[:, 1])
    used = np.isfinite(length) & (length > 0)
    origin = (pts[used, head] + pts[used, tail]) / 2.0
    cos, sin = (axis[used] / length[used, None]).T
    rel = pts[used] - origin[:, None, :]
    # rotate by -angle: x' = x cos + y sin, y' = -x sin + y cos
    x = rel[..., 0] * cos[:, None] + rel[..., 1] * sin[:, None]
    y = -rel[..., 0] * sin[:, None] + rel[..., 1] * cos[:, None]
    return PoseAlignment(head, tail, np.stack([x, y], axis=-1), used, length[used])


def node_spread(points: np.ndarray) -> np.ndarray:
    """``(K,)`` RMS distance of each node's positions from their mean (NaN with fewer than
    two observations)."""
    pts = np.asarray(points, dtype=np.float64)
    vis = visible_mask(pts)
    out = np.full(pts.shape[1], np.nan)
    for k in range(pts.shape[1]):
        p = pts[vis[:, k], k]
        if len(p) >= 2:
            out[k] = np.sqrt(((p - p.mean(axis=0)) ** 2).sum(axis=1).mean())
    return out


def _rms(values: np.ndarray) -> float:
    values = values[np.isfinite(values)]
    return float(np.sqrt(np.mean(values**2))) if values.size else float("nan")


def pose_components(aligned: np.ndarray, n: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Scores ``(M, n)`` of the aligned poses on their first ``n`` principal components and
    the share of variance each explains (missing nodes filled with the node's mean)."""
    pts = np.asarray(aligned, dtype=np.float64)
    if len(pts) < 2:
        return np.zeros((len(pts), n)), np.zeros(n)
    mean = np.nanmean(np.where(visible_mask(pts)[..., None], pts, np.nan), axis=0)
    mean = np.where(np.isfinite(mean), mean, 0.0)
    filled = np.where(visible_mask(pts)[..., None], pts, mean[None])
    flat = (filled - mean[None]).reshape(len(pts), -1)
    _, s, vt = np.linalg.svd(flat, full_matrices=False)
    var = s**2
    share = var / var.sum() if var.sum() > 0 else np.zeros_like(var)
    scores = flat @ vt[:n].T
    if scores.shape[1] < n:
        scores = np.pad(scores, ((0, 0), (0, n - scores.shape[1])))
        share = np.pad(share, (0, n - len(share)))
    return scores, share[:n]


def pose_variance(points: np.ndarray, node_names: Sequence[str],
                  axis: tuple[str, str] | None = None) -> tuple[PoseVariance, PoseAlignment]:
    """The pose-variance numbers of labelled animals ``(N, K, 2)`` (module notes).

    Args:
        points: one row per labelled animal, NaN for nodes not visible.
        node_names: the skeleton's node names.
        axis: ``(head, tail)`` node names of the body axis; None chooses them
            (:func:`axis_nodes`).

    Raises:
        ValueError: an axis node is not in the skeleton, or the skeleton has one node.
    """
    names = list(node_names)
    pts = np.asarray(points, dtype=np.float64).reshape(-1, len(names), 2)
    if axis is None:
        (head, tail), rule = axis_nodes(pts, names)
    else:
        unknown = [a for a in axis if a not in names]
        if unknown:
            raise ValueError(f"axis nodes {unknown} are not in the skeleton {names}.")
        head, tail = names.index(axis[0]), names.index(axis[1])
        rule = "given"
    alignment = align_poses(pts, head, tail)
    spreads = node_spread(alignment.aligned)
    spread = _rms(spreads)
    median_len = float(np.median(alignment.body_length)) if alignment.body_length.size else np.nan
    _, explained = pose_components(alignment.aligned)
    result = PoseVariance(
        head_node=names[head], tail_node=names[tail], axis_rule=rule,
        n_animals=len(pts), n_aligned=int(alignment.used.sum()),
        median_body_length_px=_opt(median_len),
        node_spread_px={n: _opt(s) for n, s in zip(names, spreads)},
        spread_px=_opt(spread),
        index=_opt(spread / median_len) if median_len > 0 else None,
        image_spread_px=_opt(_rms(node_spread(pts))),
        explained=tuple(round(float(e), 4) for e in explained),
    )
    return result, alignment


@dataclass(frozen=True)
class NodeVisibility:
    """How often one node is labelled as visible.

    Attributes:
        node: the node's name.
        visible: labelled animals where it is visible.
        animals: labelled animals.
        share: ``visible / animals`` (None without animals).
    """

    node: str
    visible: int
    animals: int
    share: float | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        return {"node": self.node, "visible": self.visible, "animals": self.animals,
                "share": self.share}


def node_visibility(points: np.ndarray, node_names: Sequence[str]) -> list[NodeVisibility]:
    """Visibility of every node over the labelled animals ``(N, K, 2)``."""
    vis = visible_mask(np.asarray(points, dtype=np.float64).reshape(-1, len(node_names), 2))
    n = int(vis.shape[0])
    return [NodeVisibility(name, int(vis[:, k].sum()), n,
                           float(vis[:, k].sum() / n) if n else None)
            for k, name in enumerate(node_names)]
