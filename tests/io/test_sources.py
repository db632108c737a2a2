"""Frame sources: videos, image folders, labels; skipping, ranges, threads, memory."""

from __future__ import annotations

import threading
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pytest
import sleap_io as sio

from posekit.errors import ConfigError, DataError, VideoError
from posekit.io import FrameSkipWarning, open_frame_source, parse_frame_range
from posekit.io.sources import SEEK_GAP

from .io_helpers import level, tiny_labels, write_png, write_video

BACKENDS = ["opencv", "pyav"]


def collect(source) -> tuple[list[int], dict[int, np.ndarray], list[tuple]]:
    indices, images, shapes = [], {}, []
    for frame_indices, batch, *_ in source:
        assert batch.dtype == np.uint8 and batch.ndim == 4 and len(batch) == len(frame_indices)
        shapes.append(batch.shape)
        for fi, img in zip(frame_indices.tolist(), batch, strict=True):
            indices.append(fi)
            images[fi] = img
    return indices, images, shapes


def test_parse_frame_range() -> None:
    assert parse_frame_range("0-999") == range(1000)
    assert parse_frame_range("7") == range(7, 8)
    assert parse_frame_range("10,20,30-33") == [10, 20, 30, 31, 32, 33]
    assert parse_frame_range(" 1 , 3-4 ") == [1, 3, 4]
    for bad in ["", "a-b", "5-2", "-3", "1,,x"]:
        with pytest.raises(ConfigError, match="frames"):
            parse_frame_range(bad)


@pytest.mark.parametrize("backend", BACKENDS)
def test_video_all_frames_in_batches(tmp_path: Path, backend: str) -> None:
    path = write_video(tmp_path / "v.avi", 30)
    source = open_frame_source(path, batch_size=8, backend=backend)
    assert len(source) == source.total == 30
    indices, images, shapes = collect(source)
    assert indices == list(range(30))
    assert [s[0] for s in shapes] == [8, 8, 8, 6] and shapes[0][1:] == (48, 64, 1)
    assert all(abs(int(images[i][20, 30, 0]) - level(i)) <= 2 for i in range(30))
    assert source.skipped == []
    assert source.video.filename == path.resolve().as_posix()


@pytest.mark.parametrize("backend", BACKENDS)
def test_video_frame_ranges_with_seeks(tmp_path: Path, backend: str) -> None:
    path = write_video(tmp_path / "long.avi", 200, height=24, width=32)
    wanted = [3, 5, 6, 150, 151, 199]
    assert 150 - 6 > SEEK_GAP  # forces a seek
    indices, images, _ = collect(
        open_frame_source(path, frames=wanted, batch_size=4, backend=backend)
    )
    assert indices == wanted
    assert all(abs(int(images[i][10, 10, 0]) - level(i)) <= 2 for i in wanted)
    indices, _, _ = collect(open_frame_source(path, frames="190-195", backend=backend))
    assert indices == list(range(190, 196))
    with pytest.raises(DataError, match="out of range"):
        open_frame_source(path, frames=[5, 200])


def test_backends_and_prefetch_modes_agree(tmp_path: Path) -> None:
    path = write_video(tmp_path / "v.avi", 12)
    outs = [
        collect(open_frame_source(path, batch_size=5, backend=b, prefetch=p))[1]
        for b in BACKENDS
        for p in (0, 3)
    ]
    for other in outs[1:]:
        assert all(np.array_equal(outs[0][i], other[i]) for i in range(12))


def _truncate(path: Path, fraction: float) -> Path:
    data = path.read_bytes()
    out = path.with_name("short_" + path.name)
    out.write_bytes(data[: int(len(data) * fraction)])
    return out


@pytest.mark.parametrize("backend", BACKENDS)
def test_video_shorter_than_header_skips_and_warns(tmp_path: Path, backend: str) -> None:
    short = _truncate(write_video(tmp_path / "v.avi", 40), 0.6)
    source = open_frame_source(short, batch_size=8, backend=backend)
    with pytest.warns(FrameSkipWarning, match="could not be decoded"):
        indices, _, _ = collect(source)
    assert 0 < len(indices) < 40 and indices == list(range(len(indices)))
    assert [s.frame_idx for s in source.skipped] == list(range(len(indices), 40))


@pytest.mark.parametrize("backend", BACKENDS)
def test_corrupt_frame_is_skipped(tmp_path: Path, backend: str) -> None:
    path = write_video(tmp_path / "v.avi", 20)
    data = bytearray(path.read_bytes())
    starts = [i for i in range(len(data) - 1) if data[i] == 0xFF and data[i + 1] == 0xD8]
    data[starts[10] : starts[10] + 200] = bytes(200)  # wipe frame 10's JPEG header
    path.write_bytes(bytes(data))
    source = open_frame_source(path, batch_size=4, backend=backend)
    with pytest.warns(FrameSkipWarning):
        indices, images, _ = collect(source)
    assert indices == [i for i in range(20) if i != 10]
    assert [s.frame_idx for s in source.skipped] == [10]
    assert abs(int(images[11][0, 0, 0]) - level(11)) <= 2


