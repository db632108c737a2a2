"""posekit: markerless animal pose estimation.

Label -> train -> predict/track -> evaluate -> refine the training set -> train again.
The public entry points most users need are re-exported here lazily so that
``import posekit`` stays fast (torch is only imported when a model is used).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "load_config": ("posekit.config", "load_config"),
    "save_config": ("posekit.config", "save_config"),
    "load_labels": ("posekit.io", "load_labels"),
    "load_model": ("posekit.inference", "load_model"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attr = _LAZY[name]
        return getattr(import_module(module), attr)
    raise AttributeError(f"module 'posekit' has no attribute {name!r}")


__all__ = ["__version__", *_LAZY]  # noqa: PLE0604 - the lazy names are strings
