"""Losses: per-channel MSE and online hard keypoint mining, against hand-computed values."""

from __future__ import annotations

import pytest
import torch

from posekit.config.schema import OHKMConfig
from posekit.model_types.losses import (
    OHKMParams,
    channel_mse,
    hard_channel_mask,
    head_loss,
    ohkm_loss,
)


def test_channel_mse_is_per_channel_mean():
    pred = torch.zeros(2, 3, 2, 2)
    target = torch.zeros(2, 3, 2, 2)
    target[:, 1] = 1.0  # channel 1 wrong everywhere by 1
    target[0, 2, 0, 0] = 2.0  # channel 2: one cell of 8 wrong by 2 -> 4 / 8
    losses = channel_mse(pred, target)
    torch.testing.assert_close(losses, torch.tensor([0.0, 1.0, 0.5]))
    assert head_loss(pred, target).item() == pytest.approx(0.5)


def test_hard_mask_ratio_min_and_max():
    losses = torch.tensor([1.0, 1.5, 2.0, 4.0, 10.0])
    params = OHKMParams(hard_to_easy_ratio=2.0, min_hard_keypoints=1, max_hard_keypoints=None)
    # >= 2 x easiest (1.0): 2.0, 4.0, 10.0
    assert hard_channel_mask(losses, params).tolist() == [False, False, True, True, True]
    capped = OHKMParams(hard_to_easy_ratio=2.0, min_hard_keypoints=1, max_hard_keypoints=2)
    assert hard_channel_mask(losses, capped).tolist() == [False, False, False, True, True]
    at_least = OHKMParams(hard_to_easy_ratio=100.0, min_hard_keypoints=2)
    assert hard_channel_mask(losses, at_least).tolist() == [False, False, False, True, True]


def test_ohkm_loss_weights_hard_channels():
    losses = torch.tensor([1.0, 1.0, 3.0, 5.0])
    params = OHKMParams(hard_to_easy_ratio=2.0, min_hard_keypoints=1, loss_scale=5.0)
    # hard: 3 and 5 -> (1 + 1 + 5 * 3 + 5 * 5) / 4
    assert ohkm_loss(losses, params).item() == pytest.approx((1 + 1 + 15 + 25) / 4)
    plain = OHKMParams(loss_scale=1.0)
    assert ohkm_loss(losses, plain).item() == pytest.approx(losses.mean().item())


def test_ohkm_gradient_reaches_hard_channels_more():
    pred = torch.zeros(1, 2, 4, 4, requires_grad=True)
    target = torch.zeros(1, 2, 4, 4)
    target[0, 0] = 0.1
    target[0, 1] = 1.0
    params = OHKMParams(hard_to_easy_ratio=2.0, min_hard_keypoints=1, loss_scale=5.0)
    head_loss(pred, target, params).backward()
    g = pred.grad.abs().mean(dim=(0, 2, 3))
    # channel 1's error is 10x larger and it is also up-weighted 5x
    assert g[1] / g[0] == pytest.approx(50.0, rel=1e-5)


def test_params_from_config():
    assert OHKMParams.from_config(OHKMConfig()) is None
    cfg = OHKMConfig(online_mining=True, hard_to_easy_ratio=3.0, min_hard_keypoints=1,
                     max_hard_keypoints=4, loss_scale=2.0)
    assert OHKMParams.from_config(cfg) == OHKMParams(3.0, 1, 4, 2.0)
