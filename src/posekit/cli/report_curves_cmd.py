"""``posekit report curves``: diagnose a run's loss curves."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

DEFAULT_NAME = "curves_report.html"
"""The page's name inside the run folder when ``-o`` is not given."""


def curves_cmd(
    run: Annotated[Path, typer.Argument(help="A run folder (<ckpt_dir>/<run_name>) or its "
                                        "training_log.csv.")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="The report page "
                                                "(.html; default: RUN/curves_report.html).")
                      ] = None,
    json_path: Annotated[Path | None, typer.Option("--json", help="The JSON of every number "
                                                   "(default: the page's name with .json).")
                         ] = None,
    force: Annotated[bool, typer.Option(help="Replace existing report files.")] = False,
) -> None:
    """Diagnose the training and validation loss curves of a run: overfitting,
    underfitting, plateau, volatile validation, unstable training or healthy, with the
    evidence (epochs, trends, ratios, thresholds) and what to do next. Writes one HTML page
    that opens offline and a JSON of every number (docs/reports.md).

    Example: posekit report curves models/single -o single_curves.html
    """
    from posekit.reports.curve_diagnosis import diagnose_run, find_training_log
    from posekit.reports.curve_report import curves_report
    from posekit.reports.output import report_paths, write_report

    log = find_training_log(run)
    run_dir = run if run.is_dir() else run.parent
    html, js = report_paths(output, run_dir / DEFAULT_NAME, json_path, force, inputs=[log])
    diagnosis = diagnose_run(log)
    write_report(curves_report(diagnosis, run_dir), html, js)
    typer.echo(diagnosis.headline)
    typer.echo(f"report: {html}\nnumbers: {js}")


def register(report_app: typer.Typer) -> None:
    """Attach ``curves`` to the ``posekit report`` group."""
    report_app.command("curves", short_help="Diagnose a run's loss curves (overfitting, "
                       "plateau, ...) and say what to do.")(curves_cmd)
