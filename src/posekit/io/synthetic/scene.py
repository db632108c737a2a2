"""The scene around the animals: textured floor, drifting light and occluding shapes."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np

from posekit.io.synthetic.motion import smooth_noise

OCCLUDER_DWELL = 45.0  # mean number of frames an occluder stays in view


def background(
    rng: np.random.Generator, size: tuple[int, int], channels: int, texture: float
) -> np.ndarray:
    """A static textured floor: ``(H, W, C)`` float32 grey levels.

    Several octaves of smooth noise (large soft patches down to fine grain) plus sparse
    bedding-like specks, around a dark base colour that varies with the seed.
    """
    h, w = size
    lum = np.zeros((h, w), dtype=np.float32)
    for cells, amp in ((3, 16.0), (6, 10.0), (13, 6.0), (max(h, w) // 3, 4.0)):
        grid = rng.standard_normal((cells, cells)).astype(np.float32)
        lum += amp * cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)
    specks = np.zeros((h, w), dtype=np.float32)
    n_specks = max(1, h * w // 300)
    ys = rng.integers(0, h, n_specks)
    xs = rng.integers(0, w, n_specks)
    specks[ys, xs] = rng.choice(np.array([-1.0, 1.0], np.float32), n_specks) * rng.uniform(
        40.0, 110.0, n_specks
    ).astype(np.float32)
    lum += cv2.GaussianBlur(specks, (0, 0), 0.9)
    lum *= np.float32(texture)
    base_grey = rng.uniform(62.0, 88.0)
    if channels == 1:
        return (base_grey + lum)[..., None]
    tint = np.array([1.08, 1.0, 0.88]) * rng.uniform(0.92, 1.08, size=3)
    chroma = cv2.resize(
        rng.standard_normal((4, 4, 3)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC
    )
    out = (base_grey * tint).astype(np.float32) + lum[..., None] + 3.0 * texture * chroma
    return out.astype(np.float32)


@dataclass(frozen=True)
class Lighting:
    """Per-frame global gain and linear gradient: ``light = gain * (1 + gx * x' + gy * y')``.

    ``x'`` and ``y'`` run from -0.5 to 0.5 across the image.
    """

    gain: np.ndarray  # (F,)
    gx: np.ndarray  # (F,)
    gy: np.ndarray  # (F,)

    def field(self, frame: int, size: tuple[int, int]) -> np.ndarray:
        """``(H, W, 1)`` float32 multiplicative light field of one frame."""
        h, w = size
        xs = _ramp(w) * np.float32(self.gx[frame])
        ys = _ramp(h) * np.float32(self.gy[frame])
        return (np.float32(self.gain[frame]) * (1.0 + ys[:, None] + xs[None, :]))[..., None]


@functools.lru_cache(maxsize=8)
def _ramp(n: int) -> np.ndarray:
    """``n`` float32 values from -0.5 to 0.5 (read-only, cached)."""
    out = np.linspace(-0.5, 0.5, n, dtype=np.float32)
    out.setflags(write=False)
    return out


def lighting(rng: np.random.Generator, n_frames: int, amplitude: float) -> Lighting:
    """Slowly drifting light: gain within ``1 +- amplitude``, gradients up to ``amplitude``."""
    z = np.clip(smooth_noise(rng.standard_normal((n_frames, 3)), 0.97), -2.0, 2.0) / 2.0
    return Lighting(gain=1.0 + amplitude * z[:, 0], gx=amplitude * z[:, 1], gy=amplitude * z[:, 2])


@dataclass(frozen=True)
class Occluders:
    """Elliptical foreground shapes that drift over the scene and come and go.

    Attributes:
        centre: ``(F, M, 2)`` centre ``(x, y)`` in pixels.
        angle: ``(F, M)`` orientation of the major axis, radians.
        axes: ``(M, 2)`` semi-axes (major, minor) in pixels.
        on: ``(F, M)`` whether each occluder is in view.
        colour: ``(M, C)`` base colour in grey levels.
    """

    centre: np.ndarray
    angle: np.ndarray
    axes: np.ndarray
    on: np.ndarray
    colour: np.ndarray

    def covers(self, points: np.ndarray) -> np.ndarray:
        """Whether points lie inside an occluder that is in view in their frame.

        Args:
            points: ``(F, ..., 2)`` points ``(x, y)`` with the frame as leading axis.

        Returns:
            Boolean array ``points.shape[:-1]``.
        """
        out = np.zeros(points.shape[:-1], dtype=bool)
        extra = (slice(None),) + (None,) * (points.ndim - 2)
        for m in range(self.axes.shape[0]):
            q = _ellipse_radius(
                points[..., 0] - self.centre[:, m, 0][extra],
                points[..., 1] - self.centre[:, m, 1][extra],
                self.angle[:, m][extra],
                self.axes[m],
            )
            out |= (q < 1.0) & self.on[:, m][extra]
        return out


def _ellipse_radius(dx, dy, angle, axes):
    """Normalised elliptical radius of offsets from the centre (1 on the outline)."""
    c, s = np.cos(angle), np.sin(angle)
    u = (c * dx + s * dy) / axes[0]
    v = (-s * dx + c * dy) / axes[1]
    return np.sqrt(u * u + v * v)


def occluders(
    rng: np.random.Generator,
    n_frames: int,
    count: int,
    size: tuple[int, int],
    radius: float,
    prob: float,
    channels: int,
) -> Occluders:
    """Simulate ``count`` occluders of major semi-axis ``radius`` px, in view ``prob`` of the time."""
    h, w = size
    f = n_frames
    axes = np.stack(
        [radius * rng.uniform(0.8, 1.2, count), radius * rng.uniform(0.45, 0.75, count)], 1
    )
    start = rng.uniform([0.0, 0.0], [w - 1.0, h - 1.0], size=(count, 2))
    drift = 0.006 * min(h, w) * smooth_noise(rng.standard_normal((f, count, 2)), 0.98)
    centre = start[None] + np.cumsum(drift, axis=0)
    # Reflect at the image border so that occluders stay over the scene.
    span = np.array([w - 1.0, h - 1.0])
    centre = span - np.abs(np.mod(centre, 2.0 * span) - span)
    angle = rng.uniform(0.0, np.pi, count)[None] + np.cumsum(
        0.01 * smooth_noise(rng.standard_normal((f, count)), 0.98), axis=0
    )
    p_off = 1.0 / OCCLUDER_DWELL
    p_on = 1.0 if prob >= 1.0 else min(1.0, p_off * prob / max(1.0 - prob, 1e-9))
    if prob <= 0.0:
        p_on = 0.0
    if prob >= 1.0:
        p_off = 0.0
    u = rng.uniform(size=(f, count))
    on = np.empty((f, count), dtype=bool)
    state = rng.uniform(size=count) < prob
    for t in range(f):
        on[t] = state
        state = np.where(state, u[t] >= p_off, u[t] < p_on)
    if channels == 1:
        colour = rng.uniform(30.0, 170.0, (count, 1))
    else:
        colour = rng.uniform(25.0, 160.0, (count, 3)) * np.array([0.7, 1.0, 0.6])
    return Occluders(centre=centre, angle=angle, axes=axes, on=on, colour=colour)


def draw_occluder(canvas: np.ndarray, occ: Occluders, frame: int, m: int) -> None:
    """Paint occluder ``m`` of ``frame`` onto ``canvas`` (``(H, W, C)`` float32) in place."""
    h, w = canvas.shape[:2]
    cx, cy = occ.centre[frame, m]
    reach = float(occ.axes[m, 0]) + 2.0
    x0, x1 = max(int(np.floor(cx - reach)), 0), min(int(np.ceil(cx + reach)) + 1, w)
    y0, y1 = max(int(np.floor(cy - reach)), 0), min(int(np.ceil(cy + reach)) + 1, h)
    if x0 >= x1 or y0 >= y1:
        return
    dx = np.arange(x0, x1, dtype=np.float32)[None, :] - np.float32(cx)
    dy = np.arange(y0, y1, dtype=np.float32)[:, None] - np.float32(cy)
    ang = float(occ.angle[frame, m])
    c, s = np.float32(np.cos(ang)), np.float32(np.sin(ang))
    a, b = (np.float32(x) for x in occ.axes[m])
    u = (c * dx + s * dy) / a
    v = (-s * dx + c * dy) / b
    q = np.sqrt(u * u + v * v) + np.float32(1e-6)
    grad = np.sqrt((u / a) ** 2 + (v / b) ** 2) / q + np.float32(1e-6)
    alpha = np.clip(0.5 - (q - 1.0) / grad, 0.0, 1.0)[..., None]
    shade = 0.75 + 0.25 * np.sqrt(np.clip(1.0 - q * q, 0.0, 1.0))
    veins = 0.88 + 0.12 * np.cos(u * np.float32(9.0))
    paint = (shade * veins)[..., None] * occ.colour[m].astype(np.float32)
    region = canvas[y0:y1, x0:x1]
    region += alpha * (paint - region)
