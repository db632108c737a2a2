"""Simulated labelers: several people annotating the same synthetic frames.

:func:`simulate_labelers` turns the renderer's labels (``SynthResult.points``: the true
keypoints, NaN where hidden) into what ``n_labelers`` people would click:

* every labeler ``l`` adds Gaussian noise with its own standard deviation ``noise_px[l]``
  (pixels, per axis) to every point it places;
* one labeler (``bias_labeler``) also shifts every point by a systematic ``bias_px``
  ``(dx, dy)``, as someone who consistently clicks beside the landmark;
* each labeler leaves a visible point out with probability ``missing`` and makes a gross
  slip (the point lands ``slip_px`` away in a random direction) with probability ``slips``;
* each labeler skips a whole frame with probability ``skip_frames``;
* the animals of a frame are listed in a random order per labeler, without tracks, so the
  animals must be matched between labelers.

:func:`write_labelers` writes the frames once as a video and one ``<name>.slp`` per labeler
referring to it. What was planted is returned as arrays (:class:`SynthLabelers`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import sleap_io as sio

from posekit.config.problems import Problem
from posekit.config.rules import RuleTable, check_settings, number, probability, rule
from posekit.io.synthetic.render import SynthResult


@rule("noise_px", "n_labelers", "bias_labeler", "names")
def _per_labeler(spec: Any, path: str) -> Iterator[Problem]:
    """Lists sized to the labelers, and a biased labeler that exists."""
    n = spec.n_labelers
    if len(spec.noise_px) not in (1, n):
        yield Problem("noise_px", f"{len(spec.noise_px)} values for {n} labelers",
                      f"one value for every labeler, or exactly {n}", "Give e.g. (1.0,).")
    if spec.bias_labeler is not None and not 0 <= spec.bias_labeler < n:
        yield Problem("bias_labeler", f"labeler {spec.bias_labeler} of {n}",
                      f"an index from 0 to {n - 1}, or null for no bias", "Use e.g. 1.")
    if spec.names is not None and (len(spec.names) != n or len(set(spec.names)) != n):
        yield Problem("names", f"{list(spec.names)} for {n} labelers",
                      f"{n} distinct names", "Leave names out for labeler_1, labeler_2, ...")


RULES: RuleTable = {
    "": (
        number("n_labelers", 1, 64),
        number("noise_px", 0, 1000),
        number("bias_px", -1000, 1000),
        probability("missing"),
        probability("slips"),
        number("slip_px", 0, 10_000),
        probability("skip_frames"),
        number("seed", 0, 2**63 - 1),
        _per_labeler,
    )
}


@dataclass(frozen=True)
class LabelerSpec:
    """How the simulated labelers err (see the module notes).

    Attributes:
        n_labelers: number of labelers.
        noise_px: per-axis standard deviation of each labeler's clicks: one value for every
            labeler, or one per labeler.
        bias_labeler: index of the labeler with a systematic bias (None: nobody).
        bias_px: that labeler's bias ``(dx, dy)`` in pixels.
        missing: probability that a labeler leaves a visible point out.
        slips: probability that a placed point is a gross slip.
        slip_px: range of a slip's distance (pixels).
        skip_frames: probability that a labeler skips a whole frame.
        names: labeler names (default ``labeler_1``, ``labeler_2``, ...).
        seed: random seed (independent of the rendering's).
    """

    n_labelers: int = 5
    noise_px: tuple[float, ...] = (1.0,)
    bias_labeler: int | None = 1
    bias_px: tuple[float, float] = (3.0, -2.0)
    missing: float = 0.02
    slips: float = 0.01
    slip_px: tuple[float, float] = (20.0, 60.0)
    skip_frames: float = 0.0
    names: tuple[str, ...] | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        check_settings(self, "", RULES)

    @property
    def labeler_names(self) -> tuple[str, ...]:
        """The labelers' names (also their files' stems)."""
        return self.names or tuple(f"labeler_{i + 1}" for i in range(self.n_labelers))

    @property
    def noise(self) -> np.ndarray:
        """``(L,)`` each labeler's noise standard deviation."""
        return np.broadcast_to(np.asarray(self.noise_px, float), (self.n_labelers,)).copy()

    @property
    def bias(self) -> np.ndarray:
        """``(L, 2)`` each labeler's planted bias (zero but for ``bias_labeler``)."""
        out = np.zeros((self.n_labelers, 2))
        if self.bias_labeler is not None:
            out[self.bias_labeler] = self.bias_px
        return out


