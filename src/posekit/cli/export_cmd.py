"""``posekit export``: write a run's inference graph as ONNX for the fast CPU runtime."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def export_cmd(
    run_dir: Annotated[Path, typer.Argument(help="Run folder of a trained model.")],
    refinement: Annotated[str, typer.Option(help="Sub-pixel refinement: integral, local or none.")] = "integral",
) -> None:
    """Export the model (network + peak finding) to RUN_DIR/model.onnx.

    `posekit train` does this at the end of training; use it for older runs or another
    refinement. `posekit track` then runs the model with ONNX Runtime on the CPU.

    Example: posekit export runs/mouse_single
    """
    from posekit.inference.export import export_onnx
    from posekit.inference.run_folder import open_run_folder

    path = export_onnx(open_run_folder(run_dir), None if refinement == "none" else refinement)
    typer.echo(f"wrote {path}")


def register(root: typer.Typer) -> None:
    """Attach ``export`` to the root command."""
    root.command("export")(export_cmd)
