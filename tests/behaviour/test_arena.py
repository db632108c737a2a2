"""Zones from arena JSON: polygons, centre / periphery, checks against the frame."""

from __future__ import annotations

import json

import numpy as np
import pytest

from posekit.behaviour import check_in_frame, load_arena, measure_tracks, parse_arena
from posekit.errors import ConfigError


def test_polygon_zones_contain_their_inside_points():
    (zone,) = parse_arena({"zones": [{"name": "tri", "polygon": [[0, 0], [10, 0], [0, 10]]}]})
    inside = zone.contains(np.array([[1, 1], [9, 9], [np.nan, 1]]))
    np.testing.assert_array_equal(inside, [True, False, False])


def test_a_circular_arena_splits_into_centre_and_periphery():
    zones = parse_arena({"arena": {"shape": "circle", "centre": [100, 100], "radius": 80}})
    assert [z.name for z in zones] == ["arena", "centre", "periphery"]
    pts = np.array([[100, 100], [100 + 60, 100], [100 + 79, 100], [100 + 90, 100]])
    got = np.stack([z.contains(pts) for z in zones], axis=1)
    np.testing.assert_array_equal(got, [[1, 1, 0], [1, 0, 1], [1, 0, 1], [0, 0, 0]])


def test_thigmotaxis_on_a_rectangle_known_time_in_the_periphery():
    zones = parse_arena({"arena": {"shape": "rectangle", "bounds": [0, 0, 200, 100],
                                   "centre_fraction": 0.5}})  # centre: x 50..150, y 25..75
    x = np.arange(0.5, 200, 1.0)  # 200 frames across the middle line
    xy = np.stack([x, np.full_like(x, 50.0)], -1)[:, None, :]
    row = measure_tracks(xy, zones).rows[0]
    assert row["time_in_centre"] == 100 and row["time_in_periphery"] == 100
    assert row["entries_centre"] == 1 and row["entries_periphery"] == 1


def test_zones_outside_the_frame_are_refused():
    zones = parse_arena({"arena": {"shape": "circle", "centre": [100, 100], "radius": 150}})
    with pytest.raises(ConfigError, match="outside the 384x384 px frame"):
        check_in_frame(zones, 384, 384)
    check_in_frame(parse_arena({"zones": [{"polygon": [[0, 0], [384, 0], [384, 384]]}]}),
                   384, 384)


@pytest.mark.parametrize("doc, message", [
    ({}, "zones.*arena"),
    ({"zones": [{"name": "a", "polygon": [[0, 0], [1, 1]]}]}, "at least 3"),
    ({"arena": {"shape": "hexagon"}}, "invalid arena"),
    ({"arena": {"shape": "circle", "centre": [0, 0], "radius": -1}}, "invalid arena"),
    ({"arena": {"shape": "rectangle", "bounds": [0, 0, 9, 9], "centre_fraction": 1.5}},
     "centre_fraction"),
    ({"zones": [{"name": "a", "polygon": [[0, 0], [1, 0], [0, 1]]}] * 2}, "repeat"),
])
def test_invalid_arenas_say_what_is_wrong(doc, message):
    with pytest.raises(ConfigError, match=message):
        parse_arena(doc)


def test_arena_files_are_read_and_bad_files_reported(tmp_path):
    path = tmp_path / "arena.json"
    path.write_text(json.dumps({"zones": [{"name": "a", "polygon": [[0, 0], [5, 0], [0, 5]]}]}))
    assert [z.name for z in load_arena(path)] == ["a"]
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ConfigError, match="cannot read"):
        load_arena(tmp_path / "bad.json")
    with pytest.raises(ConfigError, match="not found"):
        load_arena(tmp_path / "missing.json")
