"""``posekit frames``: choose frames to label (diverse frames, outlier frames)."""

from __future__ import annotations

import typer

frames_app = typer.Typer(
    help="Choose frames to label: diverse frames from videos, or frames where a model fails.",
    no_args_is_help=True,
)


def register(root: typer.Typer) -> None:
    """Attach the ``frames`` group (``extract``, ``outliers``) to the root command."""
    from posekit.cli import frames_extract_cmd, frames_outliers_cmd

    frames_extract_cmd.register(frames_app)
    frames_outliers_cmd.register(frames_app)
    root.add_typer(frames_app, name="frames")
