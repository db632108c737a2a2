"""Curves made to show each pattern are classified as it, with the right evidence."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import theilslopes

from posekit.errors import DataError
from posekit.reports.curve_diagnosis import diagnose_curves
from posekit.reports.curve_results import PATTERNS, CurveThresholds
from posekit.training.training_log import EpochRow

from . import curve_synth as synth


def test_overfitting_names_the_epoch_validation_starts_rising():
    d = diagnose_curves(synth.overfitting(seed=1, n=50, onset=20, rise_per_epoch=0.02))
    check = d.check("overfitting")
    assert d.pattern == "overfitting" and check.detected
    assert abs(check.start_epoch - 20) <= 2
    # the planted rise: 2 % per epoch (log units) for the 29 epochs after the onset
    assert check.value("val_rise_trend") == pytest.approx(100 * math.expm1(0.02), abs=0.6)
    assert check.value("val_rise") > 40
    assert check.value("train_trend_meanwhile") < 0  # training kept falling
    assert abs(d.best_epoch - 20) <= 3
    assert d.headline.startswith("Overfitting \u2013 the validation loss rose")
    assert "best.ckpt" in d.actions[0] and any("frames extract" in a for a in d.actions)


def test_overfitting_by_a_widening_gap():
    d = diagnose_curves(synth.gap_overfitting(seed=2))
    check = d.check("overfitting")
    assert d.pattern == "overfitting"
    assert check.value("gap_ratio") >= 10  # validation stalled far above training
    assert check.value("gap_widening") >= 5
    assert "widens" in check.summary


def test_underfitting_reports_how_little_both_losses_fell():
    d = diagnose_curves(synth.underfitting(seed=3, n=30, total_drop=1.4))
    check = d.check("underfitting")
    assert d.pattern == "underfitting"
    assert check.value("train_drop") == pytest.approx(1.4, abs=0.12)
    assert check.value("val_drop") == pytest.approx(1.4, abs=0.2)
    assert check.value("train_pace") < 0  # still falling, slowly
    assert not d.check("plateau").detected  # no initial decrease, so not a plateau
    assert any("max_epochs" in a for a in d.actions)


def test_plateau_names_where_the_flat_stretch_begins_at_a_constant_rate():
    d = diagnose_curves(synth.plateau(seed=4, n=60, flat_from=25))
    check = d.check("plateau")
    assert d.pattern == "plateau"
    assert abs(check.start_epoch - 25) <= 4
    assert check.value("flat_epochs") >= 30
    assert abs(check.value("train_flat_trend")) <= 0.5
    assert check.value("lr_lowered_epoch") is None
    assert "reduce_lr_on_plateau" in d.actions[0]


def test_a_flat_run_after_a_schedule_lowered_the_rate_has_converged():
    d = diagnose_curves(synth.converged(seed=5, train_noise=0.01, val_noise=0.05))
    plateau = d.check("plateau")
    assert d.pattern == "healthy" and not plateau.detected
    assert plateau.value("converged") == "yes" and plateau.value("lr_lowered_epoch") == 50
    assert any("converged" in note for note in d.notes)


def test_volatile_validation_finds_the_planted_spikes():
    planted = (9, 17, 26, 33)
    d = diagnose_curves(synth.volatile(seed=6, spike_epochs=planted, spike_factor=2.2))
    check = d.check("volatile")
    assert d.pattern == "volatile"
    assert check.epochs == planted
    assert check.value("val_spikes") == 4 and check.value("joint_spikes") == 0
    assert 60 < check.value("largest_spike") < 160
    assert "Audit the validation frames" in d.actions[0]


def test_unstable_training_when_the_training_loss_itself_climbs():
    d = diagnose_curves(synth.unstable(seed=7, from_epoch=22))
    check = d.check("unstable")
    assert d.pattern == "unstable"
    assert abs(check.start_epoch - 22) <= 2
    assert check.value("train_rise") > 30
    assert "learning rate" in d.actions[0]


def test_unstable_training_when_both_losses_jump_together():
    base = synth.healthy(seed=8, n=40)
    jumps = {11, 20, 31}
    rows = [EpochRow(r.epoch, r.train_loss * (2.0 if r.epoch in jumps else 1.0),
                     r.val_loss * (2.0 if r.epoch in jumps else 1.0), r.lr, None, None, None)
            for r in base]
    d = diagnose_curves(rows)
    assert d.pattern == "unstable" and d.check("unstable").epochs == (11, 20, 31)
    assert not d.check("volatile").detected  # joint jumps are not a validation problem
    assert d.check("volatile").value("joint_spikes") == 3


def test_healthy_says_so_and_that_it_was_still_improving():
    d = diagnose_curves(synth.healthy(seed=9, n=40))
    assert d.pattern == "healthy" and d.detected == ()
    assert d.headline.startswith("Healthy \u2013 both losses fell")
    assert d.actions[0].startswith("The validation loss is still falling")
    assert [c.pattern for c in d.checks] == list(PATTERNS[:-1])


def test_the_first_pattern_found_wins_and_the_others_become_notes():
    rows = synth.overfitting(seed=10, n=50, onset=20)
    spiky = [EpochRow(r.epoch, r.train_loss, r.val_loss * (2.5 if r.epoch in (8, 14, 30) else 1.0),
                      r.lr, None, None, None) for r in rows]
    d = diagnose_curves(spiky)
    assert d.pattern == "overfitting" and d.detected == ("overfitting", "volatile")
    assert any(n.startswith("Also found \u2013 volatile validation") for n in d.notes)


def test_thresholds_decide():
    rows = synth.overfitting(seed=11, n=50, onset=20, rise_per_epoch=0.02)
    assert diagnose_curves(rows).pattern == "overfitting"
    strict = CurveThresholds(min_rise=2.0, gap_ratio=50.0)
    d = diagnose_curves(rows, strict)
    assert not d.check("overfitting").detected and d.thresholds == strict


def test_too_short_a_log_says_what_is_needed():
    rows = synth.healthy(seed=0, n=5)
    with pytest.raises(DataError, match=r"log.csv: holds 1 epoch\(s\) with both a training and "
                                        r"a validation loss \(1 epoch\(s\) in all\); .* needs "
                                        r"at least 3\. Train for more epochs"):
        diagnose_curves(rows[:1], source="run/training_log.csv")
    no_val = [EpochRow(r.epoch, r.train_loss, None, r.lr, None, None, None) for r in rows]
    with pytest.raises(DataError, match=r"holds 0 epoch\(s\) .*\(5 epoch\(s\) in all\).*"
                                        r"validation_fraction"):
        diagnose_curves(no_val)


def test_missing_losses_and_repeated_epochs():
    rows = synth.healthy(seed=12, n=30)
    gappy = [EpochRow(r.epoch, r.train_loss, None if r.epoch in (4, 9) else r.val_loss, r.lr,
                      None, None, None) for r in rows]
    resumed = gappy[:20] + [EpochRow(18, 1.0, 1.0, 1e-3, None, None, None)] + gappy[18:]
    d = diagnose_curves(resumed)
    assert d.skipped_epochs == (4, 9) and d.n_epochs == 28
    assert d.series.epochs == tuple(e for e in range(30) if e not in (4, 9))
    assert d.series.train_loss[d.series.epochs.index(18)] == rows[18].train_loss  # last row
    assert any(n.startswith("2 epoch(s) have no usable loss") for n in d.notes)
    assert d.pattern == "healthy"


def test_best_epoch_and_final_numbers_come_from_the_log():
    rows = synth.healthy(seed=13, n=25)
    d = diagnose_curves(rows)
    val = np.array([r.val_loss for r in rows])
    assert d.best_epoch == int(np.argmin(val)) and d.best_val_loss == val.min()
    assert (d.final_train_loss, d.final_val_loss) == (rows[-1].train_loss, rows[-1].val_loss)
    # the end: Theil-Sen line through the log losses of the last third (>= 5 epochs)
    tail = np.log([r.train_loss for r in rows[-9:]])
    fit = theilslopes(tail, np.arange(16, 25))
    assert d.train_drop == pytest.approx(rows[0].train_loss / math.exp(
        fit.intercept + fit.slope * 24), rel=1e-3)
