"""Protocol C: choose the model on validation pixel error or PCK, with patience.

Every validation, :class:`PoseMetrics` decodes the network's outputs to points with the
model type's own dense decoding (:meth:`~posekit.model_types.base.ModelType.decode`, the
same as the exported graph; bottom-up peaks are grouped by the type's grouper), compares
them with the batch's true points and logs:

* ``val_pixel_error``: mean distance of the found points to their true positions, in frame
  pixels (each sample's model-input distance divided by its frame's resize factor);
  points that were not found do not count here;
* ``val_pck``: fraction of the visible true points found within ``pck_threshold_px``
  (missing points count as wrong);
* ``val_missing``: fraction of the visible true points not found (peak below
  ``peak_threshold``, or an animal matched to no prediction).

For multi-animal types each true instance is matched one-to-one to the nearest predicted
instance (smallest mean distance over the nodes both have; Hungarian assignment), and an
unmatched true instance counts as missing. The metrics are pure functions
(:func:`match_distances`, :func:`summarize`) under the thin callback. With
``select_on: pixel_error`` or ``pck``, ``ModelCheckpoint`` keeps the best model on that
metric and ``EarlyStopping`` (with ``patience``) stops on it (:func:`selection_callbacks`).

The settings cannot live in the sleap-nn YAML (it refuses unknown keys): they come from
the command line, the Python API or the ``model_selection:`` section of the sidecar
``CONFIG.posekit.yaml`` (:func:`selection_for_config`).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import lightning as L
import numpy as np

from posekit.config.rules import RuleTable, check_settings, choice, number, settings_from_dict
from posekit.errors import ConfigError

if TYPE_CHECKING:
    from torch import Tensor

    from posekit.model_types.base import ModelType

SECTION = "model_selection"
SELECT_ON = ("val_loss", "pixel_error", "pck")
MONITORS = {"val_loss": ("val_loss", "min"), "pixel_error": ("val_pixel_error", "min"),
            "pck": ("val_pck", "max")}
_NO_MATCH = 1e12

RULES: RuleTable = {
    SECTION: (
        choice("select_on", SELECT_ON),
        number("eval_every", 1),
        number("patience", 1),
        number("pck_threshold_px", 0, low_open=True),
        number("min_delta", 0),
        number("peak_threshold", 0, 1),
    )
}


@dataclass(frozen=True)
class SelectionSettings:
    """Protocol C: what chooses the best checkpoint, how often and how patiently.

    Attributes:
        select_on: ``"val_loss"`` (sleap-nn's behaviour), ``"pixel_error"`` or ``"pck"``.
        eval_every: Validate every this many optimizer steps (``None``: at the end of each
            epoch, or for a budgeted run about 15 times over the budget).
        patience: Stop after this many validations without improvement of the selection
            metric (``None``: never stop early on it).
        pck_threshold_px: Distance, in frame pixels, within which a point counts as correct.
        min_delta: Smallest change that counts as an improvement.
        peak_threshold: Peaks below this confidence are not found (as at inference).
    """

    select_on: str = "val_loss"
    eval_every: int | None = None
    patience: int | None = None
    pck_threshold_px: float = 5.0
    min_delta: float = 0.0
    peak_threshold: float = 0.2

    def __post_init__(self) -> None:
        check_settings(self, SECTION, RULES)

    @property
    def monitor(self) -> tuple[str, str]:
        """``(logged metric, "min" or "max")`` that chooses the best checkpoint."""
        return MONITORS[self.select_on]

    @property
    def needs_points(self) -> bool:
        """Whether validation must decode points (selection on pixel error or PCK)."""
        return self.select_on != "val_loss"


def read_selection(path: str | os.PathLike[str]) -> SelectionSettings | None:
    """The ``model_selection`` section of a sidecar file (``None`` when it has none).

    Raises:
        ConfigError: unreadable YAML or bad settings (every problem listed).
    """
    from posekit.refinement.frame_weights import read_section

    return read_section(path, SECTION, SelectionSettings)


def selection_for_config(config: Any) -> SelectionSettings | None:
    """The Protocol C settings of a training config given as a path (the
    ``model_selection`` section of its ``CONFIG.posekit.yaml``), else ``None``."""
    from posekit.refinement.frame_weights import section_for_config

    return section_for_config(config, SECTION, SelectionSettings)


# ---------------------------------------------------------------------- the maths (numpy)

def match_distances(pred: np.ndarray, true: np.ndarray) -> np.ndarray:
    """Distance of every true point to its prediction after matching instances.

    Args:
        pred: ``(n, K, 2)`` predicted instances, ``NaN`` where a node was not found.
        true: ``(N, K, 2)`` true instances, ``NaN`` where not labelled / padding.

    Returns:
        ``(N, K)``: the distance where the true point is visible and predicted, ``inf``
        where it is visible but not predicted (or its instance matched no prediction),
        ``NaN`` where it is not visible.
    """
    from scipy.optimize import linear_sum_assignment

    pred = np.asarray(pred, np.float64).reshape(-1, *np.shape(true)[1:])
    true = np.asarray(true, np.float64)
    visible = np.isfinite(true).all(axis=-1)
    out = np.where(visible, np.inf, np.nan)
    rows = np.flatnonzero(visible.any(axis=1))
    if len(pred) == 0 or len(rows) == 0:
        return out
    d = np.linalg.norm(true[rows, None] - pred[None], axis=-1)  # (N', n, K)
    common = np.isfinite(d)
    count = common.sum(axis=-1)
    cost = np.where(count > 0, np.where(common, d, 0.0).sum(axis=-1) / np.maximum(count, 1),
                    _NO_MATCH)
    r, c = linear_sum_assignment(cost)
    for i, j in zip(r, c, strict=True):
        if cost[i, j] >= _NO_MATCH:
            continue
        row = rows[i]
        out[row] = np.where(visible[row], np.where(np.isfinite(d[i, j]), d[i, j], np.inf),
                            np.nan)
    return out


@dataclass
class PointTally:
    """Running sums of point errors over a validation pass."""

    visible: float = 0.0
    found: float = 0.0
    error_sum: float = 0.0
    correct: float = 0.0

    def add(self, distances: np.ndarray, threshold_px: float) -> None:
        """Add distances as :func:`match_distances` returns them (frame pixels)."""
        d = np.asarray(distances, np.float64)
        seen = ~np.isnan(d)
        found = np.isfinite(d)
        self.visible += float(seen.sum())
        self.found += float(found.sum())
        self.error_sum += float(d[found].sum())
        self.correct += float((d[found] <= threshold_px).sum())

    def as_array(self) -> np.ndarray:
        return np.array([self.visible, self.found, self.error_sum, self.correct])


def summarize(visible: float, found: float, error_sum: float, correct: float
              ) -> dict[str, float]:
    """``val_pixel_error`` (``NaN`` when nothing was found), ``val_pck`` and
    ``val_missing`` from the tallies of a validation pass."""
    if visible <= 0:
        return {"val_pixel_error": math.nan, "val_pck": math.nan, "val_missing": math.nan}
    return {"val_pixel_error": error_sum / found if found > 0 else math.nan,
            "val_pck": correct / visible, "val_missing": 1.0 - found / visible}


# ---------------------------------------------------------------------- decoding (torch)

def _grouper(task: ModelType, peak_threshold: float) -> Any:
    """The grouper a bottom-up type's predictor uses (it needs no run folder)."""
    from posekit.inference.pipeline import InferenceSettings

    run = SimpleNamespace(info=task.info, prep=None, path=Path("validation"))
    predictor = task.make_predictor(run, None, InferenceSettings(peak_threshold=peak_threshold))
    return predictor.grouper


def decoded_instances(task: ModelType, outputs: dict[str, Tensor], peak_threshold: float,
                      grouper: Any = None) -> list[np.ndarray]:
    """Predicted instances per sample, ``(n, P, 2)`` in model-input pixels, from the type's
    :meth:`~posekit.model_types.base.ModelType.decode` (``P``: nodes, 1 for centroids)."""
    import torch

    from posekit.decoding.grouping import peaks_per_sample

    first = next(iter(outputs.values()))
    batch = int(first.shape[0])
    threshold = torch.tensor(float(peak_threshold), device=first.device)
    decoded = task.decode(outputs, threshold, "integral", 7)
    arrays = {k: v.detach().float().cpu().numpy()
              for k, v in zip(task.graph_outputs, decoded, strict=True)}
    if "points" in arrays:  # one instance per sample (single instance, crops)
        return [arrays["points"][b][None] for b in range(batch)]
    channels = arrays.get("peak_channel", np.zeros(len(arrays["peak_sample"])))
    frames = peaks_per_sample(arrays["peak_sample"], channels, arrays["peak_points"],
                              arrays["peak_scores"], batch)
    if grouper is None:  # one-node instances (centroids)
        return [f.points[:, None, :] for f in frames]
    extra = arrays[grouper.output]
    return [np.asarray(grouper(frames[b], extra[b]).instances) for b in range(batch)]


def true_instances(task: ModelType, points: np.ndarray) -> np.ndarray:
    """``(B, N, P, 2)`` true instances as the decoded ones describe them: the centred
    instance for crop models, anchors for centroid models, every instance otherwise."""
    from posekit.keypoints import anchor_points

    if task.stage == "centroids":
        return anchor_points(points, task.info.anchor_index)[..., None, :]
    if task.crops_instances or "points" in task.graph_outputs:
        return points[:, :1]
    return points


class PoseMetrics(L.Callback):
    """Logs ``val_pixel_error``, ``val_pck`` and ``val_missing`` at every validation.

    Args:
        task: The model type (its decoding).
        frame_scale: ``(n_val_samples,)`` frame pixels per model-input pixel of each
            validation sample (by dataset index), or ``None`` (distances in model pixels).
        pck_threshold_px: PCK distance in frame pixels.
        peak_threshold: Minimum peak confidence of a found point.
    """

    def __init__(self, task: ModelType, frame_scale: np.ndarray | None = None,
                 pck_threshold_px: float = 5.0, peak_threshold: float = 0.2) -> None:
        self.task = task
        self.frame_scale = None if frame_scale is None else np.asarray(frame_scale, np.float64)
        self.pck_threshold_px = float(pck_threshold_px)
        self.peak_threshold = float(peak_threshold)
        self.grouper = (_grouper(task, peak_threshold) if "peak_channel" in task.graph_outputs
                        else None)
        self.tally = PointTally()
        self.history: list[dict[str, float]] = []

    def on_validation_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule
                                  ) -> None:
        self.tally = PointTally()

    def batch_distances(self, outputs: dict[str, Tensor], points: Tensor,
                        index: np.ndarray) -> list[np.ndarray]:
        """Per sample, the ``(N, P)`` distances (frame pixels) of a decoded batch."""
        pred = decoded_instances(self.task, outputs, self.peak_threshold, self.grouper)
        true = true_instances(self.task, points.detach().float().cpu().numpy())
        out = []
        for b, instances in enumerate(pred):
            d = match_distances(instances, true[b])
            if self.frame_scale is not None:
                d = d * self.frame_scale[int(index[b])]
            out.append(d)
        return out

    def on_validation_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule,
                                outputs: Any, batch: Any, batch_idx: int,
                                dataloader_idx: int = 0) -> None:
        if trainer.sanity_checking:
            return
        # The module's validation step hands over its outputs: no second forward pass.
        network, points = outputs["outputs"], outputs["points"]
        for d in self.batch_distances(network, points, batch.index.cpu().numpy()):
            self.tally.add(d, self.pck_threshold_px)

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule
                                ) -> None:
        import torch

        if trainer.sanity_checking:
            return
        sums = torch.as_tensor(self.tally.as_array(), dtype=torch.float64)
        if trainer.world_size > 1:
            sums = trainer.strategy.reduce(sums.to(pl_module.device), reduce_op="sum").cpu()
        values = summarize(*(float(v) for v in sums))
        self.history.append({"step": int(trainer.global_step), **values})
        for key, value in values.items():
            # an undefined value must neither win the selection nor stop the run
            worst = -1.0 if key == "val_pck" else math.inf
            pl_module.log(key, value if math.isfinite(value) else worst, prog_bar=key != "val_missing")


