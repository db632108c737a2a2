"""Instance crops for top-down (centred-instance) models.

Crops are whole-pixel copies of the image: a crop of ``h x w`` centred on ``(cx, cy)`` starts
at the integer offset ``(round(cx - (w - 1) / 2), round(cy - (h - 1) / 2))`` (halves round
up), so no interpolation blurs the pixels and the centre lands within half a pixel of the
crop's geometric centre ``((w - 1) / 2, (h - 1) / 2)``. Pixels outside the image are zero.
Points map between frames exactly::

    points_in_crop = points_full - offset        points_full = points_in_crop + offset
"""

from __future__ import annotations

import math

import torch

from posekit.data.targets import compute_anchors
from posekit.errors import ConfigError, DataError

__all__ = [
    "crop_around",
    "crop_offsets",
    "crop_size_from_instances",
    "points_from_crop",
    "points_to_crop",
]


def _crop_hw(crop_hw: int | tuple[int, int]) -> tuple[int, int]:
    h, w = (crop_hw, crop_hw) if isinstance(crop_hw, int) else (int(v) for v in crop_hw)
    if h < 1 or w < 1:
        raise ConfigError(
            f"crop_size: got {crop_hw!r}; expected a positive crop size in pixels. "
            "Set data_config.preprocessing.crop_size or leave it null to compute it."
        )
    return h, w


def crop_size_from_instances(
    points: torch.Tensor,
    min_crop_size: int = 0,
    max_stride: int = 1,
    padding: int = 0,
    anchor_index: int | None = None,
) -> int:
    """Side of the square crop that holds every instance when centred on its anchor.

    An instance needs ``2 * R + 1`` pixels, where ``R`` is the largest per-axis distance
    from its anchor (:func:`~posekit.data.targets.compute_anchors`) to its visible points;
    with bounding-box-midpoint anchors ``2 * R`` is the longer bounding-box side, and the
    ``+ 1`` absorbs the rounding of the crop origin to whole pixels. The size is the largest
    need plus ``padding``, at least ``min_crop_size``, rounded up to a multiple of
    ``max_stride``.

    Args:
        points: ``(M, K, 2)`` keypoints of all instances (``NaN`` where missing).
        min_crop_size: lower bound of the result.
        max_stride: the result is a multiple of this (the backbone's maximum stride).
        padding: pixels added to the needed size (split between both sides).
        anchor_index: anchor node (``None``: bounding-box midpoints), as used for cropping.

    Returns:
        The crop side in pixels.
    """
    points = torch.as_tensor(points)
    if points.ndim != 3 or points.shape[-1] != 2:
        raise DataError(f"points: got shape {tuple(points.shape)}; expected (instances, nodes, 2).")
    if max_stride < 1 or padding < 0 or min_crop_size < 0:
        raise ConfigError(
            f"crop sizing: got max_stride={max_stride}, padding={padding}, "
            f"min_crop_size={min_crop_size}; expected max_stride >= 1 and non-negative "
            "padding and min_crop_size. Check the preprocessing and backbone settings."
        )
    points = points.to(torch.float64)
    anchors = compute_anchors(points, anchor_index)  # (M, 2)
    reach = (points - anchors[:, None, :]).abs()
    reach = torch.where(torch.isfinite(reach), reach, torch.zeros_like(reach))
    has_points = torch.isfinite(anchors).all(dim=-1)
    if not bool(has_points.any()):
        if min_crop_size < 1:
            raise DataError(
                "points: no instance has a visible point, so no crop size can be computed; "
                "expected at least one labelled point. Set crop_size explicitly."
            )
        need = 0.0
    else:
        need = 2.0 * float(reach[has_points].max()) + 1.0 + padding
    size = max(need, float(min_crop_size))
    return int(math.ceil(size / max_stride - 1e-9) * max_stride)


