"""``load_config``: file / dict / config object → typed, validated :class:`TrainingJobConfig`.

Steps: read the source (YAML file, run folder, dict or config object), rewrite older
spellings, apply dotted overrides, build the dataclasses with type checks, then run the
cross-field validation. All problems found are raised together in one
:class:`~posekit.config.problems.InvalidConfigError` (a :class:`ConfigError`).
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from posekit.config.overrides import merge_into, overrides_to_dict
from posekit.config.parse import ParseReport, build
from posekit.config.problems import raise_if_problems
from posekit.config.save import config_to_dict
from posekit.config.schema import TrainingJobConfig
from posekit.config.spellings import normalize_spellings
from posekit.config.validation import validate
from posekit.config.yaml_io import read_yaml_file
from posekit.errors import ConfigError

RUN_FOLDER_CONFIG = "training_config.yaml"
"""Name of the config file inside a training run folder."""

_SECTIONS = ("data_config", "model_config", "trainer_config")
_LEGACY_SECTIONS = ("data", "model", "optimization", "outputs")

ConfigSource = str | os.PathLike[str] | Mapping[str, Any] | TrainingJobConfig


def _read_source(source: ConfigSource) -> tuple[Any, str, list[str]]:
    """Return ``(raw data, name for messages, ignored fields carried over)``."""
    if isinstance(source, TrainingJobConfig):
        return config_to_dict(source, mask_secrets=False), "config", list(source.ignored_fields)
    if isinstance(source, Mapping):
        return copy.deepcopy(dict(source)), "<dict>", []
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if path.is_dir() and (path / RUN_FOLDER_CONFIG).is_file():
            path = path / RUN_FOLDER_CONFIG
        elif path.is_dir():
            raise ConfigError(
                f"{path}: is a folder without a {RUN_FOLDER_CONFIG}; expected a YAML config "
                "file or a training run folder. Pass the config file itself."
            )
        return read_yaml_file(path), str(path), []
    raise ConfigError(
        f"load_config: cannot load a config from {type(source).__name__}; expected a file "
        "path, a dict or a TrainingJobConfig."
    )


def _check_top_level(raw: Any, name: str) -> dict[str, Any]:
    if raw is None:
        raise ConfigError(
            f"{name}: the config is empty; expected data_config, model_config "
            "and trainer_config sections."
        )
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{name}: the config is a {type(raw).__name__}, not a mapping; expected a YAML "
            "mapping with data_config, model_config and trainer_config sections."
        )
    keys = set(raw)
    if keys & set(_LEGACY_SECTIONS) and not keys & set(_SECTIONS):
        raise ConfigError(
            f"{name}: this looks like a legacy SLEAP (<= 1.4) training config (sections "
            f"{', '.join(sorted(keys & set(_LEGACY_SECTIONS)))}); expected a sleap-nn style "
            f"config. Convert it first: posekit config convert {name} -o config.yaml"
        )
    return raw


def load_config(source: ConfigSource, overrides: Sequence[str] = ()) -> TrainingJobConfig:
    """Load, check and return a training job configuration.

    Args:
        source: a YAML file path, a run folder holding ``training_config.yaml``, a dict of
            YAML data, or an existing :class:`TrainingJobConfig` (re-validated, e.g. to
            apply overrides).
        overrides: dotted ``KEY=VALUE`` strings applied after reading, e.g.
            ``["trainer_config.max_epochs=5", "data_config.train_labels_path=[a.slp]"]``.

    Returns:
        The validated config. ``cfg.ignored_fields`` lists the dotted paths of fields that
        sleap-nn writes but posekit does not use (accepted, not saved).

    Raises:
        ConfigError: for an unreadable source or any invalid field; an invalid config
            raises :class:`~posekit.config.problems.InvalidConfigError` listing every
            problem with its YAML path.
    """
    raw, name, carried = _read_source(source)
    raw = _check_top_level(raw, name)
    problems: list[str] = []

    def report(path: str, message: str) -> None:
        problems.append(f"{path}: {message}")

    normalize_spellings(raw, report)
    if overrides:
        update = overrides_to_dict(overrides)
        normalize_spellings(update, report)
        problems += merge_into(raw, update)

    parsed = ParseReport()
    cfg = build(TrainingJobConfig, raw, "", parsed)
    problems += parsed.errors
    # "exactly one head must be set, found none" adds nothing when the user chose an
    # unsupported head: the not-supported message already says what to do.
    problems += [
        p
        for p in validate(cfg)
        if not any(p.startswith(f"{section}: exactly one") for section in parsed.unsupported_in)
    ]
    raise_if_problems(name, problems)
    cfg.ignored_fields = list(dict.fromkeys([*carried, *parsed.ignored]))
    return cfg
