"""The built-in demo: synthetic mice -> train -> predict a video -> score it.

Everything runs on data the package renders itself, so it works on a fresh machine with no
downloads. It trains a small single-animal UNet for a fixed time budget, predicts a separate
synthetic video, and compares the trained model with the same network before training.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from posekit.config import load_config
from posekit.io.synthetic import SynthSpec, write_dataset

if TYPE_CHECKING:
    from posekit.evaluation import EvaluationResult

IMAGE_SIZE = 128


def demo_config(train_path: Path, run_root: Path, max_epochs: int) -> dict:
    """The demo's training configuration (a small, CPU-friendly single-instance UNet)."""
    return {
        "data_config": {
            "train_labels_path": [str(train_path)],
            "validation_fraction": 0.1,
            "data_pipeline_fw": "torch_dataset_cache_img_memory",
            "use_augmentations_train": True,
            "augmentation_config": {
                "intensity": {"brightness_min": 0.85, "brightness_max": 1.15, "brightness_p": 0.5,
                              "contrast_min": 0.85, "contrast_max": 1.15, "contrast_p": 0.5},
                "geometric": {"rotation_min": -180.0, "rotation_max": 180.0, "scale_min": 0.9,
                              "scale_max": 1.1, "affine_p": 1.0},
            },
        },
        "model_config": {
            "backbone_config": {"unet": {"in_channels": 1, "filters": 16, "filters_rate": 2.0,
                                         "max_stride": 16, "output_stride": 2}},
            "head_configs": {"single_instance": {"confmaps": {"sigma": 2.5,
                                                              "output_stride": 2}}},
        },
        "trainer_config": {
            "train_data_loader": {"batch_size": 8, "shuffle": True},
            "val_data_loader": {"batch_size": 8},
            "model_ckpt": {"save_top_k": 1, "save_last": True},
            "max_epochs": max_epochs,
            "min_train_steps_per_epoch": 25,
            "seed": 0,
            "save_ckpt": True,
            "ckpt_dir": str(run_root),
            "run_name": "demo_single_instance",
            "optimizer_name": "Adam",
            "optimizer": {"lr": 0.002},
            "lr_scheduler": {"reduce_lr_on_plateau": {"patience": 3, "factor": 0.5,
                                                      "threshold": 1e-6, "min_lr": 1e-5}},
            "enable_progress_bar": True,
        },
    }


@dataclass
class DemoResult:
    """Paths and numbers of one demo run."""

    out_dir: Path
    run_dir: Path
    trained: dict
    untrained: dict
    training: dict
    paths: dict[str, Path] = field(default_factory=dict)


def _headline(metrics: EvaluationResult) -> dict:
    """The demo summary's numbers: mean pixel error, RMSE, median, p90, PCK@5px, mAP, speed."""
    loc = metrics.localization
    return {
        "mean_px": loc.mean_px, "rmse_px": loc.rmse_px,
        "median_px": loc.median_px, "p90_px": loc.p90_px,
        "pck_5px": metrics.pck.px.get(5.0),
        "mAP": metrics.oks.map,
        "frames_per_s": metrics.inference.frames_per_second if metrics.inference else None,
    }


def _untrained_copy(run_dir: Path, target: Path) -> Path:
    """A run folder with the same network before any training (the baseline)."""
    import shutil

    import torch

    from posekit.inference.run_folder import open_run_folder
    from posekit.models.build import build_model

    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(run_dir / "training_config.yaml", target / "training_config.yaml")
    run = open_run_folder(run_dir)
    torch.manual_seed(0)
    model = build_model(run.config.model_config, run.model_type.heads, pretrained=False)
    state = {f"model.{k}": v for k, v in model.state_dict().items()}
    torch.save({"state_dict": state, "posekit": {"head_type": run.head_type,
                                                 "node_names": list(run.info.node_names)}},
               target / "best.ckpt")
    return target


def _predict_and_score(run_dir: Path, video: Path, truth: Path, out: Path) -> EvaluationResult:
    from posekit.evaluation import InferenceInfo, evaluate, save_metrics
    from posekit.inference.pipeline import load_model, predict_source
    from posekit.io.labels import load_labels
    from posekit.io.writers import save_labels

    # Threshold 0: every node gets its best guess, so errors are defined for both models.
    model = load_model(run_dir, peak_threshold=0.0, backend="torch", batch_size=16)
    report = predict_source(model, video)
    save_labels(report.labels, out)
    inference = InferenceInfo(frames=report.frames, seconds=report.seconds,
                              frames_per_second=report.frames_per_second,
                              backend=report.backend)
    metrics = replace(evaluate(load_labels(truth), report.labels), inference=inference)
    save_metrics(metrics, out.with_suffix(".metrics.json"))
    return metrics


def run_demo(out_dir: str | Path = "posekit_demo", minutes: float = 2.0, seed: int = 0,
             train_frames: int = 400, test_frames: int = 200) -> DemoResult:
    """Render data, train for ``minutes``, predict a held-out video, score both models."""
    from posekit.training.trainer import train

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    common = {"height": IMAGE_SIZE, "width": IMAGE_SIZE, "n_animals": 1, "skeleton": "mouse"}
    train_path = out / "synthetic_train.pkg.slp"
    write_dataset(SynthSpec(n_frames=train_frames, seed=seed, **common), train_path)
    test_labels, test_video = out / "synthetic_test.slp", out / "synthetic_test.mp4"
    write_dataset(SynthSpec(n_frames=test_frames, seed=seed + 1000, **common), test_labels,
                  test_video)
    cfg = load_config(demo_config(train_path, out / "runs", max_epochs=1000))
    start = time.perf_counter()
    result = train(cfg, time_limit_s=minutes * 60.0)
    train_time = time.perf_counter() - start
    run_dir = result.run_dir
    trained = _predict_and_score(run_dir, test_video, test_labels,
                                 out / "predictions_trained.slp")
    baseline_dir = _untrained_copy(run_dir, out / "runs" / "untrained_baseline")
    untrained = _predict_and_score(baseline_dir, test_video, test_labels,
                                   out / "predictions_untrained.slp")
    summary = {
        "trained": _headline(trained),
        "untrained": _headline(untrained),
        "training": {"epochs": result.epochs, "seconds": train_time,
                     "samples_per_s": result.train_samples_per_s},
    }
    (out / "demo_summary.json").write_text(json.dumps(summary, indent=1))
    paths = {"train data": train_path, "test video": test_video, "test labels": test_labels,
             "run folder": run_dir, "predictions": out / "predictions_trained.slp",
             "metrics": out / "predictions_trained.metrics.json",
             "summary": out / "demo_summary.json"}
    return DemoResult(out, run_dir, summary["trained"], summary["untrained"],
                      summary["training"], paths)
