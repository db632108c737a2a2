"""Object keypoint similarity (OKS) between ground-truth and predicted instances.

OKS follows the COCO keypoint evaluation (``COCOeval.computeOks``) term for term:

* ``kappa = 2 * sigma`` per node and ``variance = kappa ** 2``;
* for a ground-truth (GT) instance of area ``a`` and a node at distance ``d`` from its
  prediction, ``e = d ** 2 / variance / (a + eps) / 2`` with ``eps = np.spacing(1)``;
* OKS is the mean of ``exp(-e)`` over the nodes that are visible in the GT instance.

A predicted point that is missing (NaN) contributes ``exp(-inf) = 0``. A GT instance with no
visible node has OKS 0 with every prediction (COCO ignores such instances anyway).

The instance area is the area (width * height) of the bounding box of the GT instance's
visible points; posekit has no segmentation masks, so this replaces COCO's mask area.

:func:`oks_matrix` is posekit's one OKS formula: the tracker's OKS similarity
(:func:`posekit.tracking.similarity.oks_similarity`) calls it with the track's pose as the
reference. Visibility and boxes come from :mod:`posekit.keypoints`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from posekit.errors import ConfigError
from posekit.keypoints import bounding_boxes, box_areas, visible_mask

DEFAULT_OKS_SIGMA = 0.025
"""Per-node OKS sigma used when none is given (sleap-nn's default, the same for every node)."""

OksSigmas = float | Sequence[float] | np.ndarray | Mapping[str, float]

AREA_DEFINITION = (
    "width * height of the bounding box of the ground-truth instance's visible points "
    "(square pixels)"
)
"""The object area of the OKS formula, as recorded in metrics files."""

OKS_FORMULA = (
    "OKS = mean over GT-visible nodes of exp(-d^2 / ((2*sigma)^2 * (area + eps) * 2)), "
    "eps = 2.2e-16; a missing predicted point scores 0"
)
"""The OKS formula computed by :func:`oks_matrix`, as recorded in metrics files."""


def instance_areas(points: np.ndarray) -> np.ndarray:
    """COCO area of each instance: the area of the bounding box of its visible points.

    Args:
        points: ``(N, K, 2)`` array; missing points are NaN.

    Returns:
        ``(N,)`` float64 areas in square pixels; 0 for an instance without a visible point
        or whose visible points lie on one horizontal or vertical line (no floor: COCO
        scores such an instance by exact hits only).
    """
    return np.nan_to_num(box_areas(_instances(points), floor=0.0), nan=0.0)


def instance_diagonals(points: np.ndarray) -> np.ndarray:
    """Diagonal length (pixels) of the bounding box of each instance's visible points ``(N,)``;
    0 for an instance without a visible point."""
    boxes = bounding_boxes(_instances(points))
    diagonal = np.hypot(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    return np.nan_to_num(diagonal, nan=0.0)


def _instances(points: np.ndarray) -> np.ndarray:
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 3 or points.shape[-1] != 2:
        raise ValueError(f"points must have shape (N, K, 2); got {points.shape}")
    return points


def resolve_sigmas(sigmas: OksSigmas | None, node_names: Sequence[str] | int) -> np.ndarray:
    """Turn the user's sigma setting into a ``(K,)`` float64 array in node order.

    Args:
        sigmas: one number for every node, a sequence with one value per node (in node
            order), a mapping ``{node name: sigma}`` covering every node, or None for
            :data:`DEFAULT_OKS_SIGMA`.
        node_names: the skeleton's node names in order (or only their count, in which
            case a mapping cannot be used).

    Raises:
        ConfigError: wrong length, unknown or missing node names, non-positive values.
    """
    names = list(node_names) if not isinstance(node_names, int) else None
    n_nodes = len(names) if names is not None else int(node_names)
    if sigmas is None:
        sigmas = DEFAULT_OKS_SIGMA
    if isinstance(sigmas, Mapping):
        if names is None:
            raise ConfigError(
                "oks_sigmas: a {node: sigma} mapping needs the skeleton's node names; "
                "expected a number or a list. Pass the node names or a list of sigmas."
            )
        unknown = sorted(set(sigmas) - set(names))
        missing = [n for n in names if n not in sigmas]
        if unknown or missing:
            raise ConfigError(
                f"oks_sigmas: the mapping does not match the skeleton (unknown nodes: "
                f"{unknown or 'none'}; nodes without a sigma: {missing or 'none'}); expected "
                f"one sigma for each of {names}. Fix the node names in the sigma file."
            )
        values = np.array([float(sigmas[n]) for n in names], dtype=np.float64)
    elif np.ndim(sigmas) == 0:
        values = np.full(n_nodes, float(sigmas), dtype=np.float64)  # type: ignore[arg-type]
    else:
        values = np.asarray(sigmas, dtype=np.float64).reshape(-1)
        if values.shape[0] != n_nodes:
            raise ConfigError(
                f"oks_sigmas: got {values.shape[0]} values; expected one per node ({n_nodes}"
                f"{': ' + ', '.join(names) if names else ''}). Give one number for all nodes "
                "or exactly one per node."
            )
    if not np.all(np.isfinite(values)) or np.any(values <= 0):
        raise ConfigError(
            f"oks_sigmas: every sigma must be a positive number; got {values.tolist()}. "
            f"The usual value is {DEFAULT_OKS_SIGMA} (sleap-nn's default)."
        )
    return values


def oks_matrix(
    gt: np.ndarray, pred: np.ndarray, areas: np.ndarray, sigmas: float | np.ndarray
) -> np.ndarray:
    """OKS between every GT (reference) instance and every predicted instance of one frame.

    Args:
        gt: ``(G, K, 2)`` ground-truth points (NaN = not labelled / not visible).
        pred: ``(P, K, 2)`` predicted points (NaN = not predicted).
        areas: ``(G,)`` area of each GT instance (see :func:`instance_areas`).
        sigmas: ``(K,)`` per-node sigmas (see :func:`resolve_sigmas`), or one number for
            every node.

    Returns:
        ``(G, P)`` float64 OKS values in ``[0, 1]``.
    """
    gt = np.asarray(gt, dtype=np.float64)
    pred = np.asarray(pred, dtype=np.float64)
    n_gt, n_pred = gt.shape[0], pred.shape[0]
    if n_gt == 0 or n_pred == 0:
        return np.zeros((n_gt, n_pred), dtype=np.float64)
    if gt.shape[1:] != pred.shape[1:]:
        raise ValueError(f"gt {gt.shape} and pred {pred.shape} must share (K, 2)")
    variances = (np.asarray(sigmas, dtype=np.float64) * 2) ** 2  # (K,)
    areas = np.asarray(areas, dtype=np.float64).reshape(n_gt, 1, 1)
    diff = pred[None, :, :, :] - gt[:, None, :, :]  # (G, P, K, 2)
    d2 = diff[..., 0] ** 2 + diff[..., 1] ** 2  # (G, P, K)
    e = d2 / variances / (areas + np.spacing(1)) / 2
    with np.errstate(invalid="ignore"):
        ks = np.exp(-e)
    gt_vis = visible_mask(gt)  # (G, K)
    ks = np.where(np.isnan(ks), 0.0, ks)  # missing predicted points (and masked GT)
    ks = np.where(gt_vis[:, None, :], ks, 0.0)
    n_vis = gt_vis.sum(axis=-1).astype(np.float64)  # (G,)
    total = ks.sum(axis=-1)
    return np.divide(total, n_vis[:, None], out=np.zeros_like(total), where=n_vis[:, None] > 0)
