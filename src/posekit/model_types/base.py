"""The model-type interface shared by every head type."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar, Literal

import torch
from torch import Tensor

from posekit.model_types.info import DataInfo
from posekit.model_types.losses import OHKMParams, head_loss

SampleKind = Literal["frame", "instance"]


@dataclass(frozen=True)
class HeadSpec:
    """One output of a model type: its key, channel count, stride, weight and loss kind."""

    key: str
    channels: int
    stride: int
    loss_weight: float = 1.0
    loss: Literal["mse", "mse_sigmoid", "cross_entropy"] = "mse"
    sigma: float | None = None


class Task(ABC):
    """A model type: the heads it trains, their targets and their losses.

    Subclasses set :attr:`head_type` (the config's head name) and :attr:`sample_kind`
    (``"frame"``: one sample per labelled frame; ``"instance"``: one sample per instance,
    cropped around its anchor).
    """

    head_type: ClassVar[str]
    sample_kind: ClassVar[SampleKind] = "frame"
    needs_classes: ClassVar[bool] = False

    def __init__(self, head_config: object, info: DataInfo) -> None:
        self.config = head_config
        self.info = info
        self.heads: tuple[HeadSpec, ...] = tuple(self.build_heads())

    @abstractmethod
    def build_heads(self) -> list[HeadSpec]:
        """The outputs of this model type (keys as in :mod:`posekit.models.heads`)."""

    @abstractmethod
    def make_targets(
        self, points: Tensor, classes: Tensor, input_hw: tuple[int, int]
    ) -> dict[str, Tensor]:
        """Training targets for a batch.

        Args:
            points: ``(B, N, K, 2)`` keypoints in model-input pixels (after augmentation and,
                for instance models, cropping), ``NaN`` where missing. For instance models
                ``N == 1`` and the instance is the centred one.
            classes: ``(B, N)`` identity class indices, ``-1`` when unknown.
            input_hw: ``(H, W)`` of the model input.
        """

    @property
    def output_channels(self) -> dict[str, int]:
        """Channels per output key, as ``build_model`` expects them."""
        return {h.key: h.channels for h in self.heads}

    @property
    def output_strides(self) -> dict[str, int]:
        """Output stride per output key."""
        return {h.key: h.stride for h in self.heads}

    def loss(
        self,
        outputs: dict[str, Tensor],
        targets: dict[str, Tensor],
        ohkm: OHKMParams | None = None,
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """Weighted sum of the heads' losses, and each head's loss for logging."""
        parts: dict[str, Tensor] = {}
        total = torch.zeros((), device=next(iter(outputs.values())).device)
        for head in self.heads:
            pred, target = outputs[head.key], targets[head.key]
            if head.loss == "cross_entropy":
                valid = target >= 0
                if bool(valid.any()):
                    value = torch.nn.functional.cross_entropy(pred[valid].float(), target[valid])
                else:
                    value = pred.sum() * 0.0
            elif head.loss == "mse_sigmoid":
                value = head_loss(torch.sigmoid(pred), target, None)
            else:
                value = head_loss(pred, target, ohkm if head.key == "confmaps" else None)
            parts[head.key] = value.detach()
            total = total + head.loss_weight * value
        return total, parts

    @staticmethod
    def out_hw(input_hw: tuple[int, int], stride: int) -> tuple[int, int]:
        """Output grid size of a head with ``stride`` for an input of ``input_hw``."""
        return (input_hw[0] // stride, input_hw[1] // stride)


def weight(value: float | None) -> float:
    """A head's loss weight; ``None`` in the config means 1."""
    return 1.0 if value is None else float(value)


def map_sigma(head_config: object) -> float:
    """Spread, in model-input pixels, of the Gaussians of a confidence-map or class-map head.

    The configured ``sigma`` counts output-grid cells, as SLEAP and sleap-nn apply it
    (their target generators draw with ``sigma * output_stride``), so a sleap-nn
    configuration trains the same targets here; part affinity fields use ``sigma`` in
    model-input pixels, also as sleap-nn does.
    """
    return float(head_config.sigma) * int(head_config.output_stride)
