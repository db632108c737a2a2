"""TrackingConfig: defaults, dict round trip, and validation messages (config rules)."""

from __future__ import annotations

import numpy as np
import pytest

from posekit.config import InvalidConfigError
from posekit.tracking import TrackingConfig


def problems(data: object, source: str = "cli") -> list[str]:
    """The problems ``TrackingConfig.from_dict`` reports for ``data``."""
    with pytest.raises(InvalidConfigError) as err:
        TrackingConfig.from_dict(data, source=source)  # type: ignore[arg-type]
    assert err.value.source == source
    return err.value.problems


def test_defaults_and_round_trip() -> None:
    cfg = TrackingConfig()
    assert cfg.window == 30 and cfg.similarity == "oks" and cfg.match == "hungarian"
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
    assert cfg.min_similarity == 0.5 and type(cfg.min_similarity) is float


def test_unknown_key_suggests_the_close_name() -> None:
    (problem,) = problems({"max_track": 2}, source="infer.yaml")
    assert problem.startswith(
        "tracking.max_track: unknown key; expected one of window, similarity, oks_sigma, "
    )
    assert problem.endswith("merge_max_gap. Did you mean 'max_tracks' or 'max_gap'?")


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("window", 0, "value 0 is out of range; expected a number >= 1. The default is 30."),
        ("window", 2.5, "got 2.5 (float); expected an integer. The default is 30."),
        ("window", True, "got True (boolean); expected an integer. The default is 30."),
        (
            "max_tracks",
            0,
            "value 0 is out of range; expected a number >= 1. Use e.g. 2, or null for no limit.",
        ),
        (
            "min_similarity",
            1.5,
            "value 1.5 is out of range; expected a number >= 0 and <= 1. The default is 0.01.",
        ),
        (
            "min_similarity",
            float("nan"),
            "value nan is out of range; expected a number >= 0 and <= 1. The default is 0.01.",
        ),
        (
            "oks_area",
            0,
            ("value 0.0 is out of range; expected a number > 0. Use e.g. 2500 (pixels "
             "squared), or null for the bounding-box area of the track's pose."),
        ),
        (
            "oks_sigma",
            [0.1, -1],
            ("value -1.0 is out of range; expected a number > 0. The default is 0.05 (COCO "
             "uses 0.025); larger values tolerate more error."),
        ),
        (
            "oks_sigma",
            [],
            ("the list is empty; expected at least one value. Give one number for all nodes "
             "or one per node."),
        ),
        (
            "oks_sigma",
            "0.1",
            "got '0.1' (string); expected a number or a list of numbers. The default is 0.05.",
        ),
        (
            "optical_flow",
            "yes",
            "got 'yes' (string); expected a boolean (true/false). The default is false.",
        ),
        (
            "flow_max_levels",
            11,
            "value 11 is out of range; expected a number >= 0 and <= 10. The default is 3.",
        ),
        (
            "min_new_track_points",
            0,
            "value 0 is out of range; expected a number >= 1. The default is 3.",
        ),
        (
            "anchor_node",
            -1,
            ("value -1 is out of range; expected a number >= 0. Use a node index such as 0, or "
             "null for the middle of the visible nodes."),
        ),
    ],
)
def test_bad_values_name_the_key(key: str, value: object, message: str) -> None:
    assert problems({key: value}) == [f"tracking.{key}: {message}"]
    with pytest.raises(InvalidConfigError) as err:
        TrackingConfig.from_dict({key: value}, source="cli")
    assert str(err.value) == f"cli: tracking.{key}: {message}"


def test_bad_choice_suggests_the_close_one() -> None:
    assert problems({"similarity": "centriod"}) == [
        ("tracking.similarity: unknown value 'centriod'; expected one of oks, centroid, iou. "
         "Did you mean 'centroid'?")
    ]
    with pytest.raises(InvalidConfigError) as err:
        TrackingConfig(match="auction")
    assert str(err.value) == (
        "TrackingConfig: tracking.match: unknown value 'auction'; expected one of hungarian, "
        "greedy. Use one of these names exactly as written."
    )


def test_every_problem_is_listed_together() -> None:
    found = problems(
        {"max_track": 2, "window": 0, "optical_flow": "yes", "max_gap": -1, "match": "best"},
        source="infer.yaml",
    )
    assert [p.split(":")[0] for p in found] == [
        "tracking.max_track",
        "tracking.optical_flow",
        "tracking.window",
        "tracking.match",
        "tracking.max_gap",
    ]
    with pytest.raises(InvalidConfigError) as err:
        TrackingConfig.from_dict({"window": 0, "max_gap": -1}, source="infer.yaml")
    assert str(err.value).startswith("infer.yaml: 2 problems in the configuration:\n  - ")


def test_a_wrong_type_is_reported_once() -> None:
    # The range rule of a field whose type is wrong does not run on it.
    assert problems({"window": "5"}) == [
        "tracking.window: got '5' (string); expected an integer. The default is 30."
    ]


def test_direct_construction_is_validated_too() -> None:
    with pytest.raises(InvalidConfigError) as err:
        TrackingConfig(max_gap=-1)
    assert str(err.value) == (
        "TrackingConfig: tracking.max_gap: value -1 is out of range; expected a number >= 0. "
        "Use e.g. 5 to fill holes of up to 5 frames, or 0 for none."
    )


def test_section_must_be_a_mapping() -> None:
    assert problems([("window", 3)], source="a.yaml") == [
        ("tracking: got [('window', 3)] (list); expected a mapping of settings. Write one "
         "indented `key: value` line per setting.")
    ]
