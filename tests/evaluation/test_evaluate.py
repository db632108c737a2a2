"""evaluate() on sio.Labels: pairing of videos / frames / nodes, errors, JSON output."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import sleap_io as sio

from posekit.errors import DataError
from posekit.evaluation import (
    EvaluationResult,
    EvaluationSettings,
    evaluate,
    evaluate_arrays,
    load_metrics,
    pair_videos,
    save_metrics,
)
from posekit.evaluation.metrics import instance_scores
from posekit.evaluation.records import VideoPairing
from posekit.evaluation.results import SCHEMA_VERSION

NODES = ["head", "thorax", "tail"]
POSE = np.array([[0.0, 0.0], [40.0, 30.0], [80.0, 60.0]])


def make_labels(
    frames: dict[int, list[np.ndarray]],
    *,
    video: str = "/data/session1/cam.mp4",
    nodes: list[str] = NODES,
    predicted: bool = False,
    scores: dict[int, list[float]] | None = None,
    tracks: dict[int, list[str]] | None = None,
) -> sio.Labels:
    """Labels with one video; ``frames`` maps frame index -> list of (K, 2) point arrays."""
    skeleton = sio.Skeleton(list(nodes))  # sleap-io converts the list in place
    vid = sio.Video.from_filename(video)
    track_objs: dict[str, sio.Track] = {}
    lfs = []
    for fidx, insts in frames.items():
        out = []
        for j, pts in enumerate(insts):
            track = None
            if tracks is not None:
                name = tracks[fidx][j]
                track = track_objs.setdefault(name, sio.Track(name))
            if predicted:
                score = scores[fidx][j] if scores else 1.0
                out.append(
                    sio.PredictedInstance.from_numpy(
                        pts,
                        skeleton=skeleton,
                        point_scores=np.ones(len(nodes)),
                        score=score,
                        track=track,
                    )
                )
            else:
                out.append(sio.Instance.from_numpy(pts, skeleton=skeleton, track=track))
        lfs.append(sio.LabeledFrame(video=vid, frame_idx=fidx, instances=out))
    return sio.Labels(lfs, videos=[vid], skeletons=[skeleton])


def test_perfect_predictions_with_other_node_order_and_basename_pairing() -> None:
    gt = make_labels({0: [POSE + 100], 3: [POSE + 200, POSE + [400, 50]]})
    order = [2, 0, 1]  # predictions stored as tail, head, thorax
    pred = make_labels(
        {0: [(POSE + 100)[order]], 3: [(POSE + 200)[order], (POSE + [400, 50])[order]]},
        video="/elsewhere/cam.mp4",
        nodes=[NODES[i] for i in order],
        predicted=True,
    )
    m = evaluate(gt, pred)
    assert m.oks.map == 1.0 and m.oks.mar == 1.0
    assert m.localization.mean_px == 0.0 and m.pck.px[1] == 1.0
    assert m.counts.matched == 3
    assert m.pairing is not None
    assert m.pairing.videos["/data/session1/cam.mp4"].method == "basename"
    assert list(m.per_node) == NODES


def test_noisy_predictions_numbers() -> None:
    # One instance, errors: head 3-4-5 = 5 px, thorax 0, tail missing.
    pred_pose = POSE + 100
    pred_pose = pred_pose + np.array([[3.0, 4.0], [0.0, 0.0], [np.nan, np.nan]])
    gt = make_labels({0: [POSE + 100]})
    pred = make_labels({0: [pred_pose]}, predicted=True, scores={0: [0.7]})
    m = evaluate(gt, pred, EvaluationSettings(pck_thresholds=(1, 5)))
    assert m.localization.n == 2
    assert m.localization.mean_px == pytest.approx(2.5)
    assert m.localization.rmse_px == pytest.approx(math.sqrt(12.5))
    assert m.pck.px == {1.0: pytest.approx(1 / 3), 5.0: pytest.approx(2 / 3)}
    assert m.visibility.fn == 1 and m.visibility.recall == pytest.approx(2 / 3)
    assert m.per_node["head"].localization.mean_px == pytest.approx(5.0)
    assert m.per_node["tail"].localization.n == 0
    assert m.per_node["tail"].localization.mean_px is None  # undefined, not NaN
    # OKS: area 80 * 60 = 4800; head e = 25 / 0.0025 / 4800 / 2, tail missing -> 0.
    expected = (math.exp(-25 / 0.0025 / 4800 / 2) + 1 + 0) / 3
    assert m.oks.mean_oks_matched == pytest.approx(expected)
    assert m.oks.sigmas == {n: 0.025 for n in NODES}
    assert "bounding box" in m.oks.area_definition and "exp(" in m.oks.formula


def test_frames_without_predictions_are_misses_and_index_pairing() -> None:
    gt = make_labels({0: [POSE], 5: [POSE + 50]}, video="a.mp4")
    pred = make_labels({0: [POSE], 9: [POSE]}, video="b.mp4", predicted=True)
    m = evaluate(gt, pred)
    assert m.pairing is not None
    assert m.pairing.videos["a.mp4"] == VideoPairing(predictions_video="b.mp4", method="index")
    assert m.counts.gt_instances == 2 and m.counts.missed_gt == 1
    assert m.pairing.gt_frames_without_predictions == 1
    assert m.oks.mar == pytest.approx(0.5)  # frame 9 is not a GT frame: not an FP
    assert m.counts.predicted_instances == 1


def test_user_instances_only() -> None:
    gt = make_labels({0: [POSE]})
    # Add a predicted instance to the GT frame and a predictions-only frame.
    skel = gt.skeletons[0]
    gt.labeled_frames[0].instances.append(
        sio.PredictedInstance.from_numpy(POSE + 300, skeleton=skel, score=0.5)
    )
    gt.labeled_frames.append(
        sio.LabeledFrame(
            video=gt.videos[0],
            frame_idx=7,
            instances=[sio.PredictedInstance.from_numpy(POSE, skeleton=skel, score=0.5)],
        )
    )
    pred = make_labels({0: [POSE], 7: [POSE]}, predicted=True)
    m = evaluate(gt, pred)
    assert m.counts.frames == 1 and m.counts.gt_instances == 1
    assert m.settings.user_instances_only_gt is True
    m_all = evaluate(gt, pred, EvaluationSettings(user_instances_only_gt=False))
    assert m_all.counts.frames == 2 and m_all.counts.gt_instances == 3
    assert m_all.settings.user_instances_only_gt is False
    only_pred = make_labels({0: [POSE]}, predicted=True)
    with pytest.raises(DataError, match="user_instances_only_gt=False"):
        evaluate(only_pred, pred)


def test_mismatched_skeleton_is_a_clear_error() -> None:
    gt = make_labels({0: [POSE]})
    pred = make_labels({0: [POSE]}, nodes=["head", "thorax", "abdomen"], predicted=True)
    with pytest.raises(DataError, match=r"missing: \['tail'\]; extra: \['abdomen'\]"):
        evaluate(gt, pred)


def test_unpairable_frames_and_videos_are_clear_errors() -> None:
    gt = make_labels({0: [POSE], 1: [POSE]}, video="a.mp4")
    pred = make_labels({10: [POSE], 11: [POSE]}, video="a.mp4", predicted=True)
    with pytest.raises(DataError, match="none of its frames pairs"):
        evaluate(gt, pred)
    other = make_labels({0: [POSE]}, video="b.mp4", predicted=True)
    other.videos.append(sio.Video.from_filename("c.mp4"))
    with pytest.raises(DataError, match="none of its videos"):
        evaluate(gt, other)


def test_empty_predictions_score_zero() -> None:
    gt = make_labels({0: [POSE]})
    m = evaluate(gt, sio.Labels())
    assert m.oks.map == 0.0 and m.counts.missed_gt == 1
    assert m.localization.mean_px is None and m.localization.n == 0


def test_instance_score_fallbacks() -> None:
    scores = instance_scores(
        np.array([0.8, np.nan, np.nan]),
        np.array([[0.1, 0.2], [0.4, np.nan], [np.nan, np.nan]]),
    )
    np.testing.assert_allclose(scores, [0.8, 0.4, 1.0])


def test_degenerate_gt_still_matched_through_fallback_area() -> None:
    """A GT animal with one visible point is matched (using the median area) for the
    distance metrics, while COCO mAP keeps its zero area."""
    one_point = np.array([[50.0, 50.0], [np.nan, np.nan], [np.nan, np.nan]])
    gt = [np.stack([POSE + 300, one_point])]
    pred = [np.stack([POSE + 300, one_point + [2.0, 0.0]])]
    m = evaluate_arrays(gt, pred, node_names=NODES)
    assert m.counts.matched == 2
    assert m.settings.match_area_fallback_px2 == pytest.approx(80 * 60)
    assert m.per_node["head"].localization.mean_px == pytest.approx(1.0)
    assert m.oks.ar[0.5] == pytest.approx(0.5)  # COCO: exact hits only at area 0
    assert m.pck.bbox_instances_excluded == 1  # the one-point animal has no diagonal
    strict = EvaluationSettings(match_area_fallback=4.0, match_oks_threshold=0.1)
    given = evaluate_arrays(gt, pred, strict, node_names=NODES)
    assert given.settings.match_area_fallback_source == "given"
    assert given.settings.match_area_fallback_px2 == 4.0
    assert given.counts.matched == 1  # 2 px off on a 4 px² area: OKS exp(-200) < 0.1


def test_evaluate_arrays_rejects_bad_shapes() -> None:
    with pytest.raises(DataError, match="expected one prediction array per ground-truth frame"):
        evaluate_arrays([POSE[None]], [])
    with pytest.raises(DataError, match=r"pred_points\[0\].*expected \(n_instances, 3, 2\)"):
        evaluate_arrays([POSE[None]], [np.zeros((1, 4, 2))])


def test_json_round_trip(tmp_path) -> None:
    gt = make_labels({0: [POSE], 2: [POSE + 40]}, tracks={0: ["a"], 2: ["a"]})
    pred = make_labels({0: [POSE + 1], 2: [POSE + 43]}, predicted=True,
                       tracks={0: ["x"], 2: ["x"]})
    m = evaluate(gt, pred)
    path = save_metrics(m, tmp_path / "metrics.json")
    loaded = load_metrics(path)
    assert loaded == m  # every field, nested types included
    assert loaded.identity.available and loaded.identity.per_track["a"].matched == 2
    tail = (math.sqrt(2) + math.sqrt(18)) / 2  # 1 px and 3 px off in x and y
    assert loaded.per_node["tail"].localization.mean_px == pytest.approx(tail)
    assert loaded.provenance.posekit_version
    text = path.read_text()
    assert "NaN" not in text
    data = json.loads(text)  # strict JSON
    assert data["schema_version"] == SCHEMA_VERSION
    assert data["oks"]["AP"]["0.50"] == m.oks.ap[0.5] and data["pck_px"]["5"] == m.pck.px[5]
    assert EvaluationResult.from_json(m.to_json()) == m
    # Undefined values are null in the file and None when read back.
    empty = evaluate(gt, sio.Labels())
    assert json.loads(empty.to_json())["localization"]["mean_px"] is None
    assert load_metrics(save_metrics(empty, tmp_path / "m2.json")) == empty


def _unversioned(m: EvaluationResult) -> dict:
    """``m`` as posekit wrote it before metrics files had a schema_version."""
    data = m.to_dict()
    del data["schema_version"]
    oks = data["oks"]
    data["settings"].update(
        oks_sigmas=oks.pop("sigmas"), oks_area=oks.pop("area"), oks_formula=oks.pop("formula"),
        oks_thresholds=[0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95],
    )
    for node in data["per_node"].values():
        del node["pck_bbox_diagonal"]["matched_instances_excluded"]
    data["note"] = "instances were cropped around the labelled anchors"
    return data


def test_files_without_schema_version_still_load(tmp_path) -> None:
    m = evaluate(make_labels({0: [POSE]}), make_labels({0: [POSE + 1]}, predicted=True))
    path = tmp_path / "old.json"
    path.write_text(json.dumps(_unversioned(m)))
    old = load_metrics(path)
    assert old.oks == m.oks and old.per_node == m.per_node
    assert old.notes == (*m.notes, "instances were cropped around the labelled anchors")
    assert old.with_note("x").notes[-1] == "x"


def test_newer_or_foreign_files_are_refused(tmp_path) -> None:
    m = evaluate_arrays([POSE[None]], [POSE[None] + 1], node_names=NODES)
    newer = m.to_dict() | {"schema_version": SCHEMA_VERSION + 1}
    (tmp_path / "new.json").write_text(json.dumps(newer))
    with pytest.raises(DataError, match=r"schema_version 2 is not one this posekit reads"):
        load_metrics(tmp_path / "new.json")
    (tmp_path / "other.json").write_text(json.dumps({"loss": [1, 2]}))
    with pytest.raises(DataError, match="not a posekit metrics file"):
        load_metrics(tmp_path / "other.json")
    broken = m.to_dict()
    del broken["counts"]["matched"]
    (tmp_path / "broken.json").write_text(json.dumps(broken))
    with pytest.raises(DataError, match=r"counts\.matched: missing"):
        load_metrics(tmp_path / "broken.json")
    with pytest.raises(DataError, match="cannot read the metrics file"):
        load_metrics(tmp_path / "absent.json")


def test_negative_frames_count_false_positives_and_empty_frames_are_skipped() -> None:
    gt = make_labels({0: [POSE]})
    gt.labeled_frames.append(
        sio.LabeledFrame(video=gt.videos[0], frame_idx=1, instances=[], is_negative=True)
    )
    gt.labeled_frames.append(sio.LabeledFrame(video=gt.videos[0], frame_idx=2, instances=[]))
    pred = make_labels({0: [POSE], 1: [POSE + 50], 2: [POSE + 90]}, predicted=True)
    m = evaluate(gt, pred)
    # Frame 1 is a labelled "no animal" frame: its prediction is a false positive. Frame 2
    # is an empty frame nobody marked, so it is not evaluated.
    assert m.counts.frames == 2
    assert m.counts.unmatched_predictions == 1 and m.counts.matched == 1
    assert m.counts.instance_precision == pytest.approx(0.5)


# SLEAP 1.x's own evaluation of these predictions, read from the metrics.val.npz files that
# ship beside them in shared/data/legacy_sleap_models (dist.avg, dist.p50, dist.p90,
# oks.mOKS, oks_voc.mAP, oks_voc.mAR).
SLEAP_RECORDED = {
    "minimal_instance.UNet.bottomup": (
        1.1816566628082794, 1.018575219858076, 1.641739203019642,
        0.8446238281642842, 0.7504950495049505, 0.75,
    ),
    "minimal_instance.UNet.centered_instance": (
        1.0237071984038564, 0.9978331364748366, 1.377530428143121,
        0.8897484884668675, 0.8252475247524752, 0.85,
    ),
}  # fmt: skip


@pytest.mark.parametrize("model", sorted(SLEAP_RECORDED))
def test_matches_sleaps_recorded_metrics_on_real_predictions(shared_data, model: str) -> None:
    folder = shared_data / "legacy_sleap_models" / model
    m = evaluate(
        sio.load_slp(str(folder / "labels_gt.val.slp")),
        sio.load_slp(str(folder / "labels_pr.val.slp")),
    )
    avg, p50, p90, moks, m_ap, m_ar = SLEAP_RECORDED[model]
    assert m.localization.mean_px == pytest.approx(avg, abs=1e-9)
    assert m.localization.median_px == pytest.approx(p50, abs=1e-9)
    assert m.localization.p90_px == pytest.approx(p90, abs=1e-9)
    assert m.oks.mean_oks_matched == pytest.approx(moks, abs=1e-9)
    assert m.oks.map == pytest.approx(m_ap, abs=1e-9)
    assert m.oks.mar == pytest.approx(m_ar, abs=1e-9)


def test_pair_videos_rules() -> None:
    v = sio.Video.from_filename
    gt = [v("/a/cam1.mp4"), v("/a/cam2.mp4"), v("/a/cam3.mp4")]
    pred = [v("/b/cam2.mp4"), v("/a/cam1.mp4"), v("/b/other.mp4")]
    assert pair_videos(gt, pred) == {0: (1, "filename"), 1: (0, "basename"), 2: (2, "index")}
    # Two candidates with the same base name are ambiguous; no index fallback when the
    # numbers of videos differ.
    pred = [v("/b/cam1.mp4"), v("/c/cam1.mp4")]
    assert pair_videos(gt, pred) == {}
