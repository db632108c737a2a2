"""Body plans: the articulated "animals" the synthetic renderer draws.

A :class:`BodyPlan` is a tree of nodes. Every node except the root hangs off its parent at a
distance (``lengths``) and an angle relative to the parent's direction (``angles``); joint
angles then wobble over time by up to about ``flex`` degrees. Each node is drawn as a tapered
capsule from its parent (``"segment"``), as a disc centred on it (``"disc"``) or not at all
(``"none"``), with a brightness ``tone`` that makes each body part look different from its
neighbours. Lengths and radii are fractions of the animal's body length.

Angles follow image coordinates (x right, y down) seen from above: a positive angle turns
clockwise on screen, so an animal's *left* side is at ``-90`` degrees from its heading.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from posekit.config.problems import Problem
from posekit.config.rules import RuleTable, check_settings, distinct, join, non_empty, number, rule
from posekit.errors import ConfigError

SHAPES = ("segment", "disc", "none")

WORM_NODES = range(2, 65)
"""Chain lengths the ``"worm"`` preset can have."""

_PER_NODE = (
    "parents",
    "lengths",
    "angles",
    "radii",
    "start_radii",
    "flex",
    "shapes",
    "tones",
    "layers",
)


def _tree_order(parents: Sequence[int]) -> list[int] | None:
    """Node indices with every parent before its children; ``None`` when they hold a cycle."""
    order: list[int] = []
    placed: set[int] = set()
    pending = list(range(len(parents)))
    while pending:
        ready = [i for i in pending if parents[i] == -1 or parents[i] in placed]
        if not ready:
            return None
        order.extend(ready)
        placed.update(ready)
        pending = [i for i in pending if i not in placed]
    return order


@rule("nodes", *_PER_NODE)
def _one_per_node(plan: Any, path: str) -> Iterator[Problem]:
    k = len(plan.nodes)
    for name in _PER_NODE:
        n = len(getattr(plan, name))
        if n != k:
            yield Problem(
                join(path, name),
                f"{n} entries for {k} nodes",
                "one per node",
                "Give a value for every node.",
            )


@rule("nodes", "parents")
def _tree(plan: Any, path: str) -> Iterator[Problem]:
    k, parents, where = len(plan.nodes), plan.parents, join(path, "parents")
    roots = sum(p == -1 for p in parents)
    if roots != 1:
        yield Problem(
            where,
            f"{roots} roots",
            "exactly one node with parent -1",
            "Attach the other nodes to a parent.",
        )
    outside = [p for p in parents if not -1 <= p < k]
    if outside:
        yield Problem(
            where, f"index {outside[0]} is out of range", f"-1 to {k - 1}", "Fix the index."
        )
    if roots == 1 and not outside and len(parents) == k and _tree_order(parents) is None:
        yield Problem(
            where,
            "the parents contain a cycle",
            "a tree",
            "Make every chain of parents end at the root.",
        )


@rule("shapes")
def _shapes(plan: Any, path: str) -> Iterator[Problem]:
    for i, shape in enumerate(plan.shapes):
        if shape not in SHAPES:
            yield Problem(
                f"{join(path, 'shapes')}[{i}]",
                f"unknown value {shape!r}",
                f"one of {', '.join(SHAPES)}",
                "Use one of these names exactly as written.",
            )


@rule("nodes", "symmetries")
def _symmetries(plan: Any, path: str) -> Iterator[Problem]:
    for pair in plan.symmetries:
        unknown = [name for name in pair if name not in plan.nodes]
        if unknown:
            yield Problem(
                join(path, "symmetries"),
                f"{pair!r} names the unknown node {unknown[0]!r}",
                f"names from {list(plan.nodes)}",
                "Fix the node name or remove the pair.",
            )


SKELETON = "skeleton"
"""Where a body plan sits in a :class:`~posekit.io.synthetic.spec.SynthSpec`."""

RULES: RuleTable = {
    SKELETON: (
        non_empty("nodes", "Add a node."),
        distinct("nodes"),
        _one_per_node,
        _tree,
        _shapes,
        number("lengths", 0, hint="Lengths are fractions of the body length, e.g. 0.2."),
        number("radii", 0, hint="Radii are fractions of the body length, e.g. 0.05."),
        number("start_radii", 0, hint="Radii are fractions of the body length, e.g. 0.05."),
        _symmetries,
    )
}
"""The rules of :class:`BodyPlan` (types come from its annotations)."""


@dataclass(frozen=True)
class BodyPlan:
    """A tree-shaped animal: node names, kinematics and per-part appearance.

    Attributes:
        name: Name given to the ``sio.Skeleton``.
        nodes: Node (keypoint) names, in skeleton order.
        parents: Index of each node's parent; exactly one node has ``-1`` (the root).
        lengths: Distance from the parent, as a fraction of the body length (root: 0).
        angles: Rest angle in degrees relative to the parent's direction (the root's
            direction is the animal's heading).
        radii: Half-width of the body at each node (fraction of the body length).
        start_radii: Half-width at the parent end of each node's segment.
        flex: Typical joint-angle excursion in degrees.
        shapes: ``"segment"``, ``"disc"`` or ``"none"`` per node.
        tones: Brightness multiplier of each node's part (markings that tell parts apart).
        layers: Drawing order within an animal (higher is drawn on top).
        symmetries: Pairs of node names that swap under a left/right flip.
    """

    name: str
    nodes: tuple[str, ...]
    parents: tuple[int, ...]
    lengths: tuple[float, ...]
    angles: tuple[float, ...]
    radii: tuple[float, ...]
    start_radii: tuple[float, ...]
    flex: tuple[float, ...]
    shapes: tuple[str, ...]
    tones: tuple[float, ...]
    layers: tuple[int, ...]
    symmetries: tuple[tuple[str, str], ...] = field(default=())

    def __post_init__(self) -> None:
        check_settings(self, SKELETON, RULES, source=f"BodyPlan {self.name!r}")

    @property
    def n_nodes(self) -> int:
        """Number of nodes (keypoints)."""
        return len(self.nodes)

    @property
    def root(self) -> int:
        """Index of the root node."""
        return self.parents.index(-1)

    @property
    def edges(self) -> list[tuple[int, int]]:
        """Skeleton edges ``(parent, child)`` in child order."""
        return [(p, i) for i, p in enumerate(self.parents) if p >= 0]

    def topological_order(self) -> list[int]:
        """Node indices with every parent before its children."""
        order = _tree_order(self.parents)
        assert order is not None, "a BodyPlan's parents are checked to form a tree"
        return order

    def ancestry(self) -> np.ndarray:
        """``(K, K)`` matrix ``A[i, j] = 1`` when ``j`` is ``i`` or an ancestor of ``i``.

        The root is excluded from every row: a node's absolute direction is the heading plus
        the sum of the relative angles along its ancestry, and its position is the root's
        plus the sum of the ancestry's offsets.
        """
        k = self.n_nodes
        a = np.zeros((k, k), dtype=np.float64)
        for i in range(k):
            j = i
            while self.parents[j] != -1:
                a[i, j] = 1.0
                j = self.parents[j]
        return a

    def draw_order(self) -> list[int]:
        """Node indices in drawing order (by layer, then reverse node order)."""
        return sorted(range(self.n_nodes), key=lambda i: (self.layers[i], -i))

    def to_dict(self) -> dict:
        """JSON-friendly description (used in labels provenance)."""
        return {
            "name": self.name,
            "nodes": list(self.nodes),
            "parents": list(self.parents),
            "lengths": list(self.lengths),
            "angles": list(self.angles),
            "radii": list(self.radii),
            "start_radii": list(self.start_radii),
            "flex": list(self.flex),
            "shapes": list(self.shapes),
            "tones": list(self.tones),
            "layers": list(self.layers),
            "symmetries": [list(s) for s in self.symmetries],
        }


def mouse_plan() -> BodyPlan:
    """A mouse seen from above: 8 nodes, the ears marked differently (left dark, right pale)."""
    return BodyPlan(
        name="mouse",
        nodes=("nose", "head", "left_ear", "right_ear", "neck", "spine", "tail_base", "tail_tip"),
        parents=(1, 4, 1, 1, 5, -1, 5, 6),
        lengths=(0.15, 0.16, 0.13, 0.13, 0.22, 0.0, 0.26, 0.48),
        angles=(0.0, 0.0, -105.0, 105.0, 0.0, 0.0, 180.0, 0.0),
        radii=(0.025, 0.095, 0.05, 0.05, 0.12, 0.15, 0.09, 0.018),
        start_radii=(0.08, 0.11, 0.05, 0.05, 0.15, 0.15, 0.14, 0.035),
        flex=(8.0, 22.0, 8.0, 8.0, 14.0, 0.0, 18.0, 35.0),
        shapes=("segment", "segment", "disc", "disc", "segment", "none", "segment", "segment"),
        tones=(1.2, 1.05, 0.45, 1.3, 0.95, 1.0, 0.85, 0.7),
        layers=(3, 2, 4, 4, 1, 1, 1, 0),
        symmetries=(("left_ear", "right_ear"),),
    )


def fly_plan() -> BodyPlan:
    """A fly seen from above: head, thorax, abdomen and two wing tips (5 nodes)."""
    return BodyPlan(
        name="fly",
        nodes=("head", "thorax", "abdomen", "left_wing", "right_wing"),
        parents=(1, -1, 1, 1, 1),
        lengths=(0.24, 0.0, 0.4, 0.56, 0.56),
        angles=(0.0, 0.0, 180.0, -162.0, 162.0),
        radii=(0.1, 0.13, 0.07, 0.085, 0.085),
        start_radii=(0.1, 0.13, 0.12, 0.03, 0.03),
        flex=(10.0, 0.0, 12.0, 12.0, 12.0),
        shapes=("disc", "disc", "segment", "segment", "segment"),
        tones=(0.55, 1.0, 0.8, 1.4, 1.15),
        layers=(2, 2, 0, 1, 1),
        symmetries=(("left_wing", "right_wing"),),
    )


def worm_plan(n_nodes: int = 6) -> BodyPlan:
    """A worm: a chain of ``n_nodes`` nodes from head to tail, shaded head-dark to tail-pale."""
    if n_nodes not in WORM_NODES:
        raise ConfigError(
            f"n_nodes: {n_nodes} is out of range for the worm chain; expected "
            f"{WORM_NODES[0]}..{WORM_NODES[-1]}. "
            "Choose a chain length such as 6."
        )
    seg = 1.0 / (n_nodes - 1)
    names = ("head",) + tuple(f"body_{i}" for i in range(1, n_nodes - 1)) + ("tail",)
    radii = tuple(float(0.06 - 0.035 * i / (n_nodes - 1)) for i in range(n_nodes))
    flex_each = float(min(40.0, 120.0 / (n_nodes - 1)))
    return BodyPlan(
        name=f"worm{n_nodes}",
        nodes=names,
        parents=(-1,) + tuple(range(n_nodes - 1)),
        lengths=(0.0,) + (seg,) * (n_nodes - 1),
        angles=(0.0, 180.0) + (0.0,) * (n_nodes - 2),
        radii=radii,
        start_radii=(radii[0],) + radii[:-1],
        flex=(0.0,) + (flex_each,) * (n_nodes - 1),
        shapes=("disc",) + ("segment",) * (n_nodes - 1),
        tones=tuple(float(0.6 + 0.7 * i / (n_nodes - 1)) for i in range(n_nodes)),
        layers=(1,) + (0,) * (n_nodes - 1),
    )


PRESETS = ("mouse", "fly", "worm")


def body_plan(name: str, n_nodes: int | None = None) -> BodyPlan:
    """Return a preset body plan by name (``n_nodes`` sets the worm's chain length)."""
    if name == "mouse" or name == "fly":
        plan = mouse_plan() if name == "mouse" else fly_plan()
        if n_nodes is not None and n_nodes != plan.n_nodes:
            raise ConfigError(
                f"n_nodes: the {name!r} skeleton has {plan.n_nodes} nodes, not {n_nodes}; "
                "expected no node count for this preset. Use skeleton 'worm' for a chain "
                "of any length."
            )
        return plan
    if name == "worm":
        return worm_plan(6 if n_nodes is None else n_nodes)
    raise ConfigError(
        f"skeleton: {name!r} is not a preset; expected one of {PRESETS} or a BodyPlan. "
        "Pick a preset or build a BodyPlan for a custom tree."
    )
