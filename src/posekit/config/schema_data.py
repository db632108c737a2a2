"""Schema of ``data_config``: labels, preprocessing and augmentation sections.

These classes are the only declaration of the augmentation options: the augmentation code
(:mod:`posekit.data.augmentation`) takes them as they are. The limits of every value are
rules in :data:`posekit.config.validation.RULES`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class PreprocessingConfig:
    """``data_config.preprocessing``: image channels, resizing, padding and crop size.

    ``crop_size`` is the side of the square crop around each instance for centred-instance
    models (``None``: computed from the largest instance, at least ``min_crop_size``).
    The older spelling ``crop_hw: [h, w]`` is accepted when ``h == w``.
    """

    ensure_rgb: bool = False
    ensure_grayscale: bool = False
    max_height: int | None = None
    max_width: int | None = None
    scale: float = 1.0
    crop_size: int | None = None
    min_crop_size: int | None = 100


@dataclass
class IntensityConfig:
    """``data_config.augmentation_config.intensity``: noise, contrast and brightness.

    Each ``*_p`` is the probability of applying that augmentation to a training sample;
    ``*_min`` / ``*_max`` bound the uniformly sampled strength.
    """

    uniform_noise_min: float = 0.0
    uniform_noise_max: float = 1.0
    uniform_noise_p: float = 0.0
    gaussian_noise_mean: float = 0.0
    gaussian_noise_std: float = 1.0
    gaussian_noise_p: float = 0.0
    contrast_min: float = 0.9
    contrast_max: float = 1.1
    contrast_p: float = 0.0
    brightness_min: float = 1.0
    brightness_max: float = 1.0
    brightness_p: float = 0.0


@dataclass
class GeometricConfig:
    """``data_config.augmentation_config.geometric``: affine transforms, erasing, mixup, flips.

    Rotation (degrees, uniform in ``[rotation_min, rotation_max]``), isotropic scale and
    translation (a fraction of the image width/height) form a random affine transform.

    * A transform whose own ``rotation_p`` / ``scale_p`` / ``translate_p`` is set is drawn
      on its own with that probability (added in sleap-nn 0.3).
    * The transforms whose ``*_p`` is ``None`` are applied together, with one draw of
      probability ``affine_p``; with all three ``None`` (the default, the guide's
      behaviour) that is rotation, scale and translation together. sleap-nn 0.3.5 writes
      ``rotation_p: 1.0, scale_p: 1.0, translate_p: null, affine_p: 0.0`` by default:
      always rotate and scale, never translate.

    ``flip_p`` is the probability of a left/right mirror (``x -> W - 1 - x``) with the
    skeleton's symmetric node pairs swapped. Erasing removes one rectangle covering a
    fraction ``erase_scale`` of the image with aspect ratio ``erase_ratio``; mixup blends
    in another training image with weight ``lambda``.
    """

    rotation_min: float = -15.0
    rotation_max: float = 15.0
    rotation_p: float | None = None
    scale_min: float = 0.9
    scale_max: float = 1.1
    scale_p: float | None = None
    translate_width: float = 0.0
    translate_height: float = 0.0
    translate_p: float | None = None
    affine_p: float = 0.0
    erase_scale_min: float = 0.0001
    erase_scale_max: float = 0.01
    erase_ratio_min: float = 1.0
    erase_ratio_max: float = 1.0
    erase_p: float = 0.0
    mixup_lambda_min: float = 0.01
    mixup_lambda_max: float = 0.05
    mixup_p: float = 0.0
    flip_p: float = 0.0


@dataclass
class AugmentationConfig:
    """``data_config.augmentation_config``; used only when ``use_augmentations_train``."""

    intensity: IntensityConfig | None = None
    geometric: GeometricConfig | None = None


@dataclass
class DataConfig:
    """``data_config``: labels files, validation split, caching, preprocessing, augmentation.

    Paths are kept exactly as written; relative paths are resolved by the training code
    against the current working directory. ``skeletons`` is the list of skeleton
    dictionaries sleap-nn records in a run folder's config (``None`` until training).
    """

    provider: str = "LabelsReader"
    train_labels_path: list[str] = field(default_factory=list)
    val_labels_path: list[str] | None = None
    validation_fraction: float = 0.1
    test_file_path: str | None = None
    user_instances_only: bool = True
    data_pipeline_fw: str = "torch_dataset"
    cache_img_path: str | None = None
    use_existing_imgs: bool = False
    delete_cache_imgs_after_training: bool = True
    preprocessing: PreprocessingConfig = field(default_factory=PreprocessingConfig)
    use_augmentations_train: bool = False
    augmentation_config: AugmentationConfig | None = field(
        default_factory=lambda: AugmentationConfig(geometric=GeometricConfig())
    )
    skeletons: list[dict[str, Any]] | None = None
