"""ONNX Runtime runs big batches in chunks; results must not depend on the chunk size."""

from __future__ import annotations

import numpy as np
import pytest

from posekit.errors import ModelError
from posekit.inference.backends import OnnxBackend, merge_chunk_outputs
from posekit.inference.run_folder import open_run_folder


def test_merge_offsets_sample_indices_by_chunk():
    parts = [
        {"peak_sample": np.array([0, 1, 1]), "peak_points": np.zeros((3, 2)),
         "pafs": np.zeros((2, 4, 3, 3))},
        {"peak_sample": np.array([0]), "peak_points": np.ones((1, 2)),
         "pafs": np.ones((1, 4, 3, 3))},
    ]
    merged = merge_chunk_outputs(parts, chunk_size=2)
    np.testing.assert_array_equal(merged["peak_sample"], [0, 1, 1, 2])
    assert merged["pafs"].shape == (3, 4, 3, 3)
    np.testing.assert_array_equal(merged["peak_points"][-1], [1.0, 1.0])


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["bottomup", "centroid"])
def test_chunked_runs_match_one_batch(kind, trained_multi, synth_pair):
    import sleap_io as sio

    run = open_run_folder(trained_multi(kind))
    assert run.onnx_path is not None
    labels = sio.load_slp(str(synth_pair))
    frames = np.stack([labels.labeled_frames[i].image for i in range(5)]).astype(np.float32)
    images = frames.mean(axis=-1, keepdims=True).transpose(0, 3, 1, 2) / 255.0
    whole = OnnxBackend(run.onnx_path, chunk_size=8).run(images, 0.1)
    chunked = OnnxBackend(run.onnx_path, chunk_size=2).run(images, 0.1)
    default = OnnxBackend(run.onnx_path)
    sizes: list[int] = []
    real_run = default.session.run
    default.session.run = lambda names, feeds: sizes.append(len(feeds["images"])) or real_run(
        names, feeds)
    single = default.run(images, 0.1)
    assert sizes == [1] * 5  # by default ONNX Runtime sees one image per call (flat memory)
    assert whole.keys() == chunked.keys() == single.keys()
    for name in whole:
        np.testing.assert_allclose(chunked[name], whole[name], atol=1e-4, err_msg=name)
        np.testing.assert_allclose(single[name], whole[name], atol=1e-4, err_msg=name)
    assert set(whole["peak_sample"].tolist()) == set(range(5))  # every frame has peaks


def test_chunk_size_must_be_positive(tmp_path):
    with pytest.raises(ModelError, match="chunk_size"):
        OnnxBackend(tmp_path / "missing.onnx", chunk_size=0)


def test_single_instance_inference_does_not_import_scipy_optimize():
    """`posekit track` start-up: the Hungarian solver is imported only by models that need it."""
    import subprocess
    import sys

    code = ("import sys, posekit.inference.pipeline, posekit.decoding.predictors; "
            "print('scipy.optimize' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "False"


def _identity_graph(path):
    import onnx
    from onnx import TensorProto, helper

    images = helper.make_tensor_value_info("images", TensorProto.FLOAT, [None, 1, 4, 4])
    threshold = helper.make_tensor_value_info("threshold", TensorProto.FLOAT, [])
    out = helper.make_tensor_value_info("maps", TensorProto.FLOAT, [None, 1, 4, 4])
    node = helper.make_node("Identity", ["images"], ["maps"])
    graph = helper.make_graph([node], "identity", [images, threshold], [out])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.save(model, str(path))
    return path


@pytest.mark.parametrize("spin, expected", [(False, "0"), (True, "1")])
def test_worker_threads_do_not_spin_by_default(tmp_path, spin, expected):
    """Idle ONNX Runtime workers must not busy-wait by default: the decoding thread needs
    that CPU time during streaming inference."""
    path = _identity_graph(tmp_path / "identity.onnx")
    backend = OnnxBackend(path) if not spin else OnnxBackend(path, spin=True)
    options = backend.session.get_session_options()
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == expected
    images = np.arange(32, dtype=np.float32).reshape(2, 1, 4, 4)
    np.testing.assert_array_equal(backend.run(images, 0.5)["maps"], images)
