"""Peak finding on confidence maps: one peak finder for every predictor.

Maps are ``(B, K, h, w)`` tensors with output stride ``s``; cell ``(i, j)`` stands for the
model-input position ``(x = j * s, y = i * s)`` (``docs/design.md``), the mapping used by
:mod:`posekit.data.targets`, so rendered points decode back where they were put.

Sub-pixel refinement (offsets in cells, added to the integer peak cell, clamped to
``[-0.5, 0.5]`` so a point never leaves the cell that holds the maximum):

``"integral"``
    Centre of mass over a ``patch x patch`` window around the peak cell, of the values above
    the window's *border level* (the largest value on the window's outer ring). Above that
    level the peak is a region bounded inside the window, so for any symmetric peak the
    centre of mass is the peak itself whatever its width; a constant background cancels
    out. Where the window does not fit inside the map (a peak within ``patch // 2`` cells
    of the edge) the ``"local"`` rule is used instead, since a window cut by the edge would
    pull the estimate inwards. Measured on rendered Gaussians (patch 7) the error is below
    0.04 cell for ``sigma / stride`` from 0.5 to 10.
``"local"``
    A parabola through the log-values of the peak cell and its two neighbours, per axis
    (exact for Gaussian peaks, whose logarithm is a parabola). An axis whose neighbour lies
    outside the map is not refined.
``None``
    The peak cell itself.
"""

from __future__ import annotations

import torch

from posekit.errors import ConfigError, DataError

__all__ = ["REFINEMENTS", "find_global_peaks", "find_local_peaks", "find_peak_candidates",
           "refine_peak_offsets"]

REFINEMENTS = ("integral", "local", None)

# Smallest value used when taking logarithms for the "local" refinement.
_LOG_FLOOR = 1e-12


def _point_dtype(maps: torch.Tensor) -> torch.dtype:
    """float32 for half-precision maps (sub-pixel offsets need the precision), else as is."""
    return maps.dtype if maps.dtype in (torch.float32, torch.float64) else torch.float32


def _check_maps(maps: torch.Tensor) -> None:
    if not isinstance(maps, torch.Tensor) or maps.ndim != 4:
        shape = tuple(maps.shape) if hasattr(maps, "shape") else type(maps).__name__
        raise DataError(
            f"maps: got {shape}; expected a (batch, channels, height, width) tensor of "
            "confidence maps. Add a batch axis with maps[None] for a single frame."
        )


def _check_options(stride: float, refinement: str | None, integral_patch_size: int) -> None:
    if not stride > 0:
        raise ConfigError(
            f"output_stride: got {stride!r}; expected a positive number. "
            "Use the head's output_stride from the model configuration."
        )
    if refinement not in REFINEMENTS:
        raise ConfigError(
            f"refinement: got {refinement!r}; expected one of 'integral', 'local' or None. "
            "Use 'integral' unless you have a reason to change it."
        )
    if integral_patch_size < 5 or integral_patch_size % 2 == 0:
        raise ConfigError(
            f"integral_patch_size: got {integral_patch_size!r}; expected an odd integer >= 5 "
            "(the side of the window, in cells). The default is 7."
        )


