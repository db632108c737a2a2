"""Training to a wall-clock budget: the learning-rate schedule and the clock that ends on time.

**Schedule.** :func:`lr_factor` is a pure function of the *elapsed fraction of the fitting
time* (wall clock), not of epochs: warm-up, then a decay that reaches zero when the time
for fitting runs out, whatever the step time. Kinds:

* ``"linear"`` (default): linear warm-up from 0, then linear decay to 0. Under a fixed
  budget a schedule that decays linearly to zero at the end is the robust choice (Li, Yumer
  & Ramanan, *Budgeted Training*, ICLR 2020);
* ``"cosine"``: linear warm-up, then half a cosine down to 0;
* ``"one_cycle"``: Smith's one cycle: cosine up from ``1/25`` of the peak over a longer
  warm-up (30 %), then cosine down to 0.

**Clock.** :class:`BudgetClock` (pure arithmetic on measured durations) decides when
fitting must stop so that the whole ``train()`` call, including the final validation, the
checkpoint, export and the validation predictions (``training/finish.py``), ends at the
budget: ``reserve = final validation + finishing + end overhead``, each *measured* during
the run (validation passes; one or two dry runs of the finishing step on the first best
checkpoint, see :class:`BudgetCallback`). :class:`BudgetCallback` is the thin Lightning
shell: it sets the learning rate before every optimizer step and sets
``trainer.should_stop`` when the next step would not leave the reserve.
"""

from __future__ import annotations

import json
import logging
import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightning as L

from posekit.config.rules import RuleTable, check_settings, choice, number
from posekit.errors import ConfigError

logger = logging.getLogger("posekit.training")

SCHEDULES = ("linear", "cosine", "one_cycle")
DEFAULT_WARMUP = {"linear": 0.05, "cosine": 0.05, "one_cycle": 0.3}
ONE_CYCLE_START = 1.0 / 25.0  # torch's OneCycleLR div_factor
REPORT_NAME = "budget.json"
#: The finishing step is timed a second time in short budgets (at most this many seconds)
#: unless the first timing took more than ``REPEAT_PROBE_FRACTION`` of the fitting time left:
#: the first run pays one-off costs (exporter and runtime start-up, first-use caches; a few
#: seconds, more on a busy machine) that only matter against a short budget, and the second,
#: warm, run is what the final one costs.
REPEAT_PROBE_BUDGET_S = 300.0
#: Least training time between two validations of a budgeted run.
MIN_VALIDATION_INTERVAL_S = 4.0
#: Validations may take at most this share of the fitting time: once one is measured, the
#: training time between two is at least (1 - share) / share times its duration.
VALIDATION_SHARE = 0.2
REPEAT_PROBE_FRACTION = 0.5
MAX_PROBES = 3
#: All timings of the finishing step together stay under this share of the budget (a
#: bottom-up model's export and validation predictions took 17-25 s each: three of them
#: had cost a quarter of a 4-minute budget).
PROBE_BUDGET_SHARE = 0.15

RULES: RuleTable = {
    "budget": (
        number("budget_s", 0, low_open=True),
        choice("schedule", SCHEDULES),
        number("warmup_fraction", 0, 1, high_open=True),
        number("evaluations", 1),
        number("lr_find_fraction", 0, 0.5, low_open=True),
    )
}


