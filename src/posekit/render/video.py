"""Stream a video, draw predictions on each frame and encode H.264 with PyAV (libx264).

Frames come from :func:`~posekit.io.sources.open_frame_source` (decoded in batches on a
background thread) and go straight to the encoder, so memory stays flat whatever the
video's length.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from posekit.errors import ConfigError
from posekit.render.draw import Style, draw_flag, draw_label, draw_poses
from posekit.render.poses import PoseFrames, load_outliers

PathLike = str | os.PathLike[str]
CODECS = ("libx264", "h264", "mpeg4")  # first one the FFmpeg build can encode with


@dataclass
class RenderResult:
    """What :func:`render_video` wrote.

    Attributes:
        output: the video written.
        frames: number of frames written.
        first: first frame index rendered (-1 if none).
        last: last frame index rendered (-1 if none).
        codec: the encoder used.
        ended_early: the first requested frame the video could not give (None: all given).
        notes: plain-words remarks (video ended early, frames skipped).
    """

    output: Path
    frames: int
    first: int
    last: int
    codec: str
    ended_early: int | None = None
    notes: list[str] = field(default_factory=list)


def pick_codec() -> str:
    """The first encoder of :data:`CODECS` in PyAV's FFmpeg build (libx264 normally)."""
    import av

    for name in CODECS:
        if name in av.codecs_available and _can_encode(name):
            return name
    raise ConfigError("PyAV's FFmpeg has no H.264 (libx264) or MPEG-4 encoder; install a "
                      "PyAV wheel from PyPI (it bundles libx264).")


def _can_encode(name: str) -> bool:
    import av

    try:
        av.codec.Codec(name, "w")
    except Exception:  # noqa: BLE001 - a decoder-only build
        return False
    return True


class _Encoder:
    """A PyAV output stream fed RGB frames; pads odd sizes to even for yuv420p."""

    def __init__(self, path: Path, width: int, height: int, fps: float, crf: int, preset: str):
        import av

        self.codec = pick_codec()
        self.container = av.open(str(path), mode="w", options={"movflags": "+faststart"})
        rate = _rate(fps)
        self.stream = self.container.add_stream(self.codec, rate=rate)
        self.stream.width, self.stream.height = width + width % 2, height + height % 2
        self.stream.pix_fmt = "yuv420p"
        if self.codec == "libx264":
            self.stream.options = {"crf": str(crf), "preset": preset}
        self.stream.codec_context.thread_count = 0  # FFmpeg picks (all cores)

    def write(self, rgb: np.ndarray) -> None:
        """Encode one ``uint8 (H, W, 3)`` frame."""
        import av

        h, w = rgb.shape[:2]
        if (h % 2) or (w % 2):
            rgb = np.pad(rgb, ((0, h % 2), (0, w % 2), (0, 0)))
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        for packet in self.stream.encode(frame):
            self.container.mux(packet)

    def close(self) -> None:
        """Flush the encoder and close the file."""
        try:
            for packet in self.stream.encode():
                self.container.mux(packet)
        finally:
            self.container.close()


def _rate(fps: float):
    from fractions import Fraction

    return Fraction(fps).limit_denominator(1001) if fps and fps > 0 else Fraction(25)


def _as_poses(pred: Any, video: int) -> PoseFrames:
    if isinstance(pred, PoseFrames):
        return pred
    if isinstance(pred, (str, os.PathLike)):
        return PoseFrames.load(pred, video)
    return PoseFrames.from_labels(pred, video)


def _compose(img: np.ndarray, panels: list[tuple[PoseFrames, str]], frame: int, style: Style,
             flags: dict[int, str]) -> np.ndarray:
    """One output frame: a panel per predictions set, side by side, counter and flag drawn."""
    rgb = np.repeat(img, 3, axis=2) if img.shape[2] == 1 else img
    outs = []
    for poses, title in panels:
        panel = rgb.copy()
        draw_poses(panel, poses, frame, style)
        if len(panels) > 1:
            draw_label(panel, title, "bl")
        outs.append(panel)
    out = outs[0] if len(outs) == 1 else np.concatenate(outs, axis=1)
    draw_label(out, f"frame {frame}", "tl")
    if frame in flags:
        draw_flag(out, flags[frame])
    return out


def _frame_range(start: int | None, stop: int | None, n: int, notes: list[str]) -> range:
    """Frames ``start``..``stop - 1`` clipped to the video's ``n`` frames (noted)."""
    first = int(start or 0)
    end = n if stop is None else int(stop)
    if first < 0 or end <= first:
        raise ConfigError(f"frame range {first}..{end}: expected 0 <= start < stop.")
    if first >= n:
        raise ConfigError(f"start {first}: the video has {n} frames; expected start < {n}.")
    if end > n:
        notes.append(f"the video ends at frame {n - 1}, before the requested stop {end}: "
                     f"rendered up to frame {n - 1}.")
        end = n
    return range(first, end)


