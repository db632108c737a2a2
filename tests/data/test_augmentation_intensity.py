"""Tests for the intensity augmentation ops and their use through augment_batch."""

from __future__ import annotations

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from posekit.config import IntensityConfig
from posekit.data.augmentation import AugmentationParams, augment_batch
from posekit.data.augmentation_intensity import add_noise, adjust_brightness, adjust_contrast


def test_contrast_hand_values():
    images = torch.tensor([0.25, 0.75, 0.6, 0.1]).reshape(4, 1, 1, 1)
    factors = torch.tensor([2.0, 2.0, 0.5, 3.0])
    out = adjust_contrast(images, factors, torch.tensor([True, True, True, False]))
    torch.testing.assert_close(out.flatten(), torch.tensor([0.0, 1.0, 0.55, 0.1]))
    assert out[3].item() == images[3].item()  # not selected: bit-for-bit unchanged


def test_brightness_hand_values():
    images = torch.tensor([0.4, 0.8, 0.0, 0.3]).reshape(4, 1, 1, 1)
    out = adjust_brightness(
        images, torch.tensor([1.5, 1.5, 2.0, 0.5]), torch.tensor([True, True, True, False])
    )
    torch.testing.assert_close(out.flatten(), torch.tensor([0.6, 1.0, 0.0, 0.3]))


def test_add_noise_only_to_selected_samples():
    images = torch.full((3, 1, 2, 2), 0.5)
    noise = torch.tensor([0.2, -0.7, 0.1, 0.0]).reshape(1, 1, 2, 2)
    out = add_noise(images, noise, torch.tensor([1]))
    torch.testing.assert_close(out[1].flatten(), torch.tensor([0.7, 0.0, 0.6, 0.5]))
    assert torch.equal(out[0], images[0]) and torch.equal(out[2], images[2])
    everything = add_noise(images, noise.expand(3, 1, 2, 2), None)
    torch.testing.assert_close(everything[2], out[1])


def test_uniform_noise_is_added_within_its_range():
    images = torch.full((4, 2, 32, 32), 0.5)
    params = AugmentationParams(
        IntensityConfig(uniform_noise_min=0.1, uniform_noise_max=0.2, uniform_noise_p=1.0)
    )
    out, _ = augment_batch(
        images, torch.zeros(4, 1, 1, 2), params, torch.Generator().manual_seed(0)
    )
    delta = out - images
    assert delta.min() >= 0.1 - 1e-6 and delta.max() <= 0.2 + 1e-6
    assert abs(delta.mean().item() - 0.15) < 0.003
    assert not torch.equal(out[:, 0], out[:, 1])  # every channel gets its own noise


def test_gaussian_noise_statistics():
    images = torch.full((4, 1, 64, 64), 0.5)
    params = AugmentationParams(
        IntensityConfig(gaussian_noise_mean=0.05, gaussian_noise_std=0.1, gaussian_noise_p=1.0)
    )
    out, _ = augment_batch(
        images, torch.zeros(4, 1, 1, 2), params, torch.Generator().manual_seed(1)
    )
    delta = out - images
    assert abs(delta.mean().item() - 0.05) < 0.005
    assert abs(delta.std().item() - 0.1) < 0.005


def test_contrast_factors_are_drawn_per_sample_within_range():
    # A pixel at 0.75 becomes 0.5 + 0.25 * factor: read each sample's factor back.
    images = torch.full((200, 1, 1, 1), 0.75)
    params = AugmentationParams(IntensityConfig(contrast_min=0.5, contrast_max=1.5, contrast_p=1.0))
    out, _ = augment_batch(
        images, torch.zeros(200, 1, 1, 2), params, torch.Generator().manual_seed(2)
    )
    factors = (out.flatten() - 0.5) / 0.25
    assert factors.min() >= 0.5 - 1e-5 and factors.max() <= 1.5 + 1e-5
    assert factors.std() > 0.2  # uniform on [0.5, 1.5] has std 0.29
    assert abs(factors.mean().item() - 1.0) < 0.07


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    noise=st.tuples(st.floats(0.0, 0.5), st.floats(0.5, 1.0)),
    gauss=st.tuples(st.floats(-0.5, 0.5), st.floats(0.0, 1.0)),
    contrast=st.tuples(st.floats(0.0, 1.0), st.floats(1.0, 3.0)),
    brightness=st.tuples(st.floats(0.0, 1.0), st.floats(1.0, 3.0)),
    probs=st.tuples(*[st.sampled_from([0.0, 0.5, 1.0])] * 4),
)
def test_intensity_keeps_points_and_range(seed, noise, gauss, contrast, brightness, probs):
    params = AugmentationParams(
        IntensityConfig(
            uniform_noise_min=noise[0],
            uniform_noise_max=noise[1],
            uniform_noise_p=probs[0],
            gaussian_noise_mean=gauss[0],
            gaussian_noise_std=gauss[1],
            gaussian_noise_p=probs[1],
            contrast_min=contrast[0],
            contrast_max=contrast[1],
            contrast_p=probs[2],
            brightness_min=brightness[0],
            brightness_max=brightness[1],
            brightness_p=probs[3],
        )
    )
    gen = torch.Generator().manual_seed(seed)
    images = torch.rand(3, 1, 8, 8, generator=gen)
    points = torch.rand(3, 2, 4, 2, generator=gen) * 7
    points[0, 1] = float("nan")
    before = (images.clone(), points.clone())
    out, out_points = augment_batch(images, points, params, gen)
    assert 0.0 <= out.min() and out.max() <= 1.0
    assert torch.equal(out_points, points) or torch.allclose(out_points, points, equal_nan=True)
    assert torch.equal(images, before[0])  # inputs untouched
    assert torch.allclose(points, before[1], equal_nan=True)
    if probs == (0.0, 0.0, 0.0, 0.0):
        assert torch.equal(out, images)
