"""Frames read from a video in increasing order are read forward, not sought, and are the
same frames a seek gives."""

from __future__ import annotations

import numpy as np
import pytest

from posekit.io import images
from posekit.io.images import ImageReader, VideoRef
from posekit.io.synthetic import SynthSpec, render
from posekit.io.synthetic.writer import write_video


class _CountingCapture:
    """An OpenCV capture that counts its seeks and otherwise does what it is asked."""

    def __init__(self, capture) -> None:
        self.capture, self.seeks = capture, 0

    def set(self, prop, value):
        self.seeks += 1
        return self.capture.set(prop, value)

    def __getattr__(self, name):
        return getattr(self.capture, name)


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    frames = render(SynthSpec(n_frames=120, height=64, width=64, seed=3, occluders=0)).images
    return write_video(frames, tmp_path_factory.mktemp("reader") / "session.mp4")


def _read(video, order, monkeypatch, limit: int):
    monkeypatch.setattr(images, "FORWARD_READ_LIMIT", limit)
    reader = ImageReader([VideoRef(str(video), grayscale=True)])
    first = reader.read(0, order[0])  # opens the decoder
    backend = reader._open(0)[0].backend
    assert backend.plugin == "opencv"
    backend._open_reader = _CountingCapture(backend._open_reader)
    frames = [first] + [reader.read(0, i) for i in order[1:]]
    return frames, backend._open_reader.seeks


def test_frames_ahead_are_read_forward_and_equal_the_sought_frames(video, monkeypatch):
    # every 5th frame, then a jump back and a jump further ahead than the limit
    order = [*range(0, 60, 5), 12, 13, 110, 111]
    forward, forward_seeks = _read(video, order, monkeypatch, images.FORWARD_READ_LIMIT)
    sought, seeks = _read(video, order, monkeypatch, 0)
    assert all(np.array_equal(a, b) for a, b in zip(forward, sought, strict=True))
    assert len({a.tobytes() for a in forward}) == len(order)  # 16 different frames
    # seeking: every frame but the ones right after their predecessor (13, 111)
    assert seeks == len(order) - 1 - 2
    # reading forward: only the jump back (to 12) and the jump past the limit (to 110)
    assert forward_seeks == 2


def test_the_limit_bounds_how_far_ahead_frames_are_read(video, monkeypatch):
    frames, seeks = _read(video, [0, 3, 7, 20], monkeypatch, 4)
    assert seeks == 1  # 3 and 7 are 3 and 4 frames past the last read: read forward; 20 sought
    assert frames[-1].shape == (64, 64, 1)
