"""extract_frames on synthetic videos with planted scenes: what is chosen and why."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from posekit.errors import ConfigError, VideoError
from posekit.io.synthetic.long_video import write_scene_video
from posekit.refinement.frame_selection import extract_frames


@pytest.fixture(scope="module")
def scenes(tmp_path_factory) -> tuple[Path, np.ndarray]:
    """600 frames, 5 scenes taking turns in runs of 40 frames (clusters not contiguous)."""
    folder = tmp_path_factory.mktemp("scenes")
    return write_scene_video(folder / "scenes.mp4", n_scenes=5, frames_per_scene=120,
                             segment=40, seed=1)


@pytest.fixture(scope="module")
def short(tmp_path_factory) -> tuple[Path, np.ndarray]:
    """200 frames, 2 scenes (a second, shorter video)."""
    folder = tmp_path_factory.mktemp("short")
    return write_scene_video(folder / "short.mp4", n_scenes=2, frames_per_scene=100, seed=2)


def test_kmeans_returns_one_frame_of_each_planted_scene(scenes):
    video, truth = scenes
    sel = extract_frames([video], n=5, seed=0)
    assert len(sel.frames) == 5
    assert sorted(truth[[f.frame_idx for f in sel.frames]].tolist()) == [0, 1, 2, 3, 4]
    for f in sel.frames:  # each is the member nearest its centre, clusters ~120 frames
        assert f.method == "kmeans" and not f.refilled
        assert 100 <= f.cluster_size <= 140
        assert "k-means cluster" in f.reason()
    assert sel.frames_decoded == 600 and sel.notes == []


def test_same_seed_same_frames(scenes):
    video, _ = scenes
    a = extract_frames([video], n=12, seed=4, min_gap=5)
    b = extract_frames([video], n=12, seed=4, min_gap=5)
    assert [(f.frame_idx, f.cluster) for f in a.frames] == [(f.frame_idx, f.cluster)
                                                            for f in b.frames]
    assert a.manifest()["frames"] == b.manifest()["frames"]


def test_exactly_n_frames_with_min_gap_between_picks(scenes):
    video, truth = scenes
    sel = extract_frames([video], n=30, seed=0, min_gap=12)
    frames = np.array(sel.frame_indices(0))
    assert len(frames) == 30
    assert np.diff(frames).min() >= 12
    assert set(truth[frames].tolist()) == {0, 1, 2, 3, 4}


def test_a_gap_that_cannot_be_met_returns_what_fits_and_says_so(scenes):
    video, _ = scenes
    sel = extract_frames([video], n=10, method="uniform", min_gap=100)
    assert len(sel.frames) == 6  # 600 frames, 100 apart
    assert any("only 6 of the 10" in note for note in sel.notes)


def test_n_larger_than_the_video_returns_every_frame_and_says_so(scenes):
    video, _ = scenes
    sel = extract_frames([video], n=50, stop="1s")  # 30 frames in the window
    assert sel.frame_indices(0) == list(range(30))
    assert any("only 30 of the 50" in note for note in sel.notes)


@pytest.mark.parametrize("allocation, expected", [("proportional", [6, 2]), ("even", [4, 4])])
def test_frames_spread_over_videos(scenes, short, allocation, expected):
    sel = extract_frames([scenes[0], short[0]], n=8, method="uniform", allocation=allocation)
    assert [len(sel.frame_indices(v)) for v in (0, 1)] == expected


def test_together_clusters_all_videos_at_once(scenes, short):
    # scene 0 of both videos looks the same (same floor); short's scene 1 is new. Pooled,
    # 6 clusters cover the 6 distinct looks; per video, the same look is chosen twice.
    def looks(sel):
        out = set()
        for f in sel.frames:
            scene = int((scenes, short)[f.video][1][f.frame_idx])
            out.add((0, 0) if scene == 0 else (f.video, scene))
        return out

    pooled = extract_frames([scenes[0], short[0]], n=6, allocation="together", seed=0)
    assert looks(pooled) == {(0, 0), (0, 1), (0, 2), (0, 3), (0, 4), (1, 1)}
    assert len(pooled.frames) == 6


def test_window_stride_and_cap(scenes):
    video, _ = scenes
    sel = extract_frames([video], n=6, start="2", stop="50%", stride=3, max_candidates=40)
    frames = sel.frame_indices(0)
    assert all(60 <= f < 300 and (f - 60) % 3 == 0 for f in frames)
    assert sel.candidates == [40] and sel.frames_decoded == 40
    assert sel.videos[0].window == (60, 300, 3)


def test_uniform_and_random(scenes):
    video, _ = scenes
    uni = extract_frames([video], n=4, method="uniform")
    assert uni.frame_indices(0) == [75, 225, 375, 525]
    r1 = extract_frames([video], n=4, method="random", seed=3)
    r2 = extract_frames([video], n=4, method="random", seed=3)
    r3 = extract_frames([video], n=4, method="random", seed=4)
    assert r1.frame_indices(0) == r2.frame_indices(0) != r3.frame_indices(0)
    assert "random sample" in r1.frames[0].reason()


def test_memory_does_not_grow_with_video_length(tmp_path):
    short, _ = write_scene_video(tmp_path / "a.mp4", n_scenes=2, frames_per_scene=400, seed=3)
    long, _ = write_scene_video(tmp_path / "b.mp4", n_scenes=2, frames_per_scene=2400, seed=3)
    peaks = []
    for video in (short, long):
        extract_frames([video], n=4, max_candidates=300)  # imports and caches first
        tracemalloc.start()
        sel = extract_frames([video], n=4, max_candidates=300)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        assert sel.frames_decoded == 300
    # 4800 frames of 64x64 would be 19.7 MB; the peak stays that of 300 candidates
    assert peaks[1] < 1.25 * peaks[0] + 256 * 1024
    assert peaks[1] < 6 * 2**20


def test_unreadable_video_is_skipped_and_reported(scenes, tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"not a video at all")
    sel = extract_frames([bad, scenes[0]], n=5)
    assert len(sel.frames) == 5 and all(f.video == 1 for f in sel.frames)
    assert any("broken.mp4: skipped, cannot be opened" in n for n in sel.notes)
    assert sel.manifest()["videos"][0]["status"] == "skipped"
    with pytest.raises(VideoError, match="none of the 1 video"):
        extract_frames([bad], n=5)


@pytest.fixture(scope="module")
def truncated(scenes, tmp_path_factory) -> Path:
    """The scenes video cut at 60 % of its bytes: the header still promises 600 frames."""
    data = scenes[0].read_bytes()
    path = tmp_path_factory.mktemp("cut") / "cut.mp4"
    path.write_bytes(data[: int(len(data) * 0.6)])
    return path


@pytest.mark.parametrize("method", ["kmeans", "uniform", "random"])
def test_frames_past_a_premature_end_are_skipped_reported_and_replaced(truncated, method):
    sel = extract_frames([truncated], n=8, method=method, seed=1)
    info = sel.videos[0]
    assert info.n_frames == 600 and info.skipped
    readable = min(f for f, _ in info.skipped)
    assert len(sel.frames) == 8
    assert all(f.frame_idx < readable for f in sel.frames)
    assert any("could not be decoded" in note or "ends at frame" in note for note in sel.notes)
    entry = sel.manifest()["videos"][0]["skipped_frames"]
    assert entry["count"] == len(info.skipped) and entry["first"]


def test_bad_settings_are_config_errors(scenes):
    video, _ = scenes
    with pytest.raises(ConfigError, match="method"):
        extract_frames([video], method="adaptive")
    with pytest.raises(ConfigError, match="allocation"):
        extract_frames([video], allocation="per-video")
    with pytest.raises(ConfigError, match="stride"):
        extract_frames([video], stride=0)
    with pytest.raises(ConfigError, match="start"):
        extract_frames([video], start="soon")


def test_opencv_fallback_gives_the_same_picks(scenes, monkeypatch):
    """A file PyAV cannot open goes through posekit's OpenCV frame source instead; the
    features agree (grey video) and so do the planted scenes found."""
    from posekit.refinement import sampling

    video, truth = scenes
    fast = extract_frames([video], n=5, seed=0)

    def refuse(path):
        raise OSError("PyAV cannot open it")

    monkeypatch.setattr(sampling, "_luma_reader", refuse)
    slow = extract_frames([video], n=5, seed=0)
    assert slow.frames_decoded == fast.frames_decoded == 600
    assert sorted(truth[slow.frame_indices(0)].tolist()) == [0, 1, 2, 3, 4]
