"""``posekit eval``: score predictions against ground-truth labels and write metrics.json."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any

import typer

from posekit.errors import ConfigError, DataError


def default_output_path(predictions: Path) -> Path:
    """``<predictions without .slp / .pkg.slp>.metrics.json`` beside the predictions file."""
    name = predictions.name
    for suffix in (".pkg.slp", ".slp", ".h5", ".nwb", ".csv"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
            break
    return predictions.with_name(f"{name}.metrics.json")


def parse_number_list(text: str, option: str) -> tuple[float, ...]:
    """Parse ``"1,2,5"`` into ``(1.0, 2.0, 5.0)``; ConfigError naming ``option`` otherwise."""
    try:
        values = tuple(float(v) for v in text.replace(" ", "").split(",") if v)
    except ValueError:
        values = ()
    if not values or any(not math.isfinite(v) or v <= 0 for v in values):
        raise ConfigError(
            f"{option} {text!r}: expected a comma-separated list of positive numbers, "
            f"e.g. {option} 1,2,5,10"
        )
    return values


def read_sigmas_file(path: Path) -> float | list[float] | dict[str, float]:
    """Read per-node OKS sigmas from JSON: ``{"node": sigma, ...}``, a list, or a number."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(
            f"{path}: sigma file not found; expected a JSON file such as "
            '{"head": 0.025, "tail": 0.05}. Check the path given to --oks-sigmas-file.'
        ) from exc
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(
            f"{path}: cannot read the sigma file ({exc}); expected JSON such as "
            '{"head": 0.025, "tail": 0.05} or a list with one number per node.'
        ) from exc
    if isinstance(data, dict) and "oks_sigmas" in data:  # a metrics.json can be reused
        data = data["oks_sigmas"]
    elif isinstance(data, dict) and isinstance(data.get("settings"), dict):
        data = data["settings"].get("oks_sigmas", data)
    valid = (
        isinstance(data, (int, float))
        or (isinstance(data, list) and all(isinstance(v, (int, float)) for v in data))
        or (isinstance(data, dict) and all(isinstance(v, (int, float)) for v in data.values()))
    )
    if not valid or isinstance(data, bool):
        raise ConfigError(
            f"{path}: the sigma file holds {type(data).__name__}; expected a mapping "
            '{"node name": sigma}, a list with one sigma per node, or a single number.'
        )
    return data


def load_labels_file(path: Path, role: str) -> Any:
    """Load a labels file with sleap-io, turning failures into a DataError."""
    import sleap_io as sio

    if not path.exists():
        raise DataError(
            f"{path}: {role} file not found; expected a labels file (.slp, .pkg.slp...). "
            "Check the path."
        )
    try:
        labels = sio.load_file(str(path))
    except Exception as exc:  # sleap-io raises many types for unreadable files
        raise DataError(
            f"{path}: cannot read the {role} file ({type(exc).__name__}: {exc}); expected a "
            "labels file sleap-io can open (.slp, .pkg.slp, analysis .h5, .nwb)."
        ) from exc
    if not isinstance(labels, sio.Labels):
        raise DataError(
            f"{path}: this is a {type(labels).__name__}, not a labels file; expected the "
            f"{role} as .slp / .pkg.slp. Run posekit predict on the video first."
        )
    return labels


def _num(value: Any, fmt: str = ".3f") -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    return format(value, fmt)


