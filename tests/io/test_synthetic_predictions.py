"""Synthetic predictions with planted failures: what is planted and where the truth says."""

from __future__ import annotations

import numpy as np
import pytest
import sleap_io as sio

from posekit.io.synthetic import SynthSpec, render
from posekit.io.synthetic.predictions import FailureSpec, plant_failures, true_poses


def test_true_poses_are_the_renderers_poses_without_the_pixels():
    spec = SynthSpec(n_frames=12, n_animals=2, height=64, width=64, seed=5)
    poses, skeleton = true_poses(spec)
    np.testing.assert_allclose(poses, render(spec).true_points, atol=1e-4)
    assert skeleton.node_names == render(spec).skeleton.node_names


def test_planted_failures_and_their_truth():
    spec = SynthSpec(n_frames=1500, n_animals=2, seed=1, animal_size=0.25)
    poses, skeleton = true_poses(spec)
    fail = FailureSpec(jumps=6, low_scores=5, drifts=4, swaps=3, seed=2)
    pred = plant_failures(poses, skeleton, fail, first_frame=300)
    kinds = [e.kind for e in pred.truth.events]
    assert kinds.count("jump") == 6 and kinds.count("low_score") == 5
    assert kinds.count("drift") == 4 and 1 <= kinds.count("swap") <= 3
    starts = sorted(e.frame for e in pred.truth.events)
    assert min(np.diff(starts)) >= fail.spacing and starts[0] >= 300
    moved = np.linalg.norm(pred.points - pred.true_points, axis=-1)
    assert (moved[pred.truth.outlier & (pred.scores >= fail.p_bound)] > fail.epsilon).all()
    assert (moved[pred.truth.touched] <= fail.epsilon).all()
    low = [e for e in pred.truth.events if e.kind == "low_score"]
    for e in low:
        rows = np.arange(e.frame, e.frame + e.length) - 300
        assert (pred.scores[rows][:, e.slots[0], list(e.nodes)] < fail.p_bound).all()
    swaps = [e for e in pred.truth.events if e.kind == "swap"]
    assert pred.truth.switch.sum() == 2 * len(swaps)
    first = swaps[0]
    a, b = first.slots  # the tracks exchange animals from that frame until the next swap
    rows = slice(first.frame - 300, swaps[1].frame - 300 if len(swaps) > 1 else None)
    np.testing.assert_allclose(pred.true_points[rows, a], poses[rows, b])
    clean = ~pred.truth.outlier & ~pred.truth.touched
    assert np.abs(moved[clean]).mean() == pytest.approx(fail.noise_px * np.sqrt(np.pi / 2),
                                                        rel=0.05)


def test_labels_hold_tracked_predicted_instances_numbered_from_the_first_frame():
    spec = SynthSpec(n_frames=300, n_animals=2, seed=3)
    pred = plant_failures(render(spec), spec=FailureSpec(jumps=1, low_scores=1, drifts=1,
                                                         swaps=1, seed=0), first_frame=1000)
    labels = pred.labels
    assert [lf.frame_idx for lf in labels.labeled_frames][:2] == [1000, 1001]
    inst = labels.labeled_frames[0].instances[1]
    assert isinstance(inst, sio.PredictedInstance) and inst.track.name == "animal_1"
    np.testing.assert_allclose(inst.numpy(), pred.points[0, 1])
    np.testing.assert_allclose(inst.points["score"], pred.scores[0, 1])
    again = plant_failures(render(spec), spec=FailureSpec(jumps=1, low_scores=1, drifts=1,
                                                          swaps=1, seed=0), first_frame=1000)
    np.testing.assert_array_equal(again.points, pred.points)  # seeded


def test_one_animal_gets_no_swaps_and_no_tracks():
    poses, skeleton = true_poses(SynthSpec(n_frames=600, seed=4))
    pred = plant_failures(poses, skeleton, FailureSpec(swaps=3, jumps=2, low_scores=0,
                                                       drifts=0))
    assert {e.kind for e in pred.truth.events} == {"jump"}
    assert not pred.labels.tracks
