"""End-to-end training of a single-instance model on synthetic data (slow tests)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from posekit.evaluation import evaluate, load_metrics
from posekit.inference.pipeline import load_model, predict_source
from posekit.io.labels import load_labels
from posekit.training.training_log import read_training_log

pytestmark = pytest.mark.slow


def _untrained_error(run_dir, labels_path, tmp_path) -> float:
    from posekit.demo import _untrained_copy

    baseline = _untrained_copy(run_dir, tmp_path / "untrained")
    model = load_model(baseline, peak_threshold=0.0, backend="torch")
    report = predict_source(model, load_labels(run_dir / "labels_gt.val.slp"))
    error = evaluate(load_labels(run_dir / "labels_gt.val.slp"), report.labels).localization
    assert error.mean_px is not None
    return error.mean_px


def test_run_folder_is_complete(trained_single):
    run = trained_single
    for name in ("training_config.yaml", "best.ckpt", "last.ckpt", "training_log.csv",
                 "labels_gt.train.slp", "labels_gt.val.slp", "labels_pr.val.slp",
                 "metrics.val.json", "model.onnx", "model.onnx.json"):
        assert (run / name).is_file(), name
    log = read_training_log(run / "training_log.csv")
    assert [r.epoch for r in log.epochs] == list(range(6))
    assert all(r.train_loss is not None and r.lr is not None for r in log.epochs)
    metrics = load_metrics(run / "metrics.val.json")
    assert metrics.training is not None and metrics.training.epochs == 6
    assert metrics.inference is not None and metrics.inference.frames == 12
    checkpoint = torch.load(run / "best.ckpt", weights_only=True, map_location="cpu")
    assert checkpoint["posekit"]["head_type"] == "single_instance"
    assert len(load_labels(run / "labels_gt.val.slp").labeled_frames) == 12
    assert len(load_labels(run / "labels_gt.train.slp").labeled_frames) == 48


def test_model_learns_far_beyond_untrained_baseline(trained_single, tmp_path):
    metrics = load_metrics(trained_single / "metrics.val.json")
    losses = read_training_log(trained_single / "training_log.csv").column("train_loss")
    assert losses[-1] is not None and losses[0] is not None and losses[-1] < 0.5 * losses[0]
    trained = load_model(trained_single, peak_threshold=0.0, backend="torch")
    labels = load_labels(trained_single / "labels_gt.val.slp")
    mean_trained = evaluate(labels, predict_source(trained, labels).labels).localization.mean_px
    mean_untrained = _untrained_error(trained_single, None, tmp_path)
    assert mean_untrained > 10.0
    assert mean_trained is not None and mean_trained < 0.35 * mean_untrained, (
        mean_trained, mean_untrained)
    assert metrics.counts.frames == 12


def test_onnx_and_torch_backends_agree(trained_single, synth_single):
    labels = load_labels(synth_single)
    frames = np.stack([labels.videos[0][i] for i in range(6)])
    onnx = load_model(trained_single, backend="onnx", precision="fp32",
                      peak_threshold=0.0)
    eager = load_model(trained_single, backend="torch", peak_threshold=0.0)
    for a, b in zip(onnx.predict(frames), eager.predict(frames)):
        np.testing.assert_allclose(a.points, b.points, atol=1e-3)
        np.testing.assert_allclose(a.point_scores, b.point_scores, atol=1e-4)


def test_python_api_predicts_frames_and_files(trained_single, synth_single):
    import posekit

    predictor = posekit.load_model(trained_single)
    labels = load_labels(synth_single)
    one = predictor.predict(labels.videos[0][0])
    assert len(one) == 1 and one[0].points.shape[1:] == (8, 2)
    predicted = predictor.predict(synth_single)
    assert sorted(lf.frame_idx for lf in predicted.labeled_frames) == list(range(60))
    assert all(type(i).__name__ == "PredictedInstance"
               for lf in predicted.labeled_frames for i in lf.instances)
    # A frame and a file give the same pose, where the mouse is.
    first = next(lf for lf in predicted.labeled_frames if lf.frame_idx == 0)
    np.testing.assert_allclose(first.instances[0].numpy(), one[0].points[0], atol=1e-3)
    metrics = evaluate(labels, predicted)
    print("python API:", metrics.counts, metrics.localization)
    assert (metrics.counts.matched, metrics.counts.missed_gt) == (60, 0), metrics.counts
    assert metrics.localization.median_px < 4.0, metrics.localization  # measured: 2.9 px


def test_streaming_preprocesses_on_the_decoding_thread(trained_single, synth_single,
                                                      monkeypatch):
    """predict_source resizes frames where they are decoded (never again on the main
    thread), with the same results as predicting the decoded arrays directly."""
    import threading

    model = load_model(trained_single, backend="onnx", precision="fp32", batch_size=4)
    prep_class = type(model.predictor.run.prep)
    threads: list[str] = []
    real = prep_class.preprocess_frames

    def spy(self, frames, *args, **kwargs):
        threads.append(threading.current_thread().name)
        return real(self, frames, *args, **kwargs)

    monkeypatch.setattr(prep_class, "preprocess_frames", spy)
    report = predict_source(model, synth_single)
    assert threads and all(name.startswith("posekit-decode") for name in threads)
    labels = load_labels(synth_single)
    frames = np.stack([lf.image for lf in labels.labeled_frames[:8]])
    direct = model.predict(frames)
    streamed = {lf.frame_idx: lf for lf in report.labels.labeled_frames}
    for lf, pred in zip(labels.labeled_frames[:8], direct, strict=True):
        np.testing.assert_allclose(streamed[lf.frame_idx].instances[0].numpy(),
                                   pred.points[0], atol=1e-4)
