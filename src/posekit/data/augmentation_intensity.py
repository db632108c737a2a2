"""Intensity augmentation operations on whole batches, with explicit per-sample parameters.

Images are float ``(B, C, H, W)`` in ``[0, 1]``. Each operation changes only the samples
selected by its ``apply`` mask (the others are returned bit-for-bit unchanged) and clamps
its result to ``[0, 1]``. Keypoints are never touched by these operations. The random
parameters are drawn by :func:`posekit.data.augmentation.augment_batch`.
"""

from __future__ import annotations

import torch


def add_noise(
    images: torch.Tensor, noise: torch.Tensor, indices: torch.Tensor | None = None
) -> torch.Tensor:
    """Add per-pixel noise to some samples: ``clamp(image + noise, 0, 1)``.

    Args:
        images: ``(B, C, H, W)``.
        noise: ``(n, C, H, W)`` values to add, one map per selected sample.
        indices: ``(n,)`` indices of the samples that receive noise; ``None``: all
            samples (then ``n == B``).
    """
    noise = noise.to(images)
    if indices is None:
        return (images + noise).clamp_(0.0, 1.0)
    indices = indices.to(images.device)
    noisy = (images.index_select(0, indices) + noise).clamp_(0.0, 1.0)
    return images.index_copy(0, indices, noisy)


def _per_sample(
    values: torch.Tensor, apply: torch.Tensor, neutral: float, images: torch.Tensor
) -> torch.Tensor:
    values = torch.where(apply.to(values.device), values, neutral)
    return values.to(images).reshape(-1, 1, 1, 1)


def adjust_contrast(
    images: torch.Tensor, factors: torch.Tensor, apply: torch.Tensor
) -> torch.Tensor:
    """Contrast about mid-grey: ``clamp((image - 0.5) * factor + 0.5, 0, 1)`` per sample.

    A factor above 1 stretches values away from 0.5, below 1 pulls them towards it
    (sleap-nn's rule; the pivot is the fixed mid-grey, not the image mean). Samples not
    in ``apply`` get factor 1 and offset 0, which leaves ``[0, 1]`` values unchanged.
    """
    f = _per_sample(factors, apply, 1.0, images)
    return torch.addcmul(0.5 - 0.5 * f, images, f).clamp_(0.0, 1.0)


def adjust_brightness(
    images: torch.Tensor, factors: torch.Tensor, apply: torch.Tensor
) -> torch.Tensor:
    """Multiplicative brightness: ``clamp(image * factor, 0, 1)`` per sample (black stays black)."""
    return (images * _per_sample(factors, apply, 1.0, images)).clamp_(0.0, 1.0)
