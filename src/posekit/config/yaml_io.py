"""Read YAML configuration text strictly: clear errors, no silently repeated keys."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from posekit.errors import ConfigError


class _StrictLoader(yaml.SafeLoader):
    """Safe YAML loader that rejects a key repeated within one mapping."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[Any, yaml.Node] = {}
        for key_node, _value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                first = seen[key].start_mark.line + 1
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping",
                    node.start_mark,
                    f"the key {key!r} appears twice (first on line {first})",
                    key_node.start_mark,
                )
            seen[key] = key_node
        return super().construct_mapping(node, deep=deep)


def parse_yaml(text: str, source: str) -> Any:
    """Parse YAML ``text``; raise :class:`ConfigError` naming ``source`` and the line."""
    try:
        return yaml.load(text, Loader=_StrictLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(
            f"{source}: not valid YAML{where}: {problem}; expected a YAML document. "
            "Check the indentation (spaces, not tabs) and quoting near that line."
        ) from None


def read_yaml_file(path: Path) -> Any:
    """Read and parse a YAML file; raise :class:`ConfigError` for every way that can fail."""
    if not path.exists():
        raise ConfigError(
            f"{path}: config file not found; expected an existing YAML file. Check the path "
            f"(relative paths are taken from the current folder, {Path.cwd()})."
        )
    if not path.is_file():
        raise ConfigError(f"{path}: is not a file; expected a YAML config file.")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(
            f"{path}: is not a text file (not UTF-8); expected a YAML config file. "
            "Did you pass a labels or model file instead of the config?"
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"{path}: cannot be read ({exc.strerror}); expected a readable file."
        ) from None
    if not text.strip():
        raise ConfigError(
            f"{path}: the file is empty; expected a YAML training config. "
            "Create one with: posekit config init --model-type single_instance"
        )
    return parse_yaml(text, str(path))
