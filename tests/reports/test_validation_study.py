"""``validate_predictions`` on synthetic videos whose truth is known, and on bad input."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import sleap_io as sio

from posekit.errors import ConfigError, DataError
from posekit.io.synthetic import SynthSpec
from posekit.io.synthetic.predictions import FailureSpec, plant_failures, true_poses
from posekit.reports.validation_files import read_series
from posekit.reports.validation_study import (
    INSTANT_SPEED,
    ValidationSettings,
    validate_predictions,
)

EVERY = 10
"""The guide's manual scoring: every 10th frame of a 30 Hz video (3 Hz)."""
CLEAN = FailureSpec(noise_px=0.3, swaps=0, jumps=0, low_scores=0, drifts=0, seed=5)


def manual_csv(path: Path, points: np.ndarray, names: list[str], every: int = EVERY,
               offset: tuple[float, float] = (0.0, 0.0), frames: range | None = None,
               own_rate: bool = False, node: bool = False, nodes: list[str] | None = None
               ) -> Path:
    """A BORIS-style CSV of ``points (F, N, K, 2)`` every ``every`` frames: the centroid
    (``frame,animal,x,y``) or every node (``node=True``). ``own_rate``: the frame column
    counts the reference's own samples (0, 1, 2...) instead of video frames."""
    head = "frame,animal,node,x,y" if node else "frame,animal,x,y"
    rows = [head]
    for f in frames if frames is not None else range(0, len(points), every):
        label = f // every if own_rate else f
        for a, name in enumerate(names):
            targets = [(nodes[k], points[f, a, k]) for k in range(len(nodes))] if node else [
                ("", np.nanmean(points[f, a], axis=0))]
            for n, (x, y) in targets:
                if np.isfinite(x):
                    cells = [label, name, n] if node else [label, name]
                    rows.append(",".join(map(str, cells + [round(x + offset[0], 3),
                                                           round(y + offset[1], 3)])))
    path.write_text("\n".join(rows) + "\n")
    return path


def fake_predictions(tmp_path: Path, spec: SynthSpec, failures: FailureSpec = CLEAN,
                     name: str = "pred.slp") -> tuple[Path, np.ndarray, list[str]]:
    """Truth + small noise as a predictions .slp (tracks ``animal_<i>`` with 2+ animals)."""
    pts, skeleton = true_poses(spec)
    video = sio.Video(filename=str(tmp_path / f"{Path(name).stem}.mp4"), open_backend=False)
    made = plant_failures(pts, skeleton, failures, video=video)
    path = tmp_path / name
    sio.save_slp(made.labels, str(path))
    names = [t.name for t in made.labels.tracks] or ["animal"]
    return path, pts, names


def digest(*paths: Path) -> list[str]:
    return [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths]


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """Two tracked animals, 300 frames: clean predictions and their truth."""
    tmp = tmp_path_factory.mktemp("validate_pair")
    spec = SynthSpec(n_frames=300, n_animals=2, height=160, width=160, seed=3, tracks=True)
    path, pts, names = fake_predictions(tmp, spec)
    return tmp, path, pts, names


def by_name(study, name):
    return next(m for m in study.measures if m.name == name)


def test_reference_against_itself_with_noise_is_excellent(pair):
    tmp, pred, pts, names = pair
    ref = manual_csv(tmp / "ref.csv", pts, names)
    before = digest(pred, ref)
    study = validate_predictions(pred, ref, ValidationSettings(fps=30, px_per_cm=4, bin_s=1))
    assert digest(pred, ref) == before
    al = study.pairs[0].alignment
    assert (al.method, al.step, al.n_used, al.sample_rate) == ("frame index", 10, 30, 3.0)
    assert study.pairs[0].match.method == "by name"
    for m in study.measures:
        assert m.agreement.band == "excellent", (m.name, m.agreement)
        assert not m.agreement.significant_bias, (m.name, m.agreement)
    dist = by_name(study, "distance")
    assert dist.unit == "cm" and dist.agreement.n == 2 * 10  # 2 animals x 10 one-second bins
    assert abs(dist.agreement.bland_altman.bias) < 0.05
    speed = by_name(study, INSTANT_SPEED)
    assert speed.unit == "cm/s" and speed.agreement.n == 2 * 29  # first sample has no step
    centroid = study.keypoints[0]
    assert centroid.node == "centroid" and centroid.distance.mean < 0.5


