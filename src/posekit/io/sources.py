"""Frame sources for inference: videos, image folders and labels files, in batches.

:func:`open_frame_source` returns an iterable of :class:`FrameBatch`
``(frame_indices int64 (B,), images uint8 (B, H, W, C), video)``. Frames are decoded on
a background thread up to ``prefetch`` batches ahead (a bounded queue, so memory stays
flat however long the video is) while the caller runs the model.

* A batch only holds frames of one video and one image size: when the size (or the
  video) changes, the current batch is emitted early. Image folders and DeepLabCut
  projects with mixed sizes therefore yield shorter batches, never padded ones.
* Frames that cannot be decoded, and frames past the real end of a video whose header
  promises more, are skipped: they are listed in ``source.skipped`` and reported with a
  :class:`FrameSkipWarning` at the end of the iteration. A video that cannot be opened
  at all raises :class:`~posekit.errors.VideoError` when the source is created.
* ``len(source)`` (= ``source.total``) is the number of frames requested, for
  progress bars; frames are yielded in increasing index order.
"""

from __future__ import annotations

import os
import queue
import threading
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from posekit.errors import ConfigError, DataError, VideoError
from posekit.io.images import (
    IMAGE_EXTENSIONS,
    ImageReader,
    VideoRef,
    decode_image_file,
    natural_key,
    open_video_ref,
    to_uint8_hwc,
)
from posekit.io.labels import VIDEO_EXTENSIONS, labels_format, load_labels
from posekit.io.video_readers import open_video_reader

if TYPE_CHECKING:
    import sleap_io as sio

SEEK_GAP = 64  # decode through gaps shorter than this instead of seeking
_END = object()


class FrameSkipWarning(UserWarning):
    """Some requested frames could not be decoded and were skipped."""


class FrameBatch(NamedTuple):
    """One batch: frame indices ``int64 (B,)``, images ``uint8 (B, H, W, C)``, video, and
    what the source's ``prepare`` hook made of the images (``None`` without one)."""

    frame_indices: np.ndarray
    images: np.ndarray
    video: Any
    prepared: Any = None


class SkippedFrame(NamedTuple):
    """A frame that was requested but not delivered."""

    frame_idx: int
    reason: str
    video_index: int = 0


def parse_frame_range(text: str) -> list[int] | range:
    """Parse ``"0-999"`` (inclusive) or ``"10,20,30-40"`` into frame indices.

    Raises:
        ConfigError: malformed text, negative numbers or a decreasing range.
    """
    parts = [p.strip() for p in str(text).split(",") if p.strip()]
    if not parts:
        raise ConfigError(f"frames: {text!r} is empty; expected e.g. '0-999' or '10,20,30-40'.")
    out: list[int] = []
    for part in parts:
        lo_s, sep, hi_s = part.partition("-")
        try:
            lo = int(lo_s)
            hi = int(hi_s) if sep else lo
        except ValueError:
            raise ConfigError(
                f"frames: {part!r} in {text!r} is not a frame number or range; expected "
                "non-negative integers like '0-999' or '10,20,30-40'."
            ) from None
        if lo < 0 or hi < lo:
            raise ConfigError(
                f"frames: {part!r} is not a valid range; expected start <= end, both >= 0."
            )
        if len(parts) == 1:
            return range(lo, hi + 1)
        out.extend(range(lo, hi + 1))
    return out


