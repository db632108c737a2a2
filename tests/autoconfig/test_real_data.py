"""Choices for the real datasets in ../shared/data (skipped where the folder is absent)."""

from __future__ import annotations

import numpy as np
import pytest

from posekit.autoconfig.choices import choose_model_type
from posekit.autoconfig.label_facts import measure_labels
from posekit.autoconfig.plan import BACKBONE, plan_stage

GEOM = "data_config.augmentation_config.geometric"


def test_reaching_single_mouse_side_view(shared_data) -> None:
    facts = measure_labels(shared_data / "reaching.pkg.slp")[0]
    assert facts.n_frames == 55 and facts.instances_max == 1 and facts.channels == 3
    assert facts.frame_hw == (747, 832)  # the larger of the two frame sizes
    assert facts.node_visibility[2] == pytest.approx(15 / 55)  # Tongue
    assert choose_model_type(facts).value == ("single_instance",)
    plan = plan_stage(facts, "single_instance")
    assert plan.value(f"{GEOM}.rotation_max") == 15.0  # side view
    scale = plan.value("data_config.preprocessing.scale")
    assert 0.5 <= scale <= 0.7 and facts.size.p90 * scale <= 320
    assert plan.value(f"{BACKBONE}.max_stride") == 32


def test_clip_two_flies_with_identities(shared_data) -> None:
    facts = measure_labels(shared_data / "clip.slp")[0]
    assert facts.tracks.identities and facts.tracks.names == ("female", "male")
    assert facts.frame_hw == (1024, 1024) and facts.channels == 1
    kind = choose_model_type(facts).value
    assert kind == ("centroid", "multi_class_topdown")
    centroid, instance = (plan_stage(facts, h) for h in kind)
    assert centroid.value("data_config.preprocessing.scale") < instance.value(
        "data_config.preprocessing.scale")
    crop = instance.value("data_config.preprocessing.crop_size")
    pts = facts.points
    centre = (np.nanmin(pts, axis=1) + np.nanmax(pts, axis=1)) / 2
    reach = np.nanmax(np.linalg.norm(pts - centre[:, None], axis=-1))
    assert 2 * reach < crop <= 2 * reach + 4 + 2 * 16 + 1  # the whole fly, not much more
    assert instance.value("model_config.head_configs.multi_class_topdown.class_vectors."
                          "output_stride") == instance.value(f"{BACKBONE}.max_stride")
    assert centroid.value(f"{GEOM}.rotation_max") == 180.0  # flies turn: top view
