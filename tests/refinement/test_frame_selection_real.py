"""Frame extraction on the real videos of ../shared/data (slow: decodes 1024x1024 video)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import sleap_io as sio

from posekit.io.labels import load_labels
from posekit.refinement.frame_selection import extract_frames, write_selection

pytestmark = pytest.mark.slow


def test_clip_kmeans_twenty_frames_deterministic_with_skeleton(shared_data, tmp_path):
    clip = shared_data / "clip.mp4"
    a = extract_frames([clip], n=20, seed=0, min_gap=10)
    b = extract_frames([clip], n=20, seed=0, min_gap=10)
    frames = a.frame_indices(0)
    assert frames == b.frame_indices(0) and len(frames) == 20
    assert np.diff(frames).min() >= 10 and a.frames_decoded == 1500 and not a.notes
    assert all(f.cluster is not None and f.cluster_size >= 1 for f in a.frames)
    skeleton = load_labels(shared_data / "clip.slp").skeletons
    out = tmp_path / "clip_frames.slp"
    write_selection(a, out, skeletons=skeleton)
    labels = sio.load_slp(out.as_posix())
    assert len(labels.skeletons[0].nodes) == 13
    assert sorted(s.frame_idx for s in labels.suggestions) == frames
    assert labels.videos[0].shape == (1500, 1024, 1024, 1)


def test_three_real_videos_share_frames_by_length(shared_data, tmp_path):
    videos = [shared_data / "clip.mp4", shared_data / "small_robot.mp4",
              shared_data / "centered_pair_low_quality.mp4"]
    sel = extract_frames(videos, n=20, seed=1)
    assert [len(sel.frame_indices(i)) for i in range(3)] == [11, 1, 8]  # 1500 : 166 : 1100
    write_selection(sel, tmp_path / "three.slp", png_dir=tmp_path / "png")
    robot = sorted((tmp_path / "png" / "small_robot").glob("img*.png"))
    assert len(robot) == 1
    assert cv2.imread(str(robot[0])).shape == (320, 560, 3)  # colour kept in the PNG


def test_events_on_clip(shared_data, tmp_path):
    csv = tmp_path / "events.csv"
    csv.write_text("video,time,label\nclip.mp4,10.0,courtship\nclip.mp4,50.0,chase\n")
    sel = extract_frames([shared_data / "clip.mp4"], events=csv, event_frames=5)
    assert len(sel.frames) == 10
    for f in sel.frames:  # 25 fps: within 1 s (25 frames) of frame 250 or 1250
        centre = 250 if f.event == "courtship" else 1250
        assert f.event_frame == centre and abs(f.frame_idx - centre) <= 25
