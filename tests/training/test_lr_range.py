"""Protocol A: the learning-rate range test."""

from __future__ import annotations

import numpy as np
import pytest

from posekit.errors import ConfigError
from posekit.training.lr_range import check_range, range_lr, smooth, suggest_lr


def test_suggestion_rule_on_a_known_curve():
    lrs = np.geomspace(1e-6, 1.0, 61)
    x = np.log10(lrs)
    # flat, a steep fall centred at 1e-3, a floor, then a blow-up beyond 1e-1
    losses = 1.0 - 0.8 / (1.0 + np.exp(-(x + 3.0) * 4.0)) + np.where(x > -1, (x + 1) ** 2 * 5, 0)
    suggested, steepest, divergence = suggest_lr(lrs, losses)
    # the steepest fall is at 1e-3; the moving average lags it by a few steps (0.1 decade each)
    assert 1e-3 <= steepest <= 10 ** -2.2
    assert 10 ** -1.5 < divergence < 10 ** -0.5  # the smoothed minimum, before the blow-up
    assert suggested == min(steepest, divergence / 10)
    assert lrs[0] <= suggested <= lrs[-1]


def test_rule_inputs_are_checked():
    assert smooth([2.0, 2.0, 2.0]).tolist() == pytest.approx([2.0, 2.0, 2.0])  # bias-corrected
    with pytest.raises(ConfigError, match="only 3 finite losses"):
        suggest_lr([1e-4, 1e-3, 1e-2, 1e-1], [1.0, np.nan, 0.5, 0.4])
    with pytest.raises(ConfigError, match="0 < min_lr < max_lr"):
        check_range(1e-2, 1e-4, 50)
    with pytest.raises(ConfigError, match="at least 5"):
        check_range(1e-6, 1.0, 3)
    assert range_lr(1e-6, 1.0, 0.5) == pytest.approx(1e-3)
    assert range_lr(1e-6, 1.0, 1.5) == pytest.approx(1.0)
    # a loss that only rises: the start of the range is the suggestion
    assert suggest_lr(np.geomspace(1e-3, 1, 10), np.linspace(1, 5, 10))[0] == pytest.approx(1e-3)


@pytest.mark.slow
def test_range_test_on_a_tiny_model(synth_single, make_tiny_config, tmp_path):
    from posekit.training.trainer import lr_range_test

    run_dir = tmp_path / "lr_range"
    cfg = make_tiny_config("single_instance", synth_single, run_dir)
    result = lr_range_test(cfg, steps=30, min_lr=1e-5, max_lr=3.0, time_limit_s=12.0)
    assert 5 <= len(result.lrs) == len(result.losses) <= 30
    assert np.all(np.diff(result.lrs) > 0) and result.lrs[0] == pytest.approx(1e-5, rel=0.5)
    assert result.lrs[-1] > 0.3 or result.stopped_early  # the range is covered
    assert np.isfinite(result.losses[:5]).all()
    assert min(result.lrs) <= result.suggested_lr <= max(result.lrs)
    assert result.suggested_lr <= result.divergence_lr / 10 + 1e-12
    assert result.seconds < 12.0 + 10.0  # the time limit bounds it (plus trainer start-up)
    assert result.reliable == (len(result.losses) >= 12)
    assert result.plot is not None and result.plot.stat().st_size > 5000
    assert result.plot == run_dir / "lr_range.png"
    assert not (run_dir / "best.ckpt").exists()  # nothing is kept but the curve
