"""Denormal flushing during training: on inside the block, previous state restored after."""

import pytest
import torch

from posekit.training.cpu_numerics import denormals_flushed, flush_denormals


def test_flush_denormals_is_scoped():
    if not torch.set_flush_denormal(False):
        pytest.skip("this CPU cannot flush denormals (torch.set_flush_denormal returned False)")
    assert not denormals_flushed()
    tiny = torch.tensor([1e-39], dtype=torch.float32)
    assert (tiny * 1.0).item() > 0.0  # a real denormal survives arithmetic by default
    with flush_denormals() as active:
        assert active
        assert denormals_flushed()
        assert (tiny * 1.0).item() == 0.0
        # normal small numbers are untouched
        assert (torch.tensor([1e-30]) * 1.0).item() == pytest.approx(1e-30)
    assert not denormals_flushed()


def test_flush_denormals_restores_after_error_and_keeps_user_setting():
    if not torch.set_flush_denormal(True):
        pytest.skip("this CPU cannot flush denormals")
    try:
        with pytest.raises(RuntimeError), flush_denormals():
            raise RuntimeError("boom")
        assert denormals_flushed()  # the user's own setting (on) is kept
    finally:
        torch.set_flush_denormal(False)


def test_flush_disabled_changes_nothing():
    if not torch.set_flush_denormal(False):
        pytest.skip("this CPU cannot flush denormals")
    with flush_denormals(enabled=False) as active:
        assert not active
        assert not denormals_flushed()
