"""Instance crops for top-down models: where they go, how big they are, how they are cut.

One implementation, torch-free, shared by training (instance samples), int8 calibration and
top-down inference, so the instance model sees crops placed exactly as it was trained on.

Crops are whole-pixel copies of the image: a ``size x size`` crop centred on ``(cx, cy)``
starts at the integer offset ``(floor(cx - (size - 1) / 2 + 0.5), floor(cy - ... + 0.5))``
(halves round up), so no interpolation blurs the pixels and the centre lands within half a
pixel of the crop's geometric centre. Pixels outside the image are zero. Points map between
frames exactly: ``points_in_crop = points_full - offset``.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from posekit.errors import ConfigError, DataError
from posekit.keypoints import anchor_points

__all__ = ["crop_offsets", "crop_size_for_instances", "cut_crops"]


def crop_offsets(centers: ArrayLike, size: int) -> np.ndarray:
    """Integer top-left corners ``(x, y)`` (as float64) of ``size`` crops on ``centers (M, 2)``.

    Raises:
        DataError: a centre is not finite (instances without visible points have no anchor).
    """
    centers = np.asarray(centers, dtype=np.float64)
    if centers.ndim != 2 or centers.shape[-1] != 2:
        raise DataError(f"centers: got shape {centers.shape}; expected (crops, 2).")
    if not np.isfinite(centers).all():
        raise DataError(
            "centers: some crop centres are NaN or infinite; expected finite (x, y) "
            "positions. Drop instances without visible points before cropping."
        )
    _check_size(size)
    return np.floor(centers - (size - 1) / 2.0 + 0.5)


def cut_crops(images: np.ndarray, image_index: ArrayLike, offsets: np.ndarray, size: int
              ) -> np.ndarray:
    """``(M, size, size, C)`` windows of ``images (B, H, W, C)`` at ``offsets``; zeros outside.

    Args:
        images: a batch of images (any dtype; the crops keep it).
        image_index: ``(M,)`` index of the image each crop comes from.
        offsets: ``(M, 2)`` top-left corners from :func:`crop_offsets`.
        size: crop side in pixels.
    """
    _check_size(size)
    image_index = np.asarray(image_index, dtype=np.int64)
    if images.ndim != 4:
        raise DataError(f"images: got shape {images.shape}; expected (batch, height, width, "
                        "channels).")
    if image_index.shape != (len(offsets),):
        raise DataError(f"image_index: got shape {image_index.shape}; expected "
                        f"({len(offsets)},), one image per crop.")
    n_images, h, w, c = images.shape
    if len(image_index) and (image_index.min() < 0 or image_index.max() >= n_images):
        raise DataError(f"image_index: values must lie in 0..{n_images - 1}.")
    crops = np.zeros((len(offsets), size, size, c), images.dtype)
    for m, ((x0, y0), b) in enumerate(zip(np.asarray(offsets).astype(np.int64), image_index)):
        xs, ys, xe, ye = max(x0, 0), max(y0, 0), min(x0 + size, w), min(y0 + size, h)
        if xe > xs and ye > ys:
            crops[m, ys - y0:ye - y0, xs - x0:xe - x0] = images[b, ys:ye, xs:xe]
    return crops


def crop_size_for_instances(points: ArrayLike, min_crop_size: int = 0, max_stride: int = 1,
                            anchor_index: int | None = None) -> int:
    """Side of the square crop that holds every instance, at any rotation, on its anchor.

    Twice the largest distance from an anchor (:func:`posekit.keypoints.anchor_points`) to
    one of its instance's visible points, plus a margin of one output cell on each side
    (``max_stride / 4``, at least 2 px) so extreme points never sit on the crop border, plus
    one pixel for the rounding of the crop origin; at least ``min_crop_size``; rounded up to
    a multiple of ``max_stride``. Rotation augmentation therefore never pushes a labelled
    point out of the crop.

    Args:
        points: ``(M, K, 2)`` keypoints of every training instance (model-input pixels).
        min_crop_size: lower bound of the result.
        max_stride: the result is a multiple of this (the backbone's maximum stride).
        anchor_index: the anchor node, or ``None`` for bounding-box midpoints.
    """
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 3 or pts.shape[-1] != 2:
        raise DataError(f"points: got shape {pts.shape}; expected (instances, nodes, 2).")
    if max_stride < 1 or min_crop_size < 0:
        raise ConfigError(
            f"crop sizing: got max_stride={max_stride}, min_crop_size={min_crop_size}; "
            "expected max_stride >= 1 and a non-negative min_crop_size. Check the "
            "preprocessing and backbone settings."
        )
    anchors = anchor_points(pts, anchor_index)
    reach = np.linalg.norm(pts - anchors[:, None, :], axis=-1)
    reach = reach[np.isfinite(reach)]
    if reach.size == 0 and min_crop_size < 1:
        raise DataError(
            "points: no instance has a visible point, so no crop size can be computed; "
            "expected at least one labelled point. Set data_config.preprocessing.crop_size."
        )
    radius = float(reach.max()) if reach.size else 0.0
    margin = max(2.0, max_stride / 4.0)
    need = max(2.0 * (radius + margin) + 1.0, float(min_crop_size))
    return int(math.ceil(need / max_stride - 1e-9) * max_stride)


def _check_size(size: int) -> None:
    if int(size) < 1:
        raise ConfigError(
            f"crop_size: got {size!r}; expected a positive crop size in pixels. Set "
            "data_config.preprocessing.crop_size or leave it null to compute it."
        )
