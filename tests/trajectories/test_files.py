"""posekit filter on files: .slp, analysis .h5 and .csv keep their format, say per point what
happened, record the filters, load in movement, and never change the input."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
import sleap_io as sio
from movement.io import load_poses

from posekit.errors import ConfigError, DataError
from posekit.io.writers import export_analysis_h5, export_csv
from posekit.trajectories import (
    FILLED,
    MISSING,
    FilterSettings,
    filter_file,
    filter_tracks,
    read_filter_outputs,
)

from .helpers import to_labels, wander

SETTINGS = FilterSettings(methods=("pcutoff", "median", "interpolate", "kalman"),
                          pcutoff=0.3, max_gap=3)


@pytest.fixture(scope="module")
def arrays():
    """Two tracked animals, 120 frames; track b is absent for frames 40-41 (a gap the filter
    fills with new instances) and from 80 on for 10 frames (too long: stays missing)."""
    rng = np.random.default_rng(5)
    truth = wander(120, 2, 3, seed=5)
    scores = rng.uniform(0.2, 1.0, (120, 2, 3))
    points = truth + rng.normal(0, 1, truth.shape) * (1.0 / scores)[..., None]
    points[[40, 41], 1] = np.nan
    points[80:90, 1] = np.nan
    points[10, 0, 1] = np.nan
    return points, scores


@pytest.fixture(scope="module")
def slp(arrays, tmp_path_factory):
    path = tmp_path_factory.mktemp("in") / "preds.slp"
    sio.save_slp(to_labels(*arrays, tracks=["a", "b"]), str(path))
    return path


def test_slp_output_holds_the_filtered_points_their_status_and_the_record(arrays, slp,
                                                                        tmp_path):
    before = slp.read_bytes()
    out = tmp_path / "filtered.slp"
    report = filter_file(slp, out, SETTINGS)
    assert slp.read_bytes() == before
    expected = filter_tracks(*arrays, SETTINGS)
    labels = sio.load_slp(str(out), open_videos=False)
    assert np.allclose(labels.numpy(), expected.points, equal_nan=True)
    new = [i for lf in labels for i in lf if lf.frame_idx in (40, 41) and i.track.name == "b"]
    assert len(new) == 2 and new[0].score == pytest.approx(0.01)
    got = read_filter_outputs(out)
    order = [(lf.frame_idx, ["a", "b"].index(i.track.name)) for lf in labels for i in lf]
    assert np.array_equal(got.status, np.stack([expected.status[f, s] for f, s in order]))
    assert np.allclose(got.variance, np.stack([expected.variance[f, s] for f, s in order]),
                       rtol=1e-6, equal_nan=True)
    gained = got.status[[n for n, (f, s) in enumerate(order) if f == 40 and s == 1]]
    assert (gained == FILLED).any() and np.isin(gained, [FILLED, MISSING]).all()
    record = got.record[-1]
    assert record["methods"] == ["pcutoff", "median", "interpolate", "kalman"]
    assert record["steps"][2]["max_gap_frames"] == 3 and record["counts"] == report.counts
    assert len(record["fitted"]["0"]["kalman"]["measurement_sd"]) == 3
    again = tmp_path / "twice.slp"
    filter_file(out, again, FilterSettings(methods=("median",)))
    assert len(read_filter_outputs(again).record) == 2  # runs are appended


def test_outputs_load_in_movement_with_the_filtered_points(arrays, slp, tmp_path):
    expected = filter_tracks(*arrays, SETTINGS).points
    h5 = tmp_path / "preds.h5"
    export_analysis_h5(sio.load_slp(str(slp)), h5)
    for src, out in ((slp, tmp_path / "out.slp"), (h5, tmp_path / "out.h5")):
        filter_file(src, out, SETTINGS)
        ds = load_poses.from_sleap_file(out)
        position = ds.position.transpose("time", "individuals", "keypoints", "space").values
        assert list(ds.individuals.values) == ["a", "b"]
        assert np.allclose(position, expected, atol=1e-4, equal_nan=True)


def test_h5_output_is_the_input_with_the_arrays_replaced(arrays, slp, tmp_path):
    h5 = tmp_path / "preds.h5"
    export_analysis_h5(sio.load_slp(str(slp)), h5)
    out = tmp_path / "filtered.h5"
    filter_file(h5, out, SETTINGS)
    expected = filter_tracks(*arrays, SETTINGS)
    got = read_filter_outputs(out)
    assert np.array_equal(got.status, expected.status)
    assert np.allclose(got.variance, expected.variance, equal_nan=True)
    with h5py.File(h5) as a, h5py.File(out) as b:
        assert set(a) | {"point_status", "point_variance"} == set(b)
        assert np.array_equal(a["node_names"][()], b["node_names"][()])
        assert b["tracks"].shape == a["tracks"].shape
        assert b["track_occupancy"][40, 1] == 1 and a["track_occupancy"][40, 1] == 0
        assert json.loads(b.attrs["posekit_filter"])[0]["methods"][-1] == "kalman"


def test_csv_output_keeps_columns_and_node_order_and_adds_status(arrays, slp, tmp_path):
    csv = tmp_path / "preds.csv"
    labels = sio.load_slp(str(slp))
    labels.skeleton.nodes.reverse()  # node order that is not alphabetical
    export_csv(labels, csv)
    out = tmp_path / "filtered.csv"
    report = filter_file(csv, out, FilterSettings(methods=("pcutoff", "interpolate"),
                                                  pcutoff=0.3, max_gap=3))
    assert report.outputs == [out, tmp_path / "filtered.json"]
    back = sio.load_csv(str(out))
    assert back.skeleton.node_names == ["node2", "node1", "node0"]
    assert back.provenance["posekit_filter"][0]["methods"] == ["pcutoff", "interpolate"]
    got = read_filter_outputs(out)
    header = out.read_text().splitlines()[0].split(",")
    assert header[:7] == ["track", "frame_idx", "instance.score", "node2.x", "node2.y",
                          "node2.score", "node2.status"]
    assert got.variance is None and (got.status == FILLED).sum() == report.counts["filled"]


def test_user_instances_and_untracked_instances_are_left_as_they_are(arrays, tmp_path):
    points, scores = arrays
    labels = to_labels(points[:30], scores[:30])  # no tracks: two instances per frame
    user = sio.Instance.from_numpy(np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]),
                                   skeleton=labels.skeleton)
    labels.labeled_frames[3].instances.append(user)
    path, out = tmp_path / "untracked.slp", tmp_path / "out.slp"
    sio.save_slp(labels, str(path))
    report = filter_file(path, out, FilterSettings(methods=("median",)))
    assert "without a track" in report.notes[0]
    back = sio.load_slp(str(out), open_videos=False)
    assert np.allclose(back.numpy(untracked=True), labels.numpy(untracked=True),
                       equal_nan=True)
    assert np.array_equal(back.labeled_frames[3].user_instances[0].numpy(), user.numpy())


def test_bad_paths_are_refused_and_the_input_is_kept(slp, tmp_path):
    before = slp.read_bytes()
    with pytest.raises(ConfigError, match="would replace an input"):
        filter_file(slp, slp, force=True)
    with pytest.raises(ConfigError, match=r"input's format \(\.slp\)"):
        filter_file(slp, tmp_path / "out.h5")
    (tmp_path / "exists.slp").write_text("x")
    with pytest.raises(ConfigError, match="--force"):
        filter_file(slp, tmp_path / "exists.slp")
    with pytest.raises(DataError, match="unsupported predictions format"):
        filter_file(tmp_path / "exists.slp", tmp_path / "x.txt")
    with pytest.raises(ConfigError, match="longer than the video"):
        filter_file(slp, tmp_path / "long.slp", FilterSettings(window=121))
    assert slp.read_bytes() == before and not (tmp_path / "long.slp").exists()
