"""``build_model``: from ``model_config`` (and channel counts from the data) to a PoseModel.

Order of operations:

1. the backbone named in ``backbone_config`` (UNet / ConvNeXt / SwinT);
2. one set of heads per backbone stack (see :data:`HEAD_OUTPUTS` for the output keys);
3. ``init_weights`` ("default" keeps PyTorch's initialisation, "xavier" re-initialises);
4. unless ``pretrained=False``: ImageNet weights (``pre_trained_weights``), then
   ``pretrained_backbone_weights`` and ``pretrained_head_weights`` (posekit ``.ckpt`` or
   SLEAP ``.h5``). The load reports are kept in ``model.weight_reports``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from torch import nn

from posekit.errors import ConfigError
from posekit.models.checkpoint import load_checkpoint_weights
from posekit.models.convnext import ConvNeXt
from posekit.models.heads import ClassVectorHead, ConvHead, PoseModel
from posekit.models.legacy import load_sleap_h5_weights
from posekit.models.loading import LoadReport
from posekit.models.pretrained import check_weights_name, load_torchvision_weights
from posekit.models.swint import SwinT
from posekit.models.unet import UNet

logger = logging.getLogger(__name__)

#: For each model type: ``{sub-head name in head_configs: output key}``.
HEAD_OUTPUTS: dict[str, dict[str, str]] = {
    "single_instance": {"confmaps": "confmaps"},
    "centroid": {"confmaps": "centroids"},
    "centered_instance": {"confmaps": "confmaps"},
    "bottomup": {"confmaps": "confmaps", "pafs": "pafs"},
    "multi_class_bottomup": {"confmaps": "confmaps", "class_maps": "class_maps"},
    "multi_class_topdown": {"confmaps": "confmaps", "class_vectors": "class_vectors"},
}

INIT_METHODS = ("default", "xavier")


def _get(config: Any, name: str, default: Any = None) -> Any:
    if isinstance(config, dict):
        return config.get(name, default)
    return getattr(config, name, default)


def build_backbone(backbone_type: str, config: Any) -> nn.Module:
    """Build the backbone ``backbone_type`` ("unet" / "convnext" / "swint") from its config."""
    common = {
        "in_channels": _get(config, "in_channels", 1),
        "kernel_size": _get(config, "kernel_size", 3),
        "convs_per_block": _get(config, "convs_per_block", 2),
        "up_interpolate": _get(config, "up_interpolate", True),
        "output_stride": _get(config, "output_stride", 1),
    }
    if backbone_type == "unet":
        return UNet(
            filters=_get(config, "filters", 32),
            filters_rate=_get(config, "filters_rate", 1.5),
            max_stride=_get(config, "max_stride", 16),
            stem_stride=_get(config, "stem_stride"),
            middle_block=_get(config, "middle_block", True),
            stacks=_get(config, "stacks", 1),
            **common,
        )
    encoder = {
        "model_type": _get(config, "model_type", "tiny"),
        "arch": _get(config, "arch"),
        "stem_patch_stride": _get(config, "stem_patch_stride", 2),
        "max_stride": _get(config, "max_stride", 32),
        "filters_rate": _get(config, "filters_rate", 2.0),
    }
    if backbone_type == "convnext":
        return ConvNeXt(stem_patch_kernel=_get(config, "stem_patch_kernel", 4), **encoder, **common)
    if backbone_type == "swint":
        return SwinT(
            patch_size=_get(config, "patch_size", 4),
            window_size=_get(config, "window_size", 7),
            **encoder,
            **common,
        )
    raise ConfigError(
        f"model_config.backbone_config: unknown backbone {backbone_type!r}; expected unet, "
        "convnext or swint."
    )


def init_weights(model: nn.Module, method: str) -> None:
    """(Re-)initialise every convolution and linear layer of ``model``.

    ``"default"``: PyTorch's own initialisation (Kaiming-uniform weights with
    ``a = sqrt(5)``, uniform biases), via ``reset_parameters``. ``"xavier"``:
    Xavier-uniform weights and zero biases. Normalisation layers are left alone.
    """
    if method not in INIT_METHODS:
        raise ConfigError(
            f"model_config.init_weights: got {method!r}; expected one of {', '.join(INIT_METHODS)}."
        )
    for module in model.modules():
        if not isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            continue
        if method == "default":
            module.reset_parameters()
        else:
            nn.init.xavier_uniform_(module.weight)
            if module.bias is not None:
                nn.init.zeros_(module.bias)


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (all, or only those with ``requires_grad``)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def _check_channels(output_channels: dict[str, int], head_type: str) -> dict[str, int]:
    channels = {}
    for sub, key in HEAD_OUTPUTS[head_type].items():
        value = output_channels.get(key, 1 if key == "centroids" else None)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(
                f"model_config.head_configs.{head_type}.{sub}: needs the number of output "
                f"channels under output_channels[{key!r}], got {value!r}; expected an integer "
                ">= 1 (nodes for confmaps, 2 × edges for pafs, classes for class heads). Check "
                "that the labels have the nodes / edges / tracks this head needs."
            )
        channels[key] = value
    return channels


def _make_heads(
    model_config: Any,
    head_type: str,
    backbone: nn.Module,
    channels: dict[str, int],
    input_size: tuple[int, int] | None,
) -> tuple[list[dict[str, nn.Module]], dict[str, int]]:
    head_config = _get(model_config.head_configs, head_type)
    available = backbone.feature_channels
    strides: dict[str, int] = {}
    for sub, key in HEAD_OUTPUTS[head_type].items():
        sub_config = _get(head_config, sub)
        field = f"model_config.head_configs.{head_type}.{sub}"
        if sub_config is None:
            raise ConfigError(f"{field}: missing; a {head_type} model needs this head.")
        if key == "class_vectors":
            strides[key] = backbone.max_stride
            continue
        stride = _get(sub_config, "output_stride", 1)
        if stride not in available:
            raise ConfigError(
                f"{field}.output_stride: got {stride!r}; the backbone produces features at "
                f"strides {sorted(available)} (output_stride .. max_stride). Set the head's "
                "output_stride to one of them, or lower the backbone's output_stride."
            )
        strides[key] = stride

    def one_stack() -> dict[str, nn.Module]:
        heads: dict[str, nn.Module] = {}
        for sub, key in HEAD_OUTPUTS[head_type].items():
            in_channels = available[strides[key]]
            if key != "class_vectors":
                heads[key] = ConvHead(in_channels, channels[key])
                continue
            sub_config = _get(head_config, sub)
            global_pool = bool(_get(sub_config, "global_pool", True))
            in_hw = None
            if not global_pool:
                if input_size is None:
                    raise ConfigError(
                        f"model_config.head_configs.{head_type}.class_vectors.global_pool: "
                        "false flattens the deepest features, so build_model needs the model "
                        "input size (input_size=(height, width), e.g. the crop size); pass it "
                        "or set global_pool: true."
                    )
                in_hw = (input_size[0] // backbone.max_stride, input_size[1] // backbone.max_stride)
            heads[key] = ClassVectorHead(
                in_channels,
                channels[key],
                num_fc_layers=int(_get(sub_config, "num_fc_layers", 1)),
                num_fc_units=int(_get(sub_config, "num_fc_units", 64)),
                global_pool=global_pool,
                in_hw=in_hw,
            )
        return heads

    return [one_stack() for _ in range(backbone.stacks)], strides


def _load_file(model: PoseModel, path: str, part: str) -> LoadReport:
    if Path(path).suffix.lower() in (".h5", ".hdf5"):
        return load_sleap_h5_weights(model, path, part=part)
    return load_checkpoint_weights(model, path, part)


def build_model(
    model_config: Any,
    output_channels: dict[str, int],
    input_size: tuple[int, int] | None = None,
    pretrained: bool = True,
) -> PoseModel:
    """Build the :class:`PoseModel` described by ``model_config``.

    Args:
        model_config: a :class:`posekit.config.ModelConfig` (exactly one backbone and one
            head type set).
        output_channels: channels per output key, from the data, e.g.
            ``{"confmaps": n_nodes, "pafs": 2 * n_edges}``, ``{"confmaps": n_nodes,
            "class_vectors": n_classes}``; ``"centroids"`` defaults to 1.
        input_size: model input ``(height, width)``; only needed for a class-vector head
            with ``global_pool: false``.
        pretrained: load the pretrained weights named in the config (ImageNet,
            ``pretrained_backbone_weights``, ``pretrained_head_weights``). Pass False when
            the model's own checkpoint will be loaded right after.

    Returns:
        The model, with ``weight_reports`` (list of :class:`LoadReport`) attached.
    """
    head_type = model_config.head_type
    backbone_type = model_config.backbone_type
    backbone_config = model_config.active_backbone
    channels = _check_channels(output_channels, head_type)
    backbone = build_backbone(backbone_type, backbone_config)
    heads, strides = _make_heads(model_config, head_type, backbone, channels, input_size)
    model = PoseModel(backbone, heads, strides, head_type)

    method = _get(model_config, "init_weights", "default") or "default"
    if method != "default":
        init_weights(model, method)

    reports: list[LoadReport] = []
    weights_name = _get(backbone_config, "pre_trained_weights")
    if weights_name and backbone_type in ("convnext", "swint"):
        field = f"model_config.backbone_config.{backbone_type}"
        arch = {"depths": backbone.depths}
        if backbone_type == "convnext":
            arch["channels"] = backbone.channels
        else:
            arch.update({"embed": backbone.embed, "channels": backbone.num_heads})
        check_weights_name(weights_name, backbone_type, arch, field)
        if pretrained:
            reports.append(load_torchvision_weights(backbone, weights_name, backbone_type))
            logger.info("ImageNet weights: %s", reports[-1].summary())
    if pretrained:
        for field, part in (
            ("pretrained_backbone_weights", "backbone"),
            ("pretrained_head_weights", "heads"),
        ):
            path = _get(model_config, field)
            if path:
                reports.append(_load_file(model, str(path), part))
    model.weight_reports = reports
    return model