def crop_offsets(centers: torch.Tensor, crop_hw: int | tuple[int, int]) -> torch.Tensor:
    """Integer top-left corners ``(x, y)`` (as floats) of crops centred on ``centers (M, 2)``."""
    h, w = _crop_hw(crop_hw)
    centers = torch.as_tensor(centers)
    if centers.ndim != 2 or centers.shape[-1] != 2:
        raise DataError(f"centers: got shape {tuple(centers.shape)}; expected (crops, 2).")
    if not bool(torch.isfinite(centers).all()):
        raise DataError(
            "centers: some crop centres are NaN or infinite; expected finite (x, y) "
            "positions. Drop instances without visible points before cropping."
        )
    dtype = centers.dtype if centers.is_floating_point() else torch.float32
    half = torch.tensor([(w - 1) / 2.0, (h - 1) / 2.0], dtype=dtype, device=centers.device)
    return torch.floor(centers.to(dtype) - half + 0.5)


def points_to_crop(points: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    """Full-image points ``(M, ..., 2)`` to crop coordinates (``points - offset``)."""
    shape = (offsets.shape[0],) + (1,) * (points.ndim - 2) + (2,)
    return points - offsets.reshape(shape).to(points.dtype)


def points_from_crop(points: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    """Crop coordinates ``(M, ..., 2)`` back to full-image points (``points + offset``)."""
    shape = (offsets.shape[0],) + (1,) * (points.ndim - 2) + (2,)
    return points + offsets.reshape(shape).to(points.dtype)


def crop_around(
    images: torch.Tensor,
    centers: torch.Tensor,
    batch_index: torch.Tensor,
    crop_hw: int | tuple[int, int],
) -> tuple[torch.Tensor, torch.Tensor]:
    """Cut ``crop_hw`` crops centred on ``centers`` out of a batch of images.

    Args:
        images: ``(B, C, H, W)`` images (any dtype).
        centers: ``(M, 2)`` crop centres ``(x, y)`` in image pixels.
        batch_index: ``(M,)`` long index of the image each crop comes from.
        crop_hw: crop ``(height, width)`` or one side for square crops.

    Returns:
        ``crops (M, C, h, w)`` (zeros outside the image) and ``offsets (M, 2)``, the crops'
        top-left ``(x, y)`` in the image, so ``points_in_crop = points_full - offset``.
    """
    if images.ndim != 4:
        raise DataError(
            f"images: got shape {tuple(images.shape)}; expected (batch, channels, height, width)."
        )
    h, w = _crop_hw(crop_hw)
    offsets = crop_offsets(torch.as_tensor(centers, device=images.device), (h, w))
    batch_index = torch.as_tensor(batch_index, device=images.device).long()
    if batch_index.shape != offsets.shape[:1]:
        raise DataError(
            f"batch_index: got shape {tuple(batch_index.shape)}; expected ({offsets.shape[0]},), "
            "one image index per crop centre."
        )
    n_images, _, height, width = images.shape
    if batch_index.numel() and (int(batch_index.min()) < 0 or int(batch_index.max()) >= n_images):
        raise DataError(
            f"batch_index: values must lie in 0..{n_images - 1}; got "
            f"{int(batch_index.min())}..{int(batch_index.max())}."
        )
    corner = offsets.long()
    rows = corner[:, 1, None] + torch.arange(h, device=images.device)  # (M, h)
    cols = corner[:, 0, None] + torch.arange(w, device=images.device)  # (M, w)
    inside = ((rows >= 0) & (rows < height))[:, :, None] & ((cols >= 0) & (cols < width))[:, None]
    # Advanced indices around the channel slice put the crop axes first: (M, h, w, C).
    crops = images[
        batch_index[:, None, None],
        :,
        rows.clamp(0, height - 1)[:, :, None],
        cols.clamp(0, width - 1)[:, None, :],
    ]
    crops = crops * inside[..., None].to(crops.dtype)
    return crops.permute(0, 3, 1, 2).contiguous(), offsets
