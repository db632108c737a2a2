"""Shared pytest fixtures.

``shared_data`` points at the real datasets in ``../shared/data`` (beside the project
checkout). Tests that use it skip with a clear reason where that folder is absent
(a fresh clone); in CI it is present and they run.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

# Trained-model tests compare accuracies with thresholds, and x86 CPUs with AVX-512 run other
# convolution and reduction kernels than AVX2-only ones, so the same seed trains a slightly
# different network on them. Capping both kernel libraries at AVX2 (set before torch loads)
# runs the kernels the thresholds were measured with on every x86 machine; cache-dependent
# blocking can still differ, so the thresholds keep their own margins.
if platform.machine().lower() in ("x86_64", "amd64"):
    os.environ.setdefault("ATEN_CPU_CAPABILITY", "avx2")
    os.environ.setdefault("ONEDNN_MAX_CPU_ISA", "AVX2")

import pytest
from hypothesis import settings

# Property tests draw the same examples on every run, so a suite that passed once passes
# again (a counterexample found while exploring is kept with @example in its test).
# HYPOTHESIS_PROFILE=explore draws new random examples each run.
settings.register_profile("reproducible", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "reproducible"))

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("POSEKIT_SHARED_DATA", PROJECT_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Folder of real labelled datasets; skips the test when it is not available."""
    if not (SHARED_DATA / "manifest.json").is_file():
        pytest.skip(
            f"real datasets not found at {SHARED_DATA} (expected ../shared/data beside the "
            "project, or set POSEKIT_SHARED_DATA); these tests run in CI where it is present"
        )
    return SHARED_DATA


@pytest.fixture(scope="session")
def synth_single(tmp_path_factory) -> Path:
    """A small synthetic single-mouse dataset (64x64, 60 frames) as a .pkg.slp."""
    from posekit.io.synthetic import SynthSpec, write_dataset

    path = tmp_path_factory.mktemp("synth") / "single.pkg.slp"
    write_dataset(SynthSpec(n_frames=60, height=64, width=64, seed=11, animal_size=0.45,
                            occluders=0), path)
    return path


@pytest.fixture(scope="session")
def synth_pair(tmp_path_factory) -> Path:
    """A small synthetic dataset with two identifiable mice per frame (96x96, 60 frames)."""
    from posekit.io.synthetic import SynthSpec, write_dataset

    path = tmp_path_factory.mktemp("synth") / "pair.pkg.slp"
    write_dataset(SynthSpec(n_frames=80, n_animals=2, height=96, width=96, seed=12,
                            animal_size=0.35, occluders=0), path)
    return path


def tiny_config(model_type: str, labels: Path, run_dir: Path, **trainer) -> dict:
    """A small, fast configuration of ``model_type`` for tests (dotted keys in ``trainer``
    override ``trainer_config`` entries)."""
    heads = {
        "single_instance": {"confmaps": {"sigma": 2.0, "output_stride": 2}},
        "centroid": {"confmaps": {"sigma": 2.0, "output_stride": 2}},
        "centered_instance": {"confmaps": {"sigma": 3.0, "output_stride": 2}},
        "bottomup": {"confmaps": {"sigma": 3.0, "output_stride": 2},
                     "pafs": {"sigma": 4.0, "output_stride": 4}},
        "multi_class_bottomup": {"confmaps": {"sigma": 2.0, "output_stride": 2},
                                 "class_maps": {"sigma": 3.0, "output_stride": 2}},
        "multi_class_topdown": {"confmaps": {"sigma": 3.0, "output_stride": 2},
                                "class_vectors": {"num_fc_units": 32, "output_stride": 8}},
    }
    config = {
        "data_config": {"train_labels_path": [str(labels)], "validation_fraction": 0.2,
                        "data_pipeline_fw": "torch_dataset_cache_img_memory",
                        "preprocessing": {"min_crop_size": 16}},
        "model_config": {
            "backbone_config": {"unet": {"in_channels": 1, "filters": 8, "filters_rate": 2.0,
                                         "max_stride": 8, "output_stride": 2}},
            "head_configs": {model_type: heads[model_type]},
        },
        "trainer_config": {
            "train_data_loader": {"batch_size": 4, "shuffle": True},
            "val_data_loader": {"batch_size": 4},
            "model_ckpt": {"save_top_k": 1, "save_last": True},
            "max_epochs": 2, "min_train_steps_per_epoch": 5, "seed": 0, "save_ckpt": True,
            "ckpt_dir": str(run_dir.parent), "run_name": run_dir.name,
            "optimizer": {"lr": 0.003}, "enable_progress_bar": False,
        },
    }
    if model_type == "centroid":  # coarse input, wide receptive field: see every whole animal
        config["data_config"]["preprocessing"]["scale"] = 0.5
        config["model_config"]["backbone_config"]["unet"]["max_stride"] = 16
    config["trainer_config"].update(trainer)
    return config


