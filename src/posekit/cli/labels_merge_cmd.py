"""``posekit labels merge``: merge label files (corrections win, nothing lost, a report)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from posekit.errors import ConfigError

if TYPE_CHECKING:
    from posekit.refinement.merge_report import MergeReport


def parse_node_map(items: list[str] | None) -> dict[str, str]:
    """``["old=new", "a=b"]`` -> ``{"old": "new", "a": "b"}``; ConfigError otherwise."""
    out: dict[str, str] = {}
    for item in items or []:
        old, sep, new = item.partition("=")
        if not sep or not old.strip() or not new.strip():
            raise ConfigError(
                f"--map-nodes {item!r}: expected OLD=NEW (a node name, '=', its new name), "
                "e.g. --map-nodes nose=snout."
            )
        out[old.strip()] = new.strip()
    return out


def default_report_path(output: Path) -> Path:
    """``OUT.slp`` / ``OUT.pkg.slp`` -> ``OUT.merge_report.json`` beside it."""
    name = output.name
    for suffix in (".pkg.slp", ".slp"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
            break
    return output.with_name(f"{name}.merge_report.json")


def render_report(report: MergeReport, report_path: Path | None) -> None:
    """One row per input, then conflicts, notes and a one-line summary."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title="posekit labels merge")
    columns = ("input", "frames", "user kept", "identical", "conflicts won/lost",
               "predictions kept", "corrected by user", "superseded", "suggestions added")
    for col in columns:
        table.add_column(col, justify="left" if col == "input" else "right")
    for s in report.sources:
        table.add_row(
            Path(s.path).name, str(s.frames), str(s.user_kept), str(s.user_identical),
            f"{s.user_conflicts_won}/{s.user_conflicts_lost}", str(s.predictions_kept),
            str(s.predictions_corrected), str(s.predictions_superseded),
            str(s.suggestions_added))
    console.print(table)
    for c in report.conflicts[:10]:
        console.print(f"[yellow]conflict:[/yellow] {c.video} frame {c.frame_idx}"
                      f"{' track ' + c.track if c.track else ''}: kept {Path(c.by or '').name}, "
                      f"dropped {Path(c.source).name}"
                      + (f" ({c.mean_distance_px:.1f} px apart)" if c.mean_distance_px else ""))
    if len(report.conflicts) > 10:
        console.print(f"... and {len(report.conflicts) - 10} more conflicts (see the report)")
    for video in report.videos:
        if video.rule not in ("new", "path"):
            console.print(f"[yellow]note:[/yellow] {Path(video.source).name}: {video.video} "
                          f"matched {video.recording} by {video.rule}")
    for note in report.notes:
        console.print(f"[yellow]note:[/yellow] {note}")
    console.print(
        f"merged {len(report.sources)} file(s): {report.frames} frames, "
        f"{report.user_instances} user instances, {report.predicted_instances} predictions, "
        f"{report.suggestions} suggestions; {len(report.conflicts)} conflict(s) (later file "
        f"won) -> {report.output}" + (f"; report: {report_path}" if report_path else ""))


def merge(
    inputs: Annotated[
        list[Path],
        typer.Argument(help="Labels files (.slp, .pkg.slp) or DeepLabCut projects, in order: "
                       "later files win conflicts."),
    ],
    output: Annotated[
        Path,
        typer.Option("-o", "--output",
                     help="Merged labels: .slp (frames referenced) or .pkg.slp (embedded)."),
    ],
    map_nodes: Annotated[
        list[str] | None,
        typer.Option("--map-nodes", help="Rename a node before merging: OLD=NEW (repeatable)."),
    ] = None,
    report: Annotated[
        Path | None,
        typer.Option(help="Merge report JSON (default: OUT.merge_report.json)."),
    ] = None,
    path_only: Annotated[
        bool,
        typer.Option("--path-only", help="Match videos by resolved path only (not by file "
                     "name + shape)."),
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the report as JSON instead of tables.")
    ] = False,
) -> None:
    """Merge label files into one: one skeleton, user labels win over predictions.

    Frames are matched by video (same resolved path, else same file name and shape) and
    frame index. Corrected predictions become user labels; two different user labels of
    the same animal in one frame are a conflict: the later file wins and the conflict is
    listed. Inputs are never modified; merging the result again changes nothing.

    Example: [bold]posekit labels merge labels.v001.slp round1_corrected.slp -o labels.v002.slp[/bold]
    """
    import json

    from posekit.refinement.merge import merge_labels_files

    _, result = merge_labels_files(inputs, output, map_nodes=parse_node_map(map_nodes),
                                   match_basename=not path_only)
    report_path = report or default_report_path(output)
    result.save(report_path)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
    else:
        render_report(result, report_path)


def register(labels_app: typer.Typer) -> None:
    """Attach ``merge`` to the ``posekit labels`` group."""
    labels_app.command("merge")(merge)
