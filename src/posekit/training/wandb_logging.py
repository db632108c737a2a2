"""Weights & Biases logging (``trainer_config.use_wandb``), including fully offline runs."""

from __future__ import annotations

import os
from pathlib import Path

from posekit.config import config_to_dict
from posekit.config.schema import TrainingJobConfig
from posekit.errors import ConfigError


def make_wandb_logger(cfg: TrainingJobConfig, run_dir: Path):
    """A Lightning ``WandbLogger`` for ``trainer_config.wandb``.

    ``wandb_mode: offline`` writes the run under ``<run folder>/wandb`` and never touches the
    network (sync it later with ``wandb sync``). The API key comes from the config or, since
    saved configs mask it, from the ``WANDB_API_KEY`` environment variable.
    """
    try:
        from lightning.pytorch.loggers import WandbLogger
    except ImportError as exc:  # pragma: no cover - lightning always ships it
        raise ConfigError("trainer_config.use_wandb: Lightning's WandbLogger is missing") from exc
    try:
        import wandb  # noqa: F401
    except ImportError as exc:
        raise ConfigError(
            "trainer_config.use_wandb: true but the wandb package is not installed; expected "
            "it for Weights & Biases logging. Install it with `pip install 'posekit[wandb]'` or "
            "set use_wandb: false."
        ) from exc
    wb = cfg.trainer_config.wandb
    mode = (wb.wandb_mode or "online") if wb is not None else "online"
    if mode not in ("online", "offline", "disabled"):
        raise ConfigError(
            f"trainer_config.wandb.wandb_mode: got {mode!r}; expected online, offline or "
            "disabled."
        )
    api_key = wb.api_key if wb is not None and wb.api_key not in (None, "", "****") else None
    if api_key:
        os.environ.setdefault("WANDB_API_KEY", api_key)
    save_dir = run_dir / "wandb"
    save_dir.mkdir(parents=True, exist_ok=True)
    return WandbLogger(
        project=(wb.project if wb is not None else None) or "posekit",
        entity=wb.entity if wb is not None else None,
        name=(wb.name if wb is not None else None) or run_dir.name,
        group=wb.group if wb is not None else None,
        id=wb.prv_runid if wb is not None else None,
        resume="allow" if wb is not None and wb.prv_runid else None,
        save_dir=str(save_dir),
        offline=mode == "offline",
        mode=mode,
        config=config_to_dict(cfg, mask_secrets=True),
    )
