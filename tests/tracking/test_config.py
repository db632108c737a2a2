"""TrackingConfig: defaults, dict round trip, and validation messages."""

from __future__ import annotations

import numpy as np
import pytest

from posekit.errors import ConfigError
from posekit.tracking import TrackingConfig


def test_defaults_and_round_trip() -> None:
    cfg = TrackingConfig()
    assert cfg.window == 5 and cfg.similarity == "oks" and cfg.match == "hungarian"
    assert cfg.max_tracks is None and cfg.optical_flow is False
    assert TrackingConfig.from_dict(cfg.to_dict()) == cfg
    assert TrackingConfig.from_dict(None) == cfg
    custom = TrackingConfig.from_dict(
        {"similarity": "IoU", "oks_sigma": [0.1, 0.2], "max_tracks": 2, "min_similarity": 1}
    )
    assert custom.similarity == "iou"
    assert custom.oks_sigma == (0.1, 0.2)
    assert custom.min_similarity == 1.0 and isinstance(custom.min_similarity, float)
    d = custom.to_dict()
    assert d["oks_sigma"] == [0.1, 0.2] and d["max_tracks"] == 2
    assert TrackingConfig.from_dict(d) == custom


def test_numpy_scalars_are_accepted() -> None:
    cfg = TrackingConfig.from_dict({"window": np.int64(7), "min_similarity": np.float32(0.5)})
    assert cfg.window == 7 and type(cfg.window) is int
    assert cfg.min_similarity == 0.5


def test_unknown_key_suggests_the_close_name() -> None:
    with pytest.raises(ConfigError) as err:
        TrackingConfig.from_dict({"max_track": 2}, source="infer.yaml")
    msg = str(err.value)
    assert msg.startswith("infer.yaml: tracking.max_track: unknown key")
    assert "Did you mean `max_tracks`?" in msg


@pytest.mark.parametrize(
    ("key", "value", "needle"),
    [
        ("window", 0, "an integer >= 1"),
        ("window", 2.5, "an integer >= 1"),
        ("window", True, "an integer >= 1"),
        ("max_tracks", 0, "an integer >= 1 or null"),
        ("min_similarity", 1.5, "a number >= 0.0 and <= 1.0"),
        ("min_similarity", float("nan"), "a number >= 0.0"),
        ("oks_area", 0, "a number > 0.0 or null"),
        ("oks_sigma", [0.1, -1], "one per node"),
        ("oks_sigma", "0.1", "one per node"),
        ("optical_flow", "yes", "true or false"),
        ("flow_max_levels", 11, "between 0 and 10"),
        ("min_new_track_points", 0, "an integer >= 1"),
    ],
)
def test_bad_values_name_the_key(key: str, value: object, needle: str) -> None:
    with pytest.raises(ConfigError) as err:
        TrackingConfig.from_dict({key: value}, source="cli")
    msg = str(err.value)
    assert msg.startswith(f"cli: tracking.{key}: got {value!r}")
    assert needle in msg


def test_bad_choice_suggests_the_close_one() -> None:
    with pytest.raises(ConfigError, match=r"tracking.similarity: .*Did you mean 'centroid'\?"):
        TrackingConfig.from_dict({"similarity": "centriod"})
    with pytest.raises(ConfigError, match=r"tracking.match: .*one of hungarian, greedy"):
        TrackingConfig(match="auction")


def test_direct_construction_is_validated_too() -> None:
    with pytest.raises(ConfigError, match="TrackingConfig: tracking.max_gap"):
        TrackingConfig(max_gap=-1)


def test_section_must_be_a_mapping() -> None:
    with pytest.raises(ConfigError, match="expected a mapping"):
        TrackingConfig.from_dict([("window", 3)], source="a.yaml")  # type: ignore[arg-type]
