"""8-bit inference graphs: static int8 quantization of a run's ``model.onnx``, with the
accuracy change measured before it is ever used.

Inside the network, convolutions (with the ReLU after them folded in), max-pooling, resizing
and concatenation run on 8-bit values (int8 weights per output channel, uint8 activations,
calibrated on the run's own training frames). The first convolution, which sees the raw
image, and the in-graph peak decoding stay in float. On the reaching UNet (384x416 input,
2 CPU cores) this recipe moved points by 0.18 px on average and ran at 18.4 frames/s, where
quantizing only the convolutions, the first one included, moved them by 1.6 px at 15.6
frames/s (float graph: 11.3 frames/s). The int8 graph
is compared with the float graph on the validation frames and the shift of every predicted
point (in full-frame pixels) is written to ``model.int8.onnx.json``. ``posekit track`` uses the
int8 graph only when asked (``--precision int8``) or, with ``--precision auto``, when the
measured shift is below :data:`AUTO_MAX_MEAN_SHIFT_PX` on average.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from posekit.errors import ModelError
from posekit.inference.run_folder import (
    AUTO_MAX_MEAN_SHIFT_PX,
    INT8_META,
    INT8_NAME,
    ONNX_NAME,
    RunFolder,
    file_digest,
)
from posekit.utils.atomic import atomic_path, atomic_write_text

if TYPE_CHECKING:
    import onnx

__all__ = ["AUTO_MAX_MEAN_SHIFT_PX", "nodes_to_quantize", "point_shift", "quantize_int8"]

CALIBRATION_FRAMES = 16
#: Operators run in 8 bits inside the network (a Relu after a Conv is folded into it).
QUANTIZED_OPS = ("Conv", "Relu", "MaxPool", "Resize", "Concat")
#: Prefix torch.onnx gives the nodes of the wrapped PoseModel (``graph.model``).
NETWORK_PREFIX = "/model/"


def nodes_to_quantize(graph: onnx.GraphProto) -> list[str]:
    """Names of the nodes to quantize: the network's :data:`QUANTIZED_OPS` except its first
    convolution; the peak-decoding nodes after the heads stay in float.

    A graph whose node names do not show the network (another exporter) falls back to
    convolutions and their ReLUs, which are never part of the decoding.
    """
    named = [n for n in graph.node if n.op_type in QUANTIZED_OPS and n.name]
    network = [n for n in named if n.name.startswith(NETWORK_PREFIX)]
    if not network:
        network = [n for n in named if n.op_type in ("Conv", "Relu")]
    first_conv = next((n.name for n in network if n.op_type == "Conv"), None)
    return [n.name for n in network if n.name != first_conv]


def _frames(run: RunFolder, split: str, limit: int) -> list[np.ndarray]:
    """Model inputs ``(1, C, H, W)`` of up to ``limit`` frames of a saved split.

    Instance models get a crop centred on the first labelled animal of each frame, exactly
    as inference cuts them.
    """
    from posekit.data.cropping import crop_offsets, cut_crops
    from posekit.io.frames import FrameTable
    from posekit.io.labels import load_labels
    from posekit.keypoints import anchor_points

    path = run.path / f"labels_gt.{split}.slp"
    if not path.is_file():
        raise ModelError(f"{path}: missing; int8 calibration needs the run's saved splits.")
    table = FrameTable.from_labels(load_labels(path), list(run.info.node_names))
    step = max(1, len(table) // limit)
    out = []
    for i in range(0, len(table), step)[:limit]:
        image = table.read_image(i)
        if not run.info.crop_size:
            out.append(run.prep.preprocess_frames(image[None])[0])
            continue
        model_image, transform = run.prep.preprocess_image(image)
        anchor = anchor_points(table.points(i)[:1], run.info.anchor_index)[0]
        if not np.isfinite(anchor).all():
            continue
        size = int(run.info.crop_size)
        offsets = crop_offsets(transform.to_model(anchor[None].astype(np.float64)), size)
        crop = cut_crops(model_image[None], np.zeros(1, np.int64), offsets, size)
        out.append(crop.transpose(0, 3, 1, 2).astype(np.float32) / np.float32(255.0))
    return out


class _Calibration:
    """ONNX Runtime calibration reader over preprocessed frames."""

    def __init__(self, frames: list[np.ndarray]) -> None:
        self.frames = list(frames)

    def get_next(self) -> dict[str, np.ndarray] | None:
        if not self.frames:
            return None
        return {"images": self.frames.pop(0), "threshold": np.asarray(0.2, np.float32)}


def point_shift(reference: dict[str, np.ndarray], other: dict[str, np.ndarray]) -> np.ndarray:
    """Distances (model-input pixels) between the points two graphs found.

    Global-peak graphs compare point for point; local-peak graphs match every reference
    peak to the nearest peak of the same frame and channel (a missing partner counts as
    infinitely far).
    """
    if "points" in reference:
        a, b = reference["points"], other["points"]
        both = np.isfinite(a).all(-1) & np.isfinite(b).all(-1)
        lost = np.isfinite(a).all(-1) ^ np.isfinite(b).all(-1)
        d = np.linalg.norm(a - b, axis=-1)[both]
        return np.concatenate([d, np.full(int(lost.sum()), np.inf)])
    keys_a = np.stack([reference["peak_sample"],
                       reference.get("peak_channel", np.zeros_like(reference["peak_sample"]))], 1)
    keys_b = np.stack([other["peak_sample"],
                       other.get("peak_channel", np.zeros_like(other["peak_sample"]))], 1)
    dists = []
    for key, point in zip(keys_a, reference["peak_points"]):
        same = (keys_b == key).all(axis=1)
        if not same.any():
            dists.append(np.inf)
            continue
        dists.append(float(np.linalg.norm(other["peak_points"][same] - point, axis=1).min()))
    return np.asarray(dists, np.float64)


def quantize_int8(run: RunFolder) -> Path:
    """Write ``model.int8.onnx`` and its measured accuracy change; returns its path."""
    import onnx
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from posekit.inference.backends import OnnxBackend

    source = run.path / ONNX_NAME
    if not source.is_file():
        raise ModelError(f"{source}: missing; export the float graph first (posekit export).")
    calibration = _frames(run, "train", CALIBRATION_FRAMES)
    target = run.path / INT8_NAME
    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)
        nodes = nodes_to_quantize(onnx.load(str(prepared), load_external_data=False).graph)
        with atomic_path(target) as out:
            quantize_static(str(prepared), str(out), _Calibration(calibration),
                            quant_format=QuantFormat.QOperator,
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                            per_channel=True, op_types_to_quantize=list(QUANTIZED_OPS),
                            nodes_to_quantize=nodes)
    fp32, int8 = OnnxBackend(source), OnnxBackend(target)
    shifts = []
    for images in _frames(run, "val", 32):
        shifts.append(point_shift(fp32.run(images, 0.2), int8.run(images, 0.2)))
    shift = np.concatenate(shifts) if shifts else np.zeros(0)
    finite = shift[np.isfinite(shift)]
    to_frame = 1.0 / float(run.prep.scale)
    meta = {
        "quantization": "static int8: weights int8 per channel, activations uint8; "
                        "Conv+Relu, MaxPool, Resize, Concat of the network except its first "
                        "Conv",
        "quantized_nodes": len(nodes),
        "source_sha256": file_digest(source),
        "calibration_frames": len(calibration),
        "compared_points": int(shift.size),
        "points_lost_or_gained": int((~np.isfinite(shift)).sum()),
        "mean_shift_px": float(finite.mean() * to_frame) if finite.size else None,
        "p95_shift_px": float(np.percentile(finite, 95) * to_frame) if finite.size else None,
        "max_shift_px": float(finite.max() * to_frame) if finite.size else None,
        "units": "full-frame pixels (model-input pixels / preprocessing scale)",
    }
    atomic_write_text(run.path / INT8_META, json.dumps(meta, indent=1))
    return target
