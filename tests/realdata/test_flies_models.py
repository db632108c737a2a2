"""Every multi-animal model type on the real two-fly data with identities (slow).

Training uses every 5th labelled frame of ``clip.slp`` (300 frames, 1024x1024, two flies
tracked as female / male). Each model is small and trained for a couple of hundred steps
so the suite stays within CI's budget: every type must run end to end (train, export,
predict the validation frames, score them) and learn (its loss falls several-fold); the
top-down models, which learn fastest, must also find the flies accurately. Accuracy of
longer trainings per model type is measured by ``benchmarks/flies_model_types.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import sleap_io as sio

from posekit.cli.main import main
from posekit.demo import _untrained_copy
from posekit.evaluation import evaluate, load_metrics
from posekit.io.labels import load_labels
from posekit.training.finish import evaluate_run
from posekit.training.trainer import train
from posekit.training.training_log import read_training_log

pytestmark = pytest.mark.slow

# Whole frames are shrunk to 256 x 256 with a narrow UNet; crops of top-down instance models
# are cut at half resolution with a wider one.
WHOLE_FRAME = ({"scale": 0.25}, 8, 6)  # preprocessing, UNet filters, epochs
CROPS = ({"scale": 0.5}, 16, 10)
# Gaussians are wider than for a long training (they leave the "all maps zero" plateau
# sooner); see the issue note for longer runs.
SETTINGS = {
    "centroid": (WHOLE_FRAME, {"confmaps": {"anchor_part": "thorax", "sigma": 1.0,
                                            "output_stride": 2}}),
    "centered_instance": (CROPS, {"confmaps": {"anchor_part": "thorax", "sigma": 2.0,
                                               "output_stride": 2}}),
    "bottomup": (WHOLE_FRAME, {"confmaps": {"sigma": 1.25, "output_stride": 2},
                               "pafs": {"sigma": 4.0, "output_stride": 4}}),
    "multi_class_bottomup": (WHOLE_FRAME, {"confmaps": {"sigma": 1.25, "output_stride": 2},
                                           "class_maps": {"sigma": 2.0, "output_stride": 2}}),
    "multi_class_topdown": (CROPS, {
        "confmaps": {"anchor_part": "thorax", "sigma": 2.0, "output_stride": 2},
        "class_vectors": {"output_stride": 16, "loss_weight": 0.003}}),
}


# Validation recall and mean pixel error each type must reach (full-frame pixels; a centroid
# model is scored on its anchors). Measured: centroid 1.0 / 2.7 px, centered_instance
# 1.0 / 9.8 px, multi_class_topdown 1.0 / 7.9 px, multi_class_bottomup 0.93 / 43 px.
# bottomup is left out: after this short training its maps stay below the peak threshold
# (recall 0); it must only run end to end and learn.
ACCURACY = {"centroid": (0.9, 6.0), "centered_instance": (0.9, 15.0),
            "multi_class_topdown": (0.9, 15.0), "multi_class_bottomup": (0.7, 80.0)}


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
    (prep, filters, epochs), head = SETTINGS[model_type]
    unet = {"in_channels": 1, "filters": filters, "filters_rate": 2.0, "max_stride": 16,
            "output_stride": 2}
    return {
        "data_config": {
            "train_labels_path": [str(labels)], "validation_fraction": 0.1,
            "data_pipeline_fw": "torch_dataset_cache_img_memory",
            "preprocessing": {"min_crop_size": 32, **prep},
            "use_augmentations_train": True,
            "augmentation_config": {"geometric": {"rotation_min": -180.0,
                                                  "rotation_max": 180.0, "affine_p": 1.0}},
        },
        "model_config": {"backbone_config": {"unet": unet},
                         "head_configs": {model_type: head}},
        "trainer_config": {
            "train_data_loader": {"batch_size": 4, "shuffle": True},
            "val_data_loader": {"batch_size": 4},
            "model_ckpt": {"save_top_k": 1, "save_last": True},
            "max_epochs": epochs, "train_steps_per_epoch": 25, "seed": 0, "save_ckpt": True,
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
def test_model_type_trains_on_the_flies(model_type, fly_models, tmp_path):
    run = fly_models(model_type)
    metrics = load_metrics(run / "metrics.val.json")
    losses = read_training_log(run / "training_log.csv").column("train_loss")
    first, last = losses[0], losses[-1]
    assert first is not None and last is not None
    print(model_type, json.dumps({"mAP": metrics.oks.map,
                                  "mean_px": metrics.localization.mean_px,
                                  "recall": metrics.counts.instance_recall,
                                  "identity": metrics.identity.identity_accuracy,
                                  "loss": [first, last], "train": str(metrics.training)}))
    # Whole-frame maps start near zero everywhere and fall several-fold; crop models start
    # with the animal centred and wide Gaussians, so their loss starts lower.
    assert last < (0.8 if SETTINGS[model_type][0] is CROPS else 0.5) * first, (first, last)
    assert metrics.counts.frames == 30 and metrics.counts.gt_instances == 60
    if model_type in ACCURACY:
        min_recall, max_mean_px = ACCURACY[model_type]
        assert (metrics.counts.instance_recall or 0.0) >= min_recall, metrics.counts
        mean_px = metrics.localization.mean_px
        assert mean_px is not None and mean_px < max_mean_px, metrics.localization
    assert (run / "model.onnx").is_file()
    predictions = run / "labels_pr.val.slp"
    if model_type == "centroid":
        # A centroid model is scored alone, on its anchors as one-node instances; it
        # predicts no poses, so it writes no predictions file.
        assert not predictions.exists()
        assert metrics.settings.nodes == ("anchor",), metrics.settings
        assert any("centroid model scored alone" in n for n in metrics.notes), metrics.notes
        return
    # The predictions file holds what was scored: the 30 validation frames, the fly
    # skeleton, as many predicted instances as the metrics counted.
    predicted = sio.load_slp(str(predictions))
    truth = sio.load_slp(str(run / "labels_gt.val.slp"))
    assert sorted(lf.frame_idx for lf in predicted.labeled_frames) == sorted(
        lf.frame_idx for lf in truth.labeled_frames)
    instances = [i for lf in predicted.labeled_frames for i in lf.instances]
    assert len(instances) == metrics.counts.predicted_instances
    assert all(isinstance(i, sio.PredictedInstance) for i in instances)
    assert predicted.skeleton.node_names == truth.skeleton.node_names
    assert list(metrics.settings.nodes) == truth.skeleton.node_names
    if model_type.startswith("multi_class"):  # identities are the labelled classes
        assert {t.name for t in predicted.tracks} <= {"female", "male"}
        assert metrics.identity.available and metrics.identity.mapping_rule == "name"


@pytest.mark.parametrize("model_type", ["centroid", "centered_instance"])
def test_top_down_stages_find_the_flies(model_type, fly_models, tmp_path):
    run = fly_models(model_type)
    metrics = load_metrics(run / "metrics.val.json")
    val = load_labels(run / "labels_gt.val.slp")
    baseline = evaluate_run(_untrained_copy(run, tmp_path / "untrained"), val)
    mean_px = metrics.localization.mean_px
    assert (metrics.counts.instance_recall or 0.0) >= 0.9, metrics.counts
    assert mean_px is not None and mean_px < 15.0, metrics.localization
    untrained_px = baseline.localization.mean_px
    assert (baseline.counts.instance_recall or 0.0) <= 0.3 or (
        untrained_px is not None and untrained_px > 3 * mean_px)


def test_top_down_pair_tracks_a_video_and_is_scored_from_the_cli(fly_models, shared_data,
                                                                 tmp_path, capsys):
    centroid, centered = fly_models("centroid"), fly_models("centered_instance")
    out = tmp_path / "clip.predictions.slp"
    code = main(["track", str(shared_data / "clip.mp4"), "-m", str(centroid), "-m",
                 str(centered), "-o", str(out), "--frames", "0-99", "--tracking",
                 "--max-tracks", "2", "--max-instances", "2"])
    assert code == 0, capsys.readouterr().err
    predicted = sio.load_slp(str(out))
    per_frame = np.bincount([len(lf.instances) for lf in predicted.labeled_frames], minlength=3)
    truth = sio.load_slp(str(shared_data / "clip.slp"))
    truth.labeled_frames = [lf for lf in truth.labeled_frames if lf.frame_idx < 100]
    metrics = evaluate(truth, predicted)
    ident = metrics.identity
    print("top-down pair on frames 0-99:", per_frame, len(predicted.tracks), metrics.counts,
          metrics.localization, metrics.pck.px, ident)
    # Measured: both flies found on all 100 frames (200 of 200 matched, none extra), mean
    # error 9.5 px, two tracks that never switch (identity accuracy 1.0, MOTA 1.0).
    assert len(predicted.labeled_frames) == 100 and len(predicted.tracks) == 2
    assert per_frame[2] >= 95, per_frame
    assert (metrics.counts.instance_recall or 0.0) >= 0.95, metrics.counts
    assert metrics.counts.unmatched_predictions <= 5, metrics.counts
    assert metrics.localization.mean_px is not None and metrics.localization.mean_px < 15.0
    assert ident.available and ident.id_switches is not None and ident.id_switches <= 2, ident
    assert (ident.identity_accuracy or 0.0) >= 0.95 and (ident.mota or 0.0) >= 0.9, ident
    assert code == main(["eval", str(shared_data / "clip.slp"), str(out), "-o",
                         str(tmp_path / "m.json")])
    # The CLI scores all 1500 labelled frames: the 1400 without predictions count as missed.
    saved = load_metrics(tmp_path / "m.json")
    assert (saved.counts.frames, saved.counts.matched) == (1500, metrics.counts.matched)
    assert saved.localization.mean_px == pytest.approx(metrics.localization.mean_px)
    assert saved.identity.id_switches == ident.id_switches
