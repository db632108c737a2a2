"""Leakage reports: distances in frames (hand-checked), image hashes, and the warning
``posekit train`` prints when its own validation split leaks."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import sleap_io as sio
from typer.testing import CliRunner

from posekit.refinement.leakage import (
    LeakageWarning,
    hamming_distances,
    image_hash,
    leakage_report,
    warn_if_validation_leaks,
)

SKEL = sio.Skeleton(["a", "b"])


def frames_on(video: sio.Video, indices) -> sio.Labels:
    frames = [sio.LabeledFrame(video, int(i), [sio.Instance.from_numpy(
        np.array([[1.0 + i, 2.0], [3.0, 4.0]]), skeleton=SKEL)]) for i in indices]
    return sio.Labels(frames, videos=[video], skeletons=[SKEL])


def fake_video(name: str, shape=(100, 32, 32, 1)) -> sio.Video:
    return sio.Video(filename=f"/nowhere/{name}", backend_metadata={"shape": list(shape)},
                     open_backend=False)


def test_distances_are_to_the_nearest_training_frame_of_the_same_video():
    va, vb = fake_video("a.mp4"), fake_video("b.mp4")
    train = frames_on(va, [0, 10, 20])
    held = frames_on(va, [3, 12, 30, 10])
    held.labeled_frames += frames_on(vb, [5]).labeled_frames
    report = leakage_report(train, {"val": held}, hashes=False, near_frames=3)
    got = [(f.video, f.frame_idx, f.nearest_train_frame, f.distance) for f in report.frames]
    assert got == [("a.mp4", 3, 0, 3), ("a.mp4", 12, 10, 2), ("a.mp4", 30, 20, 10),
                   ("a.mp4", 10, 10, 0), ("b.mp4", 5, None, None)]
    side = report.side("val")
    assert (side.n_frames, side.n_in_train_videos, side.min_distance, side.median_distance,
            side.n_near_in_time) == (5, 4, 0, 2.5, 2)  # 2 and 0 are closer than 3
    assert report.leaks and report.hash_size is None and report.near_duplicates == []
    data = report.to_dict()
    assert data["schema_version"] == 1 and data["leaks"] is True
    json.dumps(data)


def test_recordings_match_across_files_by_name_and_shape():
    train = frames_on(fake_video("a.mp4"), [0])
    same = frames_on(sio.Video(filename="/elsewhere/a.mp4",
                               backend_metadata={"shape": [100, 32, 32, 1]},
                               open_backend=False), [1])
    other = frames_on(sio.Video(filename="/third/a.mp4",  # same name, another shape
                                backend_metadata={"shape": [50, 32, 32, 1]},
                                open_backend=False), [1])
    report = leakage_report(train, {"val": same, "test": other}, hashes=False)
    assert report.side("val").min_distance == 1
    assert report.side("test").n_in_train_videos == 0


def test_image_hash_and_hamming():
    rng = np.random.default_rng(0)
    img = (rng.random((48, 64)) * 255).astype(np.uint8)
    h = image_hash(img)
    assert h.dtype == np.uint8 and h.shape == (8,)
    brighter = np.clip(img.astype(int) + 20, 0, 255).astype(np.uint8)
    ramp = np.tile(np.arange(64, dtype=np.uint8) * 4, (48, 1))
    hashes = np.stack([h, image_hash(brighter), image_hash(ramp), image_hash(ramp[:, ::-1])])
    d = hamming_distances(hashes, hashes)
    assert d[0, 0] == 0 and d[0, 1] <= 2  # brightness barely changes a difference hash
    assert d[2, 3] == 64  # a mirrored ramp flips every bit
    assert image_hash(np.dstack([img] * 3)).tolist() == h.tolist()


def test_near_duplicates_across_sides(tmp_path):
    from posekit.io.synthetic import SynthSpec, write_dataset

    labels = write_dataset(SynthSpec(n_frames=12, height=48, width=48, occluders=0, seed=5),
                           tmp_path / "s.pkg.slp")
    frames = labels.labeled_frames
    train = sio.Labels(frames[:6], videos=labels.videos, skeletons=labels.skeletons)
    val = sio.Labels(frames[6:], videos=labels.videos, skeletons=labels.skeletons)
    report = leakage_report(train, val)
    first = report.frames[0]
    assert (first.frame_idx, first.distance, first.nearest_train_frame) == (6, 1, 5)
    assert first.hamming is not None and first.hash_video == first.video
    assert report.side("val").n_hashed == 6
    assert len(report.near_duplicates) == report.side("val").n_near_duplicates >= 1


def test_warning_for_a_leaky_validation_split_only():
    video = fake_video("a.mp4", shape=(1000, 32, 32, 1))
    with pytest.warns(LeakageWarning, match=r"2 of 3 validation frames .* closer than 5"):
        warn_if_validation_leaks(frames_on(video, [0, 10, 20]), frames_on(video, [1, 12, 40]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = warn_if_validation_leaks(frames_on(video, [0, 100]), frames_on(video, [50]))
    assert not report.leaks


def test_training_split_from_posekit_io_splits_is_reported(synth_single):
    from posekit.io.labels import load_labels
    from posekit.io.splits import split_labels

    train, val = split_labels(load_labels(synth_single), 0.2, seed=0)
    report = leakage_report(train, {"val": val})
    side = report.side("val")
    assert side.n_frames == 12 and side.min_distance == 1 and side.n_near_in_time == 12
    assert side.n_near_duplicates > 0


def test_posekit_train_warns_when_its_validation_split_leaks(synth_single, tmp_path,
                                                            make_tiny_config, monkeypatch):
    """``_set_up_run`` warns right after loading train / val (stopped there on purpose)."""
    from posekit.config import load_config
    from posekit.training import trainer

    class Stop(Exception):
        pass

    def stop(*_args, **_kwargs):
        raise Stop

    monkeypatch.setattr(trainer, "resolve_data", stop)
    cfg = load_config(make_tiny_config("single_instance", synth_single, tmp_path / "run"))
    with pytest.warns(LeakageWarning, match="validation split leaks"), pytest.raises(Stop):
        trainer._set_up_run(cfg, 0, False)


def test_cli_leakage_on_split_and_run_folders(synth_single, tmp_path):
    from posekit.io.labels import load_labels
    from posekit.io.splits import split_labels
    from posekit.io.writers import save_labels

    train, val = split_labels(load_labels(synth_single), 0.2, seed=0)
    run = tmp_path / "run"
    run.mkdir()
    save_labels(train, run / "labels_gt.train.slp", embed="auto")
    save_labels(val, run / "labels_gt.val.slp", embed="auto")
    import posekit.cli.main  # noqa: F401 - registers every command group
    from posekit.cli.labels_cmd import labels_app as app

    out = tmp_path / "leak.json"
    result = CliRunner().invoke(app, ["leakage", str(run), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "leaks" in result.output
    data = json.loads(out.read_text())
    assert data["sides"][0]["side"] == "val" and data["sides"][0]["min_distance"] == 1
    files = [str(run / "labels_gt.train.slp"), str(run / "labels_gt.val.slp")]
    result = CliRunner().invoke(app, ["leakage", *files, "--no-hashes"])
    assert result.exit_code == 0 and "—" in result.output
    empty = CliRunner().invoke(app, ["leakage", str(tmp_path / "nothing")])
    assert empty.exit_code != 0
    assert Path(files[0]).is_file()
