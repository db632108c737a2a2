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

from posekit.config.rules import RuleTable, check_settings, number
from posekit.config.validation import RULES as CONFIG_RULES
from posekit.errors import DataError

LUMA_WEIGHTS: tuple[float, float, float] = (0.299, 0.587, 0.114)
"""ITU-R BT.601 weights used to turn RGB into one grey channel."""

PREPROCESSING = "data_config.preprocessing"
"""YAML path of the preprocessing options."""

ArrayT = TypeVar("ArrayT")


# --------------------------------------------------------------------------- options

RULES: RuleTable = {
    PREPROCESSING: (
        *CONFIG_RULES[PREPROCESSING],
        number(
            "max_stride",
            1,
            hint="It is the backbone's deepest stride (model_config.backbone_config), "
            "usually a power of two such as 16 or 32.",
        ),
    )
}
"""The value rules of :class:`PreprocessingOptions`: those of the configuration's
``data_config.preprocessing`` section (the one place for their bounds; rules of fields the
options lack, such as ``crop_size``, do not apply) and ``max_stride``."""


@dataclass(frozen=True)
class PreprocessingOptions:
    """The preprocessing options, checked when built (types from the annotations, values
    by :data:`RULES`; problems name ``data_config.preprocessing.<field>``).

    The functions below check the options they are given by building one;
    :class:`posekit.data.preprocessing.PreprocessingParams` adds the preprocessing methods.
    ``max_stride`` comes from the backbone (its deepest stride).
    """

    ensure_rgb: bool = False
    ensure_grayscale: bool = False
    scale: float = 1.0
    max_height: int | None = None
    max_width: int | None = None
    max_stride: int = 1

    def __post_init__(self) -> None:
        check_settings(self, PREPROCESSING, RULES)


# ------------------------------------------------------------------------ size planning


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
    PreprocessingOptions(scale=scale, max_height=max_height, max_width=max_width,
                         max_stride=max_stride)  # checks them
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
    PreprocessingOptions(scale=scale, max_height=max_height, max_width=max_width,
                         max_stride=max_stride)  # checks them
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
    """Raise when the channel options break their rules (:class:`PreprocessingOptions`)
    or cannot apply to images with ``channels`` channels (:class:`DataError`)."""
    PreprocessingOptions(ensure_rgb=ensure_rgb, ensure_grayscale=ensure_grayscale)
    if (ensure_rgb or ensure_grayscale) and channels not in (1, 3):
        raise DataError(
            f"{PREPROCESSING}: images have {channels} channels; expected 1 (grey) or 3 (RGB) to "
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
