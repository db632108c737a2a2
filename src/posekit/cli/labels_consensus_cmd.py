"""``posekit labels consensus``: one label set from several labelers, and how well they agree."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from posekit.cli.numbers import fixed

if TYPE_CHECKING:
    from rich.console import Console

    from posekit.refinement.consensus_report import ConsensusReport


def _table(title: str, columns: list[str], rows: list[list[str]]) -> object:
    """A rich table: the first column left-aligned, the others right-aligned."""
    from rich.table import Table

    table = Table(title=title)
    for i, col in enumerate(columns):
        table.add_column(col, justify="left" if i == 0 else "right")
    for row in rows:
        table.add_row(*row)
    return table


def _node_table(report: ConsensusReport) -> object:
    rows = []
    for node in report.nodes:
        ila, icc = report.ila["per_node"][node], report.icc["per_node"][node]
        image, pose = icc["image"], icc["pose"]
        rows.append([node, fixed(ila["mean_px"], 2), ila["band"] or "-",
                     f"{fixed(image['x'], 3)}/{fixed(image['y'], 3)}",
                     f"{fixed(pose['x'], 3)}/{fixed(pose['y'], 3)}",
                     f"{report.oks['sigmas'][node]:.4f}"])
    return _table("agreement per node",
                  ["node", "ILA px", "band", "ICC image x/y", "ICC pose x/y", "OKS sigma"], rows)


def _labeler_table(report: ConsensusReport) -> object:
    rows = []
    for a in report.agreement:
        name = a["labeler"]
        bias = report.bias["per_labeler"][name]
        rows.append([name, fixed(a["mean_px"], 2), fixed(a["z"], 2), "yes" if a["outlier"] else "",
                     f"{fixed(bias['dx'], 2)}, {fixed(bias['dy'], 2)}",
                     str(report.annotations["removed_by_labeler"][name])])
    return _table("labelers", ["labeler", "px to others", "z", "outlier",
                               "bias dx, dy vs others", "removed"], rows)


def _human_table(report: ConsensusReport) -> object:
    thresholds = report.human["pck_thresholds_px"]
    rows = []
    for name, h in report.human["per_labeler"].items():
        pck = list((h["pck"] or {}).values()) or [None] * len(thresholds)
        rows.append([name, str(h["instances"]), fixed(h["oks_mean"], 3),
                     *(fixed(v, 3) for v in pck)])
    return _table("each labeler scored against the consensus of the others",
                  ["labeler", "animals", "OKS", *(f"PCK@{t:g}px" for t in thresholds)], rows)


def _gold_table(report: ConsensusReport) -> object:
    gold = report.gold or {}
    rows = [[name, fixed(g["mean_px"], 2), f"{fixed(g['dx'], 2)}, {fixed(g['dy'], 2)}",
             str(g["n"])]
            for name, g in gold.get("per_labeler", {}).items()]
    return _table(f"against the gold labeler {gold.get('labeler')}",
                  ["labeler", "mean px", "bias dx, dy", "points"], rows)


def _matrix_table(report: ConsensusReport) -> object:
    rows = [[name, *(fixed(v, 2) for v in row)]
            for name, row in zip(report.labelers, report.pairwise_ila["overall_px"], strict=True)]
    return _table("pairwise ILA, all nodes (mean px between two labelers)",
                  ["", *report.labelers], rows)


def _print_findings(console: Console, report: ConsensusReport) -> None:
    stab = report.stability
    for step in stab["steps"]:
        console.print(f"adding {step['added']} ({step['n_labelers']} labelers) moved the "
                      f"consensus {fixed(step['mean_shift_px'], 2)} px on average"
                      + (" [green](stable)[/green]" if step["stable"] else ""))
    enough = stab["sufficient_labelers"]
    console.print(f"stop rule (< {stab['threshold_px']} px): " + (
        f"{enough} labelers were enough" if enough else "not reached; more labelers would "
        "still move the consensus"))
    for name in report.outliers:
        console.print(f"[yellow]agreement outlier:[/yellow] {name} (more than "
                      f"{report.settings['outlier_sd']:g} SD above the other labelers)")
    worst = ", ".join(f"{w['recording']} {w['frame_idx']} ({fixed(w['ila_px'], 2)} px)"
                      for w in report.worst_frames[:5])
    if worst:
        console.print(f"largest disagreement (review these frames together): {worst}")
    for item in report.agreement_by_node[:10]:
        console.print(f"[yellow]node outlier:[/yellow] {item['labeler']} on {item['node']} "
                      f"({fixed(item['mean_px'], 2)} px, z {fixed(item['z'], 2)})")
    for note in report.notes:
        console.print(f"[yellow]note:[/yellow] {note}")


def render_report(report: ConsensusReport, report_path: Path | None,
                  sigmas_path: Path | None = None) -> None:
    """The report's tables and findings on the terminal, then a one-line summary."""
    from rich.console import Console

    console = Console()
    tables = [_node_table(report), _labeler_table(report), _matrix_table(report),
              _human_table(report)] + ([_gold_table(report)] if report.gold else [])
    for table in tables:
        console.print(table)
    _print_findings(console, report)
    frames, ann = report.frames, report.annotations
    console.print(
        f"consensus of {len(report.labelers)} labelers: {frames['total']} frames "
        f"({frames['in_consensus']} in consensus, {frames['single_labeler']} from one "
        f"labeler), ILA {fixed(report.ila['mean_px'], 2)} px ({report.ila['band']}), "
        f"{ann['removed']} of {ann['placed']} annotations removed as outliers -> "
        f"{report.output}" + (f"; report: {report_path}" if report_path else "")
        + (f"; OKS sigmas: {sigmas_path}" if sigmas_path else ""))