def lr_factor(fraction: float, kind: str = "linear", warmup_fraction: float | None = None
              ) -> float:
    """The learning rate, as a fraction of the peak, after ``fraction`` of the budget.

    Args:
        fraction: Elapsed fraction of the fitting time; values outside ``[0, 1]`` are
            clamped (past the end the rate stays 0).
        kind: ``"linear"``, ``"cosine"`` or ``"one_cycle"`` (see the module docstring).
        warmup_fraction: Fraction of the time spent warming up, in ``[0, 1)``; ``None``:
            5 % (linear, cosine) or 30 % (one cycle).

    Raises:
        ConfigError: an unknown kind or a warm-up outside ``[0, 1)``.
    """
    if kind not in SCHEDULES:
        raise ConfigError(f"schedule: '{kind}' is unknown; expected one of "
                          f"{', '.join(SCHEDULES)}.")
    w = DEFAULT_WARMUP[kind] if warmup_fraction is None else float(warmup_fraction)
    if not 0.0 <= w < 1.0:
        raise ConfigError(f"warmup_fraction: {w} is outside [0, 1); expected e.g. 0.05.")
    f = min(max(float(fraction), 0.0), 1.0)
    if f < w:
        up = f / w
        if kind == "one_cycle":
            return ONE_CYCLE_START + (1.0 - ONE_CYCLE_START) * 0.5 * (1.0 - math.cos(math.pi * up))
        return up
    p = (f - w) / (1.0 - w)
    if kind == "linear":
        return 1.0 - p
    return 0.5 * (1.0 + math.cos(math.pi * p))


@dataclass(frozen=True)
class BudgetSettings:
    """How a budgeted run uses its time.

    Attributes:
        budget_s: Wall-clock seconds for the whole ``train()`` call.
        schedule: ``"linear"`` (default), ``"cosine"`` or ``"one_cycle"``.
        warmup_fraction: Warm-up share of the fitting time (``None``: the kind's default).
        evaluations: About how many validations over the run (time-based interval).
        lr_find_fraction: Most of the budget a combined learning-rate range test may use.
        started_at: When the budget began (``time.perf_counter()`` seconds; ``None``: when
            ``train()`` is called). The command line passes its process start
            (:func:`process_started_at`), so start-up and imports count too.
    """

    budget_s: float
    schedule: str = "linear"
    warmup_fraction: float | None = None
    evaluations: int = 15
    lr_find_fraction: float = 0.1
    started_at: float | None = None

    def __post_init__(self) -> None:
        check_settings(self, "budget", RULES)

    def factor(self, fraction: float) -> float:
        """:func:`lr_factor` under these settings."""
        return lr_factor(fraction, self.schedule, self.warmup_fraction)


@dataclass
class BudgetClock:
    """When fitting must stop for the whole run to end at ``start + budget_s``.

    Times are ``time.perf_counter()`` seconds. Durations are measured as the run goes and
    fed in with :meth:`observe_step`, :meth:`observe_validation` and :meth:`observe_finish`;
    until a duration is measured, a cautious guess stands in.

    Attributes:
        start: When the ``train()`` call began.
        budget_s: Seconds for the whole call.
        safety_fraction: Aim this share of the budget early (late is worse than early).
        end_overhead_s: Time from the end of fitting to the start of finishing (teardown,
            cache clean-up, result files), not counting the final validation.
    """

    start: float
    budget_s: float
    safety_fraction: float = 0.005
    end_overhead_s: float = 0.1
    fit_start: float | None = None
    step_s: float | None = None
    validation_s: float | None = None
    finish_s: float | None = None
    finish_guess_fraction: float = 0.05
    validations: list[float] = field(default_factory=list)

    @property
    def end(self) -> float:
        """The time the whole run should end (a little before the budget)."""
        return self.start + self.budget_s * (1.0 - self.safety_fraction)

    def reserve_s(self) -> float:
        """Seconds kept after fitting: final validation + finishing + end overhead."""
        finish = (self.finish_s if self.finish_s is not None
                  else self.finish_guess_fraction * self.budget_s)
        return (self.validation_s or 0.0) + finish + self.end_overhead_s

    def fit_deadline(self) -> float:
        """The time fitting should end."""
        return self.end - self.reserve_s()

    def fraction(self, now: float) -> float:
        """Elapsed fraction of the fitting time at ``now`` (``>= 1`` once it is over)."""
        begin = self.fit_start if self.fit_start is not None else self.start
        span = self.fit_deadline() - begin
        if span <= 0:
            return 1.0
        return (now - begin) / span

    def should_stop(self, now: float, validation_due: bool = False) -> bool:
        """Whether to stop now: one more step (and a validation, when one is due before
        it) would eat into the reserve."""
        ahead = (self.step_s or 0.0) + ((self.validation_s or 0.0) if validation_due else 0.0)
        return now + ahead >= self.fit_deadline()

    def observe_step(self, seconds: float, smoothing: float = 0.1) -> None:
        """One optimizer step's duration (exponential moving average)."""
        if seconds <= 0:
            return
        self.step_s = seconds if self.step_s is None else (
            (1.0 - smoothing) * self.step_s + smoothing * seconds)

    def observe_validation(self, seconds: float) -> None:
        """One validation's duration (with its checkpoint writes); the estimate is the
        median of those seen, robust to one slowed down by other work on the machine."""
        self.validations.append(max(0.0, float(seconds)))
        self.validation_s = float(statistics.median(self.validations))

    def observe_finish(self, seconds: float) -> None:
        """The measured duration of the finishing step."""
        self.finish_s = max(0.0, float(seconds))


