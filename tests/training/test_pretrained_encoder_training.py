"""A model on the ImageNet-pretrained EfficientNet-Lite0 encoder trains, exports and predicts."""

from __future__ import annotations

import numpy as np
import pytest

from posekit.evaluation import evaluate
from posekit.inference.pipeline import load_model, predict_source
from posekit.io.labels import load_labels

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trained_lite0(synth_single, make_tiny_config, tmp_path_factory):
    from posekit.training.trainer import train

    run_dir = tmp_path_factory.mktemp("runs") / "lite0"
    cfg = make_tiny_config("single_instance", synth_single, run_dir, max_epochs=4,
                           min_train_steps_per_epoch=40)
    cfg["model_config"]["backbone_config"] = {"efficientnet_lite0": {
        "in_channels": 1, "max_stride": 8, "output_stride": 2}}
    return train(cfg)


def test_starts_from_imagenet_and_predicts_far_better_than_untrained(trained_lite0,
                                                                    tmp_path):
    from posekit.demo import _untrained_copy

    run = trained_lite0.run_dir
    assert "efficientnet_lite0" in (run / "training_config.yaml").read_text()
    labels = load_labels(run / "labels_gt.val.slp")
    errors = {}
    for name, folder in (("trained", run), ("untrained", _untrained_copy(run, tmp_path / "u"))):
        model = load_model(folder, peak_threshold=0.0, backend="torch")
        errors[name] = evaluate(labels, predict_source(model, labels).labels).localization
    print("lite0:", errors)
    assert errors["untrained"].mean_px > 10.0
    assert errors["trained"].mean_px < 0.35 * errors["untrained"].mean_px


def test_onnx_export_agrees_with_torch(trained_lite0, synth_single):
    labels = load_labels(synth_single)
    frames = np.stack([labels.videos[0][i] for i in range(4)])
    onnx = load_model(trained_lite0.run_dir, backend="onnx", precision="fp32",
                      peak_threshold=0.0)
    eager = load_model(trained_lite0.run_dir, backend="torch", peak_threshold=0.0)
    for a, b in zip(onnx.predict(frames), eager.predict(frames)):
        np.testing.assert_allclose(a.points, b.points, atol=1e-3)
