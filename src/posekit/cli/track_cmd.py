"""``posekit track``: predict poses on a video, image folder or labels file (and track them)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from posekit.errors import ConfigError

INFERENCE_OPTIONS = ("peak_threshold", "max_instances", "batch_size", "refinement", "backend",
                     "device", "precision", "grouping", "class_grouping", "skeleton_check")


def _inference_file(path: Path | None) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """``inference:`` and ``tracking:`` sections of an inference config YAML.

    ``inference.grouping`` (bottom-up PAF grouping) and ``inference.class_grouping``
    (multi-class bottom-up grouping) are mappings of their settings.
    """
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
    bad = sorted(set(inference) - set(INFERENCE_OPTIONS))
    if bad:
        raise ConfigError(f"{path}: inference.{bad[0]} is not an inference option; expected one "
                          f"of {', '.join(sorted(INFERENCE_OPTIONS))}.")
    tracking = data.get("tracking")
    return inference, (tracking if isinstance(tracking, dict) else ({} if tracking else None))


def parse_settings(pairs: list[str] | None, option: str) -> dict[str, Any]:
    """``["key=value", ...]`` from the command line as a mapping (values read as YAML)."""
    import yaml

    out: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{option} {pair!r}: expected KEY=VALUE, e.g. "
                              f"{option} min_line_score=0.3.")
        out[key.strip()] = yaml.safe_load(value)
    return out


def _inference_options(config: Path | None, given: dict[str, Any]
                       ) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The file's ``inference`` options overridden by the command line's, and its
    ``tracking`` section."""
    inference, tracking_section = _inference_file(config)
    options = dict(inference)
    for key in ("grouping", "class_grouping"):
        if given.get(key):
            options[key] = {**(options.get(key) or {}), **given[key]}
    options.update({k: v for k, v in given.items()
                    if v is not None and k not in ("grouping", "class_grouping")})
    from posekit.inference.pipeline import grouping_settings

    source = str(config) if config is not None else "command line"
    for key in ("grouping", "class_grouping"):
        if options.get(key) is not None:
            options[key] = grouping_settings(options[key], key, source)
    if options.get("refinement") == "none":
        options["refinement"] = None
    return options, tracking_section


def _make_tracker(requested: bool, section: dict[str, Any] | None, given: dict[str, Any],
                  source: str) -> Any:
    """A tracker when ``--tracking`` or a ``tracking:`` section asks for one, else ``None``."""
    if not requested and section is None:
        return None
    from posekit.tracking import Tracker, TrackingConfig

    values = dict(section or {})
    values.update({k: v for k, v in given.items() if v is not None})
    return Tracker(TrackingConfig.from_dict(values, source=source))


def _write_outputs(labels: Any, out: Path, csv: Path | None, h5: Path | None) -> list[str]:
    from posekit.io.writers import export_analysis_h5, export_csv, save_labels

    save_labels(labels, out)
    written = [str(out)]
    if csv is not None:
        written.append(str(export_csv(labels, csv)))
    if h5 is not None:
        written.append(str(export_analysis_h5(labels, h5)))
    return written


def _predict_with_progress(predictor: Any, data: Path, frames: str | None, tracker: Any,
                           gt_centroids: bool) -> Any:
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from posekit.inference.pipeline import predict_source

    with Progress(TextColumn("[bold]predicting"), BarColumn(),
                  TextColumn("{task.completed}/{task.total} frames"),
                  TextColumn("{task.fields[fps]} frames/s"), TimeRemainingColumn(),
                  transient=True) as bar:
        task = bar.add_task("predict", total=None, fps="-")

        def progress(done: int, total: int) -> None:
            elapsed = bar.tasks[0].elapsed or 0.0
            bar.update(task, completed=done, total=total,
                       fps=f"{done / elapsed:.1f}" if elapsed > 0 else "-")

        return predict_source(predictor, data, frames=frames, tracker=tracker,
                              progress=progress, use_gt_centroids=gt_centroids)


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
    skeleton_check: Annotated[bool | None, typer.Option(
        "--skeleton-check/--no-skeleton-check", help="Single-instance and top-down models: "
        "choose among each node's highest peaks by the training labels' bone lengths and drop "
        "points no bone supports (default on).")] = None,
    gt_centroids: Annotated[bool, typer.Option("--gt-centroids", help="Centered-instance model "
                                               "alone: crop around the labels' anchors.")] = False,
    grouping: Annotated[list[str] | None, typer.Option(
        "--grouping", help="Bottom-up PAF grouping setting KEY=VALUE (repeatable), e.g. "
        "min_line_score=0.3, max_edge_length_ratio=0.5, dist_penalty_weight=1, n_points=10, "
        "min_instance_peaks=2.")] = None,
) -> None:
    """Predict poses with trained models; optionally track animals across frames.

    Example: posekit track session1.mp4 -m runs/centroid -m runs/centered -o session1.slp --tracking --max-tracks 2
    """
    from posekit.inference.pipeline import load_model
    from posekit.utils.atomic import ensure_parent_exists

    options, tracking_section = _inference_options(config, {
        "batch_size": batch_size, "peak_threshold": peak_threshold,
        "max_instances": max_instances, "refinement": refinement, "backend": backend,
        "device": device, "precision": precision, "skeleton_check": skeleton_check,
        "grouping": parse_settings(grouping, "--grouping")})
    out = output or data.with_name(data.name + ".predictions.slp")
    for path in (out, csv, h5):
        if path is not None:
            ensure_parent_exists(path)
    tracker = _make_tracker(tracking, tracking_section, {
        "similarity": similarity, "window": track_window, "max_tracks": max_tracks,
        "optical_flow": optical_flow, "min_track_length": min_track_length,
        "max_gap": max_gap}, str(config or "command line"))
    predictor = load_model(*model, gt_centroids=gt_centroids, **options)
    if tracker is not None and predictor.predictor.has_classes:
        typer.secho("note: identity model: tracks come from the identity classes; "
                    "--tracking is ignored", fg=typer.colors.YELLOW, err=True)
        tracker = None
    report = _predict_with_progress(predictor, data, frames, tracker, gt_centroids)
    written = _write_outputs(report.labels, out, csv, h5)
    if report.skipped:
        typer.secho(f"warning: {len(report.skipped)} frames could not be read and were skipped "
                    f"(first: {report.skipped[0].frame_idx}: {report.skipped[0].reason})",
                    fg=typer.colors.YELLOW, err=True)
    n_inst = sum(len(lf.instances) for lf in report.labels.labeled_frames)
    typer.echo(f"wrote {', '.join(written)}")
    typer.echo(f"predicted {report.frames} frames ({n_inst} instances) in {report.seconds:.1f} s: "
               f"{report.frames_per_second:.1f} frames/s [{report.backend}]")


def register(root: typer.Typer) -> None:
    """Attach ``track`` to the root command."""
    root.command("track")(track_cmd)