def repeat_probe(times: list[float], budget_s: float, left_s: float) -> bool:
    """Whether to time the finishing step once more: only in short budgets (at most
    ``REPEAT_PROBE_BUDGET_S``), at most ``MAX_PROBES`` times, while one run costs under
    ``REPEAT_PROBE_FRACTION`` of the fitting time left, and while the last run was still
    clearly (15 %) faster than the one before (one-off costs are still being paid), and
    while all runs together stay under ``PROBE_BUDGET_SHARE`` of the budget."""
    if budget_s > REPEAT_PROBE_BUDGET_S or len(times) >= MAX_PROBES:
        return False
    if sum(times) + times[-1] > PROBE_BUDGET_SHARE * budget_s:
        return False
    if times[-1] > REPEAT_PROBE_FRACTION * max(left_s, 0.0):
        return False
    return len(times) < 2 or times[-1] < 0.85 * times[-2]


def validation_interval_s(clock: BudgetClock, now: float, evaluations: int) -> float:
    """Seconds of training between validations for about ``evaluations`` of them, but at
    least ``MIN_VALIDATION_INTERVAL_S`` (short budgets validate less often, so validation
    does not eat the training time)."""
    return max(MIN_VALIDATION_INTERVAL_S,
               (clock.fit_deadline() - now) / max(1, int(evaluations)))


@dataclass
class _Trace:
    """Per-step record of the schedule (for ``budget.json``)."""

    rows: list[tuple[int, float, float, float]] = field(default_factory=list)

    def add(self, step: int, elapsed: float, fraction: float, lr: float) -> None:
        self.rows.append((step, elapsed, fraction, lr))

    def sampled(self, most: int = 400) -> list[dict[str, float]]:
        keep = self.rows[:: max(1, math.ceil(len(self.rows) / most))]
        if self.rows and keep[-1] is not self.rows[-1]:
            keep.append(self.rows[-1])
        return [{"step": s, "elapsed_s": round(e, 3), "fraction": f, "lr": lr}
                for s, e, f, lr in keep]


