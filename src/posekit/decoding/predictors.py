"""Predictors: frames in, instances out, one class per way of assembling instances.

They hold one or two :class:`~posekit.inference.backends.Backend` runtimes (torch or ONNX
Runtime) and do the sparse work in numpy: coordinate mapping back to the full frame,
top-down cropping, PAF grouping and identity assignment. Nothing here imports torch.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from posekit.data.geometry import InputTransform
from posekit.data.info import DataInfo
from posekit.data.preprocessing import PreprocessingParams

if TYPE_CHECKING:
    from posekit.decoding.skeleton_consistency import BoneLengthPrior

#: Preprocessed model input ``float32 (B, C, H, W)`` and its coordinate transform.
PreparedFrames = tuple[np.ndarray, InputTransform]


class Backend(Protocol):
    """A runtime of a model's exported graph (torch or ONNX Runtime), as predictors see it."""

    name: str
    output_names: tuple[str, ...]

    def run(self, images: np.ndarray, threshold: float) -> dict[str, np.ndarray]:
        """Run the graph on a batch of preprocessed images ``float32 (B, C, H, W)``."""


class ModelRun(Protocol):
    """What predictors read from a trained model's run folder."""

    path: Path
    info: DataInfo
    prep: PreprocessingParams


@dataclass
class FramePredictions:
    """The instances predicted in one frame.

    Attributes:
        frame_idx: Index of the frame in its video.
        points: ``float32 (n, K, 2)`` in full-frame pixels, ``NaN`` where not found.
        point_scores: ``float32 (n, K)`` peak values.
        instance_scores: ``float32 (n,)``.
        classes: ``int64 (n,)`` identity class per instance (``-1``: none), or ``None`` for
            models without identities.
        class_scores: ``float32 (n,)`` confidence of each instance's identity (the class
            probability or class-map value it was assigned with), or ``None``.
    """

    frame_idx: int
    points: np.ndarray
    point_scores: np.ndarray
    instance_scores: np.ndarray
    classes: np.ndarray | None = None
    class_scores: np.ndarray | None = None

    @classmethod
    def empty(cls, frame_idx: int, n_nodes: int, with_classes: bool) -> FramePredictions:
        """A frame without instances."""
        return cls(frame_idx, np.zeros((0, n_nodes, 2), np.float32),
                   np.zeros((0, n_nodes), np.float32), np.zeros(0, np.float32),
                   np.zeros(0, np.int64) if with_classes else None,
                   np.zeros(0, np.float32) if with_classes else None)


def mean_point_score(scores: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Mean score of the found points of each instance (0 when none was found)."""
    found = np.isfinite(points).all(axis=-1)
    total = np.where(found, scores, 0.0).sum(axis=-1)
    count = found.sum(axis=-1)
    return np.where(count > 0, total / np.maximum(count, 1), 0.0).astype(np.float32)


class Predictor(ABC):
    """Frames (``uint8 (B, H, W, C)``, one size per batch) -> :class:`FramePredictions`."""

    #: Whether predictions carry identity classes.
    has_classes: bool = False

    def __init__(self, info: DataInfo, peak_threshold: float = 0.2,
                 max_instances: int | None = None) -> None:
        self.info = info
        self.peak_threshold = float(peak_threshold)
        self.max_instances = max_instances

    @property
    def node_names(self) -> tuple[str, ...]:
        """Node names of the predicted points."""
        return self.info.node_names

    @property
    def class_names(self) -> tuple[str, ...]:
        """Identity classes (empty for models without identities)."""
        return self.info.class_names if self.has_classes else ()

    @abstractmethod
    def predict_frames(self, frames: np.ndarray, frame_indices: np.ndarray, *,
                       prepared: PreparedFrames | None = None) -> list[FramePredictions]:
        """Predict a batch of same-size frames (``prepared``: :meth:`prepare` of them)."""

    def prepare(self, frames: np.ndarray) -> PreparedFrames | None:
        """The model-free part of predicting ``frames`` (resize, pad, scale to [0, 1]).

        Streaming inference calls it on the decoding thread and hands the result to
        :meth:`predict_frames`, so this work overlaps the previous batch's model run instead
        of delaying the next one. ``None`` when the predictor has nothing to prepare.
        """
        return None

    def _limit(self, order_scores: np.ndarray) -> np.ndarray:
        """Indices of the instances to keep (best first), honouring ``max_instances``."""
        order = np.argsort(-order_scores, kind="stable")
        if self.max_instances is not None:
            order = order[: self.max_instances]
        return order


class OneModelPredictor(Predictor):
    """A predictor that runs one model on whole frames (preprocessed by its run's settings)."""

    def __init__(self, run: ModelRun, backend: Backend, peak_threshold: float = 0.2,
                 max_instances: int | None = None) -> None:
        super().__init__(run.info, peak_threshold, max_instances)
        self.run = run
        self.backend = backend

    def prepare(self, frames: np.ndarray) -> PreparedFrames:
        return self.run.prep.preprocess_frames(frames)


def decode_single_animal(out: dict[str, np.ndarray], to_image: Callable[[np.ndarray], np.ndarray],
                         prior: BoneLengthPrior | None) -> tuple[np.ndarray, np.ndarray]:
    """Points ``(B, N, 2)`` (mapped by ``to_image``) and scores ``(B, N)`` of one animal per
    image from a single-animal graph's outputs: its peak candidates chosen with the bone
    lengths in ``prior`` when there are both, else each node's highest peak."""
    if prior is None or not prior.edges or "candidate_points" not in out:
        return to_image(out["points"].astype(np.float64)), out["scores"].astype(np.float64)
    from posekit.decoding.skeleton_consistency import skeleton_consistent_points

    candidates = to_image(out["candidate_points"].astype(np.float64))
    return skeleton_consistent_points(candidates, out["candidate_scores"], prior)


class SingleInstancePredictor(OneModelPredictor):
    """One animal per frame: the global peak of every node's map, or, with
    ``skeleton_check`` and a run that knows its bone lengths, the peaks the skeleton agrees
    with (:mod:`posekit.decoding.skeleton_consistency`)."""

    def __init__(self, run: ModelRun, backend: Backend, peak_threshold: float = 0.2,
                 skeleton_check: bool = True) -> None:
        super().__init__(run, backend, peak_threshold, 1)
        self.bone_lengths = getattr(run, "bone_lengths", None) if skeleton_check else None

    def _decode(self, out: dict[str, np.ndarray], transform: InputTransform
                ) -> tuple[np.ndarray, np.ndarray]:
        """Frame-pixel points ``(B, N, 2)`` and scores ``(B, N)`` of one batch."""
        return decode_single_animal(out, transform.to_image, self.bone_lengths)

    def predict_frames(self, frames: np.ndarray, frame_indices: np.ndarray, *,
                       prepared: PreparedFrames | None = None) -> list[FramePredictions]:
        images, transform = prepared or self.prepare(frames)
        points, scores = self._decode(self.backend.run(images, self.peak_threshold), transform)
        points, scores = points.astype(np.float32), scores.astype(np.float32)
        results = []
        for b, frame_idx in enumerate(frame_indices):
            pts, sc = points[b:b + 1], scores[b:b + 1]
            if not np.isfinite(pts).any():
                results.append(FramePredictions.empty(int(frame_idx), self.info.n_nodes, False))
                continue
            results.append(FramePredictions(int(frame_idx), pts, sc, mean_point_score(sc, pts)))
        return results
