"""A diagnosis must not flip on noise: many noisy versions of one curve, one diagnosis."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from posekit.reports.curve_diagnosis import diagnose_curves
from posekit.training.training_log import EpochRow

from . import curve_synth as synth


def diagnoses(make, seeds) -> Counter:
    return Counter(diagnose_curves(make(seed)).pattern for seed in seeds)


@pytest.mark.parametrize("val_noise", [0.05, 0.10, 0.15])
def test_noisy_healthy_curves_stay_healthy(val_noise):
    # still improving at the end, 40 epochs; training noise half the validation noise
    found = diagnoses(lambda s: synth.healthy(s, n=40, train_noise=val_noise / 2,
                                              val_noise=val_noise), range(40))
    assert found == Counter(healthy=40)


@pytest.mark.parametrize("val_noise", [0.05, 0.15])
def test_noisy_converged_runs_stay_healthy(val_noise):
    # flat at the end while a schedule lowers the learning rate: finished, not a problem
    found = diagnoses(lambda s: synth.converged(s, train_noise=val_noise / 2,
                                                val_noise=val_noise), range(40))
    assert found == Counter(healthy=40)


def test_short_noisy_healthy_runs_stay_healthy():
    found = diagnoses(lambda s: synth.healthy(s, n=12, train_noise=0.05, val_noise=0.1),
                      range(40))
    assert found == Counter(healthy=40)


def test_healthy_validation_with_heavy_tailed_noise_stays_healthy():
    def heavy(seed):
        rng = np.random.default_rng(1000 + seed)
        rows = synth.healthy(seed, n=50, val_noise=0.0)
        jitter = np.exp(0.06 * rng.standard_t(4, len(rows)))  # occasional +20-30 % epochs
        return [EpochRow(r.epoch, r.train_loss, r.val_loss * j, r.lr, None, None, None)
                for r, j in zip(rows, jitter, strict=True)]
    assert diagnoses(heavy, range(40)) == Counter(healthy=40)


@pytest.mark.parametrize(("make", "pattern"), [
    (lambda s: synth.overfitting(s, val_noise=0.1), "overfitting"),
    (synth.gap_overfitting, "overfitting"),
    (lambda s: synth.underfitting(s, val_noise=0.08), "underfitting"),
    (lambda s: synth.plateau(s, val_noise=0.12), "plateau"),
    (synth.volatile, "volatile"),
    (synth.unstable, "unstable"),
])
def test_each_pattern_is_found_whatever_the_noise_draw(make, pattern):
    assert diagnoses(make, range(30)) == Counter({pattern: 30})


def test_evidence_moves_little_with_the_noise():
    onsets = [diagnose_curves(synth.overfitting(s, onset=20)).check("overfitting").start_epoch
              for s in range(20)]
    assert max(abs(np.array(onsets) - 20)) <= 3
    starts = [diagnose_curves(synth.plateau(s, flat_from=25)).check("plateau").start_epoch
              for s in range(20)]
    assert max(abs(np.array(starts) - 25)) <= 5
