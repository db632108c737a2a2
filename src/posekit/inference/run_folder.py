"""A trained model's run folder, read without torch: config, checkpoint, exported graphs.

A run folder ``<ckpt_dir>/<run_name>/`` holds the resolved ``training_config.yaml``,
``best.ckpt`` (and/or ``last.ckpt``) and, once exported, ``model.onnx`` with
``model.onnx.json`` (what the graph was exported from) and ``model.int8.onnx`` with
``model.int8.onnx.json`` (its measured accuracy change).

Run folders travel (copied from a cluster, zipped, renamed), so whether an exported graph
is up to date follows file *contents*, never file times: ``model.onnx.json`` records the
SHA-256 of the checkpoint it was exported from, ``model.int8.onnx.json`` the SHA-256 of the
float graph it was quantized from. A copied folder therefore predicts exactly as the
original, on the same runtime.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from posekit.config import effective_max_stride, load_config
from posekit.config.schema import TrainingJobConfig
from posekit.data.info import DataInfo, info_from_config
from posekit.data.preprocessing import PreprocessingParams
from posekit.errors import ModelError
from posekit.model_types.base import ModelType
from posekit.model_types.registry import model_type_of

if TYPE_CHECKING:
    from posekit.decoding.skeleton_consistency import BoneLengthPrior

logger = logging.getLogger(__name__)

CONFIG_NAME = "training_config.yaml"
ONNX_NAME = "model.onnx"
ONNX_META = "model.onnx.json"
INT8_NAME = "model.int8.onnx"
INT8_META = "model.int8.onnx.json"
CHECKPOINT_NAMES = ("best.ckpt", "last.ckpt")
#: The training split saved beside the model (its bone lengths guide decoding).
TRAIN_SPLIT_NAME = "labels_gt.train.slp"
#: ``--precision auto`` picks int8 only when points move less than this, on average.
AUTO_MAX_MEAN_SHIFT_PX = 0.5
#: ... and when at most this share of points is lost or gained.
AUTO_MAX_LOST_SHARE = 0.02


def file_digest(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file's contents, as hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


@dataclass
class RunFolder:
    """Everything inference needs from a run folder."""

    path: Path
    config: TrainingJobConfig
    info: DataInfo
    model_type: ModelType
    checkpoint: Path
    prep: PreprocessingParams
    max_stride: int

    @property
    def head_type(self) -> str:
        """The model type's name (the head set in ``model_config.head_configs``)."""
        return self.model_type.name

    @property
    def strides(self) -> dict[str, int]:
        """Output stride per output key of the model."""
        return self.model_type.output_strides

    @cached_property
    def checkpoint_digest(self) -> str:
        """SHA-256 of the checkpoint (computed once per :class:`RunFolder`)."""
        return file_digest(self.checkpoint)

    @cached_property
    def bone_lengths(self) -> BoneLengthPrior | None:
        """Bone lengths of the training split (``labels_gt.train.slp``) for skeleton-
        consistent decoding; ``None`` when the run has no skeleton edges or no such file."""
        labels_path = self.path / TRAIN_SPLIT_NAME
        if not self.info.edges or not labels_path.is_file():
            return None
        import sleap_io as sio

        from posekit.decoding.skeleton_consistency import bone_length_prior_from_labels

        try:
            labels = sio.load_slp(str(labels_path), open_videos=False)
        except (OSError, ValueError, KeyError) as exc:  # a damaged split costs the check only
            logger.warning("%s: cannot read the training split (%s); bone lengths are not "
                           "checked", labels_path, exc)
            return None
        return bone_length_prior_from_labels(labels, self.info.node_names, self.info.edges)

    @property
    def onnx_meta(self) -> dict:
        """What ``model.onnx`` was exported from (empty when there is none)."""
        return _read_json(self.path / ONNX_META) or {}

    @property
    def onnx_path(self) -> Path | None:
        """The exported graph, when it exists and was exported from this checkpoint."""
        onnx = self.path / ONNX_NAME
        meta = _read_json(self.path / ONNX_META)
        if not onnx.is_file() or meta is None:
            return None
        if meta.get("checkpoint_sha256") != self.checkpoint_digest:
            return None
        if list(meta.get("outputs", ())) != list(self.model_type.graph_outputs):
            return None  # exported by a posekit whose graph had other outputs
        return onnx

    @property
    def int8_quality(self) -> dict | None:
        """The measured accuracy change of the int8 graph, when it is up to date.

        Up to date means quantized from the current, up-to-date ``model.onnx``.
        """
        onnx = self.onnx_path
        quality = _read_json(self.path / INT8_META)
        if onnx is None or quality is None or not (self.path / INT8_NAME).is_file():
            return None
        if quality.get("source_sha256") != file_digest(onnx):
            return None  # made from another float graph
        return quality


def int8_is_safe(quality: dict | None) -> bool:
    """Whether ``--precision auto`` may use an int8 graph with this measured quality."""
    if not quality or quality.get("mean_shift_px") is None:
        return False
    lost = quality.get("points_lost_or_gained", 0)
    compared = max(1, quality.get("compared_points", 1))
    return (quality["mean_shift_px"] <= AUTO_MAX_MEAN_SHIFT_PX
            and lost / compared <= AUTO_MAX_LOST_SHARE)


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
    max_stride = effective_max_stride(config.model_config.active_backbone)
    info = info_from_config(config)
    return RunFolder(
        path=path,
        config=config,
        info=info,
        model_type=model_type_of(config.model_config, info),
        checkpoint=checkpoint,
        prep=_channels_for_network(
            PreprocessingParams.from_config(config.data_config.preprocessing, max_stride),
            int(config.model_config.active_backbone.in_channels)),
        max_stride=max_stride,
    )


def _channels_for_network(prep: PreprocessingParams, in_channels: int) -> PreprocessingParams:
    """Frames are converted to the channels the network takes (as sleap-nn's inference
    does): a grey model predicts colour video through its luma, a colour model grey video
    by replication. An explicit ``ensure_rgb`` / ``ensure_grayscale`` is kept."""
    if prep.ensure_rgb or prep.ensure_grayscale or in_channels not in (1, 3):
        return prep
    return replace(prep, ensure_grayscale=in_channels == 1, ensure_rgb=in_channels == 3)