def _windows(
    maps: torch.Tensor,
    sample_idx: torch.Tensor,
    channel_idx: torch.Tensor,
    rows: torch.Tensor,
    cols: torch.Tensor,
    radius: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Gather ``(P, 2r+1, 2r+1)`` windows centred on the given cells, and their validity.

    Cells outside the map hold the value of the nearest map cell; callers mask them.
    """
    _, n_channels, h, w = maps.shape
    offsets = torch.arange(-radius, radius + 1, device=maps.device)
    rr = rows[:, None] + offsets  # (P, S)
    cc = cols[:, None] + offsets
    valid = ((rr >= 0) & (rr < h))[:, :, None] & ((cc >= 0) & (cc < w))[:, None, :]
    base = (sample_idx * n_channels + channel_idx) * (h * w)
    flat = base[:, None, None] + rr.clamp(0, h - 1)[:, :, None] * w + cc.clamp(0, w - 1)[:, None, :]
    return maps.reshape(-1)[flat], valid


def _integral_offsets(window: torch.Tensor) -> torch.Tensor:
    """Centre of mass of the values above the window's border level, ``(P, 2)`` as (dx, dy)."""
    size = window.shape[-1]
    edge = torch.arange(size, device=window.device)
    edge = (edge == 0) | (edge == size - 1)
    ring = edge[:, None] | edge[None, :]
    level = window.masked_fill(~ring, float("-inf")).flatten(1).amax(dim=1)
    weights = (window - level[:, None, None]).clamp_min(0.0)
    total = weights.sum(dim=(1, 2))
    grid = torch.arange(-(size // 2), size // 2 + 1, dtype=window.dtype, device=window.device)
    dx = (weights.sum(dim=1) * grid).sum(dim=1)
    dy = (weights.sum(dim=2) * grid).sum(dim=1)
    safe = torch.where(total > 0, total, torch.ones_like(total))
    offsets = torch.stack((dx, dy), dim=-1) / safe[:, None]
    return torch.where((total > 0)[:, None], offsets, torch.zeros_like(offsets))


def _local_offsets(window: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """Log-parabola vertex along x and y from a ``(P, 3, 3)`` window, ``(P, 2)``."""
    logs = torch.log(window.clamp_min(_LOG_FLOOR))
    centre = logs[:, 1, 1]

    def axis(before: torch.Tensor, after: torch.Tensor, ok: torch.Tensor) -> torch.Tensor:
        curvature = before - 2.0 * centre + after
        safe = torch.where(curvature < 0, curvature, -torch.ones_like(curvature))
        offset = 0.5 * (before - after) / safe
        return torch.where(ok & (curvature < 0), offset, torch.zeros_like(offset))

    dx = axis(logs[:, 1, 0], logs[:, 1, 2], valid[:, 1, 0] & valid[:, 1, 2])
    dy = axis(logs[:, 0, 1], logs[:, 2, 1], valid[:, 0, 1] & valid[:, 2, 1])
    return torch.stack((dx, dy), dim=-1)


def refine_peak_offsets(
    maps: torch.Tensor,
    sample_idx: torch.Tensor,
    channel_idx: torch.Tensor,
    rows: torch.Tensor,
    cols: torch.Tensor,
    refinement: str | None = "integral",
    integral_patch_size: int = 7,
) -> torch.Tensor:
    """Sub-pixel offsets (in cells) of peaks at integer cells ``(rows, cols)``.

    Args:
        maps: ``(B, K, h, w)`` maps.
        sample_idx, channel_idx, rows, cols: ``(P,)`` long indices of each peak cell.
        refinement: ``"integral"``, ``"local"`` or ``None`` (see the module docstring).
        integral_patch_size: odd window side for ``"integral"``.

    Returns:
        ``(P, 2)`` offsets ``(dx, dy)`` in ``[-0.5, 0.5]`` cells.
    """
    _check_maps(maps)
    _check_options(1, refinement, integral_patch_size)
    if refinement is None:
        return torch.zeros((rows.shape[0], 2), dtype=_point_dtype(maps), device=maps.device)
    radius = integral_patch_size // 2 if refinement == "integral" else 1
    window, valid = _windows(maps, sample_idx, channel_idx, rows, cols, radius)
    window = torch.where(valid, window.to(_point_dtype(maps)), 0.0)
    centre = slice(radius - 1, radius + 2)
    local = _local_offsets(window[:, centre, centre], valid[:, centre, centre])
    if refinement == "local":
        return local.clamp(-0.5, 0.5)
    h, w = maps.shape[-2:]
    room = torch.stack((rows, cols, h - 1 - rows, w - 1 - cols)).amin(dim=0)
    # Where the whole window does not fit in the map, the "local" rule is used instead.
    offsets = torch.where((room >= radius)[:, None], _integral_offsets(window), local)
    return offsets.clamp(-0.5, 0.5)


def find_global_peaks(
    maps: torch.Tensor,
    stride: float,
    threshold: float = 0.2,
    refinement: str | None = "integral",
    integral_patch_size: int = 7,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The highest peak of every channel (single-instance and centred-instance models).

    Args:
        maps: ``(B, K, h, w)`` confidence maps.
        stride: output stride of the maps.
        threshold: peaks whose value is below this become ``NaN`` points (their score is kept).
        refinement: ``"integral"`` (default), ``"local"`` or ``None``.
        integral_patch_size: odd window side (cells) for ``"integral"``.

    Returns:
        ``points (B, K, 2)`` in model-input pixels and ``scores (B, K)`` (the map value at
        the peak cell).
    """
    _check_maps(maps)
    _check_options(stride, refinement, integral_patch_size)
    maps = maps.contiguous()  # flat indexing below; a no-op for the usual layout
    batch, n_channels, h, w = maps.shape
    scores, flat = maps.reshape(batch, n_channels, h * w).max(dim=-1)
    rows, cols = flat // w, flat % w
    sample_idx = torch.arange(batch, device=maps.device)[:, None].expand(batch, n_channels)
    channel_idx = torch.arange(n_channels, device=maps.device)[None, :].expand(batch, n_channels)
    offsets = refine_peak_offsets(
        maps,
        sample_idx.reshape(-1),
        channel_idx.reshape(-1),
        rows.reshape(-1),
        cols.reshape(-1),
        refinement,
        integral_patch_size,
    ).reshape(batch, n_channels, 2)
    cells = torch.stack((cols, rows), dim=-1).to(_point_dtype(maps))
    points = (cells + offsets) * stride
    points = torch.where((scores >= threshold)[..., None], points, float("nan"))
    return points, scores.to(points.dtype)


def _is_local_max(
    maps: torch.Tensor,
    sample_idx: torch.Tensor,
    channel_idx: torch.Tensor,
    rows: torch.Tensor,
    cols: torch.Tensor,
    radius: int,
) -> torch.Tensor:
    """Which of the given cells beat every neighbour within ``radius`` cells.

    A cell must be strictly greater than the neighbours after it in raster order and at
    least equal to those before it, so on an exact plateau only its last cell survives.
    Neighbours are visited one offset at a time, so memory stays linear in the number of
    cells tested.
    """
    _, n_channels, h, w = maps.shape
    flat_maps = maps.reshape(-1)
    flat = ((sample_idx * n_channels + channel_idx) * h + rows) * w + cols
    values = flat_maps[flat]
    keep = torch.ones_like(values, dtype=torch.bool)
    for dr in range(-radius, radius + 1):
        for dc in range(-radius, radius + 1):
            if dr == 0 and dc == 0:
                continue
            r, c = rows + dr, cols + dc
            inside = (r >= 0) & (r < h) & (c >= 0) & (c < w)
            neighbour = flat_maps[torch.where(inside, flat + dr * w + dc, flat)]
            later = dr > 0 or (dr == 0 and dc > 0)
            beats = values > neighbour if later else values >= neighbour
            keep = keep & (beats | ~inside)
    return keep


def find_local_peaks(
    maps: torch.Tensor,
    stride: float,
    threshold: float = 0.2,
    refinement: str | None = "integral",
    nms_kernel: int = 3,
    integral_patch_size: int = 7,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """All local maxima above ``threshold`` (multi-instance models: centroids, bottom-up).

    A cell is a peak when it is ``>= threshold`` and the maximum of the
    ``nms_kernel x nms_kernel`` window around it (non-maximum suppression): strictly
    greater than the window's cells after it in raster order and at least equal to those
    before it, so an exact plateau gives one peak (its last cell).

    Args:
        maps: ``(B, K, h, w)`` confidence maps.
        stride: output stride of the maps.
        threshold: minimum peak value.
        refinement: ``"integral"`` (default), ``"local"`` or ``None``.
        nms_kernel: odd window side (cells) of the non-maximum suppression.
        integral_patch_size: odd window side (cells) for ``"integral"``.

    Returns:
        ``sample_idx (P,)``, ``channel_idx (P,)`` (long), ``points (P, 2)`` in model-input
        pixels and ``scores (P,)``, ordered by sample, channel, row, column.
    """
    _check_maps(maps)
    _check_options(stride, refinement, integral_patch_size)
    maps = maps.contiguous()  # flat indexing below; a no-op for the usual layout
    if nms_kernel < 1 or nms_kernel % 2 == 0:
        raise ConfigError(
            f"nms_kernel: got {nms_kernel!r}; expected an odd integer >= 1 (the side of the "
            "non-maximum suppression window, in cells). The default is 3."
        )
    # Only cells above the threshold can be peaks: find them (usually a few percent of the
    # maps) through the rows whose maximum reaches the threshold, then test them against
    # their neighbours instead of max-pooling the dense maps.
    _, n_channels, h, w = maps.shape
    hot_rows = (maps.amax(dim=-1) >= threshold).flatten().nonzero().flatten()
    hot = maps.reshape(-1, w).index_select(0, hot_rows) >= threshold
    hit_row, cols = hot.nonzero(as_tuple=True)
    flat_row = hot_rows[hit_row]
    rows = flat_row % h
    channel_idx = (flat_row // h) % n_channels
    sample_idx = flat_row // (h * n_channels)
    keep = _is_local_max(maps, sample_idx, channel_idx, rows, cols, nms_kernel // 2)
    sample_idx, channel_idx, rows, cols = (
        sample_idx[keep],
        channel_idx[keep],
        rows[keep],
        cols[keep],
    )
    scores = maps[sample_idx, channel_idx, rows, cols]
    offsets = refine_peak_offsets(
        maps, sample_idx, channel_idx, rows, cols, refinement, integral_patch_size
    )
    cells = torch.stack((cols, rows), dim=-1).to(_point_dtype(maps))
    points = (cells + offsets) * stride
    return sample_idx, channel_idx, points, scores.to(points.dtype)


def find_peak_candidates(
    maps: torch.Tensor,
    stride: float,
    n_candidates: int = 5,
    threshold: float = 0.2,
    refinement: str | None = "integral",
    integral_patch_size: int = 7,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``n_candidates`` highest local maxima of every channel, best first.

    Single-animal decoding keeps them so that a node whose highest peak sits on a distractor
    can take its second peak when the skeleton says so
    (:mod:`posekit.decoding.skeleton_consistency`). A local maximum is a cell at least equal
    to its 3 x 3 neighbours (dense max pooling, so the graph exports to ONNX); the first
    candidate is the global peak of :func:`find_global_peaks`.

    Args:
        maps: ``(B, K, h, w)`` confidence maps.
        stride: output stride of the maps.
        n_candidates: how many peaks to keep per channel (at most ``h * w``).
        threshold: candidates below it (and missing ones) get ``NaN`` points and score 0.
        refinement: ``"integral"`` (default), ``"local"`` or ``None``.
        integral_patch_size: odd window side (cells) for ``"integral"``.

    Returns:
        ``points (B, K, C, 2)`` in model-input pixels and ``scores (B, K, C)``.
    """
    _check_maps(maps)
    _check_options(stride, refinement, integral_patch_size)
    if n_candidates < 1:
        raise ConfigError(
            f"n_candidates: got {n_candidates!r}; expected an integer >= 1 (peaks kept per "
            "node). The default is 5."
        )
    maps = maps.contiguous()
    batch, n_channels, h, w = maps.shape
    n = int(n_candidates)
    if not torch.jit.is_tracing():  # traced graphs take maps of at least n cells
        n = min(n, h * w)
    pooled = torch.nn.functional.max_pool2d(maps, 3, stride=1, padding=1)
    masked = torch.where(maps >= pooled, maps, torch.full_like(maps, float("-inf")))
    scores, flat = masked.reshape(batch, n_channels, h * w).topk(n, dim=-1)
    rows, cols = flat // w, flat % w
    sample_idx = torch.arange(batch, device=maps.device)[:, None, None].expand_as(flat)
    channel_idx = torch.arange(n_channels, device=maps.device)[None, :, None].expand_as(flat)
    offsets = refine_peak_offsets(
        maps, sample_idx.reshape(-1), channel_idx.reshape(-1), rows.reshape(-1),
        cols.reshape(-1), refinement, integral_patch_size,
    ).reshape(batch, n_channels, n, 2)
    cells = torch.stack((cols, rows), dim=-1).to(_point_dtype(maps))
    points = (cells + offsets) * stride
    keep = scores >= threshold
    points = torch.where(keep[..., None], points, float("nan"))
    scores = torch.where(keep, scores, torch.zeros_like(scores))
    return points, scores.to(points.dtype)
