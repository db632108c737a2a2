"""Long synthetic videos made of distinct scenes (planted appearance clusters).

Each scene has its own lighting level and floor pattern; a bright "animal" blob wanders
over it, so frames of one scene differ a little and frames of two scenes differ a lot.
Frame extraction by k-means with one cluster per scene must return one frame of each
scene. The scene of every frame is known without decoding (:func:`scene_of_frames`).

Frames are rendered in chunks into a memory-mapped scratch file and encoded from there
by :func:`~posekit.io.synthetic.writer.write_video`, so a long video never has to fit in
memory.

>>> path, scenes = write_scene_video("scenes.mp4", n_scenes=4, frames_per_scene=300)  # doctest: +SKIP
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from posekit.errors import ConfigError

CHUNK = 256  # frames rendered at a time


def scene_of_frames(n_frames: int, n_scenes: int, segment: int) -> np.ndarray:
    """Scene index of every frame: scenes take turns in runs of ``segment`` frames."""
    return (np.arange(n_frames) // max(int(segment), 1)) % n_scenes


def _floors(n_scenes: int, height: int, width: int, seed: int) -> np.ndarray:
    """One ``float32 (H, W)`` floor per scene: its own brightness and stripe pattern."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    levels = np.linspace(30, 200, n_scenes) if n_scenes > 1 else np.array([110.0])
    floors = []
    for s in range(n_scenes):
        angle = np.pi * s / max(n_scenes, 1)
        period = 6 + 4 * (s % 3)
        stripes = np.sin((xx * np.cos(angle) + yy * np.sin(angle)) * 2 * np.pi / period)
        floors.append(levels[s] + 18 * stripes + rng.normal(0, 3, (height, width)))
    return np.stack(floors).astype(np.float32)


def render_scene_frames(first: int, count: int, floors: np.ndarray, scenes: np.ndarray,
                        seed: int) -> np.ndarray:
    """``uint8 (count, H, W, 1)`` frames ``first .. first + count - 1``."""
    _, height, width = floors.shape
    t = np.arange(first, first + count, dtype=np.float32)[:, None, None]
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    cx = width * (0.5 + 0.3 * np.sin(t / 37.0 + seed))
    cy = height * (0.5 + 0.3 * np.cos(t / 53.0 + 2 * seed))
    blob = 60.0 * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * (0.08 * width) ** 2))
    noise = np.random.default_rng([seed, first]).normal(0, 2, (count, height, width))
    frames = floors[scenes[first : first + count]] + blob + noise
    return np.clip(frames, 0, 255).astype(np.uint8)[..., None]


def write_scene_video(
    path: str | Path,
    n_scenes: int = 5,
    frames_per_scene: int = 200,
    segment: int | None = None,
    height: int = 64,
    width: int = 64,
    seed: int = 0,
    fps: float = 30.0,
) -> tuple[Path, np.ndarray]:
    """Write a grey H.264 video of ``n_scenes * frames_per_scene`` frames.

    Args:
        path: output ``.mp4`` / ``.mkv`` / ``.mov`` / ``.avi``.
        n_scenes: distinct scenes (planted clusters).
        frames_per_scene: frames of each scene.
        segment: frames per run before the next scene takes over (default
            ``frames_per_scene``: one block per scene; smaller values interleave them).
        height, width: frame size; seed: pattern and noise seed; fps: frame rate.

    Returns:
        The path and the scene index of every frame.
    """
    from posekit.io.synthetic.writer import write_video

    if n_scenes < 1 or frames_per_scene < 1 or height < 8 or width < 8:
        raise ConfigError(
            f"n_scenes={n_scenes}, frames_per_scene={frames_per_scene}, size {height}x{width}; "
            "expected at least 1 scene of 1 frame and frames of at least 8x8 pixels."
        )
    n_frames = n_scenes * frames_per_scene
    scenes = scene_of_frames(n_frames, n_scenes, segment or frames_per_scene)
    floors = _floors(n_scenes, height, width, seed)
    with tempfile.TemporaryDirectory(prefix="posekit-scenes-") as tmp:
        frames = np.lib.format.open_memmap(
            Path(tmp) / "frames.npy", mode="w+", dtype=np.uint8,
            shape=(n_frames, height, width, 1))
        for first in range(0, n_frames, CHUNK):
            count = min(CHUNK, n_frames - first)
            frames[first : first + count] = render_scene_frames(first, count, floors, scenes,
                                                                seed)
        frames.flush()
        write_video(frames, path, fps=fps)
        del frames
    return Path(path), scenes
