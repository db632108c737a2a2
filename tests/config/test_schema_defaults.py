"""Every field's default equals the value the configuration guide (newer edition) documents.

The table below was written by hand from the guide's field lists ("Default:" entries);
where the guide's printed sample disagrees with its field list, the field list wins.
Fields the guide does not list (sleap-nn 0.3 additions) are marked.
"""

from __future__ import annotations

from dataclasses import fields

import pytest

from posekit.config import schema as s
from posekit.config.save import _to_plain

GUIDE_DEFAULTS: dict[type, dict[str, object]] = {
    s.DataConfig: {
        "provider": "LabelsReader",
        "train_labels_path": [],
        "val_labels_path": None,
        "validation_fraction": 0.1,
        "test_file_path": None,
        "user_instances_only": True,
        "data_pipeline_fw": "torch_dataset",
        "cache_img_path": None,
        "use_existing_imgs": False,
        "delete_cache_imgs_after_training": True,
        "use_augmentations_train": False,
        "skeletons": None,  # written by sleap-nn, not in the guide
    },
    s.PreprocessingConfig: {
        "ensure_rgb": False,
        "ensure_grayscale": False,
        "max_height": None,
        "max_width": None,
        "scale": 1.0,
        "crop_size": None,
        "min_crop_size": 100,
    },
    s.IntensityConfig: {
        "uniform_noise_min": 0.0,
        "uniform_noise_max": 1.0,
        "uniform_noise_p": 0.0,
        "gaussian_noise_mean": 0.0,
        "gaussian_noise_std": 1.0,
        "gaussian_noise_p": 0.0,
        "contrast_min": 0.9,
        "contrast_max": 1.1,
        "contrast_p": 0.0,
        "brightness_min": 1.0,
        "brightness_max": 1.0,
        "brightness_p": 0.0,
    },
    s.GeometricConfig: {
        "rotation_min": -15.0,
        "rotation_max": 15.0,
        "scale_min": 0.9,
        "scale_max": 1.1,
        "translate_width": 0.0,
        "translate_height": 0.0,
        "affine_p": 0.0,
        "erase_scale_min": 0.0001,
        "erase_scale_max": 0.01,
        "erase_ratio_min": 1.0,
        "erase_ratio_max": 1.0,
        "erase_p": 0.0,
        "mixup_lambda_min": 0.01,
        "mixup_lambda_max": 0.05,
        "mixup_p": 0.0,
        # sleap-nn 0.3 additions: null per-transform probabilities keep the guide's
        # bundled affine_p behaviour; flips off.
        "rotation_p": None,
        "scale_p": None,
        "translate_p": None,
        "flip_p": 0.0,
    },
    s.AugmentationConfig: {"intensity": None, "geometric": None},
    s.ModelConfig: {
        "init_weights": "default",
        "pretrained_backbone_weights": None,
        "pretrained_head_weights": None,
        "total_params": None,
    },
    # efficientnet_lite0 is posekit's own backbone (not in the guide; never written when null)
    s.BackboneConfig: {"unet": None, "convnext": None, "swint": None, "efficientnet_lite0": None},
    s.EfficientNetLite0Config: {
        "pre_trained_weights": "imagenet",
        "max_stride": 32,
        "in_channels": 1,
        "kernel_size": 3,
        "filters_rate": 2.0,
        "convs_per_block": 2,
        "up_interpolate": True,
        "output_stride": 4,
    },
    s.UNetConfig: {
        "in_channels": 1,
        "kernel_size": 3,
        "filters": 32,
        "filters_rate": 1.5,
        "max_stride": 16,
        "stem_stride": None,
        "middle_block": True,
        "up_interpolate": True,
        "stacks": 1,
        "convs_per_block": 2,
        "output_stride": 1,
    },
    s.ConvNextConfig: {
        "pre_trained_weights": None,
        "arch": None,
        "model_type": "tiny",
        "max_stride": 32,
        "stem_patch_kernel": 4,
        "stem_patch_stride": 2,
        "in_channels": 1,
        "kernel_size": 3,
        "filters_rate": 2.0,
        "convs_per_block": 2,
        "up_interpolate": True,
        "output_stride": 1,
    },
    s.ConvNextArchConfig: {"depths": [3, 3, 9, 3], "channels": [96, 192, 384, 768]},
    s.SwinTConfig: {
        "pre_trained_weights": None,
        "model_type": "tiny",
        "arch": None,
        "max_stride": 32,
        "patch_size": 4,
        "stem_patch_stride": 2,
        "window_size": 7,
        "in_channels": 1,
        "kernel_size": 3,
        "filters_rate": 2.0,
        "convs_per_block": 2,
        "up_interpolate": True,
        "output_stride": 1,
    },
    s.SwinTArchConfig: {"embed": 96, "depths": [2, 2, 6, 2], "channels": [3, 6, 12, 24]},
    s.HeadConfigs: {name: None for name in s.HEAD_TYPES},
    s.SingleInstanceConfMapsConfig: {"part_names": None, "sigma": 5.0, "output_stride": 1},
    s.CentroidConfMapsConfig: {"anchor_part": None, "sigma": 5.0, "output_stride": 1},
    s.CenteredInstanceConfMapsConfig: {
        "part_names": None,
        "anchor_part": None,
        "sigma": 5.0,
        "output_stride": 1,
        "loss_weight": None,
    },
    s.BottomUpConfMapsConfig: {
        "part_names": None,
        "sigma": 5.0,
        "output_stride": 1,
        "loss_weight": None,
    },
    s.PAFConfig: {"edges": None, "sigma": 15.0, "output_stride": 1, "loss_weight": None},
    s.ClassMapConfig: {"classes": None, "sigma": 5.0, "output_stride": 1, "loss_weight": None},
    s.ClassVectorsConfig: {
        "classes": None,
        "num_fc_layers": 1,
        "num_fc_units": 64,
        "global_pool": True,
        "output_stride": 16,
        "loss_weight": None,
    },
    s.TrainerConfig: {
        "trainer_devices": None,
        "trainer_device_indices": None,
        "trainer_accelerator": "auto",
        "profiler": None,
        "trainer_strategy": "auto",
        "enable_progress_bar": True,
        "min_train_steps_per_epoch": 200,
        "train_steps_per_epoch": None,
        "visualize_preds_during_training": False,
        "keep_viz": False,
        "max_epochs": 10,
        "seed": None,
        "use_wandb": False,
        "save_ckpt": False,
        "ckpt_dir": None,
        "run_name": None,
        "resume_ckpt_path": None,
        "optimizer_name": "Adam",
    },
    s.DataLoaderConfig: {"batch_size": 1, "shuffle": False, "num_workers": 0},
    s.ModelCkptConfig: {"save_top_k": 1, "save_last": None},
    s.OptimizerConfig: {"lr": 1e-3, "amsgrad": False},
    s.LRSchedulerConfig: {"step_lr": None, "reduce_lr_on_plateau": None},
    s.StepLRConfig: {"step_size": 10, "gamma": 0.1},
    s.ReduceLROnPlateauConfig: {
        "threshold": 1e-4,
        "threshold_mode": "rel",
        "cooldown": 0,
        "patience": 10,
        "factor": 0.1,
        "min_lr": 0.0,
    },
    s.EarlyStoppingConfig: {"stop_training_on_plateau": False, "min_delta": 0.0, "patience": 1},
    s.OHKMConfig: {
        "online_mining": False,
        "hard_to_easy_ratio": 2.0,
        "min_hard_keypoints": 2,
        "max_hard_keypoints": None,
        "loss_scale": 5.0,
    },
    s.WandBConfig: {
        "entity": None,
        "project": None,
        "name": None,
        "api_key": None,
        "save_viz_imgs_wandb": False,
        "wandb_mode": None,
        "prv_runid": None,
        "group": None,
    },
    s.ZMQConfig: {
        "publish_port": None,
        "controller_port": None,
        "controller_polling_timeout": 10,
        "publish_address": None,
        "controller_address": None,
    },
    s.TrainingJobConfig: {
        "name": "",
        "description": "",
        "sleap_nn_version": "",
        "filename": "",
    },
}

