"""``posekit labels``: merge corrected labels, split data without leakage, share frames
among labelers and turn several labelers' files into one consensus."""

from __future__ import annotations

import typer

labels_app = typer.Typer(
    help="Merge label files (corrections win, nothing lost), split them without leakage, "
    "assign frames to labelers, and build a consensus of several labelers.",
    no_args_is_help=True,
)


def register(root: typer.Typer) -> None:
    """Attach the ``labels`` group (``merge``, ``split``, ``leakage``, ``assign``,
    ``consensus``) to the root command."""
    from posekit.cli import (
        labels_assign_cmd,
        labels_consensus_cmd,
        labels_merge_cmd,
        labels_split_cmd,
    )

    labels_merge_cmd.register(labels_app)
    labels_split_cmd.register(labels_app)
    labels_assign_cmd.register(labels_app)
    labels_consensus_cmd.register(labels_app)
    root.add_typer(labels_app, name="labels")