def render_summary(metrics: dict[str, Any], output: Path | None) -> None:
    """Print a compact summary: headline metrics, then one row per node."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    loc = metrics["localization"]
    counts = metrics["counts"]
    oks = metrics["oks"]
    pck_keys = list(metrics["pck_px"])
    pick = "5" if "5" in pck_keys else pck_keys[len(pck_keys) // 2]
    head = Table(title="posekit eval", show_header=False, box=None)
    head.add_row("mAP (OKS 0.50:0.95)", _num(oks["mAP"]))
    head.add_row("mAR (OKS 0.50:0.95)", _num(oks["mAR"]))
    head.add_row("mean error (px)", _num(loc["mean_px"], ".2f"))
    head.add_row("RMSE (px)", _num(loc["rmse_px"], ".2f"))
    head.add_row(
        "median / p95 (px)", f"{_num(loc['median_px'], '.2f')} / {_num(loc['p95_px'], '.2f')}"
    )
    head.add_row("PCK (px)", "  ".join(f"@{k}: {_num(v)}" for k, v in metrics["pck_px"].items()))
    vis = metrics["visibility"]
    head.add_row("visibility P / R", f"{_num(vis['precision'])} / {_num(vis['recall'])}")
    head.add_row(
        "instances",
        f"{counts['matched']} matched of {counts['gt_instances']} GT, "
        f"{counts['missed_gt']} missed, {counts['unmatched_predictions']} unmatched predictions "
        f"in {counts['frames']} frames",
    )
    ident = metrics.get("identity") or {}
    if ident.get("available"):
        head.add_row(
            "identity",
            f"accuracy {_num(ident['identity_accuracy'])}, {ident['id_switches']} ID switches, "
            f"{ident['fragmentations']} fragmentations, MOTA {_num(ident['mota'])} "
            f"(mapping: {ident['mapping_rule']})",
        )
    console.print(head)
    nodes = Table(title="per node")
    for col in (
        "node",
        "n",
        "mean px",
        "RMSE px",
        "median px",
        "p95 px",
        f"PCK@{pick}px",
        "vis P",
        "vis R",
    ):
        nodes.add_column(col, justify="left" if col == "node" else "right")
    for name, node in metrics["per_node"].items():
        nl = node["localization"]
        nodes.add_row(
            name,
            str(nl["n"]),
            _num(nl["mean_px"], ".2f"),
            _num(nl["rmse_px"], ".2f"),
            _num(nl["median_px"], ".2f"),
            _num(nl["p95_px"], ".2f"),
            _num(node["pck_px"][pick]),
            _num(node["visibility"]["precision"]),
            _num(node["visibility"]["recall"]),
        )
    console.print(nodes)
    for note in metrics.get("notes", []):
        console.print(f"[yellow]note:[/yellow] {note}")
    if output is not None:
        console.print(f"metrics written to [bold]{output}[/bold]")


def eval_command(
    ground_truth: Annotated[Path, typer.Argument(help="Ground-truth labels (.slp / .pkg.slp).")],
    predictions: Annotated[Path, typer.Argument(help="Predictions on the same videos / frames.")],
    output: Annotated[
        Path | None,
        typer.Option(
            "-o", "--output", help="Metrics JSON to write (default: PREDICTIONS.metrics.json)."
        ),
    ] = None,
    oks_sigma: Annotated[
        float | None,
        typer.Option(
            "--oks-sigma", help="One OKS sigma for every node (default 0.025, as sleap-nn)."
        ),
    ] = None,
    oks_sigmas_file: Annotated[
        Path | None,
        typer.Option("--oks-sigmas-file", help='JSON with per-node sigmas: {"node": sigma, ...}.'),
    ] = None,
    pck: Annotated[
        str, typer.Option("--pck", help="PCK pixel thresholds, comma-separated.")
    ] = "1,2,5,10,20",
    pck_bbox: Annotated[
        str,
        typer.Option("--pck-bbox", help="PCK thresholds as fractions of the GT box diagonal."),
    ] = "0.05,0.1,0.2",
    match_oks: Annotated[
        float,
        typer.Option(
            "--match-oks", help="Minimum OKS for a prediction to be matched to an animal."
        ),
    ] = 0.0,
    visibility_distance: Annotated[
        float | None,
        typer.Option(
            "--visibility-distance", help="Max distance (px) for a point to count as detected."
        ),
    ] = None,
    identity_mapping: Annotated[
        str,
        typer.Option("--identity-mapping", help="How tracks are paired: auto, name or hungarian."),
    ] = "auto",
    all_gt_instances: Annotated[
        bool,
        typer.Option(
            "--all-gt-instances", help="Use predicted instances of the GT file as reference too."
        ),
    ] = False,
) -> None:
    """Score PREDICTIONS against GROUND_TRUTH: OKS mAP/mAR (COCO), pixel errors, PCK,
    visibility and identity / tracking metrics, all in one JSON file.

    Example: [bold]posekit eval labels.slp predictions.slp -o metrics.json[/bold]
    """
    from posekit.evaluation import evaluate, save_metrics

    if oks_sigma is not None and oks_sigmas_file is not None:
        raise ConfigError(
            "--oks-sigma and --oks-sigmas-file: both given; expected at most one. Use "
            "--oks-sigma for one value for all nodes or the file for per-node values."
        )
    if identity_mapping not in ("auto", "name", "hungarian"):
        raise ConfigError(
            f"--identity-mapping {identity_mapping!r}: expected auto, name or hungarian."
        )
    sigmas = read_sigmas_file(oks_sigmas_file) if oks_sigmas_file is not None else oks_sigma
    gt = load_labels_file(ground_truth, "ground-truth")
    pr = load_labels_file(predictions, "predictions")
    metrics = evaluate(
        gt,
        pr,
        oks_sigmas=sigmas,
        pck_thresholds=parse_number_list(pck, "--pck"),
        pck_bbox_fractions=parse_number_list(pck_bbox, "--pck-bbox"),
        match_oks_threshold=match_oks,
        visibility_max_distance=visibility_distance,
        identity_mapping=identity_mapping,  # type: ignore[arg-type]
        user_instances_only_gt=not all_gt_instances,
    )
    metrics["provenance"]["inputs"] = {
        "ground_truth": str(ground_truth.resolve()),
        "predictions": str(predictions.resolve()),
    }
    target = output if output is not None else default_output_path(predictions)
    save_metrics(metrics, target)
    render_summary(metrics, target)


def register(root: typer.Typer) -> None:
    """Attach the top-level ``eval`` command to the root command."""
    root.command(name="eval")(eval_command)
