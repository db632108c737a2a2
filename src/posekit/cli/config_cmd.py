"""``posekit config``: validate, show, convert and create training configurations."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from posekit.config.schema_model import HEAD_TYPES
from posekit.errors import ConfigError

config_app = typer.Typer(
    help="Check, print, convert and create training configs (sleap-nn format).\n\n"
    "Example: posekit config init --model-type bottomup -o bottomup.yaml",
    no_args_is_help=True,
)


#: Model types ``config init`` can write a starting config for (the schema's head types).
ModelType = Enum("ModelType", {name: name for name in HEAD_TYPES}, type=str)


def _warn_ignored(source: str, ignored: list[str], what: str) -> None:
    if not ignored:
        return
    typer.secho(
        f"warning: {source}: {len(ignored)} {what} not used by posekit and ignored: "
        + ", ".join(ignored),
        fg=typer.colors.YELLOW,
        err=True,
    )


def _refuse_overwrite(path: Path, force: bool) -> None:
    if path.exists() and not force:
        raise ConfigError(
            f"{path}: already exists; expected a new output file. Pass --force to replace it "
            "or choose another name."
        )


@config_app.command("validate")
def validate_cmd(
    files: Annotated[
        list[Path], typer.Argument(help="YAML config files (or run folders) to check.")
    ],
) -> None:
    """Check config files and print every problem; exit status 2 if any file is invalid.

    Example: posekit config validate single.yaml topdown_centroid.yaml
    """
    from posekit.config import load_config

    failed = 0
    for path in files:
        try:
            cfg = load_config(path)
        except ConfigError as exc:
            failed += 1
            typer.secho(f"invalid: {exc}", fg=typer.colors.RED, err=True)
            continue
        model = cfg.model_config
        typer.echo(f"valid: {path} ({model.head_type} model, {model.backbone_type} backbone)")
        _warn_ignored(str(path), cfg.ignored_fields, "field(s) written by sleap-nn are")
    if failed:
        typer.secho(f"{failed} of {len(files)} file(s) invalid", fg=typer.colors.RED, err=True)
        raise typer.Exit(2)


@config_app.command("show")
def show_cmd(
    file: Annotated[Path, typer.Argument(help="YAML config file (or run folder).")],
    overrides: Annotated[
        list[str] | None,
        typer.Argument(help="Dotted overrides KEY=VALUE, e.g. trainer_config.max_epochs=5."),
    ] = None,
) -> None:
    """Print the fully resolved config (defaults filled in, overrides applied, api_key masked).

    Example: posekit config show config.yaml trainer_config.max_epochs=5
    """
    from posekit.config import config_to_yaml, load_config

    cfg = load_config(file, overrides or [])
    _warn_ignored(str(file), cfg.ignored_fields, "field(s) written by sleap-nn are")
    typer.echo(config_to_yaml(cfg, mask_secrets=True), nl=False)


@config_app.command("convert")
def convert_cmd(
    legacy: Annotated[Path, typer.Argument(help="Legacy SLEAP (<= 1.4) training_config.json.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="YAML file to write.")],
    force: Annotated[bool, typer.Option("--force", help="Replace OUTPUT if it exists.")] = False,
) -> None:
    """Convert a legacy SLEAP (<= 1.4) training_config.json to a posekit YAML config.

    Only UNet models can be converted. Settings without an equivalent are listed.

    Example: posekit config convert models/old_run/training_config.json -o config.yaml
    """
    from posekit.config import convert_legacy_config, save_config

    _refuse_overwrite(output, force)
    cfg = convert_legacy_config(legacy)
    save_config(cfg, output)
    model = cfg.model_config
    typer.echo(f"wrote {output} ({model.head_type} model, {model.backbone_type} backbone)")
    _warn_ignored(str(legacy), cfg.ignored_fields, "legacy setting(s) are")


@config_app.command("init")
def init_cmd(
    model_type: Annotated[
        ModelType, typer.Option("--model-type", "-m", help="Kind of model to configure.")
    ],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="YAML file to write (default: print it)."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace OUTPUT if it exists.")] = False,
) -> None:
    """Write a commented starting config that trains once its labels path is set.

    Example: posekit config init --model-type single_instance -o single.yaml
    """
    from posekit.config import init_config
    from posekit.config.templates import PLACEHOLDER_LABELS
    from posekit.utils import atomic_write_text

    text = init_config(model_type.value)
    if output is None:
        typer.echo(text, nl=False)
        return
    _refuse_overwrite(output, force)
    atomic_write_text(output, text)
    typer.echo(f"wrote {output}: set data_config.train_labels_path (now '{PLACEHOLDER_LABELS}')")


def register(root: typer.Typer) -> None:
    """Attach the ``config`` group to the root command."""
    from posekit.cli import config_auto_cmd

    config_auto_cmd.register(config_app)
    root.add_typer(config_app, name="config")
