"""Trainer features: seeding, resume, interruption, schedules, caches, viz, wandb, ZMQ."""

from __future__ import annotations

import csv
import json
import socket
import threading
from pathlib import Path

import lightning as L
import numpy as np
import pytest
import sleap_io as sio
import torch

from posekit.config import load_config
from posekit.errors import ConfigError
from posekit.evaluation import load_metrics
from posekit.training.cpu_numerics import denormals_flushed
from posekit.training.trainer import train
from posekit.training.training_log import read_training_log

pytestmark = pytest.mark.slow


def _losses(run_dir: Path) -> list[tuple[float, float]]:
    with open(run_dir / "training_log.csv") as fh:
        return [(float(r["train_loss"]), float(r["val_loss"])) for r in csv.DictReader(fh)]


def _cfg(make_tiny_config, labels, run_dir, **trainer):
    trainer.setdefault("max_epochs", 3)
    trainer.setdefault("min_train_steps_per_epoch", 4)
    cfg = make_tiny_config("single_instance", labels, run_dir, **trainer)
    cfg["data_config"]["use_augmentations_train"] = True
    cfg["data_config"]["augmentation_config"] = {
        "intensity": {"contrast_p": 0.5}, "geometric": {"affine_p": 1.0}}
    return cfg


class _FlushProbe(L.Callback):
    def __init__(self) -> None:
        self.seen: list[bool] = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self.seen.append(denormals_flushed())


def test_same_seed_gives_same_losses(synth_single, tmp_path, make_tiny_config):
    probe = _FlushProbe()
    before = denormals_flushed()
    a = train(_cfg(make_tiny_config, synth_single, tmp_path / "a"), callbacks=[probe])
    # CPU training runs with denormals flushed (faster), and the process setting is restored
    if torch.set_flush_denormal(before):
        assert probe.seen and all(probe.seen)
    assert denormals_flushed() == before
    b = train(_cfg(make_tiny_config, synth_single, tmp_path / "b"))
    assert _losses(a.run_dir) == _losses(b.run_dir)
    c = train(_cfg(make_tiny_config, synth_single, tmp_path / "c", seed=1))
    assert _losses(c.run_dir) != _losses(a.run_dir)


def test_resumed_run_ends_where_an_unbroken_run_ends(synth_single, tmp_path, make_tiny_config):
    plateau = {"reduce_lr_on_plateau": {"patience": 0, "factor": 0.5, "threshold": 1.0,
                                        "cooldown": 0}}
    full = train(_cfg(make_tiny_config, synth_single, tmp_path / "full", max_epochs=4,
                      lr_scheduler=plateau))
    first = train(_cfg(make_tiny_config, synth_single, tmp_path / "part", max_epochs=2,
                       lr_scheduler=plateau))
    resumed = train(_cfg(make_tiny_config, synth_single, tmp_path / "part", max_epochs=4,
                         lr_scheduler=plateau,
                         resume_ckpt_path=str(first.run_dir / "last.ckpt")))
    assert resumed.run_dir == first.run_dir
    full_log, resumed_log = _losses(full.run_dir), _losses(resumed.run_dir)
    assert len(resumed_log) == 4
    for (ta, va), (tb, vb) in zip(full_log, resumed_log):
        assert ta == pytest.approx(tb, rel=1e-4) and va == pytest.approx(vb, rel=1e-4)
    with open(resumed.run_dir / "training_log.csv") as fh:
        lrs = [float(r["lr"]) for r in csv.DictReader(fh)]
    assert lrs[-1] < lrs[0]  # the plateau scheduler's state survived the resume


class _Interrupt(L.Callback):
    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if trainer.current_epoch == 1 and batch_idx == 1:
            raise KeyboardInterrupt


def test_interrupted_run_leaves_a_resumable_checkpoint(synth_single, tmp_path, make_tiny_config):
    result = train(_cfg(make_tiny_config, synth_single, tmp_path / "run"),
                   callbacks=[_Interrupt()])
    last = result.run_dir / "last.ckpt"
    assert last.is_file() and result.metrics is None
    state = torch.load(last, weights_only=True, map_location="cpu")
    assert state["posekit"]["head_type"] == "single_instance"
    done = train(_cfg(make_tiny_config, synth_single, tmp_path / "run",
                      resume_ckpt_path=str(last)))
    assert done.run_dir == result.run_dir and done.epochs == 3
    log = read_training_log(done.run_dir / "training_log.csv")
    assert [row.epoch for row in log.epochs] == [0, 1, 2]  # epoch 1 redone, not repeated
    metrics = load_metrics(done.run_dir / "metrics.val.json")
    assert metrics.training is not None and metrics.training.epochs == 3
    assert metrics.counts.frames == 12 and metrics.counts.gt_instances == 12


