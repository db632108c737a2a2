"""``posekit refine``: one round of the active-learning loop."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from posekit.errors import ConfigError

refine_app = typer.Typer(
    help="Active learning: predict new videos and package the frames the model gets wrong.",
    no_args_is_help=True,
)


def _split_models(paths: list[Path]) -> tuple[list[Path], list[Path]]:
    """Run folders (they hold training_config.yaml) and videos, in the order given."""
    models = [p for p in paths if p.is_dir() and (p / "training_config.yaml").is_file()]
    videos = [p for p in paths if p not in models]
    if not models:
        raise ConfigError(
            f"{' '.join(map(str, paths))}: no run folder among the arguments; expected "
            "RUN_DIR (a folder holding training_config.yaml) before the videos, e.g. "
            "posekit refine round runs/mouse session2.mp4 -n 50 -o round2."
        )
    return models, videos


def round_cmd(
    inputs: Annotated[list[Path], typer.Argument(help="RUN_DIR (two for top-down: centroid "
                                                 "and centered instance) then the videos.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Round folder to write.")],
    n: Annotated[int, typer.Option("-n", help="Frames to choose for labelling.")] = 50,
    methods: Annotated[str, typer.Option(help="Outlier criteria: uncertain,jump,"
                                         "fitting,missing.")]
    = "uncertain,jump,fitting,missing",
    epsilon: Annotated[float, typer.Option(help="Jump / fitting threshold in pixels.")] = 20.0,
    p_bound: Annotated[float, typer.Option(help="Score below which a point is uncertain.")]
    = 0.01,
    min_gap: Annotated[int, typer.Option(help="Chosen frames of a video at least this many "
                                         "frames apart.")] = 0,
    seed: Annotated[int, typer.Option(help="k-means seed.")] = 0,
    tracking: Annotated[bool, typer.Option("--tracking/--no-tracking",
                                           help="Link multi-animal instances into tracks "
                                           "before scoring.")] = False,
    max_tracks: Annotated[int | None, typer.Option(help="Tracking: most tracks.")] = None,
    batch_size: Annotated[int, typer.Option(help="Frames per prediction batch.")] = 8,
) -> None:
    """Predict videos, choose the frames the model gets wrong, write a labelling package.

    The folder gets predictions/ (reused next time when the checkpoint is the same),
    label_this_round.pkg.slp (chosen frames, images embedded, predictions as initial
    guesses) and round_summary.md / .json (why each frame was chosen). Correct the package
    in SLEAP, then: posekit labels merge TRAINING.slp CORRECTED.slp -o NEW.slp

    Example: posekit refine round runs/mouse session2.mp4 session3.mp4 -n 50 -o rounds/2
    """
    from posekit.refinement.outlier_selection import OutlierSettings
    from posekit.workflow.round import run_round

    models, videos = _split_models(inputs)
    for video in videos:
        if video.resolve() == output.resolve():
            raise ConfigError(f"--output {output}: is one of the inputs; expected a new folder.")
    settings = OutlierSettings(methods=tuple(m.strip() for m in methods.split(",") if m.strip()),
                               epsilon=epsilon, p_bound=p_bound, min_gap=min_gap, seed=seed,
                               fill=True)
    tracker_config = None
    if tracking:
        from posekit.tracking import TrackingConfig

        tracker_config = TrackingConfig(max_tracks=max_tracks)
    result = run_round(models, videos, n, output, settings, tracker_config,
                       batch_size=batch_size)
    for note in result.notes:
        typer.secho(f"note: {note}", fg=typer.colors.YELLOW, err=True)
    typer.echo(f"wrote {result.package} ({len(result.outliers.chosen)} frames to label) and "
               f"{output / 'round_summary.md'}; predictions of {len(result.predictions)} "
               f"video(s), {len(result.reused)} reused from an earlier round")


def register(root: typer.Typer) -> None:
    """Attach the ``refine`` group (``round``) to the root command."""
    refine_app.command("round")(round_cmd)
    root.add_typer(refine_app, name="refine")