# Fields whose default is a nested section (checked through that section's own row).
SECTION_FIELDS = {
    s.DataConfig: {"preprocessing", "augmentation_config"},
    s.ModelConfig: {"backbone_config", "head_configs"},
    s.TrainerConfig: {
        "train_data_loader",
        "val_data_loader",
        "model_ckpt",
        "wandb",
        "optimizer",
        "lr_scheduler",
        "early_stopping",
        "online_hard_keypoint_mining",
        "zmq",
    },
    s.TrainingJobConfig: {"data_config", "model_config", "trainer_config"},
    s.SingleInstanceConfig: {"confmaps"},
    s.CentroidConfig: {"confmaps"},
    s.CenteredInstanceConfig: {"confmaps"},
    s.BottomUpConfig: {"confmaps", "pafs"},
    s.MultiClassBottomUpConfig: {"confmaps", "class_maps"},
    s.MultiClassTopDownConfig: {"confmaps", "class_vectors"},
}


@pytest.mark.parametrize("cls", list(GUIDE_DEFAULTS), ids=lambda c: c.__name__)
def test_every_field_default_matches_the_guide(cls: type) -> None:
    instance = cls()
    expected = GUIDE_DEFAULTS[cls]
    yaml_fields = {f.name for f in fields(cls) if f.name != "ignored_fields"}
    assert yaml_fields == set(expected) | SECTION_FIELDS.get(cls, set())
    for name, value in expected.items():
        actual = _to_plain(getattr(instance, name), mask_secrets=False)
        assert actual == value, f"{cls.__name__}.{name}: {actual!r} != guide {value!r}"
        assert type(actual) is type(value), f"{cls.__name__}.{name} has type {type(actual)}"


