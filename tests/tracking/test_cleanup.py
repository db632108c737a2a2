"""Post-pass: short-track removal, fragment merging, gap filling."""

from __future__ import annotations

import numpy as np
import pytest

from posekit.errors import DataError
from posekit.tracking import TrackingConfig, cleanup_tracks

K = 4
BODY = np.array([[0, 0], [40, 0], [40, 30], [0, 30]], dtype=np.float64)  # 40 x 30 px box


def at(x: float, y: float) -> np.ndarray:
    return BODY + [x, y]


def video(n: int, tracks: dict[int, dict[int, np.ndarray]]) -> tuple[list[int], list, list]:
    """``tracks[id][frame] = pose``; id < 0 entries are untracked detections."""
    frames, points, ids = [], [], []
    for f in range(n):
        here = [(t, poses[f]) for t, poses in tracks.items() if f in poses]
        frames.append(f)
        points.append(np.stack([p for _, p in here]) if here else np.zeros((0, K, 2)))
        ids.append(np.array([max(t, -1) for t, _ in here], np.int64))
    return frames, points, ids


def test_short_tracks_become_untracked() -> None:
    fr, pts, ids = video(
        6,
        {
            0: {f: at(10 + f, 10) for f in range(6)},
            7: {f: at(200, 200) for f in (2, 3)},
            9: {4: at(300, 300)},
        },
    )
    new, filled = cleanup_tracks(fr, pts, ids, TrackingConfig(min_track_length=3))
    assert [x.tolist() for x in new] == [[0], [0], [0, -1], [0, -1], [0, -1], [0]]
    assert len(filled) == 0
    new, _ = cleanup_tracks(fr, pts, ids, TrackingConfig(min_track_length=2))
    assert new[2].tolist() == [0, 7] and new[4].tolist() == [0, -1]


def fragmented() -> tuple[list[int], list, list]:
    # Animal A: track 0 on frames 0-9, then (same animal, continuing its walk) track 5 on
    # frames 13-19. Animal B: track 1 throughout, far away.
    return video(
        20,
        {
            0: {f: at(10 + 2 * f, 10) for f in range(10)},
            5: {f: at(10 + 2 * f, 10) for f in range(13, 20)},
            1: {f: at(300, 300) for f in range(20)},
        },
    )


def test_fragments_merge_with_or_without_max_tracks() -> None:
    fr, pts, ids = fragmented()
    for cfg in (
        TrackingConfig(max_tracks=2, merge_max_gap=5, similarity="centroid"),
        TrackingConfig(merge_max_gap=5, similarity="centroid"),
        TrackingConfig(similarity="centroid"),  # the default merge_max_gap (30)
    ):
        new, _ = cleanup_tracks(fr, pts, ids, cfg)
        assert [x.tolist() for x in new] == [[0, 1]] * 10 + [[1]] * 3 + [[0, 1]] * 7
    # Too long a gap or merging off: nothing changes.
    for cfg in (
        TrackingConfig(max_tracks=2, merge_max_gap=2, similarity="centroid"),
        TrackingConfig(merge_max_gap=0, similarity="centroid"),
    ):
        new, _ = cleanup_tracks(fr, pts, ids, cfg)
        assert new[15].tolist() == [5, 1]


def test_dissimilar_fragments_are_not_merged() -> None:
    fr, pts, ids = video(
        20,
        {
            0: {f: at(10, 10) for f in range(10)},
            5: {f: at(200, 10) for f in range(12, 20)},  # starts 190 px away
        },
    )
    new, _ = cleanup_tracks(fr, pts, ids, TrackingConfig(max_tracks=2, merge_max_gap=5))
    assert new[15].tolist() == [5]


def test_chains_of_fragments_merge_into_the_first_id() -> None:
    fr, pts, ids = video(
        12,
        {
            3: {f: at(10 + f, 10) for f in range(4)},
            8: {f: at(10 + f, 10) for f in range(5, 8)},
            2: {f: at(10 + f, 10) for f in range(9, 12)},
        },
    )
    new, _ = cleanup_tracks(fr, pts, ids, TrackingConfig(max_tracks=1, merge_max_gap=1))
    assert {int(t) for x in new for t in x} == {3}


