"""Outlier frames end to end: rules, numbering, tracks, choosing, reasons, output files."""

from __future__ import annotations

import json

import numpy as np
import pytest
import sleap_io as sio

from posekit.config.problems import InvalidConfigError
from posekit.errors import DataError
from posekit.refinement.outlier_outputs import frame_table, outlier_labels, result_dict
from posekit.refinement.outlier_selection import DEFAULT_N, OutlierSettings, find_outliers
from posekit.refinement.outliers import summarize

from .outlier_helpers import make_predictions, still


def chosen_frames(result) -> list[int]:
    return result.frame[result.chosen].tolist()


def test_defaults_are_deeplabcuts():
    st = OutlierSettings()
    assert (st.p_bound, st.epsilon, st.ar_degree, st.ma_degree) == (0.01, 20.0, 3, 1)
    assert st.methods == ("uncertain", "jump", "fitting", "missing") and DEFAULT_N == 20


def test_frames_where_the_model_finds_fewer_animals_are_missing_outliers():
    pts = still(120, n_animals=2)
    pts[[10, 70], 1] = np.nan  # one of two animals not found
    pts[[40, 119]] = np.nan  # nothing found: the frame is written without instances
    labels = make_predictions(pts, tracks=["a", "b"])
    result = find_outliers(labels, OutlierSettings(methods=("missing",), n=10))
    assert sorted(chosen_frames(result)) == [10, 40, 70, 119]
    col = result.criteria.index("missing")
    assert result.score[result.frame == 40, col][0] == 3.0  # 1 + two animals lacking
    assert result.score[result.frame == 10, col][0] == 2.0
    reason = result.reasons[chosen_frames(result).index(40)][0]
    assert reason["criterion"] == "missing"
    assert "found 0 of the 2 animals" in reason["detail"]
    # With DeepLabCut's criteria only, a frame without any instance fires nothing.
    dlc = find_outliers(labels, OutlierSettings(methods=("uncertain", "jump"), n=10))
    assert not set(chosen_frames(dlc)) & {40, 119}


def test_bad_settings_are_listed_together():
    with pytest.raises(InvalidConfigError) as err:
        OutlierSettings(methods=("jmp", "list"), p_bound=2.0, n=3, fraction=0.1)
    text = str(err.value)
    for part in ("jmp", "p_bound", "fraction", "frames"):
        assert part in text


def test_frames_keep_the_videos_numbering_when_predictions_start_at_500():
    pts = still(200)
    pts[37, 0, 1] += [60.0, 0.0]  # one node of array row 37 jumps away for one frame
    result = find_outliers(make_predictions(pts, first_frame=500), OutlierSettings(n=5))
    assert chosen_frames(result) == [537]
    assert result.frame.min() == 500 and result.frame.max() == 699
    jump = next(r for r in result.reasons[0] if r["criterion"] == "jump")
    assert jump["node"] == "n1" and jump["value"] == pytest.approx(60.0, abs=2.0)
    assert "since frame 536" in jump["detail"]
    assert {r["criterion"] for r in result.reasons[0]} == {"jump", "fitting"}


def test_each_track_is_scored_on_its_own_and_named_in_the_reasons():
    pts = still(150, n_animals=2)
    pts[80, 1, 2] += [0.0, 45.0]
    scores = np.full(pts.shape[:3], 0.9)
    scores[40, 0, 0] = 0.001
    labels = make_predictions(pts, scores, tracks=["female", "male"])
    result = find_outliers(labels, OutlierSettings(n=5))
    assert chosen_frames(result) == [80, 40]  # two criteria fired on 80, one on 40
    assert {(r["track"], r["node"]) for r in result.reasons[0]} == {("male", "n2")}
    assert [(r["criterion"], r["track"]) for r in result.reasons[1]] == [("uncertain", "female")]


def test_untracked_animals_are_linked_by_pose_and_fitting_says_it_was_skipped():
    pts = still(120, n_animals=2)
    pts[1::2] = pts[1::2, ::-1]  # instance order flips every frame, as untracked output does
    pts[60, 0, 0] += 50.0
    result = find_outliers(make_predictions(pts), OutlierSettings(n=5))
    assert chosen_frames(result) == [60]
    assert any("fitting not scored" in note for note in result.notes)


