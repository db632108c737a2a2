"""Similarity measures and the assignment step, against hand-computed values, the
evaluation's OKS and pycocotools."""

from __future__ import annotations

import contextlib
import io
import json
import math
import subprocess
import sys

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from posekit.evaluation.oks import instance_areas, oks_matrix
from posekit.keypoints import box_areas
from posekit.tracking import centroid_similarity, iou_similarity, oks_similarity
from posekit.tracking.matching import greedy_match, hungarian_match

NAN = np.nan


def test_oks_matches_the_coco_formula_by_hand() -> None:
    # Candidate box 10 x 20 -> area 200; sigma 0.025 -> (2 sigma)^2 = 0.0025;
    # each node off by 1 px: e = 1 / (2 * 200 * 0.0025) = 1 -> OKS = exp(-1).
    cand = np.array([[[0.0, 0.0], [10.0, 20.0]]])
    inst = cand + [1.0, 0.0]
    assert np.isclose(oks_similarity(inst, cand)[0, 0], math.exp(-1.0))
    # Per-node sigma: node 0 with sigma 0.05 -> e = 1/4; node 1 with 0.025 -> e = 1.
    per_node = oks_similarity(inst, cand, sigma=np.array([0.05, 0.025]))[0, 0]
    assert np.isclose(per_node, (math.exp(-0.25) + math.exp(-1.0)) / 2)
    # Fixed area 800 -> e = 1/4 for both nodes.
    assert np.isclose(oks_similarity(inst, cand, area=800.0)[0, 0], math.exp(-0.25))


def test_oks_missing_nodes() -> None:
    cand = np.array([[[0.0, 0.0], [10.0, 20.0], [NAN, NAN]]])
    inst = np.array([[[0.0, 0.0], [NAN, NAN], [5.0, 5.0]]])
    # Reference = candidate: 2 visible nodes; node 0 exact (1), node 1 missing in the
    # instance (0); node 2 is not in the reference and is ignored.
    assert np.isclose(oks_similarity(inst, cand)[0, 0], 0.5)
    empty = np.full((1, 3, 2), NAN)
    assert oks_similarity(inst, empty)[0, 0] == 0.0
    assert oks_similarity(empty, cand)[0, 0] == 0.0


def test_centroid_similarity_uses_size_or_scale() -> None:
    cand = np.array([[[0.0, 0.0], [10.0, 10.0]]])  # centroid (5, 5), box 10 x 10 -> size 10
    inst = np.array([[[10.0, 0.0], [20.0, 10.0]], [[NAN, NAN], [NAN, NAN]]])  # moved 10 px
    sim = centroid_similarity(inst, cand)
    assert np.isclose(sim[0, 0], math.exp(-1.0)) and sim[1, 0] == 0.0
    assert np.isclose(centroid_similarity(inst, cand, scale=20.0)[0, 0], math.exp(-0.25))
    # Anchor node 1 where visible: distance between (20, 10) and (10, 10) is again 10.
    assert np.isclose(centroid_similarity(inst, cand, anchor_node=1)[0, 0], math.exp(-1.0))


def test_centroid_similarity_uses_the_projects_anchor_rule() -> None:
    # Candidate: anchor node 0 missing, so its anchor is the midpoint (3, 3) of the box
    # (0, 0)-(6, 6) of its visible nodes (the mean of those nodes would be (2, 2)).
    cand = np.array([[[NAN, NAN], [0.0, 0.0], [6.0, 0.0], [0.0, 6.0]]])
    inst = np.array([[[3.0, 3.0], [NAN, NAN], [NAN, NAN], [NAN, NAN]]])  # anchor visible
    assert centroid_similarity(inst, cand, anchor_node=0)[0, 0] == 1.0
    # Without an anchor node both use box midpoints: (3, 3) vs (3, 3).
    assert centroid_similarity(inst, cand)[0, 0] == 1.0
    # The mean of the visible nodes, (2, 2), would have scored exp(-2 / 36).
    moved = inst + [-1.0, -1.0]
    assert np.isclose(centroid_similarity(moved, cand, anchor_node=0)[0, 0], math.exp(-2 / 36))


def _random_poses(rng: np.random.Generator, n: int, n_nodes: int) -> np.ndarray:
    centers = rng.uniform(50, 500, size=(n, 1, 2))
    pts = centers + rng.uniform(-40, 40, size=(n, n_nodes, 2))
    pts[rng.random((n, n_nodes)) < 0.2] = NAN
    pts[:, 0] = centers[:, 0]  # at least one visible node each
    return pts


def test_tracking_oks_is_the_evaluation_oks() -> None:
    rng = np.random.default_rng(5)
    cand = _random_poses(rng, 4, 6)
    inst = np.concatenate([cand + rng.normal(0, 4, cand.shape), _random_poses(rng, 2, 6)])
    sigmas = np.array([0.025, 0.05, 0.079, 0.107, 0.035, 0.062])
    for area in (None, instance_areas(cand) + 1.0, 900.0):
        ref = box_areas(cand) if area is None else np.broadcast_to(area, (len(cand),))
        expected = oks_matrix(cand, inst, ref, sigmas).T  # candidates are the reference
        np.testing.assert_array_equal(oks_similarity(inst, cand, sigmas, area), expected)
    assert 0.0 < oks_similarity(inst, cand, sigmas).max() <= 1.0


