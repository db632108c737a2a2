"""Tests of ``posekit data synth``."""

from __future__ import annotations

import numpy as np
import pytest
import sleap_io as sio
import typer
from typer.testing import CliRunner

import posekit.cli.data_synth_cmd  # noqa: F401 - attaches "synth" to the data group
from posekit.cli.data_cmd import data_app
from posekit.cli.data_synth_cmd import parse_size
from posekit.errors import ConfigError
from posekit.io.synthetic import SynthSpec, render


@pytest.fixture(scope="module")
def cli():
    root = typer.Typer()
    root.add_typer(data_app, name="data")
    return root


def test_synth_writes_labels_and_video(tmp_path, cli):
    out, video = tmp_path / "mice.pkg.slp", tmp_path / "mice.mp4"
    args = [
        "data",
        "synth",
        "-o",
        str(out),
        "--video",
        str(video),
        "--frames",
        "12",
        "--animals",
        "2",
        "--seed",
        "4",
        "--size",
        "96x128",
        "--rgb",
    ]
    run = CliRunner().invoke(cli, args)
    assert run.exit_code == 0, run.output
    assert "12 frames x 2 animal(s) x 8 nodes" in run.output and "frames/s" in run.output
    labels = sio.load_slp(str(out))
    expected = render(SynthSpec(n_frames=12, n_animals=2, height=96, width=128, rgb=True, seed=4))
    assert np.array_equal(labels.video[list(range(12))], expected.images)
    assert [t.name for t in labels.tracks] == ["animal_0", "animal_1"]
    assert len(sio.load_video(str(video))) == 12


def test_synth_options_reach_the_spec(tmp_path, cli):
    out = tmp_path / "worms.pkg.slp"
    args = [
        "data",
        "synth",
        "-o",
        str(out),
        "--frames",
        "3",
        "--skeleton",
        "worm",
        "--nodes",
        "7",
        "--no-identities",
        "--animals",
        "2",
        "--no-tracks",
        "--gray",
    ]
    run = CliRunner().invoke(cli, args)
    assert run.exit_code == 0, run.output
    labels = sio.load_slp(str(out))
    assert len(labels.skeleton.node_names) == 7 and labels.tracks == []
    spec = labels.provenance["posekit_synthetic"]
    assert spec["identities"] is False and spec["n_animals"] == 2 and spec["rgb"] is False


def test_synth_rejects_bad_input(tmp_path, cli):
    run = CliRunner().invoke(cli, ["data", "synth", "-o", str(tmp_path / "a.slp")])
    assert isinstance(run.exception, ConfigError)
    assert not (tmp_path / "a.slp").exists()
    run = CliRunner().invoke(
        cli,
        ["data", "synth", "-o", str(tmp_path / "b.pkg.slp"), "--skeleton", "fly", "--nodes", "3"],
    )
    assert isinstance(run.exception, ConfigError)


def test_parse_size():
    assert parse_size("160") == (160, 160)
    assert parse_size("120x200") == (120, 200)
    with pytest.raises(ConfigError, match="--size"):
        parse_size("big")


def test_help_ends_with_an_example(cli):
    run = CliRunner().invoke(cli, ["data", "synth", "--help"], terminal_width=200)
    assert run.exit_code == 0
    assert "Example: posekit data synth -o" in run.output


def test_synth_refuses_to_overwrite_without_force(tmp_path, cli):
    out = tmp_path / "a.pkg.slp"
    args = ["data", "synth", "-o", str(out), "--frames", "2", "--seed", "1"]
    assert CliRunner().invoke(cli, args).exit_code == 0
    first = out.read_bytes()
    run = CliRunner().invoke(cli, [*args[:-1], "2"])
    assert isinstance(run.exception, ConfigError) and "--force" in str(run.exception)
    assert out.read_bytes() == first
    assert CliRunner().invoke(cli, [*args[:-1], "2", "--force"]).exit_code == 0
    assert sio.load_slp(str(out)).provenance["posekit_synthetic"]["seed"] == 2
