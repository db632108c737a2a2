"""The six model types of the configuration guide as :class:`~posekit.model_types.base.Task`s."""

from __future__ import annotations

import torch
from torch import Tensor

from posekit.data.targets import (
    compute_anchors,
    make_centroid_maps,
    make_class_maps,
    make_confmaps,
    make_pafs,
)
from posekit.model_types.base import HeadSpec, Task, map_sigma, weight


class SingleInstanceTask(Task):
    """One animal per frame: a confidence map per node, peak = the node's position."""

    head_type = "single_instance"

    def build_heads(self) -> list[HeadSpec]:
        cm = self.config.confmaps
        return [HeadSpec("confmaps", self.info.n_nodes, int(cm.output_stride), 1.0, "mse",
                         map_sigma(cm))]

    def make_targets(self, points: Tensor, classes: Tensor, input_hw: tuple[int, int]):
        head = self.heads[0]
        return {"confmaps": make_confmaps(points[:, :1], self.out_hw(input_hw, head.stride),
                                          head.stride, head.sigma)}


class CentroidTask(Task):
    """First stage of top-down: one map with a peak at every animal's anchor point."""

    head_type = "centroid"

    def build_heads(self) -> list[HeadSpec]:
        cm = self.config.confmaps
        return [HeadSpec("centroids", 1, int(cm.output_stride), 1.0, "mse", map_sigma(cm))]

    def make_targets(self, points: Tensor, classes: Tensor, input_hw: tuple[int, int]):
        head = self.heads[0]
        anchors = compute_anchors(points, self.info.anchor_index)
        return {"centroids": make_centroid_maps(anchors, self.out_hw(input_hw, head.stride),
                                                head.stride, head.sigma)}


class CenteredInstanceTask(Task):
    """Second stage of top-down: the centred animal's confidence maps in a crop."""

    head_type = "centered_instance"
    sample_kind = "instance"

    def build_heads(self) -> list[HeadSpec]:
        cm = self.config.confmaps
        return [HeadSpec("confmaps", self.info.n_nodes, int(cm.output_stride),
                         weight(getattr(cm, "loss_weight", None)), "mse", map_sigma(cm))]

    def make_targets(self, points: Tensor, classes: Tensor, input_hw: tuple[int, int]):
        head = self.heads[0]
        return {"confmaps": make_confmaps(points[:, :1], self.out_hw(input_hw, head.stride),
                                          head.stride, head.sigma)}


class BottomUpTask(Task):
    """All animals at once: confidence maps for every part plus part affinity fields."""

    head_type = "bottomup"

    def build_heads(self) -> list[HeadSpec]:
        cm, paf = self.config.confmaps, self.config.pafs
        return [
            HeadSpec("confmaps", self.info.n_nodes, int(cm.output_stride),
                     weight(cm.loss_weight), "mse", map_sigma(cm)),
            HeadSpec("pafs", 2 * self.info.n_edges, int(paf.output_stride),
                     weight(paf.loss_weight), "mse", float(paf.sigma)),
        ]

    def make_targets(self, points: Tensor, classes: Tensor, input_hw: tuple[int, int]):
        cm, paf = self.heads
        edges = torch.as_tensor(self.info.edges, dtype=torch.long, device=points.device)
        return {
            "confmaps": make_confmaps(points, self.out_hw(input_hw, cm.stride), cm.stride,
                                      cm.sigma),
            "pafs": make_pafs(points, edges.reshape(-1, 2), self.out_hw(input_hw, paf.stride),
                              paf.stride, paf.sigma),
        }


class MultiClassBottomUpTask(Task):
    """Bottom-up with identities: confidence maps plus one class map per identity."""

    head_type = "multi_class_bottomup"
    needs_classes = True

    def build_heads(self) -> list[HeadSpec]:
        cm, cls = self.config.confmaps, self.config.class_maps
        return [
            HeadSpec("confmaps", self.info.n_nodes, int(cm.output_stride),
                     weight(cm.loss_weight), "mse", map_sigma(cm)),
            HeadSpec("class_maps", self.info.n_classes, int(cls.output_stride),
                     weight(cls.loss_weight), "mse_sigmoid", map_sigma(cls)),
        ]

    def make_targets(self, points: Tensor, classes: Tensor, input_hw: tuple[int, int]):
        cm, cls = self.heads
        return {
            "confmaps": make_confmaps(points, self.out_hw(input_hw, cm.stride), cm.stride,
                                      cm.sigma),
            "class_maps": make_class_maps(points, classes, self.info.n_classes,
                                          self.out_hw(input_hw, cls.stride), cls.stride,
                                          cls.sigma),
        }


class MultiClassTopDownTask(Task):
    """Top-down with identities: centred confidence maps plus an identity classifier."""

    head_type = "multi_class_topdown"
    sample_kind = "instance"
    needs_classes = True

    def build_heads(self) -> list[HeadSpec]:
        cm, vec = self.config.confmaps, self.config.class_vectors
        return [
            HeadSpec("confmaps", self.info.n_nodes, int(cm.output_stride),
                     weight(cm.loss_weight), "mse", map_sigma(cm)),
            HeadSpec("class_vectors", self.info.n_classes, int(vec.output_stride),
                     weight(vec.loss_weight), "cross_entropy"),
        ]

    def make_targets(self, points: Tensor, classes: Tensor, input_hw: tuple[int, int]):
        cm = self.heads[0]
        return {
            "confmaps": make_confmaps(points[:, :1], self.out_hw(input_hw, cm.stride),
                                      cm.stride, cm.sigma),
            "class_vectors": classes[:, 0].long(),
        }
