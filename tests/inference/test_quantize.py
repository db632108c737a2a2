"""int8 graphs: written with their measured accuracy, used only when asked or when safe."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest

from posekit.errors import ModelError
from posekit.inference.backends import OnnxBackend, make_backend
from posekit.inference.quantize import point_shift
from posekit.inference.run_folder import INT8_META, int8_is_safe, open_run_folder


def test_point_shift_for_global_and_local_peaks():
    a = {"points": np.array([[[0.0, 0.0], [np.nan, np.nan], [5.0, 5.0]]])}
    b = {"points": np.array([[[3.0, 4.0], [np.nan, np.nan], [np.nan, np.nan]]])}
    np.testing.assert_allclose(point_shift(a, b), [5.0, np.inf])
    ref = {"peak_sample": np.array([0, 0, 1]), "peak_channel": np.array([0, 1, 0]),
           "peak_points": np.array([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]])}
    other = {"peak_sample": np.array([0, 1]), "peak_channel": np.array([0, 0]),
             "peak_points": np.array([[1.0, 2.0], [3.0, 3.5]])}
    np.testing.assert_allclose(point_shift(ref, other), [1.0, np.inf, 0.5])


def test_auto_precision_rule():
    assert not int8_is_safe(None)
    assert int8_is_safe({"mean_shift_px": 0.2, "compared_points": 100,
                         "points_lost_or_gained": 1})
    assert not int8_is_safe({"mean_shift_px": 0.8, "compared_points": 100,
                             "points_lost_or_gained": 0})
    assert not int8_is_safe({"mean_shift_px": 0.1, "compared_points": 100,
                             "points_lost_or_gained": 10})


@pytest.mark.slow
def test_training_writes_an_int8_graph_with_its_accuracy(trained_single, tmp_path):
    from posekit.inference.export import export_onnx
    from posekit.inference.pipeline import load_model

    run_dir = tmp_path / "run"
    shutil.copytree(trained_single, run_dir)
    run = open_run_folder(run_dir)
    quality = run.int8_quality
    assert quality is not None and quality["compared_points"] > 0
    assert quality["mean_shift_px"] < 1.0
    assert isinstance(make_backend(run, precision="int8"), OnnxBackend)
    # On the validation frames the int8 graph finds the same points as the float graph,
    # within a pixel, as its recorded quality says.
    frames = run_dir / "labels_gt.val.slp"
    preds = {p: load_model(run_dir, backend="onnx", precision=p).predict(frames)
             for p in ("fp32", "int8")}
    a = np.stack([lf.instances[0].numpy() for lf in preds["fp32"].labeled_frames])
    b = np.stack([lf.instances[0].numpy() for lf in preds["int8"].labeled_frames])
    found_a, found_b = np.isfinite(a).all(-1), np.isfinite(b).all(-1)
    assert (found_a == found_b).mean() > 0.95  # the same points are found (or not)
    both = found_a & found_b
    assert both.sum() > 0.5 * both.size
    assert np.linalg.norm(a - b, axis=-1)[both].mean() < 1.0
    # A float graph exported again (other contents) makes the old int8 graph stale.
    export_onnx(open_run_folder(run_dir), refinement="local")
    assert open_run_folder(run_dir).int8_quality is None
    with pytest.raises(ModelError, match="--int8"):
        make_backend(open_run_folder(run_dir), precision="int8")
    assert json.loads((run_dir / INT8_META).read_text())["units"].startswith("full-frame")


@pytest.mark.slow
def test_a_copied_run_folder_predicts_exactly_as_the_original(trained_single, tmp_path):
    """New file times (cp -r, unzip) must not make the exported graphs look stale."""
    from posekit.inference.pipeline import load_model

    copy = tmp_path / "copied run"
    shutil.copytree(trained_single, copy, copy_function=shutil.copyfile)  # new mtimes
    for path in copy.iterdir():
        os.utime(path, ns=(10**18, 10**18))
    original, copied = open_run_folder(trained_single), open_run_folder(copy)
    assert copied.onnx_path == copy / "model.onnx"
    assert copied.int8_quality == original.int8_quality is not None
    frames = trained_single / "labels_gt.val.slp"
    for precision in ("fp32", "auto"):
        a = load_model(trained_single, precision=precision)
        b = load_model(copy, precision=precision)
        assert a.predictor.backend.name == b.predictor.backend.name == "onnx"
        assert a.predictor.backend.path.name == b.predictor.backend.path.name
        pa, pb = a.predict(frames), b.predict(frames)
        for fa, fb in zip(pa.labeled_frames, pb.labeled_frames, strict=True):
            np.testing.assert_array_equal(fa.instances[0].numpy(), fb.instances[0].numpy())


@pytest.mark.slow
def test_export_and_track_choose_the_precision_from_the_cli(trained_single, synth_single,
                                                             tmp_path, capsys):
    from posekit.cli.main import main

    run_dir = tmp_path / "run"
    shutil.copytree(trained_single, run_dir)
    for name in ("model.int8.onnx", INT8_META):
        (run_dir / name).unlink()
    out = tmp_path / "pred.slp"
    code = main(["track", str(synth_single), "-m", str(run_dir), "-o", str(out),
                 "--precision", "int8"])
    assert code == 2 and "--int8" in capsys.readouterr().err  # says how to make one
    assert main(["export", str(run_dir), "--int8"]) == 0
    assert "points move" in capsys.readouterr().out
    assert json.loads((run_dir / INT8_META).read_text())["compared_points"] > 0
    assert main(["track", str(synth_single), "-m", str(run_dir), "-o", str(out),
                 "--precision", "int8"]) == 0, capsys.readouterr().err
    assert out.is_file()


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["single_instance", "centroid", "centered_instance", "bottomup",
                                  "multi_class_bottomup", "multi_class_topdown"])
def test_every_model_type_gets_an_int8_graph_with_a_float_first_conv(kind, trained_multi,
                                                                      trained_single):
    import onnx

    run_dir = trained_single if kind == "single_instance" else trained_multi(kind)
    run = open_run_folder(run_dir)
    quality = run.int8_quality
    assert quality is not None, f"{kind}: training wrote no usable int8 graph"
    assert quality["quantized_nodes"] > 0 and quality["compared_points"] > 0
    # the learned synthetic models keep their points: well under a pixel on average
    assert quality["mean_shift_px"] < 1.0, quality
    graph = onnx.load(str(run_dir / "model.int8.onnx")).graph
    ops = [n.op_type for n in graph.node]
    assert "QLinearConv" in ops
    first_conv = next(n for n in graph.node if n.op_type in ("Conv", "QLinearConv"))
    assert first_conv.op_type == "Conv"  # the raw image meets a float convolution
