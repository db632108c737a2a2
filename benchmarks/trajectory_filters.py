"""Trajectory filter speed and accuracy: posekit against movement's filters and DeepLabCut's
``filterpredictions`` algorithm, on the same predictions.

Data: real motion — both flies of ``clip.slp`` (2 tracks × 13 nodes, 1,500 proofread
frames) played forwards and backwards to 100,000 frames — turned into predictions: each
point gets a score (Beta(4, 1.5)) and an error of ``1.5 px / score`` (so low scores are
worse, as the Kalman model assumes), 3 % of the points go missing in gaps of 1–8 frames,
and one point in 500 jumps 30–80 px with a low score.

Each method runs on the whole array (``posekit.trajectories``, arrays in, arrays out) and
so do the others where they have it:

* movement (``movement.filtering``, installed with posekit's ``dev`` extra):
  ``filter_by_confidence``, ``rolling_filter(median)``, ``savgol_filter``
  (``mode="nearest"``: SciPy >= 1.17 refuses NaN in the default mode's edge windows) and
  ``interpolate_over_time`` (linear, and xarray's ``cubic``), on an ``xarray.DataArray``
  built beforehand; one warm-up call first (xarray's numbagg kernels compile on first use).
* DeepLabCut 3.0.2's ``filterpredictions`` algorithm, re-implemented as it runs on its
  table: ``median`` = ``scipy.signal.medfilt`` per column (zero-padded), ``spline`` =
  ``columnwise_spline_interp`` (a CubicSpline per column through every present value,
  gaps longer than ``windowlength`` blanked), ``arima`` = statsmodels SARIMAX(3, 0, 1)
  fitted by maximum likelihood per column and its one-step prediction. SARIMAX on 52
  series of 100,000 frames would take most of an hour, so one full-length series is
  fitted (x of the first node) and its time multiplied by 52; with one BLAS thread, its
  fastest setting here.
* For ``kalman`` neither has a filter; statsmodels' state-space smoother with the same
  model and noise runs on one series and is multiplied by 52, as a library reference.

Tools take turns per method, ``--repeats`` times; the JSON holds every time, the median and
the ratio to posekit's median. Accuracy: RMSE (px) against the clean motion over the
points each output has, and for fills the RMSE of the filled points and how many.

    .venv/bin/python benchmarks/trajectory_filters.py      # ~3 min on 2 cores
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from posekit.trajectories import (
    FilterSettings,
    arima,
    filter_tracks,
    interpolate,
    kalman,
    median,
    pcutoff,
    savgol,
)
from posekit.utils import atomic_write_text

ROOT = Path(__file__).resolve().parents[1]
PCUTOFF, WINDOW, SG_WINDOW, POLYORDER, MAX_GAP = 0.6, 5, 7, 2, 5


def make_data(clip: Path, n_frames: int, seed: int) -> dict[str, np.ndarray]:
    """Clean motion ``(T, 2, 13, 2)`` and noisy predictions with scores."""
    import sleap_io as sio

    labels = sio.load_slp(str(clip))
    track = labels.numpy(user_instances=True)  # (1500, 2, 13, 2)
    back = np.r_[np.arange(len(track)), np.arange(len(track) - 2, 0, -1)]
    truth = track[np.resize(back, n_frames)].astype(np.float64)
    rng = np.random.default_rng(seed)
    scores = rng.beta(4.0, 1.5, truth.shape[:3])
    points = truth + rng.normal(0.0, 1.0, truth.shape) * (1.5 / scores)[..., None]
    spikes = rng.random(scores.shape) < 1 / 500
    angle = rng.uniform(0, 2 * np.pi, spikes.sum())
    size = rng.uniform(30, 80, spikes.sum())
    points[spikes] += np.stack([np.cos(angle), np.sin(angle)], -1) * size[:, None]
    scores[spikes] = rng.uniform(0.05, 0.4, spikes.sum())
    missing = np.zeros(scores.shape, bool)
    starts = rng.random(scores.shape) < 0.03 / 4.5
    for t, s, k in np.argwhere(starts):
        missing[t : t + rng.integers(1, 9), s, k] = True
    points[missing] = np.nan
    return {"truth": truth, "points": points, "scores": scores}


def rmse(out: np.ndarray, truth: np.ndarray, where: np.ndarray | None = None) -> float:
    ok = np.isfinite(out).all(-1) & np.isfinite(truth).all(-1)
    if where is not None:
        ok &= where
    return float(np.sqrt(np.mean(((out - truth)[ok]) ** 2))) if ok.any() else float("nan")


# ------------------------------------------------------------------ the other tools
def movement_filters(points: np.ndarray, scores: np.ndarray) -> dict[str, Callable]:
    """movement's filters on the same arrays, as ``() -> (T, S, K, 2)`` calls."""
    import xarray as xr
    from movement import filtering as mf

    dims = ("time", "individuals", "keypoints", "space")
    time_axis = {"time": np.arange(len(points))}
    pos = xr.DataArray(points, dims=dims, coords=time_axis)
    conf = xr.DataArray(scores, dims=dims[:3], coords=time_axis)
    back = lambda da: da.transpose(*dims).values
    return {
        "pcutoff": lambda: back(mf.filter_by_confidence(pos, conf, threshold=PCUTOFF)),
        "median": lambda: back(mf.rolling_filter(pos, WINDOW, "median", min_periods=1)),
        "savgol": lambda: back(mf.savgol_filter(pos, SG_WINDOW, POLYORDER, mode="nearest")),
        "interpolate": lambda: back(mf.interpolate_over_time(pos, "linear", max_gap=MAX_GAP)),
        "interpolate_spline": lambda: back(mf.interpolate_over_time(pos, "cubic",
                                                                    max_gap=MAX_GAP)),
    }


