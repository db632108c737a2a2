"""Helpers shared by the config tests."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from posekit.config import InvalidConfigError, load_config
from posekit.config.overrides import merge_into

MINIMAL: dict[str, Any] = {
    "data_config": {"train_labels_path": ["train.slp"]},
    "model_config": {
        "backbone_config": {"unet": {"filters": 16, "max_stride": 16, "output_stride": 2}},
        "head_configs": {"single_instance": {"confmaps": {"sigma": 2.5, "output_stride": 2}}},
    },
}


def make(update: dict[str, Any] | None = None) -> dict[str, Any]:
    """A valid single-instance config dict with ``update`` deep-merged into it."""
    data = copy.deepcopy(MINIMAL)
    if update:
        assert merge_into(data, copy.deepcopy(update)) == []
    return data


@pytest.fixture
def seeds(shared_data):
    """The folder of specification documents beside the shared data (skips if absent)."""
    folder = shared_data.parent / "seeds"
    if not any(folder.glob("003_*.txt")):
        pytest.skip(f"configuration guides not found in {folder}")
    return folder


AUG = "data_config.augmentation_config"


def problems_of(update: dict[str, Any], overrides: list[str] | None = None) -> list[str]:
    """The problems load_config reports for ``make(update)`` (it must fail)."""
    with pytest.raises(InvalidConfigError) as info:
        load_config(make(update), overrides or [])
    return info.value.problems


def only_problem(update: dict[str, Any]) -> str:
    """The single problem reported for ``make(update)``."""
    problems = problems_of(update)
    assert len(problems) == 1, problems
    return problems[0]
