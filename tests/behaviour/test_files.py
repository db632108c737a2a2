"""``posekit measure`` on predictions files: outputs, bad input, real data."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import sleap_io as sio
from typer.testing import CliRunner

from posekit.behaviour import MeasureSettings, measure_file
from posekit.cli.main import app
from posekit.errors import ConfigError, DataError
from posekit.trajectories.settings import FilterSettings

from ..trajectories.helpers import to_labels


def two_animals(n: int = 60) -> np.ndarray:
    """``(n, 2, 2, 2)``: animal a moves 1 px/frame in x, b stands still; 2 nodes 4 px apart."""
    a = np.stack([10 + np.arange(n, dtype=float), np.full(n, 20.0)], -1)
    b = np.tile([50.0, 50.0], (n, 1))
    centre = np.stack([a, b], axis=1)[:, :, None, :]
    return centre + np.array([[-2.0, 0.0], [2.0, 0.0]])[None, None]


@pytest.fixture
def predictions(tmp_path):
    points = two_animals()
    path = tmp_path / "preds.slp"
    sio.save_slp(to_labels(points, np.ones(points.shape[:3]), tracks=["a", "b"]), str(path))
    return path


def run(*args):
    return CliRunner().invoke(app, ["measure", *map(str, args)])


def test_measure_writes_tables_and_plots_per_animal_and_bin(predictions, tmp_path):
    arena = tmp_path / "arena.json"
    arena.write_text(json.dumps({"zones": [{"name": "left", "polygon": [
        [0, 0], [30.5, 0], [30.5, 100], [0, 100]]}]}))
    out = tmp_path / "out"
    result = run(predictions, "--arena", arena, "--fps", 10, "--px-per-cm", 2, "--bin-s", 3,
                 "--immobile-speed", 1, "-o", out)
    assert result.exit_code == 0, result.output
    with (out / "measures.csv").open() as f:
        rows = {(r["animal"], r["bin"]): r for r in csv.DictReader(f)}
    a, b = rows[("a", "all")], rows[("b", "all")]
    assert float(a["distance"]) == pytest.approx(59 / 2)  # cm
    assert float(a["speed_mean"]) == pytest.approx(5.0)  # 1 px/frame = 0.5 cm * 10 /s
    assert float(a["time_in_left"]) == pytest.approx(2.1)  # x = 10..30: 21 frames
    assert float(b["immobile_time"]) == pytest.approx(5.9) and float(b["distance"]) == 0
    assert set(rows) >= {("a", "0"), ("a", "1"), ("b", "1")}
    doc = json.loads((out / "measures.json").read_text())
    assert doc["units"] == {"length": "cm", "time": "s", "speed": "cm/s"}
    for name in ("trajectory.png", "speed.png", "occupancy.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len((out / "per_frame.csv").read_text().splitlines()) == 1 + 2 * 60


def test_filtering_and_a_node_can_be_chosen(predictions, tmp_path):
    settings = MeasureSettings(node="node1", filter=FilterSettings(methods=("median",)))
    report = measure_file(predictions, tmp_path / "out", settings)
    m = report.measures[0]
    assert m.xy[5, 0, 0] == pytest.approx(10 + 5 + 2)
    assert any("no frame rate" in n for n in report.notes)


def test_several_untracked_animals_need_identities(tmp_path):
    points = two_animals()
    path = tmp_path / "untracked.slp"
    sio.save_slp(to_labels(points, np.ones(points.shape[:3])), str(path))
    with pytest.raises(DataError, match="identities.*--tracking"):
        measure_file(path, tmp_path / "out")


def test_bad_input_is_refused_and_inputs_are_untouched(predictions, tmp_path):
    before = predictions.read_bytes()
    with pytest.raises(ConfigError, match="replace an input"):
        measure_file(predictions, predictions)
    with pytest.raises(ConfigError, match="px-per-cm"):
        measure_file(predictions, tmp_path / "o", MeasureSettings(px_per_cm=0))
    result = run(predictions, "--px-per-cm", -1, "-o", tmp_path / "o2")
    assert result.exit_code != 0 and "positive" in str(result.exception)
    (tmp_path / "o3").mkdir()
    (tmp_path / "o3" / "measures.csv").write_text("x")
    with pytest.raises(ConfigError, match="already exists"):
        measure_file(predictions, tmp_path / "o3")
    assert predictions.read_bytes() == before


@pytest.mark.slow
def test_real_two_fly_predictions(shared_data, tmp_path):
    src = shared_data / "centered_pair_predictions.slp"
    arena = tmp_path / "arena.json"
    arena.write_text(json.dumps({"arena": {"shape": "circle", "centre": [192, 192],
                                           "radius": 180}}))
    report = measure_file(src, tmp_path / "out", MeasureSettings(bin_s=10.0), arena=arena)
    m = report.measures[0]
    assert m.units.fps == pytest.approx(15.0)  # read from the video
    assert any("read from the video" in n for n in report.notes)
    whole = [r for r in m.rows if r["bin"] == "all"]
    assert len(whole) == len(m.names) >= 2
    flies = sorted(whole, key=lambda r: -r["time_tracked"])[:2]
    for row in flies:
        assert row["time_tracked"] > 60 and 500 < row["distance"] < 5000
        assert row["time_in_arena"] == pytest.approx(row["time_tracked"])
        assert row["time_in_centre"] + row["time_in_periphery"] == pytest.approx(
            row["time_in_arena"])
    big = json.loads(arena.read_text())
    big["arena"]["radius"] = 400
    arena.write_text(json.dumps(big))
    with pytest.raises(ConfigError, match="outside the 384x384"):
        measure_file(src, tmp_path / "out2", arena=arena)
