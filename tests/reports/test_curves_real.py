"""Loss curves of real trainings: the worked example's two rounds (logs kept in
``data/``) and a short training run here (slow)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import theilslopes

from posekit.cli.main import main
from posekit.reports import diagnose_run

DATA = Path(__file__).parent / "data"


def read_losses(path: Path) -> tuple[list[float], list[float], list[float]]:
    """Training loss, validation loss and learning rate, read with the csv module."""
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    return ([float(r["train_loss"]) for r in rows], [float(r["val_loss"]) for r in rows],
            [float(r["lr"]) for r in rows])


def test_round_one_of_the_worked_example_is_healthy():
    path = DATA / "round1_training_log.csv"
    train, val, _ = read_losses(path)
    d = diagnose_run(path)
    assert d.pattern == "healthy" and d.detected == ()
    assert d.n_epochs == 25 and d.best_epoch == val.index(min(val)) == 23
    # the end level: Theil-Sen line through the log losses of the last 9 epochs (a third)
    fit = theilslopes(np.log(train[-9:]), np.arange(16, 25))
    assert d.train_drop == pytest.approx(train[0] / np.exp(fit.intercept + fit.slope * 24),
                                         rel=1e-3)
    assert d.train_drop > 10  # it learned
    # its validation loss is noisy (epoch 24 jumps about 40 %), yet not "volatile"
    assert val[24] / val[23] > 1.4
    assert d.check("volatile").value("val_spikes") == 0
    assert d.val_noise > 0.05


def test_round_two_with_a_lowered_learning_rate_is_healthy_and_still_improving():
    path = DATA / "round2_training_log.csv"
    _, val, lr = read_losses(path)
    d = diagnose_run(path)
    assert lr[6] == 0.002 and lr[7] == 0.001
    assert d.pattern == "healthy"
    assert d.check("plateau").value("lr_lowered_epoch") == 7
    assert d.check("plateau").value("epochs_at_lr") == 18
    assert d.actions[0].startswith("The validation loss is still falling")
    assert d.best_epoch == val.index(min(val))


@pytest.mark.slow
def test_a_short_real_training_is_diagnosed_and_reported(trained_single, tmp_path, browser,
                                                         capsys):
    log = trained_single / "training_log.csv"
    train, val, _ = read_losses(log)
    assert len(train) == 6
    out = tmp_path / "curves.html"
    assert main(["report", "curves", str(trained_single), "-o", str(out)]) == 0
    data = json.loads(out.with_suffix(".json").read_text())["results"]["curves"]
    assert data["n_epochs"] == 6 and data["series"]["val_loss"] == val
    assert data["best_epoch"] == val.index(min(val))
    # six short epochs that learn: falling, neither rising, jumping nor flat
    assert train[-1] < train[0] and val[-1] < val[0]
    assert data["pattern"] in ("healthy", "underfitting")
    assert not any(c["detected"] for c in data["checks"]
                   if c["pattern"] in ("unstable", "overfitting", "plateau", "volatile"))
    assert any("Only 6 epochs" in note for note in data["notes"])
    assert capsys.readouterr().out.split(" \u2013 ")[0] in ("Healthy", "Underfitting")
    browser.check(out).assert_clean(images=1)
