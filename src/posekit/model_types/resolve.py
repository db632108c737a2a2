"""Resolve a training configuration against its data.

Everything the config leaves open (node names, PAF edges, identity classes, crop size, input
channels) is decided here from the training labels, written back into the configuration and
saved in the run folder, so inference never has to guess.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import sleap_io as sio

from posekit.config import effective_max_stride
from posekit.config.schema import TrainingJobConfig
from posekit.data.cropping import crop_size_for_instances
from posekit.data.info import DataInfo, skeleton_to_dict
from posekit.errors import ConfigError, DataError
from posekit.io.frames import FrameTable
from posekit.model_types.registry import model_type_class


@dataclass
class ResolvedData:
    """Training data and the facts resolved from it."""

    config: TrainingJobConfig
    info: DataInfo
    train: FrameTable
    val: FrameTable
    train_labels: sio.Labels
    val_labels: sio.Labels
    notes: list[str]


def _head_part_names(cfg: TrainingJobConfig) -> list[str] | None:
    confmaps = getattr(cfg.model_config.active_head, "confmaps", None)
    return getattr(confmaps, "part_names", None)


def _skeleton_of(labels: sio.Labels, where: str) -> sio.Skeleton:
    used = {id(inst.skeleton): inst.skeleton for lf in labels.labeled_frames
            for inst in lf.instances}
    skeletons = list(used.values()) or list(labels.skeletons)
    if len(skeletons) != 1:
        raise DataError(
            f"{where}: the labels use {len(skeletons)} skeletons; expected exactly one. Merge "
            "the skeletons (or split the project) before training."
        )
    return skeletons[0]


def _edges(cfg: TrainingJobConfig, skeleton: sio.Skeleton, nodes: list[str]) -> list[tuple[int, int]]:
    head = cfg.model_config.active_head
    pafs = getattr(head, "pafs", None)
    if pafs is not None and pafs.edges:
        edges = []
        for pair in pafs.edges:
            src, dst = (str(v) for v in pair)
            missing = [n for n in (src, dst) if n not in nodes]
            if missing:
                raise ConfigError(
                    f"model_config.head_configs.{cfg.model_config.head_type}.pafs.edges: "
                    f"{missing} are not predicted nodes; expected names from {nodes}."
                )
            edges.append((nodes.index(src), nodes.index(dst)))
        return edges
    names = list(skeleton.node_names)
    return [(nodes.index(names[a]), nodes.index(names[b])) for a, b in skeleton.edge_inds
            if names[a] in nodes and names[b] in nodes]


def _classes(cfg: TrainingJobConfig, labels: sio.Labels) -> list[str]:
    head = cfg.model_config.active_head
    block = getattr(head, "class_maps", None) or getattr(head, "class_vectors", None)
    if block is None:
        return []
    if block.classes:
        return [str(c) for c in block.classes]
    used = []
    for lf in labels.labeled_frames:
        for inst in lf.user_instances:
            if inst.track is not None and inst.track.name not in used:
                used.append(inst.track.name)
    order = [t.name for t in labels.tracks if t.name in used]
    if not order:
        raise DataError(
            f"model_config.head_configs.{cfg.model_config.head_type}: identity models learn "
            "to tell animals apart from their tracks, but no labelled instance has a track; "
            "expected every animal's instances to carry its track (identity). Assign tracks "
            "in the labels (e.g. in SLEAP), or train a model without identity (bottomup, or "
            "centroid + centered_instance) and use --tracking instead."
        )
    return order


def resolve_data(cfg: TrainingJobConfig, train_labels: sio.Labels, val_labels: sio.Labels
                 ) -> ResolvedData:
    """Resolve node names, edges, classes, crop size and channels; return a new config."""
    cfg = copy.deepcopy(cfg)
    notes: list[str] = []
    where = ", ".join(map(str, cfg.data_config.train_labels_path)) or "training labels"
    skeleton = _skeleton_of(train_labels, where)
    all_nodes = list(skeleton.node_names)
    head_type = cfg.model_config.head_type
    kind = model_type_class(head_type)
    head = cfg.model_config.active_head
    part_names = _head_part_names(cfg)
    nodes = list(part_names) if part_names else all_nodes
    user_only = cfg.data_config.user_instances_only
    train = FrameTable.from_labels(train_labels, nodes, user_instances_only=user_only)
    val = FrameTable.from_labels(val_labels, nodes, user_instances_only=user_only)
    if len(train) == 0:
        raise DataError(f"{where}: no labelled frame with a visible point; nothing to train on.")
    if len(val) == 0:
        raise DataError(f"{where}: the validation split has no labelled frame with a visible "
                        "point; expected at least one. Add labels or change validation_fraction.")
    confmaps = getattr(head, "confmaps", None)
    if confmaps is not None and hasattr(confmaps, "part_names"):
        confmaps.part_names = list(nodes)
    edges = _edges(cfg, skeleton, nodes)
    if kind.needs_edges:
        if not edges:
            raise DataError(
                f"{where}: a {head_type} model groups parts along skeleton edges, but the "
                "skeleton has none among the predicted nodes; expected at least one edge. Add "
                f"edges to the skeleton or set model_config.head_configs.{head_type}.pafs.edges."
            )
        head.pafs.edges = [[nodes[a], nodes[b]] for a, b in edges]
    classes = _classes(cfg, train_labels)
    for block_name in ("class_maps", "class_vectors"):
        block = getattr(head, block_name, None)
        if block is not None:
            block.classes = list(classes)
    anchor_part = getattr(confmaps, "anchor_part", None) if confmaps is not None else None
    anchor_index = None
    if anchor_part:
        if anchor_part not in nodes:
            raise ConfigError(
                f"model_config.head_configs.{head_type}.confmaps.anchor_part: {anchor_part!r} "
                f"is not a predicted node; expected one of {nodes}."
            )
        anchor_index = nodes.index(anchor_part)
    names = list(skeleton.node_names)
    symmetries = tuple((nodes.index(names[a]), nodes.index(names[b]))
                       for a, b in skeleton.symmetry_inds
                       if names[a] in nodes and names[b] in nodes)
    crop_size = None
    if kind.stage == "instances":
        crop_size = _resolve_crop_size(cfg, train, anchor_index, notes)
    _resolve_channels(cfg, train_labels, notes)
    cfg.data_config.skeletons = [skeleton_to_dict(skeleton)]
    info = DataInfo(
        node_names=tuple(nodes),
        edges=tuple(edges),
        class_names=tuple(classes),
        anchor_index=anchor_index,
        crop_size=crop_size,
        symmetries=symmetries,
        skeleton_name=skeleton.name or "skeleton",
    )
    return ResolvedData(cfg, info, train, val, train_labels, val_labels, notes)



def _resolve_crop_size(cfg: TrainingJobConfig, train: FrameTable, anchor_index: int | None,
                       notes: list[str]) -> int:
    """The instance models' crop side: the configured one (checked against the backbone's
    stride) or the smallest that holds every training instance at any rotation."""
    prep = cfg.data_config.preprocessing
    max_stride = effective_max_stride(cfg.model_config.active_backbone)
    if prep.crop_size:
        crop_size = int(prep.crop_size)
        if crop_size % max_stride:
            raise ConfigError(
                f"data_config.preprocessing.crop_size: {crop_size} is not a multiple of the "
                f"backbone's max_stride {max_stride}; expected e.g. "
                f"{-(-crop_size // max_stride) * max_stride}."
            )
        return crop_size
    pts = train.inst_points.astype(np.float64) * float(prep.scale)
    crop_size = crop_size_for_instances(pts, int(prep.min_crop_size or 0), max_stride,
                                        anchor_index)
    prep.crop_size = crop_size
    notes.append(f"crop_size computed from the largest instance: {crop_size} px")
    return crop_size


def _video_channels(labels: sio.Labels) -> set[int]:
    channels = set()
    for video in labels.videos:
        try:
            shape = video.shape
        except Exception:  # noqa: BLE001 - an unreachable video is reported when its frames are read
            shape = None
        if shape is not None and len(shape) == 4:
            channels.add(int(shape[3]))
    return channels


def _resolve_channels(cfg: TrainingJobConfig, labels: sio.Labels, notes: list[str]) -> None:
    """Make the backbone's ``in_channels`` and the channel options agree with the data."""
    prep = cfg.data_config.preprocessing
    backbone = cfg.model_config.active_backbone
    if prep.ensure_rgb:
        if backbone.in_channels != 3:
            notes.append(f"in_channels set to 3 (was {backbone.in_channels}) because ensure_rgb")
        backbone.in_channels = 3
        return
    if prep.ensure_grayscale:
        if backbone.in_channels != 1:
            notes.append(f"in_channels set to 1 (was {backbone.in_channels}): ensure_grayscale")
        backbone.in_channels = 1
        return
    channels = _video_channels(labels)
    if backbone.in_channels == 1 and 3 in channels:
        prep.ensure_grayscale = True
        notes.append("RGB frames are converted to grayscale because the backbone has "
                     "in_channels: 1 (set ensure_rgb: true to train on colour)")
    elif backbone.in_channels == 3 and channels == {1}:
        prep.ensure_rgb = True
        notes.append("grayscale frames are replicated to 3 channels (backbone in_channels: 3)")
    elif backbone.in_channels not in (1, 3):
        raise ConfigError(
            f"model_config.backbone_config.{cfg.model_config.backbone_type}.in_channels: "
            f"{backbone.in_channels}; expected 1 (grayscale) or 3 (RGB)."
        )
