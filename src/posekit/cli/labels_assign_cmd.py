"""``posekit labels assign``: split frames among labelers with a shared, overlapping share."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from posekit.errors import ConfigError

if TYPE_CHECKING:
    from posekit.refinement.assign import Assignment


def _shared_by(value: str) -> int | None:
    if value.strip().lower() == "all":
        return None
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"--shared-by {value!r}: not a number; expected an integer >= 2 or "
                          "'all' (every labeler labels the shared frames).") from None


def _table(assignment: Assignment):
    from rich.table import Table

    counts = assignment.counts()
    by = "per_labeler_condition" if assignment.condition_columns else "per_labeler_video"
    groups = sorted({g for row in counts[by].values() for g in row})
    table = Table(title=f"labels assign: {len(assignment.frames)} frames, "
                  f"{assignment.n_shared} shared")
    for col in ("labeler", "frames", "shared", *groups):
        table.add_column(col, justify="left" if col == "labeler" else "right")
    for name in assignment.settings.labelers:
        table.add_row(name, str(counts["per_labeler"][name]),
                      str(counts["shared_per_labeler"][name]),
                      *(str(counts[by][name].get(g, 0)) for g in groups))
    return table


def assign(
    frames: Annotated[Path, typer.Argument(
        help="Labels file listing the frames to label (suggestions and / or labelled "
             "frames), e.g. from posekit frames extract.")],
    labelers: Annotated[str, typer.Option(help="Labeler names, comma-separated.")],
    output: Annotated[Path, typer.Option("-o", "--output",
                                         help="Folder for NAME.slp per labeler and "
                                              "assign_manifest.json.")],
    overlap: Annotated[float, typer.Option(
        help="Share of frames labelled by several labelers (the guide's 0.2).")] = 0.2,
    shared_by: Annotated[str, typer.Option(
        help="Labelers per shared frame: a number >= 2, or 'all'.")] = "2",
    metadata: Annotated[Path | None, typer.Option(
        help="CSV with a 'video' column and condition columns (treatment, dose...): "
             "frames are balanced by condition, then video.")] = None,
    condition: Annotated[str | None, typer.Option(
        help="Metadata columns defining a condition, comma-separated (default: treatment "
             "when present).")] = None,
    seed: Annotated[int, typer.Option(help="Seed: the same seed, the same assignment.")] = 0,
    which: Annotated[str, typer.Option(
        "--frames", help="Which frames: all, suggestions or labeled.")] = "all",
    embed: Annotated[bool | None, typer.Option(
        "--pkg/--no-pkg", help="Write NAME.pkg.slp with the images embedded (default: when "
                               "the input's frames are embedded).")] = None,
    keep_predictions: Annotated[bool, typer.Option(
        help="Copy the input's predictions as starting points (raises the measured "
             "agreement).")] = False,
) -> None:
    """Split frames among labelers; a share (--overlap) is labelled by several.

    The shared frames measure inter-labeler agreement and feed posekit labels consensus;
    loads are balanced per labeler and per video / condition, and the choice is seeded.

    Writes DIR/NAME.slp per labeler (frames listed as labeling suggestions) and
    DIR/assign_manifest.json (who labels which frame, which are shared, counts).

    Example: [bold]posekit labels assign frames.slp --labelers anna,ben,carla --overlap 0.2 -o assign/[/bold]
    """
    from rich.console import Console

    from posekit.io.labels import load_labels
    from posekit.refinement.assign import assign_frames, write_assignment

    names = [n.strip() for n in labelers.split(",") if n.strip()]
    result = assign_frames(
        load_labels(frames), names, overlap=overlap, shared_by=_shared_by(shared_by),
        seed=seed, metadata=metadata, frames=which, keep_predictions=keep_predictions,
        condition_columns=condition.split(",") if condition else None)
    manifest = write_assignment(result, output, embed=embed)
    console = Console()
    console.print(_table(result))
    for note in result.notes:
        console.print(f"[yellow]note:[/yellow] {note}")
    console.print(f"{manifest['n_shared']} of {manifest['n_frames']} frames shared "
                  f"({manifest['achieved_overlap']:.1%}) -> {output}; manifest: "
                  f"{manifest['files']['manifest']}")


def register(labels_app: typer.Typer) -> None:
    """Attach ``assign`` to the ``posekit labels`` group."""
    labels_app.command("assign")(assign)
