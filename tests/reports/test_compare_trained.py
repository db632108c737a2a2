"""Rounds side by side with real trained models: a barely trained run against a trained
one, from their saved validation predictions and by predicting --test labels."""

from __future__ import annotations

import json

import pytest

from posekit.workflow.compare_runs import PREDICTED, SAVED, compare_runs

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def barely_trained(synth_single, make_tiny_config, tmp_path_factory):
    from posekit.training.trainer import train

    run_dir = tmp_path_factory.mktemp("runs") / "barely"
    cfg = make_tiny_config("single_instance", synth_single, run_dir, max_epochs=2,
                           min_train_steps_per_epoch=40)
    return train(cfg).run_dir


def test_trained_run_beats_barely_trained_run(barely_trained, trained_single, synth_single):
    saved = compare_runs(barely_trained, trained_single, n_boot=500)
    assert saved.predictions == SAVED
    assert saved.frames == 12  # same seed and fraction: the same 20 % of 60 frames
    predicted = compare_runs(barely_trained, trained_single, test=synth_single, n_boot=500)
    assert predicted.predictions == PREDICTED and predicted.frames == 60
    assert saved.overall.delta < 0, saved.summary  # 12 frames: the sign, not significance
    assert predicted.overall.verdict == "better", predicted.summary
    assert predicted.overall.mean_b < predicted.overall.mean_a


def test_compare_from_the_command_line(barely_trained, trained_single, tmp_path):
    from posekit.cli.main import main

    out = tmp_path / "compare.html"
    assert main(["report", "compare", str(barely_trained), str(trained_single), "-o",
                 str(out), "--bootstrap", "300"]) == 0
    data = json.loads(out.with_suffix(".json").read_text())
    assert data["kind"] == "compare"
    assert data["results"]["compare"]["overall"]["delta_px"] < 0
