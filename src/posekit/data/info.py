"""What a model needs to know about the data: node names, edges, identities, crop size.

These values are resolved once from the training labels (or taken from the config when it
names them) and written back into the run folder's ``training_config.yaml``, so inference can
rebuild the model from the run folder alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class DataInfo:
    """Dataset facts shared by the model type, the datasets and the predictors.

    Attributes:
        node_names: Names of the nodes the heads predict, in channel order.
        edges: Skeleton edges as ``(source, destination)`` node indices (PAF channel order).
        class_names: Identity classes (track names) for multi-class models, in channel order.
        anchor_index: Index of the anchor node for centroid / top-down models, or ``None``
            for the midpoint of the visible points' bounding box.
        crop_size: Side of the square crops of top-down instance models (model-input pixels).
        symmetries: Pairs of node indices that swap under a left/right flip.
        skeleton_name: Name of the skeleton (for the predictions written later).
    """

    node_names: tuple[str, ...]
    edges: tuple[tuple[int, int], ...] = ()
    class_names: tuple[str, ...] = ()
    anchor_index: int | None = None
    crop_size: int | None = None
    symmetries: tuple[tuple[int, int], ...] = field(default_factory=tuple)
    skeleton_name: str = "skeleton"

    @property
    def n_nodes(self) -> int:
        """Number of predicted nodes."""
        return len(self.node_names)

    @property
    def n_edges(self) -> int:
        """Number of skeleton edges (PAF channel pairs)."""
        return len(self.edges)

    @property
    def n_classes(self) -> int:
        """Number of identity classes."""
        return len(self.class_names)



def skeleton_to_dict(skeleton: Any) -> dict[str, Any]:
    """sleap-nn's ``data_config.skeletons`` entry for a sleap-io skeleton."""
    names = list(skeleton.node_names)
    return {
        "name": skeleton.name or "skeleton",
        "nodes": [{"name": n} for n in names],
        "edges": [{"source": {"name": names[a]}, "destination": {"name": names[b]}}
                  for a, b in skeleton.edge_inds],
        "symmetries": [[names[a], names[b]] for a, b in skeleton.symmetry_inds],
    }


def _pair_names(entry: Any) -> tuple[str, str]:
    """Node names of a skeleton edge / symmetry in sleap-nn's dict form or as a pair."""
    if isinstance(entry, dict):
        src, dst = entry.get("source"), entry.get("destination")
        return (src["name"] if isinstance(src, dict) else str(src),
                dst["name"] if isinstance(dst, dict) else str(dst))
    items = list(entry)
    names = [e["name"] if isinstance(e, dict) else str(e) for e in items]
    return names[0], names[1]


def info_from_config(cfg: Any) -> DataInfo:
    """The :class:`DataInfo` of a resolved configuration (as saved in a run folder)."""
    from posekit.errors import ConfigError

    head = cfg.model_config.active_head
    confmaps = getattr(head, "confmaps", None)
    skeletons = cfg.data_config.skeletons or []
    if not skeletons:
        raise ConfigError(
            "data_config.skeletons: missing; expected the skeleton a trained model was "
            "resolved with. Is this the training_config.yaml of a finished posekit run?"
        )
    skel = skeletons[0]
    all_nodes = [n["name"] if isinstance(n, dict) else str(n) for n in skel.get("nodes", [])]
    nodes = list(getattr(confmaps, "part_names", None) or all_nodes)
    pafs = getattr(head, "pafs", None)
    pairs = pafs.edges if pafs is not None and pafs.edges else skel.get("edges", [])
    edges = []
    for entry in pairs:
        a, b = _pair_names(entry)
        if a in nodes and b in nodes:
            edges.append((nodes.index(a), nodes.index(b)))
    block = getattr(head, "class_maps", None) or getattr(head, "class_vectors", None)
    classes = tuple(str(c) for c in (block.classes or ())) if block is not None else ()
    anchor = getattr(confmaps, "anchor_part", None) if confmaps is not None else None
    symmetries = []
    for entry in skel.get("symmetries", []) or []:
        a, b = _pair_names(entry)
        if a in nodes and b in nodes:
            symmetries.append((nodes.index(a), nodes.index(b)))
    return DataInfo(
        node_names=tuple(nodes),
        edges=tuple(edges),
        class_names=classes,
        anchor_index=nodes.index(anchor) if anchor in nodes else None,
        crop_size=cfg.data_config.preprocessing.crop_size,
        symmetries=tuple(symmetries),
        skeleton_name=str(skel.get("name") or "skeleton"),
    )
