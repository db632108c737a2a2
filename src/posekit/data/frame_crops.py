"""Training full-frame models (single instance, bottom-up) on crops of their frames.

A fully convolutional network trained on ``size`` x ``size`` windows predicts whole frames
unchanged, and each training sample then costs the window's pixels instead of the frame's:
on 1024 px frames with 140 px flies a 224 px window is a tenth of the work. Most windows
are placed on a labelled animal (its anchor moved by up to ``jitter`` of the window), the
rest (``random_share``) anywhere in the frame so that the model also sees background alone
and learns not to fire there (DeepLabCut 3's "hybrid" crops follow the same idea).

Settings come from the ``training_crops`` section of the posekit-only sidecar
``CONFIG.posekit.yaml`` (written by ``posekit config auto`` where it pays); validation and
inference always read whole frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from posekit.config.rules import RuleTable, check_settings, number
from posekit.data.cropping import cut_crops
from posekit.data.datasets import FrameDataset, PoseSample
from posekit.data.image_store import ImageStore
from posekit.keypoints import anchor_points

SECTION = "training_crops"

RULES: RuleTable = {
    SECTION: (
        number("size", 0),
        number("random_share", 0, 1),
        number("jitter", 0, 0.5),
    )
}


@dataclass(frozen=True)
class TrainingCrops:
    """How full-frame models are trained on windows of their frames.

    Attributes:
        size: Window side in model pixels (a multiple of the backbone's max stride);
            0 trains on whole frames.
        random_share: Share of windows placed anywhere in the frame (background included).
        jitter: A window on an animal is moved by up to this share of its side.
    """

    size: int = 0
    random_share: float = 0.2
    jitter: float = 0.25

    def __post_init__(self) -> None:
        check_settings(self, SECTION, RULES)


def window_corner(image_hw: tuple[int, int], size: int, anchors: np.ndarray,
                  draws: np.ndarray, random_share: float, jitter: float) -> np.ndarray:
    """Top-left corner ``(x, y)`` of one window (pure: ``draws`` are 4 uniform numbers).

    ``draws[0] < random_share`` (or no finite anchor) places the window uniformly in the
    frame; otherwise on anchor ``floor(draws[1] * n)`` moved by ``(draws[2:] - 0.5) * 2 *
    jitter * size``. A window stays inside the frame where the frame is larger than it.
    """
    h, w = image_hw
    usable = anchors[np.isfinite(anchors).all(axis=1)]
    if draws[0] < random_share or len(usable) == 0:
        corner = np.array([draws[2] * max(0, w - size), draws[3] * max(0, h - size)])
        return np.floor(corner)
    anchor = usable[min(int(draws[1] * len(usable)), len(usable) - 1)]
    centre = anchor + (draws[2:] - 0.5) * 2.0 * jitter * size
    corner = np.floor(centre - size / 2.0)
    return np.clip(corner, 0, [max(0, w - size), max(0, h - size)])


def points_in_window(points: np.ndarray, corner: np.ndarray, size: int) -> np.ndarray:
    """``points`` in window pixels; points outside the window become ``NaN``."""
    moved = points - corner
    outside = ((moved < -0.5) | (moved > size - 0.5)).any(axis=-1)
    moved[outside] = np.nan
    return moved


class FrameCropDataset(FrameDataset):
    """:class:`FrameDataset` whose samples are ``crops.size`` windows of the frames.

    Randomness comes from torch's generator, which the data loader seeds per worker.
    """

    def __init__(self, store: ImageStore, crops: TrainingCrops, class_names: tuple[str, ...] = (),
                 max_instances: int | None = None, anchor_index: int | None = None) -> None:
        super().__init__(store, class_names, max_instances)
        self.crops = crops
        self.anchor_index = anchor_index

    def __getitem__(self, i: int) -> PoseSample:
        image, points, classes = self.frame_arrays(i)  # only the window is copied
        size = int(self.crops.size)
        draws = torch.rand(4, dtype=torch.float64).numpy()
        corner = window_corner(image.shape[:2], size, anchor_points(points, self.anchor_index),
                               draws, self.crops.random_share, self.crops.jitter)
        window = cut_crops(image[None], np.zeros(1, np.int64), corner[None], size)[0]
        moved = points_in_window(points.astype(np.float64), corner, size).astype(np.float32)
        return PoseSample(torch.from_numpy(np.ascontiguousarray(window.transpose(2, 0, 1))),
                          torch.from_numpy(moved), torch.from_numpy(classes), torch.tensor(i))


def usable_window(crops: TrainingCrops | None, model_hw: tuple[int, int],
                  max_stride: int) -> int | None:
    """The window side to train on, or ``None`` for whole frames (no settings, size 0, or
    a window that would hold the whole frame anyway).

    Raises:
        ConfigError: a size that is not a multiple of ``max_stride``.
    """
    from posekit.errors import ConfigError

    if crops is None or not crops.size:
        return None
    size = int(crops.size)
    if size % max_stride:
        raise ConfigError(
            f"{SECTION}.size: got {size}; expected a multiple of the backbone's max_stride "
            f"{max_stride} (e.g. {max(max_stride, size // max_stride * max_stride)}).")
    if size >= max(model_hw):
        return None
    return size
