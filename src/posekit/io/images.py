"""Decoding single frames of labelled videos without keeping sleap-io objects per sample.

A :class:`VideoRef` is a small, picklable description of where a video's frames live
(an embedded ``.pkg.slp`` dataset, a media file or a list of image files).
:class:`ImageReader` turns ``(video index, frame index)`` into a ``uint8 (H, W, C)``
array; it opens files lazily and re-opens them after being pickled into another
process (data-loader workers), so it can be shipped inside a dataset.
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from posekit.errors import VideoError

if TYPE_CHECKING:
    import sleap_io as sio

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")

#: Frames a media decoder reads forward (decoding and discarding them) instead of seeking
#: when the wanted frame is at most this far ahead. A seek decodes from the previous
#: keyframe: measured per frame, every 5th frame of clip.mp4 (1024 px) 127 ms seeking and
#: 7 ms reading forward; 560 and 384 px videos 24-25 ms and 2-3 ms. Reading forward costs
#: 0.5-1.4 ms per skipped frame there, so 32 frames stays below one seek, and it gives the
#: exact frame where a seek can land near it.
FORWARD_READ_LIMIT = 32


def natural_key(text: str) -> tuple[Any, ...]:
    """Sort key that orders embedded numbers numerically (``img2`` before ``img10``)."""
    return tuple(int(tok) if tok.isdigit() else tok.lower() for tok in re.split(r"(\d+)", text))


def to_uint8_hwc(image: np.ndarray, grayscale: bool | None = None) -> np.ndarray:
    """Return ``image`` as a contiguous ``uint8 (H, W, C)`` array.

    ``(H, W)`` gains a channel axis, an alpha channel is dropped, 16-bit images are
    scaled to 8 bits and float images in ``[0, 1]`` are scaled by 255. ``grayscale=True``
    keeps the first channel of a colour frame (sleap-io's rule), ``False`` repeats a
    single channel three times, ``None`` keeps the stored channels.
    """
    img = np.asarray(image)
    if img.ndim == 2:
        img = img[..., None]
    if img.ndim != 3:
        raise ValueError(f"expected an image of shape (H, W[, C]), got {img.shape}")
    if img.shape[-1] in (2, 4):  # grey + alpha or RGBA: drop alpha
        img = img[..., :-1]
    if img.dtype == np.uint16:
        img = (img.astype(np.uint32) * 255 + 32767) // 65535
    elif np.issubdtype(img.dtype, np.floating):
        finite_max = float(np.nanmax(img)) if img.size else 0.0
        scale = 255.0 if finite_max <= 1.0 else 1.0
        img = np.clip(np.nan_to_num(img) * scale + 0.5, 0, 255)
    img = img.astype(np.uint8, copy=False)
    if grayscale is True and img.shape[-1] == 3:
        img = img[..., :1]
    elif grayscale is False and img.shape[-1] == 1:
        img = np.repeat(img, 3, axis=-1)
    return np.ascontiguousarray(img)


def decode_image_file(path: str | os.PathLike[str]) -> np.ndarray:
    """Decode one image file to ``uint8 (H, W, C)`` RGB (or ``(H, W, 1)`` grey).

    Raises:
        VideoError: the file is missing or is not a decodable image.
    """
    import cv2

    path = Path(path)
    if not path.is_file():
        raise VideoError(
            f"{path}: image file not found; expected an existing image. If the project "
            "was moved, keep its labeled-data/ folder next to the labels file."
        )
    data = np.fromfile(path, dtype=np.uint8)
    img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if img is None:
        raise VideoError(
            f"{path}: cannot be decoded as an image; expected a PNG/JPEG/BMP/TIFF file. "
            "Check that the file is complete and not corrupt."
        )
    if img.ndim == 3 and img.shape[-1] >= 3:
        img = img[..., [2, 1, 0] + list(range(3, img.shape[-1]))]  # BGR(A) -> RGB(A)
    return to_uint8_hwc(img)


def image_file_size(path: str | os.PathLike[str]) -> tuple[int, int, int] | None:
    """``(height, width, channels)`` of an image file read from its header, or None."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            width, height = im.size
            bands = len(im.getbands())
    except (OSError, UnidentifiedImageError):
        return None
    channels = 1 if bands in (1, 2) else 3
    return int(height), int(width), channels


def encoded_image_size(data: bytes | np.ndarray) -> tuple[int, int] | None:
    """``(height, width)`` of an encoded PNG read from its header; None for other formats."""
    raw = bytes(np.asarray(data, dtype=np.uint8)[:24]) if not isinstance(data, bytes) else data
    if len(raw) >= 24 and raw[:8] == b"\x89PNG\r\n\x1a\n" and raw[12:16] == b"IHDR":
        width = int.from_bytes(raw[16:20], "big")
        height = int.from_bytes(raw[20:24], "big")
        return height, width
    return None


@dataclass(frozen=True)
class VideoRef:
    """Where one video's frames live, in a form that pickles cheaply.

    Attributes:
        filename: the media / HDF5 file, or a tuple of image files (one per frame index).
        dataset: HDF5 dataset holding embedded frames (``videoN/video``), else None.
        grayscale: True for 1-channel output, False for 3 channels, None to keep what
            the decoder returns.
        embedded: whether the frames are embedded in a ``.pkg.slp`` file.
    """

    filename: str | tuple[str, ...]
    dataset: str | None = None
    grayscale: bool | None = None
    embedded: bool = False

    @classmethod
    def from_video(cls, video: sio.Video) -> VideoRef:
        """Describe a sleap-io ``Video`` (open or not)."""
        meta = video.backend_metadata or {}
        backend = video.backend
        dataset = getattr(backend, "dataset", None) or meta.get("dataset") or None
        embedded = bool(
            getattr(backend, "has_embedded_images", False) or meta.get("has_embedded_images")
        )
        grayscale = getattr(backend, "grayscale", None) if backend is not None else None
        if grayscale is None:
            grayscale = meta.get("grayscale")
        if grayscale is None and meta.get("shape"):
            grayscale = int(meta["shape"][-1]) == 1
        filename = video.filename
        if isinstance(filename, list):
            return cls(tuple(str(f) for f in filename), None, grayscale, False)
        return cls(str(filename), dataset, grayscale, embedded)

    @property
    def is_image_list(self) -> bool:
        """True when every frame is its own image file."""
        return isinstance(self.filename, tuple)

    @property
    def display_name(self) -> str:
        """Short human-readable name for messages."""
        if self.is_image_list:
            files = self.filename
            folder = str(Path(files[0]).parent) if files else "?"
            return f"{len(files)} images in {folder}"
        suffix = f" [{self.dataset}]" if self.embedded and self.dataset else ""
        return f"{self.filename}{suffix}"


class ImageReader:
    """Decode frames of a list of :class:`VideoRef` (lazily opened, fork/pickle safe)."""

    def __init__(self, refs: list[VideoRef] | tuple[VideoRef, ...]):
        self.refs = tuple(refs)
        self._videos: dict[int, sio.Video] = {}
        self._locks: dict[int, threading.Lock] = {}
        self._pid = os.getpid()
        self._guard = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        return {"refs": self.refs}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["refs"])  # type: ignore[misc]

    def close(self) -> None:
        """Release every open decoder (they are re-opened on the next read)."""
        for video in self._videos.values():
            video.close()
        self._videos.clear()

    def read(self, video_index: int, frame_idx: int) -> np.ndarray:
        """Decode frame ``frame_idx`` of video ``video_index`` as ``uint8 (H, W, C)``.

        Raises:
            VideoError: the video or image cannot be found, opened or decoded.
        """
        ref = self.refs[video_index]
        if ref.is_image_list:
            if not 0 <= frame_idx < len(ref.filename):
                raise VideoError(
                    f"{ref.display_name}: frame index {frame_idx} is out of range; expected "
                    f"0..{len(ref.filename) - 1}. The labels refer to an image that is missing."
                )
            return to_uint8_hwc(decode_image_file(ref.filename[frame_idx]), ref.grayscale)
        video, lock = self._open(video_index)
        try:
            with lock:
                read_forward_to(video.backend, int(frame_idx))
                image = video.backend.get_frame(int(frame_idx))
        except Exception as exc:  # decoder errors come in many types
            raise VideoError(
                f"{ref.display_name}: frame {frame_idx} cannot be decoded ({exc}); expected a "
                "readable frame. Check that the file is complete, or re-export it."
            ) from exc
        return to_uint8_hwc(image, ref.grayscale)

    def _open(self, video_index: int) -> tuple[sio.Video, threading.Lock]:
        if os.getpid() != self._pid:  # forked into a worker: never share decoders
            self._videos, self._locks, self._pid = {}, {}, os.getpid()
            self._guard = threading.Lock()
        with self._guard:
            if video_index not in self._videos:
                self._videos[video_index] = open_video_ref(self.refs[video_index])
                self._locks[video_index] = threading.Lock()
            return self._videos[video_index], self._locks[video_index]