def test_gaps_are_interpolated_per_node() -> None:
    a0, a4 = at(0, 0), at(40, 80)
    a4[1] = np.nan  # node 1 missing after the gap: it stays missing in between
    fr, pts, ids = video(5, {0: {0: a0, 4: a4}})
    _, filled = cleanup_tracks(fr, pts, ids, TrackingConfig(max_gap=3))
    assert filled.frame_indices.tolist() == [1, 2, 3] and filled.track_ids.tolist() == [0, 0, 0]
    assert filled.points.dtype == np.float32
    np.testing.assert_allclose(filled.points[1, 0], [20, 40])
    np.testing.assert_allclose(filled.points[0, 2], [40 + 10, 30 + 20])
    assert np.isnan(filled.points[:, 1]).all()
    _, none = cleanup_tracks(fr, pts, ids, TrackingConfig(max_gap=2))
    assert len(none) == 0


def test_gap_filling_adopts_a_fitting_untracked_detection() -> None:
    fr, pts, ids = video(
        7,
        {
            0: {0: at(0, 0), 6: at(60, 0)},
            -1: {3: at(31, 0)},  # the animal, detected but left untracked on frame 3
            -2: {2: at(200, 200)},  # an unrelated untracked detection
        },
    )
    new, filled = cleanup_tracks(fr, pts, ids, TrackingConfig(max_gap=5, similarity="centroid"))
    assert new[3].tolist() == [0] and new[2].tolist() == [-1]
    assert filled.frame_indices.tolist() == [1, 2, 4, 5]
    # Interpolated between the real poses on both sides of each hole (frame 3 is real now).
    np.testing.assert_allclose(filled.points[:2, 0, 0], [31 / 3, 62 / 3], rtol=1e-6)
    np.testing.assert_allclose(filled.points[2:, 0, 0], [31 + 29 / 3, 31 + 58 / 3], rtol=1e-6)


def test_empty_and_untracked_videos() -> None:
    new, filled = cleanup_tracks([], [], [], TrackingConfig(max_gap=3, min_track_length=2))
    assert new == [] and len(filled) == 0
    fr, pts, ids = video(3, {-1: {0: at(0, 0), 2: at(5, 5)}})
    new, filled = cleanup_tracks(fr, pts, ids, TrackingConfig(max_gap=3, min_track_length=2))
    assert [x.tolist() for x in new] == [[-1], [], [-1]] and len(filled) == 0


def test_inputs_are_not_modified() -> None:
    fr, pts, ids = fragmented()
    before = [x.copy() for x in ids], [p.copy() for p in pts]
    cleanup_tracks(
        fr, pts, ids, TrackingConfig(max_tracks=2, merge_max_gap=5, max_gap=5, min_track_length=3)
    )
    assert all(np.array_equal(a, b) for a, b in zip(before[0], ids, strict=True))
    assert all(np.array_equal(a, b) for a, b in zip(before[1], pts, strict=True))


def test_bad_inputs_raise_data_errors() -> None:
    fr, pts, ids = fragmented()
    with pytest.raises(DataError, match="expected one of each per frame"):
        cleanup_tracks(fr[:-1], pts, ids, TrackingConfig())
    with pytest.raises(DataError, match="a frame index appears twice"):
        cleanup_tracks([0] * len(fr), pts, ids, TrackingConfig())
    bad = list(ids)
    bad[3] = np.array([1, 1])
    with pytest.raises(DataError, match="frame 3: a track id is used by two instances"):
        cleanup_tracks(fr, pts, bad, TrackingConfig())
    bad[3] = np.array([1])
    with pytest.raises(DataError, match=r"frame 3: points \(2, 4, 2\) and track ids \(1,\)"):
        cleanup_tracks(fr, pts, bad, TrackingConfig())