class BudgetCallback(L.Callback):
    """Sets the learning rate from the elapsed fraction of the budget and stops on time.

    Args:
        settings: The budget and the schedule.
        clock: The run's :class:`BudgetClock` (started when ``train()`` began).
        peak_lr: The peak learning rate (the config's ``optimizer.lr`` or a range test's).
        probe: Runs the finishing step once (export, validation predictions) and is timed
            on the first best checkpoint, so the reserve is measured; ``None``: guessed.
        checkpoint_ready: Whether a checkpoint exists for ``probe`` to finish.
        validate_every_steps: The validation interval in steps when validation is
            step-based (Protocol C ``eval_every``), else ``None`` (time-based,
            ``interval_s``).
        interval_s: Seconds of training between validations (time-based).
    """

    def __init__(self, settings: BudgetSettings, clock: BudgetClock, peak_lr: float,
                 probe: Callable[[], Any] | None = None,
                 checkpoint_ready: Callable[[], bool] | None = None,
                 validate_every_steps: int | None = None, interval_s: float | None = None
                 ) -> None:
        self.settings = settings
        self.clock = clock
        self.peak_lr = float(peak_lr)
        self.probe = probe
        self.checkpoint_ready = checkpoint_ready or (lambda: False)
        self.every_steps = validate_every_steps
        self.interval_s = interval_s
        self.planned_interval_s = interval_s
        self.widened_interval_s: float | None = None
        self.trace = _Trace()
        self.probes: list[float] = []
        self.stopped_by_budget = False
        self._last_batch_end: float | None = None
        self._validation_start: float | None = None
        self._last_validation_end = clock.start
        self._validation_counted = False
        self.fit_end: float | None = None
        self.stopped_at: float | None = None
        self._fraction = 0.0

    @property
    def fraction(self) -> float:
        """The elapsed fraction of the fitting time at the latest training batch (never
        decreasing; ``>= 1`` once the time is over), as the schedule used it."""
        return self._fraction

    # ------------------------------------------------------------------ the schedule
    def _sync(self, trainer: L.Trainer, value: float) -> float:
        """The same value on every process (rank zero's), so the replicas stay equal."""
        if trainer.world_size > 1:
            return float(trainer.strategy.broadcast(value, src=0))
        return value

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        now = time.perf_counter()
        self.clock.fit_start = self.clock.fit_start or now
        self._last_validation_end = now
        self._set_lr(trainer, self._sync(trainer, lr_factor(0.0, self.settings.schedule,
                                                            self.settings.warmup_fraction)))

    def _set_lr(self, trainer: L.Trainer, factor: float) -> float:
        lr = self.peak_lr * factor
        for optimizer in trainer.optimizers:
            for group in optimizer.param_groups:
                group["lr"] = lr
        return lr

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: L.LightningModule,
                             batch: Any, batch_idx: int) -> None:
        if self._validation_start is not None and not self._validation_counted:
            # the validation that just ended, with its checkpoint writes
            self.clock.observe_validation(time.perf_counter() - self._validation_start)
            self._validation_counted = True
            self._widen_validation_interval(trainer)
            if self.probe is not None and not self.probes:
                self._run_probe(trainer)
        now = time.perf_counter()
        # never backwards: a reserve measured smaller than guessed moves the deadline later
        fraction = max(self._fraction, self._sync(trainer, self.clock.fraction(now)))
        self._fraction = fraction
        lr = self._set_lr(trainer, self.settings.factor(fraction))
        self.trace.add(int(trainer.global_step), now - self.clock.start, fraction, lr)

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule,
                           outputs: Any, batch: Any, batch_idx: int) -> None:
        now = time.perf_counter()
        if self._last_batch_end is not None and self._validation_start is None:
            self.clock.observe_step(now - self._last_batch_end)
        self._last_batch_end, self._validation_start = now, None
        stop = self.clock.should_stop(now, self._validation_due(trainer, now))
        if trainer.world_size > 1:
            stop = trainer.strategy.reduce_boolean_decision(stop, all=False)
        if stop and not trainer.should_stop:
            self.stopped_by_budget, self.stopped_at = True, now
            trainer.should_stop = True

    def _widen_validation_interval(self, trainer: L.Trainer) -> None:
        """Lengthen the time between validations when they are slow (whole frames decoded
        by a bottom-up grouper, say), so they keep to :data:`VALIDATION_SHARE`."""
        if self.interval_s is None or self.clock.validation_s is None:
            return
        wanted = self._sync(trainer, self.clock.validation_s
                            * (1.0 - VALIDATION_SHARE) / VALIDATION_SHARE)
        if wanted > self.interval_s:
            self.interval_s = wanted
            if getattr(trainer, "_val_check_time_interval", None) is not None:
                # Lightning 2.6 keeps the time-based interval here; no public setter exists.
                trainer._val_check_time_interval = wanted
            self.widened_interval_s = wanted

    def _validation_due(self, trainer: L.Trainer, now: float) -> bool:
        if self.every_steps:
            return (int(trainer.global_step)) % self.every_steps == 0
        if self.interval_s is None:
            return False
        return now - self._last_validation_end >= self.interval_s

    # ------------------------------------------------------------------ measuring
    def on_validation_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not trainer.sanity_checking:
            self._validation_start = time.perf_counter()
            self._validation_counted = False

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._last_validation_end = time.perf_counter()

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.fit_end = time.perf_counter()

    def _run_probe(self, trainer: L.Trainer) -> None:
        """Time the finishing step on the first best checkpoint, again while
        :func:`repeat_probe` says so; the estimate is the median of the runs after the
        first (the first alone when it was not repeated)."""
        finish = None
        if trainer.is_global_zero and self.checkpoint_ready():
            while True:
                begin = time.perf_counter()
                try:
                    self.probe()
                except Exception as exc:  # noqa: BLE001 - timing only; the real finish reports
                    logger.warning("budget: timing the finishing step failed (%s); its "
                                   "duration is guessed", exc)
                    break
                self.probes.append(time.perf_counter() - begin)
                warm = self.probes[1:] or self.probes  # the first pays one-off costs
                finish = float(statistics.median(warm))
                left = self.clock.fit_deadline() - time.perf_counter()
                if not repeat_probe(self.probes, self.clock.budget_s, left):
                    break
        self.probes = self.probes or [math.nan]
        finish = self._sync(trainer, finish if finish is not None else -1.0)
        if finish >= 0:
            self.clock.observe_finish(finish)

    # ------------------------------------------------------------------ the report
    def report(self, total_s: float | None = None) -> dict[str, Any]:
        """What the budget planned and what happened (written as ``budget.json``)."""
        c = self.clock
        return {
            "budget_s": c.budget_s, "schedule": self.settings.schedule,
            "warmup_fraction": (self.settings.warmup_fraction
                                if self.settings.warmup_fraction is not None
                                else DEFAULT_WARMUP[self.settings.schedule]),
            "peak_lr": self.peak_lr,
            "setup_s": None if c.fit_start is None else round(c.fit_start - c.start, 3),
            "step_s": c.step_s, "validation_s": c.validation_s, "finish_s": c.finish_s,
            "finish_probes_s": [p for p in self.probes if math.isfinite(p)],
            "validation_interval_s": self.planned_interval_s,
            "validation_interval_widened_s": self.widened_interval_s,
            "reserve_s": c.reserve_s(), "stopped_by_budget": self.stopped_by_budget,
            "stopped_at_s": None if self.stopped_at is None else round(self.stopped_at - c.start, 3),
            "fit_end_s": None if self.fit_end is None else round(self.fit_end - c.start, 3),
            "total_s": total_s,
            "lr_trace": self.trace.sampled(),
        }


