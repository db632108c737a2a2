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

    code = ("import sys, posekit.inference.pipeline, posekit.inference.predictors; "
            "print('scipy.optimize' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "False"
