"""Train / validation splits and the training-data loading rule of the sleap-nn guide.

Rule (``data_config``): when ``val_labels_path`` is given those files are the
validation set; otherwise ``validation_fraction`` of the training frames, drawn at
random with ``trainer_config.seed``, become the validation set.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from posekit.errors import ConfigError, DataError
from posekit.io.labels import (
    VIDEO_EXTENSIONS,
    check_same_nodes,
    conform_labels,
    load_labels,
    load_training_labels,
    used_skeleton,
)

if TYPE_CHECKING:
    import sleap_io as sio

PathLike = str | os.PathLike[str]


def _subset(labels: sio.Labels, frames: list[sio.LabeledFrame]) -> sio.Labels:
    """New ``Labels`` over ``frames`` keeping every skeleton, track and provenance entry."""
    import sleap_io as sio

    videos = [v for v in labels.videos if any(lf.video is v for lf in frames)]
    out = sio.Labels(
        labeled_frames=frames,
        videos=videos,
        skeletons=list(labels.skeletons),
        tracks=list(labels.tracks),
    )
    out.provenance.update(dict(labels.provenance))
    return out


def user_frames_only(labels: sio.Labels) -> sio.Labels:
    """Frames that have user instances, holding only those instances (input unchanged)."""
    import sleap_io as sio

    frames = [
        sio.LabeledFrame(video=lf.video, frame_idx=lf.frame_idx, instances=list(lf.user_instances))
        for lf in labels.labeled_frames
        if lf.has_user_instances
    ]
    return _subset(labels, frames)


def split_labels(
    labels: sio.Labels, validation_fraction: float, seed: int | None = None
) -> tuple[sio.Labels, sio.Labels]:
    """Randomly split the labelled frames into ``(train, val)``.

    ``round(n * validation_fraction)`` frames (at least 1 and at most ``n - 1``) go to
    validation. The same seed gives the same split; ``seed=None`` draws a fresh one.
    Both parts keep the full track list and share frame objects with ``labels``.

    Raises:
        ConfigError: ``validation_fraction`` is not in (0, 1).
        DataError: fewer than 2 labelled frames.
    """
    fraction = float(validation_fraction)
    if not 0.0 < fraction < 1.0:
        raise ConfigError(
            f"data_config.validation_fraction: {validation_fraction} is out of range; expected "
            "a number between 0 and 1 (exclusive), e.g. 0.1."
        )
    frames = list(labels.labeled_frames)
    n = len(frames)
    if n < 2:
        source = labels.provenance.get("filename", "labels")
        raise DataError(
            f"{source}: {n} labelled frame(s) cannot be split into training and validation; "
            "expected at least 2. Label more frames or set data_config.val_labels_path."
        )
    n_val = int(min(max(round(n * fraction), 1), n - 1))
    perm = np.random.default_rng(seed).permutation(n)
    val_idx = np.sort(perm[:n_val])
    train_idx = np.sort(perm[n_val:])
    return _subset(labels, [frames[i] for i in train_idx]), _subset(
        labels, [frames[i] for i in val_idx]
    )


def _as_list(paths: Sequence[PathLike] | PathLike | None) -> list[PathLike]:
    if paths is None:
        return []
    if isinstance(paths, (str, os.PathLike)):
        return [paths]
    return list(paths)


def load_train_val(
    train_paths: Sequence[PathLike] | PathLike,
    val_paths: Sequence[PathLike] | PathLike | None = None,
    validation_fraction: float = 0.1,
    seed: int | None = None,
    user_instances_only: bool = True,
) -> tuple[sio.Labels, sio.Labels]:
    """Load training labels and produce ``(train, val)`` following sleap-nn's rule.

    Args:
        train_paths: ``data_config.train_labels_path`` (one or several files).
        val_paths: ``data_config.val_labels_path``; when empty, ``validation_fraction``
            of the training frames are used instead.
        validation_fraction: fraction of training frames for validation.
        seed: ``trainer_config.seed`` (same seed, same split).
        user_instances_only: keep only frames with user instances and only those
            instances (predictions are not training targets).

    Raises:
        DataError: a file fails to load, the files' skeletons differ, or no usable frames.
    """
    train_list, val_list = _as_list(train_paths), _as_list(val_paths)
    if not train_list:
        raise ConfigError(
            "data_config.train_labels_path: empty; expected at least one labels file."
        )
    train = load_training_labels(train_list)
    if user_instances_only:
        train = user_frames_only(train)
    if not len(train.labeled_frames):
        raise DataError(
            f"{', '.join(map(str, train_list))}: no labelled frames with user instances; "
            "expected user-labelled frames (predictions are not training targets). Label "
            "or proofread frames first."
        )
    if not val_list:
        return split_labels(train, validation_fraction, seed)
    val = load_training_labels(val_list)
    train_skeleton = used_skeleton(train, train_list[0])
    check_same_nodes(
        train_skeleton.node_names,
        used_skeleton(val, val_list[0]).node_names,
        train_list[0],
        val_list[0],
    )
    tracks = list(train.tracks)
    conform_labels(val, train_skeleton, tracks, val_list[0])
    train.tracks = tracks
    if user_instances_only:
        val = user_frames_only(val)
    if not len(val.labeled_frames):
        raise DataError(
            f"{', '.join(map(str, val_list))}: no labelled frames with user instances; "
            "expected user-labelled validation frames."
        )
    return train, val


def load_test_labels(path: PathLike) -> sio.Labels:
    """Load ``data_config.test_file_path`` when it is a labels file.

    Raises:
        DataError: the path is a video (use a frame source for videos) or not loadable.
    """
    if str(path).lower().endswith(VIDEO_EXTENSIONS):
        raise DataError(
            f"{path}: is a video; expected a labels file for evaluation. Predict the video with "
            "`posekit track VIDEO -m RUN_DIR` and evaluate on labelled frames instead."
        )
    return load_labels(path)
