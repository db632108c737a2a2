"""Protocol C: validation pixel error, PCK and missing points, checked against hand sums."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import yaml

from posekit.config import init_config, load_config
from posekit.data.info import DataInfo
from posekit.errors import ConfigError
from posekit.model_types.registry import model_type_of
from posekit.training.selection import (
    PointTally,
    PoseMetrics,
    SelectionSettings,
    match_distances,
    resolve_selection,
    summarize,
)

INFO = DataInfo(node_names=("nose", "body", "tail"), edges=((0, 1), (1, 2)),
                class_names=("a", "b"), anchor_index=1, crop_size=64)
NAN = math.nan


def _task(name: str):
    cfg = load_config(yaml.safe_load(init_config(name)))
    return model_type_of(cfg.model_config, INFO)


def test_match_distances_by_hand():
    true = np.array([[[10, 10], [20, 10], [NAN, NAN]],      # third node not labelled
                     [[50, 50], [60, 50], [70, 50]],
                     [[NAN, NAN], [NAN, NAN], [NAN, NAN]]])  # padding row
    pred = np.array([[[53, 54], [60, 50], [NAN, NAN]],      # near the 2nd animal
                     [[10, 10], [20, 12], [30, 10]]])        # near the 1st animal
    d = match_distances(pred, true)
    np.testing.assert_allclose(d[0], [0.0, 2.0, NAN])
    np.testing.assert_allclose(d[1], [5.0, 0.0, math.inf])  # the tail was not found
    assert np.isnan(d[2]).all()
    # a true animal with no prediction left: all its visible points are missing
    lonely = match_distances(pred[:1], true[:2])
    assert np.isinf(lonely[0, :2]).all() and np.isnan(lonely[0, 2])
    np.testing.assert_allclose(lonely[1], [5.0, 0.0, math.inf])
    assert np.isinf(match_distances(np.zeros((0, 3, 2)), true[:1])[0, :2]).all()


def test_summary_by_hand():
    tally = PointTally()
    tally.add(np.array([[0.0, 2.0, NAN], [5.0, 0.0, math.inf]]), threshold_px=2.0)
    values = summarize(*tally.as_array())
    assert values["val_pixel_error"] == pytest.approx(7.0 / 4)
    assert values["val_pck"] == pytest.approx(3.0 / 5)
    assert values["val_missing"] == pytest.approx(1.0 / 5)
    assert math.isnan(summarize(3, 0, 0, 0)["val_pixel_error"])


def _planted(task, true: torch.Tensor, shift: torch.Tensor, drop: tuple[int, int] | None,
             hw: tuple[int, int] = (64, 64)) -> dict[str, torch.Tensor]:
    """Network outputs equal to the type's own targets for the shifted points."""
    classes = torch.tensor([[0, 1]] * true.shape[0])[:, : true.shape[1]]
    outputs = task.make_targets(true + shift, classes, hw)
    if drop is not None:  # one node's map is flat: that point cannot be found
        outputs[task.primary.key][drop] = 0.0
    return outputs


def test_single_instance_batch_error_equals_hand_computation():
    task = _task("single_instance")
    true = torch.tensor([[[[20.0, 20.0], [30.0, 24.0], [40.0, 30.0]]],
                         [[[16.0, 40.0], [26.0, 40.0], [36.0, 40.0]]]])
    shift = torch.tensor([[[[3.0, 4.0], [0.0, 2.0], [0.0, 0.0]]],
                          [[[1.0, 0.0], [0.0, -1.0], [0.0, 1.0]]]])
    outputs = _planted(task, true, shift, drop=(0, 2))  # sample 0's tail is missing
    callback = PoseMetrics(task, frame_scale=np.array([1.0, 2.0]), pck_threshold_px=2.5)
    distances = callback.batch_distances(outputs, true, np.array([0, 1]))
    # sample 0 in frame pixels: 5, 2, missing; sample 1 (scale 2): 2, 2, 2
    np.testing.assert_allclose(distances[0], [[5.0, 2.0, math.inf]], atol=0.05)
    np.testing.assert_allclose(distances[1], [[2.0, 2.0, 2.0]], atol=0.05)
    for d in distances:
        callback.tally.add(d, callback.pck_threshold_px)
    values = summarize(*callback.tally.as_array())
    assert values["val_pixel_error"] == pytest.approx((5 + 2 + 2 + 2 + 2) / 5, abs=0.02)
    assert values["val_pck"] == pytest.approx(4 / 6)
    assert values["val_missing"] == pytest.approx(1 / 6)


def test_bottomup_instances_are_matched_to_the_nearest_prediction():
    task = _task("bottomup")
    true = torch.tensor([[[[12.0, 12.0], [24.0, 12.0], [36.0, 12.0]],
                          [[12.0, 48.0], [24.0, 48.0], [36.0, 48.0]]]])
    shift = torch.zeros_like(true)
    shift[0, 1, 0] = torch.tensor([0.0, 3.0])
    callback = PoseMetrics(task)
    (d,) = callback.batch_distances(_planted(task, true, shift, None), true, np.array([0]))
    np.testing.assert_allclose(d, [[0, 0, 0], [3, 0, 0]], atol=0.1)


def test_centroid_error_is_measured_at_the_anchors():
    task = _task("centroid")
    true = torch.tensor([[[[12.0, 12.0], [24.0, 16.0], [36.0, 12.0]],
                          [[12.0, 48.0], [40.0, 44.0], [36.0, 48.0]]]])
    shift = torch.zeros_like(true)
    shift[0, 0, 1] = torch.tensor([4.0, 0.0])  # the anchor (body) of the first animal moves
    callback = PoseMetrics(task)
    (d,) = callback.batch_distances(_planted(task, true, shift, None), true, np.array([0]))
    np.testing.assert_allclose(np.sort(d.ravel()), [0.0, 4.0], atol=0.1)


def test_settings_merge_the_sidecar_and_check_values(tmp_path):
    config = tmp_path / "single.yaml"
    config.write_text("{}")
    (tmp_path / "single.posekit.yaml").write_text(
        "model_selection:\n  select_on: pck\n  patience: 4\n  pck_threshold_px: 3\n")
    from posekit.refinement.frame_weights import settings_for_config

    assert settings_for_config(config) is None  # the frame-weight reader accepts the section
    merged = resolve_selection({"eval_every": 50}, config)
    assert (merged.select_on, merged.patience, merged.eval_every) == ("pck", 4, 50)
    assert merged.pck_threshold_px == 3.0 and merged.monitor == ("val_pck", "max")
    assert resolve_selection(None, {"not": "a path"}) == SelectionSettings()
    with pytest.raises(ConfigError, match="select_on"):
        resolve_selection({"select_on": "accuracy"}, config)
    with pytest.raises(ConfigError, match="patience"):
        SelectionSettings(patience=0)
