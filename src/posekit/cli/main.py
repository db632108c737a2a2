"""Entry point of the ``posekit`` command.

Each command module exposes ``register(root)`` and imports only light modules at import
time (heavy ones such as torch are imported inside the command functions), so that
``posekit --help`` answers instantly.
"""

from __future__ import annotations

import sys
from importlib import import_module

import typer

from posekit import __version__
from posekit.errors import PosekitError

COMMAND_MODULES = (
    "posekit.cli.config_cmd",
    "posekit.cli.data_cmd",
    "posekit.cli.train_cmd",
    "posekit.cli.track_cmd",
    "posekit.cli.filter_cmd",
    "posekit.cli.measure_cmd",
    "posekit.cli.frames_cmd",
    "posekit.cli.labels_cmd",
    "posekit.cli.refine_cmd",
    "posekit.cli.eval_cmd",
    "posekit.cli.report_cmd",
    "posekit.cli.export_cmd",
    "posekit.cli.render_cmd",
    "posekit.cli.demo_cmd",
)

app = typer.Typer(
    name="posekit",
    help="Markerless animal pose estimation: inspect labels, configure, train, track, "
    "evaluate.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
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
    """Run the CLI and return its exit status.

    Usage errors are reported by the command parser (status 2); errors caused by the user's
    data or configuration (:class:`~posekit.errors.PosekitError`) print one clear message
    without a traceback and also exit with status 2.
    """
    try:
        app(args=argv, prog_name="posekit", standalone_mode=True)
    except PosekitError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        return 2
    except SystemExit as exc:
        code = exc.code
        if code is None:
            return 0
        return code if isinstance(code, int) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
