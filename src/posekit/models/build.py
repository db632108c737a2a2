"""``build_model``: from ``model_config`` (and channel counts from the data) to a PoseModel.

Order of operations:

1. the backbone named in ``backbone_config`` (UNet / ConvNeXt / SwinT / EfficientNet-Lite0);
2. one set of heads per backbone stack, as the model type describes them (``heads``: output
   key, config block, channels, stride, layer kind; see :mod:`posekit.model_types`);
3. ``init_weights`` ("default" keeps PyTorch's initialisation, "xavier" re-initialises);
4. unless ``pretrained=False``: ImageNet weights (``pre_trained_weights``; torchvision's for
   ConvNeXt / Swin, the packaged or a given file for EfficientNet-Lite0), then
   ``pretrained_backbone_weights`` and ``pretrained_head_weights`` (posekit ``.ckpt`` or
   SLEAP ``.h5``). The load reports are kept in ``model.weight_reports``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from torch import nn

from posekit.errors import ConfigError
from posekit.models.checkpoint import load_checkpoint_weights
from posekit.models.convnext import ConvNeXt
from posekit.models.efficientnet_lite import EfficientNetLite0
from posekit.models.heads import ClassVectorHead, ConvHead, PoseModel
from posekit.models.legacy import load_sleap_h5_weights
from posekit.models.loading import LoadReport
from posekit.models.pretrained import (
    check_weights_name,
    load_lite0_weights,
    load_torchvision_weights,
)
from posekit.models.swint import SwinT
from posekit.models.unet import UNet

logger = logging.getLogger(__name__)

INIT_METHODS = ("default", "xavier")


def _get(config: Any, name: str, default: Any = None) -> Any:
    if isinstance(config, dict):
        return config.get(name, default)
    return getattr(config, name, default)


def build_backbone(backbone_type: str, config: Any) -> nn.Module:
    """Build the backbone ``backbone_type`` ("unet" / "convnext" / "swint" /
    "efficientnet_lite0") from its config."""
    common = {
        "in_channels": _get(config, "in_channels", 1),
        "kernel_size": _get(config, "kernel_size", 3),
        "convs_per_block": _get(config, "convs_per_block", 2),
        "up_interpolate": _get(config, "up_interpolate", True),
        "output_stride": _get(config, "output_stride", 1),
    }
    if backbone_type == "efficientnet_lite0":
        return EfficientNetLite0(
            max_stride=_get(config, "max_stride", 32),
            filters_rate=_get(config, "filters_rate", 2.0),
            freeze_norms=_get(config, "pre_trained_weights") is not None,
            **common,
        )
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
        "convnext, swint or efficientnet_lite0."
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


class HeadLayout(Protocol):
    """What the builder needs to know of one output head (a model type's ``HeadSpec``)."""

    key: str
    block: str
    channels: int
    stride: int
    layer: str


def _check_heads(heads: Sequence[HeadLayout], head_type: str, available: dict[int, int]
                 ) -> None:
    for head in heads:
        field = f"model_config.head_configs.{head_type}.{head.block}"
        if isinstance(head.channels, bool) or not isinstance(head.channels, int) or \
                head.channels < 1:
            raise ConfigError(
                f"{field}: needs {head.channels!r} output channels; expected an integer >= 1 "
                "(nodes for confmaps, 2 x edges for pafs, classes for class heads). Check that "
                "the labels have the nodes / edges / tracks this head needs."
            )
        if head.layer == "conv" and head.stride not in available:
            raise ConfigError(
                f"{field}.output_stride: got {head.stride!r}; the backbone produces features at "
                f"strides {sorted(available)} (output_stride .. max_stride). Set the head's "
                "output_stride to one of them, or lower the backbone's output_stride."
            )


def _make_heads(model_config: Any, heads: Sequence[HeadLayout], backbone: nn.Module,
                input_size: tuple[int, int] | None
                ) -> tuple[list[dict[str, nn.Module]], dict[str, int]]:
    head_type = model_config.head_type
    head_config = _get(model_config.head_configs, head_type)
    available = backbone.feature_channels
    _check_heads(heads, head_type, available)
    # Class vectors read the deepest features, whatever their configured stride says.
    strides = {h.key: (backbone.max_stride if h.layer == "class_vector" else h.stride)
               for h in heads}

    def class_vector_head(head: HeadLayout) -> nn.Module:
        block = _get(head_config, head.block)
        global_pool = bool(_get(block, "global_pool", True))
        in_hw = None
        if not global_pool:
            if input_size is None:
                raise ConfigError(
                    f"model_config.head_configs.{head_type}.{head.block}.global_pool: false "
                    "flattens the deepest features, so build_model needs the model input size "
                    "(input_size=(height, width), e.g. the crop size); pass it or set "
                    "global_pool: true."
                )
            in_hw = (input_size[0] // backbone.max_stride, input_size[1] // backbone.max_stride)
        return ClassVectorHead(available[strides[head.key]], head.channels,
                               num_fc_layers=int(_get(block, "num_fc_layers", 1)),
                               num_fc_units=int(_get(block, "num_fc_units", 64)),
                               global_pool=global_pool, in_hw=in_hw)

    def one_stack() -> dict[str, nn.Module]:
        return {h.key: (class_vector_head(h) if h.layer == "class_vector"
                        else ConvHead(available[strides[h.key]], h.channels)) for h in heads}

    return [one_stack() for _ in range(backbone.stacks)], strides


def _load_file(model: PoseModel, path: str, part: str) -> LoadReport:
    if Path(path).suffix.lower() in (".h5", ".hdf5"):
        return load_sleap_h5_weights(model, path, part=part)
    return load_checkpoint_weights(model, path, part)


def build_model(
    model_config: Any,
    heads: Sequence[HeadLayout],
    input_size: tuple[int, int] | None = None,
    pretrained: bool = True,
) -> PoseModel:
    """Build the :class:`PoseModel` described by ``model_config``.

    Args:
        model_config: a :class:`posekit.config.ModelConfig` (exactly one backbone and one
            head type set).
        heads: the model type's heads (``ModelType.heads``: key, config block, channels,
            stride and layer kind of every output).
        input_size: model input ``(height, width)``; only needed for a class-vector head
            with ``global_pool: false``.
        pretrained: load the pretrained weights named in the config (ImageNet,
            ``pretrained_backbone_weights``, ``pretrained_head_weights``). Pass False when
            the model's own checkpoint will be loaded right after.

    Returns:
        The model, with ``weight_reports`` (list of :class:`LoadReport`) attached.
    """
    backbone_type = model_config.backbone_type
    backbone_config = model_config.active_backbone
    backbone = build_backbone(backbone_type, backbone_config)
    layers, strides = _make_heads(model_config, heads, backbone, input_size)
    model = PoseModel(backbone, layers, strides)

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
    if weights_name and backbone_type == "efficientnet_lite0" and pretrained:
        reports.append(load_lite0_weights(backbone, str(weights_name)))
        logger.info("EfficientNet-Lite0 weights: %s", reports[-1].summary())
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
