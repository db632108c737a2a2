"""``posekit report model``: how accurate a trained model is, where it fails, what to label
next (one HTML page and a JSON of every number)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

MODEL_HELP = """How accurate a trained model is, where it fails and what to label next.

Tests the run's model on its validation split (or on --test LABELS): errors per keypoint
(mean, RMSE, median, p90, share of animal size), OKS mAP, PCK, the train-test gap,
accuracy at likelihood cut-offs with the share of points kept, calibration, error by
condition and on held-out animals / sessions (with --metadata), the worst frames, the
loss-curve diagnosis, confidence over whole videos (--video) and what to do next.

Example: [bold]posekit report model runs/mouse --metadata meta.csv --video session3.mp4[/bold]
"""


def model_command(
    run_dir: Annotated[Path, typer.Argument(help="The run folder (posekit train output).")],
    test: Annotated[Path | None, typer.Option(
        "--test", help="Labels to test on (default: the run's validation split).")] = None,
    metadata: Annotated[Path | None, typer.Option(
        "--metadata", help="CSV with a 'video' column and one column per condition "
        "(animal, session, treatment...).")] = None,
    video: Annotated[list[Path] | None, typer.Option(
        "--video", help="A video to predict, or a predictions file (.slp), for video "
        "confidence; repeat for several.")] = None,
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", help="The report page (default: RUN_DIR/model_report.html).")] = None,
    json_path: Annotated[Path | None, typer.Option(
        "--json", help="The JSON of every number (default: the page's name, .json).")] = None,
    p_cutoff: Annotated[float, typer.Option(
        "--p-cutoff", help="Likelihood cut-off of the headline numbers.")] = 0.6,
    train_sample: Annotated[int, typer.Option(
        "--train-sample", min=0, help="Training frames predicted at most for the train-test "
        "gap (0: skip).")] = 200,
    peak_threshold: Annotated[float, typer.Option(
        "--peak-threshold", help="The model's peak threshold when predicting.")] = 0.2,
    device: Annotated[str, typer.Option(
        "--device", help="auto, cpu, cuda, cuda:1...")] = "auto",
    force: Annotated[bool, typer.Option(
        "--force", help="Replace existing report files.")] = False,
) -> None:
    """How accurate a trained model is, where it fails and what to label next."""
    from posekit.errors import ModelError
    from posekit.reports.output import report_paths
    from posekit.workflow.model_report import (
        ModelReportOptions,
        check_p_cutoff,
        write_model_report,
    )

    if not run_dir.is_dir():
        raise ModelError(f"{run_dir}: model folder not found; expected the run folder of a "
                         "trained model (<ckpt_dir>/<run_name>, written by posekit train).")
    videos = tuple(video or ())
    options = ModelReportOptions(test=test, metadata=metadata, videos=videos,
                                 p_cutoff=check_p_cutoff(p_cutoff), train_sample=train_sample,
                                 peak_threshold=peak_threshold, device=device)
    inputs = [p for p in (test, metadata, *videos) if p is not None]
    html, js = report_paths(output, run_dir / "model_report.html", json_path, force, inputs)
    html, js, results = write_model_report(run_dir, options, html, js,
                                           lambda text: typer.echo(text, err=True))
    o = results.performance.overall
    typer.echo(f"mean error {o.mean_px:.2f} px, RMSE {o.rmse_px:.2f} px on "
               f"{results.performance.frames} test frames" if o.mean_px is not None else
               "no error could be measured (no labelled point was matched)")
    for item in results.advice[:5]:
        typer.echo(f"- {item.text}")
    typer.echo(f"wrote {html} and {js}")


def register(group: typer.Typer) -> None:
    """Add ``model`` to the ``posekit report`` group."""
    group.command("model", help=MODEL_HELP)(model_command)
