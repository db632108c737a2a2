"""Initialising a model's backbone or heads from an earlier posekit run.

``model_config.pretrained_backbone_weights`` / ``pretrained_head_weights`` name either

* a posekit checkpoint: a Lightning ``.ckpt`` whose ``state_dict`` keys are the
  LightningModule's, i.e. the :class:`~posekit.models.PoseModel` keys prefixed ``model.``
  (a bare state dict, with or without the prefix, is accepted too), or
* a SLEAP 1.x ``.h5`` weights file (UNet only), handled by :mod:`posekit.models.legacy`.

Only tensors whose names and shapes match are copied; the counts are reported and a
source with no usable tensor at all is an error.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from torch import Tensor, nn

from posekit.errors import ModelError
from posekit.models.loading import LoadReport, load_matching

logger = logging.getLogger(__name__)

#: Prefix the LightningModule puts in front of the PoseModel's state-dict keys.
LIGHTNING_PREFIX = "model."

_PARTS = {"backbone": "backbone.", "heads": "heads."}


def read_checkpoint_state(path: str | Path) -> dict[str, Tensor]:
    """Read the model tensors of a posekit checkpoint, keys relative to the PoseModel.

    Raises:
        ModelError: missing file, unreadable file, or no tensors inside.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelError(
            f"{path}: checkpoint not found; expected a posekit .ckpt file (e.g. "
            "<run folder>/best.ckpt). Check the path in pretrained_backbone_weights / "
            "pretrained_head_weights."
        )
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for corrupt / foreign files
        raise ModelError(
            f"{path}: cannot be read as a PyTorch checkpoint ({type(exc).__name__}: {exc}); "
            "expected a .ckpt written by posekit. SLEAP .h5 files must end in .h5."
        ) from exc
    state = raw.get("state_dict", raw) if isinstance(raw, dict) else None
    if not isinstance(state, dict):
        raise ModelError(
            f"{path}: holds no state dict; expected a Lightning checkpoint with a "
            "'state_dict' entry or a plain state dict."
        )
    tensors = {k: v for k, v in state.items() if isinstance(v, Tensor)}
    prefixed = any(k.startswith(LIGHTNING_PREFIX) for k in tensors)
    if prefixed:
        tensors = {
            k[len(LIGHTNING_PREFIX) :]: v
            for k, v in tensors.items()
            if k.startswith(LIGHTNING_PREFIX)
        }
    return tensors


def load_checkpoint_weights(model: nn.Module, path: str | Path, part: str) -> LoadReport:
    """Copy the ``part`` ("backbone" or "heads") tensors of a posekit checkpoint into ``model``.

    Returns:
        The :class:`LoadReport` (also logged at INFO level).

    Raises:
        ModelError: unreadable checkpoint, or no tensor of that part matches the model.
    """
    if part not in _PARTS:
        raise ValueError(f"part must be 'backbone' or 'heads', got {part!r}")
    prefix = _PARTS[part]
    state = read_checkpoint_state(path)
    candidates = {k: v for k, v in state.items() if k.startswith(prefix)}
    scope = [k for k in model.state_dict() if k.startswith(prefix)]
    report = load_matching(model, candidates, str(path), scope=scope)
    if report.n_loaded == 0:
        field = "pretrained_backbone_weights" if part == "backbone" else "pretrained_head_weights"
        detail = report.skipped[0][1] if report.skipped else f"it has no '{prefix}*' tensors"
        raise ModelError(
            f"model_config.{field}: {path} has no {part} tensor matching this model "
            f"(first problem: {detail}); expected a checkpoint of a posekit model with the "
            f"same {part} architecture. Check the backbone options / head channels, or "
            "set the field to null."
        )
    logger.info("%s weights: %s", part, report.summary())
    return report
