"""Entry point of the ``posekit`` command.

Each command module exposes ``register(root)`` and imports only light modules at import
time (heavy ones such as torch are imported inside the command functions), so that
``posekit --help`` answers instantly.
"""

from __future__ import annotations

import sys
from importlib import import_module

import click
import typer

from posekit import __version__
from posekit.errors import PosekitError

COMMAND_MODULES = (
    "posekit.cli.config_cmd",
    "posekit.cli.data_cmd",
)

app = typer.Typer(
    name="posekit",
    help="Markerless animal pose estimation: train, predict, track, evaluate, refine.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"posekit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Print the version."
    ),
) -> None:
    """Markerless animal pose estimation.

    Example: [bold]posekit demo[/bold] renders synthetic animals, trains a model and scores it.
    """


for _module in COMMAND_MODULES:
    import_module(_module).register(app)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; user errors print one clear message and exit with status 2."""
    try:
        result = app(args=argv, standalone_mode=False)
    except PosekitError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        return 2
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.Abort:
        typer.secho("aborted", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
