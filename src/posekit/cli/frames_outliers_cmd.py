"""``posekit frames outliers``: frames where a model's predictions look wrong, to correct."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from posekit.errors import ConfigError, DataError
from posekit.utils.outputs import check_new_outputs

if TYPE_CHECKING:
    import sleap_io as sio


def parse_frames(text: str | None) -> tuple[int, ...]:
    """``"10,250,300-305"`` -> frame numbers (ranges inclusive), in the order given."""
    if not text:
        return ()
    out: list[int] = []
    try:
        for part in (p.strip() for p in text.split(",") if p.strip()):
            lo, _, hi = part.partition("-")
            out += range(int(lo), int(hi) + 1) if hi else [int(lo)]
    except ValueError:
        raise ConfigError(f"--frames {text!r}: expected frame numbers and ranges such as "
                          "10,250,300-305") from None
    return tuple(out)


def parse_node_epsilon(items: list[str] | None) -> dict[str, float] | None:
    """``["tail_tip=40"]`` -> ``{"tail_tip": 40.0}``."""
    if not items:
        return None
    out = {}
    for item in items:
        name, _, value = item.partition("=")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            raise ConfigError(f"--node-epsilon {item!r}: expected NODE=PIXELS, e.g. "
                              "tail_tip=40") from None
    return out


def _names(text: str | None) -> tuple[str, ...] | None:
    return tuple(n.strip() for n in text.split(",") if n.strip()) if text else None


def _match_video(labels: sio.Labels, video: Path, source: Path) -> int:
    """Index of the predictions' video that ``video`` stands for (one video, or the same
    file name); DataError listing the videos otherwise."""
    if len(labels.videos) == 1:
        return 0
    names = [Path(str(v.filename)).name for v in labels.videos]
    if video.name in names:
        return names.index(video.name)
    raise DataError(f"{source}: predictions of {len(names)} videos ({names}); none is named "
                    f"{video.name}. Give --video for one of them, or leave --video out.")


def _open_video(labels: sio.Labels, path: Path, source: Path) -> tuple[int, sio.Video]:
    """Open ``--video`` and check the predictions fit in it (frame numbers)."""
    import sleap_io as sio

    from posekit.errors import VideoError
    from posekit.refinement.sampling import probe_video

    info = probe_video(path)
    if not info.ok:
        raise VideoError(f"{path}: cannot be opened ({info.error}); expected a readable "
                         "video. Check the path, or leave --video out.")
    index = _match_video(labels, path, source)
    target = labels.videos[index]
    last = max((lf.frame_idx for lf in labels.labeled_frames if lf.video is target), default=-1)
    if last >= info.n_frames:
        raise DataError(f"{source}: predictions reach frame {last} but {path} has "
                        f"{info.n_frames} frames; expected predictions of this video. Check "
                        "that --video is the video the predictions were made on.")
    return index, sio.Video.from_filename(str(path))


def _check_skeleton(labels: sio.Labels, project: Path, source: Path) -> None:
    """DataError naming both files when the predictions' nodes differ from the project's."""
    from posekit.io.labels import check_same_nodes, load_labels, used_node_names

    check_same_nodes(used_node_names(load_labels(project), project),
                     used_node_names(labels, source), project, source)


def _readable(labels: sio.Labels) -> dict[int, str]:
    return {i: str(v.filename) for i, v in enumerate(labels.videos)
            if isinstance(v.filename, str) and Path(v.filename).is_file()}


def report_paths(output: Path) -> tuple[Path, Path]:
    """``OUT.outliers.json`` and ``OUT.outliers.csv`` beside ``OUT.slp`` / ``OUT.pkg.slp``."""
    low = output.name.lower()
    stem = output.name[: -len(".pkg.slp")] if low.endswith(".pkg.slp") else output.stem
    return output.with_name(f"{stem}.outliers.json"), output.with_name(f"{stem}.outliers.csv")


def write_outputs(labels: sio.Labels, result: Any, output: Path, video: sio.Video | None,
                  protect: list[Path]) -> list[Path]:
    """Write the chosen frames (``.slp``), the JSON report and the per-frame CSV, each
    atomically; ConfigError when one of them would replace an input (``protect``)."""
    import json

    from posekit.io.writers import save_labels
    from posekit.refinement.outlier_outputs import frame_table, outlier_labels, result_dict
    from posekit.utils import atomic_write_text

    report, table = report_paths(output)
    check_new_outputs((output, report, table), protect)
    if not output.name.lower().endswith(".slp"):
        raise ConfigError(f"{output}: expected a labels file name ending in .slp or .pkg.slp.")
    save_labels(outlier_labels(labels, result, video), output)
    data = result_dict(result) | {"outputs": {"labels": str(output), "table": str(table)}}
    atomic_write_text(report, json.dumps(data, indent=1) + "\n")
    atomic_write_text(table, frame_table(result))
    return [output, report, table]


def _print_summary(result: Any, output: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    from posekit.refinement.outliers import summarize

    table = Table(title="outlier frames (best first)", show_lines=False)
    for col in ("rank", "frame", "why"):
        table.add_column(col, justify="right" if col != "why" else "left")
    for row, reasons in list(zip(result.chosen.tolist(), result.reasons, strict=True))[:15]:
        table.add_row(str(result.rank[row]), str(result.frame[row]), summarize(reasons))
    Console(stderr=True).print(table)
    fired = ", ".join(f"{c} {int(result.fired[:, i].sum())}"
                      for i, c in enumerate(result.criteria))
    typer.echo(f"chose {len(result.chosen)} of {len(result.candidates)} candidate frames "
               f"({fired} of {len(result.frame)} frames fired) -> {output}")


def outliers_cmd(
    predictions: Annotated[Path, typer.Argument(help="Predictions (.slp from posekit track or "
                                                "SLEAP).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Labels file of the chosen "
                                         "frames (.slp); the report goes beside it.")],
    method: Annotated[str, typer.Option(help="Comma-separated: uncertain, jump, fitting, "
                                        "missing (fewer animals than usual), list.")]
    = "uncertain,jump,fitting,missing",
    video: Annotated[Path | None, typer.Option(help="The video the predictions were made on "
                                               "(checked; used for appearance k-means).")] = None,
    labels: Annotated[Path | None, typer.Option(help="Project labels: the predictions' "
                                                "skeleton must match it.")] = None,
    n: Annotated[int | None, typer.Option("--n", "-n", help="Frames to choose (default "
                                          "20).")] = None,
    fraction: Annotated[float | None, typer.Option(help="Share of frames to choose, e.g. "
                                                   "0.005 (top 0.5 %).")] = None,
    frames: Annotated[str | None, typer.Option(help="Frames for 'list', e.g. 10,250,300-305.")] = None,
    p_bound: Annotated[float, typer.Option(help="uncertain: score below this.")] = 0.01,
    epsilon: Annotated[float, typer.Option(help="jump / fitting: pixels.")] = 20.0,
    node_epsilon: Annotated[list[str] | None, typer.Option(help="NODE=PIXELS threshold of one "
                                                           "node (repeatable).")] = None,
    ar_degree: Annotated[int, typer.Option(help="fitting: AR order.")] = 3,
    ma_degree: Annotated[int, typer.Option(help="fitting: MA order.")] = 1,
    nodes: Annotated[str | None, typer.Option(help="Only these nodes count (comma-"
                                              "separated).")] = None,
    rule: Annotated[str, typer.Option(help="any (a node beyond its threshold) or mean "
                                      "(the nodes' mean, as DeepLabCut's fitting).")] = "any",
    min_nodes: Annotated[int, typer.Option(help="Nodes of one animal that must fire.")] = 1,
    diversity: Annotated[bool, typer.Option("--diversity/--no-diversity", help="k-means among "
                                            "the top-ranked candidates.")] = True,
    features: Annotated[str, typer.Option(help="k-means on pose, appearance or auto.")] = "auto",
    min_gap: Annotated[int, typer.Option(help="Frames between two chosen frames.")] = 0,
    fill: Annotated[bool, typer.Option(help="Too few candidates: add next-ranked frames.")] = False,
    seed: Annotated[int, typer.Option(help="k-means seed.")] = 0,
    return_window: Annotated[int, typer.Option(help="jump: frames within which a jump back "
                                               "ends a glitch (0: off).")] = 5,
    window: Annotated[int, typer.Option(help="fitting: running-median frames.")] = 15,
    count_missing: Annotated[bool, typer.Option(help="uncertain: count points the model did "
                                                "not place.")] = False,
    force: Annotated[bool, typer.Option(help="Replace an existing output file.")] = False,
) -> None:
    """Find frames where the model's predictions look wrong (DeepLabCut's criteria and
    defaults: uncertain p_bound 0.01, jump and fitting epsilon 20 px, ARMA 3/1; and
    missing: a frame with fewer animals than the model finds on most frames), rank
    them, choose diverse ones, and write them with the predictions as starting points to
    correct in SLEAP, plus OUT.outliers.json (why each frame) and OUT.outliers.csv (every
    frame's scores). Frame numbers are the video's own.

    Example: posekit frames outliers predictions.slp --video session1.mp4 -n 50 -o fix.slp
    """
    from posekit.io.labels import load_labels
    from posekit.refinement.outlier_selection import OutlierSettings, find_outliers

    inputs = [p for p in (predictions, video, labels) if p is not None]
    check_new_outputs((output, *report_paths(output)), inputs)
    check_new_outputs((output,), inputs, force)
    settings = OutlierSettings(
        methods=tuple(m.strip() for m in method.split(",") if m.strip()), p_bound=p_bound,
        epsilon=epsilon, node_epsilon=parse_node_epsilon(node_epsilon), ar_degree=ar_degree,
        ma_degree=ma_degree, nodes=_names(nodes), rule=rule, min_nodes=min_nodes, n=n,
        fraction=fraction, frames=parse_frames(frames), diversity=diversity,
        features=features, min_gap=min_gap, fill=fill, seed=seed,
        return_window=return_window, window=window, count_missing=count_missing)
    preds = load_labels(predictions)
    if labels is not None:
        _check_skeleton(preds, labels, predictions)
    paths, out_video, index = _readable(preds), None, None
    if video is not None:
        index, out_video = _open_video(preds, video, predictions)
        paths = {index: str(video)}
    result = find_outliers(preds, settings, paths, source=str(predictions), only=index)
    write_outputs(preds, result, output, out_video, inputs)
    for note in result.notes:
        typer.secho(f"note: {note}", fg=typer.colors.YELLOW, err=True)
    _print_summary(result, output)


def register(frames_app: typer.Typer) -> None:
    """Attach ``outliers`` to the ``posekit frames`` group."""
    frames_app.command("outliers")(outliers_cmd)