def test_step_lr_early_stopping_and_fixed_steps(synth_single, tmp_path, make_tiny_config):
    result = train(_cfg(make_tiny_config, synth_single, tmp_path / "run", max_epochs=30,
                        train_steps_per_epoch=2,
                        lr_scheduler={"step_lr": {"step_size": 1, "gamma": 0.5}},
                        early_stopping={"stop_training_on_plateau": True, "patience": 1,
                                        "min_delta": 1.0}))
    with open(result.run_dir / "training_log.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 2  # nothing improves by min_delta=1, so patience 1 stops after 2
    assert float(rows[1]["lr"]) == pytest.approx(float(rows[0]["lr"]) * 0.5)
    assert result.train_samples_per_s > 0


class _ImageProbe(L.Callback):
    """Smallest and largest pixel of every training batch, as the data loader delivers it."""

    def __init__(self) -> None:
        self.ranges: list[tuple[int, int]] = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self.ranges.append((int(batch.image.min()), int(batch.image.max())))


def test_disk_cache_is_used_and_deleted(synth_single, tmp_path, make_tiny_config):
    cfg = _cfg(make_tiny_config, synth_single, tmp_path / "run", max_epochs=1)
    cfg["data_config"].update({"data_pipeline_fw": "torch_dataset_cache_img_disk",
                               "cache_img_path": str(tmp_path / "cache"),
                               "delete_cache_imgs_after_training": False})
    first_probe = _ImageProbe()
    first = train(cfg, callbacks=[first_probe])
    train_cache, val_cache = tmp_path / "cache" / "train_imgs", tmp_path / "cache" / "val_imgs"
    assert (train_cache / "manifest.json").is_file() and (val_cache / "manifest.json").is_file()
    cached = sorted(train_cache.glob("*.npy"))
    n_train = len(sio.load_slp(str(first.run_dir / "labels_gt.train.slp")).labeled_frames)
    n_val = len(sio.load_slp(str(first.run_dir / "labels_gt.val.slp")).labeled_frames)
    assert (len(cached), len(list(val_cache.glob("*.npy")))) == (n_train, n_val) == (48, 12)
    assert first_probe.ranges and all(lo < hi for lo, hi in first_probe.ranges)  # real frames
    # Replace every cached training frame by flat grey: a run that reuses the cache trains on
    # grey images; one that decoded the labels file again would see the mice.
    for path in cached:
        np.save(path, np.full_like(np.load(path), 77))
    cfg["trainer_config"]["run_name"] = "run2"
    cfg["data_config"].update({"use_existing_imgs": True, "delete_cache_imgs_after_training": True})
    probe = _ImageProbe()
    train(cfg, callbacks=[probe])
    assert len(probe.ranges) == len(first_probe.ranges) == 12, probe.ranges
    assert set(probe.ranges) == {(77, 77)}, probe.ranges
    assert not train_cache.exists() and not val_cache.exists()


def test_visualisations_and_offline_wandb(synth_single, tmp_path, make_tiny_config, monkeypatch):
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    cfg = _cfg(make_tiny_config, synth_single, tmp_path / "run", max_epochs=2,
               visualize_preds_during_training=True, keep_viz=True, use_wandb=True,
               wandb={"wandb_mode": "offline", "project": "posekit-test",
                      "api_key": "secret-key-123", "save_viz_imgs_wandb": True})
    result = train(cfg)
    pngs = sorted((result.run_dir / "viz").glob("val.*.png"))
    assert [p.name for p in pngs] == ["val.0000.png", "val.0001.png"]
    assert pngs[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert list((result.run_dir / "wandb").rglob("*.wandb"))
    saved = (result.run_dir / "training_config.yaml").read_text()
    assert "secret-key-123" not in saved and "****" in saved
    cfg["trainer_config"].update({"keep_viz": False, "use_wandb": False, "run_name": "r2"})
    again = train(cfg)
    assert not (again.run_dir / "viz").exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_zmq_progress_is_published_and_stop_is_obeyed(synth_single, tmp_path, make_tiny_config):
    zmq = pytest.importorskip("zmq")
    pub_port, ctl_port = _free_port(), _free_port()
    ctx = zmq.Context.instance()
    listener = ctx.socket(zmq.SUB)
    listener.setsockopt_string(zmq.SUBSCRIBE, "")
    listener.bind(f"tcp://127.0.0.1:{pub_port}")
    controller = ctx.socket(zmq.PUB)
    controller.bind(f"tcp://127.0.0.1:{ctl_port}")
    messages: list[dict] = []

    def listen():
        while listener.poll(20000):
            msg = json.loads(listener.recv_string())
            messages.append(msg)
            if msg["event"] == "epoch_end":
                for _ in range(50):
                    controller.send_string(json.dumps({"command": "stop"}))
            if msg["event"] == "train_end":
                return

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    cfg = _cfg(make_tiny_config, synth_single, tmp_path / "run", max_epochs=50,
               min_train_steps_per_epoch=30,
               zmq={"publish_port": pub_port, "controller_port": ctl_port})
    result = train(cfg)
    thread.join(30)
    listener.close(0)
    controller.close(0)
    events = [m["event"] for m in messages]
    assert events[0] == "train_begin" and "epoch_end" in events and events[-1] == "train_end"
    first = next(m for m in messages if m["event"] == "epoch_end")
    assert first["logs"]["train_loss"] > 0 and first["epoch"] == 0
    assert result.epochs < 50  # stopped by the controller


def test_missing_resume_checkpoint_is_a_clear_error(synth_single, tmp_path, make_tiny_config):
    cfg = _cfg(make_tiny_config, synth_single, tmp_path / "run",
               resume_ckpt_path=str(tmp_path / "nope.ckpt"))
    with pytest.raises(ConfigError, match="resume_ckpt_path"):
        train(cfg)


def test_saved_config_reloads_and_records_resolved_values(synth_pair, tmp_path, make_tiny_config):
    cfg = make_tiny_config("centered_instance", synth_pair, tmp_path / "ci", max_epochs=1,
                           min_train_steps_per_epoch=2)
    result = train(cfg)
    saved = load_config(result.run_dir / "training_config.yaml")
    assert saved.data_config.preprocessing.crop_size % 8 == 0
    assert saved.data_config.preprocessing.crop_size >= 16
    assert saved.model_config.head_configs.centered_instance.confmaps.part_names[0] == "nose"
    assert saved.data_config.skeletons[0]["nodes"][0]["name"] == "nose"
    assert saved.model_config.total_params > 0