def test_min_nodes_and_the_mean_rule():
    pts = still(100, n_nodes=4)
    pts[30, 0, 0] += [30.0, 0.0]  # one node
    pts[60, 0, :2] += [30.0, 0.0]  # two nodes
    base = {"methods": ("jump",), "n": 10}
    assert chosen_frames(find_outliers(make_predictions(pts), OutlierSettings(**base))) == [60, 30]
    two = OutlierSettings(**base, min_nodes=2)
    assert chosen_frames(find_outliers(make_predictions(pts), two)) == [60]
    mean = OutlierSettings(**base, rule="mean")  # 2 x 30 px / 4 nodes = 15 px < 20
    assert chosen_frames(find_outliers(make_predictions(pts), mean)) == []
    only = OutlierSettings(**base, nodes=("n1",))
    assert chosen_frames(find_outliers(make_predictions(pts), only)) == [60]
    with pytest.raises(DataError, match="tail"):
        find_outliers(make_predictions(pts), OutlierSettings(**base, nodes=("tail",)))


def test_listed_frames_come_first_in_the_order_given():
    pts = still(100)
    pts[50, 0, 0] += 40
    st = OutlierSettings(methods=("jump", "list"), frames=(7, 3, 400), n=5)
    result = find_outliers(make_predictions(pts), st)
    assert chosen_frames(result) == [7, 3, 50]
    assert result.reasons[0][0]["criterion"] == "listed"
    assert any("[400]" in note for note in result.notes)


def test_asking_for_more_frames_than_fire_says_so_and_returns_what_exists():
    pts = still(100)
    pts[[20, 70], 0, 0] += 40
    result = find_outliers(make_predictions(pts), OutlierSettings(n=500))
    assert sorted(chosen_frames(result)) == [20, 70]
    assert any("asked for 500" in n and "fewer frames than asked" in n for n in result.notes)
    filled = find_outliers(make_predictions(pts), OutlierSettings(n=5, fill=True))
    assert len(filled.chosen) == 5 and chosen_frames(filled)[:2] == [20, 70]
    # the frames that fired say what fired; the three added by fill say they were added
    kinds = [[r["criterion"] for r in reasons] for reasons in filled.reasons]
    assert all("filled" not in k and k for k in kinds[:2])
    assert kinds[2:] == [["filled"]] * 3
    assert summarize(filled.reasons[4]).startswith("no criterion fired; next by rank")


def test_fraction_min_gap_and_diversity_among_the_top_candidates():
    pts = still(1000)
    glitches = np.arange(100, 900, 40)
    pts[glitches, 0, 0, 0] += np.linspace(30, 90, len(glitches))
    result = find_outliers(make_predictions(pts), OutlierSettings(fraction=0.005))
    assert len(result.chosen) == 5  # ceil(0.005 * 1000)
    assert set(chosen_frames(result)) <= set(glitches.tolist())
    again = find_outliers(make_predictions(pts), OutlierSettings(fraction=0.005))
    assert chosen_frames(again) == chosen_frames(result)  # seeded
    top = find_outliers(make_predictions(pts), OutlierSettings(n=3, diversity=False))
    assert chosen_frames(top) == glitches[::-1][:3].tolist()  # largest jumps first
    gap = find_outliers(make_predictions(pts), OutlierSettings(n=5, diversity=False, min_gap=100))
    assert np.diff(np.sort(chosen_frames(gap))).min() >= 100


