"""Pixel side of preprocessing (numpy + OpenCV, no torch): channels, resize, pad.

One implementation serves the training image caches and inference, so a model sees exactly
the same pixels in both. Resizing uses OpenCV with half-pixel centres: area averaging when
shrinking (anti-aliased) and bilinear interpolation when enlarging, which matches the
coordinate mapping of :class:`~posekit.data.geometry.InputTransform`.
"""

from __future__ import annotations

import cv2
import numpy as np

from posekit.data.geometry import (
    LUMA_WEIGHTS,
    InputTransform,
    _check_channels,
    make_transform,
)
from posekit.errors import DataError

_LUMA = np.asarray(LUMA_WEIGHTS, dtype=np.float32)


def convert_channels_uint8(
    image: np.ndarray, *, ensure_rgb: bool = False, ensure_grayscale: bool = False
) -> np.ndarray:
    """Apply the channel rule to one ``uint8 (H, W, C)`` image.

    1 -> 3 channels by replication when ``ensure_rgb``; 3 -> 1 by BT.601 luma (rounded to
    the nearest level) when ``ensure_grayscale``; anything else is returned unchanged.
    """
    channels = image.shape[2]
    _check_channels(channels, ensure_rgb, ensure_grayscale)
    if ensure_rgb and channels == 1:
        return np.repeat(image, 3, axis=2)
    if ensure_grayscale and channels == 3:
        grey = image.astype(np.float32) @ _LUMA
        return np.clip(np.rint(grey), 0, 255).astype(np.uint8)[:, :, None]
    return image


def resize_uint8(image: np.ndarray, size_hw: tuple[int, int]) -> np.ndarray:
    """Resize ``uint8 (H, W, C)`` to ``size_hw`` (area when shrinking, bilinear otherwise)."""
    h, w = int(size_hw[0]), int(size_hw[1])
    if image.shape[:2] == (h, w):
        return image
    shrinking = h <= image.shape[0] and w <= image.shape[1]
    method = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    out = cv2.resize(image, (w, h), interpolation=method)
    return out.reshape(h, w, image.shape[2])


def _as_hwc_uint8(image: np.ndarray, what: str) -> np.ndarray:
    arr = np.asarray(image)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3 or arr.dtype != np.uint8:
        raise DataError(
            f"{what}: got an array of shape {arr.shape} and dtype {arr.dtype}; expected a uint8 "
            "image (height, width) or (height, width, channels). Convert 16-bit or float "
            "images to 8 bits first."
        )
    return arr


def preprocess_image(
    image: np.ndarray,
    *,
    ensure_rgb: bool = False,
    ensure_grayscale: bool = False,
    scale: float = 1.0,
    max_height: int | None = None,
    max_width: int | None = None,
    max_stride: int = 1,
    model_size: tuple[int, int] | None = None,
) -> tuple[np.ndarray, InputTransform]:
    """One ``uint8`` frame ``(H, W[, C])`` -> ``uint8`` model input ``(H', W', C')``.

    Channel rule, resize (per :func:`~posekit.data.geometry.make_transform`), zero padding on
    the bottom and right. Map keypoints with ``transform.to_model(points)``.
    """
    arr = _as_hwc_uint8(image, "preprocess_image")
    _check_channels(arr.shape[2], ensure_rgb, ensure_grayscale)
    transform = make_transform(
        arr.shape[0], arr.shape[1], scale=scale, max_height=max_height,
        max_width=max_width, max_stride=max_stride, model_size=model_size,
    )
    if ensure_grayscale:
        arr = convert_channels_uint8(arr, ensure_grayscale=True)
    arr = resize_uint8(arr, transform.resized_size)
    if ensure_rgb:
        arr = convert_channels_uint8(arr, ensure_rgb=True)
    (mh, mw), (h, w) = transform.model_size, transform.resized_size
    if (mh, mw) == (h, w):
        return np.ascontiguousarray(arr), transform
    out = np.zeros((mh, mw, arr.shape[2]), dtype=np.uint8)
    out[:h, :w] = arr
    return out, transform


def preprocess_frames(
    frames: np.ndarray,
    *,
    ensure_rgb: bool = False,
    ensure_grayscale: bool = False,
    scale: float = 1.0,
    max_height: int | None = None,
    max_width: int | None = None,
    max_stride: int = 1,
    model_size: tuple[int, int] | None = None,
) -> tuple[np.ndarray, InputTransform]:
    """Same-size ``uint8`` frames ``(B, H, W[, C])`` -> ``float32 (B, C', H', W')`` in [0, 1].

    Every frame goes through :func:`preprocess_image`, so inference sees the pixels training
    saw. All frames of a batch share one size and hence one transform.
    """
    arr = np.asarray(frames)
    if arr.ndim == 3:
        arr = arr[..., None]
    if arr.ndim != 4 or arr.dtype != np.uint8:
        raise DataError(
            f"preprocess_frames: frames have shape {arr.shape} and dtype {arr.dtype}; expected "
            "uint8 (batch, height, width, channels)."
        )
    options = {"ensure_rgb": ensure_rgb, "ensure_grayscale": ensure_grayscale, "scale": scale,
               "max_height": max_height, "max_width": max_width, "max_stride": max_stride,
               "model_size": model_size}
    first, transform = preprocess_image(arr[0], **options)  # type: ignore[arg-type]
    out = np.empty((arr.shape[0], first.shape[2], first.shape[0], first.shape[1]), np.float32)
    out[0] = first.transpose(2, 0, 1)
    options["model_size"] = transform.model_size
    for i in range(1, arr.shape[0]):
        image, _ = preprocess_image(arr[i], **options)  # type: ignore[arg-type]
        out[i] = image.transpose(2, 0, 1)
    out /= np.float32(255.0)
    return out, transform