def render_video(video: PathLike, predictions: Any, output: PathLike, *,
                 compare: Any = None, titles: tuple[str, str] | None = None,
                 color_by: str = "node", trails: int = 0, trail_node: str | None = None,
                 start: int | None = None, stop: int | None = None,
                 outliers: PathLike | dict[int, str] | None = None, min_score: float = 0.3,
                 video_index: int = 0, crf: int = 23, preset: str = "superfast",
                 batch_size: int = 8, force: bool = False) -> RenderResult:
    """Draw ``predictions`` on ``video`` and write an H.264 MP4, streaming frame by frame.

    Args:
        video: the video file the predictions were made on.
        predictions: a labels / predictions file, ``sio.Labels`` or :class:`PoseFrames`.
        output: the MP4 to write (never one of the inputs).
        compare: a second predictions set (filtered, or another model) drawn side by side.
        titles: the two panels' titles (default: the file names).
        color_by: ``"node"`` or ``"track"``.
        trails: frames of history drawn behind each tracked animal (0: none).
        trail_node: node the trails follow (default: the animal's centroid).
        start, stop: frame range ``start..stop-1`` (default: the whole video).
        outliers: ``OUT.outliers.json`` of ``posekit frames outliers`` (or frame -> text):
            those frames get a red border and the reason.
        min_score: points below this score are drawn hollow and dimmed.
        video_index: which of the labels' videos the predictions are read from.
        crf, preset: libx264 quality (lower crf: better, bigger) and speed.
        batch_size: frames decoded per batch on the background thread.
        force: replace an existing output.

    Returns:
        :class:`RenderResult`; ``ended_early`` is set when the video ended before the
        requested range (rendering stops there and says so in ``notes``).
    """
    from posekit.io.sources import open_frame_source
    from posekit.utils.outputs import check_new_outputs

    if color_by not in ("node", "track"):
        raise ConfigError(f"color_by: {color_by!r}; expected 'node' or 'track'.")
    if trails < 0:
        raise ConfigError(f"trails: {trails}; expected 0 or more frames.")
    output = Path(output)
    inputs = [video] + [p for p in (predictions, compare, outliers)
                        if isinstance(p, (str, os.PathLike))]
    check_new_outputs([output], inputs, force)
    panels = [(_as_poses(predictions, video_index), _title(predictions, titles, 0))]
    if compare is not None:
        panels.append((_as_poses(compare, video_index), _title(compare, titles, 1)))
    node = panels[0][0].node_names.index(trail_node) if trail_node else None
    style = Style(color_by=color_by, min_score=min_score, trails=trails, trail_node=node)
    flags = outliers if isinstance(outliers, dict) else (
        load_outliers(outliers, video_index) if outliers is not None else {})
    notes: list[str] = []
    n_frames = open_frame_source(video, [0], batch_size=1, prefetch=0).n_frames
    frames = _frame_range(start, stop, n_frames, notes)
    source = open_frame_source(video, frames, batch_size=batch_size, prefetch=2)
    return _stream(source, frames, panels, style, flags, output, crf, preset, notes,
                   clipped=bool(notes))


def _title(pred: Any, titles: tuple[str, str] | None, i: int) -> str:
    if titles is not None:
        return titles[i]
    if isinstance(pred, (str, os.PathLike)):
        return Path(pred).name
    return ("predictions", "compare")[i]


def _stream(source: Any, frames: range, panels: list, style: Style, flags: dict[int, str],
            output: Path, crf: int, preset: str, notes: list[str],
            clipped: bool = False) -> RenderResult:
    """Decode, draw and encode; stop at the first frame the video cannot give."""
    import warnings

    from posekit.io.sources import FrameSkipWarning
    from posekit.utils.atomic import atomic_path

    encoder = None
    written, first, last = 0, -1, -1
    with atomic_path(output) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore", FrameSkipWarning)
        try:
            for batch in source:
                for fi, img in zip(batch.frame_indices.tolist(), batch.images, strict=True):
                    out = _compose(img, panels, fi, style, flags)
                    if encoder is None:
                        encoder = _Encoder(tmp, out.shape[1], out.shape[0], source.fps, crf,
                                           preset)
                    encoder.write(out)
                    written, last = written + 1, fi
                    first = fi if first < 0 else first
        finally:
            if encoder is not None:
                encoder.close()
        if encoder is None:
            raise ConfigError(f"{source.name}: no frame of {frames.start}..{frames.stop - 1} "
                              "could be decoded; nothing written.")
    ended = [s.frame_idx for s in source.skipped if "ended" in s.reason]
    others = [s.frame_idx for s in source.skipped if "ended" not in s.reason]
    if others:
        notes.append(f"{len(others)} frame(s) could not be decoded and were left out "
                     f"(first: {others[0]}).")
    ended_early = min(ended) if ended else (frames.stop if clipped else None)
    if ended:
        notes.append(f"the video ended at frame {last}, before frame {min(ended)}: stopped "
                     "there.")
    return RenderResult(output, written, first, last, encoder.codec, ended_early, notes)