def consensus(
    inputs: Annotated[
        list[Path],
        typer.Argument(help="One labels file per labeler (.slp, .pkg.slp or a DeepLabCut "
                       "project), two or more."),
    ],
    output: Annotated[
        Path,
        typer.Option("-o", "--output", help="Consensus labels: .slp (frames referenced) or "
                     ".pkg.slp (embedded); OUT.ila.csv is written beside it."),
    ],
    names: Annotated[
        str | None,
        typer.Option("--names", help="Labeler names, comma-separated, in the files' order "
                     "(default: the file stems)."),
    ] = None,
    report: Annotated[
        Path | None,
        typer.Option(help="Report JSON (default: OUT.consensus_report.json)."),
    ] = None,
    gold: Annotated[
        str | None,
        typer.Option("--gold", help="A labeler to compare every other labeler with (distance "
                     "and signed bias per node)."),
    ] = None,
    mad_factor: Annotated[
        float, typer.Option("--mad-factor", help="Remove annotations farther than this many "
                            "MADs from the median.")
    ] = 3.0,
    min_mad: Annotated[
        float, typer.Option("--min-mad-px", help="Smallest MAD used (px), so that MAD = 0 "
                            "does not remove every other click.")
    ] = 1.0,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the report as JSON instead of tables.")
    ] = False,
) -> None:
    """Combine several labelers' labels of the same frames into one consensus.

    Per frame and node: the median position, annotations farther than 3 x MAD from it
    removed, the median of the rest. Frames are matched by video and frame index, animals
    by position. Frames only one labeler labelled are kept and flagged. The report gives
    the inter-labeler agreement per node and labeler, outlier labelers, biases, ICC, the
    stop rule for adding labelers, human PCK/OKS and per-node OKS sigmas
    (OUT.oks_sigmas.json, for posekit eval --oks-sigmas-file). Inputs are never modified.

    Example: [bold]posekit labels consensus anna.slp ben.slp chloe.slp -o consensus.slp[/bold]
    """
    import json

    from posekit.refinement.consensus import ConsensusSettings
    from posekit.refinement.labeler_files import consensus_labels_files, output_sibling

    settings = ConsensusSettings(mad_factor=mad_factor, min_mad_px=min_mad)
    _, result = consensus_labels_files(inputs, output, names=names, gold=gold,
                                       settings=settings)
    report_path = report or output_sibling(output, ".consensus_report.json")
    result.save(report_path)
    sigmas_path = result.save_sigmas(output_sibling(output, ".oks_sigmas.json"))
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
    else:
        render_report(result, report_path, sigmas_path)


def register(labels_app: typer.Typer) -> None:
    """Attach ``consensus`` to the ``posekit labels`` group."""
    labels_app.command("consensus")(consensus)
