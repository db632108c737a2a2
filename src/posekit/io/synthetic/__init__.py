"""Synthetic articulated animals with exact ground truth (posekit's built-in test data).

>>> from posekit.io.synthetic import SynthSpec, render
>>> result = render(SynthSpec(n_frames=10, n_animals=2))
>>> result.images.shape, result.points.shape
((10, 160, 160, 1), (10, 2, 8, 2))
"""

from posekit.io.synthetic.bodies import BodyPlan, body_plan, fly_plan, mouse_plan, worm_plan
from posekit.io.synthetic.render import SynthResult, make_skeleton, render
from posekit.io.synthetic.spec import SynthSpec
from posekit.io.synthetic.writer import write_dataset, write_video

__all__ = [
    "BodyPlan",
    "SynthResult",
    "SynthSpec",
    "body_plan",
    "fly_plan",
    "make_skeleton",
    "mouse_plan",
    "render",
    "worm_plan",
    "write_dataset",
    "write_video",
]