def test_unopenable_videos_raise_video_error(tmp_path: Path) -> None:
    text = tmp_path / "notes.mp4"
    text.write_text("not a video")
    with pytest.raises(VideoError, match="notes.mp4"):
        open_frame_source(text)
    with pytest.raises(VideoError, match="absent.mp4"):
        open_frame_source(tmp_path / "absent.mp4")


def test_image_folder_sorted_and_grouped_by_size(tmp_path: Path) -> None:
    folder = tmp_path / "imgs"
    folder.mkdir()
    write_png(folder / "img1.png", 10, 12, (1, 2, 3))
    write_png(folder / "img2.png", 10, 12, (4, 5, 6))
    write_png(folder / "img10.png", 10, 12, (7, 8, 9))
    write_png(folder / "img3.png", 20, 8, 9, grey=True)
    (folder / "img4.png").write_bytes(b"broken")
    (folder / "notes.txt").write_text("ignored")
    source = open_frame_source(folder, batch_size=8)
    assert len(source) == 5
    with pytest.warns(FrameSkipWarning):
        indices, images, shapes = collect(source)
    # natural order: img1, img2, img3, img4 (broken), img10
    assert indices == [0, 1, 2, 4]
    assert [s for s in shapes] == [(2, 10, 12, 3), (1, 20, 8, 1), (1, 10, 12, 3)]
    assert images[4][0, 0].tolist() == [7, 8, 9]
    assert [s.frame_idx for s in source.skipped] == [3]
    assert source.video.filename[4].endswith("img10.png")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no images"):
        open_frame_source(tmp_path / "empty")


def test_labels_source(tmp_path: Path) -> None:
    video = sio.Video.from_filename(str(write_video(tmp_path / "v.avi", 12)))
    labels = tiny_labels(video)
    indices, images, _ = collect(open_frame_source(labels, batch_size=2))
    assert indices == [0, 3, 5, 7, 9]
    assert abs(int(images[7][1, 1, 0]) - level(7)) <= 2
    source = open_frame_source(labels, frames=[3, 9, 11])
    assert len(source) == 2 and collect(source)[0] == [3, 9]


def test_labels_source_with_missing_video_raises(tmp_path: Path) -> None:
    labels = tiny_labels(sio.Video(filename=str(tmp_path / "gone.avi"), open_backend=False))
    with pytest.raises(VideoError, match="gone.avi"):
        open_frame_source(labels)


def _decode_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("posekit-decode")]


def test_early_break_stops_the_decoder_thread(tmp_path: Path) -> None:
    path = write_video(tmp_path / "v.avi", 60)
    source = open_frame_source(path, batch_size=2, prefetch=2)
    for batch in source:
        assert _decode_threads()
        break
    del batch
    assert _decode_threads() == []


def test_errors_in_the_decoder_thread_reach_the_caller(tmp_path: Path, monkeypatch) -> None:
    source = open_frame_source(write_video(tmp_path / "v.avi", 10))

    def boom():
        raise RuntimeError("decoder exploded")
        yield  # pragma: no cover

    monkeypatch.setattr(source, "_frames", boom)
    with pytest.raises(RuntimeError, match="decoder exploded"):
        collect(source)
    assert _decode_threads() == []


def _peak_bytes(path: Path, n_frames: int) -> int:
    source = open_frame_source(path, frames=range(n_frames), batch_size=4, prefetch=2)
    tracemalloc.start()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        count = sum(len(b.frame_indices) for b in source)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert count == n_frames
    return peak


def test_memory_stays_flat_however_long_the_stream(tmp_path: Path) -> None:
    path = write_video(tmp_path / "v.avi", 400, height=96, width=128)
    short, long = _peak_bytes(path, 40), _peak_bytes(path, 400)
    frame_bytes = 96 * 128
    assert long < short + 16 * frame_bytes  # 10x more frames, no growth beyond noise
    assert long < 400 * frame_bytes / 4  # far below keeping the decoded video


@pytest.mark.parametrize("prefetch", [0, 2])
def test_prepare_hook_runs_where_frames_are_decoded(tmp_path: Path, prefetch: int) -> None:
    """The hook sees every batch's images; with prefetch it runs on the decoding thread."""
    source = open_frame_source(write_video(tmp_path / "v.avi", 10), batch_size=4,
                               prefetch=prefetch)
    threads: list[str] = []

    def prepare(images: np.ndarray) -> float:
        threads.append(threading.current_thread().name)
        return float(images.mean())

    source.prepare = prepare
    batches = list(source)
    assert [len(b.frame_indices) for b in batches] == [4, 4, 2]
    for batch in batches:
        assert batch.prepared == pytest.approx(float(batch.images.mean()))
    expected = "posekit-decode" if prefetch else threading.current_thread().name
    assert len(threads) == 3 and all(name.startswith(expected) for name in threads)
    source.prepare = None
    assert all(b.prepared is None for b in source)
