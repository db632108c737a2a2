"""``posekit train``: train a model from a sleap-nn style config file."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from posekit.cli.numbers import fixed

if TYPE_CHECKING:
    from posekit.evaluation.results import EvaluationResult


def _is_the_command() -> bool:
    """Whether this process is the ``posekit`` command (not a test runner or a notebook
    calling the command line)."""
    program = Path(sys.argv[0]) if sys.argv and sys.argv[0] else Path()
    return program.stem == "posekit" or (program.name == "__main__.py"
                                         and program.parent.name == "posekit")


def summarize_metrics(metrics: EvaluationResult) -> str:
    """One line with the headline validation metrics."""
    loc = metrics.localization
    return (f"mAP {fixed(metrics.oks.map)}, mAR {fixed(metrics.oks.mar)}, mean pixel error "
            f"{fixed(loc.mean_px, 2)} px, RMSE {fixed(loc.rmse_px, 2)} px, "
            f"PCK@5px {fixed(metrics.pck.px.get(5.0))}")


def train_cmd(
    config: Annotated[Path, typer.Argument(help="Training config YAML (sleap-nn format).")],
    overrides: Annotated[
        list[str] | None,
        typer.Argument(help="Dotted overrides such as trainer_config.max_epochs=5."),
    ] = None,
    budget: Annotated[str | None, typer.Option(
        "--budget", help="Train to a wall-clock budget (15m, 90s, 1h30m) instead of epochs: "
        "the whole command, export included, ends on time.")] = None,
    schedule: Annotated[str, typer.Option(
        help="Learning-rate schedule of a budgeted run: linear, cosine or one_cycle.")
    ] = "linear",
    warmup: Annotated[float | None, typer.Option(
        help="Warm-up share of a budgeted run (default 0.05; one_cycle 0.3).")] = None,
    select_on: Annotated[str | None, typer.Option(
        "--select-on", help="Keep the best checkpoint by val_loss, pixel_error or pck "
        "(Protocol C).")] = None,
    eval_every: Annotated[int | None, typer.Option(
        "--eval-every", help="Validate every N optimizer steps.")] = None,
    patience: Annotated[int | None, typer.Option(
        help="Stop after P validations without improvement of the selection metric.")
    ] = None,
    pck_threshold: Annotated[float | None, typer.Option(
        "--pck-threshold", help="PCK distance in frame pixels (default 5).")] = None,
    lr_find: Annotated[bool, typer.Option(
        "--lr-find", help="Run a learning-rate range test first and train at its "
        "suggestion (Protocol A; lr_range.png in the run folder).")] = False,
    foreground_weight: Annotated[float | None, typer.Option(
        "--foreground-weight", help="Weight the confidence-map peaks' squared errors this "
        "many times at the start, fading to the plain loss (default: the sidecar's "
        "foreground_weighting, else 21 for budgeted runs and off otherwise; 1 turns it off).")
    ] = None,
    foreground_fade: Annotated[float | None, typer.Option(
        "--foreground-fade", help="Share of training after which the loss is plain "
        "(default 0.5).")] = None,
) -> None:
    """Train a model; writes a run folder with checkpoints, logs, splits and metrics.

    Example: posekit train single.yaml trainer_config.max_epochs=50 "data_config.train_labels_path=[labels.pkg.slp]"

    Example: posekit train single.yaml --budget 15m --select-on pck
    """
    from posekit.errors import ConfigError
    from posekit.training.budget import budget_settings, process_started_at
    from posekit.training.trainer import train

    if budget is None and (schedule != "linear" or warmup is not None):
        raise typer.BadParameter("the schedule of a run is fitted to a time budget only; "
                                 "expected --budget too (e.g. --budget 15m).",
                                 param_hint="--schedule / --warmup")
    try:
        budget_plan = budget_settings(budget, schedule, warmup) if budget is not None else None
        if budget_plan is not None and _is_the_command():  # counts from the command's start
            budget_plan = dataclasses.replace(budget_plan, started_at=process_started_at())
    except ConfigError as exc:
        raise typer.BadParameter(str(exc), param_hint="--budget / --schedule / --warmup") from exc
    flags = {"select_on": select_on, "eval_every": eval_every, "patience": patience,
             "pck_threshold_px": pck_threshold}
    selection = {k: v for k, v in flags.items() if v is not None}
    given = {"start_weight": foreground_weight, "fade_fraction": foreground_fade}
    foreground = {k: v for k, v in given.items() if v is not None} or None
    result = train(config, list(overrides or []), budget_s=budget_plan, selection=selection,
                   lr_find=lr_find, foreground=foreground)
    typer.echo(f"run folder: {result.run_dir}")
    for note in result.notes:
        typer.echo(f"note: {note}")
    if result.metrics:
        typer.echo(f"validation: {summarize_metrics(result.metrics)}")
    if result.interrupted:
        typer.secho(f"interrupted after {result.epochs} epochs; resume with "
                    f"trainer_config.resume_ckpt_path={result.last_checkpoint}",
                    fg=typer.colors.YELLOW, err=True)
        raise typer.Exit(130)
    typer.echo(f"finished: {result.epochs} epochs in {result.wall_time_s:.1f} s "
               f"({result.train_samples_per_s:.1f} training samples/s); best checkpoint "
               f"{result.best_checkpoint or 'none'}")


def register(root: typer.Typer) -> None:
    """Attach ``train`` to the root command."""
    root.command("train")(train_cmd)
