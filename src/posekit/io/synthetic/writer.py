"""Write synthetic datasets: ``.pkg.slp`` with embedded frames, ``.slp`` + video, ``.mp4``."""

from __future__ import annotations

import json
import tempfile
from fractions import Fraction
from pathlib import Path

import h5py
import numpy as np
import sleap_io as sio

from posekit.errors import ConfigError
from posekit.io.synthetic.render import SynthResult, render
from posekit.io.synthetic.spec import SynthSpec
from posekit.io.writers import backup_user_labels
from posekit.utils import atomic_path, ensure_parent_exists

VIDEO_SUFFIXES = (".mp4", ".mkv", ".mov", ".avi")
VIDEO_CRF = 6  # x264 quality: decoded frames stay within a few grey levels of the source


def write_video(images: np.ndarray, path: str | Path, fps: float = 30.0) -> Path:
    """Encode ``(F, H, W, C)`` uint8 frames as near-lossless H.264, atomically.

    Colour frames are encoded in RGB directly (``libx264rgb``), skipping the lossy
    conversion to YUV; grayscale frames as ordinary YUV 4:2:0 (4:4:4 for odd sizes) with
    neutral chroma. At the quality used, decoded frames differ from the originals by about
    one grey level on average.
    """
    import av

    path = Path(path)
    if path.suffix.lower() not in VIDEO_SUFFIXES:
        raise ConfigError(
            f"{path}: unsupported video extension {path.suffix!r}; expected one of "
            f"{VIDEO_SUFFIXES}. Name the video e.g. {path.with_suffix('.mp4').name}."
        )
    if images.ndim != 4 or images.shape[-1] not in (1, 3) or images.dtype != np.uint8:
        raise ConfigError(
            f"{path}: frames have shape {images.shape} and dtype {images.dtype}; expected "
            "uint8 (frames, height, width, 1 or 3)."
        )
    rgb = images.shape[-1] == 3
    h, w = images.shape[1:3]
    if rgb and "libx264rgb" in av.codecs_available:
        codec, pix_fmt = "libx264rgb", "rgb24"
    else:
        codec = "libx264"
        pix_fmt = "yuv444p" if rgb or h % 2 or w % 2 else "yuv420p"
    # faststart puts the index first: a truncated copy still opens (its tail is unreadable)
    faststart = {"movflags": "+faststart"}
    with atomic_path(path) as tmp, av.open(str(tmp), mode="w", options=faststart) as container:
        stream = container.add_stream(codec, rate=Fraction(fps).limit_denominator(1001))
        stream.width, stream.height, stream.pix_fmt = w, h, pix_fmt
        stream.options = {"crf": str(VIDEO_CRF), "preset": "veryfast"}
        fmt = "rgb24" if rgb else "gray"
        for frame in images:
            data = np.ascontiguousarray(frame if rgb else frame[..., 0])
            for packet in stream.encode(av.VideoFrame.from_ndarray(data, format=fmt)):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def _check_paths(labels_path: Path, video_path: Path | None) -> bool:
    """Validate output names; return whether the labels embed their frames."""
    name = labels_path.name.lower()
    if not name.endswith(".slp"):
        raise ConfigError(
            f"{labels_path}: labels must be written as .pkg.slp (frames embedded) or .slp "
            f"(frames in the video); got {labels_path.suffix!r}. Use e.g. "
            f"{labels_path.with_suffix('').name}.pkg.slp."
        )
    embed = name.endswith(".pkg.slp")
    if not embed and video_path is None:
        raise ConfigError(
            f"{labels_path}: a plain .slp refers to a video for its frames, but no video path "
            "was given; expected a video path or a .pkg.slp name. Pass --video OUT.mp4 or "
            "name the labels OUT.pkg.slp to embed the frames."
        )
    ensure_parent_exists(labels_path)
    if video_path is not None:
        ensure_parent_exists(video_path)
    return embed


def _source_record(result: SynthResult, video_path: Path | None, name: str) -> sio.Video:
    """A closed ``sio.Video`` describing where the frames came from (the video, if any)."""
    spec = result.spec
    filename = video_path.resolve().as_posix() if video_path is not None else name
    meta = {
        "type": "MediaVideo",
        "shape": list(result.images.shape),
        "filename": filename,
        "grayscale": not spec.rgb,
        "bgr": True,
        "dataset": "",
        "input_format": "",
        "fps": spec.fps,
    }
    return sio.Video(filename=filename, backend_metadata=meta, open_backend=False)


def _save_embedded(result: SynthResult, out: Path, source: sio.Video) -> None:
    """Save ``result`` as a ``.pkg.slp`` at ``out`` with every frame embedded losslessly (PNG).

    sleap-io embeds frames it can read from a video, so the frames go through a temporary
    HDF5 array first (beside the output, where there is room for it). The package records
    ``source`` (the written video, or a synthetic name) as the frames' source instead of
    that temporary file.
    """
    with tempfile.TemporaryDirectory(prefix=".posekit-synth-", dir=out.parent) as tmp:
        frames_path = Path(tmp) / "frames.h5"
        with h5py.File(frames_path, "w") as f:
            f.create_dataset("video", data=result.images)
        video = sio.Video.from_filename(str(frames_path), dataset="video")
        video.source_video = source
        labels = result.to_labels(video)
        sio.save_slp(labels, str(out), embed=True, embed_inplace=True, verbose=False)
        video.close()
    with h5py.File(out, "a") as f:
        group = f["video0"]
        if "source_video" in group:
            del group["source_video"]
        record = {"filename": source.filename, "backend": dict(source.backend_metadata)}
        group.create_group("source_video").attrs["json"] = json.dumps(record)


def write_dataset(
    spec: SynthSpec,
    labels_path: str | Path,
    video_path: str | Path | None = None,
    *,
    result: SynthResult | None = None,
) -> sio.Labels:
    """Render ``spec`` and write it as a labels file (and optionally a video), atomically.

    Args:
        spec: What to render.
        labels_path: ``.pkg.slp`` to embed every frame (PNG, lossless; needs nothing else),
            or ``.slp`` to refer to the frames in ``video_path``.
        video_path: Optional ``.mp4`` (or ``.mkv``/``.mov``/``.avi``) holding the same frames,
            frame ``f`` of the video being frame ``f`` of the labels.
        result: An already rendered ``render(spec)`` to write instead of rendering again.

    Returns:
        The labels as loaded back from ``labels_path``.
    """
    labels_path = Path(labels_path)
    video_path = Path(video_path) if video_path is not None else None
    embed = _check_paths(labels_path, video_path)
    if result is None:
        result = render(spec)
    elif result.spec != spec:
        raise ConfigError(
            "write_dataset(result=...): the result was rendered from a different spec; "
            "expected render(spec). Pass the matching result or leave it out."
        )
    if video_path is not None:
        write_video(result.images, video_path, spec.fps)
    with atomic_path(labels_path) as tmp:
        if embed:
            name = f"posekit-synthetic-seed{spec.seed}"
            _save_embedded(result, tmp, _source_record(result, video_path, name))
        else:
            video = sio.Video.from_filename(video_path.resolve().as_posix(), grayscale=not spec.rgb)
            sio.save_slp(result.to_labels(video), str(tmp), verbose=False)
            video.close()
        backup_user_labels(Path(labels_path))
    return sio.load_slp(str(labels_path))
