"""Convert legacy SLEAP (TensorFlow, <= 1.4) ``training_config.json`` files.

Only UNet backbones can be converted (the others have no posekit equivalent). Settings
that have no counterpart, or cannot be converted faithfully, are listed in the returned
config's ``ignored_fields`` as legacy dotted paths (for example
``optimization.augmentation_config.translate`` - legacy translation is in pixels, posekit's
is a fraction of the image size, and the image size is not in the file).

Unit changes: legacy noise and brightness values are in 0-255 pixel units; posekit works on
images scaled to [0, 1], so they are divided by 255 (brightness becomes the equivalent
multiplicative factor range ``[1 + min/255, 1 + max/255]`` on a full-scale pixel).
"""

from __future__ import annotations

import json
import os
from dataclasses import fields
from pathlib import Path
from typing import Any, get_args, get_type_hints

from posekit.config.loader import load_config
from posekit.config.problems import InvalidConfigError
from posekit.config.schema import HEAD_TYPES, TrainingJobConfig
from posekit.config.schema_model import HeadConfigs
from posekit.config.spellings import is_loopback, parse_address
from posekit.errors import ConfigError

_OTHER_BACKBONES = ("leap", "hourglass", "resnet", "pretrained_encoder")


class _Legacy:
    """Reads one legacy config dict; collects dropped settings."""

    def __init__(self, data: dict[str, Any], source: str) -> None:
        self.data = data
        self.source = source
        self.dropped: list[str] = []

    def get(self, dotted: str, default: Any = None) -> Any:
        node: Any = self.data
        for part in dotted.split("."):
            if not isinstance(node, dict) or node.get(part) is None:
                return default
            node = node[part]
        return node

    def drop_if(self, condition: Any, dotted: str) -> None:
        if condition:
            self.dropped.append(dotted)


def _copy_keys(src: dict[str, Any] | None, keys: dict[str, str]) -> dict[str, Any]:
    """Copy ``src[old]`` to ``out[new]`` for each ``old -> new`` present and not null."""
    src = src or {}
    return {new: src[old] for old, new in keys.items() if src.get(old) not in (None, "")}


def _skeletons(legacy: _Legacy) -> list[dict[str, Any]] | None:
    encoded = legacy.get("data.labels.skeletons")
    if not encoded:
        return None
    from sleap_io.io.skeleton import SkeletonDecoder

    try:
        decoded = SkeletonDecoder().decode(encoded)
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
        raise ConfigError(
            f"{legacy.source}: data.labels.skeletons cannot be decoded ({exc}); expected "
            "SLEAP's jsonpickle skeleton format. The file may be damaged."
        ) from None
    skeletons = decoded if isinstance(decoded, list) else [decoded]
    return [
        {
            "nodes": [{"name": node.name} for node in skl.nodes],
            "edges": [
                {"source": {"name": e.source.name}, "destination": {"name": e.destination.name}}
                for e in skl.edges
            ],
            "symmetries": [[{"name": node.name} for node in sym.nodes] for sym in skl.symmetries],
            "name": skl.name,
        }
        for skl in skeletons
    ]


def _data_config(legacy: _Legacy, ensure_rgb: bool) -> dict[str, Any]:
    labels = legacy.get("data.labels", {})
    data: dict[str, Any] = {}
    for old, new in (
        ("training_labels", "train_labels_path"),
        ("validation_labels", "val_labels_path"),
    ):
        if labels.get(old):
            data[new] = [labels[old]]
    data.update(
        _copy_keys(
            labels, {"validation_fraction": "validation_fraction", "test_labels": "test_file_path"}
        )
    )
    pre_src = legacy.get("data.preprocessing", {})
    pre = _copy_keys(
        pre_src,
        {
            "ensure_rgb": "ensure_rgb",
            "ensure_grayscale": "ensure_grayscale",
            "input_scaling": "scale",
            "target_height": "max_height",
            "target_width": "max_width",
        },
    )
    pre.update(_copy_keys(legacy.get("data.instance_cropping", {}), {"crop_size": "crop_size"}))
    legacy.drop_if(pre_src.get("imagenet_mode"), "data.preprocessing.imagenet_mode")
    data["preprocessing"] = pre
    augmentation, used = _augmentation(legacy)
    data["use_augmentations_train"] = used
    data["augmentation_config"] = augmentation
    data["skeletons"] = _skeletons(legacy)
    return data


