"""Accept the older edition's spellings (and a few convenience forms) before parsing.

The older sleap-nn guide wrote ``trainer_config.save_ckpt_path``, ``preprocessing.crop_hw``
and full ZMQ addresses; the newer one writes ``ckpt_dir`` + ``run_name``, ``crop_size`` and
ZMQ ports. :func:`normalize_spellings` rewrites raw YAML data in place to the newer
spelling, which is the only one posekit stores and saves.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Any

from posekit.config.schema import MASK

_ADDRESS = re.compile(r"^(?P<scheme>[a-z]+)://(?P<host>\[[^\]]+\]|[^:/]+):(?P<port>\d+)$")
_NULL_TEXT = ("none", "null", "")

Report = Callable[[str, str], None]


def _section(raw: Any, *keys: str) -> dict | None:
    node = raw
    for key in keys:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node if isinstance(node, dict) else None


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback IP addresses (``127.0.0.0/8``, ``::1``)."""
    host = host.strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_address(address: str) -> tuple[str, int]:
    """Split ``tcp://host:port`` into ``(host, port)``; raise ``ValueError`` if malformed."""
    match = _ADDRESS.match(address.strip())
    if match is None:
        raise ValueError(address)
    return match["host"], int(match["port"])


def _move(section: dict, old: str, new: str, value: Any, path: str, report: Report) -> None:
    """Store ``value`` (derived from old key ``old``) under ``new`` unless it conflicts."""
    current = section.get(new)
    if current is not None and current != value:
        report(
            f"{path}.{old}",
            f"conflicts with {path}.{new} ({current!r} vs {value!r} from the older spelling); "
            f"expected only one of them. Keep {new} (the newer spelling) and delete {old}.",
        )
        return
    section[new] = value


def _save_ckpt_path(trainer: dict, report: Report) -> None:
    if "save_ckpt_path" not in trainer:
        return
    value = trainer.pop("save_ckpt_path")
    path = "trainer_config"
    if value is None:
        return
    if not isinstance(value, str) or not value.strip("/\\ "):
        report(
            f"{path}.save_ckpt_path",
            f"expected a folder path (text), got {value!r}. Prefer ckpt_dir + run_name.",
        )
        return
    text = value.rstrip("/\\")
    cut = max(text.rfind("/"), text.rfind("\\"))
    ckpt_dir = text[:cut] if cut > 0 else ("/" if cut == 0 else ".")
    run_name = text[cut + 1 :]
    _move(trainer, "save_ckpt_path", "ckpt_dir", ckpt_dir, path, report)
    _move(trainer, "save_ckpt_path", "run_name", run_name, path, report)


def _crop_hw(pre: dict, report: Report) -> None:
    if "crop_hw" not in pre:
        return
    value = pre.pop("crop_hw")
    path = "data_config.preprocessing"
    if value is None:
        return
    ok = (
        isinstance(value, (list, tuple))
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    )
    if not ok:
        report(f"{path}.crop_hw", f"expected a list [height, width] of two integers, got {value!r}")
        return
    h, w = value
    if h != w:
        report(
            f"{path}.crop_hw",
            f"non-square crops ({h} x {w}) are not supported by posekit; expected height == "
            f"width. Use crop_size: {max(h, w)} (a square crop covering both).",
        )
        return
    _move(pre, "crop_hw", "crop_size", h, path, report)


def _zmq(zmq: dict, report: Report) -> None:
    path = "trainer_config.zmq"
    for kind in ("publish", "controller"):
        key = f"{kind}_address"
        value = zmq.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            zmq.pop(key, None)
            continue
        if not isinstance(value, str):
            report(
                f"{path}.{key}", f"expected an address like 'tcp://127.0.0.1:9001', got {value!r}"
            )
            continue
        try:
            host, port = parse_address(value)
        except ValueError:
            report(
                f"{path}.{key}",
                f"cannot read address {value!r}; expected 'tcp://HOST:PORT'. "
                f"Prefer {kind}_port: PORT (bound on 127.0.0.1).",
            )
            continue
        if is_loopback(host):
            zmq.pop(key)
        _move(zmq, key, f"{kind}_port", port, path, report)


def _simple_renames(raw: dict, report: Report) -> None:
    data = _section(raw, "data_config")
    if data is not None:
        if "use_augmentations" in data:
            value = data.pop("use_augmentations")
            if value is not None:
                _move(
                    data,
                    "use_augmentations",
                    "use_augmentations_train",
                    value,
                    "data_config",
                    report,
                )
        for key in ("train_labels_path", "val_labels_path"):
            if isinstance(data.get(key), str):
                data[key] = [data[key]]
        if "train_labels_path" in data and data["train_labels_path"] is None:
            data["train_labels_path"] = []  # sleap-nn's sample configs leave it blank
    wandb = _section(raw, "trainer_config", "wandb")
    if wandb is not None:
        mode = wandb.get("wandb_mode")
        if isinstance(mode, str) and mode.strip().lower() in _NULL_TEXT:
            wandb["wandb_mode"] = None
        key = wandb.get("api_key")
        # A masked key (from a saved config) or an empty one means "no key in the file".
        if isinstance(key, str) and key.strip() in ("", MASK):
            wandb["api_key"] = None


def normalize_spellings(raw: dict, report: Report) -> None:
    """Rewrite older spellings in ``raw`` (YAML data) in place to the newer ones.

    ``report(path, message)`` is called for each problem (conflicts, malformed values).
    """
    trainer = _section(raw, "trainer_config")
    if trainer is not None:
        _save_ckpt_path(trainer, report)
    pre = _section(raw, "data_config", "preprocessing")
    if pre is not None:
        _crop_hw(pre, report)
    zmq = _section(raw, "trainer_config", "zmq")
    if zmq is not None:
        _zmq(zmq, report)
    _simple_renames(raw, report)
