"""``posekit train``: train a model from a sleap-nn style config file."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from posekit.evaluation.results import EvaluationResult


def _fmt(value: object, digits: int = 3) -> str:
    if isinstance(value, (int, float)) and value == value:
        return f"{value:.{digits}f}"
    return "n/a"


def summarize_metrics(metrics: EvaluationResult) -> str:
    """One line with the headline validation metrics."""
    loc = metrics.localization
    return (f"mAP {_fmt(metrics.oks.map)}, mAR {_fmt(metrics.oks.mar)}, mean pixel error "
            f"{_fmt(loc.mean_px, 2)} px, RMSE {_fmt(loc.rmse_px, 2)} px, "
            f"PCK@5px {_fmt(metrics.pck.px.get(5.0))}")


def train_cmd(
    config: Annotated[Path, typer.Argument(help="Training config YAML (sleap-nn format).")],
    overrides: Annotated[
        list[str] | None,
        typer.Argument(help="Dotted overrides such as trainer_config.max_epochs=5."),
    ] = None,
) -> None:
    """Train a model; writes a run folder with checkpoints, logs, splits and metrics.

    Example: posekit train single.yaml trainer_config.max_epochs=50 "data_config.train_labels_path=[labels.pkg.slp]"
    """
    from posekit.training.trainer import train

    result = train(config, list(overrides or []))
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
