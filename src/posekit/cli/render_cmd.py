"""``posekit render``: draw predictions on their video and write a labeled MP4 (H.264)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def render_cmd(
    video: Annotated[Path, typer.Argument(help="The video the predictions were made on.")],
    predictions: Annotated[Path, typer.Argument(help="Predictions or labels (.slp, DLC ...).")],
    output: Annotated[Path, typer.Option("-o", "--output", help="The MP4 to write.")],
    color_by: Annotated[str, typer.Option(help="Colour points by 'node' or by 'track'.")] = "node",
    trails: Annotated[int, typer.Option(help="Frames of history drawn behind each tracked "
                                        "animal (0: none).")] = 0,
    trail_node: Annotated[str | None, typer.Option(help="Node the trails follow (default: "
                                                   "the animal's centroid).")] = None,
    start: Annotated[int | None, typer.Option(help="First frame to render.")] = None,
    stop: Annotated[int | None, typer.Option(help="Stop before this frame.")] = None,
    outliers: Annotated[Path | None, typer.Option(help="OUT.outliers.json of `posekit frames "
                                                  "outliers`: flag those frames.")] = None,
    compare: Annotated[Path | None, typer.Option(help="Second predictions (filtered, or "
                                                 "another model) drawn side by side.")] = None,
    min_score: Annotated[float, typer.Option(help="Points scoring below are drawn hollow "
                                             "and dimmed.")] = 0.3,
    crf: Annotated[int, typer.Option(help="H.264 quality: lower is better and bigger.")] = 23,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing output.")] = False,
) -> None:
    """Draw PREDICTIONS on VIDEO (skeleton, points, frame counter) and write OUT.mp4.

    Frames are streamed (memory stays flat) and encoded as H.264 with libx264.
    Low-score points are drawn hollow and dimmed, never hidden.

    Example: posekit render clip.mp4 clip.predictions.slp -o clip.labeled.mp4 --color-by track --trails 20
    """
    from posekit.render import render_video

    result = render_video(video, predictions, output, compare=compare, color_by=color_by,
                          trails=trails, trail_node=trail_node, start=start, stop=stop,
                          outliers=outliers, min_score=min_score, crf=crf, force=force)
    for note in result.notes:
        typer.secho(f"note: {note}", fg=typer.colors.YELLOW, err=True)
    typer.echo(f"wrote {result.output}: {result.frames} frames ({result.first}..{result.last}), "
               f"{result.codec}")


def register(root: typer.Typer) -> None:
    """Attach ``render`` to the root command."""
    root.command("render")(render_cmd)
