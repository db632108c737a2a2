"""Loading SLEAP 1.x (TensorFlow / Keras) UNet weights from ``best_model.h5``.

Our UNet has the same layers as SLEAP's, so every Keras layer maps to one module:

==========================================  =============================================
Keras layer                                 posekit module
==========================================  =============================================
``stem{i}_conv{j}``                         ``backbone.stem[i]``, conv ``j``
``stack{k}_enc{i}_conv{j}``                 ``backbone.stack_modules[k].levels[i]``, conv j
``stack{k}_enc{n}_middle_expand_conv{j}``   ``...middle[0]``, conv ``j``
``stack{k}_enc{n}_middle_contract_conv0``   ``...middle[-1]``
``stack{k}_dec{b}_s{2s}_to_s{s}_trans_conv``  ``...decoder.blocks[b].up``
``stack{k}_dec{b}_s{2s}_to_s{s}_refine_conv{j}``  ``...decoder.blocks[b].refine``, conv j
``<Type>ConfmapsHead[_k]``                  ``heads[k]["confmaps"]`` (``"centroids"`` for
                                            ``CentroidConfmapsHead``)
``PartAffinityFieldsHead[_k]``              ``heads[k]["pafs"]``
``ClassMapsHead[_k]``                       ``heads[k]["class_maps"]``
``pre_classification{i}_fc``,               ``heads[k]["class_vectors"]`` fc ``i`` and
``ClassVectorsHead[_k]``                    classifier
==========================================  =============================================

Kernels are converted from Keras' layouts: ``Conv2D`` ``(kh, kw, in, out)`` and
``Conv2DTranspose`` ``(kh, kw, out, in)`` both become PyTorch's layout by the permutation
``(3, 2, 0, 1)``; ``Dense`` ``(in, out)`` is transposed (and, after a ``Flatten`` of
``(h, w, c)`` features, its rows are reordered to PyTorch's ``(c, h, w)`` flattening).
``OffsetRefinementHead`` layers have no posekit counterpart and are reported as skipped.
SLEAP's class-map and class-vector heads end in sigmoid / softmax; ours return logits
(see :func:`posekit.models.heads.activate_outputs`).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from posekit.errors import ModelError
from posekit.models.heads import ClassVectorHead, PoseModel
from posekit.models.loading import LoadReport, load_matching
from posekit.models.unet import UNet

logger = logging.getLogger(__name__)

#: SLEAP head layer names (without the ``_<stack>`` suffix) for each output key.
SLEAP_HEAD_NAMES: dict[str, tuple[str, ...]] = {
    "confmaps": (
        "SingleInstanceConfmapsHead",
        "CenteredInstanceConfmapsHead",
        "MultiInstanceConfmapsHead",
    ),
    "centroids": ("CentroidConfmapsHead",),
    "pafs": ("PartAffinityFieldsHead",),
    "class_maps": ("ClassMapsHead",),
    "class_vectors": ("ClassVectorsHead",),
}


def read_keras_h5(path: str | Path) -> dict[str, dict[str, np.ndarray]]:
    """Read a Keras HDF5 weights file: ``{layer name: {"kernel": array, "bias": array}}``.

    Works for full-model saves (weights under ``model_weights``) and ``save_weights``
    files (layers at the root). Layers without weights are left out.
    """
    import h5py

    path = Path(path)
    if not path.is_file():
        raise ModelError(
            f"{path}: SLEAP weights file not found; expected a best_model.h5 from a SLEAP "
            "model folder. Check the path."
        )
    try:
        handle = h5py.File(path, "r")
    except OSError as exc:
        raise ModelError(
            f"{path}: not a readable HDF5 file ({exc}); expected SLEAP's best_model.h5."
        ) from exc
    layers: dict[str, dict[str, np.ndarray]] = {}
    with handle:
        root = handle.get("model_weights", handle)
        names = root.attrs.get("layer_names")
        if names is None:
            raise ModelError(
                f"{path}: no Keras layer list (attribute 'layer_names'); expected the "
                "best_model.h5 written by SLEAP 1.x."
            )
        for raw_name in names:
            name = raw_name.decode() if isinstance(raw_name, bytes) else str(raw_name)
            group = root[name]
            weights = {}
            for raw_weight in group.attrs.get("weight_names", []):
                weight_name = raw_weight.decode() if isinstance(raw_weight, bytes) else raw_weight
                short = weight_name.rsplit("/", 1)[-1].split(":", 1)[0]
                weights[short] = np.asarray(group[weight_name][()])
            if weights:
                layers[name] = weights
    return layers


def read_sleap_input_channels(path: str | Path) -> int:
    """Image channels a SLEAP UNet was trained on, from its first convolution's kernel.

    SLEAP's ``training_config.json`` does not record them (it depends on the videos), but
    ``best_model.h5`` does: the first kernel is ``(kh, kw, in_channels, filters)``.
    """
    layers = read_keras_h5(path)
    for name in ("stem0_conv0", "stack0_enc0_conv0"):
        if name in layers and "kernel" in layers[name]:
            return int(layers[name]["kernel"].shape[2])
    raise ModelError(
        f"{path}: no first UNet layer (stem0_conv0 or stack0_enc0_conv0); expected the "
        "best_model.h5 of a SLEAP UNet model."
    )


def _convs(block: nn.Module) -> list[nn.Module]:
    return [m for m in block.modules() if isinstance(m, nn.Conv2d)]


#: SLEAP layer name -> (our module, kernel kind, owning class-vector head or None).
LayerTable = dict[str, tuple[nn.Module, str, ClassVectorHead | None]]


def _unet_layers(unet: UNet) -> LayerTable:
    """Table entries for every UNet layer with weights."""
    table: LayerTable = {}
    for i, level in enumerate(unet.stem):
        for j, conv in enumerate(_convs(level)):
            table[f"stem{i}_conv{j}"] = (conv, "conv", None)
    for k, stack in enumerate(unet.stack_modules):
        for i, level in enumerate(stack.levels):
            for j, conv in enumerate(_convs(level)):
                table[f"stack{k}_enc{i}_conv{j}"] = (conv, "conv", None)
        index = len(stack.levels) + 1  # the last pool takes one index
        blocks = list(stack.middle)
        if len(blocks) == 2:
            for j, conv in enumerate(_convs(blocks[0])):
                table[f"stack{k}_enc{index}_middle_expand_conv{j}"] = (conv, "conv", None)
            index += 1
        if blocks:
            contract = _convs(blocks[-1])[0]
            table[f"stack{k}_enc{index}_middle_contract_conv0"] = (contract, "conv", None)
        for b, (stride, block) in enumerate(zip(stack.decoder.strides, stack.decoder.blocks)):
            prefix = f"stack{k}_dec{b}_s{2 * stride}_to_s{stride}"
            if block.up is not None:
                table[f"{prefix}_trans_conv"] = (block.up, "conv_transpose", None)
            for j, conv in enumerate(_convs(block.refine)):
                table[f"{prefix}_refine_conv{j}"] = (conv, "conv", None)
    return table


def _head_layers(model: PoseModel, available: set[str]) -> LayerTable:
    """Table entries for the heads, preferring the names present in the file."""
    table: LayerTable = {}
    for k, heads in enumerate(model.heads):
        for key, head in heads.items():
            suffixes = [f"_{k}", ""] if k == 0 else [f"_{k}"]
            candidates = [base + s for base in SLEAP_HEAD_NAMES[key] for s in suffixes]
            name = next((c for c in candidates if c in available), candidates[0])
            if not isinstance(head, ClassVectorHead):
                table[name] = (head, "conv", None)
                continue
            layers = [m for m in head.fc if isinstance(m, nn.Linear)] + [head.classifier]
            for i, linear in enumerate(layers):
                flat = i == 0 and not head.global_pool
                layer_name = name if linear is head.classifier else f"pre_classification{i}_fc"
                table[layer_name] = (linear, "dense_flat" if flat else "dense", head)
    return table


def convert_kernel(kernel: np.ndarray, kind: str, head: ClassVectorHead | None = None) -> Tensor:
    """Convert a Keras kernel to PyTorch's layout.

    ``kind``: "conv" / "conv_transpose" (``(kh, kw, a, b)`` -> ``(b, a, kh, kw)``), "dense"
    (transpose), "dense_flat" (a Dense after ``Flatten`` of ``(h, w, c)`` features: rows
    reordered to ``(c, h, w)`` using ``head.in_hw``, then transposed).
    """
    tensor = torch.from_numpy(np.ascontiguousarray(kernel)).float()
    if kind in ("conv", "conv_transpose"):
        return tensor.permute(3, 2, 0, 1).contiguous()
    if kind == "dense_flat" and head is not None and head.in_hw is not None:
        height, width = head.in_hw
        channels = tensor.shape[0] // (height * width)
        tensor = tensor.reshape(height, width, channels, -1).permute(2, 0, 1, 3)
        tensor = tensor.reshape(channels * height * width, -1)
    return tensor.t().contiguous()


def load_sleap_h5_weights(
    model: PoseModel | UNet, h5_path: str | Path, part: str = "all"
) -> LoadReport:
    """Load a SLEAP 1.x ``best_model.h5`` into a posekit UNet model.

    Args:
        model: a :class:`PoseModel` with a UNet backbone, or a bare :class:`UNet`.
        h5_path: the Keras weights file.
        part: ``"all"``, ``"backbone"`` or ``"heads"`` — which of our tensors to fill.

    Returns:
        The :class:`LoadReport` (also logged at INFO level).

    Raises:
        ModelError: not a UNet model, unreadable file, or no tensor matched.
    """
    if part not in ("all", "backbone", "heads"):
        raise ValueError(f"part must be 'all', 'backbone' or 'heads', got {part!r}")
    unet = model.backbone if isinstance(model, PoseModel) else model
    if not isinstance(unet, UNet):
        raise ModelError(
            f"{h5_path}: SLEAP .h5 weights can initialise UNet backbones only, but this model "
            f"uses {type(unet).__name__}; expected backbone_config.unet. Use a posekit .ckpt "
            "or pre_trained_weights (ImageNet) for ConvNeXt / Swin."
        )
    layers = read_keras_h5(h5_path)
    module_names = {id(m): n for n, m in model.named_modules()}
    table: LayerTable = {}
    if part in ("all", "backbone"):
        table.update(_unet_layers(unet))
    if part in ("all", "heads") and isinstance(model, PoseModel):
        table.update(_head_layers(model, set(layers)))

    tensors: dict[str, Tensor] = {}
    skipped: list[tuple[str, str]] = []
    for layer, weights in layers.items():
        if layer not in table:
            reason = (
                "offset refinement heads are not part of posekit models"
                if layer.startswith("OffsetRefinementHead")
                else f"no matching posekit layer (loading part={part!r})"
            )
            skipped.append((layer, reason))
            continue
        module, kind, head = table[layer]
        prefix = module_names[id(module)]
        prefix = f"{prefix}." if prefix else ""
        if "kernel" in weights:
            tensors[prefix + "weight"] = convert_kernel(weights["kernel"], kind, head)
        if "bias" in weights:
            tensors[prefix + "bias"] = torch.from_numpy(np.asarray(weights["bias"])).float()

    scope_prefix = {"all": "", "backbone": "backbone.", "heads": "heads."}[part]
    if not isinstance(model, PoseModel):
        scope_prefix = ""
    scope = [k for k in model.state_dict() if k.startswith(scope_prefix)]
    report = load_matching(model, tensors, str(h5_path), scope=scope, skipped=skipped)
    if report.n_loaded == 0:
        raise ModelError(
            f"{h5_path}: no SLEAP layer matched this model ({report.summary()}); expected a "
            "SLEAP UNet with the same filters, filters_rate, max_stride and output_stride. "
            "Convert its training_config.json with posekit and build from that."
        )
    logger.info("SLEAP weights: %s", report.summary())
    return report
