"""Skeleton-consistent single-instance prediction through a real run folder: bone lengths
from its training split, candidates from the model type's graph decoding, the choice in
the predictor; a planted distractor peak is rejected."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import sleap_io as sio

pytestmark = pytest.mark.slow


class MapsBackend:
    """A backend whose "network" draws confidence maps at given frame points (plus planted
    extra peaks) and decodes them with the model type's own graph decoding."""

    def __init__(self, run, points: np.ndarray, extra: dict[int, tuple[np.ndarray, float]],
                 true_height: dict[int, float]) -> None:
        self.folder, self.points, self.extra, self.true_height = run, points, extra, true_height

    def run(self, images: np.ndarray, threshold: float) -> dict[str, np.ndarray]:
        import torch

        from posekit.data.targets import make_confmaps

        task = self.folder.model_type
        head = task.primary
        h, w = images.shape[-2] // head.stride, images.shape[-1] // head.stride
        _, transform = self.folder.prep.preprocess_frames(self.frames)

        def draw(frame_points: np.ndarray) -> torch.Tensor:
            model_points = torch.as_tensor(transform.to_model(frame_points), dtype=torch.float32)
            return make_confmaps(model_points[None, None], (h, w), head.stride, head.sigma)[0]

        maps = draw(self.points)
        for node, height in self.true_height.items():
            maps[node] *= height
        for node, (where, height) in self.extra.items():
            maps[node] = torch.maximum(maps[node], height * draw(
                np.repeat(np.asarray(where, np.float64)[None], len(self.points), 0))[node])
        outputs = task.decode({head.key: maps[None].expand(len(images), -1, -1, -1)},
                              torch.tensor(threshold), "integral", 7)
        return {name: out.numpy() for name, out in zip(task.graph_outputs, outputs,
                                                          strict=True)}


def test_a_distractor_peak_is_rejected_and_an_unsupported_point_dropped(trained_single,
                                                                         synth_single):
    from posekit.decoding.predictors import SingleInstancePredictor
    from posekit.inference.run_folder import open_run_folder

    run = open_run_folder(trained_single)
    prior = run.bone_lengths
    assert prior is not None and len(prior.edges) == len(run.info.edges)
    train = sio.load_slp(str(trained_single / "labels_gt.train.slp"))
    names = list(run.info.node_names)
    a, b = prior.edges[0]
    lengths = [np.linalg.norm(i.numpy()[a] - i.numpy()[b]) for lf in train.labeled_frames
               for i in lf.user_instances]
    assert prior.median[0] == pytest.approx(np.nanmedian(lengths))  # measured on the split

    frame = sio.load_slp(str(synth_single)).labeled_frames[0]
    true = frame.instances[0].numpy().astype(np.float64)
    tip, nose = names.index("tail_tip"), names.index("nose")
    assert np.isfinite(true[[tip, nose]]).all()
    far = np.array([true[:, 0].max() + 30.0, true[:, 1].max() + 30.0]) % 60 + 2
    far = np.where(np.abs(far - true[tip]) < 25, (far + 30) % 60 + 2, far)
    # tail tip: the true peak at 0.6, a stronger one (1.0) far away; nose: only far away
    backend = MapsBackend(run, true, {tip: (far, 1.0), nose: (far, 1.0)},
                          {tip: 0.6, nose: 0.0})
    backend.frames = frame.image[None]
    images = run.prep.preprocess_frames(backend.frames)
    checked = SingleInstancePredictor(run, backend, 0.2).predict_frames(
        backend.frames, np.array([0]), prepared=images)[0]
    plain = SingleInstancePredictor(run, backend, 0.2, skeleton_check=False).predict_frames(
        backend.frames, np.array([0]), prepared=images)[0]

    np.testing.assert_allclose(plain.points[0, tip], far, atol=1.0)  # the highest peak
    np.testing.assert_allclose(checked.points[0, tip], true[tip], atol=1.0)
    np.testing.assert_allclose(plain.points[0, nose], far, atol=1.0)
    assert np.isnan(checked.points[0, nose]).all()  # no peak near the head: dropped
    others = [j for j in range(len(names)) if j not in (tip, nose)]
    np.testing.assert_allclose(checked.points[0, others], true[others], atol=1.0)
    np.testing.assert_allclose(checked.points[0, others], plain.points[0, others])


def test_load_model_turns_the_check_off_and_stale_exports_are_not_used(trained_single,
                                                                         tmp_path, caplog):
    from posekit.inference.backends import make_backend
    from posekit.inference.export import export_onnx
    from posekit.inference.pipeline import load_model
    from posekit.inference.run_folder import ONNX_META, open_run_folder

    assert load_model(trained_single).predictor.bone_lengths is not None
    assert load_model(trained_single, skeleton_check=False).predictor.bone_lengths is None

    copy = tmp_path / "run"
    shutil.copytree(trained_single, copy)
    run = open_run_folder(copy)
    if run.onnx_path is None:
        export_onnx(run)
    assert open_run_folder(copy).onnx_path is not None
    meta = json.loads((copy / ONNX_META).read_text())
    meta["outputs"] = ["points", "scores"]  # what an older posekit exported
    (copy / ONNX_META).write_text(json.dumps(meta))
    stale = open_run_folder(copy)
    assert stale.onnx_path is None
    with caplog.at_level("WARNING"):
        assert make_backend(stale, device="cpu").name == "torch"  # correct, slower
    assert "out of date" in caplog.text and f"posekit export {copy}" in caplog.text
    export_onnx(stale)
    assert make_backend(open_run_folder(copy), device="cpu").name == "onnx"
    split = copy / "labels_gt.train.slp"
    split.write_bytes(b"not an HDF5 file")  # damaged: the check is skipped, with a warning
    caplog.clear()
    with caplog.at_level("WARNING"):
        assert open_run_folder(copy).bone_lengths is None
    assert "cannot read the training split" in caplog.text
    assert split.read_bytes() == b"not an HDF5 file"  # left as it was
    split.unlink()
    assert open_run_folder(copy).bone_lengths is None  # no split: global peaks, as before
