"""Training to a time budget: the schedule function, the clock, and whole budgeted runs."""

from __future__ import annotations

import json
import math
import time

import lightning as L
import numpy as np
import pytest
import torch

from posekit.errors import ConfigError
from posekit.evaluation import load_metrics
from posekit.training.budget import (
    BudgetClock,
    BudgetSettings,
    budget_settings,
    lr_factor,
)

BUDGET_S = 60.0


# ---------------------------------------------------------------------- the schedule (pure)

def test_linear_schedule_values():
    assert lr_factor(0.0, "linear", 0.1) == 0.0
    assert lr_factor(0.05, "linear", 0.1) == pytest.approx(0.5)
    assert lr_factor(0.1, "linear", 0.1) == pytest.approx(1.0)
    assert lr_factor(0.55, "linear", 0.1) == pytest.approx(0.5)  # half-way through the decay
    assert lr_factor(1.0, "linear", 0.1) == 0.0
    assert lr_factor(0.5, "linear", 0.0) == pytest.approx(0.5)  # no warm-up: 1 - f
    assert lr_factor(0.0, "linear", 0.0) == pytest.approx(1.0)


def test_cosine_and_one_cycle_values():
    assert lr_factor(0.1, "cosine", 0.1) == pytest.approx(1.0)
    assert lr_factor(0.55, "cosine", 0.1) == pytest.approx(0.5)  # cos(pi/2)
    assert lr_factor(0.325, "cosine", 0.1) == pytest.approx(0.5 * (1 + math.cos(math.pi / 4)))
    assert lr_factor(1.0, "cosine", 0.1) == pytest.approx(0.0, abs=1e-12)
    # one cycle: from 1/25 of the peak up over 30 % (its default), then down to 0
    assert lr_factor(0.0, "one_cycle") == pytest.approx(0.04)
    assert lr_factor(0.15, "one_cycle") == pytest.approx(0.04 + 0.96 * 0.5)
    assert lr_factor(0.3, "one_cycle") == pytest.approx(1.0)
    assert lr_factor(0.65, "one_cycle") == pytest.approx(0.5)
    assert lr_factor(1.0, "one_cycle") == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("kind", ["linear", "cosine", "one_cycle"])
def test_schedules_rise_then_fall_monotonically_and_clamp(kind):
    w = 0.2
    f = np.linspace(0, 1, 401)
    values = np.array([lr_factor(x, kind, w) for x in f])
    up, down = values[f <= w], values[f >= w]
    assert np.all(np.diff(up) > 0)
    assert np.all(np.diff(down) < 0)
    assert values.max() == pytest.approx(1.0)
    assert lr_factor(1.7, kind, w) == lr_factor(1.0, kind, w) == pytest.approx(0.0, abs=1e-12)
    assert lr_factor(-0.3, kind, w) == lr_factor(0.0, kind, w)


def test_bad_schedule_settings_are_clear_errors():
    with pytest.raises(ConfigError, match="'step' is unknown; expected one of linear"):
        lr_factor(0.5, "step")
    with pytest.raises(ConfigError, match=r"warmup_fraction: 1.0 is outside \[0, 1\)"):
        lr_factor(0.5, "linear", 1.0)
    with pytest.raises(ConfigError, match="schedule"):
        BudgetSettings(60.0, schedule="exp")
    with pytest.raises(ConfigError, match="budget_s"):
        BudgetSettings(-5.0)
    assert budget_settings("1h30m").budget_s == 5400.0
    assert budget_settings(None) is None
    with pytest.raises(ConfigError, match="duration"):
        budget_settings("fifteen minutes")


# ---------------------------------------------------------------------- the clock (pure)

def test_clock_keeps_the_measured_reserve_and_stops_before_it():
    clock = BudgetClock(start=100.0, budget_s=100.0, safety_fraction=0.01, end_overhead_s=0.5)
    clock.fit_start = 110.0
    clock.observe_finish(8.0)
    for seconds in (2.0, 9.0, 2.5):  # a validation slowed by other work does not dominate
        clock.observe_validation(seconds)
    assert clock.validation_s == pytest.approx(2.5)
    assert clock.reserve_s() == pytest.approx(2.5 + 8.0 + 0.5)
    assert clock.fit_deadline() == pytest.approx(199.0 - 11.0)
    assert clock.fraction(110.0) == 0.0
    assert clock.fraction(149.0) == pytest.approx(0.5)
    assert clock.fraction(188.0) == pytest.approx(1.0)
    for step in (1.0, 1.0, 1.0):
        clock.observe_step(step)
    assert clock.step_s == pytest.approx(1.0)
    assert not clock.should_stop(186.9)
    assert clock.should_stop(187.0)  # the next step would end at the deadline
    assert clock.should_stop(184.6, validation_due=True)  # a due validation counts too


