"""``render(spec) -> SynthResult``: frames of synthetic animals with exact keypoints."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import cv2
import numpy as np
import sleap_io as sio

from posekit.io.synthetic import scene
from posekit.io.synthetic.appearance import IDENTITY_STYLES, identity_colour
from posekit.io.synthetic.bodies import BodyPlan
from posekit.io.synthetic.draw import body_distance, body_parts, draw_animals
from posekit.io.synthetic.motion import keypoints, simulate
from posekit.io.synthetic.spec import SynthSpec

_OCCLUSION_CHUNK = 2048  # frames per batch when testing keypoints against other animals


@dataclass
class SynthResult:
    """Rendered frames and their ground truth.

    Attributes:
        spec: The spec that produced this result.
        images: ``(F, H, W, C)`` uint8 frames.
        points: ``(F, N, K, 2)`` float32 keypoints; NaN where outside the image or (when
            ``spec.hide_occluded``) covered by an occluder or by an animal drawn on top.
        true_points: ``(F, N, K, 2)`` float32 keypoints, hidden ones included.
        in_frame: ``(F, N, K)`` whether each keypoint lies inside the image.
        occluded: ``(F, N, K)`` whether each keypoint is covered by an occluder or by an
            animal drawn on top of it.
        track_ids: ``(F, N)`` int64 track index of each animal slot (animal ``n`` is always
            slot ``n``), ``-1`` when the spec has no tracks.
        identities: ``(N,)`` int64 appearance index of each animal (``-1``: plain look).
        skeleton: Skeleton with named nodes, edges and left/right symmetries.
        track_names: Name of each track (``animal_0``, ``animal_1``...), empty without tracks.
        render_seconds: Wall time spent rendering.
    """

    spec: SynthSpec
    images: np.ndarray
    points: np.ndarray
    true_points: np.ndarray
    in_frame: np.ndarray
    occluded: np.ndarray
    track_ids: np.ndarray
    identities: np.ndarray
    skeleton: sio.Skeleton
    track_names: list[str] = field(default_factory=list)
    render_seconds: float = 0.0

    @property
    def visible(self) -> np.ndarray:
        """``(F, N, K)`` whether each keypoint is labelled (not NaN in ``points``)."""
        return ~np.isnan(self.points[..., 0])

    @property
    def frames_per_second(self) -> float:
        """Rendering speed of this result."""
        return self.images.shape[0] / max(self.render_seconds, 1e-9)

    @property
    def identity_names(self) -> list[str]:
        """Colour name of each animal's identity (``"plain"`` without identities)."""
        return [IDENTITY_STYLES[i][0] if i >= 0 else "plain" for i in self.identities]

    def to_labels(self, video: sio.Video) -> sio.Labels:
        """User-labelled ``sio.Labels`` on ``video`` (frame ``f`` of the result is frame ``f``).

        Every frame gets a ``LabeledFrame`` (empty when no animal is visible); animals with no
        visible keypoint are left out of their frame. Animals carry their named ``Track``
        when the spec has tracks. The spec is recorded in ``labels.provenance``.
        """
        tracks = [sio.Track(name=name) for name in self.track_names]
        frames = []
        has_any = self.visible.any(axis=-1)
        pts = self.points.astype(np.float64)
        for f in range(pts.shape[0]):
            instances = [
                sio.Instance.from_numpy(
                    pts[f, n],
                    skeleton=self.skeleton,
                    track=tracks[self.track_ids[f, n]] if self.track_ids[f, n] >= 0 else None,
                )
                for n in np.flatnonzero(has_any[f])
            ]
            frames.append(sio.LabeledFrame(video=video, frame_idx=f, instances=instances))
        return sio.Labels(
            labeled_frames=frames,
            videos=[video],
            skeletons=[self.skeleton],
            tracks=tracks,
            provenance={"posekit_synthetic": self.spec.to_dict()},
        )


def make_skeleton(body: BodyPlan) -> sio.Skeleton:
    """The ``sio.Skeleton`` of a body plan (edges parent to child, left/right symmetries)."""
    return sio.Skeleton(
        list(body.nodes),
        edges=[(body.nodes[p], body.nodes[c]) for p, c in body.edges],
        symmetries=[tuple(s) for s in body.symmetries],
        name=body.name,
    )


