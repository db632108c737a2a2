"""Commented starting configs for ``posekit config init`` (one per model type)."""

from __future__ import annotations

from importlib import resources

from posekit.config.parse import suggest
from posekit.config.schema import HEAD_TYPES
from posekit.errors import ConfigError

PLACEHOLDER_LABELS = "path/to/labels.slp"
"""The labels path written in every template, to be replaced by the user's file."""


def init_config(model_type: str) -> str:
    """Return the commented starting YAML for ``model_type`` (one of the six head types).

    The text loads with :func:`~posekit.config.load_config` as it is; replace
    :data:`PLACEHOLDER_LABELS` with real labels files before training.
    """
    if model_type not in HEAD_TYPES:
        hint = suggest(model_type, list(HEAD_TYPES))
        raise ConfigError(
            f"--model-type {model_type!r}: unknown model type; expected one of "
            f"{', '.join(HEAD_TYPES)}.{' ' + hint.capitalize() if hint else ''}"
        )
    package = resources.files("posekit.config") / "templates" / f"{model_type}.yaml"
    return package.read_text(encoding="utf-8")