def _augmentation(legacy: _Legacy) -> tuple[dict[str, Any], bool]:
    aug = legacy.get("optimization.augmentation_config", {})
    flag = {
        name: bool(aug.get(name, False))
        for name in (
            "rotate",
            "translate",
            "scale",
            "uniform_noise",
            "gaussian_noise",
            "contrast",
            "brightness",
            "random_crop",
            "random_flip",
        )
    }

    def to_unit(value: float) -> float:
        return round(value / 255.0, 6)

    def clip01(value: float) -> float:
        return min(max(value, 0.0), 1.0)

    intensity = {
        "uniform_noise_min": clip01(to_unit(aug.get("uniform_noise_min_val", 0.0))),
        "uniform_noise_max": clip01(to_unit(aug.get("uniform_noise_max_val", 10.0))),
        "uniform_noise_p": float(flag["uniform_noise"]),
        "gaussian_noise_mean": to_unit(aug.get("gaussian_noise_mean", 5.0)),
        "gaussian_noise_std": to_unit(aug.get("gaussian_noise_stddev", 1.0)),
        "gaussian_noise_p": float(flag["gaussian_noise"]),
        "contrast_min": max(aug.get("contrast_min_gamma", 0.5), 0.0),
        "contrast_max": max(aug.get("contrast_max_gamma", 2.0), 0.0),
        "contrast_p": float(flag["contrast"]),
        "brightness_min": max(1.0 + to_unit(aug.get("brightness_min_val", 0.0)), 0.0),
        "brightness_max": max(1.0 + to_unit(aug.get("brightness_max_val", 10.0)), 0.0),
        "brightness_p": float(flag["brightness"]),
    }
    flip_horizontal = aug.get("flip_horizontal", True)
    geometric = {
        "rotation_min": aug.get("rotation_min_angle", -180.0),
        "rotation_max": aug.get("rotation_max_angle", 180.0),
        # Legacy SLEAP applies rotation and scaling independently, each always when on.
        "rotation_p": float(flag["rotate"]),
        "scale_min": aug.get("scale_min", 0.9),
        "scale_max": aug.get("scale_max", 1.1),
        "scale_p": float(flag["scale"]),
        "translate_p": 0.0,
        "affine_p": 0.0,
        "flip_p": 0.5 if flag["random_flip"] and flip_horizontal else 0.0,
    }
    prefix = "optimization.augmentation_config"
    legacy.drop_if(flag["translate"], f"{prefix}.translate")
    legacy.drop_if(flag["random_crop"], f"{prefix}.random_crop")
    legacy.drop_if(flag["random_flip"] and not flip_horizontal, f"{prefix}.flip_horizontal")
    used = geometric["flip_p"] > 0 or any(
        flag[k]
        for k in ("rotate", "scale", "uniform_noise", "gaussian_noise", "contrast", "brightness")
    )
    return {"intensity": intensity, "geometric": geometric}, used


def _backbone(legacy: _Legacy, ensure_rgb: bool) -> dict[str, Any]:
    backbone = legacy.get("model.backbone", {})
    others = [name for name in _OTHER_BACKBONES if backbone.get(name) is not None]
    if others or backbone.get("unet") is None:
        name = others[0] if others else "none"
        raise ConfigError(
            f"{legacy.source}: model.backbone: the legacy backbone is '{name}'; expected a UNet "
            "backbone (only UNet models can be converted). Train a new model with a unet, "
            "convnext or swint backbone instead (posekit config init)."
        )
    unet = _copy_keys(
        backbone["unet"],
        {
            k: k
            for k in (
                "stem_stride",
                "max_stride",
                "output_stride",
                "filters",
                "filters_rate",
                "middle_block",
                "up_interpolate",
                "stacks",
            )
        },
    )
    unet.update(in_channels=3 if ensure_rgb else 1, kernel_size=3, convs_per_block=2)
    return {"unet": unet, "convnext": None, "swint": None}


