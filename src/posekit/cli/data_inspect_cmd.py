"""``posekit data inspect``: summarise a labels file and list the problems found."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from rich.table import Table

    from posekit.io.inspection import LabelsSummary


def _overview(summary: LabelsSummary) -> Table:
    """Counts, skeleton, tracks and embedding as one two-column table."""
    from rich.table import Table

    ipf = summary.instances_per_frame
    overview = Table(title=f"{summary.path} ({summary.format})", show_header=False)
    overview.add_column("field", style="bold")
    overview.add_column("value")
    overview.add_row("labeled frames", str(summary.labeled_frames))
    overview.add_row("user instances", str(summary.user_instances))
    overview.add_row("predicted instances", str(summary.predicted_instances))
    overview.add_row(
        "instances per frame",
        f"min {ipf.min}, mean {ipf.mean:.2f}, max {ipf.max}  "
        + "  ".join(f"[{k}]x{v}" for k, v in ipf.histogram.items()),
    )
    skel = summary.skeleton
    overview.add_row(f"nodes ({len(skel.nodes)})", ", ".join(skel.nodes))
    overview.add_row(
        f"edges ({len(skel.edges)})", ", ".join(f"{a}-{b}" for a, b in skel.edges) or "-"
    )
    overview.add_row(
        f"tracks ({len(summary.tracks)})",
        ", ".join(f"{t.name} ({t.instances})" for t in summary.tracks) or "-",
    )
    overview.add_row("images embedded", summary.images_embedded)
    return overview


def _videos(summary: LabelsSummary) -> Table:
    """One row per video: file, embedding, frames, sizes, labelled frames, readable."""
    from rich.table import Table

    videos = Table(title="videos")
    for col in ("#", "file", "embedded", "frames", "size (WxH)", "channels", "labeled", "readable"):
        videos.add_column(col)
    for v in summary.videos:
        sizes = v.image_sizes or {}
        size_text = (
            "\n".join(f"{s} ×{n}" for s, n in sizes.items())
            if len(sizes) > 1
            else (f"{v.width}x{v.height}" if v.width else "?")
        )
        name = v.filename if len(v.filename) <= 40 else "…" + v.filename[-39:]
        videos.add_row(
            str(v.index),
            name,
            "yes" if v.embedded else "no",
            str(v.frames if v.frames is not None else "?"),
            size_text,
            str(v.channels if v.channels is not None else "?"),
            str(v.labeled_frames),
            "yes" if v.openable else "[red]no[/red]",
        )
    return videos


def _render(summary: LabelsSummary) -> None:
    """Print the summary as rich tables."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(_overview(summary))
    console.print(_videos(summary))
    if not summary.problems:
        console.print("[green]no problems found[/green]")
        return
    table = Table(title="problems")
    for col in ("kind", "count", "details", "examples"):
        table.add_column(col)
    for p in summary.problems:
        table.add_row(
            f"[yellow]{p.kind}[/yellow]",
            str(p.count),
            p.message,
            "; ".join(json.dumps(e) for e in p.examples),
        )
    console.print(table)


def inspect(
    path: Annotated[
        Path,
        typer.Argument(
            help="Labels file (.slp, .pkg.slp) or DeepLabCut project (folder/config.yaml)."
        ),
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the summary as JSON instead of tables.")
    ] = False,
) -> None:
    """Summarise a labels file: frames, instances, skeleton, tracks, videos and problems.

    Problems reported: points outside their image, instances without any visible point,
    the same (video, frame) labelled twice, and videos or images that cannot be opened.

    Example: [bold]posekit data inspect labels.v001.pkg.slp --json[/bold]
    """
    from posekit.io.inspection import inspect_labels

    summary = inspect_labels(path)
    if as_json:
        typer.echo(json.dumps(summary.to_dict(), indent=2))
    else:
        _render(summary)


def register(data_app: typer.Typer) -> None:
    """Attach ``inspect`` to the ``posekit data`` group."""
    data_app.command("inspect")(inspect)
