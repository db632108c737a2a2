"""Tests for posekit.decoding.class_map_grouping: multi-class bottom-up grouping."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from posekit.data.targets import make_class_maps, make_confmaps
from posekit.decoding.class_map_grouping import (
    ClassMapGrouper,
    ClassMapGroupingParams,
    assign_peaks_to_classes,
    group_by_class_maps,
)
from posekit.decoding.grouping import peaks_per_sample
from posekit.decoding.peaks import find_local_peaks
from posekit.errors import ConfigError, DataError

NAN = np.nan
STRIDE = 4
GRID = (48, 48)  # a 192 x 192 model input

# Three animals of four nodes, far enough apart that their class maps do not overlap.
ANIMALS = np.array(
    [
        [[20.0, 20.0], [44.0, 28.0], [30.0, 50.0], [60.0, 40.0]],
        [[130.0, 30.0], [150.0, 44.0], [120.0, 60.0], [160.0, 70.0]],
        [[40.0, 130.0], [70.0, 140.0], [50.0, 170.0], [90.0, 160.0]],
    ],
    dtype=np.float32,
)


def render(points: np.ndarray, class_ids: np.ndarray, n_classes: int):
    """Peaks (from rendered confidence maps) and class maps of a batch ``(B, N, K, 2)``."""
    points_t = torch.as_tensor(points)
    confmaps = make_confmaps(points_t, GRID, STRIDE, 3.0)
    maps = make_class_maps(points_t, torch.as_tensor(class_ids), n_classes, GRID, STRIDE, 5.0)
    peaks = [v.numpy() for v in find_local_peaks(confmaps, STRIDE, 0.2)]
    return peaks, maps.numpy()


def group_frame(points, class_ids, n_classes, params=None):
    (sample, nodes, peaks, scores), maps = render(points[None], class_ids[None], n_classes)
    assert np.all(sample == 0)
    return group_by_class_maps(peaks, nodes, scores, maps[0], STRIDE, points.shape[1], params)


def assert_close(found: np.ndarray, truth: np.ndarray, tol: float = 0.1) -> None:
    assert found.shape == truth.shape, (found.shape, truth.shape)
    assert np.array_equal(np.isnan(found), np.isnan(truth))
    assert np.nan_to_num(np.abs(found - truth)).max() < tol


def half_maps(value: float = 0.9) -> np.ndarray:
    """Two class maps (stride 4, 64 x 64 input): class 0 left of x = 32, class 1 right."""
    maps = np.full((2, 16, 16), 0.05, dtype=np.float32)
    maps[0, :, :8] = value
    maps[1, :, 8:] = value
    return maps


def test_rendered_animals_come_back_with_their_identities():
    class_ids = np.array([2, 0, 1])
    instances, point_scores, instance_scores, class_idx, _ = group_frame(ANIMALS, class_ids, 3)
    assert class_idx.dtype == np.int64 and instances.dtype == np.float32
    assert class_idx.tolist() == [0, 1, 2]  # ordered by class
    assert_close(instances, ANIMALS[[1, 2, 0]])
    assert np.all(point_scores > 0.6)  # peaks between cells read a little below 1
    assert np.all((instance_scores > 0.5) & (instance_scores <= 1.0))


def test_instance_score_rule_hand_computed():
    maps = half_maps()
    maps[1, :, 12:] = 0.6  # class 1 weaker on the far right
    points = np.array([[8.0, 8.0], [16.0, 20.0], [40.0, 8.0], [56.0, 20.0]])
    nodes = np.array([0, 1, 0, 1])
    scores = np.array([0.8, 0.6, 1.0, 0.5])
    instances, point_scores, instance_scores, class_idx, _ = group_by_class_maps(
        points, nodes, scores, maps, 4, 2
    )
    assert class_idx.tolist() == [0, 1]
    assert instances.tolist() == [[[8.0, 8.0], [16.0, 20.0]], [[40.0, 8.0], [56.0, 20.0]]]
    np.testing.assert_allclose(point_scores, [[0.8, 0.6], [1.0, 0.5]], rtol=1e-6)
    # mean(point scores) * mean(own class value): 0.7 * 0.9 and 0.75 * (0.9 + 0.6) / 2.
    assert instance_scores.tolist() == pytest.approx([0.63, 0.5625])


def test_missing_node_leaves_a_gap():
    animals = ANIMALS.copy()
    animals[0, 2] = NAN
    instances, point_scores, _, class_idx, _ = group_frame(animals, np.array([0, 1, 2]), 3)
    assert class_idx.tolist() == [0, 1, 2]
    assert_close(instances, animals)
    assert np.isnan(point_scores[0, 2]) and int(np.isnan(point_scores).sum()) == 1


def test_animal_without_identity_is_dropped():
    # Three animals have peaks but only two class maps: the third one's peaks read ~0 on
    # both maps, below the minimum, and are dropped.
    instances, _, _, class_idx, _ = group_frame(ANIMALS, np.array([1, -1, 0]), 2)
    assert class_idx.tolist() == [0, 1]
    assert_close(instances, ANIMALS[[2, 0]])


def test_more_peaks_than_classes_drops_the_weaker_ones():
    maps = half_maps()
    maps[0, :, 4:8] = 0.5  # a duplicate node-0 peak in the left half reads only 0.5
    points = np.array([[8.0, 8.0], [24.0, 8.0], [40.0, 8.0], [16.0, 20.0]])
    nodes = np.array([0, 0, 0, 1])
    scores = np.array([0.7, 0.99, 0.9, 0.8])
    instances, point_scores, _, class_idx, _ = group_by_class_maps(points, nodes, scores, maps, 4, 2)
    # Class 0 keeps the peak with the stronger class value (0.9 > 0.5) even though the
    # dropped one has the higher confidence; class 1 takes the right-hand peak.
    assert class_idx.tolist() == [0, 1]
    assert instances[:, 0].tolist() == [[8.0, 8.0], [40.0, 8.0]]
    assert instances[0, 1].tolist() == [16.0, 20.0] and np.isnan(instances[1, 1]).all()
    assert point_scores[:, 0].tolist() == pytest.approx([0.7, 0.9])


def test_assignment_maximises_the_total_per_node():
    values = np.array([[0.9, 0.8], [0.85, 0.1], [0.3, 0.2], [0.05, 0.6], [0.5, 0.4]])
    nodes = np.array([0, 0, 0, 1, 1])
    # Node 0: 0.8 + 0.85 beats 0.9 + 0.2; peak 2 is left over. Node 1: 0.6 + 0.5.
    assert assign_peaks_to_classes(values, nodes).tolist() == [1, 0, -1, 1, 0]
    # With a higher minimum, pairs below it are barred, not merely unlikely.
    assert assign_peaks_to_classes(values, nodes, 0.82).tolist() == [0, -1, -1, -1, -1]
    assert assign_peaks_to_classes(np.zeros((0, 2)), np.zeros(0)).tolist() == []
    with pytest.raises(DataError, match="values"):
        assign_peaks_to_classes(np.zeros((3, 2)), np.zeros(2))


def test_class_without_peaks_gives_no_instance():
    instances, _, scores, class_idx, _ = group_frame(ANIMALS[[0, 2]], np.array([0, 2]), 3)
    assert class_idx.tolist() == [0, 2]
    assert_close(instances, ANIMALS[[0, 2]])
    assert scores.shape == (2,)


def test_low_class_scores_fall_below_the_minimum():
    maps = half_maps()
    maps[1, :, 8:] = 0.08  # class 1 is barely present
    points = np.array([[8.0, 8.0], [40.0, 8.0]])
    found = group_by_class_maps(points, [0, 0], [0.9, 0.9], maps, 4, 1)
    assert found[3].tolist() == [0]
    relaxed = ClassMapGroupingParams(min_class_score=0.07)
    found = group_by_class_maps(points, [0, 0], [0.9, 0.9], maps, 4, 1, relaxed)
    assert found[3].tolist() == [0, 1]
    assert found[2].tolist() == pytest.approx([0.81, 0.9 * 0.08])


def test_min_instance_peaks_and_missing_peaks():
    maps = half_maps()
    points = np.array([[8.0, 8.0], [16.0, 20.0], [40.0, 8.0], [NAN, NAN]])
    nodes = np.array([0, 1, 0, 1])
    found = group_by_class_maps(points, nodes, np.ones(4), maps, 4, 2)
    assert found[3].tolist() == [0, 1]  # the NaN peak takes no class
    params = ClassMapGroupingParams(min_instance_peaks=2)
    found = group_by_class_maps(points, nodes, np.ones(4), maps, 4, 2, params)
    assert found[3].tolist() == [0] and found[0].shape == (1, 2, 2)


def test_grouper_groups_a_batch_frame_by_frame():
    """The path multi-class bottom-up prediction runs: batch peaks -> frames -> grouper."""
    points = np.full((2, 3, 4, 2), NAN, dtype=np.float32)
    points[0, :2], points[1] = ANIMALS[:2], ANIMALS
    class_ids = np.array([[1, 0, -1], [0, 2, 1]])
    peaks, maps = render(points, class_ids, 3)
    grouper = ClassMapGrouper(4, STRIDE)
    found = [grouper(frame, maps[b]) for b, frame in enumerate(peaks_per_sample(*peaks, 2))]
    assert [f.classes.tolist() for f in found] == [[0, 1], [0, 1, 2]]
    assert_close(found[0].instances, ANIMALS[[1, 0]])
    assert_close(found[1].instances, ANIMALS[[0, 2, 1]])
    # The identity confidence is the mean value of the instance's own class map at its
    # points: near 1 on rendered maps, and the instance score is its product with the
    # mean peak value.
    for f in found:
        assert np.all(f.class_scores > 0.9)
        peak_mean = np.nanmean(f.point_scores, axis=1)
        np.testing.assert_allclose(f.instance_scores, peak_mean * f.class_scores, rtol=1e-5)
    # Shuffled peaks and torch inputs give the same result.
    perm = np.random.default_rng(0).permutation(len(peaks[0]))
    shuffled = peaks_per_sample(*(torch.as_tensor(v[perm]) for v in peaks), 2)
    for b, frame in enumerate(shuffled):
        again = grouper(frame, maps[b])
        for x, y in zip(again, found[b]):
            assert np.array_equal(x, y, equal_nan=True)


def test_empty_frame_and_bad_inputs():
    empty = group_by_class_maps(np.zeros((0, 2)), [], [], np.zeros((2, 4, 4)), 4, 3)
    assert empty[0].shape == (0, 3, 2) and empty[3].shape == (0,)
    with pytest.raises(ConfigError, match="min_class_score"):
        ClassMapGroupingParams(min_class_score=1.5)
    with pytest.raises(ConfigError, match="min_instance_peaks"):
        ClassMapGroupingParams(min_instance_peaks=-1)
    with pytest.raises(DataError, match="class_maps"):
        group_by_class_maps(np.zeros((0, 2)), [], [], np.zeros((4, 4)), 4, 3)
    with pytest.raises(DataError, match="peak_nodes"):
        group_by_class_maps([[1.0, 1.0]], [3], [1.0], np.zeros((2, 4, 4)), 4, 3)
    with pytest.raises(DataError, match="peaks"):
        group_by_class_maps([[1.0, 1.0]], [0, 1], [1.0], np.zeros((2, 4, 4)), 4, 3)
    with pytest.raises(DataError, match="peak_points"):
        group_by_class_maps([1.0, 1.0], [0], [1.0], np.zeros((2, 4, 4)), 4, 3)


def test_params_report_every_problem_with_its_inference_path():
    with pytest.raises(ConfigError) as err:
        ClassMapGroupingParams(min_class_score=1.5, min_instance_peaks=-1)
    assert str(err.value) == (
        "ClassMapGroupingParams: 2 problems in the configuration:\n"
        "  - inference.class_grouping.min_class_score: value 1.5 is out of range; expected a "
        "number >= 0 and <= 1. Class maps are sigmoid values; the default is 0.1.\n"
        "  - inference.class_grouping.min_instance_peaks: value -1 is out of range; expected "
        "a number >= 0. The default is 0."
    )
    with pytest.raises(ConfigError) as err:
        ClassMapGroupingParams.from_dict({"min_score": 0.2, "min_instance_peaks": 1.5}, "a.yaml")
    assert str(err.value) == (
        "a.yaml: 2 problems in the configuration:\n"
        "  - inference.class_grouping.min_score: unknown key; expected one of "
        "min_class_score, min_instance_peaks. Did you mean 'min_class_score'?\n"
        "  - inference.class_grouping.min_instance_peaks: got 1.5 (float); expected an "
        "integer. The default is 0."
    )
    assert ClassMapGroupingParams.from_dict({"min_class_score": 1}, "a.yaml").min_class_score == 1.0
