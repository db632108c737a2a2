"""After training: export the inference graph, predict the validation split, score it."""

from __future__ import annotations

import logging
import warnings
from dataclasses import replace
from pathlib import Path

import sleap_io as sio

from posekit.evaluation import (
    EvaluationResult,
    InferenceInfo,
    TrainingInfo,
    evaluate,
    save_metrics,
)
from posekit.inference.export import export_onnx
from posekit.inference.pipeline import load_model, predict_source
from posekit.inference.run_folder import open_run_folder
from posekit.io.writers import save_labels

logger = logging.getLogger("posekit.training")


def evaluate_run(run_dir: Path, labels: sio.Labels, predictions_path: Path | None = None,
                 peak_threshold: float = 0.2) -> EvaluationResult:
    """Score one run folder's model on labelled frames, as far as it can work alone.

    A centered-instance (or multi-class top-down) model is run on the labelled instances'
    anchors (ground-truth centroids); a centroid model's anchors are scored as one-node
    instances; every other model predicts the frames from scratch.
    """
    run = open_run_folder(run_dir)
    stage = run.model_type.stage
    if stage == "centroids":
        from posekit.training.centroid_eval import evaluate_centroids

        return evaluate_centroids(run, labels, peak_threshold)
    topdown = stage == "instances"
    model = load_model(run_dir, backend="torch", gt_centroids=topdown,
                       peak_threshold=peak_threshold)
    report = predict_source(model, labels, use_gt_centroids=topdown)
    if predictions_path is not None:
        save_labels(report.labels, predictions_path)
    metrics = replace(evaluate(labels, report.labels), inference=InferenceInfo(
        frames=report.frames, seconds=report.seconds,
        frames_per_second=report.frames_per_second))
    if topdown:
        metrics = metrics.with_note("instances were cropped around the labelled anchors "
                                    "(ground-truth centroids); pair with a centroid model for "
                                    "end-to-end numbers")
    return metrics


def finish_run(result, data) -> None:
    """Write ``model.onnx``, ``labels_pr.val.slp`` and ``metrics.val.json`` into the run."""
    run_dir = result.run_dir
    if result.best_checkpoint is None and result.last_checkpoint is None:
        return
    try:
        export_onnx(open_run_folder(run_dir))
    except Exception as exc:  # noqa: BLE001 - export is an optimisation; inference falls back to torch
        warnings.warn(f"{run_dir}: ONNX export failed ({exc}); inference will use torch.",
                      stacklevel=2)
    else:
        try:
            from posekit.inference.quantize import quantize_int8

            quantize_int8(open_run_folder(run_dir))
        except Exception as exc:  # noqa: BLE001 - the int8 graph is optional
            warnings.warn(f"{run_dir}: int8 quantization failed ({exc}); inference stays in "
                          "float.", stacklevel=2)
    metrics = evaluate_run(run_dir, data.val_labels, run_dir / "labels_pr.val.slp")
    metrics = replace(metrics, training=TrainingInfo(
        epochs=result.epochs, wall_time_s=result.wall_time_s,
        train_samples_per_s=result.train_samples_per_s))
    save_metrics(metrics, run_dir / "metrics.val.json")
    result.metrics = metrics
