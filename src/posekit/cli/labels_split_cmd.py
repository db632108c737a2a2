"""``posekit labels split`` and ``posekit labels leakage``: splits that do not leak."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from posekit.errors import DataError

if TYPE_CHECKING:
    from posekit.refinement.leakage import LeakageReport


def _leakage_table(report: LeakageReport, title: str):
    from rich.table import Table

    table = Table(title=title)
    for col in ("side", "frames", "in training videos", "min distance", "median distance",
                f"closer than {report.near_frames}", "near duplicates"):
        table.add_column(col, justify="left" if col == "side" else "right")
    for s in report.sides:
        dup = f"{s.n_near_duplicates} of {s.n_hashed}" if report.hash_size else "—"
        table.add_row(s.side, str(s.n_frames), str(s.n_in_train_videos),
                      "—" if s.min_distance is None else str(s.min_distance),
                      "—" if s.median_distance is None else f"{s.median_distance:g}",
                      str(s.n_near_in_time), dup)
    return table


def split(
    labels: Annotated[
        Path, typer.Argument(help="Labels (.slp, .pkg.slp) or a DeepLabCut project.")
    ],
    output: Annotated[Path, typer.Option("-o", "--output", help="Folder for the split.")],
    by: Annotated[
        str, typer.Option(help="What stays whole: frame, video, animal, condition or block.")
    ] = "video",
    val: Annotated[float, typer.Option(help="Fraction of frames for validation.")] = 0.1,
    test: Annotated[float, typer.Option(help="Fraction of frames for testing (0: none).")] = 0.1,
    seed: Annotated[int, typer.Option(help="Shuffle seed: the same seed, the same split.")] = 0,
    metadata: Annotated[
        Path | None,
        typer.Option(help="CSV with a 'video' column and columns such as animal, session, "
                     "treatment, dose, camera, arena."),
    ] = None,
    group_column: Annotated[
        str, typer.Option(help="Metadata column naming the animal (--by animal).")
    ] = "animal",
    condition: Annotated[
        str | None,
        typer.Option(help="Metadata columns defining a condition, comma-separated "
                     "(default: treatment when present)."),
    ] = None,
    stratify: Annotated[
        bool, typer.Option("--stratify/--no-stratify",
                           help="Put every condition on every side where possible.")
    ] = True,
    gap: Annotated[int, typer.Option(help="--by block: frames between sides.")] = 30,
    block_size: Annotated[
        int | None, typer.Option(help="--by block: frames per block (default 10 x gap).")
    ] = None,
    hashes: Annotated[
        bool, typer.Option("--hashes/--no-hashes",
                           help="Compare images across sides (decodes every frame once).")
    ] = True,
) -> None:
    """Split labels into train / val / test without leakage, with a leakage report.

    Writes DIR/train.slp, val.slp, test.slp (frames stay embedded when the input had
    them), split_manifest.json and leakage_report.json; the manifest's training_config
    gives data_config.train_labels_path, val_labels_path and test_file_path.

    Example: [bold]posekit labels split labels.pkg.slp --by animal --metadata meta.csv -o split/[/bold]
    """
    from rich.console import Console

    from posekit.io.labels import load_labels
    from posekit.refinement.splits import split_labels, write_split

    columns = condition.split(",") if condition else None
    result = split_labels(load_labels(labels), by, val=val, test=test, seed=seed,
                          metadata=metadata, group_column=group_column,
                          condition_columns=columns, stratify=stratify, gap=gap,
                          block_size=block_size)
    manifest, report = write_split(result, output, hashes=hashes)
    console = Console()
    console.print(_leakage_table(report, f"split --by {by}: leakage"))
    for note in manifest.notes + report.notes:
        console.print(f"[yellow]note:[/yellow] {note}")
    dc = manifest.training_config["data_config"]
    n = manifest.n_frames
    console.print(f"train {n['train']} / val {n['val']} / test {n['test']} frames -> {output}; "
                  f"{'[red]leaks[/red]' if report.leaks else 'no leakage found'}")
    console.print(f"training config: data_config.train_labels_path={dc['train_labels_path']} "
                  f"val_labels_path={dc['val_labels_path']} test_file_path={dc['test_file_path']}")


def _sides_of(paths: list[Path]) -> dict[str, Path]:
    """Training file first, then held-out files; a split folder or a run folder expands to
    its files (train.slp / val.slp / test.slp, labels_gt.train.slp / labels_gt.val.slp)."""
    if len(paths) == 1 and paths[0].is_dir():
        folder = paths[0]
        for names in (("train.slp", "val.slp", "test.slp"),
                      ("labels_gt.train.slp", "labels_gt.val.slp", "labels_gt.test.slp")):
            found = {n.split(".")[-2]: folder / n for n in names if (folder / n).is_file()}
            if "train" in found and len(found) > 1:
                return found
        raise DataError(
            f"{folder}: no train.slp + val.slp (split folder) or labels_gt.train.slp + "
            "labels_gt.val.slp (run folder); expected one of them. Pass the files instead."
        )
    if len(paths) < 2:
        raise DataError("leakage: one file given; expected TRAIN and at least one held-out "
                        "file, or a split / run folder.")
    names = ["train", "val", "test"] + [f"heldout{i}" for i in range(3, len(paths))]
    return dict(zip(names, paths))


def leakage(
    paths: Annotated[
        list[Path],
        typer.Argument(help="TRAIN VAL [TEST] labels files, or one split / run folder."),
    ],
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write the report as JSON here.")
    ] = None,
    near_frames: Annotated[
        int, typer.Option(help="A held-out frame closer than this to a training frame leaks.")
    ] = 5,
    hashes: Annotated[
        bool, typer.Option("--hashes/--no-hashes", help="Also compare images (hashes).")
    ] = True,
) -> None:
    """Report leakage between a training set and held-out sets: distance in frames to the
    nearest training frame of the same video, and near-duplicate images across sides.

    Works on any split, including the one training made itself (its run folder holds
    labels_gt.train.slp and labels_gt.val.slp).

    Example: [bold]posekit labels leakage models/run1[/bold]
    """
    from rich.console import Console

    from posekit.io.labels import load_labels
    from posekit.refinement.leakage import leakage_report

    sides = _sides_of(list(paths))
    train = load_labels(sides.pop("train"))
    report = leakage_report(train, {s: load_labels(p) for s, p in sides.items()},
                            near_frames=near_frames, hashes=hashes)
    console = Console()
    console.print(_leakage_table(report, "leakage"))
    for note in report.notes:
        console.print(f"[yellow]note:[/yellow] {note}")
    if output is not None:
        report.save(output)
    console.print(("[red]leaks[/red]" if report.leaks else "no leakage found")
                  + (f"; report: {output}" if output else ""))


def register(labels_app: typer.Typer) -> None:
    """Attach ``split`` and ``leakage`` to the ``posekit labels`` group."""
    labels_app.command("split")(split)
    labels_app.command("leakage")(leakage)
