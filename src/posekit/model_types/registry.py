"""The registry of model types: the one place a model-type name is looked up."""

from __future__ import annotations

from typing import Any

from posekit.data.info import DataInfo
from posekit.errors import ConfigError
from posekit.model_types.base import ModelType
from posekit.model_types.bottomup import BottomUp
from posekit.model_types.centered_instance import CenteredInstance
from posekit.model_types.centroid import Centroid
from posekit.model_types.multi_class_bottomup import MultiClassBottomUp
from posekit.model_types.multi_class_topdown import MultiClassTopDown
from posekit.model_types.single_instance import SingleInstance

#: Every model type by its head name in ``model_config.head_configs``.
MODEL_TYPES: dict[str, type[ModelType]] = {
    cls.name: cls
    for cls in (SingleInstance, Centroid, CenteredInstance, BottomUp, MultiClassBottomUp,
                MultiClassTopDown)
}


def model_type_class(name: str) -> type[ModelType]:
    """The model type called ``name``.

    Raises:
        ConfigError: no such model type is registered.
    """
    try:
        return MODEL_TYPES[name]
    except KeyError:
        raise ConfigError(
            f"model_config.head_configs.{name}: unknown model type; expected one of "
            f"{', '.join(MODEL_TYPES)}."
        ) from None


def model_type_of(model_config: Any, info: DataInfo) -> ModelType:
    """``model_config``'s model type, bound to its head configuration and ``info``."""
    return model_type_class(model_config.head_type)(model_config.active_head, info)