def test_every_schema_class_has_a_row() -> None:
    classes = {
        obj
        for obj in vars(s).values()
        if isinstance(obj, type)
        and obj.__module__.startswith(s.__name__)
        and hasattr(obj, "__dataclass_fields__")
    }
    assert len(classes) == 39
    assert classes == set(GUIDE_DEFAULTS) | set(SECTION_FIELDS)


def test_nested_section_defaults() -> None:
    cfg = s.TrainingJobConfig()
    # The default augmentation has a geometric section (sleap-nn's default); with the guide's
    # affine_p = 0 it changes nothing until enabled.
    assert cfg.data_config.augmentation_config == s.AugmentationConfig(
        geometric=s.GeometricConfig()
    )
    assert cfg.trainer_config.lr_scheduler.scheduler_type is None
    assert s.BottomUpConfig().pafs == s.PAFConfig()
    assert s.MultiClassTopDownConfig().class_vectors.output_stride == 16
    assert cfg.ignored_fields == []


def test_convenience_properties() -> None:
    model = s.ModelConfig()
    model.backbone_config.swint = s.SwinTConfig()
    model.head_configs.multi_class_bottomup = s.MultiClassBottomUpConfig()
    assert model.backbone_type == "swint"
    assert model.active_backbone is model.backbone_config.swint
    assert model.head_type == "multi_class_bottomup"
    assert model.active_head is model.head_configs.multi_class_bottomup


def test_convenience_properties_refuse_ambiguous_models() -> None:
    from posekit.errors import ConfigError

    model = s.ModelConfig()
    with pytest.raises(ConfigError, match="exactly one head must be set, found none"):
        _ = model.head_type
    model.backbone_config.unet = s.UNetConfig()
    model.backbone_config.convnext = s.ConvNextConfig()
    with pytest.raises(ConfigError, match="found unet, convnext"):
        _ = model.backbone_type
    schedulers = s.LRSchedulerConfig(s.StepLRConfig(), s.ReduceLROnPlateauConfig())
    with pytest.raises(ConfigError, match="at most one scheduler"):
        _ = schedulers.scheduler_type


def test_api_key_is_masked_in_repr() -> None:
    cfg = s.TrainingJobConfig()
    cfg.trainer_config.wandb.api_key = "abc123secret"
    assert "abc123secret" not in repr(cfg)
    assert "abc123secret" not in str(cfg.trainer_config)
    assert "api_key='****'" in repr(cfg.trainer_config.wandb)
    assert "api_key=None" in repr(s.WandBConfig())
