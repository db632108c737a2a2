"""Small predictions files for the outlier tests, built from arrays."""

from __future__ import annotations

import numpy as np
import sleap_io as sio


def make_predictions(
    points: np.ndarray,
    scores: np.ndarray | None = None,
    first_frame: int = 0,
    tracks: list[str] | None = None,
    nodes: list[str] | None = None,
    video: str = "video.mp4",
) -> sio.Labels:
    """``sio.Labels`` of ``PredictedInstance`` s from ``points (F, N, K, 2)`` (frame ``f`` of
    the array is video frame ``first_frame + f``); all-NaN instances are left out."""
    points = np.asarray(points, np.float64)
    f, n, k, _ = points.shape
    scores = np.full((f, n, k), 0.9) if scores is None else np.asarray(scores, np.float64)
    skeleton = sio.Skeleton(nodes or [f"n{i}" for i in range(k)])
    vid = sio.Video(filename=video, open_backend=False)
    trk = [sio.Track(name=t) for t in tracks or []]
    frames = []
    for row in range(f):
        insts = [
            sio.PredictedInstance.from_numpy(
                points_data=points[row, i], skeleton=skeleton, point_scores=scores[row, i],
                score=0.9, track=trk[i] if trk else None)
            for i in range(n) if not np.isnan(points[row, i]).all()
        ]
        frames.append(sio.LabeledFrame(video=vid, frame_idx=first_frame + row, instances=insts))
    return sio.Labels(labeled_frames=frames, videos=[vid], skeletons=[skeleton], tracks=trk)


def still(n_frames: int, n_animals: int = 1, n_nodes: int = 3, spacing: float = 100.0,
          seed: int = 0, noise: float = 0.3) -> np.ndarray:
    """Animals standing still (nodes 10 px apart, animals ``spacing`` apart) with jitter."""
    rng = np.random.default_rng(seed)
    base = np.zeros((n_animals, n_nodes, 2))
    base[..., 0] = np.arange(n_nodes) * 10.0 + 50.0
    base[..., 1] = 50.0 + np.arange(n_animals)[:, None] * spacing
    pts = np.broadcast_to(base, (n_frames, n_animals, n_nodes, 2)).copy()
    return pts + rng.normal(0.0, noise, pts.shape)
