"""evaluate() on sio.Labels: pairing of videos / frames / nodes, errors, JSON output."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import sleap_io as sio

from posekit.errors import DataError
from posekit.evaluation import evaluate, evaluate_arrays, load_metrics, pair_videos, save_metrics
from posekit.evaluation.metrics import instance_scores

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
    assert m["oks"]["mAP"] == 1.0 and m["oks"]["mAR"] == 1.0
    assert m["localization"]["mean_px"] == 0.0 and m["pck_px"]["1"] == 1.0
    assert m["counts"]["matched"] == 3
    assert m["pairing"]["videos"]["/data/session1/cam.mp4"]["method"] == "basename"
    assert list(m["per_node"]) == NODES


def test_noisy_predictions_numbers() -> None:
    # One instance, errors: head 3-4-5 = 5 px, thorax 0, tail missing.
    pred_pose = POSE + 100
    pred_pose = pred_pose + np.array([[3.0, 4.0], [0.0, 0.0], [np.nan, np.nan]])
    gt = make_labels({0: [POSE + 100]})
    pred = make_labels({0: [pred_pose]}, predicted=True, scores={0: [0.7]})
    m = evaluate(gt, pred, pck_thresholds=(1, 5))
    assert m["localization"]["n"] == 2
    assert m["localization"]["mean_px"] == pytest.approx(2.5)
    assert m["localization"]["rmse_px"] == pytest.approx(math.sqrt(12.5))
    assert m["pck_px"] == {"1": pytest.approx(1 / 3), "5": pytest.approx(2 / 3)}
    assert m["visibility"]["fn"] == 1 and m["visibility"]["recall"] == pytest.approx(2 / 3)
    assert m["per_node"]["head"]["localization"]["mean_px"] == pytest.approx(5.0)
    assert m["per_node"]["tail"]["localization"]["n"] == 0
    # OKS: area 80 * 60 = 4800; head e = 25 / 0.0025 / 4800 / 2, tail missing -> 0.
    expected = (math.exp(-25 / 0.0025 / 4800 / 2) + 1 + 0) / 3
    assert m["oks"]["mean_oks_matched"] == pytest.approx(expected)
    assert m["settings"]["oks_sigmas"] == {n: 0.025 for n in NODES}


def test_frames_without_predictions_are_misses_and_index_pairing() -> None:
    gt = make_labels({0: [POSE], 5: [POSE + 50]}, video="a.mp4")
    pred = make_labels({0: [POSE], 9: [POSE]}, video="b.mp4", predicted=True)
    m = evaluate(gt, pred)
    assert m["pairing"]["videos"]["a.mp4"] == {"predictions_video": "b.mp4", "method": "index"}
    assert m["counts"]["gt_instances"] == 2 and m["counts"]["missed_gt"] == 1
    assert m["pairing"]["gt_frames_without_predictions"] == 1
    assert m["oks"]["mAR"] == pytest.approx(0.5)  # frame 9 is not a GT frame: not an FP
    assert m["counts"]["predicted_instances"] == 1


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
    assert m["counts"]["frames"] == 1 and m["counts"]["gt_instances"] == 1
    m_all = evaluate(gt, pred, user_instances_only_gt=False)
    assert m_all["counts"]["frames"] == 2 and m_all["counts"]["gt_instances"] == 3
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
    assert m["oks"]["mAP"] == 0.0 and m["counts"]["missed_gt"] == 1
    assert math.isnan(m["localization"]["mean_px"])


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
    assert m["counts"]["matched"] == 2
    assert m["settings"]["match_area_fallback_px2"] == pytest.approx(80 * 60)
    assert m["per_node"]["head"]["localization"]["mean_px"] == pytest.approx(1.0)
    assert m["oks"]["AR"]["0.50"] == pytest.approx(0.5)  # COCO: exact hits only at area 0


def test_evaluate_arrays_rejects_bad_shapes() -> None:
    with pytest.raises(DataError, match="expected one prediction array per ground-truth frame"):
        evaluate_arrays([POSE[None]], [])
    with pytest.raises(DataError, match=r"pred_points\[0\].*expected \(n_instances, 3, 2\)"):
        evaluate_arrays([POSE[None]], [np.zeros((1, 4, 2))])


def test_json_round_trip(tmp_path) -> None:
    gt = make_labels({0: [POSE]})
    pred = make_labels({0: [POSE + 1]}, predicted=True)
    m = evaluate(gt, pred)
    path = save_metrics(m, tmp_path / "metrics.json")
    loaded = load_metrics(path)
    assert loaded["oks"]["mAP"] == m["oks"]["mAP"]
    assert loaded["per_node"]["tail"]["localization"]["mean_px"] == pytest.approx(math.sqrt(2))
    assert loaded["identity"]["available"] is False
    assert loaded["settings"]["oks_sigmas"]["head"] == 0.025
    assert loaded["provenance"]["posekit_version"]
    text = path.read_text()
    assert "NaN" not in text
    json.loads(text)  # strict JSON
    # Undefined values become null.
    m["localization"]["mean_px"] = float("nan")
    assert load_metrics(save_metrics(m, tmp_path / "m2.json"))["localization"]["mean_px"] is None


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
    assert m["counts"]["frames"] == 2
    assert m["counts"]["unmatched_predictions"] == 1 and m["counts"]["matched"] == 1
    assert m["counts"]["instance_precision"] == pytest.approx(0.5)


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
    assert m["localization"]["mean_px"] == pytest.approx(avg, abs=1e-9)
    assert m["localization"]["median_px"] == pytest.approx(p50, abs=1e-9)
    assert m["localization"]["p90_px"] == pytest.approx(p90, abs=1e-9)
    assert m["oks"]["mean_oks_matched"] == pytest.approx(moks, abs=1e-9)
    assert m["oks"]["mAP"] == pytest.approx(m_ap, abs=1e-9)
    assert m["oks"]["mAR"] == pytest.approx(m_ar, abs=1e-9)


def test_pair_videos_rules() -> None:
    v = sio.Video.from_filename
    gt = [v("/a/cam1.mp4"), v("/a/cam2.mp4"), v("/a/cam3.mp4")]
    pred = [v("/b/cam2.mp4"), v("/a/cam1.mp4"), v("/b/other.mp4")]
    assert pair_videos(gt, pred) == {0: (1, "filename"), 1: (0, "basename"), 2: (2, "index")}
    # Two candidates with the same base name are ambiguous; no index fallback when the
    # numbers of videos differ.
    pred = [v("/b/cam1.mp4"), v("/c/cam1.mp4")]
    assert pair_videos(gt, pred) == {}