def _head_classes() -> dict[str, tuple[str, type]]:
    """``{legacy head name: (head name, head config class)}`` from the schema."""
    hints = get_type_hints(HeadConfigs)
    out = {}
    for name in HEAD_TYPES:
        cls = next(a for a in get_args(hints[name]) if a is not type(None))
        out[getattr(cls, "legacy_name", name)] = (name, cls)
    return out


def _heads(legacy: _Legacy) -> dict[str, Any]:
    """The one legacy head, converted by the schema of its posekit head.

    Legacy heads with one block (``confmaps``) store its settings directly under the head;
    the others nest one mapping per block. Every setting whose name is a field of the posekit
    block is copied; a missing ``anchor_part`` falls back to the legacy
    ``data.instance_cropping.center_on_part``; ``offset_refinement`` has no counterpart.
    """
    heads = legacy.get("model.heads", {})
    set_heads = [name for name, value in heads.items() if value is not None]
    if len(set_heads) != 1:
        raise ConfigError(
            f"{legacy.source}: model.heads: found {len(set_heads)} heads set "
            f"({', '.join(set_heads) or 'none'}); expected exactly one. The file may be damaged."
        )
    legacy_name = set_heads[0]
    known = _head_classes()
    if legacy_name not in known:
        raise ConfigError(
            f"{legacy.source}: model.heads.{legacy_name}: unknown legacy head; expected one of "
            f"{', '.join(known)}."
        )
    name, head_cls = known[legacy_name]
    defaults = head_cls()
    blocks = [f.name for f in fields(head_cls)]
    center = legacy.get("data.instance_cropping.center_on_part")
    out: dict[str, Any] = {}
    for block in blocks:
        path = f"model.heads.{legacy_name}" + ("" if len(blocks) == 1 else f".{block}")
        src = legacy.get(path, {})
        legacy.drop_if(src.get("offset_refinement"), f"{path}.offset_refinement")
        keys = [f.name for f in fields(getattr(defaults, block))]
        out[block] = _copy_keys(src, {k: k for k in keys})
        if "anchor_part" in keys and out[block].get("anchor_part") is None and center:
            out[block]["anchor_part"] = center
    return {name: out}


def _zmq(legacy: _Legacy) -> dict[str, Any]:
    src = legacy.get("outputs.zmq", {})
    zmq: dict[str, Any] = _copy_keys(
        src, {"controller_polling_timeout": "controller_polling_timeout"}
    )
    for kind, switch in (("controller", "subscribe_to_controller"), ("publish", "publish_updates")):
        address = src.get(f"{kind}_address")
        if not src.get(switch) or not address:
            continue
        try:
            host, port = parse_address(address)
        except ValueError:
            legacy.dropped.append(f"outputs.zmq.{kind}_address")
            continue
        zmq[f"{kind}_port"] = port
        if not is_loopback(host):
            zmq[f"{kind}_address"] = address
    return zmq


