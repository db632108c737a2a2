"""``posekit track`` end to end, its outputs and its errors (slow: uses a trained model)."""

from __future__ import annotations

import shutil

import h5py
import numpy as np
import pandas as pd
import pytest
import sleap_io as sio
import torch

from posekit.cli.main import main
from posekit.errors import ModelError
from posekit.evaluation import evaluate
from posekit.inference.pipeline import load_model
from posekit.inference.run_folder import open_run_folder
from posekit.io.synthetic import SynthSpec, write_dataset

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    folder = tmp_path_factory.mktemp("video")
    write_dataset(SynthSpec(n_frames=40, height=64, width=64, seed=31, animal_size=0.45,
                            occluders=0), folder / "truth.slp", folder / "clip.mp4")
    return folder / "clip.mp4"


def _stack(labels: sio.Labels) -> dict[int, np.ndarray]:
    """Frame index -> ``(n_instances, n_nodes, 2)`` points."""
    return {lf.frame_idx: np.stack([i.numpy() for i in lf.instances])
            for lf in labels.labeled_frames}


def test_track_video_writes_slp_csv_and_h5(trained_single, video, tmp_path, capsys):
    out = tmp_path / "pred.slp"
    code = main(["track", str(video), "-m", str(trained_single), "-o", str(out), "--csv",
                 str(tmp_path / "pred.csv"), "--h5", str(tmp_path / "pred.h5"),
                 "--batch-size", "7", "--peak-threshold", "0.05"])
    assert code == 0
    text = capsys.readouterr().out
    assert "predicted 40 frames" in text and "frames/s" in text
    labels = sio.load_slp(str(out))
    points = _stack(labels)
    # One mouse on every frame, found on every frame, where the renderer put it.
    assert sorted(points) == list(range(40))
    assert all(p.shape == (1, 8, 2) for p in points.values())
    inst = labels.labeled_frames[0].instances[0]
    assert isinstance(inst, sio.PredictedInstance) and inst.numpy(scores=True).shape == (8, 3)
    metrics = evaluate(sio.load_slp(str(video.parent / "truth.slp")), labels)
    print("track video:", metrics.counts, metrics.localization, metrics.pck.px)
    assert (metrics.counts.matched, metrics.counts.missed_gt) == (40, 0), metrics.counts
    # Measured: median error 2.9 px, 87 % of the points within 10 px (64-pixel frames).
    assert metrics.localization.median_px < 4.0, metrics.localization
    assert metrics.pck.px[10] >= 0.8, metrics.pck
    # The CSV and the analysis HDF5 hold the same points as the .slp.
    table = pd.read_csv(tmp_path / "pred.csv")
    assert table["frame_idx"].tolist() == list(range(40))
    for name_index, name in enumerate(labels.skeleton.node_names):
        xy = np.stack([table[f"{name}.x"], table[f"{name}.y"]], axis=-1)
        expected = np.stack([points[f][0, name_index] for f in range(40)])
        np.testing.assert_allclose(xy, expected, atol=1e-3, err_msg=name)
    with h5py.File(tmp_path / "pred.h5") as fh:
        tracks = fh["tracks"][:]  # (tracks, xy, nodes, frames): frames last (SLEAP layout)
    assert tracks.shape == (1, 2, 8, 40)
    np.testing.assert_allclose(tracks[0].transpose(2, 1, 0),
                               np.stack([points[f][0] for f in range(40)]), atol=1e-3)


def test_frame_range_and_batch_size_do_not_change_predictions(trained_single, video, tmp_path):
    model_a = load_model(trained_single, batch_size=1, peak_threshold=0.0)
    model_b = load_model(trained_single, batch_size=16, peak_threshold=0.0)
    from posekit.inference.pipeline import predict_source

    a = predict_source(model_a, video, frames="5-14").labels
    b = predict_source(model_b, video, frames=range(5, 15)).labels
    assert [lf.frame_idx for lf in a.labeled_frames] == list(range(5, 15))
    assert [lf.frame_idx for lf in b.labeled_frames] == list(range(5, 15))
    for fa, fb in zip(a.labeled_frames, b.labeled_frames, strict=True):
        np.testing.assert_allclose(fa.instances[0].numpy(), fb.instances[0].numpy(), atol=1e-3)


