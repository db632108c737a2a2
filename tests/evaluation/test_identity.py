"""Identity accuracy, ID switches, fragmentations and MOTA on known sequences."""

from __future__ import annotations

import numpy as np
import pytest
import sleap_io as sio

from posekit.errors import ConfigError
from posekit.evaluation import (
    EvaluationSettings,
    IdentityResult,
    MotCounts,
    evaluate,
    evaluate_arrays,
    identity_metrics,
)

ALL_GT = EvaluationSettings(user_instances_only_gt=False)

K = 3
SHAPE = np.array([[0.0, 0.0], [30.0, 10.0], [15.0, 40.0]])  # one animal's pose (box 30 x 40)


def _animal(x: float) -> np.ndarray:
    return SHAPE + np.array([x, 100.0])


def _two_track_sequence():
    """GT: animals A (x=100) and B (x=400) in frames 0..9, tracks A=0, B=1.

    Predictions (tracks p1=0, p2=1, p3=2):
      * A: p1 in 0-3, missing in 4, p1 in 5-6, p3 in 7, p1 in 8-9
        -> 2 ID switches (p1->p3, p3->p1), 1 fragmentation (frame 4);
      * B: p2 everywhere except frame 8 (missing) -> 1 fragmentation;
      * one false positive far away in frame 2.
    """
    gt, pred, gt_tracks, pred_tracks = [], [], [], []
    a_track = {7: 2, 4: None}
    for f in range(10):
        gt.append(np.stack([_animal(100), _animal(400)]))
        gt_tracks.append(np.array([0, 1]))
        p, t = [], []
        if a_track.get(f, 0) is not None:
            p.append(_animal(100) + 0.5)
            t.append(a_track.get(f, 0))
        if f != 8:
            p.append(_animal(400) - 0.5)
            t.append(1)
        if f == 2:
            p.append(_animal(800))
            t.append(1)
        pred.append(np.stack(p))
        pred_tracks.append(np.array(t))
    return gt, pred, gt_tracks, pred_tracks


def test_hand_made_two_track_sequence_hungarian() -> None:
    gt, pred, gt_tracks, pred_tracks = _two_track_sequence()
    m = evaluate_arrays(
        gt,
        pred,
        gt_tracks=gt_tracks,
        pred_tracks=pred_tracks,
        gt_track_names=["A", "B"],
        pred_track_names=["p1", "p2", "p3"],
    )
    ident = m.identity
    assert ident.mapping_rule == "hungarian"
    assert ident.mapping["video"] == {"p1": "A", "p2": "B", "p3": None}
    assert ident.matched_instances_with_gt_track == 18
    assert ident.correct_identity == 17  # A's frame-7 p3 is the one wrong identity
    assert ident.identity_accuracy == pytest.approx(17 / 18)
    assert ident.id_switches == 2
    assert ident.fragmentations == 2
    assert ident.per_track["A"].id_switches == 2
    assert ident.per_track["A"].fragmentations == 1
    assert ident.per_track["B"].fragmentations == 1
    assert ident.mot_counts == MotCounts(
        gt=20, predictions=19, matches=18, false_negatives=2, false_positives=1, id_switches=2
    )
    assert ident.mota == pytest.approx(1 - (2 + 1 + 2) / 20)
    assert m.counts.missed_gt == 2 and m.counts.unmatched_predictions == 1
    assert IdentityResult.from_dict(ident.to_dict()) == ident


def test_name_mapping_and_untracked_predictions() -> None:
    gt, pred, gt_tracks, pred_tracks = _two_track_sequence()
    # Name the predicted tracks like the GT; frame 7's A carries B's name: wrong identity.
    pred_tracks = [np.where(t == 2, 1, t) for t in pred_tracks]
    pred_tracks[5] = np.array([-1, 1])  # A matched but untracked in frame 5
    m = evaluate_arrays(
        gt,
        pred,
        gt_tracks=gt_tracks,
        pred_tracks=pred_tracks,
        gt_track_names=["A", "B"],
        pred_track_names=["A", "B"],
    )
    ident = m.identity
    assert ident.mapping_rule == "name"
    assert ident.matched_without_predicted_track == 1
    assert ident.correct_identity == 16  # frame 7 (wrong name) and frame 5 (untracked)
    # A: A(0-3) . A(5 untracked: no switch) A(6) B(7) A(8,9) -> 2 switches.
    assert ident.id_switches == 2
    # A untracked in 4 and 5 (one interruption), B missing in 8.
    assert ident.fragmentations == 2
    forced = evaluate_arrays(
        gt,
        pred,
        EvaluationSettings(identity_mapping="hungarian"),
        gt_tracks=gt_tracks,
        pred_tracks=pred_tracks,
        gt_track_names=["A", "B"],
        pred_track_names=["A", "B"],
    ).identity
    assert forced.mapping_rule == "hungarian" and forced.correct_identity == 16


