"""Training in several processes through Lightning's strategies: what posekit must agree on.

Lightning starts the processes (``ddp``, ``ddp_spawn``...), sets up the process group (gloo on
the CPU, NCCL on CUDA), wraps the model in ``DistributedDataParallel``, shards the data
loaders (our :class:`~posekit.data.sampler.EpochSampler` through its
``DistributedSamplerWrapper``) and writes checkpoints from rank 0 only. This module holds the
few things Lightning cannot know:

* **One run folder and one seed.** With ``strategy: ddp`` Lightning re-launches the command
  line for local ranks 1..N-1 when rank 0 calls ``fit``; those processes run ``train()`` from
  the start. A timestamped run name, or a seed drawn at random, would differ between them, and
  so would the train/validation split. The first process therefore exports what it chose
  (:data:`RUN_DIR_ENV`, :data:`SEED_ENV`); Lightning's launcher copies the environment into the
  processes it starts, and they read it back. Processes started by someone else (``torchrun``,
  SLURM, other nodes) need ``trainer_config.run_name`` and ``trainer_config.seed`` instead.
* **Who writes.** Before ``fit`` there is no process group yet, so "rank 0" is read from the
  variables the launchers set (:func:`is_primary_process`); afterwards ``trainer.is_global_zero``.
* **Different augmentation per rank** (:func:`augmentation_seed`) and **sums across ranks**
  (:func:`sum_across_processes`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

import lightning as L
import numpy as np
import torch

from posekit.errors import ConfigError

logger = logging.getLogger("posekit.training")

RUN_DIR_ENV = "POSEKIT_DDP_RUN_DIR"
"""Environment variable: the run folder the first process chose (absolute path)."""
SEED_ENV = "POSEKIT_DDP_SEED"
"""Environment variable: the seed the first process chose."""

_RANK_STRIDE = 1 << 40  # larger than any step count: per-rank seed ranges never overlap
_SEED_MOD = 1 << 63


def _env_int(name: str) -> int | None:
    value = os.environ.get(name)
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def is_primary_process() -> bool:
    """Whether this process is (or will be) global rank 0, judged from the environment.

    Usable before Lightning has set up the process group: ``RANK`` (torchrun and most
    launchers), ``SLURM_PROCID`` in a multi-task SLURM job, otherwise ``LOCAL_RANK`` and
    ``NODE_RANK`` / ``GROUP_RANK`` as Lightning's own launcher sets them. A process started by
    hand has none of them and is the primary one.
    """
    rank = _env_int("RANK")
    if rank is not None:
        return rank == 0
    tasks = _env_int("SLURM_NTASKS")
    if tasks is not None and tasks > 1 and _env_int("SLURM_PROCID") is not None:
        return _env_int("SLURM_PROCID") == 0
    node = _env_int("NODE_RANK") or _env_int("GROUP_RANK") or 0
    return node == 0 and (_env_int("LOCAL_RANK") or 0) == 0


def agreed_seed(configured: int | None) -> int:
    """The run's seed, the same in every process.

    The primary process takes ``configured`` (or draws one) and exports it; the others take
    the exported value, else ``configured``.

    Raises:
        ConfigError: A secondary process has neither (it was not started by the primary's
            Lightning launcher and the configuration sets no seed).
    """
    if is_primary_process():
        seed = int(configured) if configured is not None else int(
            np.random.SeedSequence().entropy % 2**31)
        os.environ[SEED_ENV] = str(seed)
        return seed
    exported = _env_int(SEED_ENV)
    if exported is not None:
        return exported
    if configured is None:
        raise ConfigError(
            "trainer_config.seed: this training process was not started by posekit's first "
            "process (torchrun, SLURM or another node?), so it cannot learn the seed the others "
            "use; expected an explicit seed. Set trainer_config.seed (and "
            "trainer_config.run_name) so that every process splits and shuffles alike.")
    return int(configured)


def agreed_run_dir(resolve: Callable[[], Path], ckpt_dir: str | None,
                   run_name: str | None) -> Path:
    """The run folder, the same in every process.

    Args:
        resolve: Chooses the folder in the primary process (e.g. a timestamped name, or a
            ``_1`` suffix when the named folder already holds a model).
        ckpt_dir: ``trainer_config.ckpt_dir`` (for secondary processes without an export).
        run_name: ``trainer_config.run_name`` (likewise).

    Raises:
        ConfigError: A secondary process has neither an exported folder nor a run name.
    """
    if is_primary_process():
        run_dir = resolve()
        os.environ[RUN_DIR_ENV] = str(run_dir.resolve())
        return run_dir
    exported = os.environ.get(RUN_DIR_ENV)
    if exported:
        return Path(exported)
    if not run_name:
        raise ConfigError(
            "trainer_config.run_name: this training process was not started by posekit's "
            "first process (torchrun, SLURM or another node?), so a timestamped run name would "
            "differ between processes; expected an explicit name. Set trainer_config.run_name "
            "(a new folder) and trainer_config.seed.")
    return (Path(ckpt_dir) if ckpt_dir else Path(".")) / run_name


def augmentation_seed(seed: int, step: int, rank: int) -> int:
    """Seed of the augmentation generator for one training step of one process.

    Rank 0 keeps the single-process value ``seed * 1_000_003 + step`` (runs stay reproducible
    and resumable); every other rank is shifted by ``rank * 2**40`` so that processes draw
    different augmentations for their different samples.
    """
    return (int(seed) * 1_000_003 + int(step) + int(rank) * _RANK_STRIDE) % _SEED_MOD


def sum_across_processes(module: L.LightningModule, *values: float) -> tuple[float, ...]:
    """``values`` summed over all training processes (unchanged in a single process).

    Goes through the strategy's own ``reduce`` (a no-op for single-device strategies, an
    all-reduce for DDP), so every rank must call it at the same point.
    """
    try:
        trainer = module.trainer
    except RuntimeError:  # not attached to a Trainer
        trainer = None
    if trainer is None or trainer.world_size <= 1:
        return tuple(float(v) for v in values)
    tensor = torch.tensor([float(v) for v in values], dtype=torch.float32, device=module.device)
    total = trainer.strategy.reduce(tensor, reduce_op="sum")
    return tuple(float(v) for v in total.detach().cpu().tolist())


def process_note(trainer: L.Trainer, samples: int) -> str | None:
    """A line saying what this process did, when training ran in several processes."""
    if trainer.world_size <= 1:
        return None
    strategy = trainer.strategy
    backend = getattr(strategy, "_process_group_backend", None) or "?"
    return (f"process {trainer.global_rank + 1} of {trainer.world_size} "
            f"({type(strategy).__name__}, {backend} on {strategy.root_device.type}): "
            f"{samples} training samples in {trainer.global_step} steps")