def render(spec: SynthSpec) -> SynthResult:
    """Render ``spec``: identical specs give bit-identical results.

    See :class:`SynthSpec` for what each parameter does and :class:`SynthResult` for the
    arrays returned.
    """
    start = time.perf_counter()
    body = spec.body
    size = (spec.height, spec.width)
    f, n, c = spec.n_frames, spec.n_animals, spec.channels
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(spec.seed).spawn(5)]
    motion_rng, floor_rng, light_rng, occ_rng, noise_rng = streams

    traj = simulate(body, f, n, size, spec.body_length_px, spec.speed, spec.smoothness, motion_rng)
    true = keypoints(body, traj)
    floor = scene.background(floor_rng, size, c, spec.texture)
    light = scene.lighting(light_rng, f, spec.lighting)
    occ = scene.occluders(
        occ_rng, f, spec.occluders, size, spec.occluder_size * min(size), spec.occluder_prob, c
    )
    identities = np.arange(n) if spec.use_identities else np.full(n, -1)
    colours = np.stack([identity_colour(int(i), spec.rgb) for i in identities])
    parts = body_parts(body)
    grain = _NoiseBank(noise_rng, size, c, spec.noise)

    images = np.empty((f, spec.height, spec.width, c), dtype=np.uint8)
    for t in range(f):
        canvas = floor.copy()
        draw_animals(canvas, parts, true[t], traj.scale, colours, identities, spec.shadows)
        for m in np.flatnonzero(occ.on[t]):
            scene.draw_occluder(canvas, occ, t, int(m))
        if spec.lighting > 0:
            canvas *= light.field(t, size)
        if spec.blur > 0:
            canvas = cv2.GaussianBlur(
                canvas, (0, 0), spec.blur, borderType=cv2.BORDER_REFLECT
            ).reshape(canvas.shape)
        grain.add_to(canvas)  # also adds 0.5: truncation below then rounds to nearest
        np.clip(canvas, 0.0, 255.0, out=canvas)
        np.copyto(images[t], canvas, casting="unsafe")

    in_frame = (
        (true[..., 0] >= -0.5)
        & (true[..., 0] < spec.width - 0.5)
        & (true[..., 1] >= -0.5)
        & (true[..., 1] < spec.height - 0.5)
    )
    occluded = _occlusion(true, traj.scale, parts, occ)
    shown = in_frame & ~occluded if spec.hide_occluded else in_frame
    points = np.where(shown[..., None], true, np.nan).astype(np.float32)
    track_names = [f"animal_{i}" for i in range(n)] if spec.use_tracks else []
    track_ids = np.broadcast_to(np.arange(n) if spec.use_tracks else np.full(n, -1), (f, n))
    return SynthResult(
        spec=spec,
        images=images,
        points=points,
        true_points=true.astype(np.float32),
        in_frame=in_frame,
        occluded=occluded,
        track_ids=np.ascontiguousarray(track_ids, dtype=np.int64),
        identities=identities.astype(np.int64),
        skeleton=make_skeleton(body),
        track_names=track_names,
        render_seconds=time.perf_counter() - start,
    )


class _NoiseBank:
    """Gaussian sensor noise: one block of twice the frame size, cropped at random offsets.

    Drawing a fresh crop offset per frame is much cheaper than drawing fresh noise and
    gives frame-to-frame independent looking grain. The block also carries the +0.5 that
    turns the final truncation to uint8 into rounding.
    """

    def __init__(
        self, rng: np.random.Generator, size: tuple[int, int], channels: int, sigma: float
    ) -> None:
        self.rng, self.size = rng, size
        shape = (2 * size[0], 2 * size[1], channels)
        if sigma > 0:
            self.block = rng.standard_normal(shape, dtype=np.float32) * np.float32(sigma)
            self.block += 0.5
        else:
            self.block = None

    def add_to(self, canvas: np.ndarray) -> None:
        """Add noise and 0.5 to ``canvas`` in place."""
        if self.block is None:
            canvas += 0.5
            return
        h, w = self.size
        oy, ox = (int(v) for v in self.rng.integers(0, (h, w)))
        canvas += self.block[oy : oy + h, ox : ox + w]


def _occlusion(true: np.ndarray, scale: np.ndarray, parts, occ: scene.Occluders) -> np.ndarray:
    """Keypoints covered by an occluder, or by an animal drawn later (higher index)."""
    covered = occ.covers(true)
    f, n = true.shape[:2]
    for lo in range(0, f, _OCCLUSION_CHUNK):  # bounded memory for long recordings
        chunk = slice(lo, min(lo + _OCCLUSION_CHUNK, f))
        for top in range(1, n):
            under = true[chunk, :top].reshape(chunk.stop - chunk.start, -1, 2)
            sd = body_distance(parts, under, true[chunk, top], float(scale[top]))
            covered[chunk, :top] |= (sd < 0.0).reshape(covered[chunk, :top].shape)
    return covered
