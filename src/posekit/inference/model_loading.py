"""Rebuild a trained network from its run folder (torch; no Lightning needed)."""

from __future__ import annotations

import torch

from posekit.errors import ModelError
from posekit.inference.run_folder import RunFolder
from posekit.models.build import build_model
from posekit.models.heads import PoseModel

#: Key under which posekit stamps what a checkpoint was trained as.
CHECKPOINT_STAMP = "posekit"


def read_checkpoint(path: str) -> dict:
    """Load a posekit checkpoint safely (``weights_only=True``)."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError as exc:
        raise ModelError(f"{path}: checkpoint not found; expected a .ckpt file.") from exc
    except Exception as exc:  # corrupt / foreign files raise many types
        raise ModelError(
            f"{path}: cannot be read as a checkpoint ({type(exc).__name__}: {exc}); expected a "
            ".ckpt written by posekit. If training was interrupted, use last.ckpt."
        ) from exc


def check_stamp(checkpoint: dict, run: RunFolder) -> None:
    """Refuse a checkpoint trained as another model type or on other nodes."""
    stamp = checkpoint.get(CHECKPOINT_STAMP) if isinstance(checkpoint, dict) else None
    if not isinstance(stamp, dict):
        return
    trained = stamp.get("head_type")
    if trained and trained != run.head_type:
        raise ModelError(
            f"{run.checkpoint}: this checkpoint was trained as a {trained} model, but "
            f"{run.path / 'training_config.yaml'} describes a {run.head_type} model; expected "
            "matching files. Use the run folder the checkpoint was written into."
        )
    nodes = stamp.get("node_names")
    if nodes and tuple(nodes) != run.info.node_names:
        raise ModelError(
            f"{run.checkpoint}: trained on nodes {list(nodes)} but the run's configuration "
            f"lists {list(run.info.node_names)}; expected the same skeleton."
        )


def load_pose_model(run: RunFolder) -> PoseModel:
    """The run's network with its trained weights, in eval mode on the CPU."""
    checkpoint = read_checkpoint(str(run.checkpoint))
    check_stamp(checkpoint, run)
    crop = run.info.crop_size
    input_size = (crop, crop) if crop else None
    model = build_model(run.config.model_config, run.model_type.heads, input_size=input_size,
                        pretrained=False)
    state = checkpoint.get("state_dict", checkpoint) if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict):
        raise ModelError(f"{run.checkpoint}: holds no state dict; expected a posekit checkpoint.")
    prefix = "model."
    weights = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    try:
        model.load_state_dict(weights, strict=True)
    except RuntimeError as exc:
        raise ModelError(
            f"{run.checkpoint}: its weights do not fit the network described by "
            f"{run.path / 'training_config.yaml'} ({str(exc).splitlines()[0]}); expected the "
            "checkpoint of this run. Was it trained with another configuration or model type?"
        ) from exc
    return model.eval()