def test_a_gap_that_thins_the_k_means_pool_is_topped_up_by_rank():
    """40 glitches 10 frames apart: a gap of 15 leaves about half of the 3 x n pool; the
    chosen set is still n frames, the gap holds, and with fill the frames that fired
    nothing top it up only after every fired frame that fits."""
    pts = still(700)
    glitches = np.arange(100, 500, 10)
    pts[glitches, 0, 0, 0] += 40.0
    labels = make_predictions(pts)
    gap = find_outliers(labels, OutlierSettings(n=15, min_gap=15))
    frames = np.sort(chosen_frames(gap))
    assert len(frames) == 15 and np.diff(frames).min() >= 15
    assert set(frames) <= set(glitches.tolist()) and not gap.notes
    filled = find_outliers(labels, OutlierSettings(n=30, min_gap=15, fill=True))
    frames = np.sort(chosen_frames(filled))
    assert len(frames) == 30 and np.diff(frames).min() >= 15
    left = glitches[~np.isin(glitches, frames)]  # fired frames not chosen: none would fit
    assert all(np.abs(frames - f).min() < 15 for f in left)
    assert np.isin(glitches, frames).sum() >= 14


def test_frames_a_person_already_labelled_are_never_chosen():
    pts = still(100)
    pts[[20, 70], 0, 0] += 40
    labels = make_predictions(pts)
    lf = next(lf for lf in labels.labeled_frames if lf.frame_idx == 20)
    lf.instances.append(sio.Instance.from_numpy(pts[20, 0], skeleton=labels.skeleton))
    assert chosen_frames(find_outliers(labels, OutlierSettings(n=5))) == [70]


def test_output_labels_carry_the_predictions_as_suggestions_in_rank_order(tmp_path):
    pts = still(100, n_animals=2)
    pts[30, 0, 0] += 30
    pts[60, 1, :] += 80
    labels = make_predictions(pts, tracks=["a", "b"])
    before = [inst.numpy().copy() for lf in labels.labeled_frames for inst in lf.instances]
    result = find_outliers(labels, OutlierSettings(n=5))
    out = outlier_labels(labels, result)
    assert [s.frame_idx for s in out.suggestions] == chosen_frames(result) == [60, 30]
    assert [lf.frame_idx for lf in out.labeled_frames] == [30, 60]
    insts = out.labeled_frames[1].instances
    assert all(isinstance(i, sio.PredictedInstance) for i in insts)
    np.testing.assert_allclose(insts[1].numpy(), pts[60, 1])
    assert [i.track.name for i in insts] == ["a", "b"]
    assert out.provenance["posekit_outliers"]["frames"][0]["frame"] == 60
    after = [inst.numpy() for lf in labels.labeled_frames for inst in lf.instances]
    assert all(np.array_equal(a, b, equal_nan=True) for a, b in zip(before, after, strict=True))
    sio.save_slp(out, str(tmp_path / "fix.slp"))
    back = sio.load_slp(str(tmp_path / "fix.slp"))
    assert len(back.labeled_frames) == 2 and len(back.suggestions) == 2
    report = json.loads(json.dumps(result_dict(result)))
    assert report["chosen"][0]["frame"] == 60 and "jump" in report["chosen"][0]["summary"]
    rows = frame_table(result).splitlines()
    assert rows[0].startswith("video,frame,score_uncertain,score_jump,score_fitting")
    assert len(rows) == 101


def test_tracker_fragments_share_slots_and_a_new_fragment_is_not_a_jump():
    """Two animals; the tracker breaks animal 0 into 40 fragments of 50 frames, every
    other one 30 px to the right: a new fragment is a new trajectory (no jump, no
    fitting across), and memory follows the animals, not the fragments."""
    from posekit.refinement.outliers import PoseTracks

    pts = still(2000, n_animals=2)
    pts[(np.arange(2000) // 50) % 2 == 1, 0] += [30.0, 0.0]
    pts[1010, 0, 1] += [45.0, 0.0]
    labels = make_predictions(pts, tracks=["a0", "b"])
    fragments = [labels.tracks[0]] + [sio.Track(name=f"a{i}") for i in range(1, 40)]
    for lf in labels.labeled_frames:  # animal 0 is fragment a<frame // 50>
        lf.instances[0].track = fragments[lf.frame_idx // 50]
    labels.tracks = [labels.tracks[1], *fragments]
    tracks = PoseTracks.from_labels(labels, 0)
    assert len(tracks.slot_names) == 3 and len(tracks.track_names) == 41
    result = find_outliers(labels, OutlierSettings(n=5))
    assert chosen_frames(result) == [1010]
    assert {r["track"] for r in result.reasons[0]} == {"a20"}
