"""Fixtures for the model tests: small ModelConfig objects for every model type."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from posekit.config import (
    BackboneConfig,
    BottomUpConfig,
    BottomUpConfMapsConfig,
    CenteredInstanceConfig,
    CenteredInstanceConfMapsConfig,
    CentroidConfig,
    CentroidConfMapsConfig,
    ClassMapConfig,
    ClassVectorsConfig,
    ConvNextConfig,
    EfficientNetLite0Config,
    HeadConfigs,
    ModelConfig,
    MultiClassBottomUpConfig,
    MultiClassTopDownConfig,
    PAFConfig,
    SingleInstanceConfig,
    SingleInstanceConfMapsConfig,
    SwinTConfig,
    UNetConfig,
)


def make_heads(head_type: str, stride: int = 2, paf_stride: int = 4, **class_vectors: Any):
    """HeadConfigs with ``head_type`` set (confmaps at ``stride``)."""
    heads: dict[str, Any] = {
        "single_instance": lambda: SingleInstanceConfig(
            confmaps=SingleInstanceConfMapsConfig(output_stride=stride)
        ),
        "centroid": lambda: CentroidConfig(confmaps=CentroidConfMapsConfig(output_stride=stride)),
        "centered_instance": lambda: CenteredInstanceConfig(
            confmaps=CenteredInstanceConfMapsConfig(output_stride=stride)
        ),
        "bottomup": lambda: BottomUpConfig(
            confmaps=BottomUpConfMapsConfig(output_stride=stride),
            pafs=PAFConfig(output_stride=paf_stride),
        ),
        "multi_class_bottomup": lambda: MultiClassBottomUpConfig(
            confmaps=BottomUpConfMapsConfig(output_stride=stride),
            class_maps=ClassMapConfig(output_stride=paf_stride),
        ),
        "multi_class_topdown": lambda: MultiClassTopDownConfig(
            confmaps=CenteredInstanceConfMapsConfig(output_stride=stride),
            class_vectors=ClassVectorsConfig(**class_vectors),
        ),
    }
    return HeadConfigs(**{head_type: heads[head_type]()})


@pytest.fixture
def model_config() -> Callable[..., ModelConfig]:
    """Factory: ``model_config(head_type, backbone="unet", heads={...}, **backbone options)``."""

    def factory(
        head_type: str = "single_instance",
        backbone: str = "unet",
        heads: dict[str, Any] | None = None,
        init_weights: str = "default",
        **options: Any,
    ) -> ModelConfig:
        if backbone == "unet":
            defaults = {"filters": 4, "filters_rate": 2.0, "max_stride": 16, "output_stride": 2}
            backbone_config = BackboneConfig(unet=UNetConfig(**{**defaults, **options}))
        elif backbone == "convnext":
            defaults = {
                "arch": {"depths": [1, 1, 1, 1], "channels": [8, 16, 32, 64]},
                "output_stride": 2,
            }
            backbone_config = BackboneConfig(convnext=ConvNextConfig(**{**defaults, **options}))
        elif backbone == "efficientnet_lite0":
            defaults = {"max_stride": 16, "output_stride": 2, "pre_trained_weights": None}
            backbone_config = BackboneConfig(
                efficientnet_lite0=EfficientNetLite0Config(**{**defaults, **options})
            )
        else:
            defaults = {
                "arch": {"embed": 8, "depths": [1, 1, 1, 1], "channels": [1, 2, 2, 4]},
                "output_stride": 2,
                "window_size": 4,
            }
            backbone_config = BackboneConfig(swint=SwinTConfig(**{**defaults, **options}))
        return ModelConfig(
            init_weights=init_weights,
            backbone_config=backbone_config,
            head_configs=make_heads(head_type, **(heads or {})),
        )

    return factory
