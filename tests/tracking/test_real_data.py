"""Re-track SLEAP's predictions for two flies (centered_pair_predictions.slp).

The file holds 1100 frames with two real flies (SLEAP tracks "1" and "2", present on
every frame) plus 74 false positives spread over 25 short track fragments, 27 tracks in
all. We strip the tracks, re-track, and compare with tracks "1" and "2".
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from posekit.tracking import Tracker, TrackingConfig, cleanup_tracks


@pytest.fixture(scope="module")
def predictions(shared_data: Path) -> dict:
    import sleap_io as sio

    labels = sio.load_slp(shared_data / "centered_pair_predictions.slp")
    frames = sorted(labels.labeled_frames, key=lambda lf: lf.frame_idx)
    return {
        "frame_idx": [lf.frame_idx for lf in frames],
        "points": [np.stack([i.numpy() for i in lf.instances]).astype(np.float32) for lf in frames],
        "scores": [np.array([i.score for i in lf.instances], np.float32) for lf in frames],
        "original": [
            np.array([i.track.name if i.track else "" for i in lf.instances]) for lf in frames
        ],
        "n_original_tracks": len(labels.tracks),
    }


def compare(pred: dict, ids: list[np.ndarray]) -> dict:
    """Tracks used, identity switches and coverage of the two real flies, false positives
    that got a track."""
    switches, covered, last = 0, 0, {}
    for orig, ours in zip(pred["original"], ids, strict=True):
        for fly in ("1", "2"):
            tid = int(ours[orig == fly][0])
            if tid < 0:
                continue
            covered += 1
            switches += int(fly in last and last[fly] != tid)
            last[fly] = tid
    flat = np.concatenate(ids)
    fp = np.concatenate([~np.isin(o, ["1", "2"]) for o in pred["original"]])
    return {
        "tracks": len(np.unique(flat[flat >= 0])),
        "switches": switches,
        "covered": covered,
        "false_positives_tracked": int((flat[fp] >= 0).sum()),
        "fly_ids": (last.get("1"), last.get("2")),
    }


def test_retracking_two_flies_with_max_tracks(predictions: dict) -> None:
    assert predictions["n_original_tracks"] == 27
    frames = zip(
        predictions["frame_idx"],
        predictions["points"],
        predictions["scores"],
        [None] * 1100,
        strict=True,
    )
    ids = Tracker(TrackingConfig(max_tracks=2)).track_video(frames)
    got = compare(predictions, ids)
    print("max_tracks=2:", got)
    assert got["tracks"] == 2 and got["switches"] == 0
    assert got["fly_ids"][0] != got["fly_ids"][1]
    # 2199 of the 2200 fly instances: the one left out (frame 1099) has 2 visible nodes.
    assert got["covered"] >= 2195
    assert got["false_positives_tracked"] <= 2

    cfg = TrackingConfig(max_tracks=2, min_track_length=5, max_gap=5, merge_max_gap=30)
    cleaned, filled = cleanup_tracks(predictions["frame_idx"], predictions["points"], ids, cfg)
    after = compare(predictions, cleaned)
    print("after clean-up:", after, "interpolated:", len(filled))
    assert after["tracks"] == 2 and after["switches"] == 0 and after["covered"] >= got["covered"]


def test_retracking_without_a_track_limit(predictions: dict) -> None:
    frames = zip(
        predictions["frame_idx"],
        predictions["points"],
        predictions["scores"],
        [None] * 1100,
        strict=True,
    )
    ids = Tracker(TrackingConfig()).track_video(frames)
    got = compare(predictions, ids)
    cleaned, _ = cleanup_tracks(
        predictions["frame_idx"], predictions["points"], ids, TrackingConfig(min_track_length=5)
    )
    after = compare(predictions, cleaned)
    print("unlimited:", got, "after min_track_length=5:", after)
    # Far fewer fragments than SLEAP's 27, and the two flies never swap.
    assert got["switches"] == 0 and got["tracks"] <= 6
    assert after["tracks"] <= 3 and after["covered"] == got["covered"]
