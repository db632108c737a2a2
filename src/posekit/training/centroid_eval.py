"""Scoring a centroid model on its own: predicted anchors against labelled anchors."""

from __future__ import annotations

import numpy as np
import sleap_io as sio

from posekit.evaluation import evaluate_arrays
from posekit.inference.backends import make_backend
from posekit.inference.predictors_topdown import CentroidFinder
from posekit.inference.run_folder import RunFolder
from posekit.io.sources import open_frame_source


def labelled_anchors(labels: sio.Labels, run: RunFolder) -> dict[tuple[int, int], np.ndarray]:
    """``(id(video), frame_idx) -> (n, 1, 2)`` anchors of the user instances."""
    info = run.info
    anchors: dict[tuple[int, int], np.ndarray] = {}
    for lf in labels.labeled_frames:
        rows = []
        for inst in lf.user_instances:
            names = list(inst.skeleton.node_names)
            pts = inst.numpy()[[names.index(n) for n in info.node_names if n in names]]
            if info.anchor_index is not None and np.isfinite(pts[info.anchor_index]).all():
                rows.append(pts[info.anchor_index])
                continue
            vis = pts[np.isfinite(pts).all(axis=1)]
            if len(vis):
                rows.append((vis.min(axis=0) + vis.max(axis=0)) / 2.0)
        anchors[(id(lf.video), int(lf.frame_idx))] = np.asarray(rows, np.float64).reshape(-1, 1, 2)
    return anchors


def evaluate_centroids(run: RunFolder, labels: sio.Labels, peak_threshold: float = 0.2) -> dict:
    """Metrics of the anchors a centroid model finds, as one-node instances."""
    finder = CentroidFinder(run, make_backend(run, "torch"), peak_threshold)
    truth = labelled_anchors(labels, run)
    gt, pred, scores, frames = [], [], [], []
    for batch in open_frame_source(labels, batch_size=8, prefetch=0):
        centers, center_scores = finder(batch.images)
        for f, c, s in zip(batch.frame_indices, centers, center_scores):
            gt.append(truth.get((id(batch.video), int(f)), np.zeros((0, 1, 2))))
            pred.append(np.asarray(c, np.float64).reshape(-1, 1, 2))
            scores.append(np.asarray(s, np.float64))
            frames.append(int(f))
    metrics = evaluate_arrays(gt, pred, pred_scores=scores, frame_indices=frames,
                              node_names=["anchor"])
    metrics["note"] = ("centroid model scored alone: predicted anchors vs labelled anchors "
                       "(anchor_part, else the bounding-box midpoint), as one-node instances")
    return metrics
