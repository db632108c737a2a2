"""Protocol A: a short learning-rate range test.

The learning rate grows exponentially from ``min_lr`` to ``max_lr`` over ``steps``
optimizer steps of ordinary training, or faster when a time limit would cut the range short
(the rate follows whichever of the step fraction and the elapsed-time fraction is further
on, so the whole range is covered within ``time_limit_s``), and the training loss of every
step is recorded; the test stops early once the loss diverges (smoothed loss above ``4 x``
its minimum). The weights and the optimizer are thrown away afterwards: training starts
again from the initial weights. A curve of fewer than ``MIN_RELIABLE_STEPS`` steps is
marked unreliable (``train(..., lr_find=True)`` then keeps the config's rate).

**The suggestion rule** (:func:`suggest_lr`): smooth the losses with a bias-corrected
exponential moving average (``beta = 0.9``); the *divergence point* is the learning rate at
the smoothed minimum; the suggestion is the learning rate of the steepest descent of the
smoothed loss against ``log(lr)`` before that minimum, capped at a tenth of the divergence
point (the steepest descent alone sits too near the blow-up on short, noisy curves).
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np

from posekit.errors import ConfigError

PLOT_NAME = "lr_range.png"
DIVERGENCE_FACTOR = 4.0
MIN_RELIABLE_STEPS = 12


@dataclass
class LRRangeResult:
    """A learning-rate range test's curve and its suggestion.

    Attributes:
        lrs: Learning rate of each step.
        losses: Training loss of each step.
        smoothed: The smoothed losses the rule reads.
        suggested_lr: The suggestion (see the module docstring for the rule).
        steepest_lr: Learning rate of the steepest descent of the smoothed loss.
        divergence_lr: Learning rate at the smoothed minimum.
        seconds: Wall time of the test.
        stopped_early: Whether the loss diverged before the last step.
        plot: The PNG of the curve, when written.
        notes: What the caller should know (too few steps, flat curve...).
    """

    lrs: list[float]
    losses: list[float]
    smoothed: list[float]
    suggested_lr: float
    steepest_lr: float
    divergence_lr: float
    seconds: float
    stopped_early: bool = False
    plot: Path | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def reliable(self) -> bool:
        """Whether the curve has enough steps to read a suggestion from."""
        return len(self.losses) >= MIN_RELIABLE_STEPS


def check_range(min_lr: float, max_lr: float, steps: int) -> None:
    """Raise :class:`ConfigError` for a non-positive or inverted range or under 5 steps."""
    if not (0 < min_lr < max_lr) or not math.isfinite(max_lr):
        raise ConfigError(f"lr range: min_lr {min_lr}, max_lr {max_lr}; expected "
                          "0 < min_lr < max_lr, e.g. 1e-6 and 1.")
    if steps < 5:
        raise ConfigError(f"lr range: steps {steps}; expected at least 5 (e.g. 100).")


def range_lr(min_lr: float, max_lr: float, fraction: float) -> float:
    """The test's learning rate after ``fraction`` of its range (exponential; clamped)."""
    f = min(max(float(fraction), 0.0), 1.0)
    return float(min_lr * (max_lr / min_lr) ** f)


def smooth(losses: Sequence[float], beta: float = 0.9) -> np.ndarray:
    """Bias-corrected exponential moving average of ``losses``."""
    out, avg = [], 0.0
    for i, value in enumerate(losses, start=1):
        avg = beta * avg + (1.0 - beta) * float(value)
        out.append(avg / (1.0 - beta ** i))
    return np.asarray(out, np.float64)


def suggest_lr(lrs: Sequence[float], losses: Sequence[float]) -> tuple[float, float, float]:
    """``(suggested, steepest, divergence)`` learning rates of a range test's curve.

    Raises:
        ConfigError: fewer than 5 finite points (nothing to read).
    """
    lrs = np.asarray(lrs, np.float64)
    losses = np.asarray(losses, np.float64)
    keep = np.isfinite(losses)
    lrs, losses = lrs[keep], losses[keep]
    if len(lrs) < 5:
        raise ConfigError(f"lr range: only {len(lrs)} finite losses; expected at least 5. "
                          "Run more steps or lower min_lr.")
    s = smooth(losses)
    low = int(np.argmin(s))
    divergence = float(lrs[low])
    if low < 2:  # the loss only rose: the range starts too high
        return float(lrs[0]), float(lrs[0]), divergence
    slope = np.gradient(s[: low + 1], np.log(lrs[: low + 1]))
    steepest = float(lrs[int(np.argmin(slope))])
    return min(steepest, divergence / 10.0), steepest, divergence


