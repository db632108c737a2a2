"""What bottom-up groupers take and give: one frame's peaks in, its instances out.

The inference graph returns the peaks of a whole batch; :func:`peaks_per_sample` splits them
into frames, a :class:`Grouper` (PAF or class-map grouping, chosen by the model type)
turns each frame's peaks into a :class:`GroupedFrame`.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol

import numpy as np
from numpy.typing import ArrayLike

from posekit.errors import DataError


class FramePeaks(NamedTuple):
    """One frame's peaks: ``points (P, 2)`` model-input pixels, ``nodes (P,)``, ``scores (P,)``."""

    points: np.ndarray
    nodes: np.ndarray
    scores: np.ndarray


class GroupedFrame(NamedTuple):
    """One frame's instances in model-input pixels, as a grouper returns them.

    ``instances (n, K, 2)``, ``point_scores (n, K)``, ``instance_scores (n,)``, and for
    identity models ``classes (n,)`` with ``class_scores (n,)`` (else ``None``).
    """

    instances: np.ndarray
    point_scores: np.ndarray
    instance_scores: np.ndarray
    classes: np.ndarray | None = None
    class_scores: np.ndarray | None = None


class Grouper(Protocol):
    """Groups one frame's peaks into instances, reading one extra graph output."""

    #: Name of the graph output the grouper reads (``"pafs"``, ``"class_maps"``).
    output: str
    #: Whether the instances carry identity classes.
    has_classes: bool

    def __call__(self, peaks: FramePeaks, frame_output: np.ndarray) -> GroupedFrame:
        """Instances of one frame from its peaks and its slice of :attr:`output`."""


def peaks_per_sample(sample_idx: ArrayLike, channel_idx: ArrayLike, points: ArrayLike,
                     scores: ArrayLike, n_samples: int) -> list[FramePeaks]:
    """Split a batch's peaks (as the inference graph returns them) into frames.

    Each frame keeps its peaks in their original order; peaks whose sample index is outside
    ``0..n_samples - 1`` belong to no frame.
    """
    sample_idx = np.asarray(sample_idx).astype(np.int64).reshape(-1)
    channel_idx = np.asarray(channel_idx).astype(np.int64).reshape(-1)
    points = np.asarray(points).reshape(-1, 2)
    scores = np.asarray(scores).reshape(-1)
    if len({len(sample_idx), len(channel_idx), len(points), len(scores)}) != 1:
        raise DataError(
            f"peaks: got {len(sample_idx)} sample indices, {len(channel_idx)} channel indices, "
            f"{len(points)} points and {len(scores)} scores; expected the same number of each. "
            "Pass the peak outputs of the inference graph unchanged."
        )
    order = np.argsort(sample_idx, kind="stable")
    bounds = np.searchsorted(sample_idx[order], np.arange(n_samples + 1), side="left")
    return [FramePeaks(points[sel], channel_idx[sel], scores[sel])
            for sel in (order[bounds[b]:bounds[b + 1]] for b in range(n_samples))]
