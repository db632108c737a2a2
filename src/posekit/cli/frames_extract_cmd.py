"""``posekit frames extract``: choose diverse frames of videos to label."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from posekit.errors import ConfigError
from posekit.utils.outputs import check_new_outputs


def _skeletons(path: Path | None) -> list[Any]:
    if path is None:
        return []
    from posekit.io.labels import load_labels

    labels = load_labels(path)
    if not labels.skeletons:
        raise ConfigError(f"{path}: holds no skeleton; expected a labels file with one "
                          "(--skeleton copies the skeleton of an existing project).")
    return list(labels.skeletons)


def _run_with_progress(videos: list[Path], **kwargs: Any) -> Any:
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from posekit.refinement.frame_selection import extract_frames

    with Progress(TextColumn("[bold]sampling"), BarColumn(),
                  TextColumn("{task.completed}/{task.total} frames"),
                  TimeRemainingColumn(), transient=True) as bar:
        task = bar.add_task("sample", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return extract_frames(videos, progress=progress, **kwargs)


def extract_cmd(
    videos: Annotated[list[Path], typer.Argument(help="Video files to choose frames from.")],
    output: Annotated[Path, typer.Option("--output", "-o", help=".slp (videos referenced) or "
                                         ".pkg.slp (chosen frames embedded).")],
    n: Annotated[int | None, typer.Option("-n", "--n-frames", help="Frames to choose over all "
                                          "videos (default 20; 0 with --events).")] = None,
    method: Annotated[str, typer.Option(help="kmeans (appearance clusters, as DeepLabCut), "
                                        "uniform (evenly spaced) or random.")] = "kmeans",
    seed: Annotated[int, typer.Option(help="Seed: the same seed, the same frames.")] = 0,
    allocation: Annotated[str, typer.Option(help="Share of each video: proportional (to its "
                                            "length), even, or together (cluster all videos "
                                            "at once).")] = "proportional",
    min_gap: Annotated[int, typer.Option(help="Frames between two picks of a video.")] = 0,
    start: Annotated[str | None, typer.Option(help="Window start: seconds (90), 1:30 or "
                                              "a share (10%).")] = None,
    stop: Annotated[str | None, typer.Option(help="Window end, as --start.")] = None,
    stride: Annotated[int, typer.Option(help="Consider every STRIDE-th frame.")] = 1,
    max_candidates: Annotated[int, typer.Option(help="Most frames considered over all videos "
                                                "(bounds memory and time).")] = 10_000,
    resize_width: Annotated[int, typer.Option(help="k-means feature width in pixels "
                                              "(DeepLabCut: 30).")] = 30,
    events: Annotated[Path | None, typer.Option(help="Events CSV (video, frame or time, "
                                                "label): also choose frames around each.")] = None,
    event_frames: Annotated[int, typer.Option(help="Frames chosen around each event.")] = 5,
    event_window: Annotated[float, typer.Option(help="Seconds either side of an event.")] = 1.0,
    embed: Annotated[bool | None, typer.Option("--embed/--no-embed", help="Embed the chosen "
                                               "frames (default: for .pkg.slp).")] = None,
    png_dir: Annotated[Path | None, typer.Option(help="Also write the frames as PNGs here, "
                                                 "one folder per video.")] = None,
    manifest: Annotated[Path | None, typer.Option(help="Manifest JSON (default: "
                                                  "OUTPUT stem + .manifest.json).")] = None,
    skeleton: Annotated[Path | None, typer.Option(help="Copy the skeleton of this labels file "
                                                  "into the output.")] = None,
    force: Annotated[bool, typer.Option(help="Replace an existing output file.")] = False,
) -> None:
    """Choose frames to label: the frame nearest each k-means centre of the videos'
    appearance (30-px grey images, as DeepLabCut), evenly spaced or random frames, and
    frames around behavioural events. Writes a labels file whose suggestions are the
    chosen frames (open it in SLEAP), a manifest saying why each was chosen, and
    optionally PNGs. Unreadable videos and frames are skipped and reported.

    Example: posekit frames extract session1.mp4 session2.mp4 -n 50 --min-gap 10 -o to_label.slp
    """
    from posekit.refinement.frame_selection import write_selection

    if output.exists() and not force:
        raise ConfigError(f"{output}: already exists; expected a new output file. Pass --force "
                          "to replace it or choose another name.")
    if not output.name.lower().endswith(".slp"):
        raise ConfigError(f"{output}: expected a name ending in .slp or .pkg.slp.")
    check_new_outputs((output,), [*videos, *(x for x in (events, skeleton) if x)])
    skeletons = _skeletons(skeleton)
    sel = _run_with_progress(
        list(videos), n=n, method=method, seed=seed, allocation=allocation, min_gap=min_gap,
        start=start, stop=stop, stride=stride, max_candidates=max_candidates,
        resize_width=resize_width, events=events, event_frames=event_frames,
        event_window=event_window)
    written = write_selection(sel, output, embed=embed, png_dir=png_dir, manifest=manifest,
                              skeletons=skeletons, protect=[p for p in (skeleton,) if p])
    for note in sel.notes:
        typer.secho(f"note: {note}", fg=typer.colors.YELLOW, err=True)
    used = sum(1 for v in sel.videos if v.ok)
    pngs = sum(1 for p in written if p.suffix == ".png")
    fps = sel.frames_decoded / sel.seconds if sel.seconds > 0 else 0.0
    typer.echo(f"chose {len(sel.frames)} frames ({sel.method}, seed {sel.seed}) from {used} of "
               f"{len(sel.videos)} video(s) -> {output}"
               + (f" + {pngs} PNGs" if pngs else "")
               + f"; {sel.frames_decoded} frames decoded at {fps:.0f} frames/s")


def register(frames_app: typer.Typer) -> None:
    """Attach ``extract`` to the ``posekit frames`` group."""
    frames_app.command("extract")(extract_cmd)
