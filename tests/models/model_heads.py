"""Build test networks through the model types, from output channel counts."""

from __future__ import annotations

from typing import Any

from posekit.data.info import DataInfo
from posekit.model_types.base import HeadSpec
from posekit.model_types.registry import model_type_of
from posekit.models import PoseModel, build_model


def heads_of(model_config: Any, channels: dict[str, int]) -> tuple[HeadSpec, ...]:
    """The model type's heads for data with ``confmaps`` nodes, ``pafs / 2`` edges and
    ``class_maps`` / ``class_vectors`` classes (what the data would resolve)."""
    nodes = channels.get("confmaps", 1)
    edges = channels.get("pafs", 0) // 2
    classes = channels.get("class_maps", channels.get("class_vectors", 0))
    info = DataInfo(node_names=tuple(f"n{i}" for i in range(nodes)),
                    edges=tuple((0, min(1, nodes - 1)) for _ in range(edges)),
                    class_names=tuple(f"c{i}" for i in range(classes)))
    return model_type_of(model_config, info).heads


def build(model_config: Any, channels: dict[str, int], **kwargs: Any) -> PoseModel:
    """:func:`build_model` with the heads of :func:`heads_of`."""
    return build_model(model_config, heads_of(model_config, channels), **kwargs)
