"""Labeled videos: predictions drawn on their video, streamed and encoded as H.264.

Example::

    from posekit.render import render_video
    render_video("clip.mp4", "clip.slp", "clip.labeled.mp4", color_by="track", trails=20)
"""

from posekit.render.draw import Style, draw_poses
from posekit.render.poses import PoseFrames, load_outliers
from posekit.render.video import RenderResult, pick_codec, render_video

__all__ = ["PoseFrames", "RenderResult", "Style", "draw_poses", "load_outliers",
           "pick_codec", "render_video"]
