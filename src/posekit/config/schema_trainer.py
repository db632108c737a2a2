"""Schema of ``trainer_config``: loaders, checkpoints, optimisation, logging."""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from posekit.errors import ConfigError

MASK = "****"
"""What a secret (``trainer_config.wandb.api_key``) is replaced with when shown or saved."""


@dataclass
class DataLoaderConfig:
    """``trainer_config.train_data_loader`` / ``val_data_loader``."""

    batch_size: int = 1
    shuffle: bool = False
    num_workers: int = 0


@dataclass
class ModelCkptConfig:
    """``trainer_config.model_ckpt``: which checkpoints to keep (ranked by validation loss)."""

    save_top_k: int = 1
    save_last: bool | None = None


@dataclass
class OptimizerConfig:
    """``trainer_config.optimizer``."""

    lr: float = 1e-3
    amsgrad: bool = False


@dataclass
class StepLRConfig:
    """``trainer_config.lr_scheduler.step_lr``: multiply the LR by ``gamma`` every
    ``step_size`` epochs."""

    step_size: int = 10
    gamma: float = 0.1


@dataclass
class ReduceLROnPlateauConfig:
    """``trainer_config.lr_scheduler.reduce_lr_on_plateau``: lower the LR when the
    validation loss stops improving."""

    threshold: float = 1e-4
    threshold_mode: str = "rel"
    cooldown: int = 0
    patience: int = 10
    factor: float = 0.1
    min_lr: float | list[float] = 0.0


LR_SCHEDULER_TYPES: tuple[str, ...] = ("step_lr", "reduce_lr_on_plateau")


@dataclass
class LRSchedulerConfig:
    """``trainer_config.lr_scheduler``: at most one scheduler; none means a constant LR."""

    step_lr: StepLRConfig | None = None
    reduce_lr_on_plateau: ReduceLROnPlateauConfig | None = None

    @property
    def scheduler_type(self) -> str | None:
        """Name of the scheduler that is set, or ``None`` for a constant learning rate."""
        chosen = [name for name in LR_SCHEDULER_TYPES if getattr(self, name) is not None]
        if len(chosen) > 1:
            raise ConfigError(
                f"trainer_config.lr_scheduler: at most one scheduler may be set, found "
                f"{', '.join(chosen)}. Set all but one to null."
            )
        return chosen[0] if chosen else None


@dataclass
class EarlyStoppingConfig:
    """``trainer_config.early_stopping``: stop when the validation loss plateaus."""

    min_delta: float = 0.0
    patience: int = 1
    stop_training_on_plateau: bool = False


@dataclass
class OHKMConfig:
    """``trainer_config.online_hard_keypoint_mining``: up-weight the hardest keypoints."""

    online_mining: bool = False
    hard_to_easy_ratio: float = 2.0
    min_hard_keypoints: int = 2
    max_hard_keypoints: int | None = None
    loss_scale: float = 5.0


@dataclass(repr=False)
class WandBConfig:
    """``trainer_config.wandb``: Weights & Biases logging (used when ``use_wandb``).

    ``api_key`` is never shown: repr, ``config show`` and saved files print ``****``.
    """

    entity: str | None = None
    project: str | None = None
    name: str | None = None
    api_key: str | None = None
    save_viz_imgs_wandb: bool = False
    wandb_mode: str | None = None
    prv_runid: str | None = None
    group: str | None = None

    def __repr__(self) -> str:
        parts = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "api_key" and value:
                value = MASK
            parts.append(f"{f.name}={value!r}")
        return f"WandBConfig({', '.join(parts)})"


@dataclass
class ZMQConfig:
    """``trainer_config.zmq``: live training updates and remote stop for a GUI.

    Ports are bound on the loopback interface. The older spelling gave full addresses
    (``tcp://127.0.0.1:9001``); those become ports, and an address is kept only when its
    host is not loopback (the socket is then bound on that host).
    """

    publish_port: int | None = None
    controller_port: int | None = None
    controller_polling_timeout: int = 10
    publish_address: str | None = None
    controller_address: str | None = None


@dataclass
class TrainerConfig:
    """``trainer_config``: loaders, checkpoints, hardware, optimisation, logging.

    A run's files go to ``<ckpt_dir>/<run_name>``; the older ``save_ckpt_path`` spelling
    is split into those two fields when read.
    """

    train_data_loader: DataLoaderConfig = field(default_factory=DataLoaderConfig)
    val_data_loader: DataLoaderConfig = field(default_factory=DataLoaderConfig)
    model_ckpt: ModelCkptConfig = field(default_factory=ModelCkptConfig)
    trainer_devices: int | str | None = None
    trainer_device_indices: list[int] | None = None
    trainer_accelerator: str = "auto"
    profiler: str | None = None
    trainer_strategy: str = "auto"
    enable_progress_bar: bool = True
    min_train_steps_per_epoch: int = 200
    train_steps_per_epoch: int | None = None
    visualize_preds_during_training: bool = False
    keep_viz: bool = False
    max_epochs: int = 10
    seed: int | None = None
    use_wandb: bool = False
    save_ckpt: bool = False
    ckpt_dir: str | None = None
    run_name: str | None = None
    resume_ckpt_path: str | None = None
    wandb: WandBConfig = field(default_factory=WandBConfig)
    optimizer_name: str = "Adam"
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    lr_scheduler: LRSchedulerConfig = field(default_factory=LRSchedulerConfig)
    early_stopping: EarlyStoppingConfig = field(default_factory=EarlyStoppingConfig)
    online_hard_keypoint_mining: OHKMConfig = field(default_factory=OHKMConfig)
    zmq: ZMQConfig = field(default_factory=ZMQConfig)
