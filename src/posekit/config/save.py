"""Write a config back out: plain dicts, YAML text and files.

The output is fully resolved (every field, defaults included), uses the newer spellings
only, and masks ``trainer_config.wandb.api_key``. Loading a saved file gives back an equal
config (a masked key reads back as ``null``; training then takes the key from the
``WANDB_API_KEY`` environment variable).
"""

from __future__ import annotations

import copy
import os
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any

import yaml

from posekit import __version__
from posekit.config.schema import (
    INTERNAL,
    MASK,
    BackboneConfig,
    TrainingJobConfig,
    WandBConfig,
    ZMQConfig,
)
from posekit.config.validation import check_config
from posekit.errors import ConfigError
from posekit.utils import atomic_write_text

# Keys written only when they hold a value: old-style addresses (kept for non-loopback
# hosts) and posekit's own backbone, so that every other saved config stays readable by
# sleap-nn.
_OMIT_WHEN_NULL: dict[type, tuple[str, ...]] = {
    ZMQConfig: ("publish_address", "controller_address"),
    BackboneConfig: ("efficientnet_lite0",),
}


def _to_plain(obj: Any, mask_secrets: bool) -> Any:
    if is_dataclass(obj):
        out: dict[str, Any] = {}
        omit = _OMIT_WHEN_NULL.get(type(obj), ())
        for f in fields(obj):
            if f.metadata.get(INTERNAL):
                continue
            value = getattr(obj, f.name)
            if value is None and f.name in omit:
                continue
            if mask_secrets and isinstance(obj, WandBConfig) and f.name == "api_key" and value:
                value = MASK
            out[f.name] = _to_plain(value, mask_secrets)
        return out
    if isinstance(obj, (list, tuple)):
        return [_to_plain(v, mask_secrets) for v in obj]
    if isinstance(obj, dict):
        return {k: _to_plain(v, mask_secrets) for k, v in obj.items()}
    return copy.copy(obj)


def config_to_dict(cfg: TrainingJobConfig, mask_secrets: bool = True) -> dict[str, Any]:
    """Return ``cfg`` as nested plain dicts/lists/scalars in YAML key order.

    With ``mask_secrets`` (the default) a set ``api_key`` is replaced by ``"****"``.
    """
    if not isinstance(cfg, TrainingJobConfig):
        raise ConfigError(
            f"config_to_dict: expected a TrainingJobConfig, got {type(cfg).__name__}. "
            "Load it first with posekit.config.load_config."
        )
    return _to_plain(cfg, mask_secrets)


class _Dumper(yaml.SafeDumper):
    """YAML writer that indents list items under their key (easier to read and edit)."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def config_to_yaml(cfg: TrainingJobConfig, mask_secrets: bool = True) -> str:
    """Return ``cfg`` as YAML text (secrets masked unless ``mask_secrets`` is False)."""
    return yaml.dump(
        config_to_dict(cfg, mask_secrets=mask_secrets),
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=100,
    )


def save_config(cfg: TrainingJobConfig, path: str | os.PathLike[str]) -> Path:
    """Validate ``cfg`` and write it atomically to ``path`` as YAML; return the path.

    The file holds every field (defaults resolved), the newer spellings, and a masked
    ``api_key``. Fields reported as ignored when the config was loaded are not written.
    """
    if not isinstance(cfg, TrainingJobConfig):
        raise ConfigError(f"{path}: expected a TrainingJobConfig to save, got {type(cfg).__name__}")
    check_config(cfg, source=f"{path} (config to save)")
    header = f"# posekit {__version__} training job configuration (sleap-nn format)\n"
    return atomic_write_text(path, header + config_to_yaml(cfg, mask_secrets=True))
