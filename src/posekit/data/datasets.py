"""Torch datasets: one sample per labelled frame, or one per instance (top-down models).

Samples carry ``uint8`` images and keypoint arrays only; augmentation and target maps are
computed per batch on the training device (see ``docs/design.md``). Every sample is a
:class:`PoseSample`; the data loader's default collation stacks samples into a
:class:`PoseSample` of batched tensors, which is what the training module receives.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import torch
from torch.utils.data import Dataset

from posekit.data.cropping import crop_offsets, cut_crops
from posekit.data.image_store import ImageStore
from posekit.keypoints import anchor_points


class PoseSample(NamedTuple):
    """One training sample (or, collated, a batch with a leading batch axis).

    Attributes:
        image: ``uint8 (C, H, W)`` at the model input size (for instance samples, a square
            crop centred on the instance's anchor, wider than the final crop by an
            augmentation margin).
        points: ``float32 (N, K, 2)`` keypoints in the image's pixels, ``NaN`` where missing
            (frames pad to the dataset's largest instance count with all-``NaN`` rows;
            instance samples have ``N == 1``).
        classes: ``int64 (N,)`` identity class per instance, ``-1`` when unknown / padding.
        index: the sample's index in its dataset.
    """

    image: torch.Tensor
    points: torch.Tensor
    classes: torch.Tensor
    index: torch.Tensor

    def to(self, device: torch.device | str) -> PoseSample:
        """The same sample with every tensor on ``device``."""
        return PoseSample(*(t.to(device) for t in self))


def class_lookup(track_names: tuple[str, ...], class_names: tuple[str, ...]) -> np.ndarray:
    """Map track indices of a table to class indices (``-1`` for tracks that are no class)."""
    index = {name: i for i, name in enumerate(class_names)}
    return np.asarray([index.get(name, -1) for name in track_names] + [-1], dtype=np.int64)


class FrameDataset(Dataset):
    """One sample per labelled frame (single instance, centroid and bottom-up models)."""

    def __init__(self, store: ImageStore, class_names: tuple[str, ...] = (),
                 max_instances: int | None = None) -> None:
        self.store = store
        self.table = store.table
        self.max_instances = int(max_instances or max(1, self.table.max_instances))
        self._track_to_class = class_lookup(self.table.track_names, class_names)

    def __len__(self) -> int:
        return len(self.table)

    def sample_frames(self) -> np.ndarray:
        """Row of the frame table each sample comes from (here, the sample index)."""
        return np.arange(len(self), dtype=np.int64)

    def frame_arrays(self, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Frame ``i`` as arrays: ``uint8 (H, W, C)`` image (the store's, not copied),
        ``float32 (N, K, 2)`` model-pixel points and ``int64 (N,)`` classes."""
        record = self.table[i]
        transform = self.store.transform(i)
        n = min(len(record.points), self.max_instances)
        points = np.full((self.max_instances, self.table.n_nodes, 2), np.nan, np.float32)
        points[:n] = transform.to_model(record.points[:n])
        classes = np.full(self.max_instances, -1, np.int64)
        classes[:n] = self._track_to_class[record.track_idx[:n]]
        return self.store.image(i), points, classes

    def __getitem__(self, i: int) -> PoseSample:
        image, points, classes = self.frame_arrays(i)
        return PoseSample(torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))),
                          torch.from_numpy(points), torch.from_numpy(classes), torch.tensor(i))


def augmentation_margin(crop_size: int, rotation: bool, scale_min: float) -> int:
    """Side of the window cut around an instance so rotations/scalings keep the crop full.

    A square of side ``s`` rotated by any angle fits in a window of side ``s * sqrt(2)``;
    zooming out by ``scale_min < 1`` needs ``s / scale_min``. The result keeps the parity
    of ``crop_size`` so that the centred final crop is a whole-pixel slice.
    """
    side = float(crop_size)
    if rotation:
        side *= math.sqrt(2.0)
    if scale_min < 1.0:
        side /= max(scale_min, 1e-3)
    window = math.ceil(side)
    if (window - crop_size) % 2:
        window += 1
    return max(window, crop_size)


class InstanceDataset(Dataset):
    """One sample per instance, cropped around its anchor (centered-instance models).

    Args:
        store: Preprocessed frames.
        crop_size: Final crop side (model input of the instance model).
        window: Side of the window actually cut (``>= crop_size``, same parity), leaving an
            augmentation margin; the training step cuts the centred ``crop_size`` square after
            augmentation (:func:`center_crop`).
        anchor_index: Anchor node, or ``None`` for bounding-box midpoints.
        class_names: Identity classes (multi-class top-down).
    """

    def __init__(self, store: ImageStore, crop_size: int, window: int | None = None,
                 anchor_index: int | None = None, class_names: tuple[str, ...] = ()) -> None:
        self.store = store
        self.table = store.table
        self.crop_size = int(crop_size)
        self.window = int(window or crop_size)
        if self.window < self.crop_size or (self.window - self.crop_size) % 2:
            raise ValueError("window must be >= crop_size with the same parity")
        self._track_to_class = class_lookup(self.table.track_names, class_names)
        points = self.table.inst_points
        anchors = anchor_points(points, anchor_index)
        usable = np.isfinite(anchors).all(axis=1)
        rows = np.nonzero(usable)[0]
        frame_of_row = np.searchsorted(self.table.frame_offsets, np.arange(len(points)),
                                       side="right") - 1
        self.rows = rows
        self.frames = frame_of_row[rows]
        self.anchors = anchors[rows]

    def __len__(self) -> int:
        return len(self.rows)

    def sample_frames(self) -> np.ndarray:
        """Row of the frame table each sample (instance) comes from."""
        return np.asarray(self.frames, dtype=np.int64)

    def __getitem__(self, i: int) -> PoseSample:
        frame = int(self.frames[i])
        row = int(self.rows[i])
        transform = self.store.transform(frame)
        image = self.store.image(frame)
        anchor = transform.to_model(self.anchors[i][None].astype(np.float64))[0]
        offset = crop_offsets(anchor[None], self.window)[0]
        crop = cut_crops(image[None], np.zeros(1, np.int64), offset[None], self.window)[0]
        points = transform.to_model(self.table.inst_points[row].astype(np.float64)) - offset
        return PoseSample(torch.from_numpy(np.ascontiguousarray(crop.transpose(2, 0, 1))),
                          torch.from_numpy(points[None].astype(np.float32)),
                          torch.tensor([self._track_to_class[self.table.inst_track[row]]]),
                          torch.tensor(i))


def center_crop(images: torch.Tensor, points: torch.Tensor, crop_size: int
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """Cut the centred ``crop_size`` square out of instance windows; shift points to match.

    Points that fall outside the final crop become ``NaN``.
    """
    window = images.shape[-1]
    d = (window - crop_size) // 2
    if d == 0:
        return images, points
    images = images[..., d:d + crop_size, d:d + crop_size]
    points = points - d
    outside = ((points < -0.5) | (points > crop_size - 0.5)).any(dim=-1, keepdim=True)
    points = torch.where(outside, torch.full_like(points, float("nan")), points)
    return images, points