def test_identity_unavailable_without_tracks() -> None:
    gt, pred, gt_tracks, _ = _two_track_sequence()
    m = evaluate_arrays(gt, pred, gt_tracks=gt_tracks, gt_track_names=["A", "B"])
    assert m.identity.available is False and m.identity.reason is not None
    assert "predictions" in m.identity.reason
    assert m.identity.mot_counts.false_negatives == 2
    assert m.identity.to_dict() == {
        "available": False,
        "reason": m.identity.reason,
        "mot_counts": {"gt": 20, "predictions": 19, "matches": 18, "false_negatives": 2,
                       "false_positives": 1, "id_switches": None},
    }


# --- the real tracker output: 27 track fragments on two flies -----------------------


def _retracked(labels: sio.Labels, track_for) -> sio.Labels:
    """Copy of ``labels`` with the same points; ``track_for(frame_idx, name)`` returns the
    new track name (None drops the instance)."""
    tracks: dict[str, sio.Track] = {}
    frames = []
    for lf in labels.labeled_frames:
        insts = []
        for inst in lf.instances:
            name = track_for(lf.frame_idx, inst.track.name if inst.track else None)
            if name is None:
                continue
            track = tracks.setdefault(name, sio.Track(name))
            insts.append(
                sio.PredictedInstance.from_numpy(
                    inst.numpy(),
                    skeleton=inst.skeleton,
                    point_scores=inst.points["score"],
                    score=inst.score,
                    track=track,
                )
            )
        frames.append(sio.LabeledFrame(video=lf.video, frame_idx=lf.frame_idx, instances=insts))
    return sio.Labels(frames, videos=labels.videos, skeletons=labels.skeletons)


@pytest.fixture(scope="module")
def centered_pair(shared_data):
    return sio.load_slp(str(shared_data / "centered_pair_predictions.slp"))


def test_real_tracks_against_themselves_and_relabelled(centered_pair) -> None:
    assert len(centered_pair.tracks) == 27
    same = evaluate(centered_pair, centered_pair, ALL_GT)
    ident = same.identity
    assert same.oks.map == 1.0 and same.localization.mean_px == 0.0
    assert ident.mapping_rule == "name" and ident.identity_accuracy == 1.0
    assert ident.id_switches == 0 and ident.fragmentations == 0 and ident.mota == 1.0
    renamed = _retracked(centered_pair, lambda f, n: f"t{n}")
    ident = evaluate(centered_pair, renamed, ALL_GT).identity
    assert ident.mapping_rule == "hungarian"
    assert len(ident.mapping[next(iter(ident.mapping))]) == 27
    assert ident.identity_accuracy == 1.0 and ident.id_switches == 0


def test_real_tracks_with_a_swap_and_a_gap(centered_pair) -> None:
    def present(frames_range, name):
        return {
            lf.frame_idx
            for lf in centered_pair.labeled_frames
            if lf.frame_idx in frames_range
            for i in lf.instances
            if i.track is not None and i.track.name == name
        }

    # Tracks "1" and "2" follow the two flies through the clip.
    assert present(range(499, 501), "1") == {499, 500}
    assert present(range(499, 501), "2") == {499, 500}
    assert present(range(299, 311), "1") == set(range(299, 311))

    def perturb(frame: int, name: str | None) -> str | None:
        if name == "1" and 300 <= frame < 310:
            return None  # a 10-frame gap in track "1": 10 misses, 1 fragmentation
        if frame >= 500 and name in ("1", "2"):
            return {"1": "2", "2": "1"}[name]  # identities swapped from frame 500 on
        return name

    m = evaluate(centered_pair, _retracked(centered_pair, perturb), ALL_GT)
    ident = m.identity
    swapped = sum(
        1
        for lf in centered_pair.labeled_frames
        if lf.frame_idx >= 500
        for i in lf.instances
        if i.track is not None and i.track.name in ("1", "2")
    )
    n_gt = sum(len(lf.instances) for lf in centered_pair.labeled_frames)
    assert m.counts.missed_gt == 10 and m.counts.unmatched_predictions == 0
    assert ident.mapping_rule == "name"
    assert ident.id_switches == 2  # GT "1" and GT "2" each switch once, at frame 500
    assert ident.fragmentations == 1
    assert ident.correct_identity == n_gt - 10 - swapped
    assert ident.mota == pytest.approx(1 - (10 + 0 + 2) / n_gt)


def test_unknown_mapping_rule_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="identity_mapping"):
        EvaluationSettings(identity_mapping="majority")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="identity_mapping"):
        identity_metrics([], [], [], "majority")  # type: ignore[arg-type]