def test_track_on_a_labels_file_predicts_its_labelled_frames(trained_single, synth_single,
                                                             tmp_path):
    out = tmp_path / "on_labels.slp"
    assert main(["track", str(synth_single), "-m", str(trained_single), "-o", str(out)]) == 0
    predicted = sio.load_slp(str(out))
    assert sorted(lf.frame_idx for lf in predicted.labeled_frames) == list(range(60))
    metrics = evaluate(sio.load_slp(str(synth_single)), predicted)
    print("track labels:", metrics.counts, metrics.localization, metrics.pck.px)
    assert (metrics.counts.matched, metrics.counts.missed_gt) == (60, 0), metrics.counts
    # Measured: median error 2.9 px, 87.5 % of the points within 10 px.
    assert metrics.localization.median_px < 4.0, metrics.localization
    assert metrics.pck.px[10] >= 0.8, metrics.pck


def test_truncated_video_frames_are_skipped_and_reported(trained_single, video, tmp_path,
                                                         capsys):
    broken = tmp_path / "broken.mp4"
    data = video.read_bytes()
    broken.write_bytes(data[: int(len(data) * 0.6)])
    code = main(["track", str(broken), "-m", str(trained_single), "-o", str(tmp_path / "b.slp")])
    err = capsys.readouterr()
    assert code == 0
    assert "skipped" in err.err
    n = len(sio.load_slp(str(tmp_path / "b.slp")).labeled_frames)
    assert 0 < n < 40


def test_video_that_cannot_be_opened_is_a_clear_error(trained_single, tmp_path, capsys):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 200)
    code = main(["track", str(bad), "-m", str(trained_single), "-o", str(tmp_path / "x.slp")])
    assert code == 2 and "bad.mp4" in capsys.readouterr().err
    assert not (tmp_path / "x.slp").exists()


def test_missing_output_folder_is_refused_before_any_work(trained_single, video, tmp_path,
                                                          capsys):
    code = main(["track", str(video), "-m", str(trained_single), "-o",
                 str(tmp_path / "nope" / "out.slp")])
    assert code == 2 and "does not exist" in capsys.readouterr().err


def test_run_folder_without_checkpoint(trained_single, tmp_path, capsys):
    empty = tmp_path / "run"
    empty.mkdir()
    shutil.copy(trained_single / "training_config.yaml", empty)
    with pytest.raises(ModelError, match="no checkpoint"):
        open_run_folder(empty)
    assert main(["track", str(tmp_path), "-m", str(empty)]) == 2
    assert "no checkpoint" in capsys.readouterr().err


def test_checkpoint_of_another_model_type_is_refused(trained_single, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(trained_single, run)
    for onnx in run.glob("model.onnx*"):
        onnx.unlink()
    ckpt = torch.load(run / "best.ckpt", weights_only=True)
    ckpt["posekit"]["head_type"] = "bottomup"
    torch.save(ckpt, run / "best.ckpt")
    with pytest.raises(ModelError, match="trained as a bottomup model"):
        load_model(run, backend="torch")


def test_skeleton_of_the_data_must_match_the_model(trained_single, tmp_path, capsys):
    other = tmp_path / "other.pkg.slp"
    write_dataset(SynthSpec(n_frames=3, height=64, width=64, skeleton="fly", seed=2), other)
    code = main(["track", str(other), "-m", str(trained_single), "-o", str(tmp_path / "o.slp")])
    err = capsys.readouterr().err
    assert code == 2 and "skeleton" in err and "nose" in err


def test_one_model_of_a_top_down_pair_is_a_clear_error(trained_single, tmp_path):
    cfg_text = (trained_single / "training_config.yaml").read_text()
    assert "single_instance" in cfg_text
    with pytest.raises(ModelError, match="expected one model that predicts alone"):
        load_model(trained_single, trained_single)