def read_forward_to(backend: Any, frame_idx: int, limit: int | None = None) -> None:
    """Move an open OpenCV decoder of sleap-io's ``MediaVideo`` forward to ``frame_idx``
    by reading the frames in between, when it is at most ``limit`` (default
    :data:`FORWARD_READ_LIMIT`) frames ahead; the next ``get_frame(frame_idx)`` then reads
    without seeking. Anything else (other backends, a decoder not yet open, a frame behind
    or far ahead) is left to ``get_frame``."""
    from sleap_io.io.video_reading import MediaVideo

    limit = FORWARD_READ_LIMIT if limit is None else limit
    reader = getattr(backend, "_open_reader", None)
    if not isinstance(backend, MediaVideo) or backend.plugin != "opencv" or reader is None:
        return
    import cv2

    position = int(reader.get(cv2.CAP_PROP_POS_FRAMES))
    if 0 < frame_idx - position <= limit:
        for _ in range(frame_idx - position):
            if not reader.grab():
                return


def open_video_ref(ref: VideoRef) -> sio.Video:
    """Open a media or HDF5 :class:`VideoRef` with sleap-io's decoders.

    Raises:
        VideoError: the file is missing or cannot be opened.
    """
    import sleap_io as sio

    path = Path(str(ref.filename))
    if not path.is_file():
        raise VideoError(
            f"{ref.filename}: video file not found (looked next to the labels file and in "
            "the working directory); expected an existing video. Put the video beside the "
            "labels file or fix its path in the labels (e.g. with sleap-io's "
            "Labels.replace_filenames)."
        )
    try:
        video = sio.Video.from_filename(str(path), dataset=ref.dataset, grayscale=ref.grayscale)
        if video.backend is None:
            raise OSError("no decoder could open it")
        if ref.dataset is None:
            _ = video.backend.shape  # forces the container to be read
    except Exception as exc:
        raise VideoError(
            f"{ref.display_name}: cannot be opened as a video ({exc}); expected a readable "
            "media file (mp4/avi/mov/mkv) or an HDF5 frame dataset. Check the file is complete."
        ) from exc
    return video
