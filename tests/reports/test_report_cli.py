"""``posekit report curves`` through the registered command group, and its errors."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from posekit.cli.main import main
from posekit.training.training_log import training_log_text

from . import curve_synth as synth

DATA = Path(__file__).parent / "data"


def run_folder(tmp_path: Path, rows) -> Path:
    run = tmp_path / "run"
    run.mkdir()
    (run / "training_log.csv").write_text(training_log_text(rows))
    return run


def test_curves_writes_page_and_json_into_the_run_folder(tmp_path, capsys):
    run = run_folder(tmp_path, synth.overfitting(seed=1))
    before = (run / "training_log.csv").read_bytes()
    assert main(["report", "curves", str(run)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Overfitting \u2013 the validation loss rose")
    assert f"report: {run / 'curves_report.html'}" in out
    data = json.loads((run / "curves_report.json").read_text())
    assert data["kind"] == "curves" and data["results"]["curves"]["pattern"] == "overfitting"
    assert "<h1>Loss curves \u2013 run</h1>" in (run / "curves_report.html").read_text()
    assert (run / "training_log.csv").read_bytes() == before  # the input is untouched


def test_curves_of_a_log_file_with_chosen_outputs(tmp_path, capsys):
    log = tmp_path / "training_log.csv"
    shutil.copy(DATA / "round1_training_log.csv", log)
    page, numbers = tmp_path / "out.html", tmp_path / "numbers.json"
    assert main(["report", "curves", str(log), "-o", str(page), "--json", str(numbers)]) == 0
    assert json.loads(numbers.read_text())["results"]["curves"]["pattern"] == "healthy"
    assert 'href="numbers.json"' in page.read_text()
    assert capsys.readouterr().out.startswith("Healthy")


def test_existing_outputs_need_force(tmp_path, capsys):
    run = run_folder(tmp_path, synth.healthy(seed=2))
    assert main(["report", "curves", str(run)]) == 0
    assert main(["report", "curves", str(run)]) == 2
    assert "curves_report.html: already exists; expected a new output file. Pass --force" in \
        capsys.readouterr().err
    assert main(["report", "curves", str(run), "--force"]) == 0


def test_a_folder_without_a_log_says_what_it_needs(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["report", "curves", str(tmp_path / "empty")]) == 2
    err = capsys.readouterr().err
    assert "empty: holds no training_log.csv; expected a posekit run folder" in err
    assert main(["report", "curves", str(tmp_path / "missing")]) == 2
    assert "missing: no such run folder or file" in capsys.readouterr().err
    assert list((tmp_path / "empty").iterdir()) == []


def test_a_one_epoch_log_says_how_many_epochs_are_needed(tmp_path, capsys):
    run = run_folder(tmp_path, synth.healthy(seed=3, n=1))
    assert main(["report", "curves", str(run)]) == 2
    err = capsys.readouterr().err
    assert "holds 1 epoch(s) with both a training and a validation loss" in err
    assert "needs at least 3. Train for more epochs (trainer_config.max_epochs)" in err
    assert sorted(p.name for p in run.iterdir()) == ["training_log.csv"]  # nothing written


def test_a_log_that_is_not_posekits_names_the_columns(tmp_path, capsys):
    run = tmp_path / "sleap_run"
    run.mkdir()
    (run / "training_log.csv").write_text("epoch,loss,lr,val_loss\n0,0.1,0.001,0.2\n")
    assert main(["report", "curves", str(run)]) == 2
    assert "lacks the columns ['train_loss', 'train_time_s'" in capsys.readouterr().err


def test_report_group_lists_curves(capsys):
    assert main(["report", "--help"]) == 0
    assert re.search(r"curves +Diagnose a run's loss curves", capsys.readouterr().out)
