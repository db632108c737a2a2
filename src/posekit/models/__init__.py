"""Neural networks: backbones (UNet, ConvNeXt, Swin, EfficientNet-Lite0), head layers and ``build_model``.

``build_model(model_config, heads)`` (heads from the model type) returns a :class:`PoseModel` whose
``forward(x)`` maps ``(B, C, H, W)`` images in ``[0, 1]`` to ``{"confmaps" | "centroids" |
"pafs" | "class_maps" | "class_vectors": tensor}``; see ``docs/models.md``.
"""

from posekit.models.build import (
    build_backbone,
    build_model,
    count_parameters,
    init_weights,
)
from posekit.models.checkpoint import load_checkpoint_weights, read_checkpoint_state
from posekit.models.convnext import CONVNEXT_ARCHS, ConvNeXt
from posekit.models.efficientnet_lite import EfficientNetLite0
from posekit.models.heads import (
    OUTPUT_ACTIVATIONS,
    ClassVectorHead,
    ConvHead,
    PoseModel,
    activate_outputs,
)
from posekit.models.legacy import (
    load_sleap_h5_weights,
    read_keras_h5,
    read_sleap_input_channels,
)
from posekit.models.loading import LoadReport
from posekit.models.pretrained import (
    TORCHVISION_WEIGHTS,
    adapt_stem_weight,
    load_torchvision_weights,
    map_torchvision_state,
)
from posekit.models.swint import SWINT_ARCHS, SwinT
from posekit.models.unet import UNet, unet_filters

__all__ = [
    "CONVNEXT_ARCHS",
    "OUTPUT_ACTIVATIONS",
    "SWINT_ARCHS",
    "TORCHVISION_WEIGHTS",
    "ClassVectorHead",
    "ConvHead",
    "ConvNeXt",
    "EfficientNetLite0",
    "LoadReport",
    "PoseModel",
    "SwinT",
    "UNet",
    "activate_outputs",
    "adapt_stem_weight",
    "build_backbone",
    "build_model",
    "count_parameters",
    "init_weights",
    "load_checkpoint_weights",
    "load_sleap_h5_weights",
    "load_torchvision_weights",
    "map_torchvision_state",
    "read_checkpoint_state",
    "read_keras_h5",
    "read_sleap_input_channels",
    "unet_filters",
]
