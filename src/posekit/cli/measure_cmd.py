"""``posekit measure``: behavioural measures (speed, distance, zones, immobility) per animal."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def measure_cmd(
    predictions: Annotated[Path, typer.Argument(help="Predictions with tracks: .slp / "
                                                ".pkg.slp (posekit track --tracking).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output folder (tables "
                                         "and plots).")],
    arena: Annotated[Path | None, typer.Option(help="Arena JSON: zone polygons and/or a "
                                               "rectangular or circular arena "
                                               "(docs/behaviour.md).")] = None,
    px_per_cm: Annotated[float | None, typer.Option(help="Scale: pixels per cm (lengths in "
                                                    "cm).")] = None,
    fps: Annotated[float | None, typer.Option(help="Frame rate (default: the video's; "
                                              "times in s).")] = None,
    node: Annotated[str, typer.Option(help="Node giving the position, or 'centroid' (mean "
                                      "of found nodes).")] = "centroid",
    filter_methods: Annotated[str | None, typer.Option("--filter", help="Filter first, "
                                                       "e.g. pcutoff,median,interpolate "
                                                       "(posekit filter's defaults).")] = None,
    bin_s: Annotated[float | None, typer.Option(help="Time-bin length in s (frames "
                                                "without a frame rate).")] = None,
    immobile_speed: Annotated[float | None, typer.Option(help="Immobile below this speed "
                                                         "(cm/s, px/s or px/frame as "
                                                         "scaled).")] = None,
    force: Annotated[bool, typer.Option(help="Replace existing output files.")] = False,
) -> None:
    """Measure each animal's trajectory: speed, distance travelled, time in and entries
    into zones, immobility; per video and per time bin. Writes measures.csv / .json,
    per_frame.csv and PNG plots.

    Example: posekit measure pair.slp --arena arena.json --px-per-cm 10 --bin-s 60 -o pair_measures
    """
    from posekit.behaviour.files import MeasureSettings, measure_file

    flt = None
    if filter_methods:
        from posekit.trajectories.settings import FilterSettings

        flt = FilterSettings(methods=tuple(m.strip() for m in filter_methods.split(",")
                                           if m.strip()))
    settings = MeasureSettings(node=node, px_per_cm=px_per_cm, fps=fps, filter=flt,
                               bin_s=bin_s, immobile_speed=immobile_speed)
    report = measure_file(predictions, output, settings, arena=arena, force=force)
    for note in report.notes:
        typer.secho(f"note: {note}", fg=typer.colors.YELLOW, err=True)
    m = report.measures[0]
    for row in (r for r in m.rows if r["bin"] == "all"):
        typer.echo(f"{row['animal']}: distance {row['distance']:.1f} {m.units.length}, mean "
                   f"speed {row['speed_mean']:.2f} {m.units.speed}")
    typer.echo(f"wrote {', '.join(str(p) for p in report.outputs)}")


def register(root: typer.Typer) -> None:
    """Attach ``measure`` to the root command."""
    root.command("measure")(measure_cmd)
