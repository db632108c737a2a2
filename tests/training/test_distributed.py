"""Training in two processes (Lightning's ``ddp`` strategy, gloo on the CPU).

The fast tests check the pieces posekit adds (sharding of the epoch sampler as Lightning does
it, agreement on the run folder and seed, per-rank augmentation seeds, sums across processes
in one process). The slow test runs ``python -m posekit train`` with two processes on the CPU
and compares the model with a one-process run that sees the same samples.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from posekit.data.sampler import EpochSampler
from posekit.errors import ConfigError
from posekit.training import distributed

_LAUNCH_VARS = ("RANK", "LOCAL_RANK", "NODE_RANK", "GROUP_RANK", "SLURM_PROCID", "SLURM_NTASKS",
                distributed.RUN_DIR_ENV, distributed.SEED_ENV)


@pytest.fixture
def clean_launch_env(monkeypatch):
    """No launcher variables: this process looks like one started by hand."""
    for name in _LAUNCH_VARS:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def _shards(loader, world: int) -> list:
    """The sampler of each rank, as Lightning builds it for ``loader`` in a ``world``-process
    run (``use_distributed_sampler``, its default)."""
    from lightning.pytorch.trainer.connectors.data_connector import _get_distributed_sampler
    from lightning.pytorch.utilities.data import _is_dataloader_shuffled

    shuffle = _is_dataloader_shuffled(loader)
    samplers = [_get_distributed_sampler(loader, shuffle, overfit_batches=0, num_replicas=world,
                                         rank=rank) for rank in range(world)]
    return samplers


def test_lightning_shards_the_epoch_sampler_across_ranks(make_tiny_config, tmp_path):
    from posekit.config import load_config
    from posekit.training.trainer import _loaders

    cfg = load_config(make_tiny_config("single_instance", tmp_path / "x.slp", tmp_path / "run",
                                       min_train_steps_per_epoch=6))
    loader, _ = _loaders(cfg, list(range(10)), list(range(3)), seed=5)
    single = loader.sampler
    assert isinstance(single, EpochSampler) and len(single) == 24  # 6 batches of 4
    samplers = _shards(loader, world=2)
    orders = []
    for epoch in (0, 1):
        single.set_epoch(epoch)
        whole = single.indices().tolist()
        for sampler in samplers:
            sampler.set_epoch(epoch)  # Lightning forwards it to the EpochSampler
        shards = [list(sampler) for sampler in samplers]
        assert [len(s) for s in shards] == [12, 12]  # the epoch's 6 steps: 3 per rank
        assert shards[0] != shards[1]
        assert sorted(shards[0] + shards[1]) == sorted(whole)  # together: the whole epoch
        orders.append(shards[0])
    assert orders[0] != orders[1]  # a new order every epoch, on every rank


def test_primary_process_chooses_and_exports_run_folder_and_seed(clean_launch_env, tmp_path):
    assert distributed.is_primary_process()
    run_dir = distributed.agreed_run_dir(lambda: tmp_path / "250101_120000.single", None, None)
    seed = distributed.agreed_seed(None)
    assert os.environ[distributed.RUN_DIR_ENV] == str(run_dir.resolve())
    assert os.environ[distributed.SEED_ENV] == str(seed)
    # What Lightning's launcher starts for local rank 1 inherits the environment.
    clean_launch_env.setenv("LOCAL_RANK", "1")
    assert not distributed.is_primary_process()
    assert distributed.agreed_run_dir(lambda: tmp_path / "other", None, None) == run_dir.resolve()
    assert distributed.agreed_seed(None) == seed


def test_secondary_process_without_export_needs_explicit_name_and_seed(clean_launch_env,
                                                                       tmp_path):
    clean_launch_env.setenv("RANK", "3")
    assert not distributed.is_primary_process()
    with pytest.raises(ConfigError, match="run_name"):
        distributed.agreed_run_dir(lambda: tmp_path / "x", str(tmp_path), None)
    with pytest.raises(ConfigError, match="seed"):
        distributed.agreed_seed(None)
    assert distributed.agreed_run_dir(lambda: tmp_path / "x", str(tmp_path), "a") == tmp_path / "a"
    assert distributed.agreed_seed(7) == 7
    clean_launch_env.setenv("RANK", "0")
    assert distributed.is_primary_process()
    clean_launch_env.delenv("RANK")
    clean_launch_env.setenv("NODE_RANK", "1")
    clean_launch_env.setenv("LOCAL_RANK", "0")
    assert not distributed.is_primary_process()  # rank 0 of the second node


def test_augmentation_seeds_differ_between_ranks_and_keep_rank_zero():
    seeds = {rank: [distributed.augmentation_seed(123, step, rank) for step in range(1000)]
             for rank in range(4)}
    assert seeds[0] == [123 * 1_000_003 + step for step in range(1000)]  # as one process
    for a in range(4):
        for b in range(a + 1, 4):
            assert not set(seeds[a]) & set(seeds[b])
    assert all(0 <= s < 2**63 for values in seeds.values() for s in values)


def test_sum_across_processes_in_one_process_is_the_identity():
    import lightning as L
    from torch import nn

    class Tiny(L.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.layer = nn.Linear(1, 1)

    assert distributed.sum_across_processes(Tiny(), 2.5, 4) == (2.5, 4.0)


# ---------------------------------------------------------------------------- two processes
def _write_config(make_tiny_config, labels: Path, ckpt_dir: Path, batch_size: int,
                  min_steps: int, epochs: int, run_name: str | None) -> Path:
    cfg = make_tiny_config("single_instance", labels, ckpt_dir / "unused", max_epochs=epochs,
                           min_train_steps_per_epoch=min_steps)
    cfg["trainer_config"]["train_data_loader"]["batch_size"] = batch_size
    cfg["trainer_config"]["run_name"] = run_name  # None: a timestamped name
    cfg["trainer_config"]["ckpt_dir"] = str(ckpt_dir)
    # The plateau schedule reads the validation loss summed over the processes (all-reduce).
    cfg["trainer_config"]["lr_scheduler"] = {"reduce_lr_on_plateau": {"patience": 10}}
    path = ckpt_dir.parent / f"{ckpt_dir.name}.yaml"
    ckpt_dir.mkdir(parents=True)
    path.write_text(yaml.safe_dump(cfg))
    return path


def _posekit_train(config: Path, *overrides: str) -> tuple[str, float]:
    env = {k: v for k, v in os.environ.items() if k not in _LAUNCH_VARS}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "posekit", "train", str(config), *overrides],
                          capture_output=True, text=True, env=env, timeout=240,
                          cwd=config.parent, check=False)
    wall = time.perf_counter() - start
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    return output, wall


def _mean_px(run_dir: Path) -> float:
    value = json.loads((run_dir / "metrics.val.json").read_text())["localization"]["mean_px"]
    assert value is not None
    return float(value)


@pytest.mark.slow
def test_two_cpu_processes_train_as_well_as_one(make_tiny_config, synth_single, tmp_path):
    """2 processes x batch 4 against 1 process x batch 8: the same samples, the same number of
    optimizer steps; the model must be as good (within 1.5x + 1 px) and far better than
    untrained."""
    from posekit.demo import _untrained_copy
    from posekit.evaluation import evaluate
    from posekit.inference.pipeline import load_model, predict_source
    from posekit.io.labels import load_labels
    from posekit.training.training_log import read_training_log

    steps, epochs = 12, 4  # optimizer steps per epoch in both runs
    one_cfg = _write_config(make_tiny_config, synth_single, tmp_path / "one", 8, steps, epochs,
                            "single")
    two_cfg = _write_config(make_tiny_config, synth_single, tmp_path / "two", 4, 2 * steps,
                            epochs, None)
    one_out, one_wall = _posekit_train(one_cfg, "trainer_config.trainer_accelerator=cpu")
    two_out, two_wall = _posekit_train(
        two_cfg, "trainer_config.trainer_devices=2", "trainer_config.trainer_strategy=ddp",
        "trainer_config.trainer_accelerator=cpu")

    # Both ranks trained, each on half of the epoch's samples.
    per_rank = {int(m[0]): (int(m[1]), int(m[2])) for m in re.findall(
        r"process (\d) of 2 \(DDPStrategy, gloo on cpu\): (\d+) training samples in (\d+) steps",
        two_out)}
    assert per_rank == {1: (steps * 4 * epochs, steps * epochs),
                        2: (steps * 4 * epochs, steps * epochs)}, two_out[-3000:]

    # One run folder (the timestamped name agreed on), with one of each file.
    runs = [p for p in (tmp_path / "two").iterdir()]
    assert len(runs) == 1 and runs[0].is_dir(), runs
    run = runs[0]
    names = sorted(p.name for p in run.iterdir())
    for name in ("training_config.yaml", "training_log.csv", "labels_gt.train.slp",
                 "labels_gt.val.slp", "labels_pr.val.slp", "metrics.val.json", "model.onnx",
                 "best.ckpt", "last.ckpt"):
        assert names.count(name) == 1, names
    assert not [n for n in names if n.startswith(".")], names  # no half-written leftovers
    assert [r.epoch for r in read_training_log(run / "training_log.csv").epochs] == list(
        range(epochs))
    assert two_out.count("validation: mAP") == 1  # only rank 0 scored the model
    assert "process 1 of" not in one_out  # one process: no per-process note

    # As good as one process, and far better than untrained.
    one_px, two_px = _mean_px(tmp_path / "one" / "single"), _mean_px(run)
    labels = load_labels(run / "labels_gt.val.slp")
    untrained = load_model(_untrained_copy(run, tmp_path / "untrained"), peak_threshold=0.0,
                           backend="torch")
    base_px = evaluate(labels, predict_source(untrained, labels).labels).localization.mean_px
    print(f"\nmean pixel error: 1 process {one_px:.2f} px ({one_wall:.1f} s), 2 processes "
          f"{two_px:.2f} px ({two_wall:.1f} s), untrained {base_px:.2f} px")
    assert base_px is not None and base_px > 10.0
    assert one_px < 0.35 * base_px and two_px < 0.35 * base_px, (one_px, two_px, base_px)
    assert two_px <= 1.5 * one_px + 1.0, (one_px, two_px)
