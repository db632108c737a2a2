"""Foreground weighting: leaving the all-zero plateau of confidence maps sooner.

A confidence-map model starts by predicting zeros: the Gaussian targets cover a tiny part
of each map, so "all zero" is already a low mean squared error and the gradient towards
the peaks is weak. Weighting each squared error by ``1 + (w - 1) * |target|``
(:func:`posekit.model_types.losses.channel_mse`) makes the pixels under the peaks count up
to ``w`` times as much. Measured on the synthetic plateau benchmark
(``benchmarks/results/plateau_escape.synthetic.json``, same network, data and seed, 200
steps): plain MSE found its first correct validation point at step 140 and never half of
them; with ``w = 21`` the first at step 60 and half at step 80.

The weight starts at :attr:`ForegroundSettings.start_weight` and falls linearly to 1 at
``fade_fraction`` of training (:func:`~posekit.model_types.losses.foreground_weight_at`),
so the final model is trained on the plain loss and its confidence scores mean what they
mean in sleap-nn. Validation is never weighted (``val_loss`` stays comparable).

The settings cannot live in the sleap-nn YAML (it refuses unknown keys): they come from the
command line, the Python API or the ``foreground_weighting:`` section of the sidecar
``CONFIG.posekit.yaml`` (:func:`foreground_for_config`). :class:`ForegroundCallback` is the
thin Lightning shell that sets the module's weight before every training batch.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import lightning as L

from posekit.config.rules import RuleTable, check_settings, number, settings_from_dict
from posekit.errors import ConfigError
from posekit.model_types.losses import foreground_weight_at

if TYPE_CHECKING:
    from posekit.training.budget import BudgetCallback

logger = logging.getLogger("posekit.training")

SECTION = "foreground_weighting"

RULES: RuleTable = {
    SECTION: (
        number("start_weight", 1, hint="Use 1 to turn foreground weighting off, e.g. 21 "
               "(the default) to weight the peaks 21 times."),
        number("fade_fraction", 0, 1, low_open=True,
               hint="The share of training after which the loss is plain, e.g. 0.5."),
    )
}


@dataclass(frozen=True)
class ForegroundSettings:
    """How much the confidence-map peaks weigh at first, and for how long.

    Attributes:
        start_weight: Squared errors are multiplied by ``1 + (start_weight - 1) * |target|``
            at the start of training (1: off, the plain loss throughout).
        fade_fraction: The weight falls linearly to 1 by this share of training (the
            elapsed fraction of a budget, else of the optimizer steps) and stays 1 after.
    """

    start_weight: float = 21.0
    fade_fraction: float = 0.5

    def __post_init__(self) -> None:
        check_settings(self, SECTION, RULES)

    @property
    def enabled(self) -> bool:
        """Whether the loss is weighted at all (``start_weight`` other than 1)."""
        return self.start_weight != 1.0

    def weight_at(self, progress: float) -> float:
        """The weight after ``progress`` (a fraction) of training."""
        return foreground_weight_at(progress, self.start_weight, self.fade_fraction)


def read_foreground(path: str | os.PathLike[str]) -> ForegroundSettings | None:
    """The ``foreground_weighting`` section of a sidecar file (``None`` when it has none).

    Raises:
        ConfigError: unreadable YAML or bad settings (every problem listed).
    """
    from posekit.refinement.frame_weights import read_section

    return read_section(path, SECTION, ForegroundSettings)


def foreground_for_config(config: Any) -> ForegroundSettings | None:
    """The foreground settings of a training config given as a path (the
    ``foreground_weighting`` section of its ``CONFIG.posekit.yaml``), else ``None``."""
    from posekit.refinement.frame_weights import section_for_config

    return section_for_config(config, SECTION, ForegroundSettings)


def resolve_foreground(foreground: ForegroundSettings | dict | None, config: Any,
                       budgeted: bool) -> tuple[ForegroundSettings | None, str]:
    """The foreground weighting of a run and where it came from.

    ``foreground`` complete settings win; a dict (command-line flags) goes over the
    sidecar's section (or the defaults); ``None`` takes the sidecar's section, else the
    defaults for a budgeted run (posekit-only: every minute should count) and nothing for
    a plain run (the same YAML trains what sleap-nn trains).

    Returns:
        The settings (``None`` when off) and a few words on their origin.

    Raises:
        ConfigError: bad settings, or ``foreground`` of another type.
    """
    if foreground is None:
        side = foreground_for_config(config)
        if side is not None:
            settings, origin = side, "the sidecar's foreground_weighting section"
        elif budgeted:
            settings, origin = ForegroundSettings(), "the default of budgeted runs"
        else:
            return None, "off by default without a budget"
    elif isinstance(foreground, ForegroundSettings):
        settings, origin = foreground, "as given"
    elif isinstance(foreground, dict):
        base = foreground_for_config(config) or ForegroundSettings()
        settings = settings_from_dict(ForegroundSettings, {**asdict(base), **foreground},
                                      SECTION, "foreground")
        origin = "as given"
    else:
        raise ConfigError(f"foreground: got {type(foreground).__name__}; expected "
                          "ForegroundSettings or a dict of its fields.")
    return (settings if settings.enabled else None), origin


def foreground_note(settings: ForegroundSettings | None, origin: str) -> str:
    """One line for the run's notes saying what was used."""
    if settings is None:
        return f"foreground weighting off ({origin}): the plain mean squared error"
    return (f"foreground weighting ({origin}): squared errors x (1 + "
            f"{settings.start_weight - 1:.3g} * |target|) at the start, fading linearly to "
            f"the plain loss by {settings.fade_fraction:.0%} of training; validation loss "
            "unweighted")


