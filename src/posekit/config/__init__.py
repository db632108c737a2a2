"""Typed, validated sleap-nn style configuration.

Public API::

    cfg = load_config("config.yaml", overrides=["trainer_config.max_epochs=5"])
    cfg.model_config.head_type        # "single_instance", "bottomup", ...
    cfg.ignored_fields                # sleap-nn fields accepted but unused
    save_config(cfg, "out.yaml")      # fully resolved, api_key masked
    convert_legacy_config("training_config.json")   # SLEAP <= 1.4
    init_config("centroid")           # commented starting YAML

The schema classes (one per YAML section, attribute names equal to the YAML keys) live in
:mod:`posekit.config.schema` and are re-exported here.
"""

from posekit.config.legacy import convert_legacy_config
from posekit.config.loader import RUN_FOLDER_CONFIG, load_config
from posekit.config.problems import InvalidConfigError
from posekit.config.save import config_to_dict, config_to_yaml, save_config
from posekit.config.schema import (
    BACKBONE_TYPES,
    HEAD_TYPES,
    MASK,
    AugmentationConfig,
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
    DataConfig,
    DataLoaderConfig,
    EarlyStoppingConfig,
    EfficientNetLite0Config,
    GeometricConfig,
    HeadConfigs,
    IntensityConfig,
    LRSchedulerConfig,
    ModelCkptConfig,
    ModelConfig,
    MultiClassBottomUpConfig,
    MultiClassTopDownConfig,
    OHKMConfig,
    OptimizerConfig,
    PAFConfig,
    PreprocessingConfig,
    ReduceLROnPlateauConfig,
    SingleInstanceConfig,
    SingleInstanceConfMapsConfig,
    StepLRConfig,
    SwinTArchConfig,
    SwinTConfig,
    TrainerConfig,
    TrainingJobConfig,
    UNetConfig,
    WandBConfig,
    ZMQConfig,
)
from posekit.config.templates import init_config
from posekit.config.validation import check_config, effective_max_stride, validate
from posekit.errors import ConfigError

__all__ = [
    "BACKBONE_TYPES",
    "HEAD_TYPES",
    "MASK",
    "RUN_FOLDER_CONFIG",
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
    "ConfigError",
    "ConvNextArchConfig",
    "ConvNextConfig",
    "DataConfig",
    "DataLoaderConfig",
    "EarlyStoppingConfig",
    "EfficientNetLite0Config",
    "GeometricConfig",
    "HeadConfigs",
    "IntensityConfig",
    "InvalidConfigError",
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
    "check_config",
    "config_to_dict",
    "config_to_yaml",
    "convert_legacy_config",
    "effective_max_stride",
    "init_config",
    "load_config",
    "save_config",
    "validate",
]
