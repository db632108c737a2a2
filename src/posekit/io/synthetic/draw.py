"""Rasterise animals: shaded, anti-aliased tapered capsules with identity markings.

Every drawn part is a capsule from point ``a`` (radius ``ra``) to ``b`` (radius ``rb``); a
disc is a capsule with ``a == b``. Pixel ``(row i, col j)`` is sampled at its centre
``(x=j, y=i)``, the sleap-io convention, so a part centred on a keypoint is drawn centred
on that keypoint. Coverage falls off linearly over one pixel across the outline
(anti-aliasing); brightness follows a cylinder's shading across the part.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from posekit.io.synthetic.appearance import MARK_DARKNESS, marking
from posekit.io.synthetic.bodies import BodyPlan

SHADOW_STRENGTH = 0.35


@dataclass(frozen=True)
class Parts:
    """The drawable parts of a body plan, in drawing order.

    Attributes:
        node: ``(S,)`` node each part belongs to (its ``b`` end).
        start: ``(S,)`` node at the part's ``a`` end (the parent, or the node for a disc).
        start_r: ``(S,)`` radius at ``a``, fraction of the body length.
        end_r: ``(S,)`` radius at ``b``, fraction of the body length.
        tone: ``(S,)`` brightness multiplier.
        thick: ``(S,)`` whether identity markings are painted on the part.
    """

    node: np.ndarray
    start: np.ndarray
    start_r: np.ndarray
    end_r: np.ndarray
    tone: np.ndarray
    thick: np.ndarray


def body_parts(body: BodyPlan) -> Parts:
    """Collect the parts of ``body`` that are drawn (segments and discs), in drawing order."""
    order = [i for i in body.draw_order() if body.shapes[i] != "none"]
    start = [body.parents[i] if body.shapes[i] == "segment" else i for i in order]
    end_r = np.array([body.radii[i] for i in order], dtype=np.float32)
    start_r = np.array(
        [body.start_radii[i] if body.shapes[i] == "segment" else body.radii[i] for i in order],
        dtype=np.float32,
    )
    widest = max(float(np.max(np.maximum(start_r, end_r), initial=0.0)), 1e-9)
    thick = np.minimum(start_r, end_r) >= 0.45 * widest
    thick &= np.array([body.shapes[i] == "segment" for i in order], dtype=bool)
    return Parts(
        node=np.array(order, dtype=np.int64),
        start=np.array(start, dtype=np.int64),
        start_r=start_r,
        end_r=end_r,
        tone=np.array([body.tones[i] for i in order], dtype=np.float32),
        thick=thick,
    )


def capsule_coords(
    px: np.ndarray, py: np.ndarray, dx: np.ndarray, dy: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Where points lie relative to capsule axes (all arguments broadcast together).

    Args:
        px, py: Offsets of the points from each axis's start ``a``.
        dx, dy: Each axis vector ``b - a``.

    Returns:
        ``t``: position of the nearest axis point, 0 at ``a`` and 1 at ``b``; ``d2``: squared
        distance from the point to that axis point. A capsule of radius ``ra + t (rb - ra)``
        covers the point when ``sqrt(d2)`` is smaller than that radius.
    """
    len2 = np.maximum(dx * dx + dy * dy, 1e-12)
    t = px * (dx / len2) + py * (dy / len2)
    np.clip(t, 0.0, 1.0, out=t)
    ex = px - t * dx
    ey = py - t * dy
    d2 = ex * ex
    d2 += ey * ey
    return t, d2


def part_geometry(parts: Parts, points: np.ndarray, scale: np.ndarray) -> tuple:
    """Capsule ends and radii of every part: ``(a, b, ra, rb)``.

    Args:
        parts: The body's parts.
        points: ``(..., K, 2)`` keypoints.
        scale: Body length in pixels, broadcastable to ``points.shape[:-2]``.

    Returns:
        ``a`` and ``b`` of shape ``(..., S, 2)``; ``ra`` and ``rb`` of shape ``(..., S)``.
    """
    scale = np.asarray(scale)[..., None]
    return (
        points[..., parts.start, :],
        points[..., parts.node, :],
        parts.start_r * scale,
        parts.end_r * scale,
    )


