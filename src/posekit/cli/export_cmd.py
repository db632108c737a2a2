"""``posekit export``: write a run's inference graph as ONNX for the fast CPU runtime."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def export_cmd(
    run_dir: Annotated[Path, typer.Argument(help="Run folder of a trained model.")],
    refinement: Annotated[str, typer.Option(help="Sub-pixel refinement: integral, local or none.")] = "integral",
    int8: Annotated[bool, typer.Option("--int8", help="Also write an int8 graph and measure how "
                                       "far it moves the predicted points.")] = False,
) -> None:
    """Export the model (network + peak finding) to RUN_DIR/model.onnx.

    `posekit train` does this at the end of training; use it for older runs or another
    refinement. `posekit track` then runs the model with ONNX Runtime on the CPU.

    Example: posekit export runs/mouse_single
    """
    from posekit.inference.export import export_onnx
    from posekit.inference.run_folder import open_run_folder

    run = open_run_folder(run_dir)
    path = export_onnx(run, None if refinement == "none" else refinement)
    typer.echo(f"wrote {path}")
    if int8:
        from posekit.inference.quantize import quantize_int8

        q8 = quantize_int8(open_run_folder(run_dir))
        quality = open_run_folder(run_dir).int8_quality or {}
        typer.echo(f"wrote {q8}: points move {quality.get('mean_shift_px', float('nan')):.3f} px on "
                   f"average (95th percentile {quality.get('p95_shift_px', float('nan')):.3f} px) "
                   f"on {quality.get('compared_points', 0)} validation points")


def register(root: typer.Typer) -> None:
    """Attach ``export`` to the root command."""
    root.command("export")(export_cmd)
