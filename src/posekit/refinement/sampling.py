"""Which frames of each video to look at, and their appearance features, streamed.

* :func:`probe_video` opens a video with posekit's frame source (or records why it cannot
  be opened) and reads its length, frame rate and size.
* :func:`window_frames` turns a time window and a stride into frame indices (a ``range``);
  :func:`spread` keeps at most a given number of them, evenly spaced. The total number of
  candidates is capped (``max_candidates``), so memory does not grow with video length.
* :func:`sample_features` decodes the planned frames in one sequential pass and reduces
  each to a small grey image (DeepLabCut's features: 30 px wide, grey), kept as ``uint8``
  rows. It reads the decoder's luma plane through posekit's PyAV reader (no colour
  conversion: 1.3x the speed of a bare OpenCV ``read()`` loop on ``clip.mp4``), and falls
  back to posekit's OpenCV frame source for files PyAV cannot open. Frames that fail to
  decode are skipped and listed in ``VideoInfo.skipped``.
* :func:`decode_frames` streams full frames (PNGs, checks) through posekit's frame source
  (background decoding), after :func:`find_readable_end` has found where a file that was
  cut short really ends (OpenCV answers a seek past it with a wrong frame).

Memory is the candidates' features (``max_candidates x h x w`` bytes: 10,000 frames at
30x30 px is 9 MB, plus a float copy while clustering) and the decoder's frames in
flight, however long the videos.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from posekit.errors import ConfigError, VideoError

#: Frames decoded per batch while sampling (one video, one image size per batch).
BATCH = 8
#: Intermediate size factor of the two-step shrink (nearest to FACTOR x, then area).
FACTOR = 4
#: Video-range luma (16..235) to full-range grey (0..255), as a lookup table.
VIDEO_RANGE = np.clip(np.rint((np.arange(256) - 16) * 255 / 219), 0, 255).astype(np.uint8)


@dataclass
class VideoInfo:
    """One input video as the sampler saw it.

    ``error`` is set (and everything else left at defaults) when it could not be opened;
    ``skipped`` lists ``(frame, reason)`` of planned frames that could not be decoded or
    lie past the real end of a file whose header promises more.
    """

    path: Path
    n_frames: int = 0
    fps: float | None = None
    height: int = 0
    width: int = 0
    channels: int = 0
    error: str | None = None
    window: tuple[int, int, int] = (0, 0, 1)
    skipped: list[tuple[int, str]] = field(default_factory=list)
    video: Any = None  # the sio.Video of the decoded file (for labels output)
    backend: str = ""
    readable_end: int | None = None  # first frame past the real end, once found

    @property
    def ok(self) -> bool:
        """Whether the video could be opened."""
        return self.error is None


@dataclass
class Candidates:
    """Decoded candidate frames: parallel arrays, rows sorted by (video, frame)."""

    video: np.ndarray  # int64 (M,)
    frame: np.ndarray  # int64 (M,)
    features: np.ndarray  # uint8 (M, h * w)
    shape: tuple[int, int]  # (h, w) of one feature image


def probe_video(path: str | Path) -> VideoInfo:
    """Open ``path`` with posekit's frame source; failures are recorded, not raised."""
    from posekit.io.sources import VideoFrameSource

    info = VideoInfo(Path(path))
    try:
        src = VideoFrameSource(info.path, frames=[], prefetch=0)
    except VideoError as exc:
        info.error = str(exc)
        return info
    shape = src.video.backend_metadata["shape"]
    info.n_frames, info.fps, info.video = int(src.n_frames), src.fps, src.video
    info.backend = src.backend
    info.height, info.width, info.channels = int(shape[1]), int(shape[2]), int(shape[3])
    if info.n_frames <= 0:
        info.error = f"{info.path}: the header gives no frame count; expected a seekable video"
    return info


_CLOCK = re.compile(r"^(?:(\d+):)?(\d+):(\d+(?:\.\d*)?)$")