def test_finishing_is_timed_again_only_while_it_pays():
    from posekit.training.budget import repeat_probe

    assert repeat_probe([3.0], budget_s=60, left_s=40)  # short budget: time it warm
    assert repeat_probe([3.0, 2.0], budget_s=60, left_s=40)  # still getting faster
    assert not repeat_probe([3.0, 2.8], budget_s=60, left_s=40)  # settled
    assert not repeat_probe([3.0, 2.0, 1.0], budget_s=60, left_s=40)  # three at most
    assert not repeat_probe([3.0], budget_s=900, left_s=800)  # one-off costs do not matter
    assert not repeat_probe([3.0], budget_s=60, left_s=5)  # too dear against the time left
    # all timings together stay under 15 % of the budget: 25 s twice is too much of 240 s
    assert not repeat_probe([25.0], budget_s=240, left_s=150)
    assert repeat_probe([10.0], budget_s=240, left_s=150)


# ---------------------------------------------------------------------- a budgeted run

class _Recorder(L.Callback):
    """Each validation's logged metrics and global step."""

    def __init__(self) -> None:
        self.rows: list[dict[str, float]] = []

    def on_validation_end(self, trainer, pl_module) -> None:
        if not trainer.sanity_checking:
            self.rows.append({"step": int(trainer.global_step),
                              **{k: float(v) for k, v in trainer.callback_metrics.items()}})


@pytest.fixture(scope="module")
def budget_run(synth_single, make_tiny_config, tmp_path_factory):
    """A 60 s budgeted single-instance run chosen on validation pixel error (Protocol C)."""
    from posekit.training.trainer import train

    run_dir = tmp_path_factory.mktemp("budget") / "run"
    cfg = make_tiny_config("single_instance", synth_single, run_dir, max_epochs=1,
                           min_train_steps_per_epoch=5)
    cfg["trainer_config"]["lr_scheduler"] = {"step_lr": {"step_size": 1, "gamma": 0.1}}
    recorder = _Recorder()
    begin = time.perf_counter()
    result = train(cfg, budget_s=BudgetSettings(BUDGET_S, warmup_fraction=0.1),
                   selection={"select_on": "pixel_error"}, callbacks=[recorder])
    return result, time.perf_counter() - begin, recorder.rows


@pytest.mark.slow
def test_budgeted_run_ends_on_time_with_its_files(budget_run):
    result, wall, _ = budget_run
    report = json.loads((result.run_dir / "budget.json").read_text())
    summary = {k: v for k, v in report.items() if k != "lr_trace"}
    assert 0.95 * BUDGET_S <= wall <= 1.05 * BUDGET_S, f"{wall:.2f} s: {json.dumps(summary)}"
    assert report["stopped_by_budget"] is True
    assert report["finish_probes_s"] and report["validation_s"] > 0
    assert result.best_checkpoint is not None and result.best_checkpoint.is_file()
    metrics = load_metrics(result.run_dir / "metrics.val.json")
    assert metrics.counts.frames == 12
    # max_epochs (1 epoch of 12 steps) did not end the budgeted run
    assert result.epochs >= 1 and report["lr_trace"][-1]["step"] > 12
    assert any("replaces trainer_config.lr_scheduler" in n for n in result.notes)


@pytest.mark.slow
def test_budgeted_learning_rate_warms_up_then_decays_to_zero(budget_run):
    result, _, _ = budget_run
    trace = json.loads((result.run_dir / "budget.json").read_text())["lr_trace"]
    lrs = np.array([r["lr"] for r in trace])
    fractions = np.array([r["fraction"] for r in trace])
    peak = 0.003
    assert lrs[0] < 0.1 * peak  # starts near zero
    assert np.all(np.diff(lrs[fractions <= 0.1]) >= 0)  # warm-up rises
    assert np.all(np.diff(lrs[fractions >= 0.1]) <= 0)  # then only falls
    assert lrs.max() > 0.6 * peak  # the config's lr is the peak (the step_lr was replaced)
    assert fractions[-1] > 0.85 and lrs[-1] < 0.15 * peak  # close to zero at the end
    expected = [peak * lr_factor(f, "linear", 0.1) for f in fractions]
    np.testing.assert_allclose(lrs, expected, rtol=1e-6)


@pytest.mark.slow
def test_selection_on_pixel_error_keeps_the_lowest_logged_error(budget_run):
    result, _, rows = budget_run
    errors = [(r["val_pixel_error"], r["step"]) for r in rows]
    assert len(errors) >= 5  # validated at intervals of the budget, not once per epoch
    assert all("val_pck" in r and "val_missing" in r for r in rows)
    best_error, best_step = min(errors)
    assert math.isfinite(best_error)
    checkpoint = torch.load(result.best_checkpoint, weights_only=True, map_location="cpu")
    (state,) = [v for k, v in checkpoint["callbacks"].items() if k.startswith("ModelCheckpoint")]
    assert "val_pixel_error" in next(k for k in checkpoint["callbacks"] if "ModelCheckpoint" in k)
    assert float(state["best_model_score"]) == pytest.approx(best_error, rel=1e-6)
    assert checkpoint["global_step"] == best_step


