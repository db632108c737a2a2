"""Random data augmentation for a whole training batch, on the batch's device.

:func:`augment_batch` takes float images ``(B, C, H, W)`` in ``[0, 1]`` and keypoints
``(B, N, K, 2)`` (NaN = missing) and returns augmented copies; the inputs are never
modified. Every sample draws its own random parameters from one ``torch.Generator``, so
a seeded generator reproduces a batch exactly. Operations run in this order:

1. intensity (per sample, each with its own probability): uniform noise, Gaussian
   noise, contrast, brightness;
2. geometry: left/right flip (with symmetric node swap) composed with rotation,
   isotropic scale and translation into one matrix per sample and applied with a single
   ``grid_sample`` call (keypoints get the same matrix; points pushed out of the image
   become NaN);
3. random erase (one solid rectangle; keypoints unchanged);
4. mixup (blend with another image of the batch; keypoints stay the primary's).

The option names and meanings are those of ``data_config.augmentation_config`` (see
``docs/augmentation.md`` for the exact rules). Disabled operations draw no random numbers
and cost nothing.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

import torch

from posekit.data.augmentation_geometric import (
    affine_matrices,
    erase_rectangles,
    flip_images,
    mix_images,
    swap_symmetric_nodes,
    symmetry_permutation,
    transform_points,
    warp_images,
)
from posekit.data.augmentation_intensity import add_noise, adjust_brightness, adjust_contrast
from posekit.errors import ConfigError, DataError

if TYPE_CHECKING:
    from posekit.config.schema import GeometricConfig, IntensityConfig

_SECTION = "data_config.augmentation_config"


def _fail(field: str, value: Any, expected: str) -> ConfigError:
    return ConfigError(
        f"{_SECTION}.{field}: got {value!r}; expected {expected}. "
        "Fix the value in the config file (see docs/augmentation.md for each option)."
    )


def _check_prob(section: str, name: str, value: float | None, optional: bool = False) -> None:
    if value is None and optional:
        return
    if not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise _fail(
            f"{section}.{name}",
            value,
            "a probability between 0 and 1" + (" or null" if optional else ""),
        )


def _check_range(
    section: str,
    obj: Any,
    stem: str,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
) -> None:
    lo, hi = getattr(obj, f"{stem}_min"), getattr(obj, f"{stem}_max")
    for name, v in ((f"{stem}_min", lo), (f"{stem}_max", hi)):
        bad = not isinstance(v, (int, float)) or not math.isfinite(v)
        bad = bad or (low is not None and (v <= low if low_open else v < low))
        bad = bad or (high is not None and v > high)
        if bad:
            bounds = f"{'>' if low_open else '>='} {low}" if low is not None else "finite"
            bounds += f" and <= {high}" if high is not None else ""
            raise _fail(f"{section}.{name}", v, f"a number {bounds}")
    if lo > hi:
        raise _fail(f"{section}.{stem}_min", lo, f"a value <= {stem}_max ({hi})")


@dataclass(frozen=True)
class IntensityParams:
    """``augmentation_config.intensity`` options (defaults as in the configuration guide)."""

    uniform_noise_min: float = 0.0
    uniform_noise_max: float = 1.0
    uniform_noise_p: float = 0.0
    gaussian_noise_mean: float = 0.0
    gaussian_noise_std: float = 1.0
    gaussian_noise_p: float = 0.0
    contrast_min: float = 0.9
    contrast_max: float = 1.1
    contrast_p: float = 0.0
    brightness_min: float = 1.0
    brightness_max: float = 1.0
    brightness_p: float = 0.0

    def __post_init__(self) -> None:
        sec = "intensity"
        for name in ("uniform_noise_p", "gaussian_noise_p", "contrast_p", "brightness_p"):
            _check_prob(sec, name, getattr(self, name))
        _check_range(sec, self, "uniform_noise", -1.0, 1.0)
        _check_range(sec, self, "contrast", 0.0)
        _check_range(sec, self, "brightness", 0.0)
        if not (isinstance(self.gaussian_noise_std, (int, float)) and self.gaussian_noise_std >= 0):
            raise _fail(f"{sec}.gaussian_noise_std", self.gaussian_noise_std, "a number >= 0")
        if not (
            isinstance(self.gaussian_noise_mean, (int, float))
            and math.isfinite(self.gaussian_noise_mean)
        ):
            raise _fail(f"{sec}.gaussian_noise_mean", self.gaussian_noise_mean, "a finite number")

    @property
    def uniform_noise_on(self) -> bool:
        """Whether uniform noise can change an image."""
        return self.uniform_noise_p > 0 and (self.uniform_noise_min, self.uniform_noise_max) != (
            0,
            0,
        )

    @property
    def gaussian_noise_on(self) -> bool:
        """Whether Gaussian noise can change an image."""
        return self.gaussian_noise_p > 0 and (
            self.gaussian_noise_mean,
            self.gaussian_noise_std,
        ) != (0, 0)

    @property
    def contrast_on(self) -> bool:
        """Whether the contrast change can change an image."""
        return self.contrast_p > 0 and (self.contrast_min, self.contrast_max) != (1, 1)

    @property
    def brightness_on(self) -> bool:
        """Whether the brightness change can change an image."""
        return self.brightness_p > 0 and (self.brightness_min, self.brightness_max) != (1, 1)


@dataclass(frozen=True)
class GeometricParams:
    """``augmentation_config.geometric`` options (defaults as in the configuration guide).

    Probabilities of rotation, scale and translation: a part whose own ``*_p`` is set
    is drawn independently with that probability; the parts whose ``*_p`` is ``None``
    are applied together with probability ``affine_p`` (one draw per sample).
    """

    rotation_min: float = -15.0
    rotation_max: float = 15.0
    rotation_p: float | None = None
    scale_min: float = 0.9
    scale_max: float = 1.1
    scale_p: float | None = None
    translate_width: float = 0.0
    translate_height: float = 0.0
    translate_p: float | None = None
    affine_p: float = 0.0
    erase_scale_min: float = 0.0001
    erase_scale_max: float = 0.01
    erase_ratio_min: float = 1.0
    erase_ratio_max: float = 1.0
    erase_p: float = 0.0
    mixup_lambda_min: float = 0.01
    mixup_lambda_max: float = 0.05
    mixup_p: float = 0.0
    flip_p: float = 0.0

    def __post_init__(self) -> None:
        sec = "geometric"
        for name in ("rotation_p", "scale_p", "translate_p"):
            _check_prob(sec, name, getattr(self, name), optional=True)
        for name in ("affine_p", "erase_p", "mixup_p", "flip_p"):
            _check_prob(sec, name, getattr(self, name))
        _check_range(sec, self, "rotation")
        _check_range(sec, self, "scale", 0.0, low_open=True)
        _check_range(sec, self, "erase_scale", 0.0, 1.0, low_open=True)
        _check_range(sec, self, "erase_ratio", 0.0, low_open=True)
        _check_range(sec, self, "mixup_lambda", 0.0, 1.0)
        for name in ("translate_width", "translate_height"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and 0.0 <= v <= 1.0):
                raise _fail(f"{sec}.{name}", v, "a fraction of the image size between 0 and 1")

    def part_probabilities(self) -> dict[str, float | None]:
        """Effective probability of each affine part: its own ``*_p``, or ``None`` when it
        joins the bundle drawn with ``affine_p``. Parts that cannot change anything
        (zero rotation range, scale range ``[1, 1]``, zero translation) get ``0``."""
        active = {
            "rotation": (self.rotation_min, self.rotation_max) != (0, 0),
            "scale": (self.scale_min, self.scale_max) != (1, 1),
            "translate": self.translate_width > 0 or self.translate_height > 0,
        }
        own = {"rotation": self.rotation_p, "scale": self.scale_p, "translate": self.translate_p}
        return {k: (own[k] if active[k] else 0.0) for k in active}


def _params_from(cls: type, cfg: Any) -> Any:
    if cfg is None:
        return None
    return cls(**{f.name: getattr(cfg, f.name) for f in fields(cls) if hasattr(cfg, f.name)})


@dataclass(frozen=True)
class AugmentationParams:
    """Everything :func:`augment_batch` needs.

    Attributes:
        intensity: Intensity options, or ``None`` for no intensity augmentation.
        geometric: Geometric options, or ``None`` for no geometric augmentation.
        symmetry_pairs: Left/right node index pairs of the skeleton, swapped on flips.
    """

    intensity: IntensityParams | None = None
    geometric: GeometricParams | None = None
    symmetry_pairs: tuple[tuple[int, int], ...] = ()

    def __post_init__(self) -> None:
        pairs = tuple((int(a), int(b)) for a, b in self.symmetry_pairs)
        object.__setattr__(self, "symmetry_pairs", pairs)
        if pairs:
            symmetry_permutation(pairs, max(max(p) for p in pairs) + 1)
        if self.geometric is not None and self.geometric.flip_p > 0 and not pairs:
            warnings.warn(
                "augmentation_config.geometric.flip_p > 0 but the skeleton has no symmetry "
                "pairs: mirrored images keep every node's name, so a 'left' part will be "
                "labelled on the animal's right. Add symmetries to the skeleton, or set "
                "flip_p: 0 unless the labels are truly left/right symmetric.",
                UserWarning,
                stacklevel=2,
            )

    @classmethod
    def from_config(
        cls,
        intensity_cfg: IntensityConfig | None,
        geometric_cfg: GeometricConfig | None,
        symmetry_pairs: Sequence[tuple[int, int]] = (),
    ) -> AugmentationParams:
        """Build from ``augmentation_config.intensity`` / ``.geometric`` (either may be
        ``None``) and the skeleton's symmetry pairs (node indices)."""
        return cls(
            _params_from(IntensityParams, intensity_cfg),
            _params_from(GeometricParams, geometric_cfg),
            tuple(symmetry_pairs),
        )


