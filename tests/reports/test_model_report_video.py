"""Video confidence: planted low-confidence stretches, hand-computed shares, real data."""

from __future__ import annotations

import numpy as np
import pytest
import sleap_io as sio

from posekit.reports.video_confidence import VideoScores, video_confidence, video_scores

NODES = ("head", "thorax", "tail")


def planted_video(n: int = 300, seed: int = 0) -> VideoScores:
    """One animal per frame scored ~0.95, except: frames 100-139 (all nodes ~0.3, a low
    stretch), the tail node at 0.5 everywhere after frame 200, no prediction on 280-289."""
    rng = np.random.default_rng(seed)
    frames, scores = [], []
    for f in range(n):
        if 280 <= f < 290:
            continue
        s = np.clip(rng.normal(0.95, 0.02, (1, 3)), 0, 1)
        if 100 <= f < 140:
            s[:] = 0.3
        if f >= 200:
            s[0, 2] = 0.5
        frames.append(f)
        scores.append(s)
    return VideoScores("planted.mp4", NODES, np.array(frames), tuple(scores), n_frames=n)


def test_shares_medians_and_bands_equal_a_hand_computation():
    video = planted_video()
    conf = video_confidence(video, p_cutoff=0.6, window=15)
    stacked = np.concatenate(video.scores)
    assert conf.frames == 300 and conf.frames_with_predictions == 290
    assert conf.median_score == pytest.approx(np.median(stacked))
    assert conf.band == "good"  # 0.9 < median < 0.99
    assert conf.share_points_above == pytest.approx((stacked >= 0.6).mean())
    all_above = sum(bool((s >= 0.6).all()) for s in video.scores)
    assert all_above == 290 - 40 - 90  # the low stretch; the tail on 200-299 but the gap
    assert conf.share_frames_all_above == pytest.approx(all_above / 300)
    tail = conf.node("tail")
    assert tail.share_above_cutoff == pytest.approx((stacked[:, 2] >= 0.6).mean())
    assert tail.median == pytest.approx(np.median(stacked[:, 2]))
    assert conf.node("head").band == "good" and sum(conf.node("head").histogram) == 290


def test_the_timeline_finds_the_low_stretch_and_the_frames_to_look_at_first():
    conf = video_confidence(planted_video(), p_cutoff=0.6, window=15)
    worst = conf.low_segments[0]
    assert (worst.start, worst.end) == (100, 139) and worst.frames == 40
    assert worst.mean_confidence == pytest.approx(0.3)
    # the frames without prediction are the second stretch (confidence 0)
    assert (conf.low_segments[1].start, conf.low_segments[1].end) == (280, 289)
    first = [f.frame for f in conf.look_first]
    assert 280 <= first[0] < 290 and conf.look_first[0].confidence == 0.0
    assert any(100 <= f < 140 for f in first)
    assert all(abs(a - b) >= 15 for i, a in enumerate(first) for b in first[i + 1:])
    assert len(conf.timeline_start) == 300 and conf.timeline_mean[120] == pytest.approx(0.3)


def test_scores_are_read_from_a_predictions_file():
    skeleton = sio.Skeleton(list(NODES))
    video = sio.Video(filename="clip.mp4")
    frames = []
    for f, s in enumerate(([0.9, 0.8, 0.7], [0.95, np.nan, 0.2])):
        pts = np.array([[10.0, 10.0], [20.0, 20.0], [30.0, 30.0]])
        pts[np.isnan(s)] = np.nan
        inst = sio.PredictedInstance.from_numpy(pts, skeleton=skeleton,
                                                point_scores=np.nan_to_num(np.array(s)),
                                                score=1.0)
        frames.append(sio.LabeledFrame(video=video, frame_idx=f, instances=[inst]))
    labels = sio.Labels(labeled_frames=frames, videos=[video], skeletons=[skeleton])
    (scores,) = video_scores(labels)
    assert scores.name == "clip.mp4" and scores.frame_indices.tolist() == [0, 1]
    assert np.allclose(scores.scores[1], [[0.95, np.nan, 0.2]], equal_nan=True)
    conf = video_confidence(scores, p_cutoff=0.6, window=1)
    assert conf.node("thorax").placed == 1 and conf.node("thorax").share_above_cutoff == 0.5
    assert conf.share_frames_all_above == 0.5


def test_real_predictions_over_a_real_video(shared_data):
    """SLEAP's own predictions of two flies over 1100 frames of centered_pair."""
    labels = sio.load_slp(str(shared_data / "centered_pair_predictions.slp"))
    (scores,) = video_scores(labels)
    conf = video_confidence(scores, p_cutoff=0.6)
    stacked = np.concatenate(scores.scores)
    assert conf.frames == 1100 and conf.frames_with_predictions == 1100
    assert conf.median_score == pytest.approx(np.nanmedian(stacked))
    # measured: median 0.78, below the guide's 0.9; 97 % of frames have a point under 0.6
    assert 0.7 < conf.median_score < 0.9 and conf.band == "poor"
    assert conf.share_frames_all_above < 0.1
    assert conf.node("head").share_above_cutoff > conf.node("wingL").share_above_cutoff
    assert conf.low_segments and conf.low_segments[0].frames >= 15
    assert len(conf.look_first) == 10
