"""The rules of ``posekit config auto`` on synthetic animals whose sizes and poses are known."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from posekit.autoconfig import choices as rules
from posekit.autoconfig.label_facts import (
    axis_deviation,
    measure_labels,
    overlap_share,
    principal_axis_angles,
)
from posekit.autoconfig.plan import BACKBONE, plan_stage


@pytest.fixture(scope="module")
def small_facts(small_in_big):
    return measure_labels(small_in_big)[0]


@pytest.fixture(scope="module")
def large_facts(large_animal):
    return measure_labels(large_animal)[0]


def test_small_animal_in_big_frame_is_top_down(small_facts) -> None:
    assert small_facts.relative_size < rules.TOPDOWN_MAX_RELATIVE
    kind = rules.choose_model_type(small_facts)
    assert kind.value == ("centroid", "centered_instance")
    assert f"{small_facts.size.p90:.0f} px" in kind.reason


def test_large_animal_is_single_instance(large_facts) -> None:
    assert large_facts.relative_size >= rules.TOPDOWN_MAX_RELATIVE
    assert rules.choose_model_type(large_facts).value == ("single_instance",)


def test_larger_animal_gets_larger_receptive_field(small_facts, large_facts) -> None:
    small = plan_stage(small_facts, "centered_instance")
    large = plan_stage(large_facts, "single_instance")
    s_stride = small.value(f"{BACKBONE}.max_stride")
    l_stride = large.value(f"{BACKBONE}.max_stride")
    assert (s_stride, l_stride) == (8, 16)
    for plan, stride in ((small, s_stride), (large, l_stride)):
        rf = rules.receptive_field(stride, plan.output_stride)
        assert rf >= rules.RF_COVER * plan.animal_px  # about the animal's p90 size
        assert stride == 8 or rules.receptive_field(stride // 2, plan.output_stride) < \
            rules.RF_COVER * plan.animal_px


def test_receptive_field_about_the_animal_size() -> None:
    # posekit's UNet at output stride 4: 92 px at max_stride 8, 212 px at 16
    assert rules.choose_max_stride(92.0, 4).value == 8
    near = rules.choose_max_stride(100.0, 4)
    assert near.value == 8 and "within 10% of the animal's p90 size 100 px" in near.reason
    assert rules.choose_max_stride(103.0, 4).value == 16  # 92 px is < 90 % of 103 px


def test_single_peak_maps_on_a_coarser_grid(small_facts, large_facts) -> None:
    alone = plan_stage(large_facts, "single_instance")
    head = "model_config.head_configs.single_instance.confmaps"
    assert alone.output_stride == rules.SINGLE_PEAK_OUTPUT_STRIDE == 4
    assert alone.value(f"{head}.output_stride") == 4
    # the spread stays the same in model pixels: 5 px are 1.25 cells of 4 px
    px = float(np.clip(rules.SIGMA_FRACTION * alone.animal_px, *rules.SIGMA_PX))
    assert alone.value(f"{head}.sigma") == pytest.approx(round(px / 4, 2))
    # the instance stage of a top-down model finds one peak per part too
    for head_type in ("centered_instance", "multi_class_topdown"):
        crop_model = plan_stage(small_facts, head_type)
        assert crop_model.output_stride == 4
        assert crop_model.value(f"{BACKBONE}.output_stride") == 4
        assert crop_model.value(f"model_config.head_configs.{head_type}.confmaps."
                                "output_stride") == 4
        assert crop_model.value("data_config.preprocessing.crop_size") % 4 == 0
    # models that find many peaks keep their template's grid
    centroid = plan_stage(small_facts, "centroid")
    assert centroid.output_stride == 2
    with pytest.raises(KeyError):
        centroid.value(f"{BACKBONE}.output_stride")
    assert rules.choose_output_stride(False, 2) is None  # centroid, bottom-up: many peaks
    assert rules.choose_output_stride(True, 2).value == 4  # single instance, crop models
    assert rules.choose_output_stride(True, 8) is None  # never finer


def test_crop_holds_the_whole_animal(small_facts) -> None:
    plan = plan_stage(small_facts, "centered_instance")
    crop = plan.value("data_config.preprocessing.crop_size")
    stride = plan.value(f"{BACKBONE}.max_stride")
    assert crop % stride == 0
    pts = small_facts.points
    centre = (np.nanmin(pts, axis=1) + np.nanmax(pts, axis=1)) / 2
    reach = np.nanmax(np.linalg.norm(pts - centre[:, None], axis=-1))
    assert crop >= 2 * reach + 4  # any rotation stays inside, with a margin
    assert crop < 2 * reach + 4 + 2 * stride + 1  # and not much more
    assert plan.input_hw == (crop, crop)
    # the template's lower bound (100 px) would read as larger than the chosen crop
    assert plan.value("data_config.preprocessing.min_crop_size") == crop


def test_centroid_scales_down_more_than_instance_model(small_facts, large_facts) -> None:
    facts = dataclasses.replace(large_facts, size=dataclasses.replace(large_facts.size, p90=300.0))
    centroid = plan_stage(facts, "centroid").value("data_config.preprocessing.scale")
    instance = plan_stage(facts, "centered_instance").value("data_config.preprocessing.scale")
    assert centroid == 0.2 and instance == 1.0  # 64 / 300 -> 0.2; 300 px <= 320 px


def _rotate_each(points: np.ndarray, angles: np.ndarray) -> np.ndarray:
    centre = np.nanmean(points, axis=1, keepdims=True)
    c, s = np.cos(angles)[:, None], np.sin(angles)[:, None]
    d = points - centre
    return centre + np.stack([c * d[..., 0] - s * d[..., 1], s * d[..., 0] + c * d[..., 1]], -1)


def test_top_view_rotates_180_side_view_15(small_facts) -> None:
    pts = small_facts.points
    rng = np.random.default_rng(0)
    # Turn every pose so its axis is horizontal, then tilt it by at most 8 deg (a side view).
    level = _rotate_each(pts, -principal_axis_angles(pts))
    side_pts = _rotate_each(level, np.radians(rng.uniform(-8, 8, len(pts))))
    top_pts = _rotate_each(level, rng.uniform(-np.pi, np.pi, len(pts)))
    side = dataclasses.replace(small_facts, orientation_spread=axis_deviation(
        principal_axis_angles(side_pts)))
    top = dataclasses.replace(small_facts, orientation_spread=axis_deviation(
        principal_axis_angles(top_pts)))
    assert side.orientation_spread < 10 and top.orientation_spread > 80
    assert rules.choose_rotation(side).value == 15.0
    assert rules.choose_rotation(top).value == 180.0


def test_identity_tracks_give_a_multi_class_type(identity_pair) -> None:
    facts = measure_labels(identity_pair)[0]
    assert facts.tracks.identities and facts.instances_max == 2
    assert rules.choose_model_type(facts).value[-1] in ("multi_class_topdown",
                                                        "multi_class_bottomup")
    fragments = dataclasses.replace(facts, tracks=dataclasses.replace(
        facts.tracks, identities=False, reason="tracks are fragments"))
    assert rules.choose_model_type(fragments).value == ("centroid", "centered_instance")


def test_overlapping_animals_give_bottom_up(identity_pair) -> None:
    facts = measure_labels(identity_pair)[0]
    pose = np.array([[0.0, 0.0], [40.0, 10.0], [20.0, 30.0]])
    # Frame 0: two animals 10 px apart (overlap); frame 1: far apart.
    pts = np.stack([pose, pose + 10, pose, pose + 150])
    share = overlap_share(pts, np.array([0, 2, 4]))
    assert share == 0.5
    crowded = dataclasses.replace(facts, overlap_share=share, tracks=dataclasses.replace(
        facts.tracks, identities=False))
    assert rules.choose_model_type(crowded).value == ("bottomup",)
    with_ids = dataclasses.replace(crowded, tracks=facts.tracks)
    assert rules.choose_model_type(with_ids).value == ("multi_class_bottomup",)


def test_batch_learning_rate_and_schedule_numbers() -> None:
    assert rules.choose_batch_size(51, 49, "fits").value == 32
    assert rules.choose_batch_size(12, 49, "fits").value == 12
    assert rules.choose_batch_size(51, 20, "fits").value == 20
    # 0.5 s per sample, 100 s budget: 90 s / (200 steps x 0.5 s) -> batch 0 -> 1.
    assert rules.choose_batch_size(51, 49, "fits", 0.5, 100.0).value == 1
    assert rules.choose_learning_rate(32).value == pytest.approx(0.004)
    assert rules.choose_learning_rate(4).value == pytest.approx(0.001)  # no scaling down
    assert rules.choose_learning_rate(1).value == pytest.approx(0.001)
    plan = rules.choose_schedule(0.5, 900.0, 100, 10, 100).value
    assert plan.steps_per_epoch == 50 and plan.max_epochs == 32  # 1620 steps / 50
    assert rules.choose_schedule(0.5, None, 100, 10, 100).value.max_epochs == 100


def test_short_budget_lowers_the_input_scale() -> None:
    # 0.3 s per sample at scale 0.6: 300 s x 0.9 affords 900 samples (< 3000).
    lower = rules.choose_budget_scale(0.6, 530.0, "alone", 0.3, 300.0)
    # 0.6 x sqrt(900 / 3000) = 0.329 -> 0.3; the animal becomes 159 px (floor 96 px).
    assert lower is not None and lower.value == pytest.approx(0.3)
    assert "900 samples" in lower.reason and "159 px" in lower.reason
    # A budget that affords enough samples keeps the rule's scale.
    assert rules.choose_budget_scale(0.6, 530.0, "alone", 0.01, 300.0) is None
    # Never below the animal's floor: 96 / 530 = 0.181.
    floor = rules.choose_budget_scale(0.6, 530.0, "alone", 5.0, 300.0)
    assert floor is not None and floor.value == pytest.approx(96 / 530, abs=1e-3)
    assert "floor of 96 px" in floor.reason
    # Already at the floor: nothing lower is allowed.
    assert rules.choose_budget_scale(0.2, 480.0, "alone", 5.0, 300.0) is None
    # Centroid models may go lower (a coarse location): floor 32 px.
    centroid = rules.choose_budget_scale(0.5, 200.0, "centroids", 5.0, 300.0)
    assert centroid is not None and centroid.value == pytest.approx(0.16)


def test_full_frame_models_train_on_windows_when_frames_are_large() -> None:
    # a 112 px animal crop in a 704 px input: a 224 px window has 10 % of the pixels
    window = rules.choose_training_window(112, (704, 704), 8)
    assert window is not None and window.value == 224 and "10%" in window.reason
    # rounded up to the max stride
    assert rules.choose_training_window(100, (704, 704), 32).value == 224
    # a window with more than half of the input's pixels saves too little
    assert rules.choose_training_window(112, (288, 288), 8) is None


def test_bottom_up_plan_on_big_frames_has_a_window(identity_pair) -> None:
    facts = measure_labels(identity_pair)[0]
    big = dataclasses.replace(facts, frame_hw=(768, 768))
    plan = plan_stage(big, "bottomup")
    assert plan.window is not None and plan.train_hw == (plan.window.value,) * 2
    assert plan.window.value % plan.value(f"{BACKBONE}.max_stride") == 0
    assert plan.window.value ** 2 <= 0.5 * plan.input_hw[0] * plan.input_hw[1]
    small = dataclasses.replace(facts, frame_hw=(128, 128))
    assert plan_stage(small, "bottomup").window is None  # a 96 px window: 56 % of 128 x 128
    assert plan_stage(big, "centroid").window is None  # centroid models read whole frames
