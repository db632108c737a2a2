"""``posekit demo``: the built-in end-to-end demonstration on synthetic animals."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from posekit.cli.numbers import fixed


def demo_cmd(
    out: Annotated[Path, typer.Option("--out", help="Folder for everything the demo writes.")]
    = Path("posekit_demo"),
    minutes: Annotated[float, typer.Option(help="Training time budget.")] = 2.0,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic data.")] = 0,
) -> None:
    """Render synthetic mice, train a model, predict a new video and print the scores.

    Example: posekit demo --out /tmp/posekit_demo --minutes 2
    """
    from rich.console import Console
    from rich.table import Table

    from posekit.demo import run_demo

    result = run_demo(out, minutes=minutes, seed=seed)
    table = Table(title="held-out synthetic video: trained vs untrained network")
    for col in ("model", "mean error (px)", "RMSE (px)", "median (px)", "PCK@5px", "OKS mAP",
                "frames/s"):
        table.add_column(col, justify="right")
    for name, m in (("trained", result.trained), ("untrained", result.untrained)):
        table.add_row(name, fixed(m["mean_px"], 2), fixed(m["rmse_px"], 2),
                      fixed(m["median_px"], 2), fixed(m["pck_5px"], 3),
                      fixed(m["mAP"], 3), fixed(m["frames_per_s"], 1))
    console = Console()
    console.print(table)
    t = result.training
    console.print(f"trained {t['epochs']} epochs in {t['seconds']:.0f} s "
                  f"({t['samples_per_s']:.1f} samples/s)")
    for name, path in result.paths.items():
        console.print(f"{name}: {path}")


def register(root: typer.Typer) -> None:
    """Attach ``demo`` to the root command."""
    root.command("demo")(demo_cmd)
