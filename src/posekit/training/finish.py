"""After training: export the inference graph, predict the validation split, score it."""

from __future__ import annotations

import logging
import warnings

from posekit.evaluation import evaluate, save_metrics
from posekit.inference.export import export_onnx
from posekit.inference.pipeline import load_model, predict_source
from posekit.inference.run_folder import open_run_folder
from posekit.io.writers import save_labels

logger = logging.getLogger("posekit.training")


def finish_run(result, data) -> None:
    """Write ``model.onnx``, ``labels_pr.val.slp`` and ``metrics.val.json`` into the run.

    Models that only make sense in a pair are scored as far as they can be alone: a
    centered-instance model is run on the labelled instances' anchors (ground-truth
    centroids); a centroid model's anchors are scored as one-node instances.
    """
    run_dir = result.run_dir
    if result.best_checkpoint is None and result.last_checkpoint is None:
        return
    run = open_run_folder(run_dir)
    try:
        export_onnx(run)
    except Exception as exc:  # export is an optimisation; inference falls back to torch
        warnings.warn(f"{run_dir}: ONNX export failed ({exc}); inference will use torch.",
                      stacklevel=2)
    head = run.head_type
    if head == "centroid":
        from posekit.training.centroid_eval import evaluate_centroids

        metrics = evaluate_centroids(run, data.val_labels)
    else:
        topdown = head in ("centered_instance", "multi_class_topdown")
        model = load_model(run_dir, backend="torch", gt_centroids=topdown)
        report = predict_source(model, data.val_labels, use_gt_centroids=topdown)
        save_labels(report.labels, run_dir / "labels_pr.val.slp")
        metrics = evaluate(data.val_labels, report.labels)
        metrics["inference"] = {"frames": report.frames, "seconds": report.seconds,
                                "frames_per_second": report.frames_per_second}
        if head in ("centered_instance", "multi_class_topdown"):
            metrics["note"] = ("instances were cropped around the labelled anchors "
                               "(ground-truth centroids); pair with a centroid model for "
                               "end-to-end numbers")
    metrics["training"] = {"epochs": result.epochs, "wall_time_s": result.wall_time_s,
                           "train_samples_per_s": result.train_samples_per_s}
    save_metrics(metrics, run_dir / "metrics.val.json")
    result.metrics = metrics