@pytest.fixture(scope="session")
def make_tiny_config():
    """Factory fixture around :func:`tiny_config`."""
    return tiny_config


@pytest.fixture(scope="session")
def trained_single(synth_single, tmp_path_factory) -> Path:
    """Run folder of a tiny single-instance model trained for a few hundred steps (slow)."""
    from posekit.training.trainer import train

    run_dir = tmp_path_factory.mktemp("runs") / "single"
    cfg = tiny_config("single_instance", synth_single, run_dir, max_epochs=6,
                      min_train_steps_per_epoch=50)
    cfg["data_config"]["use_augmentations_train"] = True
    cfg["data_config"]["augmentation_config"] = {
        "geometric": {"rotation_min": -180.0, "rotation_max": 180.0, "affine_p": 1.0}}
    return train(cfg).run_dir


def template_config(model_type: str, labels: Path, run_dir: Path, epochs: int = 12,
                    steps: int = 40) -> dict:
    """``posekit config init --model-type`` output plus data paths and a short schedule.

    Only what a test must change is changed: the labels path, the training length, where
    the run goes, a smaller minimum crop for the 96-pixel synthetic frames, and no progress
    bar.
    """
    import yaml

    from posekit.config import init_config

    cfg = yaml.safe_load(init_config(model_type))
    cfg["data_config"]["train_labels_path"] = [str(labels)]
    cfg["data_config"]["validation_fraction"] = 0.2
    cfg["data_config"]["preprocessing"]["min_crop_size"] = 32
    cfg["trainer_config"].update({
        "max_epochs": epochs, "min_train_steps_per_epoch": steps, "seed": 0,
        "ckpt_dir": str(run_dir.parent), "run_name": run_dir.name,
        "enable_progress_bar": False, "visualize_preds_during_training": False})
    return cfg


@pytest.fixture(scope="session")
def make_template_config():
    """Factory fixture around :func:`template_config`."""
    return template_config


@pytest.fixture(scope="session")
def trained_multi(synth_pair, tmp_path_factory):
    """Factory: run folder of a model of the given type trained on ``synth_pair`` (cached)."""
    from posekit.training.trainer import train

    cache: dict[str, Path] = {}
    root = tmp_path_factory.mktemp("multi_runs")

    def get(model_type: str) -> Path:
        if model_type not in cache:
            cache[model_type] = train(template_config(model_type, synth_pair,
                                                      root / model_type)).run_dir
        return cache[model_type]

    return get


def degraded_detections(points, noise_px: float, drop: float, seed: int) -> list:
    """Per frame, the ``(n, K, 2)`` true poses with Gaussian noise of ``noise_px`` on every
    node, a fraction ``drop`` of the instances removed at random and the rest shuffled:
    what a pose model hands the tracker."""
    import numpy as np

    rng = np.random.default_rng(seed)
    out = []
    for pts in points:
        noisy = np.asarray(pts, np.float64) + rng.normal(0.0, noise_px, np.shape(pts))
        order = rng.permutation(len(noisy))
        keep = rng.random(len(noisy)) >= drop
        out.append(noisy[order][keep[order]].astype(np.float32))
    return out


def tracked_identity(gt, gt_tracks, gt_track_names, pred, pred_ids, frame_indices=None):
    """posekit's identity metrics (``IdentityResult``: ID switches, identity accuracy...) of
    tracker ids ``pred_ids`` on detections ``pred`` against the true poses and tracks."""
    from posekit.evaluation import evaluate_arrays

    n_ids = max((int(i.max()) + 1 for i in pred_ids if len(i)), default=0)
    return evaluate_arrays(
        gt, pred, gt_tracks=gt_tracks, pred_tracks=pred_ids, gt_track_names=gt_track_names,
        pred_track_names=[f"track_{i}" for i in range(n_ids)], frame_indices=frame_indices,
    ).identity


@pytest.fixture(scope="session")
def degrade_detections():
    """Factory fixture around :func:`degraded_detections`."""
    return degraded_detections


@pytest.fixture(scope="session")
def score_tracks():
    """Factory fixture around :func:`tracked_identity`."""
    return tracked_identity
