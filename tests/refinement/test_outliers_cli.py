"""``posekit frames outliers`` through the command line (a local Typer app), and on the
real SLEAP predictions of two flies."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
import sleap_io as sio
import typer
from typer.testing import CliRunner

from posekit.errors import ConfigError, DataError
from posekit.io.synthetic import write_video

from .outlier_helpers import make_predictions, still


def app() -> typer.Typer:
    """The ``posekit frames`` group as the CLI registers it."""
    import posekit.cli.main  # noqa: F401 - registers every command group
    from posekit.cli.frames_cmd import frames_app

    return frames_app


def run(*args: str):
    return CliRunner().invoke(app(), ["outliers", *map(str, args)])


@pytest.fixture
def predictions(tmp_path) -> Path:
    pts = still(60, n_animals=2)
    pts[30, 1, 0] += [50.0, 0.0]
    path = tmp_path / "preds.slp"
    sio.save_slp(make_predictions(pts, tracks=["a", "b"], first_frame=10,
                                  video=str(tmp_path / "video.mp4")), str(path))
    return path


def test_writes_the_frames_the_report_and_the_table(predictions, tmp_path):
    out = tmp_path / "fix.slp"
    result = run(predictions, "-o", out, "-n", "3", "--method", "jump,uncertain")
    assert result.exit_code == 0, result.output
    assert "chose 1 of 1 candidate frames" in result.output
    labels = sio.load_slp(str(out))
    assert [lf.frame_idx for lf in labels.labeled_frames] == [40]
    report = json.loads((tmp_path / "fix.outliers.json").read_text())
    assert report["settings"]["methods"] == ["jump", "uncertain"]
    assert report["chosen"][0]["summary"].startswith("jump: track b n0; up to 4")
    assert (tmp_path / "fix.outliers.csv").read_text().count("\n") == 61


def test_an_output_that_would_replace_an_input_is_refused(predictions, tmp_path):
    before = predictions.read_bytes()
    result = run(predictions, "-o", predictions, "--force")
    assert isinstance(result.exception, ConfigError) and "input" in str(result.exception)
    project = tmp_path / "project.slp"
    project.write_bytes(before)
    result = run(predictions, "-o", project, "--labels", project, "--force")
    assert isinstance(result.exception, ConfigError) and "input" in str(result.exception)
    assert predictions.read_bytes() == before == project.read_bytes()


def test_an_existing_output_needs_force(predictions, tmp_path):
    out = tmp_path / "fix.slp"
    out.write_text("keep me")
    result = run(predictions, "-o", out)
    assert isinstance(result.exception, ConfigError) and "--force" in str(result.exception)
    assert out.read_text() == "keep me"


def test_a_skeleton_that_differs_from_the_project_is_named(predictions, tmp_path):
    project = tmp_path / "project.slp"
    other = make_predictions(still(3, n_nodes=3), nodes=["head", "thorax", "n2"])
    sio.save_slp(other, str(project))
    result = run(predictions, "-o", tmp_path / "fix.slp", "--labels", project)
    assert isinstance(result.exception, DataError)
    text = str(result.exception)
    assert "project.slp" in text and "preds.slp" in text and "head" in text


def test_a_video_shorter_than_the_predictions_is_refused(predictions, tmp_path):
    video = write_video(np.zeros((40, 32, 32, 1), np.uint8), tmp_path / "short.mp4")
    result = run(predictions, "-o", tmp_path / "fix.slp", "--video", video)
    assert isinstance(result.exception, DataError)
    assert "reach frame 69" in str(result.exception) and "40 frames" in str(result.exception)


def test_with_the_video_chosen_frames_are_diverse_in_appearance(tmp_path):
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 255, (80, 32, 32, 1), dtype=np.uint8)
    video = write_video(frames, tmp_path / "v.mp4")
    pts = still(80)
    pts[10:70:6, 0, 0] += [[40.0, 0.0]]
    preds = tmp_path / "p.slp"
    sio.save_slp(make_predictions(pts, video=str(video)), str(preds))
    out = tmp_path / "fix.slp"
    result = run(preds, "-o", out, "--video", video, "-n", "3")
    assert result.exit_code == 0, result.output
    report = json.loads(out.with_name("fix.outliers.json").read_text())
    assert len(report["chosen"]) == 3
    assert not any("k-means on poses" in n for n in report["notes"])
    assert Path(sio.load_slp(str(out)).videos[0].filename).name == "v.mp4"


@pytest.mark.slow
def test_real_sleap_predictions_of_two_flies_end_to_end(shared_data, tmp_path):
    preds = shared_data / "centered_pair_predictions.slp"
    video = shared_data / "centered_pair_low_quality.mp4"
    out = tmp_path / "flies.slp"
    start = time.perf_counter()
    result = run(preds, "--video", video, "-n", "20", "-o", out)
    seconds = time.perf_counter() - start
    assert result.exit_code == 0, result.output
    report = json.loads(out.with_name("flies.outliers.json").read_text())
    print(f"centered_pair: {report['counts']} in {seconds:.1f} s")
    assert report["counts"]["frames_scored"] == 1100
    assert report["counts"]["chosen"] == 20
    assert all(0 <= c["frame"] < 1100 and c["reasons"] for c in report["chosen"])
    tracks = {r["track"] for c in report["chosen"] for r in c["reasons"] if "track" in r}
    assert tracks <= {t.name for t in sio.load_slp(str(preds)).tracks}
    labels = sio.load_slp(str(out))
    assert len(labels.suggestions) == 20 and all(
        isinstance(i, sio.PredictedInstance) for lf in labels for i in lf.instances)
    # DeepLabCut's own rule for fitting: the mean distance over the body parts
    dlc = run(preds, "--method", "fitting", "--rule", "mean", "-n", "5", "-o",
              tmp_path / "dlc.slp")
    assert dlc.exit_code == 0, dlc.output
    assert seconds < 60