def dlc_median(points: np.ndarray) -> np.ndarray:
    """DeepLabCut's ``median``: ``signal.medfilt`` on every x / y column of its table."""
    from scipy.signal import medfilt

    cols = points.reshape(len(points), -1)
    return np.stack([medfilt(c, WINDOW) for c in cols.T], 1).reshape(points.shape)


def dlc_spline(points: np.ndarray) -> np.ndarray:
    """DeepLabCut's ``columnwise_spline_interp`` (max_gap = windowlength) on every column."""
    from scipy.interpolate import CubicSpline

    data = points.reshape(len(points), -1).copy()
    x = np.arange(len(data))
    for i in range(data.shape[1]):
        mask = ~np.isnan(data[:, i])
        if mask.sum() <= 3:
            continue
        y = CubicSpline(x[mask], data[mask, i])(x)
        inds = np.flatnonzero(np.r_[True, np.diff(mask), True])
        count = np.diff(inds)
        to_fill = np.ones_like(mask)
        for ind, n, is_nan in zip(inds[:-1], count, ~mask[inds[:-1]], strict=False):
            if is_nan and n > MAX_GAP:
                to_fill[ind : ind + n] = False
        y[~to_fill] = np.nan
        y[y == 0] = np.nan
        fill = np.isnan(data[:, i]) & np.isfinite(y)
        data[fill, i] = y[fill]
    return data.reshape(points.shape)


