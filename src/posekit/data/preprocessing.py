"""Image preprocessing: channels, resizing and padding, with exact coordinate bookkeeping.

Every frame goes through the same three steps before it reaches a model:

1. **Channels**: ``ensure_rgb`` replicates a single channel three times,
   ``ensure_grayscale`` mixes RGB with the ITU-R BT.601 luma weights (0.299, 0.587, 0.114);
   otherwise the channels are kept.
2. **Resize** by one factor per frame, ``scale * min(1, max_height / height,
   max_width / width)`` (see :mod:`posekit.data.geometry`).
3. **Pad** with zeros on the bottom and right to the model input size, a multiple of the
   backbone's ``max_stride``.

The geometry (:mod:`posekit.data.geometry`) and the pixels (:mod:`posekit.data.pixels`) are
torch-free; this module gathers them with :class:`PreprocessingParams`, the config adapter.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from posekit.data.geometry import (
    LUMA_WEIGHTS,
    InputTransform,
    PreprocessingOptions,
    make_transform,
    output_channels,
    plan_input_size,
    resize_factor,
    resized_size,
    round_up_to_stride,
)
from posekit.data.pixels import (
    convert_channels_uint8,
    preprocess_frames,
    preprocess_image,
    resize_uint8,
)

if TYPE_CHECKING:
    from posekit.config.schema import PreprocessingConfig

__all__ = [
    "LUMA_WEIGHTS",
    "InputTransform",
    "PreprocessingOptions",
    "PreprocessingParams",
    "convert_channels_uint8",
    "make_transform",
    "output_channels",
    "plan_input_size",
    "preprocess_frames",
    "preprocess_image",
    "resize_factor",
    "resize_uint8",
    "resized_size",
    "round_up_to_stride",
]


@dataclass(frozen=True)
class PreprocessingParams(PreprocessingOptions):
    """The preprocessing options in one record, with :func:`preprocess_*` shortcuts.

    ``max_stride`` comes from the backbone (its deepest stride). The fields and their
    check (the ``data_config.preprocessing`` rules; every problem listed in one
    :class:`~posekit.config.problems.InvalidConfigError`) are those of
    :class:`~posekit.data.geometry.PreprocessingOptions`.
    """

    @classmethod
    def from_config(cls, config: PreprocessingConfig, max_stride: int = 1) -> PreprocessingParams:
        """Build from ``data_config.preprocessing`` and the backbone's ``max_stride``."""
        return cls(
            ensure_rgb=bool(config.ensure_rgb),
            ensure_grayscale=bool(config.ensure_grayscale),
            scale=float(config.scale),
            max_height=config.max_height,
            max_width=config.max_width,
            max_stride=int(max_stride),
        )

    def options(self) -> dict[str, object]:
        """The options as keyword arguments of the preprocessing functions."""
        return {
            "ensure_rgb": self.ensure_rgb,
            "ensure_grayscale": self.ensure_grayscale,
            "scale": self.scale,
            "max_height": self.max_height,
            "max_width": self.max_width,
            "max_stride": self.max_stride,
        }

    def plan_input_size(self, image_sizes: Iterable[tuple[int, int]]) -> tuple[int, int]:
        """:func:`plan_input_size` with these options."""
        return plan_input_size(
            image_sizes, self.scale, self.max_height, self.max_width, self.max_stride
        )

    def transform(self, height: int, width: int,
                  model_size: tuple[int, int] | None = None) -> InputTransform:
        """:func:`make_transform` for one frame size with these options."""
        return make_transform(height, width, model_size=model_size, **self.options())  # type: ignore[arg-type]

    def preprocess_image(
        self, image: np.ndarray, model_size: tuple[int, int] | None = None
    ) -> tuple[np.ndarray, InputTransform]:
        """:func:`preprocess_image` with these options."""
        return preprocess_image(image, model_size=model_size, **self.options())  # type: ignore[arg-type]

    def preprocess_frames(
        self, frames: np.ndarray, model_size: tuple[int, int] | None = None
    ) -> tuple[np.ndarray, InputTransform]:
        """:func:`preprocess_frames` with these options."""
        return preprocess_frames(frames, model_size=model_size, **self.options())  # type: ignore[arg-type]
