"""``posekit data``: create, inspect and convert pose datasets."""

from __future__ import annotations

import typer

data_app = typer.Typer(
    help="Create and inspect pose datasets (synthetic animals, .slp, DeepLabCut projects).",
    no_args_is_help=True,
)


def register(root: typer.Typer) -> None:
    """Attach the ``data`` group (with its subcommands) to the root command."""
    # Subcommand modules attach themselves to ``data_app`` when imported.
    from posekit.cli import data_inspect_cmd, data_synth_cmd  # noqa: F401

    root.add_typer(data_app, name="data")
