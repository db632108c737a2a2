"""Fields of sleap-nn 0.3.5 configs that the configuration guide does not document.

sleap-nn writes these into every run folder's ``training_config.yaml`` and ships them in
its sample configs, so posekit must read such files unchanged:

* :data:`IGNORED` fields are accepted and reported in ``TrainingJobConfig.ignored_fields``
  (posekit has no use for them: caching knobs, tiling, segmentation-only crop options,
  checkpoint monitor names, wandb visualisation switches, in-training evaluation...).
* :data:`UNSUPPORTED` fields select a feature posekit does not have (segmentation, embedding
  and box-detection heads, Hugging Face ``pretrained`` backbones, warm-up schedulers). They
  are fine when ``null``; when set, loading fails with a clear message naming the field.

Tables are keyed by schema class, so they apply wherever the class appears (for example
``CenteredInstanceConfMapsConfig`` in both ``centered_instance`` and
``multi_class_topdown``).
"""

from __future__ import annotations

from posekit.config.schema import (
    BackboneConfig,
    CenteredInstanceConfMapsConfig,
    CentroidConfMapsConfig,
    ClassMapConfig,
    ClassVectorsConfig,
    DataConfig,
    HeadConfigs,
    LRSchedulerConfig,
    ModelCkptConfig,
    PreprocessingConfig,
    TrainerConfig,
    WandBConfig,
)

IGNORED: dict[type, tuple[str, ...]] = {
    DataConfig: (
        "use_same_data_for_val",
        "parallel_caching",
        "cache_workers",
        "use_negative_frames",
        "negative_loss_weight",
        "identity",
        "split",
        "centroids_from_masks",
        "bbox_source",
        "bbox_padding",
    ),
    PreprocessingConfig: (
        "crop_padding",
        "crop_mode",
        "crop_bbox_aspect",
        "crop_bbox_padding",
        "crop_bbox_min_size",
        "tiling",
        "burn_in",
        "background_fill",
        "crop_centering",
    ),
    CentroidConfMapsConfig: (
        "centroid_method",
        "centroid_fallback",
        "centroid_source",
        "use_sigmoid_activation",
        "focal_loss_alpha",
        "focal_loss_beta",
        "focal_loss_pos_threshold",
    ),
    CenteredInstanceConfMapsConfig: ("centroid_method", "centroid_fallback"),
    ClassMapConfig: ("class_output",),
    ClassVectorsConfig: ("class_output",),
    TrainerConfig: ("viz_img_format", "eval"),
    ModelCkptConfig: ("monitor", "mode"),
    WandBConfig: (
        "current_run_id",
        "viz_enabled",
        "viz_boxes",
        "viz_masks",
        "viz_box_size",
        "viz_confmap_threshold",
        "log_viz_table",
        "delete_local_logs",
    ),
}

_MODEL_TYPES = (
    "single_instance, centroid, centered_instance, bottomup, multi_class_bottomup or "
    "multi_class_topdown"
)


def _head(name: str, what: str) -> str:
    return (
        f"the '{name}' model type ({what}) is not supported by posekit; expected null. "
        f"Set it to null and use one of {_MODEL_TYPES}."
    )


def _scheduler(name: str) -> str:
    return (
        f"the '{name}' learning-rate scheduler is not supported by posekit; expected null. "
        "Use step_lr or reduce_lr_on_plateau, or leave both null for a constant rate."
    )


UNSUPPORTED: dict[type, dict[str, str]] = {
    BackboneConfig: {
        "pretrained": (
            "Hugging Face 'pretrained' backbones are not supported by posekit; expected null. "
            "Use unet, convnext or swint (convnext and swint can start from ImageNet weights "
            "with pre_trained_weights)."
        ),
    },
    HeadConfigs: {
        "bottomup_segmentation": _head("bottomup_segmentation", "instance segmentation"),
        "centered_instance_segmentation": _head(
            "centered_instance_segmentation", "instance segmentation"
        ),
        "semantic_segmentation": _head("semantic_segmentation", "segmentation"),
        "embedding": _head("embedding", "re-identification embeddings"),
        "bbox_centernet": _head("bbox_centernet", "box detection"),
        "bbox_ssd": _head("bbox_ssd", "box detection"),
    },
    LRSchedulerConfig: {
        "cosine_annealing_warmup": _scheduler("cosine_annealing_warmup"),
        "linear_warmup_linear_decay": _scheduler("linear_warmup_linear_decay"),
    },
}
