"""Compare two runs (refinement rounds) on the same labelled frames.

Where the predictions come from:

* ``test`` given: both models predict that labels file (:func:`predict_labels`: a
  centered-instance model crops around the labelled animals, as training's own
  evaluation does), so both are scored on exactly the same frames and labels;
* otherwise each run's saved validation split and predictions (``labels_gt.val.slp`` and
  ``labels_pr.val.slp``, written by training) are used on the frames both validation sets
  share (same recording and frame number, recordings matched as in
  :mod:`posekit.refinement.metadata`). The labels of run B (the later round, with any
  corrections) are the ground truth for both.

The comparison itself is :func:`posekit.reports.compare_rounds.compare_inputs`. Per-frame
conditions come from the metadata CSV (``condition`` column; default ``treatment`` when
present, else the first column), else each frame's recording.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from posekit.errors import ConfigError, DataError
from posekit.evaluation.pairs import FrameInputs, labels_inputs
from posekit.evaluation.settings import EvaluationSettings
from posekit.refinement.metadata import VideoGroups, VideoMetadata, read_metadata
from posekit.reports.compare_bootstrap import LEVEL, N_BOOT, SEED
from posekit.reports.compare_rounds import RoundComparison, compare_inputs

if TYPE_CHECKING:
    import sleap_io as sio

PathLike = str | os.PathLike[str]
Predict = Callable[[Path, "sio.Labels"], "sio.Labels"]
VAL_GT = "labels_gt.val.slp"
VAL_PR = "labels_pr.val.slp"
SAVED = "saved validation predictions"
PREDICTED = "both models predicted the --test labels"


def predict_labels(run_dir: Path, labels: sio.Labels) -> sio.Labels:
    """Predict every labelled frame of ``labels`` with the model of ``run_dir``.

    Raises:
        ConfigError: the run is a centroid model (it predicts no keypoints alone).
    """
    from posekit.inference.pipeline import load_model, predict_source
    from posekit.inference.run_folder import open_run_folder

    stage = open_run_folder(run_dir).model_type.stage
    if stage == "centroids":
        raise ConfigError(
            f"{run_dir}: a centroid model finds animals but places no keypoints; expected a "
            "run that predicts poses (single instance, centered instance, bottom-up). "
            "Compare the centered-instance runs instead."
        )
    topdown = stage == "instances"
    model = load_model(run_dir, gt_centroids=topdown)
    return predict_source(model, labels, use_gt_centroids=topdown).labels


def _run_name(path: Path, other: Path) -> str:
    name = path.resolve().name
    return name if name != other.resolve().name else str(path)


def _pick(inputs: FrameInputs, order: Sequence[int], like: FrameInputs | None = None,
          videos: Sequence[str] | None = None) -> FrameInputs:
    """``inputs`` restricted to frames ``order`` (in that order). With ``like`` (already
    in that order) the labels, video names, frame indices and sources are ``like``'s: only
    the predictions are ``inputs``'. ``videos`` renames the videos."""
    def take(name: str) -> tuple:
        if like is not None and name in _LABEL_FIELDS:
            return getattr(like, name)
        values = getattr(inputs, name)
        return tuple(values[i] for i in order)

    return FrameInputs(
        gt_points=take("gt_points"), gt_tracks=take("gt_tracks"),
        pred_points=take("pred_points"), pred_scores=take("pred_scores"),
        pred_point_scores=take("pred_point_scores"), pred_tracks=take("pred_tracks"),
        videos=tuple(videos) if videos is not None else take("videos"),
        frame_indices=take("frame_indices"), sources=take("sources"),
        node_names=inputs.node_names,
        gt_track_names=(like or inputs).gt_track_names,
        pred_track_names=inputs.pred_track_names)


_LABEL_FIELDS = ("gt_points", "gt_tracks", "videos", "frame_indices", "sources")


def _frame_keys(inputs: FrameInputs, labels: sio.Labels, groups: VideoGroups) -> list[tuple]:
    """``(recording, frame number)`` of every evaluated frame."""
    keys = []
    for source, frame in zip(inputs.sources, inputs.frame_indices):
        video = labels.videos[source]
        group, _ = groups.add(video)
        keys.append((group, groups.identity(video).frame_number(int(frame))))
    return keys


def _load_saved(run: Path) -> tuple[sio.Labels, sio.Labels]:
    from posekit.io.labels import load_labels

    missing = [n for n in (VAL_GT, VAL_PR) if not (run / n).is_file()]
    if missing:
        raise DataError(
            f"{run}: no {' / '.join(missing)}; expected a run folder whose training saved its "
            "validation split and predictions. Give --test LABELS to predict a labels file "
            "with both models instead."
        )
    return load_labels(run / VAL_GT), load_labels(run / VAL_PR)