@pytest.mark.slow
def test_cli_budget(synth_single, make_tiny_config, tmp_path):
    import yaml
    from typer.testing import CliRunner

    from posekit.cli.main import app

    run_dir = tmp_path / "cli_run"
    cfg = make_tiny_config("single_instance", synth_single, run_dir)
    path = tmp_path / "single.yaml"
    path.write_text(yaml.safe_dump(cfg))
    runner = CliRunner()
    bad = runner.invoke(app, ["train", str(path), "--budget", "15 minutes"])
    assert bad.exit_code == 2
    said = " ".join(bad.output.replace("│", " ").split())  # the message as one line
    assert "--budget" in said and "such as 90s, 15m, 1h30m" in said
    wrong = runner.invoke(app, ["train", str(path), "--schedule", "cosine"])
    assert wrong.exit_code == 2 and "expected --budget too" in " ".join(
        wrong.output.replace("│", " ").split())
    assert not run_dir.exists()
    begin = time.perf_counter()
    ok = runner.invoke(app, ["train", str(path), "--budget", "25s", "--schedule", "cosine"])
    wall = time.perf_counter() - begin
    assert ok.exit_code == 0, ok.output
    assert "time budget 25 s: cosine learning-rate schedule" in ok.output
    report = json.loads((run_dir / "budget.json").read_text())
    assert report["schedule"] == "cosine" and report["budget_s"] == 25.0
    # a short budget through the CLI: the 5 % check is the 60 s run's, this one is looser
    assert 0.88 * 25.0 <= wall <= 1.1 * 25.0, (wall, {k: v for k, v in report.items()
                                                      if k != "lr_trace"})
    assert (run_dir / "best.ckpt").is_file() and (run_dir / "metrics.val.json").is_file()
    assert not (run_dir / ".budget_probe").exists()  # the timing copy is cleaned up


def test_a_command_budget_counts_from_the_process_start():
    import subprocess
    import sys

    import psutil

    from posekit.training.budget import STARTUP_MAX_S, process_started_at

    code = ("import time; time.sleep(1.5); from posekit.training.budget import "
            "process_started_at; print(time.perf_counter() - process_started_at())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert 1.5 <= float(out) <= 30.0  # the sleep and the imports are counted
    # this test process is older than a fresh command: its budget counts from now
    if time.time() - psutil.Process().create_time() > STARTUP_MAX_S:
        assert time.perf_counter() - process_started_at() < 1.0
    settings = budget_settings(30.0)
    assert settings is not None and settings.started_at is None


class _SlowValidation(L.Callback):
    """Makes every validation take at least 2 s more and counts them."""

    def __init__(self) -> None:
        self.count = 0

    def on_validation_epoch_end(self, trainer, pl_module) -> None:
        if not trainer.sanity_checking:
            time.sleep(2.0)
            self.count += 1


@pytest.mark.slow
def test_slow_validations_are_spaced_out(synth_single, make_tiny_config, tmp_path):
    from posekit.training.budget import VALIDATION_SHARE
    from posekit.training.trainer import train

    run_dir = tmp_path / "slow_val"
    cfg = make_tiny_config("single_instance", synth_single, run_dir)
    slow = _SlowValidation()
    train(cfg, budget_s=40.0, callbacks=[slow])
    report = json.loads((run_dir / "budget.json").read_text())
    planned, widened = report["validation_interval_s"], report["validation_interval_widened_s"]
    # validations of >= 2 s: at least 4 x that much training between two (share 0.2)
    assert planned < 8.0 <= widened, report
    # from a measured validation (the median so far, so at least the 2 s sleep)
    assert widened >= 2.0 * (1 - VALIDATION_SHARE) / VALIDATION_SHARE
    # about 15 validations were planned; far fewer ran, so fitting kept most of the time
    assert slow.count <= 5, slow.count


@pytest.mark.parametrize("argv0, expected", [
    ("/opt/venv/bin/posekit", True), ("/opt/src/posekit/__main__.py", True),
    ("/opt/venv/bin/pytest", False), ("ipykernel_launcher.py", False), ("", False)])
def test_only_the_command_itself_counts_its_start(monkeypatch, argv0, expected):
    from posekit.cli.train_cmd import _is_the_command

    monkeypatch.setattr("sys.argv", [argv0, "train"])
    assert _is_the_command() is expected
