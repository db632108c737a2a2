"""Export a run's inference graph to ONNX (``model.onnx`` beside the checkpoint)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import torch

from posekit import __version__
from posekit.inference.graph import InferenceGraph
from posekit.inference.model_loading import load_pose_model
from posekit.inference.run_folder import ONNX_META, ONNX_NAME, RunFolder
from posekit.utils.atomic import atomic_path, atomic_write_text

OPSET = 17


def _example_size(run: RunFolder) -> tuple[int, int]:
    if run.info.crop_size:
        return int(run.info.crop_size), int(run.info.crop_size)
    side = max(run.max_stride * 4, 64)
    return side, side


def export_onnx(run: RunFolder, refinement: str | None = "integral",
                integral_patch_size: int = 7) -> Path:
    """Trace the run's graph (network + dense decoding) and write ``model.onnx``.

    The graph takes ``images`` ``float32 (B, C, H, W)`` (any batch size and any image size
    that is a multiple of the backbone's stride) and a scalar ``threshold``.
    """
    model = load_pose_model(run)
    graph = InferenceGraph(model, run.model_type, refinement, integral_patch_size).eval()
    h, w = _example_size(run)
    images = torch.rand(2, model.in_channels, h, w)
    threshold = torch.tensor(0.2)
    names = list(graph.output_names)
    dynamic = {"images": {0: "batch", 2: "height", 3: "width"}}
    for name in names:
        dynamic[name] = {0: f"{name}_0"}
    target = run.path / ONNX_NAME
    with atomic_path(target) as tmp, torch.inference_mode(False), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            graph, (images, threshold), str(tmp), dynamo=False, opset_version=OPSET,
            input_names=["images", "threshold"], output_names=names,
            dynamic_axes=dynamic, do_constant_folding=True,
        )
    meta = {
        "posekit_version": __version__,
        "head_type": run.head_type,
        "checkpoint": run.checkpoint.name,
        "checkpoint_sha256": run.checkpoint_digest,
        "refinement": refinement,
        "integral_patch_size": integral_patch_size,
        "outputs": names,
        "opset": OPSET,
    }
    atomic_write_text(run.path / ONNX_META, json.dumps(meta, indent=1))
    return target