class _Sampler:
    """Draws random tensors from one generator and delivers them on the images' device."""

    def __init__(self, generator: torch.Generator | None, device: torch.device) -> None:
        self.generator = generator
        self.device = device
        self.source = generator.device if generator is not None else device

    def rand(self, *shape: int) -> torch.Tensor:
        return torch.rand(shape, generator=self.generator, device=self.source).to(self.device)

    def randn(self, *shape: int) -> torch.Tensor:
        return torch.randn(shape, generator=self.generator, device=self.source).to(self.device)

    def uniform(self, n: int, low: float, high: float) -> torch.Tensor:
        return low + (high - low) * self.rand(n)

    def bernoulli(self, n: int, p: float) -> torch.Tensor:
        if p >= 1.0:
            return torch.ones(n, dtype=torch.bool, device=self.device)
        return self.rand(n) < p

    def randint(self, n: int, low: int, high: int) -> torch.Tensor:
        return torch.randint(low, high, (n,), generator=self.generator, device=self.source).to(
            self.device
        )


def _noise_targets(n: int, p: float, rng: _Sampler) -> tuple[int, torch.Tensor | None]:
    """How many samples get noise and which (``None``: all, without a device sync)."""
    if p >= 1.0:
        return n, None
    idx = torch.nonzero(rng.bernoulli(n, p)).flatten()
    return idx.numel(), idx