def _trainer_config(legacy: _Legacy) -> dict[str, Any]:
    opt = legacy.get("optimization", {})
    outputs = legacy.get("outputs", {})
    loader = _copy_keys(opt, {"batch_size": "batch_size"})
    trainer: dict[str, Any] = {
        "train_data_loader": {**loader, **_copy_keys(opt, {"online_shuffling": "shuffle"})},
        "val_data_loader": {**loader, "shuffle": False},
        "model_ckpt": _copy_keys(outputs.get("checkpointing"), {"latest_model": "save_last"}),
    }
    trainer.update(
        _copy_keys(
            opt,
            {
                "epochs": "max_epochs",
                "batches_per_epoch": "train_steps_per_epoch",
                "min_batches_per_epoch": "min_train_steps_per_epoch",
            },
        )
    )
    trainer.update(
        _copy_keys(
            outputs,
            {
                "save_outputs": "save_ckpt",
                "runs_folder": "ckpt_dir",
                "save_visualizations": "visualize_preds_during_training",
                "keep_viz_images": "keep_viz",
            },
        )
    )
    name = outputs.get("run_name") or ""
    name = f"{outputs.get('run_name_prefix') or ''}{name}{outputs.get('run_name_suffix') or ''}"
    trainer["run_name"] = name or None
    optimizer = str(opt.get("optimizer", "adam"))
    trainer["optimizer_name"] = {"adam": "Adam", "adamw": "AdamW"}.get(optimizer.lower(), optimizer)
    trainer["optimizer"] = _copy_keys(opt, {"initial_learning_rate": "lr"})
    schedule = opt.get("learning_rate_schedule") or {}
    plateau = None
    if schedule.get("reduce_on_plateau"):
        plateau = {
            "threshold_mode": "abs",
            **_copy_keys(
                schedule,
                {
                    "plateau_min_delta": "threshold",
                    "plateau_cooldown": "cooldown",
                    "plateau_patience": "patience",
                    "reduction_factor": "factor",
                    "min_learning_rate": "min_lr",
                },
            ),
        }
    trainer["lr_scheduler"] = {"step_lr": None, "reduce_lr_on_plateau": plateau}
    trainer["early_stopping"] = _copy_keys(
        opt.get("early_stopping"),
        {
            "stop_training_on_plateau": "stop_training_on_plateau",
            "plateau_min_delta": "min_delta",
            "plateau_patience": "patience",
        },
    )
    trainer["online_hard_keypoint_mining"] = _copy_keys(
        opt.get("hard_keypoint_mining"),
        {
            k: k
            for k in (
                "online_mining",
                "hard_to_easy_ratio",
                "min_hard_keypoints",
                "max_hard_keypoints",
                "loss_scale",
            )
        },
    )
    trainer["zmq"] = _zmq(legacy)
    legacy.drop_if(legacy.get("outputs.tensorboard.write_logs"), "outputs.tensorboard.write_logs")
    return trainer


def legacy_to_dict(data: dict[str, Any], source: str = "<legacy config>") -> tuple[dict, list[str]]:
    """Map legacy SLEAP config data to sleap-nn style YAML data.

    Returns ``(config dict, dropped legacy settings as dotted paths)``.
    """
    if not isinstance(data, dict) or not isinstance(data.get("model"), dict):
        raise ConfigError(
            f"{source}: not a legacy SLEAP training config (no 'model' section); expected the "
            "training_config.json or initial_config.json of a SLEAP <= 1.4 model folder."
        )
    legacy = _Legacy(data, source)
    ensure_rgb = bool(legacy.get("data.preprocessing.ensure_rgb", False))
    config = {
        "data_config": _data_config(legacy, ensure_rgb),
        "model_config": {
            "backbone_config": _backbone(legacy, ensure_rgb),
            "head_configs": _heads(legacy),
            "pretrained_backbone_weights": legacy.get("model.base_checkpoint"),
            "pretrained_head_weights": legacy.get("model.base_checkpoint"),
        },
        "trainer_config": _trainer_config(legacy),
        "name": data.get("name") or "",
        "description": data.get("description") or "",
    }
    return config, legacy.dropped


def convert_legacy_config(json_path: str | os.PathLike[str]) -> TrainingJobConfig:
    """Read a legacy SLEAP (<= 1.4) ``training_config.json`` and return the posekit config.

    The result is validated like any loaded config; ``ignored_fields`` lists the legacy
    settings that could not be carried over. Non-UNet backbones raise :class:`ConfigError`.
    """
    path = Path(json_path)
    if not path.is_file():
        raise ConfigError(
            f"{path}: legacy config not found; expected the training_config.json of a SLEAP "
            "model folder."
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(
            f"{path}: not valid JSON ({exc}); expected a SLEAP training_config.json."
        ) from None
    config, dropped = legacy_to_dict(data, str(path))
    try:
        cfg = load_config(config)
    except InvalidConfigError as exc:
        raise InvalidConfigError(f"{path} (after conversion)", exc.problems) from None
    cfg.ignored_fields = dropped
    return cfg
