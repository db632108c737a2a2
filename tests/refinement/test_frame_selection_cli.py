"""``posekit frames extract`` through the ``posekit frames`` group the CLI registers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sleap_io as sio
import typer
from typer.testing import CliRunner

from posekit.errors import ConfigError
from posekit.io.synthetic.long_video import write_scene_video


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    import posekit.cli.main  # noqa: F401 - registers every command group
    from posekit.cli.frames_cmd import frames_app

    return frames_app


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> tuple[Path, object]:
    folder = tmp_path_factory.mktemp("cli")
    return write_scene_video(folder / "arena.mp4", n_scenes=4, frames_per_scene=90, seed=9)


def test_extract_writes_suggestions_and_prints_a_summary(app, video, tmp_path):
    path, scenes = video
    out = tmp_path / "to_label.slp"
    result = CliRunner().invoke(app, ["extract", str(path), "-n", "4", "--min-gap", "10",
                                      "-o", str(out), "--png-dir", str(tmp_path / "png")])
    assert result.exit_code == 0, result.output
    assert "chose 4 frames (kmeans, seed 0) from 1 of 1 video(s)" in result.output
    assert "+ 4 PNGs" in result.output
    labels = sio.load_slp(out.as_posix())
    assert sorted(scenes[[s.frame_idx for s in labels.suggestions]].tolist()) == [0, 1, 2, 3]
    manifest = json.loads((tmp_path / "to_label.manifest.json").read_text())
    assert manifest["parameters"]["min_gap"] == 10


def test_existing_output_needs_force_and_input_is_never_the_output(app, video, tmp_path):
    path, _ = video
    out = tmp_path / "a.slp"
    out.write_bytes(b"old")
    result = CliRunner().invoke(app, ["extract", str(path), "-o", str(out)])
    assert isinstance(result.exception, ConfigError) and "already exists" in str(result.exception)
    assert out.read_bytes() == b"old"
    result = CliRunner().invoke(app, ["extract", str(path), "-o", str(out), "--force",
                                      "--skeleton", str(out)])
    assert isinstance(result.exception, ConfigError) and "replace an input" in str(result.exception)
    assert out.read_bytes() == b"old"


def test_notes_go_to_stderr_and_help_ends_with_an_example(app, video, tmp_path):
    path, _ = video
    missing = tmp_path / "missing.mp4"
    result = CliRunner().invoke(app, ["extract", str(path), str(missing), "-n", "3",
                                      "--method", "uniform", "-o", str(tmp_path / "b.slp")])
    assert result.exit_code == 0, result.output
    assert "missing.mp4: skipped, cannot be opened" in result.output
    help_text = CliRunner().invoke(app, ["extract", "--help"]).output
    assert "Example: posekit frames extract" in help_text
