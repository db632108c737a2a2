"""Events around which to sample, and what extraction writes: suggestions, manifest, PNGs."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import sleap_io as sio

from posekit.errors import ConfigError, DataError
from posekit.io.sources import VideoFrameSource
from posekit.io.synthetic.long_video import write_scene_video
from posekit.refinement.events import read_events
from posekit.refinement.frame_selection import extract_frames, write_selection


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("vids")
    a, _ = write_scene_video(folder / "mouse1.mp4", n_scenes=3, frames_per_scene=100, seed=5)
    b, _ = write_scene_video(folder / "mouse2.mp4", n_scenes=2, frames_per_scene=60, seed=6)
    return [a, b]


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text.strip() + "\n")
    return path


def test_events_get_k_frames_each_within_the_window(videos, tmp_path):
    # an ethogram export: times in seconds, capitalised names, videos by name or stem
    csv = write_csv(tmp_path / "ev.csv", """
Video,Time,Behavior
mouse1.mp4,5.0,rear
mouse2,2.0,groom
mouse1.mp4,9.9333,turn
""")
    sel = extract_frames(videos, events=csv, event_frames=4, event_window=0.5)
    assert sel.requested == 0 and len(sel.frames) == 12
    by_event = {}
    for f in sel.frames:
        by_event.setdefault(f.event, []).append(f)
    assert sorted(by_event) == ["groom", "rear", "turn"]
    centre = {"rear": (0, 150), "groom": (1, 60), "turn": (0, 298)}
    for label, picks in by_event.items():
        video, frame = centre[label]
        assert len(picks) == 4
        assert all(p.video == video and abs(p.frame_idx - frame) <= 15 for p in picks)
        assert all(p.event_frame == frame and "event 'turn'" in p.reason()
                   for p in picks if label == "turn")


def test_events_and_n_together_do_not_repeat_frames(videos, tmp_path):
    csv = write_csv(tmp_path / "ev.csv", "video,frame,label\nmouse1.mp4,10,a\nmouse1.mp4,12,b")
    sel = extract_frames(videos, n=6, events=csv, event_frames=3, event_window=0.1, seed=0)
    keys = [(f.video, f.frame_idx) for f in sel.frames]
    assert len(keys) == len(set(keys)) == 12
    assert sum(f.event is not None for f in sel.frames) == 6


def test_event_problems_are_reported_or_named(videos, tmp_path):
    csv = write_csv(tmp_path / "ev.csv", """
video,frame,label
other.mp4,5,rear
mouse1.mp4,5000,late
mouse1.mp4,20,ok
""")
    sel = extract_frames(videos, events=csv, event_frames=2)
    assert len(sel.frames) == 2
    assert any("'other.mp4' is not among the inputs" in n for n in sel.notes)
    assert any("frame 5000 is past the end" in n for n in sel.notes)
    with pytest.raises(DataError, match="neither 'frame' nor 'time'"):
        read_events(write_csv(tmp_path / "bad.csv", "video,when,label\na.mp4,3,x"))
    with pytest.raises(DataError, match="line 2"):
        read_events(write_csv(tmp_path / "bad2.csv", "video,frame,label\na.mp4,-3,x"))
    with pytest.raises(DataError, match="no video named"):
        extract_frames(videos, events=write_csv(tmp_path / "nv.csv", "frame,label\n3,x"))


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_suggestions_round_trip_with_manifest_and_pngs(videos, tmp_path):
    before = [sha(v) for v in videos]
    sel = extract_frames(videos, n=7, seed=2, min_gap=5)
    out = tmp_path / "to_label.slp"
    written = write_selection(sel, out, png_dir=tmp_path / "png")
    assert [sha(v) for v in videos] == before  # inputs untouched
    labels = sio.load_slp(out.as_posix())
    got = sorted((Path(s.video.filename).name, s.frame_idx) for s in labels.suggestions)
    want = sorted((sel.videos[f.video].path.name, f.frame_idx) for f in sel.frames)
    assert got == want and len(got) == 7
    assert [Path(v.filename).name for v in labels.videos] == ["mouse1.mp4", "mouse2.mp4"]
    manifest = json.loads((tmp_path / "to_label.manifest.json").read_text())
    assert manifest["method"] == "kmeans" and manifest["seed"] == 2
    assert manifest["parameters"]["min_gap"] == 5 and manifest["returned"] == 7
    assert {f["frame_idx"] for f in manifest["frames"]} == {f.frame_idx for f in sel.frames}
    assert all(f["cluster"] is not None and f["distance"] >= 0 for f in manifest["frames"])
    pngs = sorted(p for p in written if p.suffix == ".png")
    assert len(pngs) == 7 and pngs[0].parent.name in ("mouse1", "mouse2")
    first = sel.frames[0]
    png = cv2.imread(str(tmp_path / "png" / "mouse1" / f"img{first.frame_idx:03d}.png"),
                     cv2.IMREAD_UNCHANGED)
    frame = next(iter(VideoFrameSource(videos[0], frames=[first.frame_idx]))).images[0]
    assert np.array_equal(png, frame[..., 0])


def test_embedded_package_holds_the_frames(videos, tmp_path):
    sel = extract_frames(videos[:1], n=3, method="uniform")
    out = tmp_path / "frames.pkg.slp"
    write_selection(sel, out)
    labels = sio.load_slp(out.as_posix())
    assert len(labels.suggestions) == 3
    video = labels.suggestions[0].video
    img = video[labels.suggestions[0].frame_idx]
    ref = next(iter(VideoFrameSource(videos[0], frames=[sel.frames[0].frame_idx]))).images[0]
    assert img.shape == ref.shape and np.abs(img.astype(int) - ref).mean() < 1.0


def test_an_output_that_is_an_input_is_refused(videos, tmp_path):
    sel = extract_frames(videos[:1], n=2, method="uniform")
    with pytest.raises(ConfigError, match="replace an input"):
        write_selection(sel, tmp_path / "x.slp", manifest=videos[0])
    project = tmp_path / "project.slp"
    project.write_bytes(b"precious")
    with pytest.raises(ConfigError, match="replace an input"):
        write_selection(sel, project, protect=[project])
    assert project.read_bytes() == b"precious"
