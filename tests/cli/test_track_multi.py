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


def test_bottomup_with_tracking(trained_multi, pair_video, tmp_path, capsys):
    out = tmp_path / "bu.slp"
    code = main(["track", str(pair_video / "pair.mp4"), "-m", str(trained_multi("bottomup")),
                 "-o", str(out), "--tracking", "--max-tracks", "2", "--min-track-length", "3"])
    assert code == 0, capsys.readouterr().err
    labels = sio.load_slp(str(out))
    assert 1 <= len(labels.tracks) <= 2
    metrics = _eval(pair_video / "truth.slp", out, tmp_path / "bu.json", capsys)
    assert (metrics.counts.instance_recall or 0.0) >= 0.8
    assert metrics.identity.available


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
    metrics = _eval(pair_video / "truth.slp", out, tmp_path / "id.json", capsys)
    assert (metrics.identity.identity_accuracy or 0.0) >= 0.8, metrics.identity


def test_max_instances_caps_every_frame(trained_multi, pair_video):
    model = load_model(trained_multi("bottomup"), max_instances=1)
    frames = np.stack([sio.load_video(str(pair_video / "pair.mp4"))[i] for i in range(4)])
    assert all(len(p.points) <= 1 for p in model.predict(frames))


def test_one_model_of_a_top_down_pair_is_refused(trained_multi, pair_video, capsys):
    code = main(["track", str(pair_video / "pair.mp4"), "-m", str(trained_multi("centroid"))])
    assert code == 2 and "first stage of top-down" in capsys.readouterr().err
    with pytest.raises(ModelError, match="centroid model too"):
        load_model(trained_multi("centered_instance"))


def test_instances_with_a_single_visible_point_train_and_predict(tmp_path, make_tiny_config):
    from posekit.training.trainer import train

    labels_path = tmp_path / "sparse.pkg.slp"
    labels = write_dataset(SynthSpec(n_frames=24, n_animals=2, height=96, width=96, seed=5,
                                     occluders=0), labels_path)
    for lf in labels.labeled_frames[::2]:  # every other frame: one animal shows one point
        pts = lf.instances[0].numpy()
        pts[1:] = np.nan
        lf.instances[0] = sio.Instance.from_numpy(pts, skeleton=labels.skeleton,
                                                  track=lf.instances[0].track)
    sio.save_slp(labels, str(tmp_path / "sparse2.pkg.slp"), embed=True)
    for kind in ("bottomup", "centered_instance"):
        result = train(make_tiny_config(kind, tmp_path / "sparse2.pkg.slp",
                                        tmp_path / f"run_{kind}", max_epochs=1,
                                        min_train_steps_per_epoch=3))
        assert (result.run_dir / "metrics.val.json").is_file()
