"""``posekit report compare``: two runs (refinement rounds) side by side on the same frames,
with per-keypoint and per-condition differences and paired bootstrap intervals."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def compare(
    run_a: Annotated[Path, typer.Argument(help="The earlier run folder (A).")],
    run_b: Annotated[Path, typer.Argument(help="The later run folder (B); B - A is "
                                          "reported, negative is better.")],
    test: Annotated[Path | None, typer.Option(
        "--test", help="Labels both models predict (default: the runs' saved validation "
        "predictions, on the frames both validation sets share).")] = None,
    metadata: Annotated[Path | None, typer.Option(
        "--metadata", help="CSV with a 'video' column: per-condition differences.")] = None,
    condition: Annotated[str | None, typer.Option(
        "--condition", help="The metadata column of the conditions (default: treatment, "
        "else the first column; without metadata: the recording).")] = None,
    bootstrap: Annotated[int, typer.Option(
        "--bootstrap", help="Bootstrap resamples (frames drawn with replacement).")] = 2000,
    level: Annotated[float, typer.Option(
        "--level", help="Confidence level of the intervals.")] = 0.95,
    seed: Annotated[int, typer.Option("--seed", help="Bootstrap seed.")] = 0,
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", help="The page (.html); default: RUN_B/compare_RUN_A.html.")
    ] = None,
    json_path: Annotated[Path | None, typer.Option(
        "--json", help="The JSON of every number (default: the page's name with .json).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace existing outputs.")] = False,
) -> None:
    """Compare two runs on the same test frames: per keypoint and per condition, the
    difference in mean error (B - A) over the points both runs located, its paired
    bootstrap interval over frames, and whether it is beyond noise; the standard metrics
    of both runs; one plain summary. Inputs are never modified.

    Example: [bold]posekit report compare models/round1 models/round2 --test test.slp[/bold]
    """
    from rich.console import Console

    from posekit.reports.compare_html import compare_report
    from posekit.reports.output import report_paths, write_report
    from posekit.workflow.compare_runs import compare_runs

    default = run_b / f"compare_{run_a.resolve().name}.html"
    inputs = [p for p in (test, metadata) if p is not None]
    html, js = report_paths(output, default, json_path, force, inputs)
    result = compare_runs(run_a, run_b, test=test, metadata=metadata, condition=condition,
                          n_boot=bootstrap, level=level, seed=seed)
    write_report(compare_report(result), html, js)
    console = Console()
    for line in result.summary:
        console.print(line, highlight=False)
    for note in result.notes:
        console.print(f"[yellow]note:[/yellow] {note}", highlight=False)
    console.print(f"report: {html} (numbers: {js})", highlight=False)


def register(report_app: typer.Typer) -> None:
    """Attach ``compare`` to the ``posekit report`` group."""
    report_app.command("compare", short_help="Two runs side by side on the same frames, with bootstrap intervals.")(compare)
