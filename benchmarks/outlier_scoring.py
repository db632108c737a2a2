"""Outlier scoring speed: posekit against DeepLabCut's algorithm, on the same predictions.

Data: real motion — the proofread female fly of ``clip.slp`` (13 nodes, 1,500 frames)
played forwards and backwards to 100,000 frames, coordinates scaled by 1/3 (as in a
341-px video, so DeepLabCut's default epsilon of 20 px suits the animal's speed) — turned
into predictions with planted jumps, low scores and drifts, one event per 100 frames
(``posekit.io.synthetic.predictions``).

* posekit: ``find_outliers`` with every criterion (uncertain, jump, fitting) at the
  defaults, from the ``sio.Labels`` to the chosen frames (array conversion, scoring,
  ranking, k-means diversity), and ``score_points`` alone (the criteria on arrays).
* DeepLabCut's algorithm, re-implemented as ``extract_outlier_frames`` runs it:
  ``uncertain`` (likelihood < p_bound on any body part), ``jump`` (squared displacement
  > epsilon² on any body part) and ``fitting`` (statsmodels SARIMAX(3, 0, 1) fitted per
  body part and coordinate by maximum likelihood, points below p_bound missing, distance
  of each point from the one-step prediction, averaged over body parts, > epsilon).
  Maximum-likelihood fitting of 26 series of 100,000 frames takes far too long to
  repeat, so DeepLabCut's algorithm runs on the first ``--dlc-frames`` frames, and
  posekit runs on exactly those frames too for the ratio. For the 100,000-frame
  estimate, one series (the first node's x) is fitted once at full length and the time
  multiplied by the 26 series.

The tools take turns (posekit, DeepLabCut, posekit, ...) ``--repeats`` times; the JSON
gives every time, the median and the spread. DeepLabCut's fits run with one BLAS thread:
statsmodels' Kalman filter makes many tiny BLAS calls, and once scikit-learn's k-means
(posekit's diversity step) has started OpenMP workers in the process, two-thread BLAS on
two cores ran those fits 5-15x slower; one thread is its fastest setting here. Recall and precision of the frames each
flags against the planted truth are recorded for the shared frames.

    .venv/bin/python benchmarks/outlier_scoring.py                 # ~4 min on 2 cores
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from posekit.io.synthetic.predictions import FailureSpec, SynthPredictions, plant_failures
from posekit.refinement.outlier_selection import OutlierSettings, find_outliers
from posekit.refinement.outliers import PoseTracks, score_points
from posekit.utils import atomic_write_text

ROOT = Path(__file__).resolve().parents[1]


def make_data(clip: Path, n_frames: int, seed: int) -> SynthPredictions:
    """Predictions of one 13-node fly with about one planted failure per 100 frames."""
    import sleap_io as sio

    labels = sio.load_slp(str(clip))
    track = labels.numpy(user_instances=True)[:, 0] / 3.0  # (1500, 13, 2), the female
    there_and_back = np.r_[np.arange(len(track)), np.arange(len(track) - 2, 0, -1)]
    poses = track[np.resize(there_and_back, n_frames)][:, None]
    events = n_frames // 300
    return plant_failures(poses, labels.skeleton, FailureSpec(
        jumps=events, low_scores=events, drifts=events, swaps=0, seed=seed))


def dlc_algorithm(points: np.ndarray, scores: np.ndarray, p_bound: float = 0.01,
                  epsilon: float = 20.0, ar: int = 3, ma: int = 1) -> dict[str, np.ndarray]:
    """DeepLabCut 2.x ``extract_outlier_frames`` criteria for one animal ``(T, K, 2)``:
    boolean frame masks per criterion (frame positions, as DeepLabCut returns them)."""
    import statsmodels.api as sm

    uncertain = (scores < p_bound).any(axis=1)
    step = np.diff(points, axis=0)
    jump = np.r_[False, ((step**2).sum(-1) > epsilon**2).any(axis=1)]
    dist = np.full(scores.shape, np.nan)
    for k in range(points.shape[1]):
        means = []
        for c in range(2):
            y = points[:, k, c].copy()
            y[scores[:, k] < p_bound] = np.nan
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                mod = sm.tsa.statespace.SARIMAX(y, order=(ar, 0, ma), seasonal_order=(0, 0, 0, 0),
                                                simple_differencing=True)
                try:
                    res = mod.fit(disp=False)
                except (ValueError, np.linalg.LinAlgError):
                    mod = sm.tsa.statespace.SARIMAX(
                        y, order=(ar, 0, ma), seasonal_order=(0, 0, 0, 0),
                        simple_differencing=True, enforce_stationarity=False,
                        enforce_invertibility=False)
                    res = mod.fit(disp=False)
                means.append(res.get_prediction(end=mod.nobs - 1).predicted_mean)
        dist[:, k] = np.hypot(points[:, k, 0] - means[0], points[:, k, 1] - means[1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        fitting = np.nanmean(dist, axis=1) > epsilon
    return {"uncertain": uncertain, "jump": jump, "fitting": fitting}


def one_series(y: np.ndarray, ar: int = 3, ma: int = 1) -> float:
    """Seconds DeepLabCut's fitting spends on one coordinate series (fit + prediction)."""
    import statsmodels.api as sm

    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mod = sm.tsa.statespace.SARIMAX(y, order=(ar, 0, ma), seasonal_order=(0, 0, 0, 0),
                                        simple_differencing=True)
        mod.fit(disp=False).get_prediction(end=mod.nobs - 1)
    return time.perf_counter() - start


