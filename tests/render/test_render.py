"""Labeled videos: frame count and drawn points on the real clip, low-score dimming,
trails, side by side, outlier flags, a video that ends early and refused outputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import sleap_io as sio

from posekit.errors import ConfigError
from posekit.io.synthetic import write_video
from posekit.render import PoseFrames, Style, draw_poses, render_video

GREY = 100


def _decode(path: Path) -> np.ndarray:
    import av

    with av.open(str(path)) as c:
        return np.stack([f.to_ndarray(format="rgb24") for f in c.decode(video=0)])


def _chroma(img: np.ndarray) -> np.ndarray:
    """Colourfulness: what is drawn is coloured, the grey video is not."""
    return img.max(axis=-1).astype(int) - img.min(axis=-1).astype(int)


def _labels(points: np.ndarray, scores: np.ndarray, video: sio.Video) -> sio.Labels:
    """Predictions ``(F, N, K, 2)`` with point scores ``(F, N, K)``, one track per animal."""
    nodes = [f"n{i}" for i in range(points.shape[2])]
    skel = sio.Skeleton(nodes=nodes, edges=[(nodes[i], nodes[i + 1])
                                            for i in range(len(nodes) - 1)])
    tracks = [sio.Track(name=f"animal{i}") for i in range(points.shape[1])]
    frames = []
    for f in range(points.shape[0]):
        insts = [sio.PredictedInstance.from_numpy(
            np.column_stack([points[f, i], scores[f, i]]), skeleton=skel, score=1.0,
            track=tracks[i]) for i in range(points.shape[1])]
        frames.append(sio.LabeledFrame(video=video, frame_idx=f, instances=insts))
    return sio.Labels(labeled_frames=frames, videos=[video], skeletons=[skel], tracks=tracks)


@pytest.fixture
def synth(tmp_path) -> tuple[Path, sio.Labels]:
    """A plain grey 240x320 video of 12 frames and two animals of 3 nodes walking right."""
    video_path = write_video(np.full((12, 240, 320, 1), GREY, np.uint8), tmp_path / "v.mp4",
                             fps=10)
    t = np.arange(12)[:, None, None, None]
    base = np.array([[[40, 60], [70, 60], [100, 60]], [[40, 170], [70, 170], [100, 170]]],
                    float)
    points = base[None] + t * np.array([8.0, 0.0])  # (12, 2, 3, 2)
    scores = np.ones((12, 2, 3))
    scores[:, 1, 2] = 0.05  # the second animal's last node is uncertain everywhere
    return video_path, _labels(points, scores, sio.Video(filename=str(video_path)))


def test_clip_frames_and_points_sit_on_labels(shared_data, tmp_path):
    """Rendering 30 frames of clip.mp4 gives 30 frames; colour sits on the labels only."""
    labels = sio.load_slp(str(shared_data / "clip.slp"))
    out = tmp_path / "clip.labeled.mp4"
    result = render_video(shared_data / "clip.mp4", shared_data / "clip.slp", out,
                          start=200, stop=230, color_by="track")
    frames = _decode(out)
    assert result.frames == 30 and frames.shape == (30, 1024, 1024, 3)
    assert result.codec == "libx264" and result.ended_early is None
    poses = PoseFrames.from_labels(labels)
    rng = np.random.default_rng(0)
    on, off = [], []
    for i in range(0, 30, 5):
        rows = poses.rows(200 + i)
        pts = poses.points[rows].reshape(-1, 2)
        pts = pts[np.isfinite(pts).all(1)]
        chroma = _chroma(frames[i])
        xy = np.round(pts).astype(int)
        on.append(chroma[xy[:, 1], xy[:, 0]])
        far = rng.uniform(100, 1000, (200, 2))
        dist = np.linalg.norm(far[:, None] - pts[None], axis=-1).min(1)
        far = np.round(far[dist > 40]).astype(int)
        off.append(chroma[far[:, 1], far[:, 0]])
    on, off = np.concatenate(on), np.concatenate(off)
    assert np.mean(on > 40) > 0.9, np.mean(on > 40)
    assert np.mean(off < 15) > 0.98


def test_low_score_points_are_hollow_and_dim_not_hidden():
    """A point under min_score keeps a dim ring; its centre shows the frame through."""
    skel_poses = PoseFrames(np.array([0]), np.array([0]),
                            np.array([[[50.0, 50.0], [150.0, 50.0]]]),
                            np.array([[0.9, 0.1]]), ("a", "b"), np.zeros((0, 2), np.int64),
                            ("t",))
    img = np.full((200, 200, 3), GREY, np.uint8)
    draw_poses(img, skel_poses, 0, Style(min_score=0.3, radius=8, thickness=2))
    sure, unsure = img[50, 50], img[50, 150]
    assert _chroma(sure[None])[0] > 60  # filled, bright
    assert np.array_equal(unsure, [GREY] * 3)  # hollow: the centre is the frame
    ring = img[50 - 8:50 + 9, 150 - 8:150 + 9]
    assert (_chroma(ring) > 10).sum() > 20  # still drawn
    assert _chroma(ring).max() < _chroma(sure[None])[0]  # and dimmer


def test_trails_draw_the_past_path(synth, tmp_path):
    video, labels = synth
    poses = PoseFrames.from_labels(labels)
    plain = np.full((240, 320, 3), GREY, np.uint8)
    trail = plain.copy()
    draw_poses(plain, poses, 10, Style(color_by="track"))
    draw_poses(trail, poses, 10, Style(color_by="track", trails=8, trail_node=0))
    # node 0 was at x = 40 + 8 t: frames 2..9 put the trail at x 56..112 on y = 60
    changed = np.flatnonzero(_chroma(trail[60]) != _chroma(plain[60]))
    assert changed.size and changed.min() < 70
    out = render_video(video, labels, tmp_path / "trail.mp4", trails=5, color_by="track")
    assert out.frames == 12


def test_side_by_side_and_outlier_flag(synth, tmp_path):
    """Two predictions sets make a double-width video, each panel with its own points."""
    video, labels = synth
    moved = _labels(np.stack([np.stack([lf.instances[i].numpy() for i in range(2)])
                              for lf in labels.labeled_frames]) + [0, 40],
                    np.ones((12, 2, 3)), labels.videos[0])
    report = tmp_path / "out.outliers.json"
    report.write_text(json.dumps({"chosen": [{"rank": 1, "video": 0, "frame": 3,
                                              "summary": "jump"}]}))
    out = tmp_path / "both.mp4"
    result = render_video(video, labels, out, compare=moved, outliers=report,
                          titles=("raw", "filtered"))
    frames = _decode(out)
    assert result.frames == 12 and frames.shape == (12, 240, 640, 3)
    c = _chroma(frames[0])
    assert c[60, 70] > 40 and c[60, 320 + 70] < 15  # left: raw points
    assert c[100, 320 + 70] > 40 and c[100, 70] < 15  # right: moved down 40 px
    red = frames[3, 120, 1]  # outlier frame: red border
    assert red[0] > 150 and red[1] < 90
    assert _chroma(frames[4][120:121, 1])[0] < 15


def test_video_that_ends_early_stops_and_says_so(synth, tmp_path):
    """A cut video (header says 12 frames) or a stop past the end: render what exists."""
    video, labels = synth
    result = render_video(video, labels, tmp_path / "a.mp4", stop=40)
    assert result.frames == 12 and result.ended_early == 12
    assert "ends at frame 11" in result.notes[0]
    big = write_video(np.random.default_rng(1).integers(0, 255, (40, 240, 320, 1), np.uint8),
                      tmp_path / "big.mp4", fps=10)
    cut = tmp_path / "cut.mp4"
    data = big.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    result = render_video(cut, labels, tmp_path / "b.mp4")
    assert 0 < result.frames < 40 and result.ended_early == result.last + 1
    assert "ended" in " ".join(result.notes)
    assert len(_decode(tmp_path / "b.mp4")) == result.frames


def test_refuses_to_replace_an_input_and_bad_options(synth, tmp_path):
    video, labels = synth
    with pytest.raises(ConfigError, match="replace an input"):
        render_video(video, labels, video)
    with pytest.raises(ConfigError, match="color_by"):
        render_video(video, labels, tmp_path / "x.mp4", color_by="size")
    with pytest.raises(ConfigError, match="start"):
        render_video(video, labels, tmp_path / "x.mp4", start=50)
    assert not (tmp_path / "x.mp4").exists()


def test_cli(synth, tmp_path):
    from posekit.cli.main import main

    video, labels = synth
    slp = tmp_path / "pred.slp"
    labels.save(str(slp))
    out = tmp_path / "cli.mp4"
    assert main(["render", str(video), str(slp), "-o", str(out), "--color-by", "track",
                 "--trails", "3", "--start", "2", "--stop", "8", "--min-score", "0.5"]) == 0
    assert len(_decode(out)) == 6
    assert main(["render", str(video), str(slp), "-o", str(slp)]) == 2
