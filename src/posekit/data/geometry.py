"""Frame geometry of preprocessing: input-size planning and exact coordinate mapping.

Torch-free (inference with ONNX Runtime imports it without torch). The rules:

* Each frame is resized by ``factor = scale * min(1, max_height / height, max_width / width)``
  (``max_height`` / ``max_width`` in source-frame pixels, as in sleap-nn; frames that fit
  are padded, never enlarged beyond ``scale``); the resized size is
  ``round(height * factor)`` x ``round(width * factor)`` with halves rounded up.
* Frames are zero-padded on the bottom and right to the model input size: the canvas
  (``round(max_height * scale)`` etc., or the largest resized frame of the dataset)
  rounded up to a multiple of the backbone's ``max_stride``.
* Keypoints follow the project convention (the centre of the top-left pixel is ``(0, 0)``).
  Resampling with half-pixel centres maps a source position ``x`` to
  ``(x + 0.5) * sx - 0.5`` where ``sx = resized_width / width`` is the *actual* size ratio,
  so :class:`InputTransform` maps points between frame and model input exactly.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from posekit.errors import ConfigError, DataError

LUMA_WEIGHTS: tuple[float, float, float] = (0.299, 0.587, 0.114)
"""ITU-R BT.601 weights used to turn RGB into one grey channel."""

_FIELD = "data_config.preprocessing"

ArrayT = TypeVar("ArrayT")


# ------------------------------------------------------------------------ size planning


def _check_options(
    scale: float, max_height: int | None, max_width: int | None, max_stride: int
) -> None:
    if not (isinstance(scale, (int, float)) and math.isfinite(scale) and scale > 0):
        raise ConfigError(
            f"{_FIELD}.scale: got {scale!r}; expected a number > 0. "
            "Use 1.0 to keep the original resolution, 0.5 to halve it."
        )
    for name, value in (("max_height", max_height), ("max_width", max_width)):
        if value is not None and (not isinstance(value, (int, np.integer)) or value < 1):
            raise ConfigError(
                f"{_FIELD}.{name}: got {value!r}; expected a whole number of pixels >= 1 "
                "or null. Leave it null to use the largest frame of the dataset."
            )
    if not isinstance(max_stride, (int, np.integer)) or max_stride < 1:
        raise ConfigError(
            f"model_config.backbone_config max_stride: got {max_stride!r}; expected a whole "
            "number >= 1 (usually a power of two such as 16 or 32)."
        )


def _round_half_up(value: float) -> int:
    return math.floor(value + 0.5)


def round_up_to_stride(size: int, stride: int) -> int:
    """Smallest multiple of ``stride`` that is ``>= size``."""
    return -(-int(size) // int(stride)) * int(stride)


def resize_factor(
    height: int,
    width: int,
    *,
    scale: float = 1.0,
    max_height: int | None = None,
    max_width: int | None = None,
) -> float:
    """Resize factor for one frame: ``scale * min(1, max_height/height, max_width/width)``.

    A missing ``max_height`` / ``max_width`` does not constrain that axis.
    """
    fit = 1.0
    if max_height is not None:
        fit = min(fit, max_height / height)
    if max_width is not None:
        fit = min(fit, max_width / width)
    return float(scale) * fit


def resized_size(height: int, width: int, factor: float) -> tuple[int, int]:
    """``(round(height * factor), round(width * factor))`` with halves rounded up, >= 1."""
    return (
        max(1, _round_half_up(height * factor)),
        max(1, _round_half_up(width * factor)),
    )


def plan_input_size(
    image_sizes: Iterable[tuple[int, int]],
    scale: float = 1.0,
    max_height: int | None = None,
    max_width: int | None = None,
    max_stride: int = 1,
) -> tuple[int, int]:
    """One model input size ``(H, W)`` that every frame of a dataset is padded to.

    Args:
        image_sizes: ``(height, width)`` of every frame (or every distinct size) in
            source pixels. Frames of different sizes may be mixed.
        scale: Resize factor (``data_config.preprocessing.scale``).
        max_height: Canvas height in source pixels; taller frames are shrunk to fit.
            ``None``: the tallest frame.
        max_width: Canvas width in source pixels; wider frames are shrunk to fit.
            ``None``: the widest frame.
        max_stride: The backbone's total downsampling; both sides become multiples.

    Returns:
        ``(H, W)``: the canvas after scaling (``round(max_height * scale)``, or the
        largest resized frame height when ``max_height`` is ``None``; likewise for the
        width), rounded up to a multiple of ``max_stride``.
    """
    _check_options(scale, max_height, max_width, max_stride)
    sizes = [(int(h), int(w)) for h, w in image_sizes]
    if not sizes:
        raise DataError(
            "plan_input_size: no image sizes were given; expected at least one "
            "(height, width). Check that the labels file contains labelled frames."
        )
    if any(h < 1 or w < 1 for h, w in sizes):
        raise DataError(
            f"plan_input_size: got a frame size below 1 pixel in {sorted(set(sizes))}; "
            "expected positive (height, width). Check the videos / images of the dataset."
        )
    out_h = out_w = 1
    for h, w in set(sizes):
        rh, rw = resized_size(
            h, w, resize_factor(h, w, scale=scale, max_height=max_height, max_width=max_width)
        )
        out_h, out_w = max(out_h, rh), max(out_w, rw)
    if max_height is not None:
        out_h = max(out_h, _round_half_up(max_height * scale))
    if max_width is not None:
        out_w = max(out_w, _round_half_up(max_width * scale))
    return round_up_to_stride(out_h, max_stride), round_up_to_stride(out_w, max_stride)


# ------------------------------------------------------------------- coordinate mapping


@dataclass(frozen=True)
class InputTransform:
    """How one frame was turned into a model input, to map points both ways exactly.

    Attributes:
        original_size: ``(height, width)`` of the source frame.
        resized_size: ``(height, width)`` of the frame after resizing (before padding).
        model_size: ``(height, width)`` of the padded model input.
        offset: ``(x, y)`` position of the resized frame's top-left corner inside the
            model input; ``(0, 0)`` because padding goes on the bottom and right.
    """

    original_size: tuple[int, int]
    resized_size: tuple[int, int]
    model_size: tuple[int, int]
    offset: tuple[float, float] = (0.0, 0.0)

    @property
    def scale_x(self) -> float:
        """Actual horizontal size ratio ``resized_width / original_width``."""
        return self.resized_size[1] / self.original_size[1]

    @property
    def scale_y(self) -> float:
        """Actual vertical size ratio ``resized_height / original_height``."""
        return self.resized_size[0] / self.original_size[0]

    def to_model(self, points: ArrayT) -> ArrayT:
        """Frame pixel coordinates ``(..., 2)`` -> model-input coordinates (NaN kept)."""
        sx, sy = self.scale_x, self.scale_y
        ox, oy = self.offset
        return _affine_xy(points, (sx, sy), (0.5 * sx - 0.5 + ox, 0.5 * sy - 0.5 + oy))

    def to_image(self, points: ArrayT) -> ArrayT:
        """Model-input coordinates ``(..., 2)`` -> frame pixel coordinates (NaN kept)."""
        sx, sy = self.scale_x, self.scale_y
        ox, oy = self.offset
        return _affine_xy(
            points, (1.0 / sx, 1.0 / sy), ((0.5 - ox) / sx - 0.5, (0.5 - oy) / sy - 0.5)
        )


def _affine_xy(points: ArrayT, mul: tuple[float, float], add: tuple[float, float]) -> ArrayT:
    """``points * mul + add`` per axis, for numpy arrays or torch tensors, keeping float dtype.

    Tensors are handled through their own methods so this module never imports torch.
    """
    if hasattr(points, "new_tensor"):  # a torch tensor
        dtype = points.dtype if points.is_floating_point() else None
        pts = points if dtype is not None else points.float()
        return pts * pts.new_tensor(mul) + pts.new_tensor(add)
    arr = np.asarray(points)
    dtype = arr.dtype if np.issubdtype(arr.dtype, np.floating) else np.float64
    return arr.astype(dtype, copy=False) * np.asarray(mul, dtype) + np.asarray(add, dtype)


def make_transform(
    height: int,
    width: int,
    *,
    scale: float = 1.0,
    max_height: int | None = None,
    max_width: int | None = None,
    max_stride: int = 1,
    model_size: tuple[int, int] | None = None,
) -> InputTransform:
    """The :class:`InputTransform` for one frame size under the preprocessing options.

    ``model_size`` is the dataset's planned input size (:func:`plan_input_size`); when
    ``None`` it is planned from this frame alone. A frame that would not fit inside
    ``model_size`` is shrunk further until it does (frames are never cropped).
    """
    _check_options(scale, max_height, max_width, max_stride)
    if model_size is None:
        model_size = plan_input_size([(height, width)], scale, max_height, max_width, max_stride)
    mh, mw = int(model_size[0]), int(model_size[1])
    factor = resize_factor(height, width, scale=scale, max_height=max_height, max_width=max_width)
    size = resized_size(height, width, factor)
    if size[0] > mh or size[1] > mw:
        factor = min(factor, mh / height, mw / width)
        size = resized_size(height, width, factor)
        size = (min(size[0], mh), min(size[1], mw))
    return InputTransform((int(height), int(width)), size, (mh, mw))


# ---------------------------------------------------------------------- pixel operations


def _check_channels(channels: int, ensure_rgb: bool, ensure_grayscale: bool) -> None:
    """Raise when the channel options conflict or cannot apply to ``channels``."""
    if ensure_rgb and ensure_grayscale:
        raise ConfigError(
            f"{_FIELD}: ensure_rgb and ensure_grayscale are both true; expected at most one. "
            "Set ensure_rgb for 3-channel models or ensure_grayscale for 1-channel models."
        )
    if (ensure_rgb or ensure_grayscale) and channels not in (1, 3):
        raise DataError(
            f"{_FIELD}: images have {channels} channels; expected 1 (grey) or 3 (RGB) to "
            f"apply ensure_{'rgb' if ensure_rgb else 'grayscale'}. Convert the images "
            "(e.g. drop the alpha channel of RGBA files) before training."
        )


def output_channels(
    channels: int, *, ensure_rgb: bool = False, ensure_grayscale: bool = False
) -> int:
    """Number of channels a ``channels``-channel frame has after the channel rule."""
    _check_channels(channels, ensure_rgb, ensure_grayscale)
    if ensure_rgb:
        return 3
    if ensure_grayscale:
        return 1
    return channels
