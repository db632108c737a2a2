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

The options are the config's own ``data_config.augmentation_config`` sections
(:class:`~posekit.config.IntensityConfig`, :class:`~posekit.config.GeometricConfig`),
checked by the config's validation rules: this module declares no option and no limit of
its own (see ``docs/augmentation.md`` for the exact rules). Disabled operations draw no
random numbers and cost nothing.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from posekit.config.problems import Problem, raise_if_problems
from posekit.config.schema import GeometricConfig, IntensityConfig
from posekit.config.validation import AUGMENTATION, checked_section
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


def _checked(section: Any, cls: type, name: str) -> tuple[Any, list[str | Problem]]:
    """A checked copy of an augmentation section and its problems (``None`` stays ``None``)."""
    if section is None:
        return None, []
    path = f"{AUGMENTATION}.{name}"
    if not isinstance(section, cls):
        raise ConfigError(
            f"{path}: got a {type(section).__name__}; expected a {cls.__name__} (or None). "
            f"Build it with posekit.config.{cls.__name__}(...)."
        )
    return checked_section(section, path)


@dataclass(frozen=True)
class AugmentationParams:
    """Everything :func:`augment_batch` needs.

    The option sections are the config's own (``data_config.augmentation_config``); they
    are checked with the config's rules when the parameters are built (an invalid value
    raises :class:`~posekit.config.InvalidConfigError` naming its YAML path) and kept as
    independent copies, so later changes to the objects passed in have no effect.

    Attributes:
        intensity: Intensity options, or ``None`` for no intensity augmentation.
        geometric: Geometric options, or ``None`` for no geometric augmentation.
        symmetry_pairs: Left/right node index pairs of the skeleton, swapped on flips.
    """

    intensity: IntensityConfig | None = None
    geometric: GeometricConfig | None = None
    symmetry_pairs: tuple[tuple[int, int], ...] = ()

    def __post_init__(self) -> None:
        problems: list[str | Problem] = []
        for name, cls in (("intensity", IntensityConfig), ("geometric", GeometricConfig)):
            checked, found = _checked(getattr(self, name), cls, name)
            object.__setattr__(self, name, checked)
            problems += found
        raise_if_problems("augmentation settings", problems)
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
        return cls(intensity_cfg, geometric_cfg, tuple(symmetry_pairs))


def _changes(p: float | None, values: tuple[float, float], neutral: tuple[float, float]) -> bool:
    """Whether an option applied with probability ``p`` and ``values`` can change an image."""
    return p is not None and p > 0 and values != neutral


def _part_probabilities(g: GeometricConfig) -> dict[str, float | None]:
    """Effective probability of each affine part: its own ``*_p``, or ``None`` when it
    joins the bundle drawn with ``affine_p``. Parts that cannot change anything (zero
    rotation range, scale range ``[1, 1]``, zero translation) get ``0``."""
    active = {
        "rotation": (g.rotation_min, g.rotation_max) != (0, 0),
        "scale": (g.scale_min, g.scale_max) != (1, 1),
        "translate": g.translate_width > 0 or g.translate_height > 0,
    }
    own = {"rotation": g.rotation_p, "scale": g.scale_p, "translate": g.translate_p}
    return {k: (own[k] if active[k] else 0.0) for k in active}


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


def _apply_intensity(images: torch.Tensor, p: IntensityConfig, rng: _Sampler) -> torch.Tensor:
    b, c, h, w = images.shape
    if _changes(p.uniform_noise_p, (p.uniform_noise_min, p.uniform_noise_max), (0, 0)):
        n, idx = _noise_targets(b, p.uniform_noise_p, rng)
        if n:
            lo, hi = p.uniform_noise_min, p.uniform_noise_max
            images = add_noise(images, rng.rand(n, c, h, w).mul_(hi - lo).add_(lo), idx)
    if _changes(p.gaussian_noise_p, (p.gaussian_noise_mean, p.gaussian_noise_std), (0, 0)):
        n, idx = _noise_targets(b, p.gaussian_noise_p, rng)
        if n:
            noise = rng.randn(n, c, h, w).mul_(p.gaussian_noise_std).add_(p.gaussian_noise_mean)
            images = add_noise(images, noise, idx)
    if _changes(p.contrast_p, (p.contrast_min, p.contrast_max), (1, 1)):
        apply = rng.bernoulli(b, p.contrast_p)
        images = adjust_contrast(images, rng.uniform(b, p.contrast_min, p.contrast_max), apply)
    if _changes(p.brightness_p, (p.brightness_min, p.brightness_max), (1, 1)):
        apply = rng.bernoulli(b, p.brightness_p)
        images = adjust_brightness(
            images, rng.uniform(b, p.brightness_min, p.brightness_max), apply
        )
    return images


def _apply_geometry(
    images: torch.Tensor,
    points: torch.Tensor,
    p: GeometricConfig,
    pairs: tuple[tuple[int, int], ...],
    rng: _Sampler,
) -> tuple[torch.Tensor, torch.Tensor]:
    b, _, h, w = images.shape
    probs = _part_probabilities(p)
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


def _apply_erase_and_mixup(images: torch.Tensor, p: GeometricConfig, rng: _Sampler) -> torch.Tensor:
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