def _apply_intensity(images: torch.Tensor, p: IntensityParams, rng: _Sampler) -> torch.Tensor:
    b, c, h, w = images.shape
    if p.uniform_noise_on:
        n, idx = _noise_targets(b, p.uniform_noise_p, rng)
        if n:
            lo, hi = p.uniform_noise_min, p.uniform_noise_max
            images = add_noise(images, rng.rand(n, c, h, w).mul_(hi - lo).add_(lo), idx)
    if p.gaussian_noise_on:
        n, idx = _noise_targets(b, p.gaussian_noise_p, rng)
        if n:
            noise = rng.randn(n, c, h, w).mul_(p.gaussian_noise_std).add_(p.gaussian_noise_mean)
            images = add_noise(images, noise, idx)
    if p.contrast_on:
        apply = rng.bernoulli(b, p.contrast_p)
        images = adjust_contrast(images, rng.uniform(b, p.contrast_min, p.contrast_max), apply)
    if p.brightness_on:
        apply = rng.bernoulli(b, p.brightness_p)
        images = adjust_brightness(
            images, rng.uniform(b, p.brightness_min, p.brightness_max), apply
        )
    return images


def _apply_geometry(
    images: torch.Tensor,
    points: torch.Tensor,
    p: GeometricParams,
    pairs: tuple[tuple[int, int], ...],
    rng: _Sampler,
) -> tuple[torch.Tensor, torch.Tensor]:
    b, _, h, w = images.shape
    probs = p.part_probabilities()
    bundle = None
    if p.affine_p > 0 and any(v is None for v in probs.values()):
        bundle = rng.bernoulli(b, p.affine_p)
    applied: dict[str, torch.Tensor] = {}
    for part, prob in probs.items():
        if prob is None and bundle is not None:
            applied[part] = bundle
        elif prob is not None and prob > 0:
            applied[part] = rng.bernoulli(b, prob)
    flips = rng.bernoulli(b, p.flip_p) if p.flip_p > 0 else None
    if not applied and flips is None:
        return images, points
    false = torch.zeros(b, dtype=torch.bool, device=images.device)
    angles = scales = shifts = None
    if "rotation" in applied:
        angles = torch.where(
            applied["rotation"], rng.uniform(b, p.rotation_min, p.rotation_max), 0.0
        )
    if "scale" in applied:
        scales = torch.where(applied["scale"], rng.uniform(b, p.scale_min, p.scale_max), 1.0)
    if "translate" in applied:
        dx = rng.uniform(b, -p.translate_width, p.translate_width) * w
        dy = rng.uniform(b, -p.translate_height, p.translate_height) * h
        shifts = torch.where(applied["translate"][:, None], torch.stack([dx, dy], 1), 0.0)
    flips = false if flips is None else flips
    warp = false
    for mask in applied.values():
        warp = warp | mask
    zeros = torch.zeros(b, device=images.device)
    matrices = affine_matrices(
        zeros if angles is None else angles,
        torch.ones(b, device=images.device) if scales is None else scales,
        torch.zeros(b, 2, device=images.device) if shifts is None else shifts,
        flips,
        h,
        w,
    )
    if p.flip_p > 0:
        images = flip_images(images, flips & ~warp)  # exact mirror where nothing else applies
    idx = torch.nonzero(warp).flatten()
    if idx.numel() == b:
        images = warp_images(images, matrices)
    elif idx.numel():
        warped = warp_images(images.index_select(0, idx), matrices.index_select(0, idx))
        images = images.index_copy(0, idx, warped)
    points = transform_points(points, matrices, h, w, moved=warp | flips)
    if pairs:
        points = swap_symmetric_nodes(points, flips, symmetry_permutation(pairs, points.shape[-2]))
    return images, points


