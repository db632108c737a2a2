"""A synthetic labeler study: five simulated labelers (Gaussian noise, missing points, gross
slips, one with a planted bias) label two mice in 60 rendered frames.

The report must name the biased labeler with its bias within 0.5 px of the planted one,
and the consensus must be closer to the renderer's truth than any single labeler.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linear_sum_assignment

from posekit.io.synthetic import SynthSpec, render
from posekit.io.synthetic.labelers import LabelerSpec, write_labelers
from posekit.refinement.consensus import aggregate
from posekit.refinement.labeler_files import consensus_labels_files, load_labeler_files

PLANTED = np.array([3.0, -2.0])


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    folder = tmp_path_factory.mktemp("study")
    result = render(SynthSpec(n_frames=60, n_animals=2, height=128, width=128, occluders=0,
                              seed=3))
    spec = LabelerSpec(n_labelers=5, noise_px=(1.0,), bias_labeler=1, bias_px=tuple(PLANTED),
                       missing=0.02, slips=0.01, skip_frames=0.05, seed=1)
    sim, paths = write_labelers(result, folder, spec)
    labels, report = consensus_labels_files(paths, folder / "consensus.slp", gold="labeler_1")
    return sim, paths, labels, report


def truth_slots(labels, truth: np.ndarray) -> list[tuple[int, int, np.ndarray]]:
    """``(frame, true animal, consensus points)`` of every consensus instance (Hungarian on
    the mean distance to the true poses)."""
    out = []
    for lf in labels.labeled_frames:
        pts = [np.asarray(i.numpy()) for i in lf.instances]
        cost = np.array([[np.nanmean(np.linalg.norm(p - t, axis=-1)) for t in truth[lf.frame_idx]]
                         for p in pts])
        for r, c in zip(*linear_sum_assignment(np.nan_to_num(cost, nan=1e6)), strict=True):
            out.append((lf.frame_idx, int(c), pts[r]))
    return out


def test_report_names_the_biased_labeler_and_its_bias(study):
    _, _, _, report = study
    assert report.outliers == ["labeler_2"]
    found = report.bias["per_labeler"]["labeler_2"]
    assert np.linalg.norm([found["dx"] - PLANTED[0], found["dy"] - PLANTED[1]]) < 0.5
    gold = report.gold["per_labeler"]["labeler_2"]
    assert np.linalg.norm([gold["dx"] - PLANTED[0], gold["dy"] - PLANTED[1]]) < 0.5
    for name in ("labeler_3", "labeler_4", "labeler_5"):
        for section in (report.gold, report.bias):
            honest = section["per_labeler"][name]
            assert np.hypot(honest["dx"], honest["dy"]) < 0.3
    matrix = np.array(report.pairwise_ila["overall_px"], dtype=float)
    np.testing.assert_allclose(matrix, matrix.T)
    others = np.delete(np.delete(matrix, 1, 0), 1, 1)
    assert np.nanmin(matrix[1]) > np.nanmax(others)


def test_consensus_is_closer_to_the_truth_than_any_labeler(study):
    sim, _, labels, report = study
    errors = [np.linalg.norm(p - sim.truth[f, n], axis=-1)
              for f, n, p in truth_slots(labels, sim.truth)]
    consensus_error = np.nanmean(np.concatenate(errors))
    labeler_errors = np.nanmean(np.linalg.norm(sim.points - sim.truth[None], axis=-1),
                                axis=(1, 2, 3))
    assert consensus_error < 0.75 * labeler_errors.min()
    assert report.frames["total"] == 60 and report.frames["in_consensus"] == 60


def test_planted_slips_are_removed(study):
    sim, paths, labels, _ = study
    lset = load_labeler_files(paths)
    agg = aggregate(lset.points)
    slots = truth_slots(labels, sim.truth)
    slipped = np.stack([sim.slipped[:, f, n] for f, n, _ in slots])  # (T, L, K)
    assert slipped.sum() > 20
    assert agg.removed[slipped].mean() > 0.95


def statsmodels_icc(table: np.ndarray) -> float:
    import statsmodels.formula.api as smf
    from statsmodels.stats.anova import anova_lm

    n, k = table.shape
    frame = pd.DataFrame({"v": table.ravel(), "t": np.repeat(np.arange(n), k),
                          "r": np.tile(np.arange(k), n)})
    ms = anova_lm(smf.ols("v ~ C(t) + C(r)", frame).fit()).eval("sum_sq / df")
    msr, msc, mse = ms["C(t)"], ms["C(r)"], ms["Residual"]
    return float((msr - mse) / (msr + (k - 1) * mse + k * (msc - mse) / n))


def test_icc_in_the_report_equals_an_independent_computation(study):
    _, paths, _, report = study
    lset = load_labeler_files(paths)
    complete = np.isfinite(lset.points).all(axis=(1, 3))  # (T, K) every labeler placed it
    for k, node in enumerate(report.nodes[:3]):
        for axis, name in enumerate("xy"):
            table = lset.points[complete[:, k], :, k, axis]
            expected = statsmodels_icc(table)
            assert report.icc["per_node"][node]["image"][name] == pytest.approx(expected,
                                                                                abs=1e-4)
        assert report.icc["per_node"][node]["n_targets"] == int(complete[:, k].sum())


def test_human_scores_and_sigmas(study):
    report = study[3]
    human = report.human["per_labeler"]
    assert human["labeler_2"]["oks_mean"] < min(human[n]["oks_mean"] for n in
                                                ("labeler_1", "labeler_3", "labeler_4"))
    assert human["labeler_2"]["pck"]["2.0"] < 0.2 < human["labeler_1"]["pck"]["2.0"]
    sigmas = np.array(list(report.oks["sigmas"].values()))
    # honest spread alone (1 px per axis) over the mice's areas gives about 0.05-0.07
    assert ((sigmas > 0.03) & (sigmas < 0.15)).all() and not report.oks["defaulted"]
    assert len(report.stability["steps"]) == 4
    assert report.stability["steps"][-1]["mean_shift_px"] < report.stability["steps"][0][
        "mean_shift_px"]