def _pycocotools_oks(instances, candidates, areas, sigmas) -> np.ndarray:
    """COCOeval.computeOks with the candidates as ground truth: ``(n, m)``."""
    n_nodes = candidates.shape[1]
    anns = []
    for j, pose in enumerate(candidates):
        vis = np.isfinite(pose).all(axis=1)
        kps = np.zeros((n_nodes, 3))
        kps[vis, :2], kps[vis, 2] = pose[vis], 2
        lo, hi = pose[vis].min(axis=0), pose[vis].max(axis=0)
        anns.append({"id": j + 1, "image_id": 1, "category_id": 1, "iscrowd": 0,
                     "keypoints": kps.reshape(-1).tolist(), "num_keypoints": int(vis.sum()),
                     "area": float(areas[j]), "bbox": [*lo.tolist(), *(hi - lo).tolist()]})
    results = [
        {"image_id": 1, "category_id": 1, "score": 1.0 - 0.01 * i,
         "keypoints": np.concatenate([np.where(np.isfinite(p), p, -3000.0),
                                      np.ones((n_nodes, 1))], axis=1).reshape(-1).tolist()}
        for i, p in enumerate(instances)
    ]
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = {"images": [{"id": 1}], "annotations": anns,
                           "categories": [{"id": 1, "name": "animal"}]}
        coco_gt.createIndex()
        ev = COCOeval(coco_gt, coco_gt.loadRes(results), iouType="keypoints")
        ev.params.kpt_oks_sigmas = np.asarray(sigmas, dtype=np.float64)
        ev._prepare()
        return np.asarray(ev.computeOks(1, 1))


def test_tracking_oks_equals_pycocotools() -> None:
    rng = np.random.default_rng(9)
    cand = _random_poses(rng, 3, 5)
    inst = np.concatenate([cand + rng.normal(0, 3, cand.shape), _random_poses(rng, 2, 5)])
    inst[0, 2] = NAN  # a node the instance lacks scores 0 where the candidate has it
    sigmas = np.array([0.025, 0.05, 0.079, 0.107, 0.035])
    areas = box_areas(cand)
    np.testing.assert_allclose(
        oks_similarity(inst, cand, sigmas), _pycocotools_oks(inst, cand, areas, sigmas),
        rtol=0, atol=1e-12,
    )


def _modules_after(statement: str, prefixes: tuple[str, ...]) -> list[str]:
    """Modules starting with ``prefixes`` that a fresh interpreter has after ``statement``."""
    code = (f"import json, sys; {statement}; "
            f"print(json.dumps(sorted(m for m in sys.modules if m.startswith({prefixes!r}))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_tracking_imports_no_io_and_evaluation_never_imports_tracking() -> None:
    heavy = ("posekit.io", "posekit.data", "posekit.inference", "posekit.training", "torch",
             "sleap_io", "scipy.optimize")
    assert _modules_after("import posekit.tracking", heavy) == []
    every_evaluation_module = "import posekit.evaluation.labels, posekit.evaluation.report"
    assert _modules_after(every_evaluation_module, ("posekit.tracking",)) == []


def test_iou_by_hand() -> None:
    cand = np.array([[[0.0, 0.0], [10.0, 10.0]]])
    inst = np.array(
        [
            [[5.0, 0.0], [15.0, 10.0]],  # overlap 5 x 10 = 50, union 150
            [[20.0, 20.0], [30.0, 30.0]],  # disjoint
            [[0.0, 0.0], [0.0, 10.0]],  # zero-width box
        ]
    )
    np.testing.assert_allclose(iou_similarity(inst, cand)[:, 0], [1 / 3, 0.0, 0.0])


def test_hungarian_beats_greedy_on_the_total() -> None:
    sim = np.array([[0.9, 0.8], [0.7, 0.0]])
    r, c = hungarian_match(sim)
    assert list(zip(r.tolist(), c.tolist(), strict=True)) == [(0, 1), (1, 0)]  # total 1.5
    r, c = greedy_match(sim)
    assert list(zip(r.tolist(), c.tolist(), strict=True)) == [(0, 0)]  # 0.9, then nothing > 0


def test_threshold_drops_pairs_without_stealing() -> None:
    sim = np.array([[0.5, 0.05], [0.04, 0.6], [0.3, 0.2]])
    for fn in (hungarian_match, greedy_match):
        r, c = fn(sim, min_similarity=0.1)
        assert list(zip(r.tolist(), c.tolist(), strict=True)) == [(0, 0), (1, 1)]
    r, c = hungarian_match(np.full((2, 2), np.nan))
    assert len(r) == len(c) == 0
