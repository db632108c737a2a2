"""``posekit report``: self-contained HTML reports with a JSON of every number.

Each subcommand lives in its own module with a ``register(report_app)`` function; adding
one is one line in :data:`SUBCOMMAND_MODULES`. Subcommands import their report code inside
the command function, so ``posekit --help`` stays instant.
"""

from __future__ import annotations

from importlib import import_module

import typer

SUBCOMMAND_MODULES = (
    "posekit.cli.report_curves_cmd",
    "posekit.cli.report_model_cmd",
    "posekit.cli.report_dataset_cmd",
    "posekit.cli.report_compare_cmd",
    "posekit.cli.report_validate_cmd",
)
"""Modules of the ``posekit report`` subcommands, in the order ``--help`` lists them."""

report_app = typer.Typer(
    help="Reports that say what is wrong and what to do next: one HTML page (opens offline) "
    "plus a JSON of every number.",
    no_args_is_help=True,
)


def register(root: typer.Typer) -> None:
    """Attach the ``report`` group and its subcommands to the root command."""
    for name in SUBCOMMAND_MODULES:
        import_module(name).register(report_app)
    root.add_typer(report_app, name="report")
