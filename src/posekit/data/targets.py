"""Training targets: confidence maps, centroid maps, part affinity fields and identity targets.

Every function here is a pure, vectorised torch function that encodes a whole batch at once
(all nodes of all instances), on whatever device the points live on.

Grid mapping (``docs/design.md``): a target with output stride ``s`` has shape ``(h, w)`` and
its cell ``(row i, col j)`` stands for the model-input position ``(x = j * s, y = i * s)``.
``sigma`` is always in model-input pixels. :mod:`posekit.decoding.peaks` decodes with the
same mapping, so a point rendered here is found again where it was put.

Missing points are ``NaN`` and contribute nothing; batches pad absent instances with all-``NaN``
rows, which therefore cost nothing but memory.
"""

from __future__ import annotations

import torch

from posekit.errors import ConfigError, DataError

__all__ = [
    "compute_anchors",
    "grid_positions",
    "make_centroid_maps",
    "make_class_maps",
    "make_class_vectors",
    "make_confmaps",
    "make_pafs",
    "paf_half_width",
]


def _check_positive(value: float, name: str) -> None:
    if not value > 0:
        raise ConfigError(
            f"{name}: got {value!r}; expected a positive number. "
            f"Set {name} in the head configuration to a value > 0."
        )


def _check_points(points: torch.Tensor, name: str, ndim: int, shape_text: str) -> None:
    if points.ndim != ndim or points.shape[-1] != 2:
        raise DataError(
            f"{name}: got an array of shape {tuple(points.shape)}; expected {shape_text} "
            "with (x, y) in the last axis. Pad missing instances with NaN rows."
        )


def _check_out_hw(out_hw: tuple[int, int], stride: int) -> tuple[int, int]:
    h, w = (int(v) for v in out_hw)
    if h <= 0 or w <= 0:
        raise ConfigError(
            f"out_hw: got {tuple(out_hw)}; expected a positive (height, width) of the output "
            "grid. Use the model input size divided by the head's output stride."
        )
    if int(stride) != stride or stride < 1:
        raise ConfigError(
            f"output_stride: got {stride!r}; expected a positive integer. "
            "Use the head's output_stride from the model configuration."
        )
    return h, w


def _float_dtype(points: torch.Tensor) -> torch.dtype:
    return points.dtype if points.is_floating_point() else torch.float32