def _apply_erase_and_mixup(images: torch.Tensor, p: GeometricParams, rng: _Sampler) -> torch.Tensor:
    b, c, h, w = images.shape
    if p.erase_p > 0:
        apply = rng.bernoulli(b, p.erase_p)
        area = rng.uniform(b, p.erase_scale_min, p.erase_scale_max) * (h * w)
        ratio = rng.uniform(b, p.erase_ratio_min, p.erase_ratio_max)
        eh = torch.sqrt(area * ratio).round().clamp(1, h).long()
        ew = torch.sqrt(area / ratio).round().clamp(1, w).long()
        y0 = torch.minimum((rng.rand(b) * (h - eh + 1)).long(), h - eh)
        x0 = torch.minimum((rng.rand(b) * (w - ew + 1)).long(), w - ew)
        boxes = torch.stack([x0, y0, x0 + ew, y0 + eh], 1)
        images = erase_rectangles(images, boxes, rng.rand(b, c), apply)
    if p.mixup_p > 0 and b > 1 and p.mixup_lambda_max > 0:
        apply = rng.bernoulli(b, p.mixup_p)
        lam = torch.where(apply, rng.uniform(b, p.mixup_lambda_min, p.mixup_lambda_max), 0.0)
        partners = (torch.arange(b, device=images.device) + rng.randint(b, 1, b)) % b
        images = mix_images(images, partners, lam)
    return images


def augment_batch(
    images: torch.Tensor,
    points: torch.Tensor,
    params: AugmentationParams,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Augment a batch; each sample gets its own random parameters.

    Args:
        images: Float ``(B, C, H, W)`` in ``[0, 1]`` on any device.
        points: ``(B, N, K, 2)`` keypoints in pixels of ``images`` (any ``(B, ..., K, 2)``
            shape works); NaN marks missing points.
        params: What to apply (:class:`AugmentationParams`).
        generator: Source of randomness (seed it for reproducible batches). For speed
            it should live on the images' device; ``None`` uses torch's global RNG.

    Returns:
        ``(images, points)``; the inputs are never modified (when nothing applies to the
        batch, the input tensors themselves are returned). Images stay in
        ``[0, 1]``; keypoints moved outside the image become NaN.
    """
    if images.ndim != 4 or not images.is_floating_point():
        raise DataError(
            f"augment_batch: images have shape {tuple(images.shape)} and dtype {images.dtype}; "
            "expected float (batch, channels, height, width) in [0, 1]. Convert uint8 "
            "images with images.float() / 255 first."
        )
    if points.shape[0] != images.shape[0] or points.shape[-1] != 2 or points.ndim < 3:
        raise DataError(
            f"augment_batch: points have shape {tuple(points.shape)} for {images.shape[0]} "
            "images; expected (batch, n_instances, n_nodes, 2) with the same batch size."
        )
    rng = _Sampler(generator, images.device)
    if params.intensity is not None:
        images = _apply_intensity(images, params.intensity, rng)
    if params.geometric is not None:
        images, points = _apply_geometry(
            images, points, params.geometric, params.symmetry_pairs, rng
        )
        images = _apply_erase_and_mixup(images, params.geometric, rng)
    return images, points
