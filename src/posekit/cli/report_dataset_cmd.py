"""``posekit report dataset``: the dataset audit (composition, coverage, pose variance,
visibility, labeler agreement, split leakage) as one HTML page and its JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from posekit.errors import ConfigError

SUFFIXES = (".pkg.slp", ".slp")


def default_output(labels: Path) -> Path:
    """``LABELS`` -> ``<its folder>/<stem>.dataset_report.html`` (a DeepLabCut project:
    ``<project>.dataset_report.html`` beside the project folder, which stays untouched)."""
    if labels.name.lower() == "config.yaml":
        labels = labels.parent
    if labels.is_dir():
        project = labels.resolve()
        return project.parent / f"{project.name}.dataset_report.html"
    name = labels.name
    for suffix in SUFFIXES:
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
            break
    return labels.parent / f"{name}.dataset_report.html"


def _split_list(values: list[str] | None) -> list[str]:
    """Repeated options and comma-separated values as one list."""
    return [v.strip() for value in values or [] for v in value.split(",") if v.strip()]


def _axis(text: str | None) -> tuple[str, str] | None:
    if text is None:
        return None
    parts = _split_list([text])
    if len(parts) != 2:
        raise ConfigError(f"--axis {text}: expected two node names, head then tail, e.g. "
                          "--axis head,tail_base.")
    return parts[0], parts[1]


def dataset(
    labels: Annotated[Path, typer.Argument(help="Labels: .slp, .pkg.slp or a DeepLabCut "
                                           "project.")],
    metadata: Annotated[Path | None, typer.Option(
        "--metadata", help="CSV with a 'video' column and one row per video (animal, "
        "session, treatment, dose, camera, arena...).")] = None,
    condition: Annotated[list[str] | None, typer.Option(
        "--condition", help="Metadata columns that define conditions (repeat or "
        "comma-separate; default: every column but animal and session).")] = None,
    ethogram: Annotated[Path | None, typer.Option(
        "--ethogram", help="Behaviour bouts: CSV with video, start, stop, behaviour "
        "(frames, both included).")] = None,
    labelers: Annotated[list[Path] | None, typer.Option(
        "--labelers", help="Two or more labelers' files of the same frames (repeat the "
        "option) for labeler agreement.")] = None,
    split: Annotated[Path | None, typer.Option(
        "--split", help="A folder written by posekit labels split: its sides and their "
        "leakage.")] = None,
    axis: Annotated[str | None, typer.Option(
        "--axis", help="Body axis for the pose variance: head,tail node names (default: "
        "chosen from the node names or the most rigid pair).")] = None,
    hashes: Annotated[bool, typer.Option(
        "--hashes/--no-hashes", help="Compare split images by hash (reads every frame of "
        "the split).")] = True,
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", help="The page (.html); default: LABELS_STEM.dataset_report.html "
        "beside the labels.")] = None,
    json_path: Annotated[Path | None, typer.Option(
        "--json", help="The JSON of every number (default: the page's name with .json).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace existing outputs.")] = False,
) -> None:
    """Audit a labelled dataset: labelled frames per video, animal, session and condition,
    condition coverage, animals per frame against the guide's frame counts, pose variance,
    node visibility, frame sizes, and (when given) behaviour coverage, labeler agreement
    and the split's leakage. Every problem is named in a plain sentence. Inputs are never
    modified.

    Example: [bold]posekit report dataset labels.pkg.slp --metadata metadata.csv
    --split splits/[/bold]
    """
    from rich.console import Console

    from posekit.io.labels import load_labels
    from posekit.reports.dataset_audit import audit_dataset
    from posekit.reports.dataset_html import dataset_report
    from posekit.reports.output import report_paths, write_report

    inputs = [p for p in (labels, metadata, ethogram, *(labelers or [])) if p is not None]
    html, js = report_paths(output, default_output(labels), json_path, force, inputs)
    files = [Path(p) for p in _split_list([str(p) for p in labelers or []])]
    if len(files) == 1:
        raise ConfigError(f"--labelers {files[0]}: one file; expected two or more labelers' "
                          "files of the same frames (repeat --labelers).")
    try:
        audit = audit_dataset(load_labels(labels), source=str(labels), metadata=metadata,
                              condition_columns=_split_list(condition) or None,
                              ethogram=ethogram, labeler_files=files, split=split,
                              axis=_axis(axis), hashes=hashes)
    except ValueError as exc:  # an axis node not in the skeleton
        raise ConfigError(f"--axis {axis}: {exc} Name two nodes of the skeleton.") from exc
    write_report(dataset_report(audit), html, js)
    console = Console()
    console.print(f"{audit.frames} labelled frames, {audit.animals} animals, "
                  f"{len(audit.recordings)} recording(s); pose-variance index "
                  f"{'n/a' if audit.pose.index is None else f'{audit.pose.index:.3f}'}")
    for warning in audit.warnings:
        console.print(f"[yellow]warning:[/yellow] {warning.message}", highlight=False)
    console.print(f"report: {html} (numbers: {js})", highlight=False)


def register(report_app: typer.Typer) -> None:
    """Attach ``dataset`` to the ``posekit report`` group."""
    report_app.command("dataset", short_help="Audit a labelled dataset: composition, coverage, pose variance, leakage.")(dataset)
