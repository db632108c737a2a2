"""What a model type is: the one description every part of posekit reads.

A model type (the head named in ``model_config.head_configs``) is one subclass of
:class:`ModelType` in its own module of :mod:`posekit.model_types`. It says, once:

* **stage**: how it is used at inference: ``"alone"`` (frames in, poses out),
  ``"centroids"`` (the first stage of top-down: where the animals are) or ``"instances"``
  (the second stage: one animal per crop around a centroid; trained on instance crops);
* **heads** (:meth:`ModelType.build_heads`): output keys, channels, strides, loss kinds and
  weights, Gaussian spreads; the network builder and the losses read these;
* **targets** (:meth:`ModelType.make_targets`, torch): what each head learns;
* **dense decoding** (:meth:`ModelType.decode`, torch, traced into the exported graph):
  network outputs -> the arrays named in :attr:`ModelType.graph_outputs`;
* **predictor** (:meth:`ModelType.make_predictor`, numpy): those arrays -> instances in
  full-frame pixels;
* **visualisation** (:meth:`ModelType.preview`): which map and which points a training
  preview draws.

Its configuration block is sleap-nn's (``posekit.config.schema_model``), from which the
config layer also derives ``config init`` templates (``config/templates/<name>.yaml``) and
the legacy SLEAP conversion. Importing this module (and every model-type module) never
imports torch: the torch-side methods import what they need when called, so ``posekit
track`` on ONNX Runtime stays torch-free.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from posekit.data.info import DataInfo

if TYPE_CHECKING:
    import numpy as np
    from torch import Tensor

    from posekit.model_types.losses import OHKMParams

Stage = Literal["alone", "centroids", "instances"]
LossKind = Literal["mse", "mse_sigmoid", "cross_entropy"]
LayerKind = Literal["conv", "class_vector"]


@dataclass(frozen=True)
class HeadSpec:
    """One output of a model type.

    Attributes:
        key: Output key of the network (``"confmaps"``, ``"centroids"``, ``"pafs"``, ...).
        block: Name of its block in the head's configuration (``"confmaps"``, ...).
        channels: Output channels.
        stride: Output stride (for class vectors: the deepest features' stride).
        loss_weight: Weight of this head's loss in the total.
        loss: Kind of loss (see :meth:`ModelType.loss`).
        sigma: Gaussian spread of the targets in model-input pixels (``None``: no maps).
        layer: ``"conv"`` (a 1x1 convolution over features) or ``"class_vector"``
            (pooling + fully connected layers).
    """

    key: str
    block: str
    channels: int
    stride: int
    loss_weight: float = 1.0
    loss: LossKind = "mse"
    sigma: float | None = None
    layer: LayerKind = "conv"


class ModelType(ABC):
    """One model type, bound to its head configuration and the data facts it needs.

    Class attributes describe the type; an instance (``cls(head_config, info)``) knows its
    heads. Subclasses set :attr:`name`, :attr:`stage`, :attr:`graph_outputs`, and
    implement :meth:`build_heads`, :meth:`make_targets`, :meth:`decode` and (unless they
    are a first stage) :meth:`make_predictor`.
    """

    #: The head name in ``model_config.head_configs``.
    name: ClassVar[str]
    #: How the type is used at inference (see the module docstring).
    stage: ClassVar[Stage] = "alone"
    #: Names of the arrays :meth:`decode` returns, in order.
    graph_outputs: ClassVar[tuple[str, ...]]
    #: Whether predictions carry identity classes.
    has_classes: ClassVar[bool] = False
    #: Whether the type groups parts along skeleton edges (needs at least one edge).
    needs_edges: ClassVar[bool] = False
    #: One peak per channel (global maximum) rather than every local maximum.
    single_peak: ClassVar[bool] = True

    def __init__(self, head_config: Any, info: DataInfo) -> None:
        self.config = head_config
        self.info = info
        self.heads: tuple[HeadSpec, ...] = tuple(self.build_heads())

    # ----------------------------------------------------------------- description
    @abstractmethod
    def build_heads(self) -> list[HeadSpec]:
        """The outputs of this model type."""

    @property
    def crops_instances(self) -> bool:
        """Whether the model sees one instance per sample, cropped around its anchor."""
        return self.stage == "instances"

    @property
    def output_channels(self) -> dict[str, int]:
        """Channels per output key."""
        return {h.key: h.channels for h in self.heads}

    @property
    def output_strides(self) -> dict[str, int]:
        """Output stride per output key."""
        return {h.key: h.stride for h in self.heads}

    @property
    def primary(self) -> HeadSpec:
        """The head whose peaks are the predicted points (the first one)."""
        return self.heads[0]

    # ----------------------------------------------------------------- training (torch)
    @abstractmethod
    def make_targets(self, points: Tensor, classes: Tensor, input_hw: tuple[int, int]
                     ) -> dict[str, Tensor]:
        """Training targets of a batch.

        Args:
            points: ``(B, N, K, 2)`` keypoints in model-input pixels (after augmentation and,
                for instance models, cropping), ``NaN`` where missing. For instance models
                ``N == 1`` and the instance is the centred one.
            classes: ``(B, N)`` identity class indices, ``-1`` when unknown.
            input_hw: ``(H, W)`` of the model input.
        """

    def loss(self, outputs: dict[str, Tensor], targets: dict[str, Tensor],
             ohkm: OHKMParams | None = None) -> tuple[Tensor, dict[str, Tensor]]:
        """Weighted sum of the heads' losses, and each head's loss for logging.

        ``mse``: per-channel mean squared error (with online hard keypoint mining on the
        primary maps when ``ohkm`` is given); ``mse_sigmoid``: the same after a sigmoid
        (class maps); ``cross_entropy``: identity classification, ignoring unknown classes.
        """
        from posekit.model_types.losses import task_loss

        return task_loss(self, outputs, targets, ohkm)

    def out_hw(self, input_hw: tuple[int, int], head: HeadSpec) -> tuple[int, int]:
        """Output grid size of ``head`` for an input of ``input_hw``."""
        return (input_hw[0] // head.stride, input_hw[1] // head.stride)

    # ----------------------------------------------------------------- inference
    @abstractmethod
    def decode(self, outputs: dict[str, Tensor], threshold: Tensor, refinement: str | None,
               patch: int) -> tuple[Tensor, ...]:
        """Dense decoding of raw network outputs into :attr:`graph_outputs` (torch).

        Args:
            outputs: the network's outputs by key.
            threshold: scalar tensor; peaks below it are dropped.
            refinement: sub-pixel refinement (``"integral"``, ``"local"`` or ``None``).
            patch: window of the integral refinement (cells).
        """

    def peaks(self, outputs: dict[str, Tensor], threshold: Tensor, refinement: str | None,
              patch: int) -> tuple[Tensor, ...]:
        """Peaks of the primary maps: global (``points, scores``) or local (``sample,
        channel, points, scores``), as :attr:`single_peak` says."""
        from posekit.decoding.peaks import find_global_peaks, find_local_peaks

        head = self.primary
        if self.single_peak:
            return find_global_peaks(outputs[head.key], head.stride, threshold, refinement,
                                     patch)
        return find_local_peaks(outputs[head.key], head.stride, threshold, refinement, 3, patch)

    def make_predictor(self, run: Any, backend: Any, settings: Any, centroids: Any = None
                       ) -> Any:
        """The numpy predictor of this type (see :mod:`posekit.decoding.predictors`).

        Args:
            run: the run folder (``info``, ``prep``, ``path``).
            backend: the runtime of the exported graph.
            settings: :class:`posekit.inference.pipeline.InferenceSettings`-like options
                (``peak_threshold``, ``max_instances``, ``batch_size``, ``grouping``...).
            centroids: for ``"instances"`` types, the first stage (a centroid finder), or
                ``None`` to crop around centroids passed with the frames.
        """
        from posekit.errors import ModelError

        raise ModelError(
            f"{getattr(run, 'path', self.name)}: a {self.name} model cannot predict poses on "
            "its own; it is the first stage of top-down inference. Expected --model "
            "CENTROID_RUN --model CENTERED_INSTANCE_RUN."
        )

    # ----------------------------------------------------------------- visualisation
    def preview(self, outputs: dict[str, Tensor], points: Tensor
                ) -> tuple[np.ndarray, int, np.ndarray, np.ndarray]:
        """What a training preview draws for the first sample of a batch.

        Returns:
            ``(map (h, w) in [0, 1], its stride, predicted points (P, 2), true points
            (P, 2))``, points in model-input pixels.
        """
        from posekit.decoding.peaks import find_global_peaks, find_local_peaks

        head = self.primary
        maps = outputs[head.key][:1].detach().float()
        if self.single_peak:
            pred, _ = find_global_peaks(maps, head.stride, threshold=0.1)
        else:
            _, _, pred, _ = find_local_peaks(maps, head.stride, threshold=0.1)
        heat = maps[0].amax(dim=0).clamp(0, 1).cpu().numpy()
        true = self.preview_truth(points[:1].cpu())
        return heat, head.stride, pred.reshape(-1, 2).cpu().numpy(), true.reshape(-1, 2)

    def preview_truth(self, points: Tensor) -> np.ndarray:
        """True points matching the primary head's peaks (``(1, N, K, 2)`` -> ``(P, 2)``)."""
        return points[0].numpy().reshape(-1, 2)


def weight(value: float | None) -> float:
    """A head's loss weight; ``None`` in the config means 1."""
    return 1.0 if value is None else float(value)


def map_sigma(block: Any) -> float:
    """Spread, in model-input pixels, of the Gaussians of a confidence-map or class-map block.

    The configured ``sigma`` counts output-grid cells, as SLEAP and sleap-nn apply it
    (their target generators draw with ``sigma * output_stride``), so a sleap-nn
    configuration trains the same targets here; part affinity fields use ``sigma`` in
    model-input pixels, also as sleap-nn does.
    """
    return float(block.sigma) * int(block.output_stride)


def confmap_head(block: Any, key: str, channels: int) -> HeadSpec:
    """The confidence-map head of ``block`` (``head_configs.<type>.confmaps``)."""
    return HeadSpec(key, "confmaps", channels, int(block.output_stride),
                    weight(getattr(block, "loss_weight", None)), "mse", map_sigma(block))