def accuracy(flagged: np.ndarray, pred: SynthPredictions, rows: slice) -> dict[str, float]:
    """Recall / precision of frame masks against the planted truth (touched frames ignored)."""
    ids = pred.truth.frame_ids[rows]
    truth = np.isin(ids, pred.truth.frames)
    ignore = np.isin(ids, pred.truth.touched_frames)
    hits = int((flagged & truth).sum())
    return {"recall": round(hits / max(int(truth.sum()), 1), 3),
            "precision": round(hits / max(int((flagged & ~ignore).sum()), 1), 3),
            "frames_flagged": int(flagged.sum()), "frames_planted": int(truth.sum())}


def tracks_of(pred: SynthPredictions, n: int) -> PoseTracks:
    return PoseTracks(pred.truth.frame_ids[:n], pred.points[:n], pred.scores[:n],
                      np.ones((n, 1), bool), np.ones(1, bool), ("instance",),
                      tuple(pred.labels.skeleton.node_names))


def timed(fn, *args, **kwargs) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - start, out


def spread(times: list[float], frames: int) -> dict:
    med = statistics.median(times)
    return {"seconds": [round(t, 3) for t in times], "median_s": round(med, 3),
            "min_s": round(min(times), 3), "max_s": round(max(times), 3),
            "frames_per_s": round(frames / med, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=100_000)
    parser.add_argument("--dlc-frames", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--full-series", action=argparse.BooleanOptionalAction, default=True,
                        help="time DeepLabCut's fit of one full-length series")
    parser.add_argument("--clip", type=Path, default=ROOT.parent / "shared/data/clip.slp")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/outlier_scoring.json")
    args = parser.parse_args()
    setup, pred = timed(make_data, args.clip, args.frames, args.seed)
    n, k = args.dlc_frames, pred.points.shape[2]
    st = OutlierSettings()
    full_tracks = tracks_of(pred, args.frames)
    tracks_of(pred, n)
    small_labels = plant_failures(pred.points[:n], pred.labels.skeleton,
                                  FailureSpec(jumps=0, low_scores=0, drifts=0, swaps=0,
                                              noise_px=0.0, seed=0)).labels
    for lf, sc in zip(small_labels.labeled_frames, pred.scores[:n], strict=True):
        lf.instances[0].points["score"] = sc[0]
    times: dict[str, list[float]] = {key: [] for key in
                                     ("posekit_full", "posekit_criteria_full",
                                      "posekit_small", "dlc_small")}
    found = {}
    for rep in range(args.repeats):
        t, res = timed(find_outliers, pred.labels, st)
        times["posekit_full"].append(t)
        times["posekit_criteria_full"].append(timed(score_points, full_tracks, st.criteria)[0])
        t, small = timed(find_outliers, small_labels, st)
        times["posekit_small"].append(t)
        with threadpool_limits(limits=1, user_api="blas"):
            t, dlc = timed(dlc_algorithm, pred.points[:n, 0], pred.scores[:n, 0])
        times["dlc_small"].append(t)
        print(f"repeat {rep + 1}: " + ", ".join(f"{k} {v[-1]:.1f} s" for k, v in times.items()),
              flush=True)
        found = {"posekit": small, "posekit_full": res, "dlc": dlc}
    small_flags = found["posekit"].fired.any(axis=1)
    dlc_any = np.logical_or.reduce(list(found["dlc"].values()))
    full_flags = np.zeros(args.frames, bool)
    full_flags[found["posekit_full"].frame[found["posekit_full"].fired.any(axis=1)]] = True
    dlc_med = statistics.median(times["dlc_small"])
    with threadpool_limits(limits=1, user_api="blas"):
        series_s = one_series(pred.points[:, 0, 0, 0]) if args.full_series else None
    report = {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "processor": platform.processor() or platform.machine(),
                    "python": platform.python_version()},
        "data": {"source": f"{args.clip} (female track, x 1/3, mirrored)",
                 "frames": args.frames, "nodes": k, "animals": 1, "setup_s": round(setup, 1),
                 "planted_events": len(pred.truth.events), "dlc_frames": n},
        "settings": st.to_dict(),
        "posekit_find_outliers_100k": spread(times["posekit_full"], args.frames),
        "posekit_criteria_only_100k": spread(times["posekit_criteria_full"], args.frames),
        "posekit_find_outliers_dlc_frames": spread(times["posekit_small"], n),
        "dlc_algorithm_dlc_frames": spread(times["dlc_small"], n),
        "ratio_dlc_over_posekit_same_frames": {
            "median": round(dlc_med / statistics.median(times["posekit_small"]), 1),
            "worst_case": round(min(times["dlc_small"]) / max(times["posekit_small"]), 1)},
        "dlc_linear_extrapolation_to_all_frames_s": round(dlc_med * args.frames / n, 0),
        "dlc_one_full_length_series_s": None if series_s is None else round(series_s, 1),
        "dlc_all_frames_estimate_s": None if series_s is None else round(series_s * 2 * k, 0),
        "accuracy_dlc_frames": {
            "posekit_all_criteria": accuracy(small_flags, pred, slice(0, n)),
            "dlc_union_of_criteria": accuracy(dlc_any, pred, slice(0, n)),
            **{f"dlc_{c}": accuracy(m, pred, slice(0, n)) for c, m in found["dlc"].items()}},
        "accuracy_100k_posekit": accuracy(full_flags, pred, slice(0, args.frames)),
        "notes": [("DeepLabCut's time on all frames: one full-length series timed once, "
                  f"times {2 * k} series (x and y of {k} nodes); the linear extrapolation "
                  f"from {n} frames is given beside it."),
                  ("posekit_find_outliers includes building arrays from sio.Labels, scoring, "
                  "ranking and choosing 20 frames by k-means on poses; criteria_only is "
                  "score_points on the arrays.")],
    }
    atomic_write_text(args.out, json.dumps(report, indent=1) + "\n")
    print(json.dumps({k: report[k] for k in report if k.startswith(("posekit", "dlc", "ratio"))},
                     indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
