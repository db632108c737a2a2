"""Geometric augmentation operations on whole batches, with explicit per-sample parameters.

These functions are deterministic: the random parameters are drawn by
:func:`posekit.data.augmentation.augment_batch` and passed in, so every rule here can be
checked with hand-computed numbers.

Coordinates follow the project convention: a keypoint ``(x, y)`` is in pixels of the
(model-input) image and the centre of the top-left pixel is ``(0, 0)``; the image covers
``[-0.5, W - 0.5] x [-0.5, H - 0.5]``. The same convention is used for
``grid_sample(align_corners=False)``, whose normalised ``-1`` / ``+1`` are the outer
edges of the border pixels, so a point mapped by a matrix lands exactly where the
warped image moved that pixel.

A transform is a ``(B, 3, 3)`` matrix ``A`` in pixel coordinates that sends a source
position to its destination, ``[x', y', 1] = A @ [x, y, 1]``. It is built as::

    A = R_c @ S_c @ T @ F

applied right to left: ``F`` mirrors left/right (``x -> (W - 1) - x``), ``T`` translates
by ``(tx, ty)``, ``S_c`` scales isotropically about the image centre
``c = ((W - 1) / 2, (H - 1) / 2)`` and ``R_c`` rotates about ``c``. With the y axis
pointing down, a positive angle turns the picture clockwise on screen.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from posekit.errors import DataError


def affine_matrices(
    angles_deg: torch.Tensor,
    scales: torch.Tensor,
    translations: torch.Tensor,
    flips: torch.Tensor,
    height: int,
    width: int,
) -> torch.Tensor:
    """Per-sample forward transforms ``(B, 3, 3)`` (source -> destination pixels).

    Args:
        angles_deg: ``(B,)`` rotation angles in degrees (positive: clockwise on screen).
        scales: ``(B,)`` isotropic scale factors (``> 1`` magnifies).
        translations: ``(B, 2)`` shifts ``(tx, ty)`` in pixels.
        flips: ``(B,)`` booleans, mirror left/right first.
        height: Image height ``H`` in pixels.
        width: Image width ``W`` in pixels.
    """
    dtype = scales.dtype if scales.is_floating_point() else torch.float32
    theta = torch.deg2rad(angles_deg.to(dtype))
    cos, sin = torch.cos(theta), torch.sin(theta)
    scales = scales.to(dtype)
    cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
    # F: x -> fx * x + bx.
    fx = torch.where(flips, -1.0, 1.0).to(dtype)
    bx = torch.where(flips, float(width - 1), 0.0).to(dtype)
    # After F and T, the point is (fx * x + bx + tx, y + ty); then S_c and R_c:
    # p' = c + s * R @ (q - c), with q that point.
    qx0 = bx + translations[:, 0].to(dtype) - cx  # q - c at x = 0, y = 0
    qy0 = translations[:, 1].to(dtype) - cy
    a00, a01 = scales * cos * fx, -scales * sin
    a10, a11 = scales * sin * fx, scales * cos
    t0 = cx + scales * (cos * qx0 - sin * qy0)
    t1 = cy + scales * (sin * qx0 + cos * qy0)
    zeros, ones = torch.zeros_like(a00), torch.ones_like(a00)
    return torch.stack(
        [
            torch.stack([a00, a01, t0], -1),
            torch.stack([a10, a11, t1], -1),
            torch.stack([zeros, zeros, ones], -1),
        ],
        dim=-2,
    )


def invert_affine(matrices: torch.Tensor) -> torch.Tensor:
    """Inverse of affine matrices ``(B, 3, 3)`` in closed form (works on any device)."""
    a, b, tx = matrices[:, 0, 0], matrices[:, 0, 1], matrices[:, 0, 2]
    c, d, ty = matrices[:, 1, 0], matrices[:, 1, 1], matrices[:, 1, 2]
    det = a * d - b * c
    ia, ib, ic, id_ = d / det, -b / det, -c / det, a / det
    itx, ity = -(ia * tx + ib * ty), -(ic * tx + id_ * ty)
    zeros, ones = torch.zeros_like(a), torch.ones_like(a)
    return torch.stack(
        [
            torch.stack([ia, ib, itx], -1),
            torch.stack([ic, id_, ity], -1),
            torch.stack([zeros, zeros, ones], -1),
        ],
        dim=-2,
    )


def sampling_grid(matrices: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """``grid_sample`` grid ``(B, H, W, 2)`` for forward pixel transforms ``(B, 3, 3)``.

    Output pixel ``(x, y)`` samples the input at ``A^-1 (x, y)``, written in the
    normalised coordinates of ``align_corners=False`` (``u = (2 x + 1) / W - 1``).
    Built from one row term and one column term per sample (the grid is affine in the
    pixel indices), which is several times cheaper than ``affine_grid``.
    """
    inv = invert_affine(matrices)
    batch = inv.shape[0]
    norm = torch.tensor([2.0 / width, 2.0 / height], dtype=inv.dtype, device=inv.device)
    shift = torch.tensor(
        [1.0 / width - 1.0, 1.0 / height - 1.0], dtype=inv.dtype, device=inv.device
    )
    lin = inv[:, :2, :2] * norm[None, :, None]  # d(u, v) / d(x, y)
    offset = inv[:, :2, 2] * norm + shift  # (u, v) at pixel (0, 0)
    cols = torch.arange(width, dtype=inv.dtype, device=inv.device)
    rows = torch.arange(height, dtype=inv.dtype, device=inv.device)
    col_term = cols[None, :, None] * lin[:, None, :, 0]  # (B, W, 2)
    row_term = rows[None, :, None] * lin[:, None, :, 1] + offset[:, None, :]  # (B, H, 2)
    grid = torch.empty(batch, height, width, 2, dtype=inv.dtype, device=inv.device)
    torch.add(row_term[:, :, None, :], col_term[:, None, :, :], out=grid)
    return grid


def warp_images(images: torch.Tensor, matrices: torch.Tensor) -> torch.Tensor:
    """Warp images ``(B, C, H, W)`` by forward pixel transforms ``(B, 3, 3)``.

    One ``grid_sample`` call (bilinear, zeros outside, ``align_corners=False``).
    Output pixel ``p`` takes the input value at ``A^-1 p``. Half-precision images are
    warped in float32 (a float16 grid would be off by up to half a pixel on large images).
    """
    height, width = images.shape[-2:]
    work = images if images.dtype in (torch.float32, torch.float64) else images.float()
    grid = sampling_grid(matrices.to(dtype=work.dtype, device=work.device), height, width)
    out = F.grid_sample(work, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return out.to(images.dtype)


def transform_points(
    points: torch.Tensor,
    matrices: torch.Tensor,
    height: int,
    width: int,
    moved: torch.Tensor | None = None,
) -> torch.Tensor:
    """Apply ``(B, 3, 3)`` transforms to points ``(B, ..., 2)``; NaN stays NaN.

    Points of the samples in ``moved`` (``(B,)`` booleans, default: all) that end up
    outside the image area ``[-0.5, W - 0.5] x [-0.5, H - 0.5]`` become NaN (both
    coordinates): they are treated as not visible.
    """
    batch = points.shape[0]
    flat = points.reshape(batch, -1, 2)
    m = matrices.to(dtype=flat.dtype, device=flat.device)
    out = flat @ m[:, :2, :2].transpose(1, 2) + m[:, None, :2, 2]
    x, y = out[..., 0], out[..., 1]
    outside = (x < -0.5) | (x > width - 0.5) | (y < -0.5) | (y > height - 0.5)
    if moved is not None:
        outside &= moved.to(flat.device)[:, None]
    out = out.masked_fill(outside[..., None], float("nan"))
    return out.reshape(points.shape)


def flip_images(images: torch.Tensor, flips: torch.Tensor) -> torch.Tensor:
    """Mirror left/right the images ``(B, C, H, W)`` whose ``flips`` entry is true (exact)."""
    return torch.where(flips[:, None, None, None], images.flip(-1), images)


def symmetry_permutation(symmetry_pairs: Sequence[tuple[int, int]], n_nodes: int) -> torch.Tensor:
    """Node order ``(n_nodes,)`` that exchanges each left/right pair.

    After a mirror, slot ``i`` takes the point that was in slot ``perm[i]``.
    """
    perm = list(range(n_nodes))
    seen: set[int] = set()
    for pair in symmetry_pairs:
        i, j = (int(v) for v in pair)
        if not (0 <= i < n_nodes and 0 <= j < n_nodes) or i == j or {i, j} & seen:
            raise DataError(
                f"skeleton symmetries: pair {tuple(pair)} is invalid for {n_nodes} nodes; "
                "expected two different node indices in [0, n_nodes), each node in at most "
                "one pair. Check the skeleton's symmetry list in the labels file."
            )
        seen |= {i, j}
        perm[i], perm[j] = j, i
    return torch.tensor(perm, dtype=torch.long)


def swap_symmetric_nodes(
    points: torch.Tensor, flips: torch.Tensor, permutation: torch.Tensor
) -> torch.Tensor:
    """Reorder the node axis (``-2``) of ``points`` ``(B, ..., K, 2)`` for flipped samples."""
    swapped = points.index_select(-2, permutation.to(points.device))
    mask = flips.to(points.device).reshape((-1,) + (1,) * (points.ndim - 1))
    return torch.where(mask, swapped, points)


def erase_rectangles(
    images: torch.Tensor, boxes: torch.Tensor, fill: torch.Tensor, apply: torch.Tensor
) -> torch.Tensor:
    """Paint one solid rectangle per selected image.

    Args:
        images: ``(B, C, H, W)`` float images.
        boxes: ``(B, 4)`` integer ``(x0, y0, x1, y1)``; pixels ``x0 <= x < x1``,
            ``y0 <= y < y1`` are painted.
        fill: ``(B, C)`` fill value per channel.
        apply: ``(B,)`` booleans; other images are returned unchanged.
    """
    height, width = images.shape[-2:]
    device = images.device
    boxes = boxes.to(device)
    cols = torch.arange(width, device=device)
    rows = torch.arange(height, device=device)
    in_x = (cols >= boxes[:, 0, None]) & (cols < boxes[:, 2, None])  # (B, W)
    in_y = (rows >= boxes[:, 1, None]) & (rows < boxes[:, 3, None])  # (B, H)
    mask = in_y[:, :, None] & in_x[:, None, :] & apply.to(device)[:, None, None]
    return torch.where(mask[:, None], fill.to(images)[:, :, None, None], images)


def mix_images(images: torch.Tensor, partners: torch.Tensor, lambdas: torch.Tensor) -> torch.Tensor:
    """Blend each image with another: ``(1 - lambda_i) * image_i + lambda_i * image_partner_i``.

    ``lambdas`` ``(B,)`` of 0 leave an image unchanged (exactly).
    """
    lam = lambdas.to(images)[:, None, None, None]
    other = images.index_select(0, partners.to(images.device))
    return torch.where(lam > 0, (1.0 - lam) * images + lam * other, images)