def test_planted_offset_is_a_significant_bias_of_the_right_size(pair):
    tmp, pred, pts, names = pair
    ref = manual_csv(tmp / "offset.csv", pts, names, offset=(-3.0, 0.0))
    study = validate_predictions(pred, ref, ValidationSettings(fps=30, bin_s=1))
    x, y = study.keypoints[0].x, study.keypoints[0].y
    assert x.significant_bias and x.bland_altman.bias == pytest.approx(3.0, abs=0.1)
    assert x.test.p < 1e-6 and "significant bias" in x.verdict
    assert not y.significant_bias
    assert x.icc < y.icc  # absolute agreement sees the offset, r does not
    assert x.pearson_r == pytest.approx(y.pearson_r, abs=1e-3)
    # a constant offset moves every point alike: speeds and distances do not change
    assert not by_name(study, "distance").agreement.significant_bias


def test_reference_beyond_the_predictions_uses_the_overlap_and_reports_the_gap(pair, tmp_path):
    _, _, pts, names = pair
    spec = SynthSpec(n_frames=300, n_animals=2, height=160, width=160, seed=3, tracks=True)
    short = plant_failures(pts[:200], true_poses(spec)[1], CLEAN,
                           video=sio.Video(filename="short.mp4", open_backend=False))
    pred = tmp_path / "short.slp"
    sio.save_slp(short.labels, str(pred))
    ref = manual_csv(tmp_path / "long.csv", pts, names)
    study = validate_predictions(pred, ref, ValidationSettings(fps=30))
    al = study.pairs[0].alignment
    assert (al.n_reference, al.n_used, al.n_before, al.n_after) == (30, 20, 0, 10)
    assert (al.pred_first, al.pred_last, al.ref_last) == (0, 199, 290)
    assert "10 of 30 reference samples" in al.gap_text and "0–199" in al.gap_text


def test_reference_at_its_own_rate_is_aligned_by_timestamps(pair, tmp_path):
    _, pred, pts, names = pair
    by_frame = validate_predictions(pred, manual_csv(tmp_path / "a.csv", pts, names),
                                    ValidationSettings(fps=30, bin_s=2))
    own = manual_csv(tmp_path / "b.csv", pts, names, own_rate=True)
    by_time = validate_predictions(pred, own, ValidationSettings(fps=30, reference_fps=3,
                                                                 bin_s=2))
    assert by_time.pairs[0].alignment.method == "timestamps"
    assert by_time.pairs[0].alignment.frames.tolist() == list(range(0, 300, 10))
    for a, b in zip(by_frame.measures, by_time.measures, strict=True):
        np.testing.assert_array_equal(a.pred, b.pred)
        np.testing.assert_array_equal(a.ref, b.ref)
    # a time column in seconds works the same, with no --reference-fps
    text = own.read_text().replace("frame,", "time_s,", 1).splitlines()
    timed = [text[0]] + [",".join([str(int(r.split(",")[0]) / 3)] + r.split(",")[1:])
                         for r in text[1:]]
    (tmp_path / "c.csv").write_text("\n".join(timed) + "\n")
    by_seconds = validate_predictions(pred, tmp_path / "c.csv", ValidationSettings(fps=30,
                                                                                    bin_s=2))
    assert by_seconds.pairs[0].alignment.frames.tolist() == list(range(0, 300, 10))
    with pytest.raises(ConfigError, match="--fps"):
        validate_predictions(pred, own, ValidationSettings(reference_fps=3))


def test_animals_with_other_names_are_matched_by_distance(pair, tmp_path):
    _, pred, pts, _ = pair
    ref = manual_csv(tmp_path / "named.csv", pts, ["female", "male"])
    study = validate_predictions(pred, ref, ValidationSettings(fps=30))
    match = study.pairs[0].match
    assert match.method == "by mean distance"
    assert [(r, p) for r, p, _ in match.pairs] == [("female", "animal_0"),
                                                    ("male", "animal_1")]
    assert all(d < 1 for _, _, d in match.pairs)


def test_untracked_animals_zero_scale_and_missing_columns_are_clear_errors(pair, tmp_path):
    _, pred, pts, names = pair
    labels = sio.load_slp(str(pred))
    for lf in labels.labeled_frames:
        for inst in lf.instances:
            inst.track = None
    labels.tracks = []
    untracked = tmp_path / "untracked.slp"
    sio.save_slp(labels, str(untracked))
    ref = manual_csv(tmp_path / "ref.csv", pts, names)
    before = digest(untracked, ref)
    with pytest.raises(DataError, match="no tracks; expected identities") as err:
        validate_predictions(untracked, ref, ValidationSettings(fps=30))
    assert "posekit track" in str(err.value) and "--tracking" in str(err.value)
    assert digest(untracked, ref) == before
    for bad in (0.0, -2.0):
        with pytest.raises(ConfigError, match="--px-per-cm"):
            ValidationSettings(px_per_cm=bad)
    (tmp_path / "bad.csv").write_text("frame,animal,x_mm\n0,a,1\n")
    with pytest.raises(DataError, match="no column for x, y"):
        validate_predictions(pred, tmp_path / "bad.csv")
    (tmp_path / "text.csv").write_text("Frame,Subject,X,Y\n0,a,1,1\n10,a,two,1\n")
    with pytest.raises(DataError, match="line 3, column 'X'"):
        validate_predictions(pred, tmp_path / "text.csv")


