"""Every multi-animal model type on the real two-fly data with identities (slow).

Training uses every 5th labelled frame of ``clip.slp`` (300 frames, 1024x1024, two flies
tracked as female / male). Each model is small and trained briefly so the suite stays
within CI's budget; the assertions check that each one learned (far better than the same
network untrained) and that identity models tell the flies apart (far above chance).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import sleap_io as sio

from posekit.cli.main import main
from posekit.demo import _untrained_copy
from posekit.evaluation import evaluate
from posekit.io.labels import load_labels
from posekit.training.finish import evaluate_run
from posekit.training.trainer import train

pytestmark = pytest.mark.slow

UNET = {"in_channels": 1, "filters": 16, "filters_rate": 2.0, "max_stride": 16,
        "output_stride": 2}
SETTINGS = {
    "centroid": ({"scale": 0.25}, {"confmaps": {"anchor_part": "thorax", "sigma": 2.0,
                                                "output_stride": 2}}),
    "centered_instance": ({"scale": 0.5}, {"confmaps": {"anchor_part": "thorax", "sigma": 2.0,
                                                        "output_stride": 2}}),
    "bottomup": ({"scale": 0.5}, {"confmaps": {"sigma": 2.5, "output_stride": 4},
                                  "pafs": {"sigma": 4.0, "output_stride": 8}}),
    "multi_class_bottomup": ({"scale": 0.5}, {"confmaps": {"sigma": 2.5, "output_stride": 4},
                                              "class_maps": {"sigma": 4.0,
                                                             "output_stride": 4}}),
    "multi_class_topdown": ({"scale": 0.5}, {
        "confmaps": {"anchor_part": "thorax", "sigma": 2.0, "output_stride": 2},
        "class_vectors": {"output_stride": 16, "loss_weight": 0.003}}),
}


@pytest.fixture(scope="session")
def flies(shared_data, tmp_path_factory) -> Path:
    """Every 5th frame of clip.slp, as labels that refer to the real clip.mp4."""
    labels = sio.load_slp(str(shared_data / "clip.slp"))
    frames = [lf for lf in labels.labeled_frames if lf.frame_idx % 5 == 0]
    labels.videos[0].replace_filename(str(shared_data / "clip.mp4"), open=False)
    subset = sio.Labels(labeled_frames=frames, videos=labels.videos,
                        skeletons=labels.skeletons, tracks=labels.tracks)
    path = tmp_path_factory.mktemp("flies") / "flies.slp"
    sio.save_slp(subset, str(path))
    return path


def fly_config(model_type: str, labels: Path, run_dir: Path) -> dict:
    prep, head = SETTINGS[model_type]
    return {
        "data_config": {
            "train_labels_path": [str(labels)], "validation_fraction": 0.1,
            "data_pipeline_fw": "torch_dataset_cache_img_memory",
            "preprocessing": {"min_crop_size": 32, **prep},
            "use_augmentations_train": True,
            "augmentation_config": {"geometric": {"rotation_min": -180.0,
                                                  "rotation_max": 180.0, "affine_p": 1.0}},
        },
        "model_config": {"backbone_config": {"unet": dict(UNET)},
                         "head_configs": {model_type: head}},
        "trainer_config": {
            "train_data_loader": {"batch_size": 4, "shuffle": True},
            "val_data_loader": {"batch_size": 4},
            "model_ckpt": {"save_top_k": 1, "save_last": True},
            "max_epochs": 8, "train_steps_per_epoch": 30, "seed": 0, "save_ckpt": True,
            "ckpt_dir": str(run_dir.parent), "run_name": run_dir.name,
            "optimizer": {"lr": 0.002}, "enable_progress_bar": False,
        },
    }


@pytest.fixture(scope="session")
def fly_models(flies, tmp_path_factory):
    cache: dict[str, Path] = {}
    root = tmp_path_factory.mktemp("fly_runs")

    def get(model_type: str) -> Path:
        if model_type not in cache:
            cache[model_type] = train(fly_config(model_type, flies, root / model_type)).run_dir
        return cache[model_type]

    return get


@pytest.mark.parametrize("model_type", list(SETTINGS))
def test_model_type_learns_the_flies(model_type, fly_models, tmp_path):
    run = fly_models(model_type)
    metrics = json.loads((run / "metrics.val.json").read_text())
    val = load_labels(run / "labels_gt.val.slp")
    baseline = evaluate_run(_untrained_copy(run, tmp_path / "untrained"), val)
    counts, loc = metrics["counts"], metrics["localization"]
    print(model_type, json.dumps({"mAP": metrics["oks"]["mAP"], "mean_px": loc["mean_px"],
                                  "recall": counts["instance_recall"],
                                  "identity": metrics["identity"].get("identity_accuracy"),
                                  "train": metrics["training"],
                                  "inference": metrics.get("inference")}))
    assert counts["instance_recall"] >= 0.7, counts
    untrained_recall = baseline["counts"]["instance_recall"] or 0.0
    untrained_px = baseline["localization"]["mean_px"]
    assert untrained_recall <= 0.3 or (untrained_px is not None and
                                       untrained_px > 3 * loc["mean_px"]), baseline["counts"]
    if model_type.startswith("multi_class"):
        assert metrics["identity"]["identity_accuracy"] >= 0.75, metrics["identity"]


def test_top_down_pair_tracks_a_video_and_is_scored_from_the_cli(fly_models, shared_data,
                                                                 tmp_path, capsys):
    centroid, centered = fly_models("centroid"), fly_models("centered_instance")
    out = tmp_path / "clip.predictions.slp"
    code = main(["track", str(shared_data / "clip.mp4"), "-m", str(centroid), "-m",
                 str(centered), "-o", str(out), "--frames", "0-99", "--tracking",
                 "--max-tracks", "2", "--max-instances", "2"])
    assert code == 0, capsys.readouterr().err
    predicted = sio.load_slp(str(out))
    assert len(predicted.labeled_frames) == 100 and len(predicted.tracks) <= 2
    truth = sio.load_slp(str(shared_data / "clip.slp"))
    truth.labeled_frames = [lf for lf in truth.labeled_frames if lf.frame_idx < 100]
    metrics = evaluate(truth, predicted)
    ident = metrics["identity"]
    assert metrics["counts"]["instance_recall"] >= 0.7
    assert ident["available"] and ident["id_switches"] <= 10, ident
    assert code == main(["eval", str(shared_data / "clip.slp"), str(out), "-o",
                         str(tmp_path / "m.json")])
    saved = json.loads((tmp_path / "m.json").read_text())
    assert np.isfinite(saved["localization"]["mean_px"])