def parse_time_point(text: str | float | None, name: str) -> tuple[str, float] | None:
    """``"90"`` / ``"90s"`` / ``90.0`` -> seconds; ``"1:30"`` / ``"0:01:30"`` -> seconds;
    ``"25%"`` -> a share of the video; ``"1500f"`` -> a frame index. Returns
    ``("s", seconds)``, ``("%", fraction)`` or ``("f", frame)``."""
    if text is None or text == "":
        return None
    s = str(text).strip()
    try:
        if s.endswith("%"):
            value = float(s[:-1]) / 100.0
            if not 0.0 <= value <= 1.0:
                raise ValueError
            return ("%", value)
        if s.endswith("f"):
            frame = int(s[:-1])
            if frame < 0:
                raise ValueError
            return ("f", float(frame))
        clock = _CLOCK.match(s)
        if clock:
            h, m, sec = clock.groups()
            return ("s", int(h or 0) * 3600 + int(m) * 60 + float(sec))
        value = float(s.removesuffix("s"))
        if value < 0 or not np.isfinite(value):
            raise ValueError
        return ("s", value)
    except ValueError:
        raise ConfigError(
            f"{name}: {text!r} is not a time; expected seconds (90 or 90s), minutes:seconds "
            "(1:30), a share of the video (25%) or a frame index (1500f)."
        ) from None


def _to_frame(point: tuple[str, float], info: VideoInfo, name: str) -> int:
    kind, value = point
    if kind == "f":
        return int(value)
    if kind == "%":
        return round(value * info.n_frames)
    if not info.fps:
        raise ConfigError(
            f"{info.path}: the frame rate is unknown, so {name} in seconds cannot be placed; "
            "expected a video with a frame rate. Give the window as a share (e.g. 25%)."
        )
    return round(value * info.fps)


def window_frames(
    info: VideoInfo,
    start: tuple[str, float] | None = None,
    stop: tuple[str, float] | None = None,
    stride: int = 1,
) -> range:
    """Frame indices ``start, start + stride, ...`` before ``stop`` (default the end), as a
    ``range`` (no memory per frame). Also records the window in ``info.window``."""
    if int(stride) < 1:
        raise ConfigError(f"stride: {stride}; expected an integer >= 1 (1: every frame).")
    lo = 0 if start is None else min(_to_frame(start, info, "start"), info.n_frames)
    hi = info.n_frames if stop is None else min(_to_frame(stop, info, "stop"), info.n_frames)
    if hi < lo:
        raise ConfigError(
            f"{info.path}: the window {lo}..{hi} ends before it starts; expected start < stop."
        )
    info.window = (lo, hi, int(stride))
    return range(lo, hi, int(stride))


def spread(frames: range, at_most: int) -> np.ndarray:
    """At most ``at_most`` frames of ``frames``, evenly spaced (all of them when they fit:
    the centre of each of ``at_most`` equal stretches otherwise)."""
    n = len(frames)
    count = max(0, min(int(at_most), n))
    pos = ((np.arange(count) + 0.5) * n / count).astype(np.int64) if count < n else np.arange(n)
    return frames.start + frames.step * pos.astype(np.int64)


def feature_shape(height: int, width: int, resize_width: int = 30) -> tuple[int, int]:
    """``(h, w)`` of a feature image: ``resize_width`` wide, the video's aspect ratio (as
    DeepLabCut), never larger than the frame."""
    w = max(1, min(int(resize_width), int(width)))
    h = max(1, round(height * w / max(width, 1)))
    return h, w


