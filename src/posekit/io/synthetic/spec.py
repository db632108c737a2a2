"""``SynthSpec``: everything that determines a synthetic dataset (same spec, same pixels)."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from posekit.errors import ConfigError
from posekit.io.synthetic.appearance import MAX_IDENTITIES
from posekit.io.synthetic.bodies import BodyPlan, body_plan


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
        _check_int("n_frames", self.n_frames, 1, 10_000_000)
        _check_int("n_animals", self.n_animals, 1, 64)
        _check_int("height", self.height, 16, 8192)
        _check_int("width", self.width, 16, 8192)
        _check_int("occluders", self.occluders, 0, 64)
        _check_int("seed", self.seed, 0, 2**63 - 1)
        for name, lo, hi in (
            ("noise", 0.0, 128.0),
            ("blur", 0.0, 20.0),
            ("lighting", 0.0, 0.9),
            ("texture", 0.0, 4.0),
            ("occluder_size", 0.01, 1.0),
            ("occluder_prob", 0.0, 1.0),
            ("animal_size", 0.02, 2.0),
            ("speed", 0.0, 1.0),
            ("smoothness", 0.0, 0.999),
            ("fps", 0.1, 10_000.0),
        ):
            _check_float(name, getattr(self, name), lo, hi)
        if not isinstance(self.skeleton, BodyPlan | str):
            raise ConfigError(
                f"SynthSpec.skeleton: got {type(self.skeleton).__name__}; expected a preset "
                "name or a BodyPlan. Use 'mouse', 'fly', 'worm' or build a BodyPlan."
            )
        if isinstance(self.skeleton, BodyPlan) and self.n_nodes is not None:
            raise ConfigError(
                "SynthSpec.n_nodes: only applies to the 'worm' preset; expected None with a "
                "custom BodyPlan. Remove n_nodes."
            )
        _ = self.body  # validates the preset name and node count
        if self.use_identities and self.n_animals > MAX_IDENTITIES:
            raise ConfigError(
                f"SynthSpec.n_animals: {self.n_animals} animals with visible identities; "
                f"expected at most {MAX_IDENTITIES} distinct appearances. Use fewer animals "
                "or identities=False (tracks stay available)."
            )

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


def _check_int(name: str, value: object, lo: int, hi: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ConfigError(
            f"SynthSpec.{name}: got {value!r}; expected an integer in [{lo}, {hi}]. "
            f"Pass a whole number such as {max(lo, 1)}."
        )


def _check_float(name: str, value: object, lo: float, hi: float) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok or not math.isfinite(float(value)) or not lo <= float(value) <= hi:
        raise ConfigError(
            f"SynthSpec.{name}: got {value!r}; expected a number in [{lo}, {hi}]. "
            "Choose a value inside that range."
        )
