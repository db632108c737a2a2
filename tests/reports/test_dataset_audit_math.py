"""Dataset audit: the pure functions, checked against independent computations."""

from __future__ import annotations

import math

import numpy as np
import pytest

from posekit.errors import DataError
from posekit.reports.dataset_composition import (
    FRAME_GUIDE,
    animals_per_frame,
    column_coverage,
    complexity,
    count_by,
    frame_count_check,
    frame_sizes,
)
from posekit.reports.dataset_ethogram import read_ethogram
from posekit.reports.dataset_pose import (
    align_poses,
    axis_nodes,
    node_visibility,
    pose_variance,
)
from posekit.reports.dataset_warnings import (
    RARE_NODE_SHARE,
    coverage_warnings,
    frame_count_warnings,
    pose_warnings,
    visibility_warnings,
)

NAMES = ["nose", "head", "ear", "spine", "tail_base", "tail_tip"]


def _template() -> np.ndarray:
    """A pose in its own frame: head at (+5, 0), tail_base at (-5, 0)."""
    return np.array([[8.0, 0.0], [5.0, 0.0], [4.0, 2.0], [0.0, 0.5], [-5.0, 0.0],
                     [-12.0, 1.0]])


def _place(pose: np.ndarray, angle: float, shift: tuple[float, float]) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    rot = np.array([[c, -s], [s, c]])
    return pose @ rot.T + np.asarray(shift)


def test_alignment_undoes_rotation_and_translation() -> None:
    rng = np.random.default_rng(0)
    template = _template()
    placed = np.stack([_place(template, rng.uniform(-np.pi, np.pi), rng.uniform(0, 500, 2))
                       for _ in range(30)])
    align = align_poses(placed, head=1, tail=4)
    assert align.used.all()
    np.testing.assert_allclose(align.aligned, np.broadcast_to(template, align.aligned.shape),
                               atol=1e-9)
    np.testing.assert_allclose(align.body_length, 10.0)
    pose, _ = pose_variance(placed, NAMES)
    assert (pose.head_node, pose.tail_node, pose.axis_rule) == ("head", "tail_base", "named")
    assert pose.index == pytest.approx(0.0, abs=1e-9)
    assert pose.image_spread_px > 100  # without alignment, positions vary a lot


def test_index_matches_a_hand_computation() -> None:
    rng = np.random.default_rng(1)
    template = _template()
    own = template[None] + rng.normal(0, 1.0, size=(40, 6, 2))
    own[:, 1] = [5.0, 0.0]  # axis nodes fixed in the body frame: aligned poses == own
    own[:, 4] = [-5.0, 0.0]
    own[3, 5] = np.nan  # a hidden tail tip
    placed = np.stack([_place(p, a, (100.0, 50.0)) for p, a in
                       zip(own, rng.uniform(-3, 3, 40))])
    pose, align = pose_variance(placed, NAMES)
    np.testing.assert_allclose(align.aligned, own, atol=1e-9)
    spreads = []
    for k in range(6):
        p = own[:, k][np.isfinite(own[:, k]).all(axis=1)]
        spreads.append(np.sqrt(np.mean(np.sum((p - p.mean(axis=0)) ** 2, axis=1))))
    expected = np.sqrt(np.mean(np.square(spreads))) / 10.0
    assert pose.index == pytest.approx(expected, rel=1e-9)
    assert pose.node_spread_px["tail_tip"] == pytest.approx(spreads[5], rel=1e-9)
    assert pose.node_spread_px["head"] == pytest.approx(0.0, abs=1e-9)


def test_axis_without_names_is_the_most_rigid_long_pair() -> None:
    rng = np.random.default_rng(2)
    pts = np.zeros((50, 4, 2))
    pts[:, 0] = [10.0, 0.0]                                   # rigid with node 3
    pts[:, 3] = [-10.0, 0.0]
    pts[:, 1] = rng.normal(0, 8, (50, 2)) + [0, 30]           # far but floppy
    pts[:, 2] = rng.normal(0, 8, (50, 2)) - [0, 30]
    (head, tail), rule = axis_nodes(pts, ["a", "b", "c", "d"])
    assert (head, tail, rule) == (0, 3, "rigid pair")
    with pytest.raises(ValueError, match="not in the skeleton"):
        pose_variance(pts, ["a", "b", "c", "d"], ("a", "zz"))


def test_animals_without_axis_nodes_are_left_out() -> None:
    placed = np.stack([_place(_template(), 0.3 * i, (i, 2 * i)) for i in range(10)])
    placed[:3, 4] = np.nan
    pose, align = pose_variance(placed, NAMES)
    assert (pose.n_animals, pose.n_aligned) == (10, 7)
    assert align.used.tolist() == [False] * 3 + [True] * 7


def test_visibility_and_rare_node_warning() -> None:
    pts = np.ones((20, 3, 2))
    pts[:19, 2] = np.nan  # visible once in 20 -> 5 %
    pts[:5, 1] = np.nan
    vis = node_visibility(pts, ["a", "b", "c"])
    assert [(v.visible, v.share) for v in vis] == [(20, 1.0), (15, 0.75), (1, 0.05)]
    warns = visibility_warnings(vis)
    assert [w.subject for w in warns] == ["c"]
    assert "1 of 20" in warns[0].message and RARE_NODE_SHARE == 0.1


