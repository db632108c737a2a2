"""Scoring a centroid model on its own: predicted anchors against labelled anchors."""

from __future__ import annotations

import numpy as np
import sleap_io as sio

from posekit.decoding.predictors_topdown import CentroidFinder
from posekit.evaluation import EvaluationResult, evaluate_arrays
from posekit.inference.backends import make_backend
from posekit.inference.pipeline import labelled_anchor_lookup
from posekit.inference.run_folder import RunFolder
from posekit.io.sources import open_frame_source


def evaluate_centroids(run: RunFolder, labels: sio.Labels,
                       peak_threshold: float = 0.2) -> EvaluationResult:
    """Metrics of the anchors a centroid model finds, as one-node instances."""
    finder = CentroidFinder(run, make_backend(run, "torch"), peak_threshold)
    truth = labelled_anchor_lookup(labels, run.info)
    gt, pred, scores, frames = [], [], [], []
    for batch in open_frame_source(labels, batch_size=8, prefetch=0):
        centers, center_scores = finder(batch.images)
        for f, c, s in zip(batch.frame_indices, centers, center_scores):
            gt.append(truth(batch.video, int(f)).reshape(-1, 1, 2))
            pred.append(np.asarray(c, np.float64).reshape(-1, 1, 2))
            scores.append(np.asarray(s, np.float64))
            frames.append(int(f))
    metrics = evaluate_arrays(gt, pred, pred_scores=scores, frame_indices=frames,
                              node_names=["anchor"])
    return metrics.with_note("centroid model scored alone: predicted anchors vs labelled "
                             "anchors (anchor_part, else the bounding-box midpoint), as "
                             "one-node instances")