class RangeTestCallback(L.Callback):
    """Sets each step's learning rate (see the module docstring) and records the loss;
    stops after the last rate of the range or on divergence."""

    def __init__(self, min_lr: float, max_lr: float, steps: int,
                 time_limit_s: float | None = None) -> None:
        self.min_lr, self.max_lr, self.steps = float(min_lr), float(max_lr), int(steps)
        self.time_limit_s = time_limit_s
        self.used: list[float] = []
        self.losses: list[float] = []
        self.diverged = False
        self._fraction = 0.0
        self._start = time.perf_counter()

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._start = time.perf_counter()

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule,
                             batch: Any, batch_idx: int) -> None:
        fraction = len(self.used) / (self.steps - 1)
        if self.time_limit_s:
            fraction = max(fraction, (time.perf_counter() - self._start) / self.time_limit_s)
        self._fraction = fraction
        lr = range_lr(self.min_lr, self.max_lr, fraction)
        for optimizer in trainer.optimizers:
            for group in optimizer.param_groups:
                group["lr"] = lr
        self.used.append(lr)

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule,
                           outputs: Any, batch: Any, batch_idx: int) -> None:
        loss = outputs["loss"] if isinstance(outputs, dict) else outputs
        self.losses.append(float(loss.detach()) if loss is not None else math.nan)
        s = smooth(self.losses)
        finite = s[np.isfinite(s)]
        self.diverged = (not math.isfinite(self.losses[-1])
                         or (len(finite) > 5 and s[-1] > DIVERGENCE_FACTOR * finite.min()))
        stop = self.diverged or self._fraction >= 1.0
        if trainer.world_size > 1:  # every process stops at the same step
            stop = trainer.strategy.reduce_boolean_decision(stop, all=False)
        if stop:
            trainer.should_stop = True


def run_range_test(module: L.LightningModule, train_loader: Any, trainer_kwargs: dict,
                   steps: int = 100, min_lr: float = 1e-6, max_lr: float = 1.0,
                   time_limit_s: float | None = None, plot_dir: Path | None = None
                   ) -> LRRangeResult:
    """Run the range test on ``module`` (its weights are restored afterwards).

    Args:
        module: The Lightning module to train (its optimizer comes from it).
        train_loader: The training data.
        trainer_kwargs: Hardware settings for ``lightning.Trainer`` (accelerator...).
        steps: Most steps (one learning rate each).
        min_lr, max_lr: The range.
        time_limit_s: Cover the range within this many seconds (fewer, larger steps of
            the rate when steps are slow).
        plot_dir: Write ``lr_range.png`` here (``None``: no plot).
    """
    begin = time.perf_counter()
    check_range(min_lr, max_lr, steps)
    initial = copy.deepcopy(module.state_dict())
    seen = getattr(module, "samples_seen", 0)
    callback = RangeTestCallback(min_lr, max_lr, steps, time_limit_s)
    trainer = L.Trainer(max_steps=int(steps), max_epochs=-1, callbacks=[callback],
                        logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, limit_val_batches=0,
                        num_sanity_val_steps=0, **trainer_kwargs)
    try:
        trainer.fit(module, train_loader)
    finally:
        module.load_state_dict(initial)
        if hasattr(module, "samples_seen"):
            module.samples_seen = seen
    n = min(len(callback.used), len(callback.losses))
    used, losses = callback.used[:n], callback.losses[:n]
    notes = []
    if n < MIN_RELIABLE_STEPS:
        notes.append(f"learning-rate range test: only {n} steps fitted in its time "
                     f"({time_limit_s or 0:.0f} s); too few to rely on its suggestion")
    suggested, steepest, divergence = suggest_lr(used, losses)
    result = LRRangeResult(used, losses, smooth(losses).tolist(), suggested, steepest,
                           divergence, time.perf_counter() - begin, callback.diverged,
                           notes=notes)
    if plot_dir is not None:
        result.plot = plot_range(result, Path(plot_dir) / PLOT_NAME)
    return result


def plot_range(result: LRRangeResult, path: Path) -> Path:
    """Write the loss-against-learning-rate curve with the suggestion marked (PNG)."""
    from matplotlib.figure import Figure

    from posekit.utils.atomic import atomic_path

    fig = Figure(figsize=(6, 4), dpi=100)
    ax = fig.add_subplot(1, 1, 1)
    ax.plot(result.lrs, result.losses, color="0.7", lw=1, label="loss")
    ax.plot(result.lrs, result.smoothed, color="C0", lw=2, label="smoothed")
    ax.axvline(result.suggested_lr, color="C3", ls="--",
               label=f"suggested {result.suggested_lr:.2g}")
    ax.axvline(result.divergence_lr, color="0.4", ls=":",
               label=f"smoothed minimum {result.divergence_lr:.2g}")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("training loss")
    finite = [v for v in result.smoothed if math.isfinite(v)]
    if finite:
        ax.set_ylim(min(finite) * 0.9, min(max(finite), DIVERGENCE_FACTOR * min(finite)) * 1.1)
    ax.legend(loc="upper left", fontsize=8)
    ax.set_title("learning-rate range test")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    return path
