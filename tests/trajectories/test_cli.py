"""``posekit filter`` through the command line."""

from __future__ import annotations

import re

import numpy as np
import pytest
import sleap_io as sio
from typer.testing import CliRunner

from posekit.cli.main import app
from posekit.errors import ConfigError
from posekit.trajectories import read_filter_outputs

from .helpers import to_labels, wander


@pytest.fixture
def predictions(tmp_path):
    rng = np.random.default_rng(0)
    points = wander(60, 2, 2) + rng.normal(0, 1.0, (60, 2, 2, 2))
    scores = rng.uniform(0.1, 1.0, (60, 2, 2))
    path = tmp_path / "preds.slp"
    sio.save_slp(to_labels(points, scores, tracks=["a", "b"]), str(path))
    return path


def run(*args):
    return CliRunner().invoke(app, ["filter", *map(str, args)])


def test_filter_writes_the_output_and_reports_what_it_did(predictions, tmp_path):
    out = tmp_path / "clean.slp"
    result = run(predictions, "--method", "pcutoff,median,interpolate,kalman", "--pcutoff",
                 "0.3", "--max-gap", "2", "--measurement-sd", "1.0", "-o", out)
    assert result.exit_code == 0, result.output
    assert "pcutoff -> median -> interpolate -> kalman:" in result.output
    assert "kalman noise (per node, px): measurement 1.00-1.00" in result.output
    steps = read_filter_outputs(out).record[0]["steps"]
    assert steps[0] == {"method": "pcutoff", "pcutoff": 0.3}
    assert steps[3]["measurement_sd"] == 1.0 and steps[3]["process_sd"] is None


@pytest.mark.parametrize(("args", "message"), [
    (["--method", "median,smoothing"], "unknown method.*pcutoff, median, savgol"),
    (["--window", "4"], "even"),
    (["--window", "61"], "longer than the video"),
])
def test_bad_options_are_refused(predictions, tmp_path, args, message):
    result = run(predictions, *args, "-o", tmp_path / "out.slp")
    assert isinstance(result.exception, ConfigError)
    assert re.search(message, str(result.exception))
    assert not (tmp_path / "out.slp").exists()


def test_an_output_equal_to_the_input_is_refused(predictions):
    before = predictions.read_bytes()
    result = run(predictions, "-o", predictions, "--force")
    assert isinstance(result.exception, ConfigError) and "input" in str(result.exception)
    assert predictions.read_bytes() == before
