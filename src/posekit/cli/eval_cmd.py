"""``posekit eval``: score predictions against ground-truth labels and write metrics.json."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from posekit.cli.numbers import fixed
from posekit.errors import ConfigError, DataError

if TYPE_CHECKING:
    import sleap_io as sio
    from rich.table import Table

    from posekit.evaluation import EvaluationResult, EvaluationSettings


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
    """Read per-node OKS sigmas from JSON: ``{"node": sigma, ...}``, a list, a number, or a
    metrics file written by posekit eval (its ``oks.sigmas``; older files:
    ``settings.oks_sigmas``)."""
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
    if isinstance(data, dict):
        for section, key in (("oks", "sigmas"), ("settings", "oks_sigmas")):
            if isinstance(data.get(section), dict) and key in data[section]:
                data = data[section][key]  # a metrics.json can be reused
                break
        else:
            data = data.get("oks_sigmas", data)
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


def load_labels_file(path: Path, role: str) -> sio.Labels:
    """Load ground truth (.slp, .pkg.slp, DeepLabCut project) or predictions (.slp) with
    posekit's loader, turning failures into a DataError naming the role."""
    from posekit.io.labels import load_labels

    if not path.exists():
        raise DataError(
            f"{path}: {role} file not found; expected a labels file (.slp, .pkg.slp"
            f"{' or a DeepLabCut project' if role == 'ground-truth' else ''}). Check the path."
        )
    try:
        return load_labels(path)
    except DataError as exc:
        raise DataError(
            f"{path}: cannot read the {role} file ({exc}); expected "
            + ("a labels file (.slp, .pkg.slp) or a DeepLabCut project folder / config.yaml."
               if role == "ground-truth"
               else "predictions saved as .slp (posekit track -o predictions.slp).")
        ) from exc


def _headline_table(result: EvaluationResult) -> Table:
    """mAP / mAR, pixel errors, PCK, visibility, counts and identity in one table."""
    from rich.table import Table

    loc, counts, ident = result.localization, result.counts, result.identity
    head = Table(title="posekit eval", show_header=False, box=None)
    head.add_row("mAP (OKS 0.50:0.95)", fixed(result.oks.map))
    head.add_row("mAR (OKS 0.50:0.95)", fixed(result.oks.mar))
    head.add_row("mean pixel error", fixed(loc.mean_px, 2))
    head.add_row("RMSE (px)", fixed(loc.rmse_px, 2))
    head.add_row("median / p95 (px)", f"{fixed(loc.median_px, 2)} / {fixed(loc.p95_px, 2)}")
    head.add_row("PCK (px)", "  ".join(f"@{t:g}: {fixed(v)}" for t, v in result.pck.px.items()))
    vis = result.visibility
    head.add_row("visibility P / R", f"{fixed(vis.precision)} / {fixed(vis.recall)}")
    head.add_row(
        "instances",
        f"{counts.matched} matched of {counts.gt_instances} GT, {counts.missed_gt} missed, "
        f"{counts.unmatched_predictions} unmatched predictions in {counts.frames} frames",
    )
    if ident.available:
        head.add_row(
            "identity",
            f"accuracy {fixed(ident.identity_accuracy)}, {ident.id_switches} ID switches, "
            f"{ident.fragmentations} fragmentations, MOTA {fixed(ident.mota)} "
            f"(mapping: {ident.mapping_rule})",
        )
    return head


def _node_table(result: EvaluationResult) -> Table:
    """One row per node: error distribution, PCK at 5 px (or the middle threshold), visibility."""
    from rich.table import Table

    thresholds = list(result.pck.px)
    pick = 5.0 if 5.0 in thresholds else thresholds[len(thresholds) // 2]
    nodes = Table(title="per node")
    columns = ("node", "n", "mean px", "RMSE px", "median px", "p95 px", f"PCK@{pick:g}px",
               "vis P", "vis R")
    for col in columns:
        nodes.add_column(col, justify="left" if col == "node" else "right")
    for name, node in result.per_node.items():
        nl = node.localization
        nodes.add_row(
            name, str(nl.n), fixed(nl.mean_px, 2), fixed(nl.rmse_px, 2),
            fixed(nl.median_px, 2), fixed(nl.p95_px, 2), fixed(node.pck.px.get(pick)),
            fixed(node.visibility.precision), fixed(node.visibility.recall),
        )
    return nodes


def render_summary(result: EvaluationResult, output: Path | None) -> None:
    """Print a compact summary: headline metrics, then one row per node, then notes."""
    from rich.console import Console

    console = Console()
    console.print(_headline_table(result))
    console.print(_node_table(result))
    for note in result.notes:
        console.print(f"[yellow]note:[/yellow] {note}")
    if output is not None:
        console.print(f"metrics written to [bold]{output}[/bold]")


def evaluation_settings(
    oks_sigma: float | None,
    oks_sigmas_file: Path | None,
    pck: tuple[float, ...],
    pck_bbox: tuple[float, ...],
    match_oks: float,
    visibility_distance: float | None,
    identity_mapping: str,
    all_gt_instances: bool,
) -> EvaluationSettings:
    """The :class:`EvaluationSettings` of ``posekit eval``'s options (ConfigError naming the
    option when they conflict or are invalid)."""
    from posekit.evaluation import EvaluationSettings

    if oks_sigma is not None and oks_sigmas_file is not None:
        raise ConfigError(
            "--oks-sigma and --oks-sigmas-file: both given; expected at most one. Use "
            "--oks-sigma for one value for all nodes or the file for per-node values."
        )
    if identity_mapping not in ("auto", "name", "hungarian"):
        raise ConfigError(
            f"--identity-mapping {identity_mapping!r}: expected auto, name or hungarian."
        )
    return EvaluationSettings(
        oks_sigmas=read_sigmas_file(oks_sigmas_file) if oks_sigmas_file is not None else oks_sigma,
        pck_thresholds=pck,
        pck_bbox_fractions=pck_bbox,
        match_oks_threshold=match_oks,
        visibility_max_distance=visibility_distance,
        identity_mapping=identity_mapping,  # type: ignore[arg-type]
        user_instances_only_gt=not all_gt_instances,
    )


def eval_command(
    ground_truth: Annotated[
        Path,
        typer.Argument(help="Ground-truth labels (.slp / .pkg.slp / DeepLabCut project)."),
    ],
    predictions: Annotated[
        Path, typer.Argument(help="Predictions (.slp) on the same videos / frames.")
    ],
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

    settings = evaluation_settings(
        oks_sigma, oks_sigmas_file, parse_number_list(pck, "--pck"),
        parse_number_list(pck_bbox, "--pck-bbox"), match_oks, visibility_distance,
        identity_mapping, all_gt_instances,
    )
    gt = load_labels_file(ground_truth, "ground-truth")
    pr = load_labels_file(predictions, "predictions")
    result = evaluate(gt, pr, settings)  # provenance: the absolute paths load_labels read
    target = output if output is not None else default_output_path(predictions)
    save_metrics(result, target)
    render_summary(result, target)


def register(root: typer.Typer) -> None:
    """Attach the top-level ``eval`` command to the root command."""
    root.command(name="eval")(eval_command)
