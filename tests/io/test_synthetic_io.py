"""Tests of writing synthetic datasets: .pkg.slp, .slp + video, and the video itself."""

from __future__ import annotations

import numpy as np
import pytest
import sleap_io as sio

from posekit.errors import ConfigError
from posekit.io.synthetic import SynthSpec, render, write_dataset, write_video


def _points(labels: sio.Labels, n_frames: int, n_animals: int, n_nodes: int) -> np.ndarray:
    """``(F, N, K, 2)`` points of ``labels``, animals placed in their track's slot."""
    out = np.full((n_frames, n_animals, n_nodes, 2), np.nan)
    names = [t.name for t in labels.tracks]
    for lf in labels.labeled_frames:
        for inst in lf.instances:
            out[lf.frame_idx, names.index(inst.track.name)] = inst.numpy()
    return out


@pytest.fixture(scope="module")
def scene():
    spec = SynthSpec(n_frames=24, n_animals=3, rgb=True, seed=2)
    return spec, render(spec)


def test_pkg_slp_round_trip_is_lossless(tmp_path, scene):
    spec, result = scene
    path = tmp_path / "mice.pkg.slp"
    returned = write_dataset(spec, path, result=result)
    labels = sio.load_slp(str(path))
    assert len(labels.labeled_frames) == spec.n_frames
    frames = labels.video[list(range(spec.n_frames))]
    assert np.array_equal(frames, result.images)
    np.testing.assert_array_equal(_points(labels, 24, 3, 8), result.points.astype(np.float64))
    assert [t.name for t in labels.tracks] == ["animal_0", "animal_1", "animal_2"]
    assert labels.skeleton.node_names == result.skeleton.node_names
    assert len(labels.skeleton.symmetries) == 1
    assert labels.provenance["posekit_synthetic"]["seed"] == 2
    assert len(returned.labeled_frames) == spec.n_frames
    # The frames' recorded source is a synthetic name, not a temporary file.
    assert labels.video.source_video.filename == "posekit-synthetic-seed2"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mice.pkg.slp"]


def test_grayscale_pkg_and_video_round_trip(tmp_path):
    spec = SynthSpec(n_frames=30, n_animals=2, seed=7)
    labels = write_dataset(spec, tmp_path / "g.pkg.slp", tmp_path / "g.mp4")
    result = render(spec)
    assert labels.video.shape == (30, 160, 160, 1)
    assert np.array_equal(labels.video[list(range(30))], result.images)
    assert labels.video.source_video.filename == (tmp_path / "g.mp4").resolve().as_posix()
    video = sio.load_video(str(tmp_path / "g.mp4"))
    assert len(video) == 30
    decoded = video[list(range(30))][..., :1].astype(int)
    diff = np.abs(decoded - result.images)
    assert diff.mean() < 1.5 and np.percentile(diff, 99) <= 5


def test_rgb_video_and_plain_slp_refer_to_the_same_frames(tmp_path, scene):
    spec, result = scene
    labels = write_dataset(spec, tmp_path / "m.slp", tmp_path / "m.mp4", result=result)
    assert labels.video.filename == (tmp_path / "m.mp4").resolve().as_posix()
    assert len(labels.video) == spec.n_frames
    decoded = labels.video[list(range(spec.n_frames))].astype(int)
    assert decoded.shape == result.images.shape
    diff = np.abs(decoded - result.images)
    assert diff.mean() < 1.5 and np.percentile(diff, 99) <= 5
    np.testing.assert_array_equal(_points(labels, 24, 3, 8), result.points.astype(np.float64))


def test_plain_slp_needs_a_video(tmp_path):
    with pytest.raises(ConfigError, match="--video"):
        write_dataset(SynthSpec(n_frames=2), tmp_path / "x.slp")
    with pytest.raises(ConfigError, match=".pkg.slp"):
        write_dataset(SynthSpec(n_frames=2), tmp_path / "x.h5")
    assert list(tmp_path.iterdir()) == []


def test_result_must_match_spec(tmp_path):
    result = render(SynthSpec(n_frames=2, seed=1))
    with pytest.raises(ConfigError, match="different spec"):
        write_dataset(SynthSpec(n_frames=2, seed=2), tmp_path / "x.pkg.slp", result=result)


def test_single_animal_without_tracks(tmp_path):
    spec = SynthSpec(n_frames=5, height=48, width=64, skeleton="worm", n_nodes=4, seed=3)
    labels = write_dataset(spec, tmp_path / "w.pkg.slp")
    assert labels.tracks == []
    assert all(inst.track is None for lf in labels.labeled_frames for inst in lf.instances)
    assert labels.video.shape == (5, 48, 64, 1)


def test_write_video_odd_size_and_bad_input(tmp_path):
    frames = np.zeros((3, 33, 47, 1), np.uint8)
    frames[:, 10:20, 5:30] = 200
    write_video(frames, tmp_path / "odd.mp4", fps=25.0)
    video = sio.load_video(str(tmp_path / "odd.mp4"))
    assert video.shape[:3] == (3, 33, 47)
    assert np.abs(video[1][..., :1].astype(int) - frames[1]).mean() < 2.0
    with pytest.raises(ConfigError, match="extension"):
        write_video(frames, tmp_path / "x.gif")
    with pytest.raises(ConfigError, match="uint8"):
        write_video(frames.astype(np.float32), tmp_path / "y.mp4")
