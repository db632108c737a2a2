"""``posekit track``: predict poses on a video, image folder or labels file (and track them)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from posekit.errors import ConfigError


def _inference_file(path: Path | None) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """``inference:`` and ``tracking:`` sections of an inference config YAML."""
    if path is None:
        return {}, None
    from omegaconf import OmegaConf

    if not path.is_file():
        raise ConfigError(f"{path}: inference config not found; expected a YAML file.")
    try:
        data = OmegaConf.to_container(OmegaConf.load(path), resolve=True)
    except Exception as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc}); expected an inference config "
                          "with `inference:` and/or `tracking:` sections.") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping with `inference:` / `tracking:` sections.")
    unknown = sorted(set(data) - {"inference", "tracking"})
    if unknown:
        raise ConfigError(f"{path}: unknown section(s) {unknown}; expected `inference` and/or "
                          "`tracking`.")
    inference = data.get("inference") or {}
    known = {"peak_threshold", "max_instances", "batch_size", "refinement", "backend", "device",
             "precision"}
    bad = sorted(set(inference) - known)
    if bad:
        raise ConfigError(f"{path}: inference.{bad[0]} is not an inference option; expected one "
                          f"of {', '.join(sorted(known))}.")
    tracking = data.get("tracking")
    return inference, (tracking if isinstance(tracking, dict) else ({} if tracking else None))


def track_cmd(
    data: Annotated[Path, typer.Argument(help="Video, image folder or labels file to predict.")],
    model: Annotated[list[Path], typer.Option("--model", "-m", help="Run folder; give two "
                                              "(centroid + centered instance) for top-down.")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Output .slp "
                                                "(default: DATA.predictions.slp).")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Frames per batch.")] = None,
    peak_threshold: Annotated[float | None, typer.Option(help="Minimum peak value.")] = None,
    frames: Annotated[str | None, typer.Option(help="Frame range, e.g. 0-999 or 1,5,10-20.")] = None,
    max_instances: Annotated[int | None, typer.Option(help="Most animals per frame.")] = None,
    refinement: Annotated[str | None, typer.Option(help="integral, local or none.")] = None,
    backend: Annotated[str | None, typer.Option(help="auto, torch or onnx.")] = None,
    device: Annotated[str | None, typer.Option(help="auto, cpu, cuda or mps.")] = None,
    precision: Annotated[str | None, typer.Option(help="auto (int8 when its measured accuracy "
                                                  "holds), fp32 or int8.")] = None,
    csv: Annotated[Path | None, typer.Option(help="Also write a CSV table.")] = None,
    h5: Annotated[Path | None, typer.Option(help="Also write a SLEAP analysis HDF5.")] = None,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="Inference YAML with "
                                                "`inference:` / `tracking:` sections.")] = None,
    tracking: Annotated[bool, typer.Option("--tracking", help="Link instances into tracks.")] = False,
    similarity: Annotated[str | None, typer.Option(help="Tracking: oks, centroid or iou.")] = None,
    track_window: Annotated[int | None, typer.Option(help="Tracking: past frames searched.")] = None,
    max_tracks: Annotated[int | None, typer.Option(help="Tracking: most tracks.")] = None,
    optical_flow: Annotated[bool | None, typer.Option("--optical-flow/--no-optical-flow",
                                                      help="Tracking: shift candidates by "
                                                      "optical flow.")] = None,
    min_track_length: Annotated[int | None, typer.Option(help="Post-pass: drop shorter tracks.")] = None,
    max_gap: Annotated[int | None, typer.Option(help="Post-pass: fill gaps up to this many "
                                                "frames.")] = None,
    gt_centroids: Annotated[bool, typer.Option("--gt-centroids", help="Centered-instance model "
                                               "alone: crop around the labels' anchors.")] = False,
) -> None:
    """Predict poses with trained models; optionally track animals across frames.

    Example: posekit track session1.mp4 -m runs/centroid -m runs/centered -o session1.slp --tracking --max-tracks 2
    """
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from posekit.inference.pipeline import load_model, predict_source
    from posekit.io.writers import export_analysis_h5, export_csv, save_labels
    from posekit.utils.atomic import ensure_parent_exists

    inference, tracking_section = _inference_file(config)
    options = dict(inference)
    for key, value in (("batch_size", batch_size), ("peak_threshold", peak_threshold),
                       ("max_instances", max_instances), ("refinement", refinement),
                       ("backend", backend), ("device", device), ("precision", precision)):
        if value is not None:
            options[key] = value
    if options.get("refinement") == "none":
        options["refinement"] = None
    out = output or data.with_name(data.name + ".predictions.slp")
    for path in (out, csv, h5):
        if path is not None:
            ensure_parent_exists(path)
    tracker = None
    if tracking or tracking_section is not None:
        from posekit.tracking import Tracker, TrackingConfig

        values = dict(tracking_section or {})
        for key, value in (("similarity", similarity), ("window", track_window),
                           ("max_tracks", max_tracks), ("optical_flow", optical_flow),
                           ("min_track_length", min_track_length), ("max_gap", max_gap)):
            if value is not None:
                values[key] = value
        tracker = Tracker(TrackingConfig.from_dict(values, source=str(config or "command line")))
    predictor = load_model(*model, gt_centroids=gt_centroids, **options)
    if tracker is not None and predictor.predictor.has_classes:
        typer.secho("note: identity model: tracks come from the identity classes; "
                    "--tracking is ignored", fg=typer.colors.YELLOW, err=True)
        tracker = None
    with Progress(TextColumn("[bold]predicting"), BarColumn(),
                  TextColumn("{task.completed}/{task.total} frames"),
                  TextColumn("{task.fields[fps]} frames/s"), TimeRemainingColumn(),
                  transient=True) as bar:
        task = bar.add_task("predict", total=None, fps="-")

        def progress(done: int, total: int) -> None:
            elapsed = bar.tasks[0].elapsed or 0.0
            bar.update(task, completed=done, total=total,
                       fps=f"{done / elapsed:.1f}" if elapsed > 0 else "-")

        report = predict_source(predictor, data, frames=frames, tracker=tracker,
                                progress=progress, use_gt_centroids=gt_centroids)
    labels = report.labels
    if tracker is not None:
        from posekit.inference.track_postpass import apply_postpass, needs_postpass

        if needs_postpass(tracker.config):
            labels = apply_postpass(labels, tracker.config)
    save_labels(labels, out)
    written = [str(out)]
    if csv is not None:
        written.append(str(export_csv(labels, csv)))
    if h5 is not None:
        written.append(str(export_analysis_h5(labels, h5)))
    if report.skipped:
        typer.secho(f"warning: {len(report.skipped)} frames could not be read and were skipped "
                    f"(first: {report.skipped[0].frame_idx}: {report.skipped[0].reason})",
                    fg=typer.colors.YELLOW, err=True)
    n_inst = sum(len(lf.instances) for lf in labels.labeled_frames)
    typer.echo(f"wrote {', '.join(written)}")
    typer.echo(f"predicted {report.frames} frames ({n_inst} instances) in {report.seconds:.1f} s: "
               f"{report.frames_per_second:.1f} frames/s [{report.backend}]")


def register(root: typer.Typer) -> None:
    """Attach ``track`` to the root command."""
    root.command("track")(track_cmd)
