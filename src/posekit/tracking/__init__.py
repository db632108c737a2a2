"""Frame-to-frame identity tracking for models without identity heads.

Arrays in, arrays out: poses are ``(n, K, 2)`` float arrays per frame (NaN = missing
node) and identities are ``(n,)`` int64 track ids (``-1`` = untracked). Nothing here
needs sleap-io objects or Lightning; see docs/tracking.md.

* :class:`TrackingConfig`: all parameters, validated (``from_dict`` / ``to_dict``).
* :class:`Tracker`: online assignment, frame by frame (``update``) or a whole video
  (``track_video``).
* :func:`cleanup_tracks`: post-pass removing short tracks, merging fragments and filling
  short gaps (:class:`InterpolatedInstances`).
"""

from posekit.tracking.cleanup import InterpolatedInstances, cleanup_tracks
from posekit.tracking.config import TrackingConfig
from posekit.tracking.similarity import (
    centroid_similarity,
    iou_similarity,
    oks_similarity,
    pairwise_similarity,
)
from posekit.tracking.tracker import Tracker

__all__ = [
    "InterpolatedInstances",
    "Tracker",
    "TrackingConfig",
    "centroid_similarity",
    "cleanup_tracks",
    "iou_similarity",
    "oks_similarity",
    "pairwise_similarity",
]
