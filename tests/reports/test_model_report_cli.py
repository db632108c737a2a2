"""``posekit report model`` end to end on a trained run, rendered in a real browser (slow),
and its refusals (quick)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from posekit.evaluation import load_metrics
from posekit.reports.output import read_report_json


def _app():
    """The ``posekit`` command (with ``report model`` once the report group registers it)."""
    from posekit.cli.main import app

    return app


def test_refusals_name_the_problem(tmp_path):
    runner = CliRunner()
    missing = runner.invoke(_app(), ["report", "model", str(tmp_path / "nope")])
    assert missing.exit_code != 0 and "model folder not found" in str(missing.exception)
    (tmp_path / "run").mkdir()
    bad = runner.invoke(_app(), ["report", "model", str(tmp_path / "run"), "--p-cutoff", "1.5"])
    assert bad.exit_code != 0 and "--p-cutoff 1.5: expected a score between 0 and 1" in str(
        bad.exception)
    (tmp_path / "run" / "model_report.html").write_text("old")
    exists = runner.invoke(_app(), ["report", "model", str(tmp_path / "run")])
    assert "already exists" in str(exists.exception)


@pytest.mark.slow
def test_validation_split_report_equals_the_runs_metrics(trained_single, tmp_path):
    out = tmp_path / "val.html"
    result = CliRunner().invoke(_app(), ["report", "model", str(trained_single), "-o",
                                         str(out), "--train-sample", "10"])
    assert result.exit_code == 0, result.output
    model = read_report_json(out.with_suffix(".json"), kind="model").results["model"]
    val = load_metrics(trained_single / "metrics.val.json")
    assert model["test_set"] == "validation split"
    assert model["performance"]["overall"]["mean_px"] == pytest.approx(val.localization.mean_px)
    assert model["performance"]["overall"]["rmse_px"] == pytest.approx(val.localization.rmse_px)
    assert model["performance"]["oks_map"] == pytest.approx(val.oks.map)
    assert model["training"]["epochs"] == 6 and model["training"]["steps"] == 300
    assert model["train_test"]["train_frames"] == 10
    assert model["train_test"]["train_frames_total"] == 48


@pytest.mark.slow
def test_model_report_on_new_sessions_renders_in_a_browser(trained_single, tmp_path, browser):
    from posekit.io.synthetic.sessions import default_sessions, write_sessions

    data = write_sessions(tmp_path / "sessions", default_sessions(n_animals=4, n_sessions=2),
                          n_frames=10, embed=False)
    out = tmp_path / "model.html"
    video = data.video_paths[0]  # a whole video, predicted by the command
    result = CliRunner().invoke(_app(), [
        "report", "model", str(trained_single), "--test", str(data.labels_path),
        "--metadata", str(data.metadata_path), "-o", str(out), "--video", str(video)])
    assert result.exit_code == 0, result.output
    assert "wrote" in result.output
    report = read_report_json(out.with_suffix(".json"), kind="model")
    model = report.results["model"]
    assert model["performance"]["frames"] == 80
    assert model["videos"][0]["video"] == video.name and model["videos"][0]["frames"] == 10
    assert "curves" in report.results
    tested = [t["column"] for t in model["conditions"]["tests"] if t["test"]]
    assert tested == ["animal", "session", "treatment", "dose", "arena"]  # camera: one value
    # the run's training videos are not in the metadata: the whole test set is one cohort,
    # compared with the run's validation split
    cohorts = model["cohorts"]
    assert cohorts["standard_source"] == "validation split"
    assert [c["kind"] for c in cohorts["cohorts"]] == ["new recordings"]
    rise = cohorts["cohorts"][0]["rise"]
    standard, whole = cohorts["standard"]["rmse_px"], cohorts["cohorts"][0]["metrics"]["rmse_px"]
    assert rise == pytest.approx((whole - standard) / standard)
    assert cohorts["cohorts"][0]["flagged"] == (rise > 0.05)
    seen = browser.check(out)
    # node errors, PCK, train/test, cut-offs, calibration, conditions, cohorts, worst
    # frames, loss curves, video timeline and video scores
    seen.assert_clean(images=11)
    json.loads(out.with_suffix(".json").read_text())


def test_each_test_frame_gets_its_videos_metadata_row(tmp_path):
    from posekit.evaluation.pairs import labels_inputs
    from posekit.io.labels import load_labels
    from posekit.io.synthetic.sessions import default_sessions, write_sessions
    from posekit.refinement.metadata import read_metadata
    from posekit.workflow.model_report import MetadataRows, train_sample

    sessions = default_sessions(n_animals=2, n_sessions=2)
    data = write_sessions(tmp_path, sessions, n_frames=3, size=48, embed=False)
    labels = load_labels(data.labels_path)
    inputs = labels_inputs(labels, labels)  # a file without predictions is used as a whole
    rows = MetadataRows(read_metadata(data.metadata_path)).for_inputs(labels, inputs)
    assert len(rows) == 12 and not MetadataRows(None).for_frames(labels)[0]
    by_video = {s.video: s for s in sessions}
    for row, key in zip(rows, inputs.videos):
        assert row["animal"] == by_video[key.rsplit("/", 1)[-1]].animal
    sample = train_sample(labels, 5, seed=1)
    assert len(sample.labeled_frames) == 5
    assert len(train_sample(labels, 50).labeled_frames) == 12
