"""Multi-animal models from the command line: videos, tracking, identities, bad input (slow;
reuses the models trained by tests/training/test_multi_animal_models.py)."""

from __future__ import annotations

import numpy as np
import pytest
import sleap_io as sio

from posekit.cli.main import main
from posekit.errors import ModelError
from posekit.evaluation import EvaluationResult, load_metrics
from posekit.inference.pipeline import load_model
from posekit.io.synthetic import SynthSpec, write_dataset

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pair_video(tmp_path_factory):
    """A new synthetic clip of the same two mice (same seed family, other motion)."""
    folder = tmp_path_factory.mktemp("pair_video")
    write_dataset(SynthSpec(n_frames=30, n_animals=2, height=96, width=96, seed=12,
                            animal_size=0.35, occluders=0), folder / "truth.slp",
                  folder / "pair.mp4")
    return folder


def _eval(truth, pred, out, capsys) -> EvaluationResult:
    assert main(["eval", str(truth), str(pred), "-o", str(out)]) == 0, capsys.readouterr().err
    return load_metrics(out)


def _instances_per_frame(labels: sio.Labels) -> list[int]:
    """Number of predicted instances on each of the clip's 30 frames."""
    counts = {lf.frame_idx: len(lf.instances) for lf in labels.labeled_frames}
    return [counts.get(f, 0) for f in range(30)]


def _check_poses(metrics: EvaluationResult, max_unmatched: int, max_median_px: float) -> None:
    """Both mice found on every frame, their points where the renderer put them."""
    counts, loc = metrics.counts, metrics.localization
    assert (counts.frames, counts.gt_instances, counts.matched) == (30, 60, 60), counts
    assert counts.unmatched_predictions <= max_unmatched, counts
    assert loc.median_px is not None and loc.median_px < max_median_px, loc
    assert metrics.pck.px[10] >= 0.85, metrics.pck  # of the points within 10 px


def test_bottomup_with_tracking(trained_multi, pair_video, tmp_path, capsys):
    out = tmp_path / "bu.slp"
    code = main(["track", str(pair_video / "pair.mp4"), "-m", str(trained_multi("bottomup")),
                 "-o", str(out), "--tracking", "--max-tracks", "2", "--min-track-length", "3"])
    assert code == 0, capsys.readouterr().err
    labels = sio.load_slp(str(out))
    per_frame = _instances_per_frame(labels)
    metrics = _eval(pair_video / "truth.slp", out, tmp_path / "bu.json", capsys)
    identity = metrics.identity
    print("bottomup + tracking:", per_frame, metrics.counts, metrics.localization,
          metrics.pck.px, identity)
    # Measured: 2 instances on 28 frames, 3 on 2 (60 of 60 mice matched, 2 extra
    # predictions); median error 2.1 px, 89 % of the points within 10 px; both tracks
    # right on every frame (accuracy 1.0, no ID switch, MOTA 0.967).
    assert len(labels.tracks) == 2
    assert min(per_frame) >= 2 and per_frame.count(2) >= 26, per_frame
    _check_poses(metrics, max_unmatched=4, max_median_px=3.0)
    assert identity.available and identity.mapping_rule == "hungarian", identity
    assert identity.id_switches <= 1 and identity.identity_accuracy >= 0.95, identity
    assert identity.mota >= 0.9, identity


@pytest.mark.parametrize("models", [("multi_class_bottomup",),
                                    ("centroid", "multi_class_topdown")])
def test_identity_models_name_tracks_after_their_classes(models, trained_multi, pair_video,
                                                         tmp_path, capsys):
    out = tmp_path / "id.slp"
    args = ["track", str(pair_video / "pair.mp4"), "-o", str(out)]
    for name in models:
        args += ["-m", str(trained_multi(name))]
    assert main(args) == 0, capsys.readouterr().err
    labels = sio.load_slp(str(out))
    assert {t.name for t in labels.tracks} == {"animal_0", "animal_1"}
    for lf in labels.labeled_frames:
        names = [i.track.name for i in lf.instances if i.track is not None]
        assert len(names) == len(set(names))  # never one identity twice in a frame
    per_frame = _instances_per_frame(labels)
    metrics = _eval(pair_video / "truth.slp", out, tmp_path / "id.json", capsys)
    identity = metrics.identity
    print(models, per_frame, metrics.counts, metrics.localization, metrics.pck.px, identity)
    # Measured for both: 2 instances on every frame, 60 of 60 mice matched; median error
    # 2.5 px (bottom-up) / 3.7 px (top-down); every identity right (accuracy 1.0, no switch).
    assert per_frame == [2] * 30, per_frame
    _check_poses(metrics, max_unmatched=2, max_median_px=5.0)
    assert identity.available and identity.mapping_rule == "name", identity
    assert identity.identity_accuracy >= 0.95 and identity.id_switches <= 1, identity


def test_max_instances_caps_every_frame(trained_multi, pair_video):
    model = load_model(trained_multi("bottomup"), max_instances=1)
    frames = np.stack([sio.load_video(str(pair_video / "pair.mp4"))[i] for i in range(4)])
    assert all(len(p.points) <= 1 for p in model.predict(frames))


def test_one_model_of_a_top_down_pair_is_refused(trained_multi, pair_video, capsys):
    code = main(["track", str(pair_video / "pair.mp4"), "-m", str(trained_multi("centroid"))])
    assert code == 2 and "first stage of top-down" in capsys.readouterr().err
    with pytest.raises(ModelError, match="centroid model too"):
        load_model(trained_multi("centered_instance"))


