"""Per-frame training weights from inter-labeler agreement: mapping, matching, loss, config."""

from __future__ import annotations

import csv
import dataclasses
import json
import types
import typing
import warnings
from pathlib import Path

import numpy as np
import pytest
import sleap_io as sio
import torch
import yaml

from posekit.config import load_config
from posekit.config.parse import yaml_fields
from posekit.config.schema import TrainingJobConfig
from posekit.config.sleap_nn_compat import IGNORED
from posekit.errors import ConfigError, DataError
from posekit.model_types.base import HeadSpec, ModelType
from posekit.model_types.losses import OHKMParams, channel_mse, ohkm_loss, task_loss
from posekit.refinement.frame_weights import (
    FrameWeightSettings,
    ila_weight,
    load_ila,
    match_frame_weights,
    read_ila_csv,
    read_ila_provenance,
    settings_for_config,
)

COLUMNS = ["video", "frame_idx", "ila_px", "n_labelers", "in_consensus"]


def _write_csv(path: Path, rows: list[list]) -> Path:
    with open(path, "w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(COLUMNS)
        out.writerows(rows)
    return path


# ------------------------------------------------------------------ the mapping

def test_mapping_on_hand_values():
    assert ila_weight(0.0) == 1.0
    assert ila_weight(2.0) == 1.0                     # excellent band: full weight
    assert ila_weight(3.5) == pytest.approx(0.75)     # half way from 2 px (1) to 5 px (0.5)
    assert ila_weight(5.0) == pytest.approx(0.5)
    assert ila_weight(6.75) == pytest.approx(0.3)     # half way from 5 px (0.5) to 8.5 px (0.1)
    assert ila_weight(8.5) == pytest.approx(0.1)
    assert ila_weight(40.0) == pytest.approx(0.1)     # the floor
    assert np.isnan(ila_weight(float("nan")))
    assert ila_weight(np.array([1.0, 5.0, 12.0])) == pytest.approx([1.0, 0.5, 0.1])
    custom = {"excellent_px": 1.0, "good_px": 3.0, "poor_px": 5.0, "good_weight": 0.6,
              "min_weight": 0.0}
    assert ila_weight(4.0, **custom) == pytest.approx(0.3)
    assert ila_weight(9.0, **custom) == 0.0
    assert FrameWeightSettings(**custom).weight(2.0) == pytest.approx(0.8)


@pytest.mark.parametrize("bad,match", [
    ({"good_px": 1.0}, "excellent_px"), ({"poor_px": 4.0}, "good_px"),
    ({"min_weight": 0.7}, "min_weight"), ({"single_labeler_weight": 1.5}, "single_labeler"),
    ({"good_weight": -0.1}, "good_weight"), ({"excellent_px": "two"}, "excellent_px")])
def test_settings_are_checked(bad, match):
    with pytest.raises(ConfigError, match=match):
        FrameWeightSettings(**bad)


# ------------------------------------------------------------------ reading and matching

def _videos() -> list[sio.Video]:
    # two recordings share a file name in different folders; a third is matched by name only
    return [sio.Video(filename="/lab/s1/cam.mp4", open_backend=False),
            sio.Video(filename="/lab/s2/cam.mp4", open_backend=False),
            sio.Video(filename="/lab/other.mp4", open_backend=False)]


def test_frames_matched_by_video_and_frame_index(tmp_path):
    src = _write_csv(tmp_path / "c.ila.csv", [
        ["/lab/s1/cam.mp4", 10, 1.0, 3, "true"],
        ["/lab/s2/cam.mp4", 10, 5.0, 3, "true"],    # same frame index, other recording
        ["other.mp4", 10, 6.75, 2, "true"],          # file name only
        ["other.mp4", 12, "", 1, "false"],           # labelled once
        ["/lab/s1/cam.mp4", 500, 9.0, 2, "true"],    # not a training frame: ignored
    ])
    keys = np.array([[0, 10], [1, 10], [2, 10], [2, 12], [2, 11], [0, 99]])
    fw = match_frame_weights(FrameWeightSettings(source=str(src)), _videos(), keys)
    default = ila_weight(np.median([1.0, 5.0, 6.75, 9.0]))  # weight of the median ILA
    assert fw.default_weight == pytest.approx(default)
    assert fw.weights.tolist() == pytest.approx([1.0, 0.5, 0.3, default, default, default])
    assert fw.status == ["measured", "measured", "measured", "single", "unmatched", "unmatched"]
    assert fw.n_labelers.tolist() == [3, 3, 2, 1, 0, 0]
    assert "2 of 6 training frames are not in the ILA records" in fw.notes[0]
    fixed = match_frame_weights(FrameWeightSettings(source=str(src), single_labeler_weight=0.8),
                                _videos(), keys)
    assert fixed.weights[3:].tolist() == pytest.approx([0.8, 0.8, 0.8])


def test_ambiguous_file_names_do_not_match(tmp_path):
    src = _write_csv(tmp_path / "c.ila.csv", [["cam.mp4", 10, 1.0, 2, "true"]])
    with pytest.raises(DataError, match="no training frame matches"):
        match_frame_weights(FrameWeightSettings(source=str(src)), _videos()[:2],
                            np.array([[0, 10], [1, 10]]))


def test_videos_of_one_package_matched_by_frame(tmp_path):
    """The consensus names frames embedded in its package by the package file, whatever
    copy of the video they sit in; frame indices tell them apart."""
    pkg = "/lab/consensus.pkg.slp"
    videos = [sio.Video(filename=pkg, open_backend=False) for _ in range(3)]
    src = _write_csv(tmp_path / "c.ila.csv", [[pkg, f, float(f), 3, "true"] for f in (1, 2, 3)])
    keys = np.array([[0, 1], [1, 2], [2, 3]])
    fw = match_frame_weights(FrameWeightSettings(source=str(src)), videos, keys)
    assert fw.ila_px.tolist() == [1.0, 2.0, 3.0] and fw.status == ["measured"] * 3
    clash = match_frame_weights(FrameWeightSettings(source=str(src)), videos,
                                np.array([[0, 1], [1, 2], [2, 2]]))
    assert clash.status == ["measured", "unmatched", "unmatched"]
    assert "2 training frames share a video name and frame index" in clash.notes[0]


def test_ila_table_and_provenance_are_read(tmp_path):
    rows = [["a.mp4", 3, 2.5, 2, "true"], ["a.mp4", 4, "", 1, "false"]]
    records = read_ila_csv(_write_csv(tmp_path / "c.ila.csv", rows))
    assert [(r.frame_idx, r.ila_px, r.n_labelers, r.in_consensus) for r in records] == [
        (3, 2.5, 2, True), (4, None, 1, False)]
    video = sio.Video(filename="a.mp4", open_backend=False)
    labels = sio.Labels(videos=[video], skeletons=[sio.Skeleton(["a"])])
    labels.provenance["posekit_consensus"] = {"labelers": ["x", "y"], "frames": [
        {"video": "a.mp4", "frame_idx": 3, "ila_px": 2.5, "n_labelers": 2, "in_consensus": True},
        {"video": "a.mp4", "frame_idx": 4, "ila_px": None, "n_labelers": 1,
         "in_consensus": False}]}
    assert read_ila_provenance(labels, "consensus.slp") == records
    assert read_ila_provenance(sio.Labels(), "plain.slp") is None
    sio.save_slp(labels, (tmp_path / "consensus.slp").as_posix())
    (_, from_file), = load_ila(FrameWeightSettings(source=str(tmp_path / "consensus.slp")))[0]
    assert from_file == records
    # no source: the training file's own provenance
    (_, own), = load_ila(FrameWeightSettings(), [tmp_path / "consensus.slp"])[0]
    assert own == records
    bad = _write_csv(tmp_path / "bad.ila.csv", [["a.mp4", 3, 2.5, 2, "true"],
                                                 ["a.mp4", "four", 1.0, 2, "true"]])
    with pytest.raises(DataError, match="line 3"):
        read_ila_csv(bad)
    (tmp_path / "cols.csv").write_text("video,frame\na.mp4,1\n")
    with pytest.raises(DataError, match=r"no column\(s\) \['frame_idx', 'ila_px'\]"):
        read_ila_csv(tmp_path / "cols.csv")
    with pytest.raises(DataError, match="none of the training files"):
        load_ila(FrameWeightSettings(), [tmp_path / "c.ila.csv"])


# ------------------------------------------------------------------ where the setting lives

def _dataclass_in(tp) -> type | None:
    if dataclasses.is_dataclass(tp):
        return tp
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return next((a for a in typing.get_args(tp) if dataclasses.is_dataclass(a)), None)
    return None


def keys_outside_schema(data: dict, cls: type = TrainingJobConfig, path: str = "") -> list[str]:
    """Keys of a YAML config that are not fields of posekit's schema, which mirrors
    sleap-nn's dataclasses (plus the sleap-nn fields posekit ignores): sleap-nn 0.3.5
    refuses any such key (``ConfigKeyError`` from ``verify_training_cfg``)."""
    fields = yaml_fields(cls)
    bad = []
    for key, value in data.items():
        if key not in fields and key not in IGNORED.get(cls, ()):
            bad.append(path + key)
        elif isinstance(value, dict) and _dataclass_in(fields.get(key)) is not None:
            bad += keys_outside_schema(value, _dataclass_in(fields[key]), f"{path}{key}.")
    return bad


def _write_config(folder: Path, cfg: dict, sidecar: dict | None) -> Path:
    path = folder / "single.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    if sidecar is not None:
        (folder / "single.posekit.yaml").write_text(yaml.safe_dump(sidecar))
    return path


def test_setting_lives_beside_the_yaml_which_stays_valid_for_sleap_nn(
        synth_single, tmp_path, make_tiny_config):
    cfg = make_tiny_config("single_instance", synth_single, tmp_path / "run")
    _write_csv(tmp_path / "c.ila.csv", [[str(synth_single), 0, 1.0, 2, "true"]])
    path = _write_config(tmp_path, cfg, {"frame_weights": {"source": "c.ila.csv",
                                                           "min_weight": 0.0}})
    settings = settings_for_config(path)
    assert settings == FrameWeightSettings(source=str(tmp_path / "c.ila.csv"), min_weight=0.0)
    assert keys_outside_schema(yaml.safe_load(path.read_text())) == []
    load_config(path)  # posekit reads the YAML unchanged
    # the same setting inside the YAML is refused, as sleap-nn refuses it
    inside = dict(cfg, trainer_config=dict(cfg["trainer_config"], frame_weights={}))
    assert keys_outside_schema(inside) == ["trainer_config.frame_weights"]
    with pytest.raises(ConfigError, match="frame_weights: unknown field"):
        load_config(inside)
    # no sidecar, or an empty section: no weights
    (tmp_path / "plain").mkdir()
    assert settings_for_config(_write_config(tmp_path / "plain", cfg, None)) is None
    (tmp_path / "single.posekit.yaml").write_text("frame_weights:\n")
    assert settings_for_config(path) is None
    (tmp_path / "single.posekit.yaml").write_text("frame_weight: {}\n")
    with pytest.raises(ConfigError, match="(?i)did you mean 'frame_weights'"):
        settings_for_config(path)
    (tmp_path / "single.posekit.yaml").write_text("frame_weights: {min_wieght: 0}\n")
    with pytest.raises(ConfigError, match="(?i)did you mean 'min_weight'"):
        settings_for_config(path)


def test_sleap_nn_itself_accepts_the_yaml(synth_single, tmp_path, make_tiny_config):
    snn = pytest.importorskip("sleap_nn.config.training_job_config")
    from omegaconf import OmegaConf

    cfg = make_tiny_config("single_instance", synth_single, tmp_path / "run")
    path = _write_config(tmp_path, cfg, {"frame_weights": {"source": "c.ila.csv"}})
    snn.verify_training_cfg(OmegaConf.load(path))
    inside = dict(cfg, frame_weights={"source": "c.ila.csv"})
    with pytest.raises(Exception, match="frame_weights"):
        snn.verify_training_cfg(OmegaConf.create(inside))


# ------------------------------------------------------------------ the loss

def _task(heads: list[HeadSpec]) -> ModelType:
    cls = type("Toy", (ModelType,), {"name": "toy", "graph_outputs": (),
                                      "build_heads": lambda self: list(heads),
                                      "make_targets": lambda self, *a: {},
                                      "decode": lambda self, *a: ()})
    return cls(None, None)


def _batch(seed: int = 0, b: int = 4):
    g = torch.Generator().manual_seed(seed)
    outputs = {"confmaps": torch.rand(b, 3, 8, 8, generator=g),
               "pafs": torch.randn(b, 4, 4, 4, generator=g),
               "class_maps": torch.randn(b, 2, 8, 8, generator=g),
               "class_vectors": torch.randn(b, 2, generator=g)}
    targets = {"confmaps": torch.rand(b, 3, 8, 8, generator=g),
               "pafs": torch.randn(b, 4, 4, 4, generator=g),
               "class_maps": torch.rand(b, 2, 8, 8, generator=g),
               "class_vectors": torch.tensor([0, 1, -1, 1])[:b]}
    return outputs, targets


TOY = [HeadSpec("confmaps", "confmaps", 3, 2), HeadSpec("pafs", "pafs", 4, 4, 0.5),
       HeadSpec("class_maps", "class_maps", 2, 2, 2.0, "mse_sigmoid"),
       HeadSpec("class_vectors", "class_vectors", 2, 8, 0.25, "cross_entropy")]


@pytest.mark.parametrize("ohkm", [None, OHKMParams(min_hard_keypoints=1, loss_scale=3.0)])
def test_task_loss_without_weights_is_the_model_types_loss(ohkm):
    task = _task(TOY)
    outputs, targets = _batch()
    total, parts = task_loss(task, outputs, targets, ohkm)
    ref_total, ref_parts = task.loss(outputs, targets, ohkm)
    assert torch.equal(total, ref_total)
    assert all(torch.equal(parts[k], ref_parts[k]) for k in ref_parts)


def test_weighted_loss_is_the_hand_weighted_loss():
    task = _task(TOY)
    outputs, targets = _batch()
    w = torch.tensor([1.0, 0.5, 0.0, 2.0])
    total, parts = task_loss(task, outputs, targets, None, w)

    def mse(p, t):  # sample b's squared errors times w[b], averaged over everything
        return (w.view(-1, *[1] * (p.ndim - 1)) * (p - t) ** 2).mean()

    valid = targets["class_vectors"] >= 0
    ce = torch.nn.functional.cross_entropy(outputs["class_vectors"][valid],
                                           targets["class_vectors"][valid], reduction="none")
    hand = {"confmaps": mse(outputs["confmaps"], targets["confmaps"]),
            "pafs": mse(outputs["pafs"], targets["pafs"]),
            "class_maps": mse(torch.sigmoid(outputs["class_maps"]), targets["class_maps"]),
            "class_vectors": (ce * w[valid]).mean()}
    for key, value in hand.items():
        torch.testing.assert_close(parts[key], value)
    torch.testing.assert_close(total, hand["confmaps"] + 0.5 * hand["pafs"]
                               + 2.0 * hand["class_maps"] + 0.25 * hand["class_vectors"])
    # hard keypoint mining ranks the weighted per-channel losses
    ohkm = OHKMParams(min_hard_keypoints=1, loss_scale=3.0)
    per_channel = (w.view(-1, 1, 1, 1) * (outputs["confmaps"] - targets["confmaps"]) ** 2
                   ).mean(dim=(0, 2, 3))
    torch.testing.assert_close(channel_mse(outputs["confmaps"], targets["confmaps"], w),
                               per_channel)
    mined, _ = task_loss(_task(TOY[:1]), outputs, targets, ohkm, w)
    torch.testing.assert_close(mined, ohkm_loss(per_channel, ohkm))


# ------------------------------------------------------------------ inside training

def _setup(labels: Path, tmp_path: Path, make_tiny_config, model_type: str, ila_rows,
           **weights):
    from posekit.training import trainer

    cfg = load_config(make_tiny_config(model_type, labels, tmp_path / "run"))
    settings = None
    if ila_rows is not None:
        src = _write_csv(tmp_path / "c.ila.csv", ila_rows)
        settings = FrameWeightSettings(source=str(src), **weights)
    with warnings.catch_warnings():  # the random validation split leaks (neighbouring frames)
        warnings.simplefilter("ignore")
        return trainer._set_up_run(cfg, 0, False, frame_weights=settings)


def _rows(labels_path: Path, ila: dict[int, float]) -> list[list]:
    labels = sio.load_slp(labels_path.as_posix(), open_videos=False)
    return [[str(lf.video.filename), lf.frame_idx, ila.get(lf.frame_idx, 1.0), 3, "true"]
            for lf in labels.labeled_frames]


def _collate(dataset, indices: list[int]):
    from torch.utils.data import default_collate

    return default_collate([dataset[i] for i in indices])


def test_batch_loss_is_weighted_by_each_samples_frame(synth_pair, tmp_path, make_tiny_config):
    """Instance samples (two per frame) take their frame's weight; the module's batch loss
    is the mean of each sample's own loss times that weight."""
    ila = {f: float(f % 10) for f in range(80)}  # 0 .. 9 px: weights 1 .. 0.1
    setup = _setup(synth_pair, tmp_path, make_tiny_config, "centered_instance",
                   _rows(synth_pair, ila))
    module, ds = setup.module, setup.train_ds
    report = json.loads((setup.run_dir / "frame_weights.json").read_text())
    by_frame = {r["frame_idx"]: r["weight"] for r in report["frames"]}
    assert all(by_frame[f] == pytest.approx(ila_weight(ila[f]), abs=1e-6) for f in by_frame)
    assert report["summary"]["measured"] == len(ds.table)
    picks = [0, 1, 7, 12, 21]
    batch = _collate(ds, picks)
    frames = [int(ds.table.keys[ds.sample_frames()[i]][1]) for i in picks]
    w = module.batch_weights(batch)
    assert w.tolist() == pytest.approx([by_frame[f] for f in frames], abs=1e-6)
    images, _, targets = module.prepare_batch(batch, train=True)
    outputs = module.model(images)
    loss, _ = module._loss(outputs, targets, None, w)
    each = [module.task.loss({k: v[i:i + 1] for k, v in outputs.items()},
                             {k: v[i:i + 1] for k, v in targets.items()})[0]
            for i in range(len(picks))]
    torch.testing.assert_close(loss, torch.stack(each).mul(w).mean())


def test_a_zero_weight_frame_gives_no_gradient(synth_single, tmp_path, make_tiny_config):
    setup = _setup(synth_single, tmp_path, make_tiny_config, "single_instance",
                   _rows(synth_single, {7: 50.0}), min_weight=0.0)
    module, ds = setup.module, setup.train_ds
    zero = [i for i in range(len(ds)) if float(module.sample_weights[i]) == 0.0]
    assert len(zero) == 1 and int(ds.table.keys[zero[0]][1]) == 7
    others = [i for i in range(len(ds)) if i != zero[0]][:3]

    def grads(batch):
        module.zero_grad()
        loss, _ = module._step(batch, train=True)
        loss.backward()
        return loss.detach(), [p.grad.clone() for p in module.parameters()]

    batch = _collate(ds, [*others, zero[0]])
    loss, base = grads(batch)
    image, points = batch.image.clone(), batch.points.clone()
    image[-1] = torch.randint(0, 255, image[-1].shape, dtype=torch.uint8)
    points[-1] += 9.0
    noisy = batch._replace(image=image, points=points)
    loss_noisy, moved = grads(noisy)  # whatever that frame shows, nothing changes
    assert torch.equal(loss, loss_noisy)
    for a, b in zip(base, moved):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-9)
    # the loss is the loss without that frame, scaled by the batch's share of kept frames
    without, _ = _step_plain(module, _collate(ds, others))
    torch.testing.assert_close(loss, without.detach() * 3 / 4)


