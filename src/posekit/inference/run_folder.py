"""A trained model's run folder, read without torch: config, checkpoint, exported graph.

A run folder ``<ckpt_dir>/<run_name>/`` holds the resolved ``training_config.yaml``,
``best.ckpt`` (and/or ``last.ckpt``) and, once exported, ``model.onnx`` with
``model.onnx.json`` (what the graph was exported from).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from posekit.config import effective_max_stride, load_config
from posekit.config.schema import TrainingJobConfig
from posekit.data.preprocessing import PreprocessingParams
from posekit.errors import ModelError
from posekit.model_types.info import DataInfo, info_from_config

CONFIG_NAME = "training_config.yaml"
ONNX_NAME = "model.onnx"
ONNX_META = "model.onnx.json"
CHECKPOINT_NAMES = ("best.ckpt", "last.ckpt")


@dataclass
class RunFolder:
    """Everything inference needs from a run folder."""

    path: Path
    config: TrainingJobConfig
    info: DataInfo
    head_type: str
    checkpoint: Path
    prep: PreprocessingParams
    max_stride: int

    @property
    def strides(self) -> dict[str, int]:
        """Output stride per output key of the model."""
        from posekit.model_types.info import output_strides

        return output_strides(self.config.model_config)

    @property
    def onnx_path(self) -> Path | None:
        """The exported graph, when it exists and matches the checkpoint."""
        onnx, meta = self.path / ONNX_NAME, self.path / ONNX_META
        if not (onnx.is_file() and meta.is_file()):
            return None
        try:
            recorded = json.loads(meta.read_text())
        except ValueError:
            return None
        stat = self.checkpoint.stat()
        if recorded.get("checkpoint") != self.checkpoint.name or recorded.get(
            "checkpoint_mtime_ns"
        ) != stat.st_mtime_ns:
            return None
        return onnx


def open_run_folder(path: str | os.PathLike[str]) -> RunFolder:
    """Read a run folder (or a ``.ckpt`` inside one).

    Raises:
        ModelError: the folder does not exist, has no ``training_config.yaml`` or no
            checkpoint.
    """
    path = Path(path)
    checkpoint: Path | None = None
    if path.is_file() and path.suffix == ".ckpt":
        checkpoint, path = path, path.parent
    if not path.is_dir():
        raise ModelError(
            f"{path}: model folder not found; expected the run folder of a trained model "
            "(<ckpt_dir>/<run_name>, holding training_config.yaml and best.ckpt)."
        )
    config_path = path / CONFIG_NAME
    if not config_path.is_file():
        raise ModelError(
            f"{path}: no {CONFIG_NAME} in this folder; expected a posekit run folder. Point "
            "--model at the folder that `posekit train` created."
        )
    if checkpoint is None:
        found = [path / name for name in CHECKPOINT_NAMES if (path / name).is_file()]
        if not found:
            raise ModelError(
                f"{path}: no checkpoint (best.ckpt or last.ckpt) in the run folder; expected a "
                "trained model. Did training finish (save_ckpt: true)? Resume it with "
                "trainer_config.resume_ckpt_path or train again."
            )
        checkpoint = found[0]
    config = load_config(config_path)
    backbone = config.model_config.active_backbone
    max_stride = effective_max_stride(backbone)
    return RunFolder(
        path=path,
        config=config,
        info=info_from_config(config),
        head_type=config.model_config.head_type,
        checkpoint=checkpoint,
        prep=PreprocessingParams.from_config(config.data_config.preprocessing, max_stride),
        max_stride=max_stride,
    )