class FrameSource(ABC):
    """Base class: subclasses yield ``(video, video_index, frame_idx, image)`` in order."""

    def __init__(self, name: str, total: int, batch_size: int, prefetch: int):
        if int(batch_size) < 1:
            raise ConfigError(f"batch_size: {batch_size}; expected an integer >= 1.")
        if int(prefetch) < 0:
            raise ConfigError(f"prefetch: {prefetch}; expected an integer >= 0.")
        self.name = name
        self.total = int(total)
        self.batch_size = int(batch_size)
        self.prefetch = int(prefetch)
        self.skipped: list[SkippedFrame] = []
        #: Called on every batch of images where they are decoded (the background thread
        #: when ``prefetch`` > 0), so model-free work such as resizing overlaps the model.
        self.prepare: Callable[[np.ndarray], Any] | None = None

    def __len__(self) -> int:
        return self.total

    @abstractmethod
    def _frames(self) -> Iterator[tuple[Any, int, int, np.ndarray]]:
        """Decoded frames as ``(video, video index, frame index, uint8 (H, W, C))``."""

    def _skip(self, frame_idx: int, reason: str, video_index: int = 0) -> None:
        self.skipped.append(SkippedFrame(int(frame_idx), reason, int(video_index)))

    def _batches(self) -> Iterator[FrameBatch]:
        idx: list[int] = []
        imgs: list[np.ndarray] = []
        current: tuple[int, tuple[int, ...]] | None = None
        video = None
        for vid, vi, fi, img in self._frames():
            key = (vi, img.shape)
            if idx and (key != current or len(idx) >= self.batch_size):
                yield self._batch(idx, imgs, video)
                idx, imgs = [], []
            current, video = key, vid
            idx.append(fi)
            imgs.append(img)
        if idx:
            yield self._batch(idx, imgs, video)

    def _batch(self, idx: list[int], imgs: list[np.ndarray], video: Any) -> FrameBatch:
        images = np.stack(imgs)
        prepared = self.prepare(images) if self.prepare is not None else None
        return FrameBatch(np.asarray(idx, np.int64), images, video, prepared)

    def __iter__(self) -> Iterator[FrameBatch]:
        self.skipped = []
        try:
            if self.prefetch == 0:
                yield from self._batches()
            else:
                yield from self._threaded()
        finally:
            if self.skipped:
                shown = ", ".join(str(s.frame_idx) for s in self.skipped[:10])
                more = " ..." if len(self.skipped) > 10 else ""
                warnings.warn(
                    f"{self.name}: {len(self.skipped)} frame(s) could not be decoded and were "
                    f"skipped ({shown}{more}; first reason: {self.skipped[0].reason}).",
                    FrameSkipWarning,
                    stacklevel=2,
                )

    def _threaded(self) -> Iterator[FrameBatch]:
        q: queue.Queue[Any] = queue.Queue(maxsize=self.prefetch)
        stop = threading.Event()

        def put(item: Any) -> bool:
            while not stop.is_set():
                try:
                    q.put(item, timeout=0.05)
                    return True
                except queue.Full:
                    continue
            return False

        def work() -> None:
            batches = self._batches()
            try:
                for batch in batches:
                    if not put(batch):
                        return
                put(_END)
            except BaseException as exc:  # noqa: BLE001 - re-raised in the consumer thread
                put(exc)
            finally:
                batches.close()  # closes the decoder, also when the consumer stopped early

        thread = threading.Thread(target=work, name=f"posekit-decode:{self.name}", daemon=True)
        thread.start()
        try:
            while True:
                item = q.get()
                if item is _END:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            stop.set()
            while thread.is_alive():
                try:
                    q.get(timeout=0.05)
                except queue.Empty:
                    pass
            thread.join()


def _targets(frames: range | Sequence[int] | None, n: int, name: str) -> np.ndarray:
    if frames is None:
        return np.arange(n, dtype=np.int64)
    arr = np.unique(np.asarray(list(frames), dtype=np.int64))
    if arr.size and (arr[0] < 0 or (n and arr[-1] >= n)):
        bad = int(arr[0]) if arr[0] < 0 else int(arr[-1])
        raise DataError(
            f"{name}: frame {bad} is out of range; expected indices in 0..{n - 1}. "
            "Check the frame range."
        )
    return arr


