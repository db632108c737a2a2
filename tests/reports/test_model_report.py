"""The model report's numbers on synthetic studies with planted problems (no training).

The planted study: 8 videos (animals m0-m7, sessions s0/s1, treatments control / drug-A /
drug-B), every test prediction = label + Gaussian noise. Planted: the node ``tongue`` is
always 15 px off (always wrong); drug-B videos are five times noisier (one condition much
worse) and drug-B has 4 of 124 training frames. Animals m6 and m7 never appear in
training; in the cohort study they are three times noisier than the rest (a held-out
cohort above 5 %).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from posekit.evaluation import evaluate_arrays
from posekit.evaluation.pairs import array_inputs
from posekit.reports.model_conditions import ANOVA, KRUSKAL, condition_test, holm
from posekit.reports.model_cutoffs import cutoffs
from posekit.reports.model_report import ModelStudy, model_results
from posekit.reports.model_training import training_summary
from posekit.training.training_log import EpochRow, TrainingLog

NODES = ("head", "neck", "body", "tailbase", "tongue")
SKELETON = np.array([[0, 0], [20, 5], [45, 10], [80, 20], [-10, 8]], dtype=np.float64)
VIDEOS = {  # video: (animal, session, treatment, train frames)
    "v0.mp4": ("m0", "s0", "control", 30),
    "v1.mp4": ("m1", "s0", "control", 30),
    "v2.mp4": ("m2", "s1", "drug-A", 30),
    "v3.mp4": ("m3", "s1", "drug-A", 30),
    "v4.mp4": ("m4", "s0", "drug-B", 2),
    "v5.mp4": ("m5", "s1", "drug-B", 2),
    "v6.mp4": ("m6", "s0", "control", 0),
    "v7.mp4": ("m7", "s1", "drug-A", 0),
}
TEST_FRAMES = 20
TONGUE_OFFSET = np.array([12.0, 9.0])  # 15 px


def _pose(rng: np.random.Generator) -> np.ndarray:
    angle = rng.uniform(0, 2 * np.pi)
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    return (SKELETON @ rot.T + rng.uniform(100, 300, 2))[None]  # (1, K, 2)


def planted_study(seed: int = 0, drug_b_px: float = 5.0, new_animal_px: float = 1.0
                  ) -> tuple[ModelStudy, dict]:
    """A planted study (noise sigma 1 px, ``drug_b_px`` on drug-B's seen animals,
    ``new_animal_px`` on m6 / m7) and its raw arrays (for hand computations)."""
    rng = np.random.default_rng(seed)
    gt, pred, scores, videos, rows = [], [], [], [], []
    for video, (animal, session, treatment, n_train) in VIDEOS.items():
        sigma = new_animal_px if not n_train else drug_b_px if treatment == "drug-B" else 1.0
        for _ in range(TEST_FRAMES):
            g = _pose(rng)
            p = g + rng.normal(0, sigma, g.shape)
            p[0, 4] = g[0, 4] + TONGUE_OFFSET
            err = np.hypot(*(p - g)[0].T)
            s = np.clip(1.0 - err / 40.0 + rng.normal(0, 0.03, err.shape), 0, 1)[None]
            gt.append(g), pred.append(p), scores.append(s), videos.append(video)
            rows.append({"animal": animal, "session": session, "treatment": treatment})
    train_rows = [{"animal": a, "session": s, "treatment": t}
                  for a, s, t, n in VIDEOS.values() for _ in range(n)]
    test = array_inputs(gt, pred, pred_point_scores=scores, videos=videos,
                        frame_indices=list(range(len(gt))), node_names=list(NODES))
    # training predictions: a little better than the test (gap ~ 10 %)
    train_gt = [_pose(rng) for _ in range(40)]
    train_pred = [g + rng.normal(0, 1.0, g.shape) for g in train_gt]
    for g, p in zip(train_gt, train_pred):
        p[0, 4] = g[0, 4] + TONGUE_OFFSET
    train = array_inputs(train_gt, train_pred, node_names=list(NODES))
    study = ModelStudy(test=test, test_name="planted", test_rows=rows, train=train,
                       train_frames_total=len(train_rows), train_rows=train_rows)
    return study, {"gt": gt, "pred": pred, "scores": scores, "rows": rows}


@pytest.fixture(scope="module")
def planted():
    study, raw = planted_study()
    return study, raw, model_results(study)


def _frame_errors(raw: dict) -> np.ndarray:
    return np.array([np.hypot(*(p - g)[0].T).mean() for g, p in zip(raw["gt"], raw["pred"])])


def test_performance_table_names_the_always_wrong_node(planted):
    _, raw, res = planted
    perf = res.performance
    tongue = perf.node("tongue")
    assert tongue.mean_px == pytest.approx(15.0)
    assert tongue.rmse_px == pytest.approx(15.0) and tongue.wrong_share == 1.0
    # RMSE is a root mean square, not the mean
    err = np.concatenate([np.hypot(*(p - g)[0].T) for g, p in zip(raw["gt"], raw["pred"])])
    assert perf.overall.rmse_px == pytest.approx(np.sqrt(np.mean(err**2)))
    assert perf.overall.mean_px == pytest.approx(err.mean())
    assert perf.overall.rmse_px > perf.overall.mean_px
    assert perf.overall.p90_px == pytest.approx(np.percentile(err, 90))
    size = np.array([np.hypot(*np.ptp(g[0], axis=0)) for g in raw["gt"]])  # bbox diagonal
    head_err = np.array([np.hypot(*(p - g)[0, 0]) for g, p in zip(raw["gt"], raw["pred"])])
    assert perf.node("head").size_mean == pytest.approx(np.mean(head_err / size), rel=1e-9)
    assert perf.node("head").wrong_share < 0.1
    assert perf.pck_curve.overall[0] == 0.0 and perf.pck_curve.overall[-1] == 1.0
    advice = [a for a in res.advice if a.topic == "node"]
    assert [a.subject for a in advice] == ["tongue"]
    assert "tongue is wrong in 100 % of its 160 labelled points" in advice[0].text
    assert "about the same in every frame: check its labels" in advice[0].text


def test_wrong_share_agrees_with_the_evaluations_normalised_pck(planted):
    study, _, res = planted
    result = study.test.evaluate()
    for name, node in result.per_node.items():
        within = node.pck.bbox_diagonal[0.1]
        assert res.performance.node(name).wrong_share == pytest.approx(1.0 - within)


def test_one_much_worse_condition_is_found_with_kruskal_wallis_and_scipy_numbers(planted):
    _, raw, res = planted
    test = res.conditions.column("treatment")
    errors = _frame_errors(raw)
    treatments = np.array([r["treatment"] for r in raw["rows"]])
    groups = [errors[treatments == t] for t in ("control", "drug-A", "drug-B")]
    residuals = np.concatenate([g - g.mean() for g in groups])
    shapiro_p = stats.shapiro(residuals).pvalue
    levene_p = stats.levene(*groups, center="median").pvalue
    assert levene_p < 0.05  # planted: drug-B's errors spread far more
    assert test.test == KRUSKAL and "variances differ" in test.reason
    assert test.levene_p == pytest.approx(levene_p)
    assert test.shapiro_p == pytest.approx(shapiro_p)
    expected = stats.kruskal(*groups)
    assert test.statistic == pytest.approx(expected.statistic)
    assert test.p_value == pytest.approx(expected.pvalue)
    assert test.worst == "drug-B" and test.best in ("control", "drug-A")
    medians = {t: np.median(g) for t, g in zip(("control", "drug-A", "drug-B"), groups)}
    assert test.ratio == pytest.approx(medians["drug-B"] / min(medians.values()))
    assert test.differs and test.sentence.startswith("error differs by treatment (Kruskal-Wallis")
    assert f"drug-B frames are {test.ratio:.1f}× worse than {test.best}" in test.sentence
    cond = [a for a in res.advice if a.topic == "condition" and "treatment" in a.subject]
    assert cond and "treatment=drug-B" in cond[0].text
    assert "treatment=drug-B has 4 of 124 training frames: add ~40 frames" in cond[0].text
    # the worst animal (m4 or m5, both drug-B) is explained by the treatment, not advised
    assert res.conditions.column("animal").explained_by == "treatment=drug-B"
    assert [a.subject for a in res.advice if a.topic == "condition"] == ["treatment=drug-B"]


def test_anova_is_chosen_when_its_assumptions_hold_and_equals_scipy():
    rng = np.random.default_rng(3)
    values, errors = [], []
    for name, centre in (("a", 4.0), ("b", 4.6), ("c", 5.0)):
        values += [name] * 30
        errors += list(rng.normal(centre, 0.5, 30))
    errors = np.array(errors)
    test = condition_test("arena", values, errors)
    groups = [errors[np.array(values) == v] for v in "abc"]
    residuals = np.concatenate([g - g.mean() for g in groups])
    assert stats.shapiro(residuals).pvalue >= 0.05
    assert stats.levene(*groups, center="median").pvalue >= 0.05
    assert test.test == ANOVA and "ANOVA's assumptions hold" in test.reason
    expected = stats.f_oneway(*groups)
    assert test.statistic == pytest.approx(expected.statistic)
    assert test.p_value == pytest.approx(expected.pvalue)
    assert test.shapiro_p == pytest.approx(stats.shapiro(residuals).pvalue)
    assert test.worst == "c" and test.best == "a"
    assert test.ratio == pytest.approx(groups[2].mean() / groups[0].mean())


def test_skewed_errors_switch_to_kruskal_and_say_why():
    rng = np.random.default_rng(4)
    values = ["x"] * 40 + ["y"] * 40
    errors = np.concatenate([rng.lognormal(1.0, 0.9, 40), rng.lognormal(1.0, 0.9, 40)])
    test = condition_test("camera", values, errors)
    assert test.test == KRUSKAL and "residuals are not normal" in test.reason
    assert test.p_value == pytest.approx(stats.kruskal(errors[:40], errors[40:]).pvalue)
    assert not test.differs and "does not differ detectably by camera" in test.sentence


def test_holm_adjustment_and_columns_that_cannot_be_tested():
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    single = condition_test("dose", ["0"] * 5 + ["10"], np.arange(6.0))
    assert single.test is None and "fewer than two values" in single.reason


def test_held_out_animals_are_a_flagged_cohort():
    study, raw = planted_study(drug_b_px=1.0, new_animal_px=3.0)
    res = model_results(study)
    cohorts = res.cohorts
    assert cohorts.standard_source == "test frames seen in training"
    animals = next(c for c in cohorts.cohorts if c.column == "animal" and len(c.values) == 2)
    assert animals.kind == "new animals" and animals.values == ("m6", "m7")
    # standard = the frames of m0-m5 (the training animals): its RMSE by hand
    held = np.array([r["animal"] in ("m6", "m7") for r in raw["rows"]])
    err = [np.hypot(*(p - g)[0].T) for g, p in zip(raw["gt"], raw["pred"])]
    base = np.sqrt(np.mean(np.concatenate([e for e, h in zip(err, held) if not h]) ** 2))
    cohort = np.sqrt(np.mean(np.concatenate([e for e, h in zip(err, held) if h]) ** 2))
    assert cohorts.standard.rmse_px == pytest.approx(base)
    assert animals.metrics.rmse_px == pytest.approx(cohort)
    assert animals.rise == pytest.approx((cohort - base) / base)
    assert animals.rise > 0.05 and animals.flagged
    assert not any(c.column in ("session", "treatment") for c in cohorts.cohorts)
    adv = [a for a in res.advice if a.topic == "cohort"]
    assert len(adv) == 1 and "New animals (animal = m6, m7)" in adv[0].text
    assert "13 % above the standard test set" in adv[0].text
    # m6 is also the worst animal by condition: said once, by the cohort
    assert res.conditions.column("animal").worst in ("m6", "m7")
    assert not [a for a in res.advice if a.topic == "condition"]


def test_a_cohort_within_five_percent_is_not_flagged():
    study, _ = planted_study(drug_b_px=1.0, new_animal_px=1.0)
    res = model_results(study)
    animals = next(c for c in res.cohorts.cohorts if c.column == "animal" and len(c.values) == 2)
    assert abs(animals.rise) < 0.05 and not animals.flagged
    assert not res.cohorts.flagged and not [a for a in res.advice if a.topic == "cohort"]


def test_cutoff_table_equals_a_hand_computation():
    gt = [np.array([[[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]]]),
          np.array([[[0.0, 0.0], [10.0, 0.0], [np.nan, np.nan]]])]
    pred = [np.array([[[3.0, 4.0], [10.0, 0.0], [6.0, 18.0]]]),   # errors 5, 0, 10
            np.array([[[0.0, 1.0], [np.nan, np.nan], [5.0, 5.0]]])]  # 1, not placed, -
    scores = [np.array([[0.9, 0.5, 0.2]]), np.array([[0.7, np.nan, 0.95]])]
    res = cutoffs(array_inputs(gt, pred, pred_point_scores=scores).match(),
                  cutoff_values=(0.0, 0.6), p_cutoff=0.8)
    # 5 labelled points (the unlabelled one never counts); 4 placed
    r0, r6, r8 = res.at(0.0), res.at(0.6), res.at(0.8)
    assert (r0.labelled, r0.kept, r0.share_kept) == (5, 4, 0.8)
    assert r0.mean_px == pytest.approx((5 + 0 + 10 + 1) / 4)
    assert r0.rmse_px == pytest.approx(np.sqrt((25 + 0 + 100 + 1) / 4))
    assert (r6.kept, r6.share_kept) == (2, 0.4)                # scores 0.9 and 0.7
    assert r6.mean_px == pytest.approx(3.0) and r6.dropped_mean_px == pytest.approx(5.0)
    assert (r8.kept, r8.share_kept, r8.mean_px) == (1, 0.2, 5.0)
    assert res.error_change == pytest.approx((5.0 - 4.0) / 4.0)


def test_calibration_ranks_scores_against_error(planted):
    _, raw, res = planted
    cal = res.cutoffs
    err = np.concatenate([np.hypot(*(p - g)[0].T) for g, p in zip(raw["gt"], raw["pred"])])
    sc = np.concatenate([s[0] for s in raw["scores"]])
    assert cal.spearman_rho == pytest.approx(stats.spearmanr(sc, err).statistic)
    assert cal.spearman_rho < -0.5
    bins = cal.calibration
    assert sum(b.points for b in bins) == err.size and len(bins) == 10
    assert bins[0].mean_error_px > bins[-1].mean_error_px
    kept = cal.at(0.6)
    assert kept.share_kept == pytest.approx(np.mean(sc >= 0.6))
    assert kept.mean_px == pytest.approx(err[sc >= 0.6].mean())


def test_train_test_gap_and_training_summary(planted):
    study, _, res = planted
    gap = res.train_test
    train = study.train.evaluate().localization.mean_px
    test = res.performance.overall.mean_px
    assert gap.overall.gap == pytest.approx((test - train) / train)
    assert gap.train_frames == 40 and gap.train_frames_total == 124
    log = TrainingLog("log.csv", tuple(
        EpochRow(e, 1.0 / (e + 1), 1.2 / (e + 1) + (0.1 if e == 2 else 0), 1e-3, 1.0, 1.5,
                 1.5 * (e + 1)) for e in range(4)))
    summary = training_summary(log, max_epochs=5, batch_size=4, per_epoch=50,
                               train_samples=124)
    assert (summary.epochs, summary.steps, summary.wall_time_s) == (4, 200, 6.0)
    assert summary.best_epoch == 3 and summary.loss_gap == pytest.approx(0.2)


def test_results_serialise_to_plain_json(planted):
    import json

    _, _, res = planted
    data = json.loads(json.dumps(res.to_dict(), allow_nan=False))
    assert data["performance"]["per_node"][4]["node"] == "tongue"
    assert data["conditions"]["tests"][2]["column"] == "treatment"
    assert data["performance"]["overall"]["pck_px"]["5"] is not None
    assert data["bands"]["train_test_gap"]["good"] == 0.15


def test_matched_points_equal_the_evaluation():
    rng = np.random.default_rng(7)
    gt = [rng.uniform(0, 200, (2, 5, 2)) for _ in range(12)]
    pred = [g[::-1] + rng.normal(0, 2, g.shape) for g in gt]  # instances in swapped order
    scores = [rng.uniform(0, 1, (2, 5)) for _ in gt]
    inputs = array_inputs(gt, pred, pred_point_scores=scores)
    pairs = inputs.match()
    direct = evaluate_arrays(gt, pred, pred_point_scores=scores)
    assert np.nanmean(pairs.errors) == pytest.approx(direct.localization.mean_px)
    assert pairs.frame.tolist() == sorted([i for i in range(12)] * 2)
    # each pair's scores are its own prediction's (the second prediction matches GT 0)
    assert np.allclose(pairs.scores[0], scores[0][1]) and np.allclose(pairs.scores[1], scores[0][0])
    assert inputs.subset(np.arange(12) < 4).evaluate().counts.frames == 4


def test_results_read_back_from_json_equal_the_results(planted):
    import json

    from posekit.reports.model_report import ModelResults

    _, _, res = planted
    back = ModelResults.from_dict(json.loads(json.dumps(res.to_dict())))
    assert back == res
    assert back.performance.node("tongue").pck_px[5.0] == 0.0
