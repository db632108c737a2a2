"""``posekit report validate``: predictions against a reference (manual scoring, labels or
another tool's predictions), measure by measure and keypoint by keypoint."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

VALIDATE_HELP = """Validate predictions against a reference: behavioural measures and keypoints.

The reference is manual scoring (a CSV of frame, animal, x, y, as BORIS-style tools
export; optional node and time columns), labels (.slp, DeepLabCut project) or another
tool's predictions of the same video (SLEAP .slp / analysis .h5 / .csv, DeepLabCut .h5 /
.csv). Both sources are measured at the reference's sample times (speed, distance, time
in zones, immobility; per animal, per --bin-s bin) and compared: Pearson and Spearman
correlation, ICC(2,1), Bland-Altman bias and limits, paired t-test or Wilcoxon (chosen by
Shapiro-Wilk), a verdict per measure; with --metadata, Cohen's d between groups from each
source. Several files: repeat PREDICTIONS and --reference, paired in order.

Example: [bold]posekit report validate session1.slp --reference session1_boris.csv
--px-per-cm 8.5 --bin-s 60 --arena arena.json -o validation.html[/bold]
"""


def validate_command(
    predictions: Annotated[list[Path], typer.Argument(
        help="Predictions file(s): .slp, SLEAP analysis .h5/.csv, DeepLabCut .h5/.csv.")],
    reference: Annotated[list[Path], typer.Option(
        "--reference", "-r", help="The reference for each predictions file (same order): "
        "manual-scoring CSV, labels, or another tool's predictions.")],
    node: Annotated[str, typer.Option(
        "--node", help="Node giving each animal's position, or centroid.")] = "centroid",
    px_per_cm: Annotated[float | None, typer.Option(
        "--px-per-cm", help="Pixels per cm (default: lengths in px).")] = None,
    fps: Annotated[float | None, typer.Option(
        "--fps", help="The video's frame rate (default: read from the video).")] = None,
    reference_fps: Annotated[float | None, typer.Option(
        "--reference-fps", help="The rate the reference's frame numbers count at, when it "
        "is not the video's (aligned by timestamps).")] = None,
    bin_s: Annotated[float | None, typer.Option(
        "--bin-s", help="Time-bin length in s (default: the whole recording).")] = None,
    arena: Annotated[Path | None, typer.Option(
        "--arena", help="Arena / zones JSON (time in zone, thigmotaxis).")] = None,
    immobile_speed: Annotated[float | None, typer.Option(
        "--immobile-speed", help="Speed below which a sample is immobile (speed unit).")
    ] = None,
    metadata: Annotated[Path | None, typer.Option(
        "--metadata", help="CSV with a 'video' column and a group column (Cohen's d).")
    ] = None,
    group: Annotated[str | None, typer.Option(
        "--group", help="The metadata column holding the groups.")] = None,
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", help="The report page (default: validation_report.html beside "
        "the first predictions file).")] = None,
    json_path: Annotated[Path | None, typer.Option(
        "--json", help="The JSON of every number (default: the page's name, .json).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace existing report files.")
                     ] = False,
) -> None:
    """Validate predictions against a reference."""
    from posekit.behaviour.arena import load_arena
    from posekit.reports.output import report_paths, write_report
    from posekit.reports.validation_report import validation_report
    from posekit.reports.validation_study import ValidationSettings, validate_predictions

    settings = ValidationSettings(node=node, px_per_cm=px_per_cm, fps=fps,
                                  reference_fps=reference_fps, bin_s=bin_s,
                                  immobile_speed=immobile_speed, group=group)
    inputs = [*predictions, *reference, *(p for p in (arena, metadata) if p is not None)]
    html, js = report_paths(output, predictions[0].parent / "validation_report.html",
                            json_path, force, inputs)
    zones = load_arena(arena) if arena is not None else []
    study = validate_predictions(predictions, reference, settings, zones, metadata)
    write_report(validation_report(study), html, js)
    for m in study.measures:
        a = m.agreement
        typer.echo(f"{m.name}: {a.verdict} (n {a.n}, r {_text(a.pearson_r)}, ICC "
                   f"{_text(a.icc)}, bias {_text(a.bland_altman.bias if a.bland_altman else None)}"
                   f" {m.unit})")
    for pair in study.pairs:
        if pair.alignment.gap_text:
            typer.echo(f"{pair.reference}: {pair.alignment.gap_text}", err=True)
    typer.echo(f"wrote {html} and {js}")


def _text(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}"


def register(group: typer.Typer) -> None:
    """Add ``validate`` to the ``posekit report`` group."""
    group.command("validate", help=VALIDATE_HELP)(validate_command)