def test_concentrated_poses_warning_needs_enough_animals() -> None:
    rng = np.random.default_rng(3)
    many = np.stack([_place(_template() + rng.normal(0, 0.1, (6, 2)), a, (0, 0))
                     for a in rng.uniform(-3, 3, 30)])
    pose, _ = pose_variance(many, NAMES)
    assert pose.concentrated and pose.index < 0.02
    assert [w.kind for w in pose_warnings(pose)] == ["poses_concentrated"]
    few, _ = pose_variance(many[:5], NAMES)
    assert few.concentrated and pose_warnings(few) == []


def test_counts_and_coverage() -> None:
    keys = ["a"] * 10 + ["b"] * 2 + ["c"] * 8
    counts = count_by(keys, np.ones(20, int) * 2, order=["d", "c"])
    assert [(c.name, c.frames, c.animals) for c in counts] == [
        ("d", 0, 0), ("c", 8, 16), ("a", 10, 20), ("b", 2, 4)]
    cov = column_coverage("treatment", keys, np.ones(20, int), ["a", "b", "c", "d"])
    assert cov.absent == ("d",)
    assert cov.even_share == 5.0           # 20 frames / 4 values
    assert cov.thin == ("b",)              # 2 < 0.5 * 5
    assert cov.coverage == 0.75
    warns = coverage_warnings([cov], 20)
    assert [(w.kind, w.subject) for w in warns] == [("condition_absent", "treatment=d"),
                                                   ("condition_thin", "treatment=b")]
    assert "add about 1 frames" in warns[1].message  # ceil(2.5) - 2


def test_a_missing_combination_is_named_when_its_values_are_sampled() -> None:
    keys_t = ["saline"] * 6 + ["drug"] * 6
    keys_d = ["0"] * 6 + ["10"] * 6
    combos = [f"treatment={t}, dose={d}" for t, d in zip(keys_t, keys_d)]
    listed = ["treatment=saline, dose=0", "treatment=drug, dose=10", "treatment=drug, dose=0"]
    covs = [column_coverage("treatment", keys_t, np.ones(12, int), ["saline", "drug"]),
            column_coverage("dose", keys_d, np.ones(12, int), ["0", "10"]),
            column_coverage("treatment + dose", combos, np.ones(12, int), listed)]
    warns = coverage_warnings(covs, 12)
    assert [(w.kind, w.subject) for w in warns] == [
        ("condition_absent", "treatment=drug, dose=0")]


def test_complexity_and_frame_guide() -> None:
    vis = np.ones((6, 4), bool)
    one = animals_per_frame(np.array([1, 1, 1]), vis[:3], np.array([0, 1, 2]))
    assert complexity(one) == "simple" and one.hidden_share_multi is None
    pair_vis = vis.copy()
    pair_vis[:, :1] = False  # 25 % hidden
    two = animals_per_frame(np.array([2, 2, 2]), pair_vis, np.array([0, 0, 1, 1, 2, 2]))
    assert complexity(two) == "moderate" and two.hidden_share_multi == pytest.approx(0.25)
    three = animals_per_frame(np.array([3, 1]), vis[:4], np.array([0, 0, 0, 1]))
    assert complexity(three) == "complex" and three.histogram == {1: 1, 3: 1}
    check = frame_count_check(120, three)
    assert check.below_minimum and check.missing_to_minimum == 380
    assert check.guide is FRAME_GUIDE["complex"]
    warn = frame_count_warnings(check, 3)[0]
    assert warn.kind == "too_few_frames" and "500+" in warn.message
    assert frame_count_warnings(frame_count_check(160, one), 1) == []


def test_frame_sizes_groups_and_orders() -> None:
    sizes, unknown = frame_sizes([(10, 20), (10, 20), None, (5, 5)], ["a", "b", "b", "c"])
    assert unknown == 1
    assert [(s.height, s.width, s.frames, s.recordings) for s in sizes] == [
        (10, 20, 2, ("a", "b")), (5, 5, 1, ("c",))]


def test_montage_crop_holds_the_animals_inside_the_image() -> None:
    from posekit.reports.dataset_figures import crop_box, montage_rows

    pts = np.array([[[100.0, 200.0], [140.0, 210.0], [np.nan, np.nan]]])
    x0, y0, x1, y1 = crop_box(pts, (1024, 1024))
    assert x1 - x0 == y1 - y0 == pytest.approx(0.3 * 1024, abs=1)  # at least 30 % of side
    assert x0 <= 100 and x1 >= 140 and y0 <= 200 and y1 >= 210
    assert crop_box(pts, (64, 64)) == (0, 0, 64, 64)  # never larger than the image
    assert crop_box(np.full((1, 3, 2), np.nan), (50, 80)) == (0, 0, 80, 50)
    rows = montage_rows(["a"] * 20 + ["b"] * 3, per_row=6)
    assert [(v, len(i)) for v, i in rows] == [("a", 6), ("b", 3)]
    assert set(rows[1][1]) == {20, 21, 22} and all(i < 20 for i in rows[0][1])


def test_ethogram_reader(tmp_path) -> None:
    path = tmp_path / "ethogram.csv"
    path.write_text("Video,Start,Stop,Behavior\nv.mp4,0,9,walk\nv.mp4,10,12,groom\n")
    etho = read_ethogram(path)
    assert etho.behaviours == ["walk", "groom"]
    assert (etho.bouts[1].start, etho.bouts[1].stop, etho.bouts[1].line) == (10, 12, 3)
    bad = tmp_path / "bad.csv"
    bad.write_text("video,start,stop,behaviour\nv.mp4,9,3,walk\n")
    with pytest.raises(DataError, match="line 2"):
        read_ethogram(bad)
    missing = tmp_path / "missing.csv"
    missing.write_text("video,frame,behaviour\nv.mp4,1,walk\n")
    with pytest.raises(DataError, match="start"):
        read_ethogram(missing)
