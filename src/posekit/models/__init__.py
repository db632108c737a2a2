"""Neural networks: backbones (UNet, ConvNeXt, Swin), head layers and ``build_model``."""
