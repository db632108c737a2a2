"""``posekit config auto``: measure the labels and write a training config chosen from them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def auto_cmd(
    labels: Annotated[Path, typer.Argument(help="Labels (.slp, .pkg.slp or DeepLabCut project).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Config YAML to write "
                                         "(top-down: one file per stage, same stem).")],
    budget: Annotated[str | None, typer.Option(
        "--budget", help="Training time budget, e.g. 15m, 90s, 1h30m: sizes the epochs.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace existing outputs.")] = False,
    device: Annotated[str | None, typer.Option(
        "--device", help="Where to time a training step (default: cuda if present, else cpu).")
    ] = None,
    no_preview: Annotated[bool, typer.Option(
        "--no-preview", help="Do not write the receptive-field preview PNG.")] = False,
    model_type: Annotated[str | None, typer.Option(
        "--model-type", help="Train this type instead of the rules' choice: single_instance, "
        "centered_instance, bottomup, multi_class_bottomup or multi_class_topdown (top-down "
        "types add a centroid model); everything else is still chosen from the labels.")
    ] = None,
    backbone: Annotated[str, typer.Option(
        "--backbone", help="unet (sleap-nn's, from scratch; the file stays readable by "
        "sleap-nn) or efficientnet_lite0 (posekit only: ImageNet-pretrained encoder, fewer "
        "large errors in the same minutes on small label sets).")] = "unet",
) -> None:
    """Measure the labels (frame and animal sizes, animals per frame, tracks, orientation)
    and write a commented sleap-nn config whose every chosen value says why.

    Example: posekit config auto labels.slp --budget 15m -o auto.yaml
    """
    from posekit.autoconfig.api import auto_config
    from posekit.utils.durations import format_duration, parse_duration

    budget_s = parse_duration(budget) if budget is not None else None
    result = auto_config(labels, budget_s=budget_s, output=output, force=force, device=device,
                         preview=not no_preview, model_type=model_type, backbone=backbone)
    typer.echo(f"model type: {', '.join(result.model_type.value)} "
               f"({result.model_type.reason})")
    for stage in result.stages:
        step = stage.step
        typer.echo(f"wrote {stage.path}: {stage.plan.head_type}, input "
                   f"{stage.plan.input_hw[1]}x{stage.plan.input_hw[0]}, batch {step.batch}, "
                   f"{step.seconds:.3g} s per step on {step.device}")
        if stage.budget_s is not None:
            share = format_duration(stage.budget_s)
            typer.echo(f"  sized for {share}; `posekit train {stage.path} --budget {share}` "
                       "keeps it on time")
        if stage.sidecar is not None:
            window = stage.plan.window
            extra = f", training on {window.value} px windows" if window is not None else ""
            typer.echo(f"wrote {stage.sidecar}: posekit-only settings (foreground weighting"
                       f"{extra})")
    if result.preview is not None:
        typer.echo(f"wrote {result.preview} (receptive field preview)")


def register(config_app: typer.Typer) -> None:
    """Add ``auto`` to the ``config`` group (once, however often the root is built)."""
    if not any(c.name == "auto" for c in config_app.registered_commands):
        config_app.command("auto")(auto_cmd)