def dlc_arima_one(series: np.ndarray, scores: np.ndarray, p_bound: float = 0.001
                  ) -> np.ndarray:
    """DeepLabCut's ``FitSARIMAXModel`` on one series: SARIMAX(3, 0, 1) by maximum
    likelihood, low scores missing, the one-step predictions (first value kept)."""
    import statsmodels.api as sm

    y = series.copy()
    y[scores < p_bound] = np.nan
    model = sm.tsa.statespace.SARIMAX(y, order=(3, 0, 1), seasonal_order=(0, 0, 0, 0),
                                      simple_differencing=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pred = model.fit(disp=False).get_prediction(end=model.nobs - 1).predicted_mean
    pred[0] = series[0]
    return pred


def statsmodels_smoother_one(series: np.ndarray, weights: np.ndarray, q: float,
                             r: float) -> np.ndarray:
    """statsmodels' state-space smoother of the same constant-velocity model."""
    import statsmodels.api as sm

    model = sm.tsa.statespace.MLEModel(series, k_states=2, k_posdef=1,
                                       initialization="diffuse")
    model["design"] = np.array([[1.0, 0.0]])
    model["transition"] = np.array([[1.0, 1.0], [0.0, 1.0]])
    model["selection"] = np.array([[0.5], [1.0]])
    model["state_cov"] = np.array([[q]])
    model["obs_cov"] = (r * weights)[None, None, :]
    return model.ssm.smooth().smoothed_state[0]


# ------------------------------------------------------------------ timing
def timed(call: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    out = call()
    return time.perf_counter() - start, out


def summary(times: list[float]) -> dict[str, object]:
    return {"median_s": round(statistics.median(times), 3), "all_s": [round(t, 3) for t in times]}


def run_methods(data: dict[str, np.ndarray], repeats: int) -> dict[str, dict]:
    """posekit and movement / DeepLabCut taking turns per method."""
    pts, sc, truth = data["points"], data["scores"], data["truth"]
    mov = movement_filters(pts, sc)
    for call in mov.values():  # warm up xarray / numbagg kernels
        call()
    ours: dict[str, Callable[[], object]] = {
        "pcutoff": lambda: pcutoff(pts, sc, PCUTOFF),
        "median": lambda: median(pts, sc, WINDOW),
        "savgol": lambda: savgol(pts, sc, SG_WINDOW, POLYORDER),
        "interpolate": lambda: interpolate(pts, sc, MAX_GAP),
        "interpolate_spline": lambda: interpolate(pts, sc, MAX_GAP, "spline"),
        "arima": lambda: arima(pts, sc),
        "kalman": lambda: kalman(pts, sc),
    }
    others = {"median": {"movement": mov["median"], "deeplabcut": lambda: dlc_median(pts)},
              "pcutoff": {"movement": mov["pcutoff"]},
              "savgol": {"movement": mov["savgol"]},
              "interpolate": {"movement": mov["interpolate"]},
              "interpolate_spline": {"movement": mov["interpolate_spline"],
                                     "deeplabcut": lambda: dlc_spline(pts)}}
    results: dict[str, dict] = {}
    missing = ~np.isfinite(pts).all(-1)
    for name, call in ours.items():
        entry: dict[str, dict] = {"posekit": {"times": []}}
        outputs: dict[str, np.ndarray] = {}
        for _ in range(repeats):
            seconds, out = timed(call)
            entry["posekit"]["times"].append(seconds)
            outputs["posekit"] = out.points
            for tool, other in others.get(name, {}).items():
                seconds, res = timed(other)
                entry.setdefault(tool, {"times": []})["times"].append(seconds)
                outputs[tool] = np.asarray(res)
        for tool, out in outputs.items():
            times = entry[tool].pop("times")
            entry[tool].update(summary(times))
            entry[tool]["rmse_px"] = round(rmse(out, truth), 3)
            if name.startswith("interpolate"):
                filled = missing & np.isfinite(out).all(-1)
                entry[tool]["filled_points"] = int(filled.sum())
                entry[tool]["filled_rmse_px"] = round(rmse(out, truth, filled), 3)
        base = entry["posekit"]["median_s"]
        for tool, value in entry.items():
            if tool != "posekit":
                value["ratio_to_posekit"] = round(value["median_s"] / base, 2)
        results[name] = entry
        print(name, {t: v["median_s"] for t, v in entry.items()}, flush=True)
    return results


def run_series_references(data: dict[str, np.ndarray], fitted: dict) -> dict[str, dict]:
    """DeepLabCut's SARIMAX (arima) and statsmodels' smoother (kalman) on one series,
    multiplied by the 52 series of the array."""
    pts, sc = data["points"], data["scores"]
    n_series = pts.shape[1] * pts.shape[2] * 2
    x, s = pts[:, 0, 0, 0], sc[:, 0, 0]
    with threadpool_limits(1):
        seconds, _ = timed(lambda: dlc_arima_one(x, s))
    q = fitted["process_sd"][0] ** 2
    r = fitted["measurement_sd"][0] ** 2
    w = 1.0 / np.clip(s, 0.01, 1.0) ** 2
    seconds_sm, _ = timed(lambda: statsmodels_smoother_one(x, w, q, r))
    return {
        "arima": {"deeplabcut_one_series_s": round(seconds, 2),
                  "deeplabcut_estimated_s": round(seconds * n_series, 1)},
        "kalman": {"statsmodels_one_series_s": round(seconds_sm, 2),
                   "statsmodels_estimated_s": round(seconds_sm * n_series, 1)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clip", type=Path, default=ROOT.parent / "shared/data/clip.slp")
    parser.add_argument("--frames", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path,
                        default=ROOT / "benchmarks/results/trajectory_filters.json")
    args = parser.parse_args()
    load_before = os.getloadavg()
    data = make_data(args.clip, args.frames, args.seed)
    methods = run_methods(data, args.repeats)
    chain = FilterSettings(methods=("pcutoff", "median", "interpolate", "kalman"))
    chain_s, chained = timed(lambda: filter_tracks(data["points"], data["scores"], chain))
    refs = run_series_references(data, kalman(data["points"], data["scores"])
                                 .fitted["kalman"])
    for name, extra in refs.items():
        methods[name].update(extra)
        est = next(v for k, v in extra.items() if k.endswith("estimated_s"))
        methods[name]["estimated_ratio_to_posekit"] = round(
            est / methods[name]["posekit"]["median_s"], 1)
    total = sum(m["posekit"]["median_s"] for m in methods.values())
    report = {
        "benchmark": "trajectory_filters",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "processor": platform.processor() or
                    platform.machine(), "python": platform.python_version(),
                    "load_average_1min_before_after": [round(load_before[0], 2),
                                                       round(os.getloadavg()[0], 2)]},
        "data": {"frames": args.frames, "tracks": 2, "nodes": 13, "source": str(args.clip),
                 "missing_points": int((~np.isfinite(data["points"]).all(-1)).sum()),
                 "raw_rmse_px": round(rmse(data["points"], data["truth"]), 3),
                 "seed": args.seed},
        "settings": {"pcutoff": PCUTOFF, "window": WINDOW, "savgol_window": SG_WINDOW,
                     "polyorder": POLYORDER, "max_gap": MAX_GAP},
        "methods": methods,
        "posekit_total_s": round(total, 2),
        "chain_pcutoff_median_interpolate_kalman": {
            "seconds": round(chain_s, 2), "rmse_px": round(rmse(chained.points,
                                                                data["truth"]), 3),
            "counts": chained.counts()},
        "target": "every method under 30 s on 2 cores",
    }
    atomic_write_text(args.out, json.dumps(report, indent=1) + "\n")
    print(json.dumps({k: report[k] for k in ("posekit_total_s", "data")}, indent=1))


if __name__ == "__main__":
    main()