def body_distance(parts: Parts, query: np.ndarray, points: np.ndarray, scale) -> np.ndarray:
    """Signed distance from query points to an animal's body (negative: inside).

    Args:
        parts: The body's parts.
        query: ``(F, P, 2)`` points to test.
        points: ``(F, K, 2)`` the animal's keypoints.
        scale: Body length in pixels (scalar).

    Returns:
        ``(F, P)`` distance to the nearest part's outline.
    """
    if parts.node.size == 0:
        return np.full(query.shape[:-1], np.inf)
    a, b, ra, rb = part_geometry(parts, points, scale)
    t, d2 = capsule_coords(
        query[:, :, None, 0] - a[:, None, :, 0],
        query[:, :, None, 1] - a[:, None, :, 1],
        (b - a)[:, None, :, 0],
        (b - a)[:, None, :, 1],
    )
    return (np.sqrt(d2) - (ra + t * (rb - ra))).min(axis=-1)


def draw_animals(
    canvas: np.ndarray,
    parts: Parts,
    points: np.ndarray,
    scales: np.ndarray,
    colours: np.ndarray,
    patterns: np.ndarray,
    shadow: bool = True,
) -> None:
    """Paint animals onto ``canvas`` (``(H, W, C)`` float32 grey levels) in place.

    Animals are painted in order (the last one on top), each animal's parts in their
    drawing order. The fields of all parts of all animals are computed in one batch, each
    part on a window around it (all windows share one size).

    Args:
        canvas: Image being composed.
        parts: The body's parts (drawing order).
        points: ``(N, K, 2)`` keypoints in pixels.
        scales: ``(N,)`` body length of each animal in pixels.
        colours: ``(N, C)`` base fur colour of each animal.
        patterns: ``(N,)`` identity marking pattern of each animal (``<= 0``: none).
        shadow: First darken the floor under and beside the animals.
    """
    n, s = points.shape[0], parts.node.size
    if n == 0 or s == 0:
        return
    h, w = canvas.shape[:2]
    a, b, ra, rb = part_geometry(
        parts, points.astype(np.float32), np.asarray(scales, dtype=np.float32)
    )
    a, b, ra, rb = a.reshape(-1, 2), b.reshape(-1, 2), ra.reshape(-1), rb.reshape(-1)
    reach = np.maximum(ra, rb)[:, None]
    lo = (np.floor(np.minimum(a, b) - reach) - 1).astype(np.int64)
    hi = (np.ceil(np.maximum(a, b) + reach) + 2).astype(np.int64)
    inside = (hi[:, 0] > 0) & (hi[:, 1] > 0) & (lo[:, 0] < w) & (lo[:, 1] < h)
    if not inside.any():
        return
    pw, ph = (int(e) for e in (hi - lo)[inside].max(axis=0))

    def col(arr: np.ndarray) -> np.ndarray:
        return arr[:, None, None]  # one value per part, broadcast over its window

    dx, dy = col(b[:, 0] - a[:, 0]), col(b[:, 1] - a[:, 1])
    px = (lo[:, 0, None, None] + np.arange(pw)[None, None, :]).astype(np.float32) - col(a[:, 0])
    py = (lo[:, 1, None, None] + np.arange(ph)[None, :, None]).astype(np.float32) - col(a[:, 1])
    t, d2 = capsule_coords(px, py, dx, dy)
    r = col(ra) + t * col(rb - ra)
    alpha = r + 0.5
    alpha -= np.sqrt(d2)
    np.clip(alpha, 0.0, 1.0, out=alpha)
    # Cylinder-like shading: bright along the axis, darker towards the outline.
    q2 = d2 / np.maximum(r * r, np.float32(0.25))
    np.minimum(q2, 1.0, out=q2)
    paint = 1.0 - 0.4 * q2
    paint *= col(np.tile(parts.tone, n))
    for i in np.flatnonzero(np.asarray(patterns) > 0):
        sel = np.flatnonzero(parts.thick) + i * s
        if sel.size:
            seg_len = np.maximum(np.hypot(dx[sel], dy[sel]), 1e-6)
            v = (dx[sel] * py[sel] - dy[sel] * px[sel]) / seg_len / np.maximum(r[sel], 0.5)
            mark = marking(int(patterns[i]), t[sel], v, seg_len, r[sel])
            paint[sel] *= 1.0 - MARK_DARKNESS * mark
    paint *= alpha
    keep = 1.0 - alpha

    windows = []
    for p, ((lx, ly), (hx, hy)) in enumerate(zip(lo.tolist(), hi.tolist(), strict=True)):
        x0, y0, x1, y1 = max(lx, 0), max(ly, 0), min(hx, w), min(hy, h)
        if x0 < x1 and y0 < y1:
            own = (slice(y0 - ly, y1 - ly), slice(x0 - lx, x1 - lx))
            windows.append((p, (slice(y0, y1), slice(x0, x1)), own))
    if shadow:
        _cast_shadows(canvas, keep, windows, scales, s)
    colours = np.asarray(colours, dtype=np.float32)
    for p, dst, own in windows:
        region = canvas[dst]
        region *= keep[p][own][..., None]
        region += paint[p][own][..., None] * colours[p // s]


def _cast_shadows(
    canvas: np.ndarray, keep: np.ndarray, windows: list, scales: np.ndarray, per_animal: int
) -> None:
    """Darken ``canvas`` under a blurred copy of each animal's silhouette, offset down and
    to the right as if lit from the upper left.

    Args:
        canvas: Image being composed.
        keep: ``(P, ph, pw)`` one minus each part's coverage.
        windows: ``(part, canvas slices, part-window slices)`` of the parts in view.
        scales: Body length of each animal in pixels.
        per_animal: Number of parts per animal.
    """
    h, w = canvas.shape[:2]
    by_animal: dict[int, list] = {}
    for win in windows:
        by_animal.setdefault(win[0] // per_animal, []).append(win)
    for animal, wins in by_animal.items():
        scale = float(scales[animal])
        sigma = max(0.06 * scale, 0.8)
        pad = int(np.ceil(3.0 * sigma))
        y0 = min(dst[0].start for _, dst, _ in wins) - pad
        x0 = min(dst[1].start for _, dst, _ in wins) - pad
        y1 = max(dst[0].stop for _, dst, _ in wins) + pad
        x1 = max(dst[1].stop for _, dst, _ in wins) + pad
        trans = np.ones((y1 - y0, x1 - x0), dtype=np.float32)
        for p, (ys, xs), own in wins:
            trans[ys.start - y0 : ys.stop - y0, xs.start - x0 : xs.stop - x0] *= keep[p][own]
        soft = _soft(1.0 - trans, sigma)
        # The shadow's top-left lands at the window's corner plus the offset.
        ty0, tx0 = y0 + round(0.07 * scale), x0 + round(0.05 * scale)
        cy0, cx0 = max(ty0, 0), max(tx0, 0)
        cy1, cx1 = min(ty0 + soft.shape[0], h), min(tx0 + soft.shape[1], w)
        if cy0 >= cy1 or cx0 >= cx1:
            continue
        patch = soft[cy0 - ty0 : cy1 - ty0, cx0 - tx0 : cx1 - tx0]
        canvas[cy0:cy1, cx0:cx1] *= (1.0 - SHADOW_STRENGTH * patch)[..., None]


def _soft(cover: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of ``cover``; wide blurs run on a reduced copy (visually the same)."""
    step = max(int(sigma / 2.0), 1)
    if step == 1 or min(cover.shape) < 2 * step:
        return cv2.GaussianBlur(cover, (0, 0), sigma, borderType=cv2.BORDER_CONSTANT)
    ch, cw = cover.shape
    small = cv2.resize(cover, (cw // step, ch // step), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), sigma / step, borderType=cv2.BORDER_CONSTANT)
    return cv2.resize(small, (cw, ch), interpolation=cv2.INTER_LINEAR)
