"""Leakage between the sides of a split: how close in time, and how alike in look.

For every frame of a held-out side (validation, test) the report gives:

* ``distance``: frames to the nearest *training* frame of the same recording (recordings
  matched as in :mod:`posekit.refinement.metadata`; frame numbers are video frame indices,
  and for image lists the number in the image's file name). ``None`` when the recording
  has no training frame. ``0`` means the same frame is on both sides.
* ``hamming``: bits that differ between the frame's image hash and the most similar
  training image (any recording). The hash is a difference hash: the grayscale image
  shrunk (area averaging) to ``hash_size + 1`` x ``hash_size`` pixels, one bit per
  horizontally adjacent pair (left brighter than right), ``hash_size ** 2`` bits. A frame
  at Hamming distance ``<= hash_threshold`` is a *near duplicate* of a training image.

A split *leaks* when a held-out frame is closer than ``near_frames`` frames to a training
frame of its recording, or is a near duplicate. :func:`warn_if_validation_leaks` is what ``posekit train`` calls
on its own train/validation split (distances only: it decodes no images).
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from posekit.refinement.metadata import VideoGroups
from posekit.utils import atomic_write_text

if TYPE_CHECKING:
    import sleap_io as sio

NEAR_FRAMES = 5
"""A held-out frame closer than this many frames to a training frame of the same recording
leaks (consecutive frames of a video look almost the same)."""
HASH_SIZE = 8
HASH_THRESHOLD = 4
"""Near duplicate: at most this many of the ``HASH_SIZE ** 2`` hash bits differ."""
REPORT_VERSION = 1
_POPCOUNT = np.array([i.bit_count() for i in range(256)], dtype=np.uint8)


class LeakageWarning(UserWarning):
    """A validation or test split shares (nearly) the same frames with training."""


def image_hash(image: np.ndarray, hash_size: int = HASH_SIZE) -> np.ndarray:
    """Difference hash of an ``(H, W[, C])`` image: ``hash_size ** 2`` bits packed in uint8."""
    import cv2

    img = np.asarray(image)
    if img.ndim == 3:
        img = img.mean(axis=-1) if img.shape[-1] > 1 else img[..., 0]
    small = cv2.resize(img.astype(np.float32), (hash_size + 1, hash_size),
                       interpolation=cv2.INTER_AREA)
    return np.packbits((small[:, :-1] > small[:, 1:]).ravel())


def hamming_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``(N, M)`` bit differences between packed hashes ``a (N, B)`` and ``b (M, B)``
    (computed in row chunks of about 16 MB)."""
    a, b = np.asarray(a, np.uint8), np.asarray(b, np.uint8)
    out = np.empty((a.shape[0], b.shape[0]), dtype=np.int32)
    chunk = max(1, 2**24 // max(1, b.shape[0] * b.shape[1]))
    for lo in range(0, a.shape[0], chunk):
        xor = a[lo:lo + chunk, None, :] ^ b[None, :, :]
        out[lo:lo + chunk] = _POPCOUNT[xor].sum(axis=-1)
    return out


@dataclass
class FrameLeak:
    """One held-out frame and its nearest training frames (in time and in look)."""

    side: str
    video: str
    frame_idx: int
    frame_number: int
    nearest_train_frame: int | None = None
    distance: int | None = None
    hash_video: str | None = None
    hash_frame_idx: int | None = None
    hamming: int | None = None


@dataclass
class SideLeakage:
    """Summary of one held-out side."""

    side: str
    n_frames: int
    n_in_train_videos: int
    min_distance: int | None
    median_distance: float | None
    n_near_in_time: int
    n_hashed: int
    n_near_duplicates: int


@dataclass
class LeakageReport:
    """Leakage of every held-out side against training (``to_dict`` is the JSON form)."""

    near_frames: int
    hash_size: int | None
    hash_threshold: int | None
    train_frames: int
    sides: list[SideLeakage]
    frames: list[FrameLeak]
    notes: list[str] = field(default_factory=list)

    @property
    def leaks(self) -> bool:
        """Whether any held-out frame is near a training frame or a near duplicate."""
        return any(s.n_near_in_time or s.n_near_duplicates for s in self.sides)

    @property
    def near_duplicates(self) -> list[FrameLeak]:
        """Held-out frames whose image is a near duplicate of a training image."""
        if self.hash_threshold is None:
            return []
        return [f for f in self.frames if f.hamming is not None
                and f.hamming <= self.hash_threshold]

    def side(self, name: str) -> SideLeakage:
        """The summary of side ``name``."""
        return next(s for s in self.sides if s.side == name)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (``schema_version`` 1)."""
        data = asdict(self)
        data["schema_version"] = REPORT_VERSION
        data["leaks"] = self.leaks
        data["definitions"] = {
            "distance": "frames to the nearest training frame of the same recording "
            "(null: no training frame in that recording)",
            "hamming": f"differing bits of a {self.hash_size}x{self.hash_size} difference "
            "hash against the most similar training image",
            "near_duplicate": f"hamming <= {self.hash_threshold}",
            "leak": f"distance < {self.near_frames} or a near duplicate",
        }
        return data

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the report as JSON (atomic)."""
        return atomic_write_text(path, json.dumps(self.to_dict(), indent=2) + "\n")


def _frame_rows(labels: sio.Labels, groups: VideoGroups) -> list[tuple[int, int, sio.LabeledFrame]]:
    """``(recording, frame number, frame)`` for every labelled frame."""
    rows = []
    for lf in labels.labeled_frames:
        group, _ = groups.add(lf.video)
        rows.append((group, groups.identity(lf.video).frame_number(int(lf.frame_idx)), lf))
    return rows


def _hashes(frames: Iterable[sio.LabeledFrame], hash_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Packed hashes and a mask of the frames whose image could be read."""
    out, ok = [], []
    for lf in frames:
        try:
            image = lf.image
        except Exception:  # noqa: BLE001 - unreadable frames are counted, not fatal
            image = None
        ok.append(image is not None)
        out.append(image_hash(image, hash_size) if image is not None
                   else np.zeros(hash_size * hash_size // 8, np.uint8))
    return np.asarray(out, np.uint8).reshape(len(ok), -1), np.asarray(ok, bool)


def _nearest_in_time(rows, train_rows) -> list[tuple[int | None, int | None]]:
    by_group: dict[int, np.ndarray] = {}
    for group in {g for g, _, _ in train_rows}:
        by_group[group] = np.sort([n for g, n, _ in train_rows if g == group])
    out = []
    for group, number, _ in rows:
        numbers = by_group.get(group)
        if numbers is None or not len(numbers):
            out.append((None, None))
            continue
        k = int(np.searchsorted(numbers, number))
        near = [numbers[i] for i in (k - 1, k) if 0 <= i < len(numbers)]
        best = min(near, key=lambda n: abs(int(n) - number))
        out.append((int(best), abs(int(best) - number)))
    return out


def _summary(side: str, frames: list[FrameLeak], near: int, thr: int | None) -> SideLeakage:
    dists = [f.distance for f in frames if f.distance is not None]
    hashed = [f.hamming for f in frames if f.hamming is not None]
    return SideLeakage(
        side=side, n_frames=len(frames), n_in_train_videos=len(dists),
        min_distance=min(dists) if dists else None,
        median_distance=float(np.median(dists)) if dists else None,
        n_near_in_time=sum(d < near for d in dists), n_hashed=len(hashed),
        n_near_duplicates=sum(h <= thr for h in hashed) if thr is not None else 0)


def leakage_report(
    train: sio.Labels,
    others: Mapping[str, sio.Labels] | sio.Labels,
    *,
    near_frames: int = NEAR_FRAMES,
    hashes: bool = True,
    hash_size: int = HASH_SIZE,
    hash_threshold: int = HASH_THRESHOLD,
    match_basename: bool = True,
) -> LeakageReport:
    """Leakage of held-out labels against training labels (see the module notes).

    Args:
        train: The training labels.
        others: Held-out labels by side name (``{"val": ..., "test": ...}``), or one
            ``Labels`` (named ``"val"``).
        near_frames: A held-out frame closer than this (in frames) to a training frame
            leaks.
        hashes: Also compare images (decodes every frame once); False for distances only.
        hash_size: Side of the difference hash (``hash_size ** 2`` bits).
        hash_threshold: Largest Hamming distance that counts as a near duplicate.
        match_basename: Match recordings by file name and shape too (else path only).
    """
    if not isinstance(others, Mapping):
        others = {"val": others}
    groups = VideoGroups(basename=match_basename)
    train_rows = _frame_rows(train, groups)
    notes: list[str] = []
    train_hash = train_ok = None
    if hashes:
        train_hash, train_ok = _hashes((lf for _, _, lf in train_rows), hash_size)
        if not train_ok.all():
            notes.append(f"{int((~train_ok).sum())} training frame(s) could not be read; "
                         "they are left out of the image comparison.")
    all_frames, sides = [], []
    for side, labels in others.items():
        rows = _frame_rows(labels, groups)
        nearest = _nearest_in_time(rows, train_rows)
        frames = [FrameLeak(side, groups.name(g), int(lf.frame_idx), n, best, dist)
                  for (g, n, lf), (best, dist) in zip(rows, nearest)]
        if hashes and rows and train_ok is not None and train_ok.any():
            _add_hash_matches(frames, rows, train_rows, train_hash, train_ok, hash_size, groups)
        sides.append(_summary(side, frames, near_frames, hash_threshold if hashes else None))
        all_frames += frames
    return LeakageReport(near_frames=int(near_frames), hash_size=hash_size if hashes else None,
                         hash_threshold=hash_threshold if hashes else None,
                         train_frames=len(train_rows), sides=sides, frames=all_frames,
                         notes=notes)


def _add_hash_matches(frames, rows, train_rows, train_hash, train_ok, hash_size, groups) -> None:
    """Fill ``hamming`` / ``hash_*`` of ``frames`` with their most similar training image."""
    held_hash, held_ok = _hashes((lf for _, _, lf in rows), hash_size)
    usable = np.flatnonzero(train_ok)
    step = max(1, 2**22 // max(1, len(usable)))  # bounded memory however many frames
    for lo in range(0, len(frames), step):
        dist = hamming_distances(held_hash[lo:lo + step], train_hash[usable])
        best = dist.argmin(axis=1)
        for k, frame in enumerate(frames[lo:lo + step]):
            if not held_ok[lo + k]:
                continue
            g, _, lf = train_rows[int(usable[best[k]])]
            frame.hash_video, frame.hash_frame_idx = groups.name(g), int(lf.frame_idx)
            frame.hamming = int(dist[k, best[k]])


def validation_leak_message(report: LeakageReport, side: str = "val") -> str | None:
    """A one-paragraph warning when ``side`` leaks (None when it does not)."""
    summary = report.side(side)
    if not summary.n_near_in_time and not summary.n_near_duplicates:
        return None
    parts, name = [], {"val": "validation"}.get(side, side)
    if summary.n_near_in_time:
        parts.append(f"{summary.n_near_in_time} of {summary.n_frames} {name} frames are "
                     f"closer than {report.near_frames} frames to a training frame of the "
                     f"same video (closest: {summary.min_distance})")
    if summary.n_near_duplicates:
        parts.append(f"{summary.n_near_duplicates} of {summary.n_hashed} {name} frames are "
                     "near-duplicate images of training frames")
    if not summary.n_near_in_time:  # far apart in time, alike in image only
        return (f"the {name} split may leak: {'; '.join(parts)} (by an 8x8 image hash "
                "only; no frame is closer than "
                f"{report.near_frames} frames to training). With a fixed camera and small "
                "animals every frame hashes alike: check a few pairs by eye, and split by "
                "video or animal where there are several recordings.")
    return (f"the {name} split leaks: {'; '.join(parts)}. Scores on it will be optimistic. "
            "Split without leakage with `posekit labels split LABELS --by video` (or --by "
            "block / animal) and set data_config.train_labels_path and val_labels_path to "
            "the files it writes.")


def warn_if_validation_leaks(train: sio.Labels, val: sio.Labels,
                             near_frames: int = NEAR_FRAMES) -> LeakageReport:
    """Warn (:class:`LeakageWarning`) when validation frames lie closer than ``near_frames``
    frames to a training frame of the same video; distances only (no image decoding)."""
    report = leakage_report(train, {"val": val}, near_frames=near_frames, hashes=False)
    message = validation_leak_message(report)
    if message:
        warnings.warn(message, LeakageWarning, stacklevel=2)
    return report
