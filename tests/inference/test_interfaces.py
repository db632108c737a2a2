"""The Python API and the CLI expose the same inference behaviour.

Grouping settings reach the predictor from ``load_model``, ``--grouping`` and an inference
YAML; tracking's clean-up post-pass runs for API users too; identity confidences are kept;
top-down preprocessing happens in ``prepare`` (the decoding thread); ``posekit track`` on
ONNX Runtime never imports torch.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sleap_io as sio

from posekit.cli.track_cmd import _inference_options, parse_settings
from posekit.data.info import DataInfo
from posekit.decoding.paf_grouping import PAFGroupingParams
from posekit.decoding.predictors import FramePredictions
from posekit.decoding.predictors_topdown import TopDownPredictor
from posekit.errors import ConfigError
from posekit.inference.labels_builder import LabelsBuilder
from posekit.inference.pipeline import grouping_settings


def test_grouping_settings_from_mappings_with_clear_errors():
    params = grouping_settings({"min_line_score": 0.3, "n_points": 6}, "grouping")
    assert params == PAFGroupingParams(min_line_score=0.3, n_points=6)
    assert grouping_settings(params, "grouping") is params
    assert grouping_settings(None, "grouping") is None
    assert grouping_settings({"min_class_score": 0.4}, "class_grouping").min_class_score == 0.4
    with pytest.raises(ConfigError, match=r"min_line_scores.*min_line_score"):
        grouping_settings({"min_line_scores": 0.3}, "grouping")
    with pytest.raises(ConfigError, match="expected a mapping"):
        grouping_settings(0.3, "grouping")


def test_cli_grouping_options_merge_over_the_inference_file(tmp_path):
    assert parse_settings(["min_line_score=0.3", "matching=greedy", "max_instances=2"],
                          "--grouping") == {"min_line_score": 0.3, "matching": "greedy",
                                            "max_instances": 2}
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        parse_settings(["min_line_score"], "--grouping")
    config = tmp_path / "inference.yaml"
    config.write_text("inference:\n  peak_threshold: 0.3\n  grouping:\n    n_points: 5\n"
                      "    min_line_score: 0.1\ntracking:\n  max_tracks: 2\n")
    options, tracking = _inference_options(config, {
        "peak_threshold": None, "batch_size": 4, "grouping": {"min_line_score": 0.4}})
    assert options == {"peak_threshold": 0.3, "batch_size": 4,
                       "grouping": PAFGroupingParams(n_points=5, min_line_score=0.4)}
    assert tracking == {"max_tracks": 2}
    config.write_text("inference:\n  groupin:\n    n_points: 5\n")
    with pytest.raises(ConfigError, match="inference.groupin is not an inference option"):
        _inference_options(config, {})
    config.write_text("inference:\n  skeleton_check: false\n")
    assert _inference_options(config, {"skeleton_check": None})[0] == {"skeleton_check": False}
    assert _inference_options(config, {"skeleton_check": True})[0] == {"skeleton_check": True}


def test_identity_confidence_is_written_as_the_tracking_score():
    skeleton = sio.Skeleton(["a", "b"])
    builder = LabelsBuilder(skeleton, ("mouse1", "mouse2"))
    pts = np.array([[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]]], np.float32)
    builder.add(None, [FramePredictions(0, pts, np.ones((2, 2), np.float32),
                                        np.array([0.9, 0.8], np.float32),
                                        np.array([1, 0]), np.array([0.75, 0.5], np.float32))])
    labels = builder.finish()
    insts = labels.labeled_frames[0].instances
    assert [i.track.name for i in insts] == ["mouse2", "mouse1"]
    assert [i.tracking_score for i in insts] == pytest.approx([0.75, 0.5])


class _Prep:
    def __init__(self) -> None:
        self.calls = 0

    def preprocess_image(self, frame):
        from posekit.data.preprocessing import PreprocessingParams

        self.calls += 1
        return PreprocessingParams().preprocess_image(frame)


class _Run:
    def __init__(self) -> None:
        self.path = Path("run")
        self.info = DataInfo(node_names=("a", "b"), class_names=("x", "y"), crop_size=8)
        self.prep = _Prep()


class _CropBackend:
    """Finds node ``a`` at the crop centre and ``b`` one pixel right; class by crop order."""

    name = "fake"

    def run(self, images, threshold):
        n = len(images)
        points = np.tile(np.array([[3.5, 3.5], [4.5, 3.5]], np.float32), (n, 1, 1))
        probs = np.tile(np.array([[0.2, 0.8], [0.9, 0.1]], np.float32), (n // 2 + 1, 1))[:n]
        return {"points": points, "scores": np.full((n, 2), 0.9, np.float32),
                "class_probs": probs}


def test_top_down_prepares_frames_off_the_model_thread_and_keeps_class_scores():
    run = _Run()
    predictor = TopDownPredictor(None, run, _CropBackend(), has_classes=True)
    frames = np.zeros((2, 32, 32, 1), np.uint8)
    prepared = predictor.prepare(frames)
    assert run.prep.calls == 2
    centroids = [np.array([[10.0, 10.0], [20.0, 20.0]]), np.zeros((0, 2))]
    preds = predictor.predict_frames(frames, np.array([3, 4]), centroids, prepared=prepared)
    assert run.prep.calls == 2  # nothing re-preprocessed on the model thread
    first = preds[0]
    # crop offsets floor(c - 3.5 + 0.5): 7 and 17; points come back in frame pixels
    np.testing.assert_allclose(first.points[:, 0], [[10.5, 10.5], [20.5, 20.5]])
    assert first.classes.tolist() == [1, 0]
    np.testing.assert_allclose(first.class_scores, [0.8, 0.9])
    assert len(preds[1].points) == 0 and preds[1].class_scores.shape == (0,)


@pytest.mark.slow
def test_grouping_settings_reach_the_bottom_up_predictor(trained_multi, synth_pair):
    from posekit.inference.pipeline import load_model

    run = trained_multi("bottomup")
    default = load_model(run, backend="onnx").predict(synth_pair)
    strict = load_model(run, backend="onnx",
                        grouping={"min_instance_peaks": 99}).predict(synth_pair)
    assert strict.labeled_frames and default.labeled_frames
    assert sum(len(lf.instances) for lf in default.labeled_frames) > 0
    # No instance can have 99 points: every one is dropped.
    assert sum(len(lf.instances) for lf in strict.labeled_frames) == 0


@pytest.mark.slow
def test_api_tracking_runs_the_clean_up_post_pass(trained_multi, synth_pair):
    from posekit.inference.pipeline import load_model
    from posekit.tracking import Tracker, TrackingConfig

    model = load_model(trained_multi("bottomup"), backend="onnx", max_instances=2)
    plain = model.predict(synth_pair, tracker=Tracker(TrackingConfig(max_tracks=2)))
    cleaned = model.predict(synth_pair, tracker=Tracker(TrackingConfig(
        max_tracks=2, min_track_length=10_000)))
    assert any(i.track is not None for lf in plain.labeled_frames for i in lf.instances)
    # Every track is shorter than 10 000 frames: the post-pass removes them all.
    assert all(i.track is None for lf in cleaned.labeled_frames for i in lf.instances)
    assert cleaned.tracks == []


@pytest.mark.slow
def test_track_on_onnx_never_imports_torch(trained_single, synth_single, tmp_path):
    out = tmp_path / "pred.slp"
    code = ("import sys\nfrom posekit.cli.main import main\n"
            f"rc = main(['track', {str(synth_single)!r}, '-m', {str(trained_single)!r}, "
            f"'-o', {str(out)!r}, '--backend', 'onnx'])\n"
            "print(rc, sorted(m for m in sys.modules if m.split('.')[0] == 'torch'))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "0 []"
    labels = sio.load_slp(str(out))
    assert sum(len(lf.instances) for lf in labels.labeled_frames) > 0


@pytest.mark.slow
def test_colour_frames_reach_a_grey_model_through_their_luma(trained_single, synth_single):
    """A model trained on grey frames predicts colour video (as sleap-nn's inference does):
    the frames are converted to the channels the network takes, so colour copies of grey
    frames give the grey frames' predictions."""
    from posekit.inference.pipeline import load_model

    labels = sio.load_slp(str(synth_single))
    grey = np.stack([lf.image for lf in labels.labeled_frames[:6]])  # (6, H, W, 1)
    model = load_model(trained_single, peak_threshold=0.0)
    colour = np.repeat(grey, 3, axis=-1)
    got = model.predict(colour)
    want = model.predict(grey)
    for a, b in zip(got, want, strict=True):
        np.testing.assert_allclose(a.points, b.points, atol=1e-4)
    assert np.isfinite(np.concatenate([p.points for p in got])).all()


class _CandidateBackend:
    """Node ``a`` at the crop centre; node ``b``'s highest peak 4 px off diagonally, its
    second peak one pixel right of ``a`` (where the training bone lengths put it)."""

    name = "fake"

    def run(self, images, threshold):
        n = len(images)
        cand = np.full((n, 2, 2, 2), np.nan, np.float32)
        cand[:, 0, 0], cand[:, 1, 0], cand[:, 1, 1] = (3.5, 3.5), (7.5, 7.5), (4.5, 3.5)
        scores = np.zeros((n, 2, 2), np.float32)
        scores[:, 0, 0], scores[:, 1, 0], scores[:, 1, 1] = 0.9, 0.95, 0.6
        return {"points": cand[:, :, 0], "scores": scores[:, :, 0],
                "candidate_points": cand, "candidate_scores": scores}


def test_top_down_chooses_peaks_in_crops_by_the_training_bone_lengths():
    from posekit.decoding.skeleton_consistency import bone_length_prior

    run = _Run()
    run.info = DataInfo(node_names=("a", "b"), edges=((0, 1),), crop_size=8)
    run.bone_lengths = bone_length_prior(np.array([[[0.0, 0.0], [1.0, 0.0]]] * 6), ((0, 1),))
    frames = np.zeros((1, 32, 32, 1), np.uint8)
    centroids = [np.array([[10.0, 10.0]])]
    checked = TopDownPredictor(None, run, _CandidateBackend()).predict_frames(
        frames, np.array([0]), centroids)[0]
    plain = TopDownPredictor(None, run, _CandidateBackend(), skeleton_check=False
                             ).predict_frames(frames, np.array([0]), centroids)[0]
    # crop offset 7: crop pixels come back shifted by 7 in the frame
    np.testing.assert_allclose(plain.points[0], [[10.5, 10.5], [14.5, 14.5]])
    np.testing.assert_allclose(checked.points[0], [[10.5, 10.5], [11.5, 10.5]])
    np.testing.assert_allclose(checked.point_scores[0], [0.9, 0.6])