def saved_inputs(run_a: Path, run_b: Path, settings: EvaluationSettings
                 ) -> tuple[FrameInputs, FrameInputs, sio.Labels, list[str]]:
    """Both runs' inputs on the validation frames they share (module notes); also run B's
    validation labels (the ground truth) and notes.

    Raises:
        DataError: a run lacks its saved files, or the validation sets share no frame.
    """
    gt_a, pr_a = _load_saved(run_a)
    gt_b, pr_b = _load_saved(run_b)
    in_a = labels_inputs(gt_a, pr_a, settings)
    in_b = labels_inputs(gt_b, pr_b, settings)
    groups = VideoGroups()
    keys_a = {k: i for i, k in enumerate(_frame_keys(in_a, gt_a, groups))}
    keys_b = _frame_keys(in_b, gt_b, groups)
    shared = [(j, keys_a[k]) for j, k in enumerate(keys_b) if k in keys_a]
    if not shared:
        raise DataError(
            f"{run_a / VAL_GT} and {run_b / VAL_GT}: the two validation sets share no frame; "
            "expected the same held-out frames in both rounds. Give --test LABELS to predict "
            "one labels file with both models."
        )
    order_b, order_a = [j for j, _ in shared], [i for _, i in shared]
    names = [groups.name(keys_b[j][0]) for j in order_b]
    b = _pick(in_b, order_b, videos=names)
    a = _pick(in_a, order_a, like=b)
    relabelled = sum(not np.array_equal(in_a.gt_points[i], b.gt_points[n], equal_nan=True)
                     for n, i in enumerate(order_a))
    notes = [(f"{len(shared)} validation frames are in both runs ({in_a.n_frames} in "
              f"{run_a.name}, {in_b.n_frames} in {run_b.name}); they are compared with "
              f"{run_b.name}'s labels.")]
    if relabelled:
        notes.append(f"{relabelled} of them were labelled differently in the two rounds; "
                     f"{run_b.name}'s labels are used for both runs.")
    return a, b, gt_b, notes


def frame_conditions(inputs: FrameInputs, labels: sio.Labels,
                     metadata: VideoMetadata | None, column: str | None
                     ) -> tuple[list[str], str]:
    """One condition value per evaluated frame and the column it comes from.

    Raises:
        DataError: a video has no row or an empty cell; the column is missing.
    """
    if metadata is None:
        if column is not None:
            raise ConfigError(f"--condition {column}: needs --metadata META.csv naming each "
                              "video's conditions.")
        groups = VideoGroups()
        return [groups.name(groups.add(labels.videos[s])[0]) for s in inputs.sources], \
            "recording"
    if column is None:
        column = "treatment" if "treatment" in metadata.columns else metadata.columns[0]
    videos = list(dict.fromkeys(inputs.sources))
    rows = metadata.lookup([labels.videos[s] for s in videos], [column])
    value = {s: r[column] for s, r in zip(videos, rows)}
    return [value[s] for s in inputs.sources], column


def compare_runs(
    run_a: PathLike,
    run_b: PathLike,
    *,
    test: PathLike | None = None,
    metadata: PathLike | VideoMetadata | None = None,
    condition: str | None = None,
    n_boot: int = N_BOOT,
    level: float = LEVEL,
    seed: int = SEED,
    settings: EvaluationSettings | None = None,
    predict: Predict | None = None,
) -> RoundComparison:
    """Compare run B against run A on the same frames (module notes).

    Args:
        run_a, run_b: the two run folders (B - A is reported).
        test: a labels file both models predict (default: the saved validation
            predictions of the runs).
        metadata: a metadata CSV for per-condition differences.
        condition: the metadata column of the conditions.
        n_boot, level, seed: the bootstrap settings.
        settings: evaluation settings.
        predict: ``predict(run_dir, labels) -> predictions`` (default
            :func:`predict_labels`).

    Raises:
        DataError: missing files, no shared frames, videos missing in the metadata.
        ConfigError: bad bootstrap settings or a centroid-only run.
    """
    if n_boot < 100 or not 0.5 <= level < 1:
        raise ConfigError(f"--bootstrap {n_boot} / --level {level}: expected at least 100 "
                          "resamples and a level in [0.5, 1), e.g. 2000 and 0.95.")
    a_dir, b_dir = Path(run_a), Path(run_b)
    for run in (a_dir, b_dir):
        if not run.is_dir():
            raise DataError(f"{run}: not a folder; expected a run folder made by posekit "
                            "train. Check the path.")
    settings = settings or EvaluationSettings()
    notes: list[str] = []
    if test is not None:
        from posekit.io.labels import load_labels

        gt = load_labels(test)
        predict = predict or predict_labels
        in_a = labels_inputs(gt, predict(a_dir, gt), settings)
        in_b = labels_inputs(gt, predict(b_dir, gt), settings)
        source = PREDICTED
    else:
        in_a, in_b, gt, notes = saved_inputs(a_dir, b_dir, settings)
        source = SAVED
    table = metadata if metadata is None or isinstance(metadata, VideoMetadata) else (
        read_metadata(metadata))
    values, column = frame_conditions(in_b, gt, table, condition)
    return compare_inputs(
        in_a, in_b, names=(_run_name(a_dir, b_dir), _run_name(b_dir, a_dir)),
        paths=(str(a_dir), str(b_dir)), conditions=values, condition_column=column,
        n_boot=n_boot, level=level, seed=seed, settings=settings, predictions=source,
        notes=notes)
