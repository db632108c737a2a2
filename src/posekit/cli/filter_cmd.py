"""``posekit filter``: clean per-frame predictions into trajectories (same format out)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def _methods(text: str) -> tuple[str, ...]:
    return tuple(m.strip() for m in text.split(",") if m.strip())


def filter_cmd(
    predictions: Annotated[Path, typer.Argument(help="Predictions: .slp / .pkg.slp, SLEAP "
                                                "analysis .h5 or .csv (posekit track).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Filtered predictions, in "
                                         "the input's format.")],
    method: Annotated[str, typer.Option("--method", help="Comma-separated, applied in "
                                        "order: pcutoff, median, savgol, interpolate, arima, "
                                        "kalman.")] = "median",
    pcutoff: Annotated[float, typer.Option(help="pcutoff: points scored below this become "
                                           "missing.")] = 0.6,
    window: Annotated[int, typer.Option(help="median: frames (odd).")] = 5,
    savgol_window: Annotated[int, typer.Option(help="savgol: frames (odd).")] = 7,
    polyorder: Annotated[int, typer.Option(help="savgol: polynomial order.")] = 2,
    interpolation: Annotated[str, typer.Option(help="interpolate: linear or spline.")] = "linear",
    max_gap: Annotated[int | None, typer.Option(help="interpolate: longest gap filled, in "
                                                "frames (default 5).")] = None,
    max_gap_s: Annotated[float | None, typer.Option(help="interpolate: longest gap filled, "
                                                    "in seconds.")] = None,
    fps: Annotated[float | None, typer.Option(help="Frame rate for --max-gap-s (default: "
                                              "the video's).")] = None,
    fill_score: Annotated[float, typer.Option(help="interpolate: score of filled "
                                              "points.")] = 0.01,
    p_bound: Annotated[float, typer.Option(help="arima: points scored below this are "
                                           "missing for the model.")] = 0.001,
    ar_degree: Annotated[int, typer.Option(help="arima: AR order.")] = 3,
    ma_degree: Annotated[int, typer.Option(help="arima: MA order.")] = 1,
    measurement_sd: Annotated[float | None, typer.Option(help="kalman: px error of a point "
                                                         "scored 1 (default: fitted).")] = None,
    process_sd: Annotated[float | None, typer.Option(help="kalman: px/frame² random "
                                                     "acceleration (default: fitted).")] = None,
    force: Annotated[bool, typer.Option(help="Replace an existing output file.")] = False,
) -> None:
    """Filter predictions over time: drop low scores, smooth, fill short gaps. The output
    keeps the input's format, says per point whether it is original, smoothed, filled or
    removed, and records the filters and parameters.

    Example: posekit filter session1.slp --method pcutoff,median,interpolate --max-gap 5 -o session1.filtered.slp
    """
    from posekit.trajectories.files import filter_file
    from posekit.trajectories.settings import FilterSettings

    settings = FilterSettings(
        methods=_methods(method), pcutoff=pcutoff, window=window, savgol_window=savgol_window,
        polyorder=polyorder, interpolation=interpolation, max_gap=max_gap,
        max_gap_s=max_gap_s, fps=fps, fill_score=fill_score, p_bound=p_bound,
        ar_degree=ar_degree, ma_degree=ma_degree, measurement_sd=measurement_sd,
        process_sd=process_sd)
    report = filter_file(predictions, output, settings, force=force)
    for note in report.notes:
        typer.secho(f"note: {note}", fg=typer.colors.YELLOW, err=True)
    counts = ", ".join(f"{n} {name}" for name, n in report.counts.items()
                       if n and name != "missing")
    typer.echo(f"{' -> '.join(settings.methods)}: {counts} points")
    noise = next((f["kalman"] for f in report.record["fitted"].values() if "kalman" in f),
                 None)
    if noise is not None:
        typer.echo("kalman noise (per node, px): measurement "
                   f"{min(noise['measurement_sd']):.2f}-{max(noise['measurement_sd']):.2f}, "
                   f"process {min(noise['process_sd']):.3f}-{max(noise['process_sd']):.3f}")
    typer.echo(f"wrote {', '.join(str(p) for p in report.outputs)}")


def register(root: typer.Typer) -> None:
    """Attach ``filter`` to the root command."""
    root.command("filter")(filter_cmd)
