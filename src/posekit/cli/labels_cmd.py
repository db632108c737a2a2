"""``posekit labels``: merge corrected labels, split data without leakage."""

from __future__ import annotations

import typer

labels_app = typer.Typer(
    help="Merge label files (corrections win, nothing lost) and split them without leakage.",
    no_args_is_help=True,
)


def register(root: typer.Typer) -> None:
    """Attach the ``labels`` group (``merge``, ``split``) to the root command."""
    from posekit.cli import labels_merge_cmd, labels_split_cmd

    labels_merge_cmd.register(labels_app)
    labels_split_cmd.register(labels_app)
    root.add_typer(labels_app, name="labels")