def shrink(img: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """One ``uint8`` frame (``(H, W)`` or ``(H, W, C)``) -> ``uint8 (h * w,)`` small grey image.

    Two steps keep it cheap on large frames and still average many pixels per output
    pixel: nearest-neighbour to ``FACTOR`` times the target size, then area averaging;
    colour is averaged over channels (as DeepLabCut does) at the small size.
    """
    import cv2

    h, w = shape
    mid = img
    if img.shape[0] > FACTOR * h and img.shape[1] > FACTOR * w:
        mid = cv2.resize(img, (FACTOR * w, FACTOR * h), interpolation=cv2.INTER_NEAREST)
    small = cv2.resize(mid, (w, h), interpolation=cv2.INTER_AREA)
    if small.ndim == 3 and small.shape[2] > 1:
        small = np.rint(small.mean(axis=2))
    return np.asarray(small, np.uint8).reshape(-1)


def downsample(images: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """``uint8 (B, H, W, C)`` frames -> ``uint8 (B, h * w)`` (:func:`shrink` of each)."""
    out = np.empty((len(images), shape[0] * shape[1]), np.uint8)
    for i, img in enumerate(images):
        out[i] = shrink(img, shape)
    return out


def _reaches(cap: Any, frame: int) -> bool:
    import cv2

    cap.set(cv2.CAP_PROP_POS_FRAMES, frame)
    if int(cap.get(cv2.CAP_PROP_POS_FRAMES)) != frame:
        return False
    ok, img = cap.read()
    return bool(ok) and img is not None


def find_readable_end(info: VideoInfo, last: int) -> int:
    """First frame index OpenCV cannot seek to and read, if ``last`` is one (else
    ``n_frames``); found by bisection, ~log2(frames) seeks.

    A file cut short (a crashed recording) keeps a header that promises every frame.
    OpenCV then answers a seek past the real end by staying at the end and returning an
    earlier frame as if it were the one asked for, so frames reached by seeking are only
    trusted before this index.
    """
    import cv2

    if info.readable_end is not None:
        return info.readable_end
    cap = cv2.VideoCapture(info.path.as_posix())
    try:
        if _reaches(cap, last):
            return info.n_frames
        lo, hi = 0, last  # frame lo is readable (probed when the source opened)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (mid, hi) if _reaches(cap, mid) else (lo, mid)
    finally:
        cap.release()
    info.readable_end = hi
    return hi


def _trusted(info: VideoInfo, frames: np.ndarray) -> np.ndarray:
    """``frames`` without those past a premature end, when reaching them needs a seek."""
    from posekit.io.sources import SEEK_GAP

    if info.backend != "opencv" or len(frames) == 0:
        return frames
    gaps = np.diff(np.concatenate([[0], frames]))
    if gaps.max() <= SEEK_GAP:
        return frames  # read straight through: a premature end shows as failed frames
    end = find_readable_end(info, int(frames[-1]))
    past = frames[frames >= end]
    done = {f for f, _ in info.skipped}
    reason = f"the video ends at frame {end} although its header says {info.n_frames}"
    info.skipped.extend((int(f), reason) for f in past if int(f) not in done)
    return frames[frames < end]


def decode_frames(
    info: VideoInfo,
    frames: Sequence[int] | np.ndarray,
    on_batch: Callable[[np.ndarray, Any], None],
    progress: Callable[[int], None] | None = None,
    prepare: Callable[[np.ndarray], Any] | None = None,
) -> int:
    """Stream ``frames`` of one video to ``on_batch(frame_indices, images)``.

    With ``prepare``, ``on_batch`` gets ``prepare(images)`` instead, computed on the
    decoding thread (so it overlaps the caller's work). Frames that cannot be decoded are
    appended to ``info.skipped`` (not warned about). Returns the number of frames
    delivered.
    """
    from posekit.io.sources import FrameSkipWarning, VideoFrameSource

    frames = _trusted(info, np.unique(np.asarray(frames, np.int64)))
    if not len(frames):
        return 0
    gray = None if info.channels == 0 else info.channels == 1
    source = VideoFrameSource(info.path, frames=list(map(int, frames)), batch_size=BATCH,
                              prefetch=2, grayscale=gray)
    source.prepare = prepare
    delivered = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FrameSkipWarning)  # reported through info.skipped
        for batch in source:
            on_batch(batch.frame_indices, batch.images if prepare is None else batch.prepared)
            delivered += len(batch.frame_indices)
            if progress is not None:
                progress(len(batch.frame_indices))
    done = {f for f, _ in info.skipped}
    info.skipped.extend((s.frame_idx, s.reason) for s in source.skipped if s.frame_idx not in done)
    if progress is not None and source.skipped:
        progress(len(source.skipped))
    return delivered


def _luma_reader(path: Path) -> Any:
    """posekit's PyAV reader, returning each frame's luma (Y) plane as it comes out of the
    decoder: no colour conversion and no copy (grey is all the features need; in YUV
    video the luma plane is the grey image). Other pixel formats are converted to grey.
    Decoding runs on FFmpeg's threads, so it overlaps the features computed here."""
    from posekit.io.video_readers import PyAVReader

    class LumaReader(PyAVReader):
        name = "pyav-luma"
        limited = False  # luma in 16..235 (video range): stretched to 0..255 by the caller

        def _convert(self, frame: Any) -> np.ndarray:
            fmt = frame.format
            if fmt.name.startswith(("yuv", "nv12", "nv21", "gray")) and \
                    fmt.components[0].bits <= 8:
                self.limited = fmt.name.startswith(("yuv", "nv")) and \
                    not fmt.name.startswith("yuvj") and frame.color_range != 2
                plane = frame.planes[0]
                rows = np.frombuffer(plane, np.uint8).reshape(frame.height, plane.line_size)
                return rows[:, : frame.width]
            self.limited = False
            return frame.to_ndarray(format="gray")

    return LumaReader(path)


def _luma_features(info: VideoInfo, wanted: np.ndarray, shape: tuple[int, int],
                   progress: Callable[[int], None] | None) -> tuple[np.ndarray, np.ndarray]:
    """Frame indices and features of ``wanted`` (sorted) in one sequential pass; frames
    that do not come out of the decoder are added to ``info.skipped``."""
    reader = _luma_reader(info.path)  # raises OSError / av.FFmpegError: caller falls back
    feats = np.empty((len(wanted), shape[0] * shape[1]), np.uint8)
    got = np.empty(len(wanted), np.int64)
    want, k, last = set(wanted.tolist()), 0, int(wanted[-1])
    try:
        for fi, y in reader.frames(int(wanted[0]), want.__contains__):
            if k and fi <= got[k - 1]:
                continue  # a repeated timestamp: keep the first frame
            small = shrink(y, shape)
            feats[k], got[k] = VIDEO_RANGE[small] if reader.limited else small, fi
            k += 1
            if progress is not None and k % 64 == 0:
                progress(64)
            if fi >= last:
                break
    finally:
        reader.close()
    if progress is not None:
        progress(len(wanted) - k // 64 * 64)
    end = int(got[k - 1]) if k else -1
    missing = sorted(want - set(got[:k].tolist()))
    info.skipped.extend((f, "could not be decoded" if f < end else
                         "the video ended before this frame") for f in missing)
    return got[:k], feats[:k]


def sample_features(
    infos: Sequence[VideoInfo],
    plan: Sequence[np.ndarray],
    shape: tuple[int, int],
    progress: Callable[[int], None] | None = None,
) -> Candidates:
    """Decode ``plan[i]`` (sorted frame indices) of every readable video ``infos[i]`` and
    return their small grey images. Memory: the output rows plus the decoder's frames.

    The luma reader (:func:`_luma_reader`) is used; a video PyAV cannot read goes through
    posekit's frame source (OpenCV) instead."""
    import av

    total = sum(len(p) for p, info in zip(plan, infos, strict=True) if info.ok)
    feats = np.empty((total, shape[0] * shape[1]), np.uint8)
    vids = np.empty(total, np.int64)
    frames = np.empty(total, np.int64)
    filled = 0

    def keep(vi: int, idx: np.ndarray, small: np.ndarray) -> None:
        nonlocal filled
        n = len(idx)
        feats[filled : filled + n] = small
        vids[filled : filled + n], frames[filled : filled + n] = vi, idx
        filled += n

    for vi, (info, wanted) in enumerate(zip(infos, plan, strict=True)):
        if not info.ok or not len(wanted):
            continue
        try:
            keep(vi, *_luma_features(info, np.asarray(wanted, np.int64), shape, progress))
        except (OSError, av.FFmpegError):  # PyAV cannot open it: OpenCV's frame source can
            decode_frames(info, wanted, lambda idx, small, vi=vi: keep(vi, idx, small),
                          progress, lambda images: downsample(images, shape))
    return Candidates(vids[:filled], frames[:filled], feats[:filled], shape)
