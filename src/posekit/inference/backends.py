"""Runtimes for the inference graph: torch (eager, any device) and ONNX Runtime (CPU).

Both take preprocessed images ``float32 (B, C, H, W)`` and a peak threshold and return the
graph's outputs (named by the model type's ``graph_outputs``) as numpy arrays, so the
predictors never know which one runs. The ONNX backend imports neither torch nor Lightning,
which keeps inference memory small.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from posekit.decoding.predictors import Backend
from posekit.errors import ModelError
from posekit.inference.run_folder import INT8_NAME, ONNX_NAME, RunFolder, int8_is_safe

BACKENDS = ("auto", "torch", "onnx")
logger = logging.getLogger(__name__)


class TorchBackend:
    """Eager torch on CPU, CUDA or MPS (``device="auto"`` picks the best available)."""

    name = "torch"

    def __init__(self, run: RunFolder, device: str = "auto", refinement: str | None = "integral",
                 integral_patch_size: int = 7) -> None:
        import torch

        from posekit.inference.graph import InferenceGraph
        from posekit.inference.model_loading import load_pose_model

        self.torch = torch
        self.device = torch.device(_pick_device(device))
        model = load_pose_model(run)
        self.graph = InferenceGraph(model, run.model_type, refinement,
                                    integral_patch_size).eval().to(self.device)
        self.graph.model.to(memory_format=torch.channels_last)
        self.output_names = self.graph.output_names

    def run(self, images: np.ndarray, threshold: float) -> dict[str, np.ndarray]:
        torch = self.torch
        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(images)).to(self.device)
            x = x.contiguous(memory_format=torch.channels_last)
            thr = torch.tensor(float(threshold), dtype=torch.float32, device=self.device)
            outputs = self.graph(x, thr)
        return {name: out.detach().cpu().numpy() for name, out in zip(self.output_names, outputs)}


def _pick_device(device: str) -> str:
    import torch

    if device != "auto":
        return device
    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


class OnnxBackend:
    """ONNX Runtime on the CPU, from a run folder's exported ``model.onnx``."""

    name = "onnx"

    def __init__(self, onnx_path: str | os.PathLike[str], threads: int | None = None,
                 chunk_size: int = 1, spin: bool = False) -> None:
        """``spin``: let ONNX Runtime's idle worker threads busy-wait for work. Off by
        default: streaming inference decodes and resizes frames on another thread, and
        spinning workers take the CPU time that thread needs (reaching UNet, int8, 2 cores:
        16.5-16.9 frames/s end to end without spinning, 14.8-17.2 with it; the model alone
        runs at the same speed either way)."""
        import onnxruntime as ort

        if chunk_size < 1:
            raise ModelError(f"chunk_size: got {chunk_size}; expected a positive integer.")
        self.chunk_size = int(chunk_size)

        options = ort.SessionOptions()
        options.intra_op_num_threads = int(threads or os.cpu_count() or 1)
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
        try:
            self.session = ort.InferenceSession(str(onnx_path), options,
                                                providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types
            raise ModelError(
                f"{onnx_path}: cannot be loaded by ONNX Runtime ({exc}); expected a graph "
                "written by `posekit export`. Delete it and export again."
            ) from exc
        self.output_names = tuple(o.name for o in self.session.get_outputs())
        self.path = Path(onnx_path)

    def run(self, images: np.ndarray, threshold: float) -> dict[str, np.ndarray]:
        """Run ``images`` in chunks of :attr:`chunk_size` (default one image per call).

        ONNX Runtime's memory arena grows to the largest batch it has seen, and one image
        already saturates the CPU: on the reaching UNet at 512x512, 2 cores, one image per
        call ran at the same frames/s as four (7.4 vs 7.5) with half the peak memory
        (310 vs 669 MB), so memory stays flat whatever ``--batch-size`` is.
        """
        thr = np.asarray(threshold, dtype=np.float32)
        images = np.ascontiguousarray(images, dtype=np.float32)
        parts = []
        for start in range(0, max(len(images), 1), self.chunk_size):
            chunk = images[start:start + self.chunk_size]
            parts.append(dict(zip(self.output_names,
                                  self.session.run(None, {"images": chunk, "threshold": thr}))))
        if len(parts) == 1:
            return parts[0]
        return merge_chunk_outputs(parts, self.chunk_size)


def merge_chunk_outputs(parts: list[dict[str, np.ndarray]],
                        chunk_size: int) -> dict[str, np.ndarray]:
    """Concatenate per-chunk graph outputs; ``peak_sample`` (an index into the batch) is
    shifted by each chunk's offset so it indexes the whole batch."""
    merged: dict[str, np.ndarray] = {}
    for name in parts[0]:
        arrays = [part[name] for part in parts]
        if name == "peak_sample":
            arrays = [a + i * chunk_size for i, a in enumerate(arrays)]
        merged[name] = np.concatenate(arrays, axis=0)
    return merged


PRECISIONS = ("auto", "fp32", "int8")


def make_backend(run: RunFolder, backend: str = "auto", device: str = "auto",
                 refinement: str | None = "integral", precision: str = "fp32") -> Backend:
    """The runtime for ``run``.

    ``"onnx"`` needs an exported graph; ``"auto"`` prefers it on the CPU (faster, smaller)
    when it exists and matches the refinement, else torch. ``precision`` ``"int8"`` runs the
    run's quantized graph (``posekit export --int8``); ``"auto"`` does so only when its
    measured accuracy change is negligible (see :mod:`posekit.inference.quantize`).
    """
    if backend not in BACKENDS:
        raise ModelError(f"backend: got {backend!r}; expected one of {', '.join(BACKENDS)}.")
    if precision not in PRECISIONS:
        raise ModelError(f"precision: got {precision!r}; expected one of {', '.join(PRECISIONS)}.")
    onnx = run.onnx_path
    meta = run.onnx_meta if onnx is not None else {}
    quality = run.int8_quality
    if precision == "int8":
        if quality is None or onnx is None:
            raise ModelError(
                f"{run.path}: no up-to-date {INT8_NAME}; expected a quantized graph for "
                f"--precision int8. Run `posekit export {run.path} --int8` first."
            )
        if backend == "torch":
            raise ModelError("precision int8 runs on ONNX Runtime; drop --backend torch.")
        return OnnxBackend(run.path / INT8_NAME)
    if backend == "onnx":
        if onnx is None:
            raise ModelError(
                f"{run.path}: no up-to-date {ONNX_NAME} in the run folder; expected an exported "
                f"graph for the ONNX backend. Run `posekit export {run.path}` first."
            )
        if meta.get("refinement") != refinement:
            raise ModelError(
                f"{onnx}: exported with refinement {meta.get('refinement')!r}, not "
                f"{refinement!r}; export again with that refinement or use --backend torch."
            )
        if precision == "auto" and int8_is_safe(quality):
            return OnnxBackend(run.path / INT8_NAME)
        return OnnxBackend(onnx)
    if (backend == "auto" and onnx is not None and device in ("auto", "cpu")
            and meta.get("refinement") == refinement and _no_accelerator(device)):
        if precision == "auto" and int8_is_safe(quality):
            return OnnxBackend(run.path / INT8_NAME)
        return OnnxBackend(onnx)
    if (backend == "auto" and onnx is None and (run.path / ONNX_NAME).is_file()
            and device in ("auto", "cpu") and _no_accelerator(device)):
        logger.warning(
            "%s: %s is out of date (exported from another checkpoint or by an older "
            "posekit); predicting with PyTorch, which is slower on the CPU. Run `posekit "
            "export %s` to bring the ONNX graph up to date.", run.path, ONNX_NAME, run.path)
    return TorchBackend(run, device=device, refinement=refinement)


def _no_accelerator(device: str) -> bool:
    """True when inference would run on the CPU anyway (checked without importing torch
    when an NVIDIA device is not visible)."""
    if device == "cpu":
        return True
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) == "":
        return True
    return not Path("/dev/nvidia0").exists() and not Path("/System").exists()
