"""Animal motion: smooth random walks with inertia, and forward kinematics to keypoints.

Each animal walks forward along its heading with a speed and turning rate that follow
first-order autoregressive processes (inertia ``smoothness``); it steers back towards the
middle when it looks ahead past the frame's margin and away from animals that come too
close, so animals stay mostly in view and may touch without lying on top of one another.
Joint angles follow doubly smoothed autoregressive noise plus a bend that follows turning.
All arrays are float64; everything is driven by the ``numpy.random.Generator`` given.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from posekit.io.synthetic.bodies import BodyPlan

TURN_STD = 0.06  # typical turning rate, radians per frame
CONTACT = 0.75  # animals steer apart below this root distance (body lengths)
SEPARATION = 0.45  # roots are pushed apart below this distance (body lengths)


@dataclass(frozen=True)
class Trajectories:
    """Simulated state of every animal in every frame.

    Attributes:
        root: ``(F, N, 2)`` root node position ``(x, y)`` in pixels.
        heading: ``(F, N)`` heading in radians (image coordinates, clockwise positive).
        joints: ``(F, N, K)`` joint-angle offsets from the rest pose, radians.
        scale: ``(N,)`` body length of each animal in pixels.
    """

    root: np.ndarray
    heading: np.ndarray
    joints: np.ndarray
    scale: np.ndarray


def _wrap(angle: np.ndarray) -> np.ndarray:
    """Wrap angles to [-pi, pi)."""
    return (angle + np.pi) % (2.0 * np.pi) - np.pi


def _initial_positions(
    rng: np.random.Generator, n: int, lo: np.ndarray, hi: np.ndarray, spacing: float
) -> np.ndarray:
    """Place ``n`` roots inside ``[lo, hi]`` as far apart as 64 random candidates allow."""
    cand = rng.uniform(lo[:, None, :], hi[:, None, :], size=(n, 64, 2))
    chosen = np.empty((n, 2))
    for i in range(n):
        if i == 0:
            chosen[0] = cand[0, 0]
            continue
        d = np.linalg.norm(cand[i][:, None, :] - chosen[None, :i, :], axis=-1).min(axis=1)
        ok = np.flatnonzero(d >= spacing)
        chosen[i] = cand[i, ok[0]] if ok.size else cand[i, int(np.argmax(d))]
    return chosen


def smooth_noise(eps: np.ndarray, rho: float) -> np.ndarray:
    """Unit-variance, doubly smoothed AR(1) noise along axis 0 of ``eps``."""
    inno = np.sqrt(1.0 - rho * rho)
    out = np.empty_like(eps)
    e = eps[0].copy()
    z = e.copy()
    norm = np.sqrt(1.0 + rho * rho) / (1.0 + rho)
    for t in range(eps.shape[0]):
        e = rho * e + inno * eps[t]
        z = rho * z + (1.0 - rho) * e
        out[t] = z
    return out / norm


def simulate(
    body: BodyPlan,
    n_frames: int,
    n_animals: int,
    size: tuple[int, int],
    body_length: float,
    speed: float,
    smoothness: float,
    rng: np.random.Generator,
) -> Trajectories:
    """Simulate ``n_animals`` animals walking for ``n_frames`` frames in a ``size`` image.

    Args:
        body: The animals' body plan.
        n_frames: Number of frames ``F``.
        n_animals: Number of animals ``N``.
        size: Image ``(height, width)`` in pixels.
        body_length: Nominal body length in pixels (each animal varies by up to 8 %).
        speed: Mean speed in body lengths per frame.
        smoothness: Inertia of speed, turning and joints, in [0, 1).
        rng: Random generator (the only source of randomness).
    """
    f, n, k = n_frames, n_animals, body.n_nodes
    h, w = size
    rho = float(smoothness)
    inno = np.sqrt(1.0 - rho * rho)
    scale = body_length * (1.0 + 0.08 * rng.uniform(-1.0, 1.0, size=n))
    v0 = speed * scale
    margin = 0.12 * scale[:, None]
    lo = np.broadcast_to(margin, (n, 2))
    hi = np.stack([w - 1.0 - margin[:, 0], h - 1.0 - margin[:, 0]], axis=1)
    steer_margin = 0.45 * scale[:, None]
    steer_lo = steer_margin
    steer_hi = np.stack([w - 1.0 - steer_margin[:, 0], h - 1.0 - steer_margin[:, 0]], axis=1)
    centre = np.array([(w - 1.0) / 2.0, (h - 1.0) / 2.0])

    pos = _initial_positions(
        rng, n, np.minimum(steer_lo, centre), np.maximum(steer_hi, centre), float(scale.mean())
    )
    heading = rng.uniform(-np.pi, np.pi, size=n)
    spd = v0 * rng.uniform(0.5, 1.5, size=n)
    turn = TURN_STD * rng.standard_normal(n)
    eps_speed = rng.standard_normal((f, n))
    eps_turn = rng.standard_normal((f, n))
    joint_noise = smooth_noise(rng.standard_normal((f, n, k)), rho)

    roots = np.empty((f, n, 2))
    headings = np.empty((f, n))
    turns = np.empty((f, n))
    for t in range(f):
        roots[t], headings[t], turns[t] = pos, heading, turn
        spd = np.clip(v0 + rho * (spd - v0) + 0.6 * v0 * inno * eps_speed[t], 0.0, 3.0 * v0)
        turn = rho * turn + TURN_STD * inno * eps_turn[t]
        direction = np.stack([np.cos(heading), np.sin(heading)], axis=1)
        # Walls: look ahead; when past the steering margin, turn towards the middle.
        ahead = pos + 0.6 * scale[:, None] * direction
        over = (np.maximum(steer_lo - ahead, 0.0) + np.maximum(ahead - steer_hi, 0.0)).sum(1)
        to_centre = np.arctan2(centre[1] - pos[:, 1], centre[0] - pos[:, 0])
        steer = _wrap(to_centre - heading) * np.minimum(over / (0.5 * scale), 1.0) * 0.25
        # Other animals: steer away from close ones and push overlapping roots apart.
        if n > 1:
            diff = pos[:, None, :] - pos[None, :, :]
            dist = np.linalg.norm(diff, axis=-1) + np.eye(n) * 1e9
            near = np.clip(1.0 - dist / (CONTACT * scale[:, None]), 0.0, 1.0)
            away = np.arctan2(diff[..., 1], diff[..., 0])
            steer = steer + (_wrap(away - heading[:, None]) * near).sum(1) * 0.2
            gap = np.clip(SEPARATION * scale[:, None] - dist, 0.0, None)
            pos = pos + (diff / dist[..., None] * gap[..., None] * 0.5).sum(1)
        heading = _wrap(heading + turn + steer)
        pos = pos + spd[:, None] * np.stack([np.cos(heading), np.sin(heading)], axis=1)
        pos = np.clip(pos, lo, hi)

    flex = np.deg2rad(np.asarray(body.flex))
    rest = np.deg2rad(np.asarray(body.angles))
    # Bend with turning: joints pointing forward turn into the turn, backward ones trail it.
    facing = np.cos(body.ancestry() @ rest)
    bend = np.clip(turns / TURN_STD, -2.0, 2.0)[..., None] * 0.5 * np.sign(facing)
    joints = flex * (joint_noise + bend)
    joints[..., body.root] = 0.0
    return Trajectories(root=roots, heading=headings, joints=joints, scale=scale)


def keypoints(body: BodyPlan, traj: Trajectories) -> np.ndarray:
    """Forward kinematics: ``(F, N, K, 2)`` float64 keypoints of every animal.

    A node's absolute direction is the heading plus the rest and joint angles along its
    ancestry; its position is the root plus the ancestry's segment vectors.
    """
    anc = body.ancestry()
    rel = np.deg2rad(np.asarray(body.angles)) + traj.joints  # (F, N, K)
    rel[..., body.root] = 0.0
    absolute = traj.heading[..., None] + rel @ anc.T
    seg = np.asarray(body.lengths)[None, None, :] * traj.scale[None, :, None]
    vec = np.stack([np.cos(absolute), np.sin(absolute)], axis=-1) * seg[..., None]
    return traj.root[:, :, None, :] + np.einsum("kj,fnjd->fnkd", anc, vec)
