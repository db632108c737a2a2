"""Inference: peak finding, grouping, predictors and the streaming pipeline.

``load_model`` is imported lazily so that ``import posekit.inference.<module>`` never pulls in
more than that module needs (the ONNX Runtime path must not import torch).
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name in ("load_model", "predict_source", "PosePredictor"):
        from posekit.inference import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module 'posekit.inference' has no attribute {name!r}")


__all__ = ["PosePredictor", "load_model", "predict_source"]