def _nearest_errors(truth: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """Pixel errors of ``truth``'s visible nodes against the predicted instance whose mean
    error over them is smallest (a node that instance lacks is NaN)."""
    visible = np.isfinite(truth).all(axis=-1)
    errors = np.linalg.norm(predicted[:, visible] - truth[visible], axis=-1)
    found = np.isfinite(errors).sum(axis=1)
    mean = np.where(found > 0, np.nansum(errors, axis=1) / np.maximum(found, 1), np.inf)
    return errors[int(np.argmin(mean))]


@pytest.fixture(scope="module")
def sparse_pairs(tmp_path_factory):
    """Two mice per frame; in every other frame the first mouse is labelled by its nose only
    (the rest of it is still in the image: its other nodes are simply unlabelled)."""
    root = tmp_path_factory.mktemp("sparse")
    labels = write_dataset(SynthSpec(n_frames=24, n_animals=2, height=96, width=96, seed=5,
                                     occluders=0), root / "full.pkg.slp")
    for lf in labels.labeled_frames[::2]:
        pts = lf.instances[0].numpy()
        pts[1:] = np.nan
        lf.instances[0] = sio.Instance.from_numpy(pts, skeleton=labels.skeleton,
                                                  track=lf.instances[0].track)
    sio.save_slp(labels, str(root / "sparse.pkg.slp"), embed=True)
    return root / "sparse.pkg.slp"


def _train_sparse(kind: str, labels, make_tiny_config):
    """320 steps: the shortest training after which both types find the animals of the
    validation frames (4 epochs of 30 steps left bottom-up missing 4 of 10)."""
    from posekit.training.trainer import train

    result = train(make_tiny_config(kind, labels, labels.parent / f"run_{kind}", max_epochs=8,
                                    min_train_steps_per_epoch=40))
    return result.run_dir, sio.load_slp(str(result.run_dir / "labels_gt.val.slp"))


def _split_errors(truth: sio.Labels, predicted: sio.Labels, n_per_frame: int | None
                  ) -> tuple[list[float], list[float]]:
    """Per validation instance: the single visible point's error (sparse instances) and
    the mean error over visible nodes (full instances), each against the nearest predicted
    instance; ``n_per_frame`` checks the number of predicted instances per frame."""
    by_frame = {lf.frame_idx: lf for lf in predicted.labeled_frames}
    sparse, full = [], []
    for lf in truth.labeled_frames:
        assert len(lf.instances) == 2
        pred = np.stack([i.numpy() for i in by_frame[lf.frame_idx].instances])
        if n_per_frame is not None:
            assert len(pred) == n_per_frame, lf.frame_idx
        for inst in lf.instances:
            gt = inst.numpy()
            errors = _nearest_errors(gt, pred)
            if np.isfinite(gt).all(axis=-1).sum() == 1:
                sparse.append(float(errors[0]))
            else:
                full.append(float(np.nanmean(errors)))
    assert len(sparse) >= 2, sparse  # the validation split holds sparse animals
    return sparse, full


def test_instances_with_a_single_visible_point_train_a_centred_instance_model_and_predict(
        sparse_pairs, make_tiny_config):
    run_dir, truth = _train_sparse("centered_instance", sparse_pairs, make_tiny_config)
    predicted = sio.load_slp(str(run_dir / "labels_pr.val.slp"))
    sparse, full = _split_errors(truth, predicted, n_per_frame=2)
    # measured: 1.3-2.1 px at the single visible point, mean 1.8-2.7 px per full animal
    assert max(sparse) < 4.0 and max(full) < 5.0, (sparse, full)
    metrics = load_metrics(run_dir / "metrics.val.json")
    counts = metrics.counts
    assert (counts.gt_instances, counts.matched, counts.missed_gt,
            counts.unmatched_predictions) == (10, 10, 0, 0), counts
    assert metrics.localization.median_px < 3.0, metrics.localization  # measured 1.3 px


def test_instances_with_a_single_visible_point_train_a_bottom_up_model_and_predict(
        sparse_pairs, make_tiny_config):
    """The confidence maps learn the lone nose; PAF grouping joins only peaks a limb links.

    The first mouse's nose-head limb is drawn in the PAF targets only where its head is
    labelled, so the network sees that limb as present in half of its frames and absent in
    the other half although the image shows it. Whether the default grouping then links
    that nose depended on the seed (9 trainings: dropped in 3); the peaks themselves were
    found in all 9 (0.6-3.1 px), which ``keep_isolated_peaks`` reports.
    """
    run_dir, truth = _train_sparse("bottomup", sparse_pairs, make_tiny_config)
    grouped = sio.load_slp(str(run_dir / "labels_pr.val.slp"))
    _, full = _split_errors(truth, grouped, n_per_frame=None)
    # measured over 9 seeds: median 1.3-2.5 px (a seed that split a mouse: 2 of 8 far off)
    assert np.median(full) < 3.0 and np.mean(np.array(full) < 5.0) >= 0.7, full
    every_peak = load_model(run_dir, grouping={"keep_isolated_peaks": True}).predict(truth)
    sparse, _ = _split_errors(truth, every_peak, n_per_frame=None)
    assert max(sparse) < 4.0, sparse
