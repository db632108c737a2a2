"""The configuration schema: one dataclass per YAML section of a sleap-nn style config.

Attribute names are exactly the YAML keys, and defaults are the ones the sleap-nn
configuration guide documents (newer edition). The classes hold data only; parsing,
type checking and cross-field validation live in :mod:`posekit.config.loader` and
:mod:`posekit.config.validation`, so a config built in code with these classes is
checked the same way as one read from a file (``load_config(cfg)``).

The section classes are defined in :mod:`~posekit.config.schema_data`,
:mod:`~posekit.config.schema_model` and :mod:`~posekit.config.schema_trainer`; import them
from here. Sections that select one of several alternatives (backbones, heads, learning-
rate schedulers) are optional: exactly one backbone and one head must be set, and at most
one scheduler. ``loss_weight`` values of ``None`` mean a weight of 1.0.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from posekit.config.schema_data import (
    AugmentationConfig,
    DataConfig,
    GeometricConfig,
    IntensityConfig,
    PreprocessingConfig,
)
from posekit.config.schema_model import (
    BACKBONE_TYPES,
    HEAD_TYPES,
    BackboneConfig,
    BottomUpConfig,
    BottomUpConfMapsConfig,
    CenteredInstanceConfig,
    CenteredInstanceConfMapsConfig,
    CentroidConfig,
    CentroidConfMapsConfig,
    ClassMapConfig,
    ClassVectorsConfig,
    ConvNextArchConfig,
    ConvNextConfig,
    EfficientNetLite0Config,
    HeadConfigs,
    ModelConfig,
    MultiClassBottomUpConfig,
    MultiClassTopDownConfig,
    PAFConfig,
    SingleInstanceConfig,
    SingleInstanceConfMapsConfig,
    SwinTArchConfig,
    SwinTConfig,
    UNetConfig,
)
from posekit.config.schema_trainer import (
    LR_SCHEDULER_TYPES,
    MASK,
    DataLoaderConfig,
    EarlyStoppingConfig,
    LRSchedulerConfig,
    ModelCkptConfig,
    OHKMConfig,
    OptimizerConfig,
    ReduceLROnPlateauConfig,
    StepLRConfig,
    TrainerConfig,
    WandBConfig,
    ZMQConfig,
)

INTERNAL = "posekit_internal"
"""Field metadata flag: the attribute is runtime information, never read from or written
to YAML (e.g. the list of ignored fields found while loading)."""

__all__ = [
    "BACKBONE_TYPES",
    "HEAD_TYPES",
    "INTERNAL",
    "LR_SCHEDULER_TYPES",
    "MASK",
    "AugmentationConfig",
    "BackboneConfig",
    "BottomUpConfMapsConfig",
    "BottomUpConfig",
    "CenteredInstanceConfMapsConfig",
    "CenteredInstanceConfig",
    "CentroidConfMapsConfig",
    "CentroidConfig",
    "ClassMapConfig",
    "ClassVectorsConfig",
    "ConvNextArchConfig",
    "ConvNextConfig",
    "DataConfig",
    "DataLoaderConfig",
    "EarlyStoppingConfig",
    "EfficientNetLite0Config",
    "GeometricConfig",
    "HeadConfigs",
    "IntensityConfig",
    "LRSchedulerConfig",
    "ModelCkptConfig",
    "ModelConfig",
    "MultiClassBottomUpConfig",
    "MultiClassTopDownConfig",
    "OHKMConfig",
    "OptimizerConfig",
    "PAFConfig",
    "PreprocessingConfig",
    "ReduceLROnPlateauConfig",
    "SingleInstanceConfMapsConfig",
    "SingleInstanceConfig",
    "StepLRConfig",
    "SwinTArchConfig",
    "SwinTConfig",
    "TrainerConfig",
    "TrainingJobConfig",
    "UNetConfig",
    "WandBConfig",
    "ZMQConfig",
]


@dataclass
class TrainingJobConfig:
    """A whole training job: the three sections plus descriptive top-level fields.

    ``ignored_fields`` lists (as dotted YAML paths) the fields sleap-nn writes that
    posekit accepted but does not use; it is filled by the loader and never saved.
    """

    data_config: DataConfig = field(default_factory=DataConfig)
    model_config: ModelConfig = field(default_factory=ModelConfig)
    trainer_config: TrainerConfig = field(default_factory=TrainerConfig)
    name: str = ""
    description: str = ""
    sleap_nn_version: str = ""
    filename: str = ""
    ignored_fields: list[str] = field(
        default_factory=list, compare=False, repr=False, metadata={INTERNAL: True}
    )
