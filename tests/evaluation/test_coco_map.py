"""mAP / mAR must equal pycocotools' COCOeval (iouType="keypoints") on the same data."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from posekit.evaluation import EvaluationSettings, evaluate_arrays
from posekit.evaluation.coco_map import COCO_OKS_THRESHOLDS, FrameDetections, coco_keypoint_map
from posekit.evaluation.oks import instance_areas, oks_matrix

FAR = -3000.0  # where a missing predicted point is put for pycocotools (OKS term exactly 0)


def _run_pycocotools(gt_frames, pred_frames, scores, sigmas):
    """COCOeval on the same data; returns (precision (T, 101), recall (T,), stats)."""
    n_nodes = len(sigmas)
    images = [{"id": i + 1} for i in range(len(gt_frames))]
    anns, ann_id = [], 1
    for i, gt in enumerate(gt_frames):
        areas = instance_areas(gt)
        for g, inst in enumerate(gt):
            vis = np.isfinite(inst).all(axis=1)
            kps = np.zeros((n_nodes, 3))
            kps[vis, :2] = inst[vis]
            kps[vis, 2] = 2
            if vis.any():
                lo, hi = inst[vis].min(axis=0), inst[vis].max(axis=0)
                bbox = [float(lo[0]), float(lo[1]), float(hi[0] - lo[0]), float(hi[1] - lo[1])]
            else:
                bbox = [0.0, 0.0, 0.0, 0.0]
            anns.append(
                {
                    "id": ann_id,
                    "image_id": i + 1,
                    "category_id": 1,
                    "keypoints": kps.reshape(-1).tolist(),
                    "num_keypoints": int(vis.sum()),
                    "area": float(areas[g]),
                    "bbox": bbox,
                    "iscrowd": 0,
                }
            )
            ann_id += 1
    dataset = {
        "images": images,
        "annotations": anns,
        "categories": [{"id": 1, "name": "animal", "keypoints": [f"n{k}" for k in range(n_nodes)]}],
    }
    results = []
    for i, (pred, sc) in enumerate(zip(pred_frames, scores)):
        for p, inst in enumerate(pred):
            pts = np.where(np.isfinite(inst), inst, FAR)
            kps = np.concatenate([pts, np.ones((n_nodes, 1))], axis=1)
            results.append(
                {
                    "image_id": i + 1,
                    "category_id": 1,
                    "keypoints": kps.reshape(-1).tolist(),
                    "score": float(sc[p]),
                }
            )
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = dataset
        coco_gt.createIndex()
        coco_dt = coco_gt.loadRes(results)
        ev = COCOeval(coco_gt, coco_dt, iouType="keypoints")
        ev.params.kpt_oks_sigmas = np.asarray(sigmas, dtype=np.float64)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev.eval["precision"][:, :, 0, 0, 0], ev.eval["recall"][:, 0, 0, 0], ev.stats


def _synthetic(
    seed: int,
    *,
    n_frames: int = 40,
    n_nodes: int = 6,
    max_gt: int = 4,
    noise: float = 3.0,
    p_invisible: float = 0.15,
    p_miss_instance: float = 0.15,
    p_missing_point: float = 0.1,
    n_false_positive: float = 0.5,
    tied_scores: bool = False,
    empty_gt_instances: bool = True,
):
    """Random frames: GT instances, noisy predictions, misses and scored false positives."""
    rng = np.random.default_rng(seed)
    gt_frames, pred_frames, score_frames = [], [], []
    for _ in range(n_frames):
        n_gt = int(rng.integers(0, max_gt + 1))
        centers = rng.uniform(100, 900, size=(n_gt, 1, 2))
        sizes = rng.uniform(15, 120, size=(n_gt, 1, 2))
        gt = centers + rng.uniform(-1, 1, size=(n_gt, n_nodes, 2)) * sizes
        gt[rng.random((n_gt, n_nodes)) < p_invisible] = np.nan
        if empty_gt_instances and n_gt and rng.random() < 0.1:
            gt[0] = np.nan  # a GT instance with no visible keypoint: COCO ignores it
        preds, scores = [], []
        for g in range(n_gt):
            if rng.random() < p_miss_instance:
                continue
            base = np.where(np.isfinite(gt[g]), gt[g], centers[g] + rng.normal(0, 20, (n_nodes, 2)))
            pred = base + rng.normal(0, noise * rng.uniform(0.2, 3.0), size=(n_nodes, 2))
            pred[rng.random(n_nodes) < p_missing_point] = np.nan
            preds.append(pred)
            scores.append(rng.uniform(0.3, 1.0))
        for _ in range(int(rng.poisson(n_false_positive))):
            center = rng.uniform(100, 900, size=(1, 2))
            preds.append(center + rng.uniform(-60, 60, size=(n_nodes, 2)))
            scores.append(rng.uniform(0.0, 0.8))
        order = rng.permutation(len(preds))
        pred_arr = np.array(preds).reshape(-1, n_nodes, 2)[order]
        sc = np.array(scores)[order]
        if tied_scores:
            sc = np.round(sc, 1)
        gt_frames.append(gt)
        pred_frames.append(pred_arr)
        score_frames.append(sc)
    return gt_frames, pred_frames, score_frames


def _ours(gt_frames, pred_frames, scores, sigmas):
    frames = []
    for gt, pred, sc in zip(gt_frames, pred_frames, scores):
        areas = instance_areas(gt)
        frames.append(
            FrameDetections(
                oks=oks_matrix(gt, pred, areas, sigmas),
                gt_areas=areas,
                gt_num_visible=np.isfinite(gt).all(-1).sum(-1),
                pred_scores=sc,
                pred_areas=instance_areas(pred),
            )
        )
    return coco_keypoint_map(frames)


CASES = {
    "noisy_low": {"seed": 1, "noise": 0.3},
    "noisy_mid": {"seed": 2, "noise": 1.5},
    "noisy_high": {"seed": 3, "noise": 5.0, "n_false_positive": 1.5},
    "invisible_heavy": {"seed": 4, "p_invisible": 0.5, "p_missing_point": 0.3},
    "many_instances": {"seed": 5, "max_gt": 8, "n_false_positive": 2.0},
    "tied_scores": {"seed": 6, "tied_scores": True, "n_false_positive": 1.0},
    "no_false_positives": {"seed": 7, "n_false_positive": 0.0, "p_miss_instance": 0.0},
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_equals_pycocotools(case: str) -> None:
    gt, pred, scores = _synthetic(**CASES[case])
    sigmas = np.full(gt[0].shape[1] if gt[0].size else 6, 0.025)
    ref_prec, ref_rec, stats = _run_pycocotools(gt, pred, scores, sigmas)
    ours = _ours(gt, pred, scores, sigmas)
    np.testing.assert_allclose(ours.precision, ref_prec, rtol=0, atol=1e-9)
    np.testing.assert_allclose(ours.ar, ref_rec, rtol=0, atol=1e-9)
    assert ours.map == pytest.approx(stats[0], abs=1e-9)
    assert ours.mar == pytest.approx(stats[5], abs=1e-9)
    # AP@0.5 / AP@0.75 as COCO's summary reports them.
    assert ours.ap[0] == pytest.approx(stats[1], abs=1e-9)
    assert ours.ap[5] == pytest.approx(stats[2], abs=1e-9)
    assert 0.0 < ours.map < 1.0  # the case is not degenerate


def test_per_node_sigmas_equal_pycocotools() -> None:
    gt, pred, scores = _synthetic(seed=11, noise=3.0)
    sigmas = np.array([0.025, 0.05, 0.079, 0.107, 0.035, 0.062])
    ref_prec, ref_rec, stats = _run_pycocotools(gt, pred, scores, sigmas)
    ours = _ours(gt, pred, scores, sigmas)
    np.testing.assert_allclose(ours.precision, ref_prec, rtol=0, atol=1e-9)
    np.testing.assert_allclose(ours.ar, ref_rec, rtol=0, atol=1e-9)
    # The public entry point gives the same numbers.
    metrics = evaluate_arrays(gt, pred, EvaluationSettings(oks_sigmas=sigmas), pred_scores=scores)
    assert metrics.oks.map == pytest.approx(stats[0], abs=1e-9)
    assert metrics.oks.mar == pytest.approx(stats[5], abs=1e-9)
    assert metrics.oks.ap[0.5] == pytest.approx(stats[1], abs=1e-9)
    assert metrics.oks.ap[0.75] == pytest.approx(stats[2], abs=1e-9)
    assert list(metrics.oks.sigmas.values()) == sigmas.tolist()


def test_more_than_max_detections_per_frame() -> None:
    """Only the 20 best-scored predictions of a frame count, as in COCOeval."""
    rng = np.random.default_rng(21)
    gt = [rng.uniform(100, 300, size=(3, 4, 2)) for _ in range(5)]
    pred, scores = [], []
    for g in gt:
        fps = rng.uniform(100, 300, size=(22, 4, 2))
        good = g + rng.normal(0, 1.0, size=g.shape)
        pred.append(np.concatenate([fps, good]))
        # The true matches get the lowest scores of the frame: 2 of 3 fall outside the top 20.
        scores.append(np.concatenate([rng.uniform(0.5, 1.0, 22), [0.45, 0.1, 0.05]]))
    sigmas = np.full(4, 0.025)
    ref_prec, ref_rec, _stats = _run_pycocotools(gt, pred, scores, sigmas)
    ours = _ours(gt, pred, scores, sigmas)
    np.testing.assert_allclose(ours.precision, ref_prec, rtol=0, atol=1e-9)
    np.testing.assert_allclose(ours.ar, ref_rec, rtol=0, atol=1e-9)
    assert ours.ar.max() <= 1 / 3 + 1e-12  # the capped-away matches cannot be recalled


def test_perfect_predictions_score_one() -> None:
    gt, _, _ = _synthetic(seed=8, empty_gt_instances=False)
    pred = [g.copy() for g in gt]
    scores = [np.ones(len(g)) for g in gt]
    sigmas = np.full(6, 0.025)
    ref_prec, _ref_rec, stats = _run_pycocotools(gt, pred, scores, sigmas)
    ours = _ours(gt, pred, scores, sigmas)
    assert ours.map == 1.0 and ours.mar == 1.0
    assert stats[0] == pytest.approx(1.0) and stats[5] == pytest.approx(1.0)
    np.testing.assert_allclose(ours.precision, ref_prec, rtol=0, atol=1e-12)


def test_single_visible_keypoint_gt_equals_pycocotools() -> None:
    """A GT instance with one visible point has area 0: COCO only accepts an exact hit."""
    gt = [np.array([[[50.0, 60.0], [np.nan, np.nan]], [[200.0, 210.0], [240.0, 260.0]]])]
    pred = [np.array([[[50.0, 60.0], [55.0, 65.0]], [[201.0, 211.0], [241.0, 259.0]]])]
    scores = [np.array([0.9, 0.8])]
    sigmas = np.full(2, 0.025)
    ref_prec, ref_rec, _stats = _run_pycocotools(gt, pred, scores, sigmas)
    ours = _ours(gt, pred, scores, sigmas)
    np.testing.assert_allclose(ours.precision, ref_prec, rtol=0, atol=1e-9)
    np.testing.assert_allclose(ours.ar, ref_rec, rtol=0, atol=1e-9)
    assert ours.ar[0] == 1.0  # the exact hit matches even with area 0


def test_equal_oks_tie_goes_to_the_later_gt_as_in_cocoeval() -> None:
    """The first prediction is equally close to both GT instances; COCOeval gives it the
    later one, which leaves the earlier one for the second prediction (an exact hit)."""
    gt = [np.array([[[100.0, 100.0], [200.0, 200.0]], [[104.0, 100.0], [204.0, 200.0]]])]
    pred = [np.array([[[102.0, 100.0], [202.0, 200.0]], [[100.0, 100.0], [200.0, 200.0]]])]
    scores = [np.array([0.9, 0.8])]
    sigmas = np.full(2, 0.025)
    ref_prec, ref_rec, _stats = _run_pycocotools(gt, pred, scores, sigmas)
    ours = _ours(gt, pred, scores, sigmas)
    np.testing.assert_allclose(ours.precision, ref_prec, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours.ar, ref_rec, rtol=0, atol=1e-12)
    # Both matched up to OKS 0.90 (the first prediction's OKS is exp(-0.08) = 0.923).
    np.testing.assert_array_equal(ours.ar, [1.0] * 9 + [0.5])


def test_area_range_ignores_giant_instances_as_cocoeval() -> None:
    """GT (and unmatched predictions) with an area above 1e10 px² are ignored by COCO's
    "all" range; a prediction matched to an ignored GT is neither TP nor FP."""
    giant = np.array([[[0.0, 0.0], [2e5, 2e5], [1e5, 1e5]]])
    normal = np.array([[[10.0, 10.0], [60.0, 80.0], [30.0, 40.0]]])
    gt = [np.concatenate([normal, giant]), normal + 5]
    pred = [
        np.concatenate([normal + 0.5, giant, giant * 1.5]),  # the last: unmatched and giant
        np.concatenate([normal + 9, normal + 5.2]),
    ]
    scores = [np.array([0.5, 0.95, 0.9]), np.array([0.7, 0.6])]
    sigmas = np.full(3, 0.05)
    ref_prec, ref_rec, _stats = _run_pycocotools(gt, pred, scores, sigmas)
    ours = _ours(gt, pred, scores, sigmas)
    np.testing.assert_allclose(ours.precision, ref_prec, rtol=0, atol=1e-9)
    np.testing.assert_allclose(ours.ar, ref_rec, rtol=0, atol=1e-9)
    assert ours.n_gt == 2


def test_no_ground_truth_gives_nan_where_coco_gives_minus_one() -> None:
    gt = [np.full((1, 3, 2), np.nan), np.zeros((0, 3, 2))]
    pred = [np.ones((1, 3, 2)) * 50, np.ones((2, 3, 2)) * 80]
    scores = [np.array([0.5]), np.array([0.4, 0.3])]
    _, _, stats = _run_pycocotools(gt, pred, scores, np.full(3, 0.025))
    assert stats[0] == -1 and stats[5] == -1
    ours = _ours(gt, pred, scores, np.full(3, 0.025))
    assert np.isnan(ours.map) and np.isnan(ours.mar) and ours.n_gt == 0


def test_no_predictions_at_all() -> None:
    gt = [np.array([[[10.0, 10.0], [30.0, 40.0]]])]
    ours = _ours(gt, [np.zeros((0, 2, 2))], [np.zeros(0)], np.full(2, 0.025))
    assert ours.map == 0.0 and ours.mar == 0.0 and ours.n_gt == 1


def test_thresholds_are_cocos() -> None:
    np.testing.assert_array_equal(COCO_OKS_THRESHOLDS, COCOeval(iouType="keypoints").params.iouThrs)