def test_group_effect_from_both_sources(tmp_path):
    preds, refs, rows = [], [], ["video,treatment"]
    for i, (group, speed) in enumerate([("vehicle", 0.05)] * 3 + [("drug", 0.02)] * 3):
        spec = SynthSpec(n_frames=150, height=160, width=160, seed=40 + i, speed=speed)
        path, pts, names = fake_predictions(tmp_path, spec, name=f"v{i}.slp")
        preds.append(path)
        refs.append(manual_csv(tmp_path / f"v{i}.csv", pts, names))
        rows.append(f"v{i}.mp4,{group}")
    (tmp_path / "meta.csv").write_text("\n".join(rows) + "\n")
    study = validate_predictions(preds, refs, ValidationSettings(fps=30, px_per_cm=4),
                                 metadata=tmp_path / "meta.csv")
    assert study.group_column == "treatment"
    effect = next(g for g in study.groups if g.measure == "distance")
    assert (effect.control, effect.treated, effect.n_control, effect.n_treated) == (
        "vehicle", "drug", 3, 3)
    assert effect.d_pred < -1 and effect.d_ref < -1  # the drug slows the animals
    assert effect.d_pred == pytest.approx(effect.d_ref, rel=0.1)
    assert effect.more_sensitive in ("predictions", "reference", "equal")


def test_deeplabcut_prediction_table_is_read(pair, tmp_path):
    _, _, pts, _ = pair
    bodyparts = [f"bp{k}" for k in range(pts.shape[2])]
    header = [["scorer"] + ["DLC_resnet50"] * (3 * len(bodyparts)),
              ["bodyparts"] + [b for b in bodyparts for _ in range(3)],
              ["coords"] + ["x", "y", "likelihood"] * len(bodyparts)]
    lines = [",".join(h) for h in header]
    for f in range(50):
        cells = [str(f)] + [f"{v:.3f}" for k in range(len(bodyparts))
                            for v in (*pts[f, 0, k], 0.9)]
        lines.append(",".join(cells))
    (tmp_path / "videoDLC.csv").write_text("\n".join(lines) + "\n")
    series = read_series(tmp_path / "videoDLC.csv")
    assert series.kind == "DeepLabCut predictions" and series.node_names == tuple(bodyparts)
    assert series.points.shape == (50, 1, len(bodyparts), 2)
    assert np.allclose(series.points[7, 0], pts[7, 0], atol=1e-3)


@pytest.mark.slow
def test_study_of_a_trained_model_on_a_synthetic_video(trained_single, tmp_path):
    from posekit.inference.pipeline import load_model, predict_source
    from posekit.io.synthetic import write_dataset

    spec = SynthSpec(n_frames=300, height=64, width=64, seed=23, animal_size=0.45,
                     occluders=0)
    truth = write_dataset(spec, tmp_path / "truth.slp", tmp_path / "video.mp4")
    points = np.stack([lf.instances[0].numpy() for lf in truth.labeled_frames])[:, None]
    nodes = list(truth.skeleton.node_names)
    ref = manual_csv(tmp_path / "manual.csv", points, ["animal"], node=True, nodes=nodes)
    model = load_model(trained_single, backend="torch", device="cpu")
    pred = tmp_path / "pred.slp"
    sio.save_slp(predict_source(model, tmp_path / "video.mp4").labels, str(pred))
    study = validate_predictions(pred, ref, ValidationSettings(px_per_cm=2, bin_s=1))
    al = study.pairs[0].alignment
    assert al.video_fps == pytest.approx(30) and al.sample_rate == pytest.approx(3)
    assert {k.node for k in study.keypoints} == set(nodes)
    well = [k for k in study.keypoints if k.distance.n >= 25]
    assert len(well) >= 6  # every node but one the model rarely finds (the tail tip)
    assert min(k.distance.mean for k in well) < 3
    assert max(k.x.icc for k in well) > 0.95
    words = ("excellent", "good", "moderate", "poor")
    assert all(k.x.verdict.split()[0] in words for k in well)
    speed = by_name(study, INSTANT_SPEED).agreement
    assert speed.n >= 25 and speed.pearson_r > 0.5
