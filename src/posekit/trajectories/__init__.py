"""Trajectory filters: clean per-frame predictions into trajectories (``posekit filter``).

Each filter is a pure function on ``points (frames, tracks, nodes, 2)`` and ``scores
(frames, tracks, nodes)`` returning a :class:`Filtered` (points, scores, a per-point
status — original, smoothed, filled, removed, missing — and, for ``kalman``, the posterior
variance): :func:`pcutoff`, :func:`median`, :func:`savgol`, :func:`interpolate`,
:func:`arima`, :func:`kalman`. :func:`filter_tracks` chains them as
:class:`FilterSettings` says, :func:`filter_labels` runs them on ``sio.Labels`` and
:func:`filter_file` on a predictions file (``.slp``, analysis ``.h5``, ``.csv``), writing the
same format with the filters and parameters recorded. See ``docs/filters.md``.
"""

from posekit.trajectories.arma_filter import arima
from posekit.trajectories.arrays import (
    FILLED,
    MISSING,
    ORIGINAL,
    REMOVED,
    SMOOTHED,
    STATUS_NAMES,
    Filtered,
)
from posekit.trajectories.files import (
    FilterOutputs,
    FilterReport,
    filter_file,
    read_filter_outputs,
)
from posekit.trajectories.gaps import interpolate
from posekit.trajectories.kalman_filter import kalman
from posekit.trajectories.labels import FilteredLabels, filter_labels
from posekit.trajectories.pipeline import filter_tracks
from posekit.trajectories.settings import METHODS, FilterSettings
from posekit.trajectories.smoothing import median, pcutoff, savgol

__all__ = [
    "FILLED", "METHODS", "MISSING", "ORIGINAL", "REMOVED", "SMOOTHED", "STATUS_NAMES",
    "FilterOutputs", "FilterReport", "FilterSettings", "Filtered", "FilteredLabels",
    "arima", "filter_file", "filter_labels", "filter_tracks", "interpolate", "kalman",
    "median", "pcutoff", "read_filter_outputs", "savgol",
]