def write_report(budget: BudgetCallback, run_dir: Path, total_s: float) -> Path:
    """Write ``budget.json`` into the run folder."""
    from posekit.utils.atomic import atomic_write_text

    return atomic_write_text(run_dir / REPORT_NAME, json.dumps(budget.report(total_s), indent=1))


def budget_settings(budget_s: float | str | BudgetSettings | None, schedule: str = "linear",
                    warmup_fraction: float | None = None, evaluations: int = 15
                    ) -> BudgetSettings | None:
    """The settings of a budgeted run, or ``None`` without a budget.

    Args:
        budget_s: Seconds, a duration such as ``"15m"`` or ``"1h30m"``
            (:func:`posekit.utils.durations.parse_duration`), or complete settings.

    Raises:
        ConfigError: unreadable duration text or bad settings.
    """
    if budget_s is None or isinstance(budget_s, BudgetSettings):
        return budget_s
    if isinstance(budget_s, str):
        from posekit.utils.durations import parse_duration

        budget_s = parse_duration(budget_s)
    return BudgetSettings(float(budget_s), schedule, warmup_fraction, int(evaluations))


#: A process older than this is not a fresh command (a test runner, a notebook calling the
#: command line): its budget counts from the call instead of the process start.
STARTUP_MAX_S = 60.0


def process_started_at() -> float:
    """This process's start as a ``time.perf_counter()`` value (psutil's creation time,
    moved from the wall clock onto the performance counter), or now when the process is
    older than :data:`STARTUP_MAX_S`."""
    import psutil

    age = max(0.0, time.time() - psutil.Process().create_time())
    return time.perf_counter() - (age if age <= STARTUP_MAX_S else 0.0)