def frame_scales(dataset: Any) -> np.ndarray | None:
    """Frame pixels per model-input pixel of every sample of a training dataset (its
    frame's resize factor; ``None`` when the dataset does not say)."""
    store = getattr(dataset, "store", None)
    if store is None or not hasattr(dataset, "sample_frames"):
        return None
    rows = np.asarray(dataset.sample_frames(), np.int64)
    per_frame = {}
    for row in np.unique(rows):
        t = store.transform(int(row))
        per_frame[int(row)] = 1.0 / math.sqrt(t.scale_x * t.scale_y)
    return np.array([per_frame[int(r)] for r in rows], np.float64)


def selection_callbacks(settings: SelectionSettings, task: ModelType, val_dataset: Any
                        ) -> list[L.Callback]:
    """The :class:`PoseMetrics` callback when the selection needs points, else nothing."""
    if not settings.needs_points:
        return []
    return [PoseMetrics(task, frame_scales(val_dataset), settings.pck_threshold_px,
                        settings.peak_threshold)]


def check_selection(settings: Any) -> SelectionSettings:
    """``settings`` as :class:`SelectionSettings` (a dict is read like the sidecar section).

    Raises:
        ConfigError: neither, or bad values.
    """
    if isinstance(settings, SelectionSettings):
        return settings
    if isinstance(settings, dict):
        return settings_from_dict(SelectionSettings, settings, SECTION, "selection")
    raise ConfigError(f"selection: got {type(settings).__name__}; expected SelectionSettings "
                      "or a dict of its fields.")


def resolve_selection(selection: SelectionSettings | dict | None, config: Any
                      ) -> SelectionSettings:
    """The Protocol C settings of a run: ``selection`` when complete, else the sidecar's
    ``model_selection`` section (or the defaults) with the fields of a ``selection`` dict
    (command-line flags) on top."""
    from dataclasses import asdict

    if isinstance(selection, SelectionSettings):
        return selection
    base = selection_for_config(config) or SelectionSettings()
    if not selection:
        return base
    return check_selection({**asdict(base), **selection})
