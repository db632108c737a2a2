"""``posekit eval`` on small .slp files written with sleap-io."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import sleap_io as sio
import typer
from typer.testing import CliRunner

from posekit.cli import eval_cmd
from posekit.errors import ConfigError, DataError
from posekit.evaluation import load_metrics

NODES = ["nose", "ear", "tail"]
POSE = np.array([[10.0, 10.0], [50.0, 40.0], [110.0, 90.0]])


def _app() -> typer.Typer:
    app = typer.Typer()
    eval_cmd.register(app)

    @app.command()
    def noop() -> None:  # a second command keeps "eval" a named subcommand
        """Nothing."""

    return app


def _write(path: Path, points: list[np.ndarray], predicted: bool) -> Path:
    skeleton = sio.Skeleton(list(NODES))
    video = sio.Video.from_filename("arena.mp4")
    frames = []
    for fidx, pts in enumerate(points):
        inst = (
            sio.PredictedInstance.from_numpy(pts, skeleton=skeleton, score=0.9)
            if predicted
            else sio.Instance.from_numpy(pts, skeleton=skeleton)
        )
        frames.append(sio.LabeledFrame(video=video, frame_idx=fidx, instances=[inst]))
    sio.save_slp(sio.Labels(frames, videos=[video], skeletons=[skeleton]), str(path))
    return path


@pytest.fixture()
def files(tmp_path: Path) -> tuple[Path, Path]:
    gt = _write(tmp_path / "labels.slp", [POSE, POSE + 20], predicted=False)
    offset = np.array([[3.0, 4.0], [0.0, 0.0], [0.0, 1.0]])
    pred = _write(tmp_path / "preds.slp", [POSE + offset, POSE + 20 + offset], predicted=True)
    return gt, pred


def test_eval_writes_metrics_and_prints_summary(files, tmp_path: Path) -> None:
    gt, pred = files
    out = tmp_path / "metrics.json"
    result = CliRunner().invoke(
        _app(), ["eval", str(gt), str(pred), "-o", str(out), "--pck", "1,5"]
    )
    assert result.exit_code == 0, result.output
    assert "mAP" in result.output and "metrics written to" in result.output
    assert "mean pixel error" in result.output
    m = load_metrics(out)
    assert m.pck.px == {1.0: pytest.approx(4 / 6), 5.0: 1.0}
    assert m.localization.mean_px == pytest.approx(2.0)  # errors 5, 0, 1 twice
    assert m.per_node["nose"].localization.rmse_px == pytest.approx(5.0)
    assert m.provenance.inputs["ground_truth"] == str(gt.resolve())
    assert m.oks.sigmas["tail"] == 0.025
    assert json.loads(out.read_text())["schema_version"] == 1


def test_default_output_and_sigmas_file(files, tmp_path: Path) -> None:
    gt, pred = files
    sigmas = tmp_path / "sigmas.json"
    sigmas.write_text(json.dumps({"nose": 0.05, "ear": 0.025, "tail": 0.1}))
    result = CliRunner().invoke(
        _app(), ["eval", str(gt), str(pred), "--oks-sigmas-file", str(sigmas)]
    )
    assert result.exit_code == 0, result.output
    out = tmp_path / "preds.metrics.json"
    m = load_metrics(out)
    assert m.oks.sigmas == {"nose": 0.05, "ear": 0.025, "tail": 0.1}
    # A written metrics.json can serve as the sigma file of the next run.
    again = CliRunner().invoke(
        _app(),
        ["eval", str(gt), str(pred), "-o", str(tmp_path / "b.json"), "--oks-sigmas-file", str(out)],
    )
    assert again.exit_code == 0, again.output
    assert load_metrics(tmp_path / "b.json").oks == m.oks
    # So can a file written before metrics files had a schema_version (sigmas in settings).
    legacy = tmp_path / "legacy.json"
    legacy.write_text(json.dumps({"settings": {"oks_sigmas": {"nose": 0.2, "ear": 0.2,
                                                              "tail": 0.2}}, "oks": {}}))
    assert eval_cmd.read_sigmas_file(legacy) == {"nose": 0.2, "ear": 0.2, "tail": 0.2}


def test_single_sigma_changes_oks(files, tmp_path: Path) -> None:
    gt, pred = files
    runner = CliRunner()
    runner.invoke(_app(), ["eval", str(gt), str(pred), "-o", str(tmp_path / "a.json")])
    runner.invoke(
        _app(), ["eval", str(gt), str(pred), "-o", str(tmp_path / "b.json"), "--oks-sigma", "0.1"]
    )
    a = load_metrics(tmp_path / "a.json").oks.mean_oks_matched
    b = load_metrics(tmp_path / "b.json").oks.mean_oks_matched
    assert a is not None and b is not None and 0 < a < b < 1


def test_cli_errors(files, tmp_path: Path) -> None:
    gt, pred = files
    runner = CliRunner()
    both = runner.invoke(
        _app(),
        ["eval", str(gt), str(pred), "--oks-sigma", "0.1", "--oks-sigmas-file", str(gt)],
    )
    assert isinstance(both.exception, ConfigError)
    bad_pck = runner.invoke(_app(), ["eval", str(gt), str(pred), "--pck", "1,abc"])
    assert isinstance(bad_pck.exception, ConfigError) and "--pck" in str(bad_pck.exception)
    missing = runner.invoke(_app(), ["eval", str(tmp_path / "nope.slp"), str(pred)])
    assert isinstance(missing.exception, DataError) and "nope.slp" in str(missing.exception)
    garbage = tmp_path / "garbage.slp"
    garbage.write_text("not a labels file")
    unreadable = runner.invoke(_app(), ["eval", str(gt), str(garbage)])
    assert isinstance(unreadable.exception, DataError)
    assert "cannot read the predictions file" in str(unreadable.exception)
    assert not (tmp_path / "garbage.metrics.json").exists()
    (tmp_path / "notes.txt").write_text("hello")
    bad_truth = runner.invoke(_app(), ["eval", str(tmp_path / "notes.txt"), str(pred)])
    assert isinstance(bad_truth.exception, DataError)
    assert "cannot read the ground-truth file" in str(bad_truth.exception)
    assert "DeepLabCut" in str(bad_truth.exception)


def _write_dlc_project(root: Path, frames: list[np.ndarray]) -> Path:
    """A DeepLabCut project (config.yaml + CSV table, images not needed) with ``frames``."""
    folder = root / "labeled-data" / "vid"
    folder.mkdir(parents=True)
    (root / "config.yaml").write_text(
        "Task: t\nscorer: Tester\nbodyparts:\n" + "".join(f"- {n}\n" for n in NODES)
        + "skeleton: []\n"
    )
    header = ["scorer" + ",Tester" * 2 * len(NODES),
              "bodyparts," + ",".join(f"{n},{n}" for n in NODES),
              "coords" + ",x,y" * len(NODES)]
    rows = [f"labeled-data/vid/img{i}.png," + ",".join(f"{v:g}" for v in pts.reshape(-1))
            for i, pts in enumerate(frames)]
    (folder / "CollectedData_Tester.csv").write_text("\n".join(header + rows) + "\n")
    return root


def test_ground_truth_from_a_deeplabcut_project_and_a_package(files, tmp_path: Path) -> None:
    """Ground truth is read with posekit's loader: DeepLabCut projects and .pkg.slp work."""
    gt, pred = files
    project = _write_dlc_project(tmp_path / "dlc", [POSE, POSE + 20])
    out = tmp_path / "dlc.json"
    result = CliRunner().invoke(_app(), ["eval", str(project), str(pred), "-o", str(out)])
    assert result.exit_code == 0, result.output
    m = load_metrics(out)
    assert m.counts.matched == 2 and m.localization.mean_px == pytest.approx(2.0)
    assert m.pairing is not None and next(iter(m.pairing.videos.values())).method == "index"
    package = tmp_path / "labels.pkg.slp"
    sio.save_slp(sio.load_slp(str(gt)), str(package))
    again = CliRunner().invoke(_app(), ["eval", str(package), str(pred), "-o", str(out)])
    assert again.exit_code == 0, again.output
    assert load_metrics(out).localization == m.localization


def test_help_ends_with_an_example() -> None:
    result = CliRunner().invoke(_app(), ["eval", "--help"])
    assert result.exit_code == 0
    assert "posekit eval labels.slp predictions.slp" in result.output
