"""Simulated labelers: noise, planted bias, missing points, slips, skipped frames, files."""

from __future__ import annotations

import numpy as np
import pytest

from posekit.errors import ConfigError
from posekit.io.labels import load_labels
from posekit.io.synthetic import SynthSpec, render
from posekit.io.synthetic.labelers import LabelerSpec, simulate_labelers, write_labelers


@pytest.fixture(scope="module")
def result():
    return render(SynthSpec(n_frames=40, n_animals=2, height=96, width=96, occluders=0,
                            seed=7))


def test_planted_errors_have_the_asked_sizes(result):
    spec = LabelerSpec(n_labelers=4, noise_px=(0.5, 1.0, 2.0, 1.0), bias_labeler=2,
                       bias_px=(3.0, -2.0), missing=0.05, slips=0.02, skip_frames=0.1, seed=3)
    sim = simulate_labelers(result, spec)
    assert sim.points.shape == (4, *result.points.shape)
    visible = np.isfinite(result.points).all(axis=-1)
    np.testing.assert_array_equal(sim.bias, [[0, 0], [0, 0], [3, -2], [0, 0]])
    for i in range(4):
        placed = np.isfinite(sim.points[i]).all(axis=-1)
        clean = placed & ~sim.slipped[i]
        diff = (sim.points[i] - sim.truth)[clean]
        np.testing.assert_allclose(diff.mean(axis=0), sim.bias[i], atol=0.15)
        np.testing.assert_allclose(diff.std(axis=0), spec.noise_px[i], rtol=0.1)
        shown = visible & ~sim.skipped[i][:, None, None]
        assert placed.tolist() == (shown & ~sim.missing[i]).tolist()
        slip = np.linalg.norm((sim.points[i] - sim.truth)[sim.slipped[i]] - sim.bias[i], axis=-1)
        assert slip.size and slip.min() > 20 - 8 * spec.noise_px[i] and slip.max() < 60 + 8
    assert 0.03 < sim.missing[:, visible].mean() < 0.07
    assert 0.01 < sim.slipped[:, visible].mean() < 0.03
    assert 0.04 < sim.skipped.mean() < 0.2


def test_labels_list_animals_in_a_random_order_without_tracks(result):
    sim = simulate_labelers(result, LabelerSpec(n_labelers=3, missing=0.0, slips=0.0, seed=1))
    orders = set()
    for lab, pts in zip(sim.labels, sim.points, strict=True):
        assert not lab.tracks and len(lab.labeled_frames) == result.points.shape[0]
        for lf in lab.labeled_frames:
            first = np.asarray(lf.instances[0].numpy())
            orders.add(int(np.nanargmin([np.nanmean(np.abs(first - pts[lf.frame_idx, n]))
                                         for n in range(2)])))
    assert orders == {0, 1}


def test_write_labelers_one_file_per_labeler(result, tmp_path):
    sim, paths = write_labelers(result, tmp_path, LabelerSpec(n_labelers=3, seed=2))
    assert [p.name for p in paths] == ["labeler_1.slp", "labeler_2.slp", "labeler_3.slp"]
    assert (tmp_path / "video.mp4").is_file()
    back = load_labels(paths[1])
    assert back.provenance["posekit_synthetic_labeler"]["bias_px"] == [3.0, -2.0]
    lf = back.labeled_frames[5]
    assert lf.image.shape[:2] == (96, 96)
    got = sorted(np.nansum(i.numpy()) for i in lf.instances)
    want = sorted(np.nansum(sim.points[1, lf.frame_idx, n]) for n in range(2)
                  if np.isfinite(sim.points[1, lf.frame_idx, n]).any())
    np.testing.assert_allclose(got, want)


@pytest.mark.parametrize("kwargs, field", [
    ({"noise_px": (1.0, 2.0)}, "noise_px"),
    ({"bias_labeler": 5}, "bias_labeler"),
    ({"missing": 1.5}, "missing"),
    ({"names": ("a", "a", "b", "c", "d")}, "names"),
])
def test_bad_specs_are_refused(kwargs, field):
    with pytest.raises(ConfigError, match=field):
        LabelerSpec(**kwargs)