def time_based_validation() -> bool:
    """Whether this Lightning validates on a wall-clock interval (``val_check_interval``
    as a duration, Lightning 2.6 and later)."""
    from packaging.version import Version

    return Version(L.__version__) >= Version("2.6")


def scratch_run_copy(run_dir: Path, names: tuple[str, ...], scratch_name: str = ".budget_probe"
                     ) -> Path:
    """A throw-away run folder inside ``run_dir`` whose files link to the run's own
    (copies where links are not allowed), for timing the finishing step."""
    import shutil

    scratch = run_dir / scratch_name
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    for name in names:
        source = run_dir / name
        if not source.is_file():
            continue
        try:
            (scratch / name).symlink_to(source.resolve())
        except OSError:
            shutil.copy2(source, scratch / name)
    return scratch


def plan_budget(loop: dict, budget: BudgetSettings, clock: BudgetClock, peak_lr: float, *,
                eval_every: int | None, max_epochs: int | None, save_ckpt: bool,
                probe: Callable[[], Any] | None, checkpoint_ready: Callable[[], bool]
                ) -> tuple[BudgetCallback, str, bool]:
    """Fit a run's ``lightning.Trainer`` loop settings (``loop``, changed in place) to the
    budget: epochs no longer end the run (unless ``max_epochs`` is given, a ceiling),
    validation every ``budget / evaluations`` seconds (or every ``eval_every`` steps), and
    Lightning's ``max_time`` as a backstop.

    Returns:
        The :class:`BudgetCallback`, a note for the run, and whether validation still
        follows epochs (only on a Lightning without time-based validation).
    """
    loop["max_epochs"] = -1 if max_epochs is None else int(max_epochs)
    if save_ckpt:
        warm_up_finishing()
    now = time.perf_counter()
    interval = None
    if not eval_every and time_based_validation():
        interval = validation_interval_s(clock, now, budget.evaluations)
        loop.update(val_check_interval={"seconds": interval}, check_val_every_n_epoch=1)
    loop["max_time"] = {"seconds": max(1.0, clock.end - now)}
    if not save_ckpt:
        clock.observe_finish(0.0)  # nothing to export or score
    callback = BudgetCallback(budget, clock, peak_lr, probe=probe if save_ckpt else None,
                              checkpoint_ready=checkpoint_ready,
                              validate_every_steps=eval_every, interval_s=interval)
    line = (f"time budget {budget.budget_s:.0f} s: {budget.schedule} learning-rate schedule "
            f"over the elapsed fraction of the budget (peak {peak_lr:.3g}) replaces "
            "trainer_config.lr_scheduler; "
            + (f"max_epochs {max_epochs} is a ceiling" if max_epochs is not None
               else "trainer_config.max_epochs is ignored")
            + (f"; validation every {interval:.1f} s" if interval else
               f"; validation every {eval_every} steps" if eval_every else
               "; validation every epoch"))
    logger.info(line)
    per_epoch = interval is None and not eval_every
    return callback, line, per_epoch


def close_budget(budget: BudgetCallback, run_dir: Path, start: float) -> str:
    """Write ``budget.json`` (planned and measured times, the learning-rate trace) and
    return a one-line summary."""
    total = time.perf_counter() - start
    write_report(budget, run_dir, total)
    return (f"time budget: {total:.1f} s of {budget.clock.budget_s:.0f} s used (fitting "
            f"{'stopped by the budget' if budget.stopped_by_budget else 'ended before it'})")


def warm_up_finishing() -> float:
    """Import what the finishing step uses (ONNX, ONNX Runtime, quantization) before the
    clock starts counting fitting time, so its one-off cost is paid in the measured set-up
    rather than inside the timed finishing step; returns the seconds it took."""
    import importlib

    begin = time.perf_counter()
    for name in ("posekit.training.finish", "posekit.inference.quantize", "onnx",
                 "onnxruntime", "onnxruntime.quantization"):
        try:
            importlib.import_module(name)
        except ImportError:  # optional runtimes: the finishing step copes without them
            continue
    return time.perf_counter() - begin
