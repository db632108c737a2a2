"""Pairwise similarities between instances and track candidates, vectorised.

Every function takes ``instances`` ``(n, K, 2)`` and ``candidates`` ``(m, K, 2)`` (missing
nodes are NaN) and returns an ``(n, m)`` float64 matrix in ``[0, 1]``, 1 meaning
identical. The candidate (a track's last pose) plays the reference role wherever the
measure is asymmetric, as the ground truth does in COCO.

Visibility, boxes, areas (floored at :data:`posekit.keypoints.MIN_BOX_AREA`) and anchors
come from :mod:`posekit.keypoints`; OKS is :func:`posekit.evaluation.oks.oks_matrix`, the
formula the evaluation uses.
"""

from __future__ import annotations

import numpy as np

from posekit.evaluation.oks import oks_matrix
from posekit.keypoints import anchor_points, bounding_boxes, box_areas
from posekit.tracking.config import TrackingConfig


def oks_similarity(
    instances: np.ndarray,
    candidates: np.ndarray,
    sigma: float | np.ndarray = 0.025,
    area: float | np.ndarray | None = None,
) -> np.ndarray:
    """Object keypoint similarity (COCO formula) of every instance against every candidate.

    ``OKS = mean over the candidate's visible nodes of exp(-d² / (2 · A · (2σ)²))`` with
    ``d`` the node distance and ``A`` the candidate's bounding-box area, or ``area`` (one
    number, or one per candidate). This is :func:`posekit.evaluation.oks.oks_matrix` with
    the candidates as the reference ("ground truth"), transposed.
    A node missing from the instance but visible in the candidate counts 0; nodes the
    candidate lacks are ignored. A candidate with no visible node scores 0.
    """
    if area is None:
        ref_area = box_areas(candidates)
    else:
        ref_area = np.broadcast_to(np.asarray(area, dtype=np.float64), (len(candidates),))
    return oks_matrix(candidates, instances, ref_area, np.asarray(sigma, dtype=np.float64)).T


def centroid_similarity(
    instances: np.ndarray,
    candidates: np.ndarray,
    scale: float | np.ndarray | None = None,
    anchor_node: int | None = None,
) -> np.ndarray:
    """``exp(-(d / s)²)`` of the distance ``d`` between anchors.

    The anchor is :func:`posekit.keypoints.anchor_points`: the ``anchor_node`` where it is
    visible, otherwise the midpoint of the bounding box of the visible nodes.

    ``s`` is ``scale`` in pixels (one number, or one per candidate), or (``None``) the
    candidate's size, the square root of its bounding-box area: a move of one body length
    scores ``1/e ≈ 0.37``. Instances or candidates without a visible node score 0.
    """
    ci = anchor_points(instances, anchor_node)
    cc = anchor_points(candidates, anchor_node)
    d2 = ((ci[:, None] - cc[None]) ** 2).sum(axis=-1)
    if scale is None:
        s2 = box_areas(candidates)
    else:
        s2 = np.broadcast_to(np.asarray(scale, dtype=np.float64) ** 2, (len(candidates),))
    with np.errstate(invalid="ignore"):
        sim = np.exp(-d2 / s2[None, :])
    return np.where(np.isfinite(sim), sim, 0.0)


def iou_similarity(instances: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """Intersection over union of the bounding boxes of the visible nodes.

    Degenerate boxes (one node, or all nodes on a line) have no area and score 0.
    """
    bi = bounding_boxes(instances)
    bc = bounding_boxes(candidates)
    w = np.minimum(bi[:, None, 2], bc[None, :, 2]) - np.maximum(bi[:, None, 0], bc[None, :, 0])
    h = np.minimum(bi[:, None, 3], bc[None, :, 3]) - np.maximum(bi[:, None, 1], bc[None, :, 1])
    inter = np.clip(w, 0.0, None) * np.clip(h, 0.0, None)
    area_i = (bi[:, 2] - bi[:, 0]) * (bi[:, 3] - bi[:, 1])
    area_c = (bc[:, 2] - bc[:, 0]) * (bc[:, 3] - bc[:, 1])
    union = area_i[:, None] + area_c[None, :] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = inter / union
    return np.where(np.isfinite(iou) & (union > 0), iou, 0.0)


def pairwise_similarity(
    instances: np.ndarray,
    candidates: np.ndarray,
    config: TrackingConfig,
    sizes: np.ndarray | None = None,
    reach: np.ndarray | None = None,
) -> np.ndarray:
    """The similarity chosen by ``config.similarity``, ``(n, m)``; empty inputs give an
    empty matrix of the right shape.

    ``sizes`` (``(m,)`` areas in pixels²) replaces each candidate's own bounding-box area
    as its object size for OKS and the automatic centroid scale; ``config.oks_area`` and
    ``config.centroid_scale``, when set, take precedence.

    ``reach`` (``(m,)`` pixels, motion allowance) widens each candidate's tolerance: the
    OKS scale ``sqrt(A) · 2σ`` and the centroid scale ``s`` become
    ``sqrt(scale² + reach²)`` (IoU ignores it).
    """
    n, m = len(instances), len(candidates)
    if n == 0 or m == 0:
        return np.zeros((n, m))
    if config.similarity == "oks":
        sigma = np.asarray(config.oks_sigma, dtype=np.float64)
        area = config.oks_area if config.oks_area is not None else sizes
        if reach is not None:
            base = box_areas(candidates) if area is None else area
            base = np.broadcast_to(np.asarray(base, dtype=np.float64), (m,))
            area = base + np.asarray(reach, np.float64) ** 2 / (2.0 * float(sigma.mean())) ** 2
        return oks_similarity(instances, candidates, sigma, area)
    if config.similarity == "centroid":
        scale = config.centroid_scale
        if scale is None and sizes is not None:
            scale = np.sqrt(sizes)
        if reach is not None:
            base = np.sqrt(box_areas(candidates)) if scale is None else scale
            base = np.broadcast_to(np.asarray(base, dtype=np.float64), (m,))
            scale = np.sqrt(base**2 + np.asarray(reach, np.float64) ** 2)
        return centroid_similarity(instances, candidates, scale, config.anchor_node)
    return iou_similarity(instances, candidates)