def grid_positions(
    out_hw: tuple[int, int],
    stride: int,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Model-input positions of the output grid's columns and rows.

    Returns ``(xs (w,), ys (h,))`` with ``xs[j] = j * stride`` and ``ys[i] = i * stride``.
    """
    h, w = _check_out_hw(out_hw, stride)
    xs = torch.arange(w, device=device, dtype=dtype) * stride
    ys = torch.arange(h, device=device, dtype=dtype) * stride
    return xs, ys


def _gaussian_max(
    px: torch.Tensor, py: torch.Tensor, out_hw: tuple[int, int], stride: int, sigma: float
) -> torch.Tensor:
    """Max over axis 1 of Gaussians centred on ``(px, py)``, each of shape ``(B, M, C)``.

    Returns ``(B, C, h, w)``. The 2-D Gaussian is separable, so only the 1-D factors
    ``(B, M, C, w)`` and ``(B, M, C, h)`` are evaluated before their outer product; ``NaN``
    centres give all-zero factors.
    """
    _check_positive(sigma, "sigma")
    h, w = _check_out_hw(out_hw, stride)
    dtype = _float_dtype(px)
    px, py = px.to(dtype), py.to(dtype)
    xs, ys = grid_positions((h, w), stride, device=px.device, dtype=dtype)
    inv = -0.5 / float(sigma) ** 2
    gx = torch.nan_to_num(torch.exp((xs - px.unsqueeze(-1)).square() * inv), nan=0.0)
    gy = torch.nan_to_num(torch.exp((ys - py.unsqueeze(-1)).square() * inv), nan=0.0)
    batch, _, n_channels = px.shape
    # Items absent from every sample (padding rows) are skipped; the rest are folded in one
    # at a time with in-place products and maxima, so no (B, M, C, h, w) temporary is built.
    present = torch.isfinite(px).any(dim=2).any(dim=0) & torch.isfinite(py).any(dim=2).any(dim=0)
    items = present.nonzero().flatten().tolist()
    if not items:
        return torch.zeros((batch, n_channels, h, w), dtype=dtype, device=px.device)
    out = torch.empty((batch, n_channels, h, w), dtype=dtype, device=px.device)
    torch.mul(gy[:, items[0], :, :, None], gx[:, items[0], :, None, :], out=out)
    if len(items) > 1:
        scratch = torch.empty_like(out)
        for m in items[1:]:
            torch.mul(gy[:, m, :, :, None], gx[:, m, :, None, :], out=scratch)
            torch.maximum(out, scratch, out=out)
    return out


def make_confmaps(
    points: torch.Tensor, out_hw: tuple[int, int], stride: int, sigma: float
) -> torch.Tensor:
    """Render one Gaussian confidence map per node.

    Args:
        points: ``(B, N, K, 2)`` keypoints in model-input pixels, ``NaN`` where missing.
        out_hw: ``(h, w)`` of the output grid.
        stride: output stride ``s`` (cell ``(i, j)`` is the position ``(j * s, i * s)``).
        sigma: Gaussian spread in model-input pixels.

    Returns:
        ``(B, K, h, w)`` maps ``exp(-d^2 / (2 sigma^2))``, the maximum over instances. A node
        missing in every instance gives an all-zero map; a point exactly on a cell gives 1.
    """
    _check_points(points, "points", 4, "(batch, instances, nodes, 2)")
    return _gaussian_max(points[..., 0], points[..., 1], out_hw, stride, sigma)


def make_centroid_maps(
    centroids: torch.Tensor, out_hw: tuple[int, int], stride: int, sigma: float
) -> torch.Tensor:
    """Render one Gaussian per instance centroid into a single channel.

    Args:
        centroids: ``(B, N, 2)`` centroids (see :func:`compute_anchors`), ``NaN`` for padding.
        out_hw, stride, sigma: as for :func:`make_confmaps`.

    Returns:
        ``(B, 1, h, w)``: the maximum over instances of their Gaussians.
    """
    _check_points(centroids, "centroids", 3, "(batch, instances, 2)")
    return make_confmaps(centroids.unsqueeze(2), out_hw, stride, sigma)


def compute_anchors(points: torch.Tensor, anchor_index: int | None = None) -> torch.Tensor:
    """Anchor (crop centre / centroid) of every instance.

    The anchor is the node ``anchor_index`` where it is visible; otherwise (or when
    ``anchor_index`` is ``None``) it is the midpoint of the bounding box of the instance's
    visible points. Instances with no visible point get ``NaN``.

    Args:
        points: ``(..., N, K, 2)`` keypoints.
        anchor_index: index of the anchor node, or ``None`` for bounding-box midpoints.

    Returns:
        ``(..., N, 2)`` anchors.
    """
    if points.ndim < 2 or points.shape[-1] != 2:
        raise DataError(
            f"points: got shape {tuple(points.shape)}; expected (..., instances, nodes, 2)."
        )
    n_nodes = points.shape[-2]
    visible = torch.isfinite(points).all(dim=-1, keepdim=True)
    inf = torch.tensor(float("inf"), dtype=points.dtype, device=points.device)
    low = torch.where(visible, points, inf).amin(dim=-2)
    high = torch.where(visible, points, -inf).amax(dim=-2)
    mid = (low + high) * 0.5
    mid = torch.where(visible.any(dim=-2), mid, torch.full_like(mid, float("nan")))
    if anchor_index is None:
        return mid
    if not -n_nodes <= anchor_index < n_nodes:
        raise ConfigError(
            f"anchor_part: node index {anchor_index} is out of range for a skeleton with "
            f"{n_nodes} nodes; expected 0..{n_nodes - 1}. Check the anchor part name."
        )
    anchor = points[..., anchor_index, :]
    anchor_visible = visible[..., anchor_index, :]
    return torch.where(anchor_visible, anchor, mid)


def paf_half_width(sigma: float, stride: int) -> float:
    """Half-width of the band where a PAF edge is drawn: ``max(sigma, stride / sqrt(2))``.

    The floor of half a cell diagonal guarantees that the four cells around any point of a
    segment are all inside its band, so bilinear sampling along the true segment (as
    :mod:`posekit.decoding.paf_grouping` does) reads exactly the edge's unit vector.
    """
    _check_positive(sigma, "sigma")
    return max(float(sigma), float(stride) / 2.0**0.5)


def _check_edges(edges: torch.Tensor, n_nodes: int) -> torch.Tensor:
    edges = torch.as_tensor(edges, dtype=torch.long)
    if edges.numel() == 0:
        return edges.reshape(0, 2)
    if edges.ndim != 2 or edges.shape[1] != 2:
        raise DataError(
            f"edges: got shape {tuple(edges.shape)}; expected (n_edges, 2) pairs of "
            "(source, destination) node indices."
        )
    if int(edges.min()) < 0 or int(edges.max()) >= n_nodes:
        raise DataError(
            f"edges: node indices must lie in 0..{n_nodes - 1} for {n_nodes} nodes; got "
            f"values from {int(edges.min())} to {int(edges.max())}. Check the skeleton edges."
        )
    return edges


def make_pafs(
    points: torch.Tensor,
    edges: torch.Tensor,
    out_hw: tuple[int, int],
    stride: int,
    sigma: float,
) -> torch.Tensor:
    """Render part affinity fields: the unit vector of each edge near its segment.

    Rule: a cell belongs to edge ``e = (src, dst)`` of an instance when its model-input
    position is within ``r = paf_half_width(sigma, stride)`` of the segment from the
    source to the destination point (Euclidean distance to the closed segment, i.e. a band
    of half-width ``r`` with round caps). Such a cell holds the unit vector from source to
    destination. Where bands of several instances overlap, the cell holds the *average* of
    their unit vectors (so agreeing limbs keep unit length and opposed ones cancel). Edges
    with a missing endpoint, or with coincident endpoints, contribute nothing.

    Args:
        points: ``(B, N, K, 2)`` keypoints in model-input pixels.
        edges: ``(E, 2)`` long tensor of (source, destination) node indices.
        out_hw, stride, sigma: as for :func:`make_confmaps` (``sigma`` sets the band width).

    Returns:
        ``(B, 2E, h, w)``: edge ``e`` in channels ``2e`` (x component) and ``2e + 1`` (y).
    """
    _check_points(points, "points", 4, "(batch, instances, nodes, 2)")
    h, w = _check_out_hw(out_hw, stride)
    radius = paf_half_width(sigma, stride)
    edges = _check_edges(edges, points.shape[2]).to(points.device)
    dtype = _float_dtype(points)
    points = points.to(dtype)
    batch = points.shape[0]
    n_edges = edges.shape[0]
    xs, ys = grid_positions((h, w), stride, device=points.device, dtype=dtype)

    src = points[:, :, edges[:, 0]]  # (B, N, E, 2)
    vec = points[:, :, edges[:, 1]] - src
    length = torch.linalg.vector_norm(vec, dim=-1)  # (B, N, E)
    usable = torch.isfinite(length) & (length > 0)
    length = torch.where(usable, length, torch.zeros_like(length))
    safe_length = torch.where(usable, length, torch.ones_like(length))
    unit = torch.where(usable.unsqueeze(-1), vec / safe_length.unsqueeze(-1), 0.0)
    src = torch.where(usable.unsqueeze(-1), src, 0.0)
    ux, uy = unit[..., 0], unit[..., 1]

    # Offsets of each grid column / row from the source point, (B, N, E, w) and (B, N, E, h),
    # projected on the edge direction (along) and its normal (across).
    dx = xs - src[..., 0, None]
    dy = ys - src[..., 1, None]
    along_x, along_y = ux[..., None] * dx, uy[..., None] * dy
    across_x, across_y = uy[..., None] * dx, ux[..., None] * dy

    pafs = torch.zeros((batch, n_edges, 2, h, w), dtype=dtype, device=points.device)
    sum_x, sum_y = pafs[:, :, 0], pafs[:, :, 1]
    count = torch.zeros((batch, n_edges, h, w), dtype=dtype, device=points.device)
    along = torch.empty_like(count)
    across = torch.empty_like(count)
    past_end = torch.empty_like(count)
    r2 = radius * radius
    # Instances without any drawable edge in the batch (padding rows) are skipped. Every
    # step works in place on the three buffers above, so no full-size temporary is made.
    for n in usable.any(dim=2).any(dim=0).nonzero().flatten().tolist():
        torch.add(along_x[:, n, :, None, :], along_y[:, n, :, :, None], out=along)
        torch.sub(across_x[:, n, :, None, :], across_y[:, n, :, :, None], out=across)
        across.square_()
        # Distance beyond either end of the segment along its direction (0 in between).
        torch.sub(along, length[:, n, :, None, None], out=past_end).clamp_(min=0.0)
        along.neg_().clamp_(min=0.0).add_(past_end)
        across.addcmul_(along, along)  # squared distance to the segment
        inside = across.le_(r2).mul_(usable[:, n, :, None, None])
        count.add_(inside)
        sum_x.addcmul_(inside, ux[:, n, :, None, None])
        sum_y.addcmul_(inside, uy[:, n, :, None, None])
    pafs.div_(count.clamp_min_(1.0).unsqueeze(2))
    return pafs.reshape(batch, 2 * n_edges, h, w)


def make_class_maps(
    points: torch.Tensor,
    class_ids: torch.Tensor,
    n_classes: int,
    out_hw: tuple[int, int],
    stride: int,
    sigma: float,
) -> torch.Tensor:
    """Render identity class maps for multi-class bottom-up models.

    Channel ``c`` holds, at every visible node of every instance of class ``c``, a Gaussian
    as in :func:`make_confmaps` (maximum over those points). Instances with class ``-1``
    (unknown) and padding rows contribute nothing.

    Args:
        points: ``(B, N, K, 2)`` keypoints.
        class_ids: ``(B, N)`` long class index per instance, ``-1`` when unknown.
        n_classes: number of classes ``C``.
        out_hw, stride, sigma: as for :func:`make_confmaps`.

    Returns:
        ``(B, C, h, w)`` class maps.
    """
    _check_points(points, "points", 4, "(batch, instances, nodes, 2)")
    class_ids = torch.as_tensor(class_ids, device=points.device).long()
    if class_ids.shape != points.shape[:2]:
        raise DataError(
            f"class_ids: got shape {tuple(class_ids.shape)}; expected {tuple(points.shape[:2])} "
            "(one class index per instance, -1 when unknown)."
        )
    if n_classes < 1:
        raise ConfigError(
            f"classes: got {n_classes} classes; expected at least 1. "
            "Add track names / classes to the class map head configuration."
        )
    if class_ids.numel() and (int(class_ids.max()) >= n_classes or int(class_ids.min()) < -1):
        raise DataError(
            f"class_ids: values must lie in -1..{n_classes - 1} for {n_classes} classes; got "
            f"{int(class_ids.min())}..{int(class_ids.max())}. Check the head's classes."
        )
    batch, n_inst, n_nodes, _ = points.shape
    classes = torch.arange(n_classes, device=points.device)
    member = (class_ids.unsqueeze(-1) == classes)[:, :, None, :]  # (B, N, 1, C)
    nan = torch.tensor(float("nan"), dtype=_float_dtype(points), device=points.device)
    px = torch.where(member, points[..., 0, None], nan).reshape(batch, n_inst * n_nodes, n_classes)
    py = torch.where(member, points[..., 1, None], nan).reshape(batch, n_inst * n_nodes, n_classes)
    return _gaussian_max(px, py, out_hw, stride, sigma)


def make_class_vectors(class_ids: torch.Tensor, n_classes: int) -> torch.Tensor:
    """One-hot identity targets for multi-class top-down models.

    Args:
        class_ids: ``(B,)`` long class index per crop, ``-1`` when unknown.
        n_classes: number of classes ``C``.

    Returns:
        ``(B, C)`` float32 one-hot rows; an unknown class gives an all-zero row.
    """
    class_ids = torch.as_tensor(class_ids).long()
    if class_ids.numel() and (int(class_ids.max()) >= n_classes or int(class_ids.min()) < -1):
        raise DataError(
            f"class_ids: values must lie in -1..{n_classes - 1} for {n_classes} classes; got "
            f"{int(class_ids.min())}..{int(class_ids.max())}. Check the head's classes."
        )
    classes = torch.arange(n_classes, device=class_ids.device)
    return (class_ids.unsqueeze(-1) == classes).to(torch.float32)
