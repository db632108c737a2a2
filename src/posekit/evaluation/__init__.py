"""Evaluation: OKS matching and the field's metrics (mAP, pixel errors, PCK, identity).

Entry points:

* :func:`evaluate` — ground-truth ``sio.Labels`` vs predictions ``sio.Labels``;
* :func:`evaluate_arrays` — the same from per-frame point arrays (no files);
* :func:`save_metrics` — atomic JSON output.

The building blocks (:mod:`~posekit.evaluation.oks`, :mod:`~posekit.evaluation.matching`,
:mod:`~posekit.evaluation.coco_map`, :mod:`~posekit.evaluation.distances`,
:mod:`~posekit.evaluation.visibility`, :mod:`~posekit.evaluation.identity`) are pure
functions on arrays. Every metric is explained in docs/metrics.md.
"""

from posekit.evaluation.coco_map import CocoKeypointResult, FrameDetections, coco_keypoint_map
from posekit.evaluation.identity import TrackedFrame, identity_metrics
from posekit.evaluation.labels import evaluate, pair_videos
from posekit.evaluation.matching import match_instances
from posekit.evaluation.metrics import evaluate_arrays
from posekit.evaluation.oks import DEFAULT_OKS_SIGMA, instance_areas, oks_matrix, resolve_sigmas
from posekit.evaluation.report import load_metrics, save_metrics, to_json_safe

__all__ = [
    "DEFAULT_OKS_SIGMA",
    "CocoKeypointResult",
    "FrameDetections",
    "TrackedFrame",
    "coco_keypoint_map",
    "evaluate",
    "evaluate_arrays",
    "identity_metrics",
    "instance_areas",
    "load_metrics",
    "match_instances",
    "oks_matrix",
    "pair_videos",
    "resolve_sigmas",
    "save_metrics",
    "to_json_safe",
]
