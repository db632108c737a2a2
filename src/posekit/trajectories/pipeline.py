"""Run several filters in one call (``--method pcutoff,median,interpolate``) on arrays."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from posekit.trajectories.arma_filter import arima
from posekit.trajectories.arrays import (
    FILLED,
    ORIGINAL,
    Filtered,
    chain_status,
    check_arrays,
    check_window,
)
from posekit.trajectories.gaps import interpolate
from posekit.trajectories.kalman_filter import kalman
from posekit.trajectories.settings import FilterSettings
from posekit.trajectories.smoothing import median, pcutoff, savgol

Step = Callable[[np.ndarray, np.ndarray, np.ndarray, FilterSettings, int], Filtered]

#: How each method is called: ``(points, scores, segments, settings, max_gap_frames)``.
STEPS: dict[str, Step] = {
    "pcutoff": lambda p, s, g, st, gap: pcutoff(p, s, st.pcutoff, g),
    "median": lambda p, s, g, st, gap: median(p, s, st.window, g),
    "savgol": lambda p, s, g, st, gap: savgol(p, s, st.savgol_window, st.polyorder, g),
    "interpolate": lambda p, s, g, st, gap: interpolate(p, s, gap, st.interpolation,
                                                        st.fill_score, g),
    "arima": lambda p, s, g, st, gap: arima(p, s, st.p_bound, st.ar_degree, st.ma_degree, g),
    "kalman": lambda p, s, g, st, gap: kalman(p, s, st.measurement_sd, st.process_sd, g),
}


def check_video_length(settings: FilterSettings, n_frames: int, source: str) -> None:
    """ConfigError when a window of the settings' methods is longer than the video."""
    if "median" in settings.methods:
        check_window(settings.window, n_frames, "--window", source)
    if "savgol" in settings.methods:
        check_window(settings.savgol_window, n_frames, "--savgol-window", source)


def filter_tracks(points: np.ndarray, scores: np.ndarray | None = None,
                  settings: FilterSettings | None = None, segments: np.ndarray | None = None,
                  fps: float | None = None, source: str = "points") -> Filtered:
    """Apply ``settings.methods`` in order to ``points (T, S, K, 2)`` and ``scores (T, S, K)``.

    Each method sees the previous one's output. The returned status compares the final
    points with the input (a point removed and then filled is ``filled``); the variance is
    the Kalman smoother's for points no later method moved.

    Args:
        points, scores: one video's trajectories (frames consecutive; NaN: missing).
        settings: the methods and parameters (default: a 5-frame median).
        segments: ``(T, S)`` trajectory of each slot per frame (default: a slot is one).
        fps: the video's frame rate, for ``max_gap_s`` when the settings give no ``fps``.
        source: what error messages name (a file).

    Raises:
        ConfigError: a window longer than the video, or ``max_gap_s`` without a rate.
    """
    settings = settings or FilterSettings()
    pts, sc, seg = check_arrays(points, scores, segments)
    check_video_length(settings, pts.shape[0], source)
    gap = settings.gap_frames(fps, source) if "interpolate" in settings.methods else 0
    cur = Filtered(pts, sc, np.zeros(sc.shape, np.int8))
    filled = np.zeros(sc.shape, bool)
    variance: np.ndarray | None = None
    fitted: dict = {}
    for method in settings.methods:
        step = STEPS[method](cur.points, cur.scores, seg, settings, gap)
        has = np.isfinite(step.points).all(axis=-1)
        filled = (step.status == FILLED) | (filled & has)
        if step.variance is not None:
            variance = step.variance
        elif variance is not None:
            variance = np.where(step.status == ORIGINAL, variance, np.nan)
        fitted.update(step.fitted)
        cur = step
    return Filtered(cur.points, cur.scores, chain_status(pts, cur.points, filled),
                    variance, fitted)
