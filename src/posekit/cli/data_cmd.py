"""``posekit data``: create, inspect and convert pose datasets."""

from __future__ import annotations

import typer

data_app = typer.Typer(
    help="Create and inspect pose datasets (synthetic animals, .slp, DeepLabCut projects).",
    no_args_is_help=True,
)


def register(root: typer.Typer) -> None:
    """Attach the ``data`` group (with its subcommands) to the root command."""
    from posekit.cli import data_inspect_cmd, data_synth_cmd

    data_inspect_cmd.register(data_app)
    data_synth_cmd.register(data_app)
    root.add_typer(data_app, name="data")