def _step_plain(module, batch):
    saved, module.sample_weights = module.sample_weights, None
    try:
        return module._step(batch, train=True)
    finally:
        module.sample_weights = saved


def test_no_weights_runs_the_plain_loss(synth_single, tmp_path, make_tiny_config,
                                        monkeypatch):
    import posekit.training.module as module_mod

    def refuse(*_a, **_k):
        raise AssertionError("the weighted loss ran without weights")

    monkeypatch.setattr(module_mod, "task_loss", refuse)
    setup = _setup(synth_single, tmp_path, make_tiny_config, "single_instance", None)
    module = setup.module
    assert module.sample_weights is None and not (setup.run_dir / "frame_weights.json").exists()
    batch = _collate(setup.train_ds, [0, 1, 2])
    loss, _ = module._step(batch, train=True)
    images, _, targets = module.prepare_batch(batch, train=True)
    assert torch.equal(loss, module.task.loss(module.model(images), targets)[0])


# ------------------------------------------------------------------ whole runs (slow)

def _losses(run_dir: Path) -> list[tuple[str, str]]:
    with open(run_dir / "training_log.csv") as fh:
        return [(r["train_loss"], r["val_loss"]) for r in csv.DictReader(fh)]


@pytest.mark.slow
def test_runs_with_and_without_weights(synth_single, tmp_path, make_tiny_config):
    from posekit.training.trainer import train

    def cfg(name: str) -> dict:
        return make_tiny_config("single_instance", synth_single, tmp_path / name, max_epochs=2,
                                min_train_steps_per_epoch=3)

    plain = train(cfg("plain"))
    folder = tmp_path / "cfgs"
    folder.mkdir()
    no_sidecar = train(_write_config(folder, cfg("no_sidecar"), None))
    assert _losses(no_sidecar.run_dir) == _losses(plain.run_dir)  # no weights: unchanged
    assert not (no_sidecar.run_dir / "frame_weights.json").exists()
    ones = train(cfg("ones"), frame_weights=FrameWeightSettings(
        source=str(_write_csv(tmp_path / "c.ila.csv", _rows(synth_single, {})))))
    assert _losses(ones.run_dir) == _losses(plain.run_dir)  # weight 1 everywhere: the same
    _write_csv(tmp_path / "c.ila.csv", _rows(synth_single, {f: 6.0 for f in range(0, 60, 2)}))
    path = _write_config(folder, cfg("weighted"), {"frame_weights": {"source": str(
        tmp_path / "c.ila.csv")}})
    weighted = train(path)
    run = weighted.run_dir
    assert _losses(run) != _losses(plain.run_dir)
    report = json.loads((run / "frame_weights.json").read_text())
    assert sorted({r["weight"] for r in report["frames"]}) == pytest.approx(
        [ila_weight(6.0), 1.0], abs=1e-6)
    assert any("frame weights from inter-labeler agreement" in n for n in weighted.notes)
    assert settings_for_config(run) == FrameWeightSettings(source=str(tmp_path / "c.ila.csv"))
    assert keys_outside_schema(yaml.safe_load((run / "training_config.yaml").read_text())) == []
