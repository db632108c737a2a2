"""Trajectories with known answers, and predictions files built from them."""

from __future__ import annotations

import numpy as np
import sleap_io as sio


def ramp(n_frames: int, slope: float = 3.0, start: float = 5.0) -> np.ndarray:
    """``(T, 1, 1, 2)``: one node moving at constant speed (x up, y down)."""
    x = start + slope * np.arange(n_frames, dtype=np.float64)
    return np.stack([x, 400.0 - x], axis=-1)[:, None, None, :]


def wander(n_frames: int, n_tracks: int = 2, n_nodes: int = 3, accel_sd: float = 0.3,
           seed: int = 0) -> np.ndarray:
    """``(T, S, K, 2)`` positions of a constant-velocity model with random accelerations."""
    rng = np.random.default_rng(seed)
    acc = rng.normal(0.0, accel_sd, (n_frames, n_tracks, n_nodes, 2))
    start = 100.0 + 60.0 * np.arange(n_tracks)[None, :, None, None]
    return np.cumsum(np.cumsum(acc, axis=0), axis=0) + start


def to_labels(points: np.ndarray, scores: np.ndarray, tracks: list[str] | None = None,
              video: str = "video.mp4", first_frame: int = 0) -> sio.Labels:
    """Predicted instances of ``points (T, S, K, 2)``; slot ``s`` is track ``tracks[s]``
    (None: untracked); an instance whose points are all NaN is absent from its frame."""
    t, s, k, _ = points.shape
    skeleton = sio.Skeleton([f"node{i}" for i in range(k)])
    vid = sio.Video(filename=video, open_backend=False)
    trk = [sio.Track(name=name) for name in tracks] if tracks else []
    frames = []
    for row in range(t):
        insts = [sio.PredictedInstance.from_numpy(
            points_data=points[row, i], skeleton=skeleton, point_scores=scores[row, i],
            score=float(np.nanmean(scores[row, i])), track=trk[i] if trk else None)
            for i in range(s) if np.isfinite(points[row, i]).any()]
        frames.append(sio.LabeledFrame(video=vid, frame_idx=first_frame + row,
                                       instances=insts))
    return sio.Labels(labeled_frames=frames, videos=[vid], skeletons=[skeleton], tracks=trk)
