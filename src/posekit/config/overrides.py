"""Dotted command-line overrides such as ``trainer_config.max_epochs=5``.

Each override is ``DOTTED.KEY=VALUE``; the value is read as YAML, so ``5`` is a number,
``[a.slp, b.slp]`` a list and ``null`` clears a section. Keys may name sections that are
``null`` or absent in the file (``trainer_config.lr_scheduler.step_lr.step_size=20``):
the missing levels are created. Unknown keys are reported by the parser like any other.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

from posekit.errors import ConfigError

_EXAMPLE = "e.g. trainer_config.max_epochs=5 or data_config.train_labels_path=[train.slp]"


def parse_override(text: str) -> tuple[list[str], Any]:
    """Split ``"a.b.c=value"`` into ``(["a", "b", "c"], parsed value)``."""
    if not isinstance(text, str) or "=" not in text:
        raise ConfigError(
            f"override {text!r}: missing '='; expected DOTTED.KEY=VALUE ({_EXAMPLE})."
        )
    key, _, value_text = text.partition("=")
    keys = key.strip().split(".")
    if not all(k.strip() for k in keys):
        raise ConfigError(
            f"override {text!r}: the key {key!r} has an empty part; expected dotted names "
            f"({_EXAMPLE})."
        )
    keys = [k.strip() for k in keys]
    try:
        value = yaml.safe_load(value_text) if value_text.strip() else None
    except yaml.YAMLError:
        value = value_text  # not YAML (e.g. an odd path): keep the text as written
    return keys, value


def overrides_to_dict(overrides: Sequence[str]) -> dict[str, Any]:
    """Nest a sequence of overrides into one dict (later overrides win)."""
    if isinstance(overrides, str):
        overrides = [overrides]
    nested: dict[str, Any] = {}
    for text in overrides:
        keys, value = parse_override(text)
        node = nested
        for key in keys[:-1]:
            child = node.get(key)
            if not isinstance(child, dict):
                child = {}
                node[key] = child
            node = child
        node[keys[-1]] = value
    return nested


def merge_into(base: dict[str, Any], update: dict[str, Any], path: str = "") -> list[str]:
    """Deep-merge ``update`` into ``base`` in place; return problems (as path messages).

    Mappings merge key by key; anything else replaces the value. A ``null`` or missing
    section in ``base`` becomes a new mapping when ``update`` sets keys inside it.
    """
    problems: list[str] = []
    for key, value in update.items():
        sub = f"{path}.{key}" if path else key
        current = base.get(key)
        if isinstance(value, dict) and isinstance(current, dict):
            problems += merge_into(current, value, sub)
        elif isinstance(value, dict) and current is not None and not isinstance(current, dict):
            problems.append(
                f"{sub}: an override sets keys inside it, but the config holds the value "
                f"{current!r} there, not a section; expected a section. Override {sub} itself."
            )
        else:
            base[key] = value
    return problems