class ForegroundCallback(L.Callback):
    """Sets ``pl_module.foreground_weight`` before every training batch.

    Progress is the budget's elapsed fraction when ``budget`` is given, else
    ``global_step / estimated_stepping_batches``. Each step's ``(step, progress, weight)``
    is kept in :attr:`trace` and the weight is logged as ``foreground_weight``.

    Args:
        settings: The start weight and the fade.
        budget: The run's :class:`~posekit.training.budget.BudgetCallback`, or ``None``.
    """

    def __init__(self, settings: ForegroundSettings, budget: BudgetCallback | None = None
                 ) -> None:
        self.settings = settings
        self.budget = budget
        self.trace: list[tuple[int, float, float]] = []
        self._warned = False

    def progress(self, trainer: L.Trainer) -> float:
        """The elapsed fraction of training (1 when it cannot be known)."""
        if self.budget is not None:
            return self.budget.fraction
        total = float(trainer.estimated_stepping_batches)
        if not math.isfinite(total) or total <= 0:
            if not self._warned:
                logger.warning("foreground weighting: the run's length is unknown (no "
                               "max_epochs and no budget); training on the plain loss")
                self._warned = True
            return 1.0
        return int(trainer.global_step) / total

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule,
                             batch: Any, batch_idx: int) -> None:
        progress = self.progress(trainer)
        weight = self.settings.weight_at(progress)
        pl_module.foreground_weight = weight
        self.trace.append((int(trainer.global_step), progress, weight))
        pl_module.log("foreground_weight", weight, on_step=True, on_epoch=False,
                      batch_size=1)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        pl_module.foreground_weight = 1.0  # whatever runs next (finishing) is plain

    def summary(self) -> str | None:
        """One line on the weights used (``None`` before any step)."""
        if not self.trace:
            return None
        plain = next((step for step, _, w in self.trace if w == 1.0), None)
        return (f"foreground weight {self.trace[0][2]:.3g} at step {self.trace[0][0]}, "
                f"{self.trace[-1][2]:.3g} at step {self.trace[-1][0]}"
                + (f"; plain loss from step {plain}" if plain is not None else ""))
