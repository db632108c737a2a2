"""Measures on synthetic trajectories with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from posekit.behaviour import (
    Units,
    Zone,
    bin_edges,
    entries,
    measure_tracks,
    position,
    speed,
    step_lengths,
)
from posekit.behaviour.arena import rectangle
from posekit.errors import ConfigError


def circle_path(n: int = 200, r: float = 50.0, per_lap: int = 100) -> np.ndarray:
    """``(n, 1, 2)``: constant angular speed around (100, 100)."""
    a = 2 * np.pi * np.arange(n) / per_lap
    return np.stack([100 + r * np.cos(a), 100 + r * np.sin(a)], axis=-1)[:, None, :]


def line(n: int = 100, step: float = 1.0) -> np.ndarray:
    """``(n, 1, 2)``: x = 0, step, 2 step... at y = 50."""
    x = step * np.arange(n, dtype=float)
    return np.stack([x, np.full(n, 50.0)], axis=-1)[:, None, :]


def test_a_constant_speed_circle_has_its_chord_speed_and_distance():
    chord = 2 * 50.0 * np.sin(np.pi / 100)  # straight line between consecutive frames
    m = measure_tracks(circle_path(201))  # 200 steps: two laps
    row = m.rows[0]
    assert np.isnan(m.speed[0, 0])
    np.testing.assert_allclose(m.speed[1:, 0], chord)
    assert row["distance"] == pytest.approx(200 * chord)
    assert row["distance"] == pytest.approx(2 * 2 * np.pi * 50, rel=1e-3)
    assert row["speed_mean"] == pytest.approx(chord)
    assert row["speed_sd"] == pytest.approx(0, abs=1e-9)


def test_scale_and_frame_rate_convert_to_cm_and_seconds():
    chord = 2 * 50.0 * np.sin(np.pi / 100)
    units = Units(px_per_cm=5.0, fps=25.0)
    m = measure_tracks(circle_path(), units=units)
    row = m.rows[0]
    assert (units.length, units.time, units.speed) == ("cm", "s", "cm/s")
    assert row["speed_mean"] == pytest.approx(chord / 5 * 25)
    assert row["distance"] == pytest.approx(199 * chord / 5)
    assert row["duration"] == pytest.approx(200 / 25)
    assert Units(fps=10).speed == "px/s" and Units().speed == "px/frame"


@pytest.mark.parametrize("bad", [0.0, -2.0, float("nan")])
def test_a_scale_or_rate_that_is_not_positive_is_refused(bad):
    with pytest.raises(ConfigError, match="px-per-cm.*positive"):
        Units(px_per_cm=bad)
    with pytest.raises(ConfigError, match="fps.*positive"):
        Units(fps=bad)


def test_time_in_a_zone_is_the_frames_inside_times_the_frame_interval():
    zone = Zone("band", rectangle(20.5, 0, 40.5, 100))  # x = 21..40 inside: 20 frames
    m = measure_tracks(line(), [zone], Units(fps=10.0))
    row = m.rows[0]
    assert m.inside[:, 0, 0].sum() == 20
    assert row["time_in_band"] == pytest.approx(2.0)
    assert row["fraction_in_band"] == pytest.approx(0.2)
    assert row["entries_band"] == 1


def test_entries_count_outside_to_inside_crossings_only():
    x = np.array([30, 31, 10, 30, 10, 10, 30, np.nan, 31, 10, 35], float)  # starts inside
    xy = np.stack([x, np.full_like(x, 50.0)], -1)[:, None, :]
    zone = Zone("band", rectangle(20, 0, 40, 100))
    m = measure_tracks(xy, [zone])
    # entries at frames 3 and 6 and 10; the start inside and the gap at 7 are not entries
    assert m.rows[0]["entries_band"] == 3
    inside = m.inside
    assert entries(inside, np.isfinite(xy).all(-1))[0, 0] == 3


def test_immobility_counts_frames_slower_than_the_threshold():
    x = np.r_[np.zeros(30), 2.0 * np.arange(1, 71)]
    xy = np.stack([x, np.zeros(100)], -1)[:, None, :]
    row = measure_tracks(xy, immobile_speed=1.0).rows[0]
    assert row["immobile_time"] == 29  # frames 1..29 (frame 0 has no speed)
    row = measure_tracks(xy, units=Units(fps=10.0), immobile_speed=10.0).rows[0]
    assert row["immobile_time"] == pytest.approx(2.9)  # 20 px/s moving, 0 still


def test_bins_split_the_video_and_add_up_to_the_whole():
    assert bin_edges(10, 0.4, 10.0) == [(0, 4), (4, 8), (8, 10)]
    assert bin_edges(10, 5, None) == [(0, 5), (5, 10)]
    with pytest.raises(ConfigError, match="bin-s"):
        bin_edges(10, 0, None)
    m = measure_tracks(circle_path(), units=Units(fps=20.0), bin_s=2.5)
    rows = {r["bin"]: r for r in m.rows}
    assert list(rows) == ["all", "0", "1", "2", "3"]
    assert sum(rows[b]["distance"] for b in "0123") == pytest.approx(rows["all"]["distance"])
    assert rows["1"]["start_frame"] == 50 and rows["1"]["end"] == pytest.approx(5.0)


def test_steps_are_not_counted_across_gaps_or_changes_of_trajectory():
    xy = line(6)
    xy[2] = np.nan
    steps = step_lengths(xy)
    np.testing.assert_array_equal(np.isnan(steps[:, 0]), [1, 0, 1, 1, 0, 0])
    seg = np.array([[0], [0], [0], [0], [1], [1]])
    assert np.isnan(step_lengths(line(6), seg)[4, 0])
    assert np.nansum(speed(line(6), segments=seg)) == 4.0


def test_position_is_a_node_or_the_centroid_of_found_nodes():
    pts = np.array([[[[0, 0], [2, 4], [np.nan, np.nan]]]], float)  # (1, 1, 3, 2)
    np.testing.assert_allclose(position(pts, ("a", "b", "c")), [[[1, 2]]])
    np.testing.assert_allclose(position(pts, ("a", "b", "c"), "b"), [[[2, 4]]])
    with pytest.raises(ConfigError, match="--node.*centroid"):
        position(pts, ("a", "b", "c"), "tail")


def test_several_animals_are_measured_separately():
    xy = np.concatenate([line(50, 1.0), line(50, 3.0)], axis=1)
    m = measure_tracks(xy, names=("slow", "fast"))
    dist = {r["animal"]: r["distance"] for r in m.rows}
    assert dist == pytest.approx({"slow": 49.0, "fast": 147.0})
