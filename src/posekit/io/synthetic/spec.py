"""``SynthSpec``: everything that determines a synthetic dataset (same spec, same pixels)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, fields
from typing import Any

from posekit.config.problems import Problem
from posekit.config.rules import RuleTable, check_settings, choice, join, number, rule
from posekit.io.synthetic.appearance import MAX_IDENTITIES
from posekit.io.synthetic.bodies import PRESETS, WORM_NODES, BodyPlan, body_plan

_PRESET = choice("skeleton", PRESETS)


@rule("skeleton", "n_nodes")
def _skeleton(spec: Any, path: str) -> Iterator[Problem]:
    """A preset name, and a node count only where the preset allows it."""
    skeleton, n_nodes, where = spec.skeleton, spec.n_nodes, join(path, "n_nodes")
    if isinstance(skeleton, BodyPlan):
        if n_nodes is not None:
            yield Problem(
                where,
                f"{n_nodes} with a custom BodyPlan",
                "null (it only sets the length of the 'worm' preset)",
                "Remove n_nodes.",
            )
        return
    if skeleton not in PRESETS:
        yield from _PRESET(spec, path)
        return
    if skeleton == "worm":
        allowed, hint = WORM_NODES, "Choose a chain length such as 6."
        expected = f"{WORM_NODES[0]} to {WORM_NODES[-1]}"
    else:
        count = body_plan(skeleton).n_nodes
        allowed, expected = [count], f"null or {count}"
        hint = "Use skeleton 'worm' for a chain of any length."
    if n_nodes is not None and n_nodes not in allowed:
        yield Problem(where, f"{n_nodes} nodes for the {skeleton!r} skeleton", expected, hint)


@rule("n_animals", "identities")
def _distinct_looks(spec: Any, path: str) -> Iterator[Problem]:
    if spec.use_identities and spec.n_animals > MAX_IDENTITIES:
        yield Problem(
            join(path, "n_animals"),
            f"{spec.n_animals} animals with visible identities",
            f"at most {MAX_IDENTITIES} distinct appearances",
            "Use fewer animals or identities=False (tracks stay available).",
        )


RULES: RuleTable = {
    "": (
        number("n_frames", 1, 10_000_000),
        number("n_animals", 1, 64),
        number("height", 16, 8192),
        number("width", 16, 8192),
        number("occluders", 0, 64),
        number("seed", 0, 2**63 - 1),
        number("noise", 0, 128),
        number("blur", 0, 20),
        number("lighting", 0, 0.9),
        number("texture", 0, 4),
        number("occluder_size", 0.01, 1),
        number("occluder_prob", 0, 1),
        number("animal_size", 0.02, 2),
        number("speed", 0, 1),
        number("smoothness", 0, 0.999),
        number("fps", 0.1, 10_000),
        _skeleton,
        _distinct_looks,
    )
}
"""The value rules of :class:`SynthSpec` (types come from its annotations); a spec is
built from keyword arguments, so problems name the bare field."""


@dataclass(frozen=True)
class SynthSpec:
    """Parameters of a synthetic recording. Rendering the same spec twice gives identical bytes.

    Attributes:
        n_frames: Number of frames.
        n_animals: Number of animals in every frame.
        height: Image height in pixels.
        width: Image width in pixels.
        skeleton: Preset name (``"mouse"``, ``"fly"``, ``"worm"``) or a custom :class:`BodyPlan`.
        n_nodes: Chain length for the ``"worm"`` preset (``None``: 6).
        rgb: Three colour channels when true, one grey channel when false.
        identities: Give each animal a visibly distinct colour and marking pattern
            (``None``: on when there are several animals).
        tracks: Name every animal's ``sio.Track`` (``None``: on when there are several animals).
        noise: Standard deviation of the per-pixel sensor noise, in grey levels.
        blur: Gaussian blur sigma in pixels (0: sharp).
        lighting: Amplitude of the slow global brightness drift and lighting gradient
            (fraction of the brightness; 0: constant light).
        texture: Contrast of the background texture (0: flat background).
        shadows: Cast soft shadows from the animals onto the floor.
        occluders: Number of foreground shapes that drift over the scene.
        occluder_size: Occluder radius as a fraction of the smaller image side.
        occluder_prob: Fraction of the time each occluder is in view.
        animal_size: Body length as a fraction of the smaller image side.
        speed: Mean walking speed in body lengths per frame.
        smoothness: Inertia of the motion in [0, 1): higher is smoother.
        hide_occluded: Report keypoints covered by an occluder or by an animal drawn on top
            as missing (NaN). The true positions stay in ``SynthResult.true_points``.
        fps: Frame rate written to videos.
        seed: Random seed.
    """

    n_frames: int = 100
    n_animals: int = 1
    height: int = 160
    width: int = 160
    skeleton: str | BodyPlan = "mouse"
    n_nodes: int | None = None
    rgb: bool = False
    identities: bool | None = None
    tracks: bool | None = None
    noise: float = 5.0
    blur: float = 0.6
    lighting: float = 0.15
    texture: float = 1.0
    shadows: bool = True
    occluders: int = 1
    occluder_size: float = 0.14
    occluder_prob: float = 0.5
    animal_size: float = 0.3
    speed: float = 0.04
    smoothness: float = 0.9
    hide_occluded: bool = True
    fps: float = 30.0
    seed: int = 0

    def __post_init__(self) -> None:
        check_settings(self, "", RULES)

    @property
    def body(self) -> BodyPlan:
        """The resolved :class:`BodyPlan`."""
        if isinstance(self.skeleton, BodyPlan):
            return self.skeleton
        return body_plan(self.skeleton, self.n_nodes)

    @property
    def channels(self) -> int:
        """Number of image channels (3 for RGB, 1 for grayscale)."""
        return 3 if self.rgb else 1

    @property
    def use_identities(self) -> bool:
        """Whether animals carry visible identity markings."""
        return self.n_animals > 1 if self.identities is None else bool(self.identities)

    @property
    def use_tracks(self) -> bool:
        """Whether animals carry named tracks."""
        return self.n_animals > 1 if self.tracks is None else bool(self.tracks)

    @property
    def body_length_px(self) -> float:
        """Nominal body length in pixels."""
        return self.animal_size * min(self.height, self.width)

    def to_dict(self) -> dict:
        """JSON-friendly dictionary of every field (the body plan expanded)."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "skeleton"}
        out["skeleton"] = (
            self.skeleton.to_dict() if isinstance(self.skeleton, BodyPlan) else self.skeleton
        )
        return out
