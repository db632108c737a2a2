"""Tests for augment_batch: probabilities, determinism, option semantics, config sections."""

from __future__ import annotations

import math
import warnings

import pytest
import torch

from posekit.config import GeometricConfig, IntensityConfig, InvalidConfigError
from posekit.data.augmentation import AugmentationParams, augment_batch
from posekit.errors import ConfigError, DataError

N_STAT = 2000  # samples for probability checks: 4 sigma of a 0.3 rate is 0.041


def changed(out: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
    return (out != images).flatten(1).any(1)


def asymmetric_batch(n: int, height: int = 6, width: int = 7, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, 1, height, width, generator=torch.Generator().manual_seed(seed))


def run(params: AugmentationParams, images: torch.Tensor, points=None, seed: int = 0):
    if points is None:
        points = torch.zeros(images.shape[0], 1, 2, 2)
    return augment_batch(images, points, params, torch.Generator().manual_seed(seed))


CASES = {
    "uniform_noise": lambda p: AugmentationParams(
        IntensityConfig(uniform_noise_min=0.05, uniform_noise_max=0.1, uniform_noise_p=p)
    ),
    "gaussian_noise": lambda p: AugmentationParams(
        IntensityConfig(gaussian_noise_std=0.1, gaussian_noise_p=p)
    ),
    "contrast": lambda p: AugmentationParams(
        IntensityConfig(contrast_min=1.2, contrast_max=1.5, contrast_p=p)
    ),
    "brightness": lambda p: AugmentationParams(
        IntensityConfig(brightness_min=0.5, brightness_max=0.8, brightness_p=p)
    ),
    "affine": lambda p: AugmentationParams(
        geometric=GeometricConfig(rotation_min=10, rotation_max=20, affine_p=p)
    ),
    "rotation_p": lambda p: AugmentationParams(
        geometric=GeometricConfig(
            rotation_min=10,
            rotation_max=20,
            rotation_p=p,
            affine_p=1.0,
            scale_min=1.0,
            scale_max=1.0,
        )
    ),
    "flip": lambda p: AugmentationParams(
        geometric=GeometricConfig(flip_p=p), symmetry_pairs=((0, 1),)
    ),
    "erase": lambda p: AugmentationParams(
        geometric=GeometricConfig(erase_scale_min=0.1, erase_scale_max=0.2, erase_p=p)
    ),
    "mixup": lambda p: AugmentationParams(
        geometric=GeometricConfig(mixup_lambda_min=0.2, mixup_lambda_max=0.4, mixup_p=p)
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_probabilities_are_respected(name):
    images = asymmetric_batch(N_STAT)
    for p in (0.0, 1.0, 0.3):
        out, _ = run(CASES[name](p), images, seed=int(10 * p))
        rate = changed(out, images).float().mean().item()
        if p in (0.0, 1.0):
            assert rate == p, (name, p, rate)
        else:
            assert abs(rate - p) < 4 * math.sqrt(p * (1 - p) / N_STAT), (name, rate)


def full_params() -> AugmentationParams:
    return AugmentationParams(
        IntensityConfig(
            uniform_noise_max=0.05,
            uniform_noise_p=0.5,
            gaussian_noise_std=0.05,
            gaussian_noise_p=0.5,
            contrast_p=0.5,
            brightness_min=0.8,
            brightness_max=1.2,
            brightness_p=0.5,
        ),
        GeometricConfig(
            rotation_min=-30,
            rotation_max=30,
            scale_min=0.8,
            scale_max=1.2,
            translate_width=0.1,
            translate_height=0.1,
            affine_p=0.7,
            erase_p=0.5,
            mixup_p=0.5,
            flip_p=0.5,
        ),
        symmetry_pairs=((0, 1),),
    )


def test_seeded_generator_reproduces_and_inputs_are_untouched():
    images = asymmetric_batch(6, 32, 32)
    points = torch.rand(6, 2, 3, 2) * 31
    points[1, 0, 2] = float("nan")
    copy = (images.clone(), points.clone())
    a = run(full_params(), images, points, seed=7)
    b = run(full_params(), images, points, seed=7)
    c = run(full_params(), images, points, seed=8)
    assert torch.equal(a[0], b[0]) and torch.allclose(a[1], b[1], equal_nan=True)
    assert not torch.equal(a[0], c[0])
    assert torch.equal(images, copy[0]) and torch.allclose(points, copy[1], equal_nan=True)
    assert 0.0 <= a[0].min() and a[0].max() <= 1.0
    assert torch.isnan(a[1][1, 0, 2]).all()  # missing stays missing


def test_every_sample_gets_its_own_parameters():
    images = asymmetric_batch(1, 16, 16).expand(8, -1, -1, -1)
    params = AugmentationParams(
        geometric=GeometricConfig(rotation_min=-90, rotation_max=90, affine_p=1.0)
    )
    out, _ = run(params, images)
    flat = out.flatten(1)
    assert all(not torch.equal(flat[i], flat[j]) for i in range(8) for j in range(i))


def _polar(points: torch.Tensor, size: int):
    rel = points[:, 0, 0] - (size - 1) / 2
    return rel.norm(dim=-1), torch.atan2(rel[:, 1], rel[:, 0])


@pytest.mark.parametrize(
    ("rotation_p", "scale_p", "affine_p", "rotates", "scales"),
    [
        (None, None, 1.0, True, True),  # classic bundle
        (None, None, 0.0, False, False),
        (1.0, None, 0.0, True, False),  # own probability; scale joins the (empty) bundle
        (0.0, None, 1.0, False, True),
        (1.0, 1.0, 0.0, True, True),  # sleap-nn 0.3.5 defaults: both always
    ],
)
def test_part_probabilities(rotation_p, scale_p, affine_p, rotates, scales):
    size = 101
    points = torch.tensor([[[[70.0, 50.0]]]]).expand(64, 1, 1, 2)
    params = AugmentationParams(
        geometric=GeometricConfig(
            rotation_min=5,
            rotation_max=40,
            rotation_p=rotation_p,
            scale_min=0.7,
            scale_max=0.9,
            scale_p=scale_p,
            affine_p=affine_p,
        )
    )
    _, out = run(params, torch.zeros(64, 1, size, size), points)
    r0, a0 = _polar(points, size)
    r1, a1 = _polar(out, size)
    assert bool((a1 - a0).abs().min() > math.radians(4)) == rotates
    assert bool((a1 - a0).abs().max() < 1e-4) == (not rotates)
    assert bool((r1 / r0).max() < 0.91) == scales
    assert bool(((r1 / r0) - 1).abs().max() < 1e-4) == (not scales)


def test_translation_range_is_fraction_of_image_size():
    points = torch.tensor([[[[40.0, 30.0]]]]).expand(500, 1, 1, 2)
    params = AugmentationParams(
        geometric=GeometricConfig(
            rotation_min=0,
            rotation_max=0,
            scale_min=1,
            scale_max=1,
            translate_width=0.1,
            translate_height=0.25,
            affine_p=1.0,
        )
    )
    _, out = run(params, torch.zeros(500, 1, 60, 80), points)
    shift = out[:, 0, 0] - points[:, 0, 0]
    assert shift[:, 0].abs().max() <= 8.0 and shift[:, 0].abs().max() > 7.5  # 0.1 * 80
    assert shift[:, 1].abs().max() <= 15.0 and shift[:, 1].abs().max() > 14.0  # 0.25 * 60


def test_flip_swaps_symmetric_nodes():
    points = torch.tensor([[[[10.0, 20.0], [30.0, 20.0], [20.0, 5.0]]]])
    params = AugmentationParams(geometric=GeometricConfig(flip_p=1.0), symmetry_pairs=((1, 0),))
    image = asymmetric_batch(1, 32, 64)
    out_image, out = run(params, image, points)
    assert out[0, 0].tolist() == [[33.0, 20.0], [53.0, 20.0], [43.0, 5.0]]
    assert torch.equal(out_image, image.flip(-1))  # flip alone is an exact mirror


def test_erase_rectangle_size_and_shape():
    images = torch.full((50, 1, 64, 64), 0.5)
    params = AugmentationParams(
        geometric=GeometricConfig(
            erase_scale_min=0.04,
            erase_scale_max=0.04,
            erase_ratio_min=4.0,
            erase_ratio_max=4.0,
            erase_p=1.0,
        )
    )
    points = torch.rand(50, 1, 2, 2) * 63
    out, out_points = run(params, images, points)
    assert torch.equal(out_points, points)
    for sample in out[:, 0]:
        ys, xs = torch.nonzero(sample != 0.5, as_tuple=True)
        # area 0.04 * 4096 = 163.84 px, height / width = 4: 26 x 6 (rounded)
        assert ys.max() - ys.min() + 1 == 26 and xs.max() - xs.min() + 1 == 6
        assert ys.numel() == 156


def test_mixup_blends_with_another_image_and_keeps_points():
    images = torch.cat([torch.zeros(1, 1, 4, 4), torch.ones(1, 1, 4, 4)])
    points = torch.tensor([[[[1.0, 1.0]]], [[[2.0, 2.0]]]])
    params = AugmentationParams(
        geometric=GeometricConfig(mixup_lambda_min=0.1, mixup_lambda_max=0.3, mixup_p=1.0)
    )
    out, out_points = run(params, images, points)
    assert torch.equal(out_points, points)
    lam0 = out[0].unique()
    lam1 = 1.0 - out[1].unique()
    assert lam0.numel() == 1 and 0.1 <= lam0.item() <= 0.3
    assert lam1.numel() == 1 and 0.1 - 1e-6 <= lam1.item() <= 0.3 + 1e-6
    single, _ = run(params, images[:1])  # one image: no partner, nothing to blend
    assert torch.equal(single, images[:1])


def test_from_config_keeps_checked_copies_of_the_config_sections():
    intensity = IntensityConfig(contrast_p=0.3, gaussian_noise_std=0.1)
    geometric = GeometricConfig(rotation_p=0.5, translate_width=0.1, erase_p=0.2, flip_p=0.5)
    params = AugmentationParams.from_config(intensity, geometric, [(0, 1)])
    assert params.intensity == IntensityConfig(contrast_p=0.3, gaussian_noise_std=0.1)
    assert params.geometric == GeometricConfig(
        rotation_p=0.5, translate_width=0.1, erase_p=0.2, flip_p=0.5
    )
    assert params.symmetry_pairs == ((0, 1),)
    geometric.flip_p = 1.0  # later edits of the config do not reach the built parameters
    assert params.geometric.flip_p == 0.5 and params.geometric is not geometric
    ints = AugmentationParams(geometric=GeometricConfig(rotation_min=-20, rotation_max=20))
    assert ints.geometric.rotation_min == -20.0 and isinstance(ints.geometric.rotation_min, float)
    none = AugmentationParams.from_config(None, None)
    assert none.intensity is None and none.geometric is None
    images = asymmetric_batch(2)
    out, _ = run(none, images)
    assert out is images  # nothing enabled: nothing done


def test_flip_without_symmetries_warns():
    with pytest.warns(UserWarning, match="no symmetry pairs"):
        AugmentationParams(geometric=GeometricConfig(flip_p=0.5))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        AugmentationParams(geometric=GeometricConfig(flip_p=0.5), symmetry_pairs=((0, 1),))


def test_invalid_sections_are_rejected_with_the_config_rules():
    # The limits themselves are tested in tests/config/test_validation_rules.py; here: the
    # augmentation parameters apply them, and list every problem with its YAML path.
    with pytest.raises(InvalidConfigError) as info:
        AugmentationParams(
            IntensityConfig(uniform_noise_min=-0.1),
            GeometricConfig(rotation_max=270.0, scale_min=0.0),
        )
    assert info.value.problems == [
        (
            "data_config.augmentation_config.intensity.uniform_noise_min: value -0.1 is out of "
            "range; expected a number >= 0 and <= 1. The default is 0.0."
        ),
        (
            "data_config.augmentation_config.geometric.rotation_max: value 270.0 is out of "
            "range; expected a number >= -180 and <= 180. The default is 15.0."
        ),
        (
            "data_config.augmentation_config.geometric.scale_min: value 0.0 is out of range; "
            "expected a number > 0. The default is 0.9."
        ),
    ]
    assert str(info.value).startswith("augmentation settings: ")
    with pytest.raises(InvalidConfigError, match=r"geometric\.flip_p: expected a number, got"):
        AugmentationParams(geometric=GeometricConfig(flip_p="often"))  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"intensity: got a GeometricConfig; expected an? "):
        AugmentationParams(GeometricConfig())  # type: ignore[arg-type]


def test_bad_inputs():
    params = full_params()
    with pytest.raises(DataError, match="float"):
        augment_batch(torch.zeros(2, 1, 4, 4, dtype=torch.uint8), torch.zeros(2, 1, 1, 2), params)
    with pytest.raises(DataError, match="same batch size"):
        augment_batch(torch.zeros(2, 1, 4, 4), torch.zeros(3, 1, 1, 2), params)
    with pytest.raises(DataError, match="symmetries"):
        augment_batch(
            torch.zeros(1, 1, 4, 4),
            torch.zeros(1, 1, 1, 2),
            AugmentationParams(geometric=GeometricConfig(flip_p=1.0), symmetry_pairs=((0, 1),)),
        )
