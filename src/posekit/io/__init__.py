"""Pose data input/output on top of sleap-io.

Labels are sleap-io objects (``Labels``, ``LabeledFrame``, ``Instance``,
``PredictedInstance``, ``Skeleton``, ``Track``, ``Video``); this package adds what
sleap-io lacks for training and inference:

* :func:`load_labels` — ``.slp`` / ``.pkg.slp`` (video paths resolved relative to the
  labels file first) and DeepLabCut projects (config order, ``.h5`` or ``.csv``);
  :func:`load_training_labels` merges several files with the same skeleton;
* :class:`FrameTable` — labelled frames as compact arrays with on-demand image decoding;
* :func:`split_labels`, :func:`load_train_val`, :func:`load_test_labels` — data splits;
* :func:`inspect_labels` — a JSON-able summary with problems found;
* :func:`open_frame_source` (``posekit.io.sources``) — videos / image folders / labels
  decoded in batches on a background thread;
* :func:`save_labels`, :func:`export_csv`, :func:`export_analysis_h5` — atomic writers.
"""

from posekit.io.dlc import load_dlc_project
from posekit.io.frames import FrameRecord, FrameTable
from posekit.io.images import ImageReader, VideoRef
from posekit.io.inspection import inspect_labels, summarize_labels
from posekit.io.labels import labels_format, load_labels, load_training_labels, merge_labels
from posekit.io.slp import load_slp_labels
from posekit.io.sources import (
    FrameBatch,
    FrameSkipWarning,
    FrameSource,
    SkippedFrame,
    open_frame_source,
    parse_frame_range,
)
from posekit.io.splits import load_test_labels, load_train_val, split_labels, user_frames_only
from posekit.io.writers import export_analysis_h5, export_csv, save_labels

__all__ = [
    "FrameBatch",
    "FrameRecord",
    "FrameSkipWarning",
    "FrameSource",
    "FrameTable",
    "ImageReader",
    "SkippedFrame",
    "VideoRef",
    "export_analysis_h5",
    "export_csv",
    "inspect_labels",
    "labels_format",
    "load_dlc_project",
    "load_labels",
    "load_slp_labels",
    "load_test_labels",
    "load_train_val",
    "load_training_labels",
    "merge_labels",
    "open_frame_source",
    "parse_frame_range",
    "save_labels",
    "split_labels",
    "summarize_labels",
    "user_frames_only",
]