@dataclass(frozen=True)
class SynthLabelers:
    """What the simulated labelers placed, and what was planted.

    Attributes:
        names: the labelers' names.
        points: ``(L, F, N, K, 2)`` each labeler's points, animal slot ``n`` being animal
            ``n`` of the rendering (NaN: not placed).
        truth: ``(F, N, K, 2)`` the true visible points (``SynthResult.points``).
        noise_px, bias: ``(L,)`` and ``(L, 2)`` as planted.
        missing: ``(L, F, N, K)`` visible points of frames it labelled the labeler left out.
        slipped: ``(L, F, N, K)`` points placed as gross slips.
        skipped: ``(L, F)`` frames the labeler skipped.
        labels: one ``sio.Labels`` per labeler (animals in a random order, no tracks).
    """

    names: tuple[str, ...]
    points: np.ndarray
    truth: np.ndarray
    noise_px: np.ndarray
    bias: np.ndarray
    missing: np.ndarray
    slipped: np.ndarray
    skipped: np.ndarray
    labels: list[sio.Labels]


def _labels(points: np.ndarray, skipped: np.ndarray, result: SynthResult, video: sio.Video,
            order_rng: np.random.Generator, record: dict) -> sio.Labels:
    """One labeler's labels: frames not skipped, animals with a point, in a random order."""
    frames = []
    for f in np.flatnonzero(~skipped):
        animals = [n for n in range(points.shape[1]) if np.isfinite(points[f, n]).any()]
        order = order_rng.permutation(len(animals)) if animals else []
        insts = [sio.Instance.from_numpy(points[f, animals[i]], skeleton=result.skeleton)
                 for i in order]
        if insts:
            frames.append(sio.LabeledFrame(video=video, frame_idx=int(f), instances=insts))
    return sio.Labels(labeled_frames=frames, videos=[video], skeletons=[result.skeleton],
                      provenance={"posekit_synthetic": result.spec.to_dict(),
                                  "posekit_synthetic_labeler": record})


def simulate_labelers(
    result: SynthResult, spec: LabelerSpec | None = None, video: sio.Video | None = None
) -> SynthLabelers:
    """Simulate ``spec.n_labelers`` people labelling ``result``'s frames (module notes).

    Args:
        result: a rendering (``render(SynthSpec(...))``).
        spec: how the labelers err (default :class:`LabelerSpec`).
        video: the video the labels refer to (default: a placeholder ``synthetic.mp4``).
    """
    spec = spec or LabelerSpec()
    rng = np.random.default_rng(spec.seed)
    video = video or sio.Video(filename="synthetic.mp4", open_backend=False)
    truth = np.asarray(result.points, dtype=np.float64)
    n_lab, (f, n, k, _) = spec.n_labelers, truth.shape
    visible = np.isfinite(truth).all(axis=-1)
    noise, bias = spec.noise, spec.bias
    points = np.empty((n_lab, f, n, k, 2))
    missing = np.zeros((n_lab, f, n, k), bool)
    slipped = np.zeros((n_lab, f, n, k), bool)
    skipped = rng.random((n_lab, f)) < spec.skip_frames
    labels = []
    for i in range(n_lab):
        pts = truth + rng.normal(0.0, noise[i], truth.shape) + bias[i]
        shown = visible & ~skipped[i][:, None, None]
        missing[i] = shown & (rng.random((f, n, k)) < spec.missing)
        slipped[i] = shown & ~missing[i] & (rng.random((f, n, k)) < spec.slips)
        angle = rng.uniform(0.0, 2 * np.pi, (f, n, k))
        size = rng.uniform(*spec.slip_px, (f, n, k))
        jump = np.stack([np.cos(angle), np.sin(angle)], axis=-1) * size[..., None]
        pts = np.where(slipped[i][..., None], pts + jump, pts)
        pts[missing[i] | ~shown] = np.nan
        points[i] = pts
        record = {"name": spec.labeler_names[i], "noise_px": float(noise[i]),
                  "bias_px": bias[i].tolist(), "missing": spec.missing, "slips": spec.slips,
                  "seed": spec.seed}
        labels.append(_labels(pts, skipped[i], result, video, rng, record))
    return SynthLabelers(spec.labeler_names, points, truth, noise, bias, missing, slipped,
                         skipped, labels)


def write_labelers(
    result: SynthResult,
    folder: str | Path,
    spec: LabelerSpec | None = None,
    video_name: str = "video.mp4",
) -> tuple[SynthLabelers, list[Path]]:
    """Write ``result``'s frames as ``folder/video_name`` and one ``<name>.slp`` per
    simulated labeler referring to it (atomic writes).

    Returns:
        The simulated labelers and the labels files, in labeler order.
    """
    from posekit.io.synthetic.writer import write_video
    from posekit.io.writers import save_labels

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    video_path = write_video(result.images, folder / video_name, result.spec.fps)
    video = sio.Video.from_filename(video_path.resolve().as_posix(),
                                    grayscale=not result.spec.rgb)
    sim = simulate_labelers(result, spec, video)
    paths = [save_labels(labels, folder / f"{name}.slp")
             for name, labels in zip(sim.names, sim.labels, strict=True)]
    video.close()
    return sim, paths
