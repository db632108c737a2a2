"""EvaluationSettings: conversions and the messages of its rules (config rules)."""

from __future__ import annotations

import numpy as np
import pytest

from posekit.config import InvalidConfigError
from posekit.evaluation import EvaluationSettings


def test_values_are_converted_to_their_annotated_types() -> None:
    settings = EvaluationSettings(
        oks_sigmas=np.array([0.1, 0.2]), pck_thresholds=[1, np.int64(5)], match_oks_threshold=0
    )
    assert settings.oks_sigmas == (0.1, 0.2)
    assert settings.pck_thresholds == (1.0, 5.0)
    assert all(type(v) is float for v in settings.pck_thresholds)
    assert settings.match_oks_threshold == 0.0 and type(settings.match_oks_threshold) is float
    assert EvaluationSettings(oks_sigmas=0.05).oks_sigmas == 0.05
    assert EvaluationSettings(oks_sigmas={"head": np.float64(0.1)}).oks_sigmas == {"head": 0.1}


def test_every_problem_is_reported_with_its_field() -> None:
    with pytest.raises(InvalidConfigError) as err:
        EvaluationSettings(
            identity_mapping="hungarain",  # type: ignore[arg-type]
            pck_thresholds=(),
            pck_bbox_fractions=(0.1, -1),
            match_oks_threshold=2,
            oks_sigmas=[0.1, "a"],  # type: ignore[list-item]
            user_instances_only_gt=1,  # type: ignore[arg-type]
        )
    assert err.value.source == "EvaluationSettings"
    assert err.value.problems == [
        ("oks_sigmas: got [0.1, 'a'] (list); expected a number or a list of numbers or ndarray "
         "or a mapping or null. Or set it to null (the default)."),
        ("user_instances_only_gt: got 1 (int); expected a boolean (true/false). The default "
         "is true."),
        ("pck_thresholds: the list is empty; expected at least one value. Give one or more "
         "positive numbers, e.g. [1, 2, 5, 10]."),
        ("pck_bbox_fractions: value -1.0 is out of range; expected a number > 0. E.g. "
         "[0.05, 0.1, 0.2]."),
        ("match_oks_threshold: value 2.0 is out of range; expected a number >= 0 and <= 1. "
         "OKS lies in [0, 1]; the default is 0."),
        ("identity_mapping: unknown value 'hungarain'; expected one of auto, name, hungarian. "
         "Did you mean 'hungarian'?"),
    ]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"oks_sigmas": 0},
            ("oks_sigmas: value 0.0 is out of range; expected a number > 0. The usual value is "
             "0.025 (sleap-nn's default), or null for it."),
        ),
        (
            {"pck_thresholds": (1, float("inf"))},
            ("pck_thresholds: value inf is out of range; expected a number > 0. Give one or "
             "more positive numbers, e.g. [1, 2, 5, 10]."),
        ),
        (
            {"match_area_fallback": 0},
            ("match_area_fallback: value 0.0 is out of range; expected a number > 0. Use an "
             "area in pixels squared such as 10000, or null for the data set's median."),
        ),
        (
            {"visibility_max_distance": -1},
            ("visibility_max_distance: value -1.0 is out of range; expected a number >= 0. Use "
             "a distance in pixels such as 10, or null for any distance."),
        ),
    ],
)
def test_one_bad_value(values: dict, message: str) -> None:
    with pytest.raises(InvalidConfigError) as err:
        EvaluationSettings(**values)
    assert str(err.value) == f"EvaluationSettings: {message}"