class VideoFrameSource(FrameSource):
    """Stream frames of one video file (OpenCV by default, PyAV fallback)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        frames: range | Sequence[int] | None = None,
        batch_size: int = 8,
        prefetch: int = 2,
        backend: str = "auto",
        grayscale: bool | None = None,
    ):
        import sleap_io as sio

        self.path = Path(path)
        self.backend = backend
        self.grayscale = grayscale
        probe = open_video_reader(self.path, backend=backend, grayscale=False)
        try:
            self.n_frames, self.fps = probe.n_frames, probe.fps
            self.backend = probe.name
            first = next(iter(probe.frames(0)), None)
        finally:
            probe.close()
        if first is None:
            raise VideoError(f"{self.path}: no frame can be decoded; expected a readable video.")
        img = first[1]
        if grayscale is None:  # sleap-io's rule: first and last channel equal -> grey
            self.grayscale = bool(np.array_equal(img[..., 0], img[..., -1]))
        self.targets = _targets(frames, self.n_frames, str(self.path))
        super().__init__(str(self.path), len(self.targets), batch_size, prefetch)
        channels = 1 if self.grayscale else 3
        self.video = sio.Video(
            filename=self.path.resolve().as_posix(),
            backend_metadata={
                "shape": [self.n_frames, img.shape[0], img.shape[1], channels],
                "grayscale": self.grayscale,
                "fps": self.fps,
            },
            open_backend=False,
        )

    def _frames(self) -> Iterator[tuple[Any, int, int, np.ndarray]]:
        targets = self.targets
        if not len(targets):
            return
        wanted = set(targets.tolist())
        reader = open_video_reader(self.path, backend=self.backend, grayscale=self.grayscale)
        try:
            t = 0
            while t < len(targets):
                start = int(targets[t])
                for fi, img in reader.frames(start, wanted.__contains__):
                    while t < len(targets) and targets[t] < fi:
                        self._skip(int(targets[t]), "could not be decoded")
                        t += 1
                    if t < len(targets) and targets[t] == fi:
                        yield self.video, 0, fi, img
                        t += 1
                    if t >= len(targets) or targets[t] - fi > SEEK_GAP:
                        break
                else:  # the stream ended: everything still wanted is missing
                    for fi in targets[t:]:
                        self._skip(int(fi), "the video ended before this frame")
                    t = len(targets)
        finally:
            reader.close()


class ImageFolderSource(FrameSource):
    """Images of a folder (sorted by name, numbers compared numerically)."""

    def __init__(
        self,
        folder: str | os.PathLike[str],
        frames: range | Sequence[int] | None = None,
        batch_size: int = 8,
        prefetch: int = 2,
        grayscale: bool | None = None,
    ):
        import sleap_io as sio

        folder = Path(folder)
        files = (
            [folder]
            if folder.is_file()
            else sorted(
                (p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS),
                key=lambda p: natural_key(p.name),
            )
        )
        if not files:
            raise DataError(
                f"{folder}: no images found; expected files ending in {IMAGE_EXTENSIONS}."
            )
        self.files = files
        self.grayscale = grayscale
        self.targets = _targets(frames, len(files), str(folder))
        super().__init__(str(folder), len(self.targets), batch_size, prefetch)
        self.video = sio.Video(filename=[p.resolve().as_posix() for p in files], open_backend=False)

    def _frames(self) -> Iterator[tuple[Any, int, int, np.ndarray]]:
        for fi in self.targets.tolist():
            try:
                img = to_uint8_hwc(decode_image_file(self.files[fi]), self.grayscale)
            except VideoError as exc:
                self._skip(fi, str(exc))
                continue
            yield self.video, 0, fi, img


class LabelsFrameSource(FrameSource):
    """The labelled frames of a labels object (per video, by frame index)."""

    def __init__(
        self,
        labels: sio.Labels,
        frames: range | Sequence[int] | None = None,
        batch_size: int = 8,
        prefetch: int = 2,
        name: str | None = None,
    ):
        self.labels = labels
        refs = [VideoRef.from_video(v) for v in labels.videos]
        for ref in refs:
            if not ref.is_image_list:
                open_video_ref(ref).close()  # fail now, naming the file, if it cannot open
        self.reader = ImageReader(refs)
        keep = None if frames is None else {int(f) for f in frames}
        index = {id(v): i for i, v in enumerate(labels.videos)}
        items = sorted(
            {
                (index[id(lf.video)], int(lf.frame_idx))
                for lf in labels.labeled_frames
                if keep is None or lf.frame_idx in keep
            }
        )
        self.items = items
        super().__init__(
            name or str(labels.provenance.get("filename", "labels")),
            len(items),
            batch_size,
            prefetch,
        )

    def _frames(self) -> Iterator[tuple[Any, int, int, np.ndarray]]:
        try:
            for vi, fi in self.items:
                try:
                    img = self.reader.read(vi, fi)
                except VideoError as exc:
                    self._skip(fi, str(exc), vi)
                    continue
                yield self.labels.videos[vi], vi, fi, img
        finally:
            self.reader.close()


def open_frame_source(
    path_or_labels: str | os.PathLike[str] | sio.Labels,
    frames: range | Sequence[int] | str | None = None,
    batch_size: int = 8,
    prefetch: int = 2,
    *,
    backend: str = "auto",
    grayscale: bool | None = None,
) -> FrameSource:
    """Open a video file, image folder (or single image) or labels file as batches.

    Args:
        path_or_labels: video, image folder, image, labels file / DLC project, or
            ``sio.Labels`` (its labelled frames are used).
        frames: frame indices (a range, a sequence or text for
            :func:`parse_frame_range`); default all frames.
        batch_size: frames per batch (smaller when the image size or video changes).
        prefetch: batches decoded ahead on a background thread (0: decode inline).
        backend: video decoder, ``"auto"`` (OpenCV, PyAV fallback), ``"opencv"`` or
            ``"pyav"``.
        grayscale: force 1 (True) or 3 (False) channels; None keeps the file's
            (videos: grey when the colour channels are identical, as in sleap-io).

    Raises:
        VideoError: the video cannot be opened; DataError: missing path, empty folder
            or frames out of range.
    """
    import sleap_io as sio

    if isinstance(frames, str):
        frames = parse_frame_range(frames)
    if isinstance(path_or_labels, sio.Labels):
        return LabelsFrameSource(path_or_labels, frames, batch_size, prefetch)
    path = Path(path_or_labels)
    if not path.exists():
        cls = VideoError if path.suffix.lower() in VIDEO_EXTENSIONS else DataError
        raise cls(
            f"{path}: not found; expected a video file, an image folder or a labels file. "
            "Check the path."
        )
    if path.is_dir() and not (path / "config.yaml").is_file():
        return ImageFolderSource(path, frames, batch_size, prefetch, grayscale)
    if path.suffix.lower() in IMAGE_EXTENSIONS:
        return ImageFolderSource(path, frames, batch_size, prefetch, grayscale)
    if path.is_dir() or path.name.lower().endswith((".slp", ".yaml", ".yml")):
        labels_format(path)
        return LabelsFrameSource(load_labels(path), frames, batch_size, prefetch, str(path))
    return VideoFrameSource(path, frames, batch_size, prefetch, backend, grayscale)
