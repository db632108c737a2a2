"""Evaluation: OKS matching and the field's metrics (mAP, pixel errors, PCK, identity).

Entry points:

* :func:`evaluate` — ground-truth ``sio.Labels`` vs predictions ``sio.Labels``;
* :func:`evaluate_arrays` — the same from per-frame point arrays (no files);
* :class:`EvaluationSettings` — what to compute (sigmas, PCK thresholds, matching...);
* :class:`EvaluationResult` — the typed metrics both return;
* :func:`save_metrics` / :func:`load_metrics` — its JSON file (atomic write; the reader
  returns the typed result; schema :data:`SCHEMA_VERSION`, docs/metrics.md).

The building blocks (:mod:`~posekit.evaluation.oks`, :mod:`~posekit.evaluation.matching`,
:mod:`~posekit.evaluation.coco_map`, :mod:`~posekit.evaluation.distances`,
:mod:`~posekit.evaluation.visibility`, :mod:`~posekit.evaluation.identity`) are pure
functions on arrays. Every metric is explained in docs/metrics.md.

The names above are loaded on first use, so that importing one building block (the
tracker uses :func:`~posekit.evaluation.oks.oks_matrix`) does not load sleap-io or SciPy.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__all__ = [
    "DEFAULT_OKS_SIGMA",
    "SCHEMA_VERSION",
    "CocoKeypointResult",
    "Counts",
    "ErrorStats",
    "EvaluationResult",
    "EvaluationSettings",
    "FrameDetections",
    "IdentityResult",
    "InferenceInfo",
    "MotCounts",
    "NodeMetrics",
    "OksResult",
    "Pairing",
    "PckResult",
    "Provenance",
    "SettingsRecord",
    "TrackIdentity",
    "TrackedFrame",
    "TrainingInfo",
    "VideoPairing",
    "VisibilityResult",
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
]

_SUBMODULES = ("oks", "records", "results", "settings", "coco_map", "matching", "identity",
               "metrics", "labels", "report")


def __getattr__(name: str) -> Any:
    if name in __all__:
        for module in _SUBMODULES:
            namespace = vars(import_module(f"posekit.evaluation.{module}"))
            if name in namespace:
                return namespace[name]
    raise AttributeError(f"module 'posekit.evaluation' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


if TYPE_CHECKING:
    from posekit.evaluation.coco_map import (
        CocoKeypointResult,
        FrameDetections,
        coco_keypoint_map,
    )
    from posekit.evaluation.identity import TrackedFrame, identity_metrics
    from posekit.evaluation.labels import evaluate, pair_videos
    from posekit.evaluation.matching import match_instances
    from posekit.evaluation.metrics import evaluate_arrays
    from posekit.evaluation.oks import (
        DEFAULT_OKS_SIGMA,
        instance_areas,
        oks_matrix,
        resolve_sigmas,
    )
    from posekit.evaluation.records import (
        Counts,
        ErrorStats,
        IdentityResult,
        InferenceInfo,
        MotCounts,
        NodeMetrics,
        OksResult,
        Pairing,
        PckResult,
        Provenance,
        SettingsRecord,
        TrackIdentity,
        TrainingInfo,
        VideoPairing,
        VisibilityResult,
    )
    from posekit.evaluation.report import load_metrics, save_metrics
    from posekit.evaluation.results import SCHEMA_VERSION, EvaluationResult
    from posekit.evaluation.settings import EvaluationSettings
