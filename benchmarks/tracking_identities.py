"""Tracking identities: posekit's tracker with the old and the new defaults, same detections.

Data:

* ``clip.slp`` (``../shared/data``): 1,500 frames of two flies with their true poses and
  identities. Detections are the true poses with Gaussian noise on every node (3, 6 and
  9 px), 20 % of them dropped at random and each frame's order shuffled (exactly
  ``tests/conftest.py::degraded_detections``), seeds 0-2.
* Synthetic videos (``posekit.io.synthetic.render``): two mice, 400 frames, 160 × 160
  px, degraded the same way at 2, 4 and 6 px (the animals are ~4× smaller than the flies).

Each configuration tracks the same detections with ``Tracker`` then ``cleanup_tracks``
(the post-pass ``posekit track --tracking`` applies). Scores: ID switches,
fragmentations and MOTA from posekit's identity metrics (``posekit.evaluation``); IDF1
(2 · IDTP / (true instances + tracked detections), with the best one-to-one track
mapping over the whole video) from the known identity of each detection; tracks used.

    .venv/bin/python benchmarks/tracking_identities.py        # ~20 s on 2 cores
    # with sleap-nn 0.3.5's tracker (its defaults: OKS, window 5, Hungarian) side by side,
    # from the unpacked wheel (its tracker needs only packages posekit's venv has):
    mkdir -p /tmp/sleap-nn-0.3.5 && pip download --no-deps sleap-nn==0.3.5 -d /tmp/dl \
        && unzip -q /tmp/dl/sleap_nn-0.3.5-py3-none-any.whl -d /tmp/sleap-nn-0.3.5
    .venv/bin/python benchmarks/tracking_identities.py --sleap-nn /tmp/sleap-nn-0.3.5

sleap-nn runs in a child process with the unpacked wheel first on its ``PYTHONPATH``;
nothing is installed into posekit's environment. It gets the same detections (as
``sio.PredictedInstance``, score 1) and no post-pass (it has none by default).
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

from posekit.evaluation import evaluate_arrays
from posekit.tracking import Tracker, TrackingConfig, cleanup_tracks

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared" / "data"

OLD_DEFAULTS = {"window": 5, "oks_sigma": 0.025, "merge_max_gap": 0, "max_gap": 0,
                "min_track_length": 1, "motion_tolerance": 0.0}
CONFIGS = {"before (old defaults)": OLD_DEFAULTS, "after (new defaults)": {}}


def degrade(points: list[np.ndarray], tracks: list[np.ndarray], noise_px: float, drop: float,
            seed: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """``tests/conftest.py::degraded_detections`` (same random draws), also returning the
    true identity of every kept detection."""
    rng = np.random.default_rng(seed)
    out, labels = [], []
    for pts, trk in zip(points, tracks, strict=True):
        noisy = np.asarray(pts, np.float64) + rng.normal(0.0, noise_px, np.shape(pts))
        order = rng.permutation(len(noisy))
        keep = rng.random(len(noisy)) >= drop
        out.append(noisy[order][keep[order]].astype(np.float32))
        labels.append(np.asarray(trk)[order][keep[order]])
    return out, labels


def idf1(true_ids: list[np.ndarray], pred_ids: list[np.ndarray], n_true: int) -> float:
    """IDF1 with the best one-to-one mapping of predicted to true tracks."""
    t = np.concatenate(true_ids)
    p = np.concatenate(pred_ids)
    sel = p >= 0
    if not sel.any():
        return 0.0
    _, ti = np.unique(t[sel], return_inverse=True)
    _, pi = np.unique(p[sel], return_inverse=True)
    counts = np.zeros((ti.max() + 1, pi.max() + 1))
    np.add.at(counts, (ti, pi), 1)
    rows, cols = linear_sum_assignment(-counts)
    return float(2 * counts[rows, cols].sum() / (n_true + sel.sum()))


def fragments(true_ids: list[np.ndarray], pred_ids: list[np.ndarray]) -> int:
    """Track pieces per animal, summed: distinct predicted tracks each true animal's
    detections were given (2 animals held by 2 tracks: 2)."""
    t = np.concatenate(true_ids)
    p = np.concatenate(pred_ids)
    return int(sum(len(np.unique(p[(t == a) & (p >= 0)])) for a in np.unique(t)))


def score(truth: dict, dets: list[np.ndarray], labels: list[np.ndarray],
          cfg: TrackingConfig | Path) -> dict:
    """Track (posekit: then clean up; a path: sleap-nn from there) and score."""
    t0 = time.perf_counter()
    if isinstance(cfg, Path):
        ids = sleap_nn_track(dets, truth["frame_idx"], cfg)
    else:
        ids = Tracker(cfg).track_video(
            (f, p, None, None) for f, p in zip(truth["frame_idx"], dets, strict=True))
        ids, _ = cleanup_tracks(truth["frame_idx"], dets, ids, cfg)
    seconds = time.perf_counter() - t0
    n_ids = max((int(i.max()) + 1 for i in ids if len(i)), default=0)
    ident = evaluate_arrays(
        truth["points"], dets, gt_tracks=truth["tracks"], pred_tracks=ids,
        gt_track_names=truth["names"], pred_track_names=[f"track_{i}" for i in range(n_ids)],
        frame_indices=truth["frame_idx"]).identity
    flat = np.concatenate(ids)
    return {"tracks": len(np.unique(flat[flat >= 0])), "id_switches": ident.id_switches,
            "fragmentations": ident.fragmentations, "fragments": fragments(labels, ids),
            "mota": round(float(ident.mota), 4),
            "idf1": round(idf1(labels, ids, sum(len(p) for p in truth["points"])), 4),
            "seconds": round(seconds, 3)}


def sleap_nn_track(dets: list[np.ndarray], frame_idx: list[int], path: Path) -> list[np.ndarray]:
    """sleap-nn's tracker with its defaults on ``dets`` (child process, see above)."""
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "in.pkl", Path(tmp) / "out.pkl"
        src.write_bytes(pickle.dumps((frame_idx, dets)))
        env = dict(os.environ, PYTHONPATH=str(path))
        subprocess.run([sys.executable, __file__, "--worker", str(src), str(dst)], env=env,
                       check=True, capture_output=True)
        return pickle.loads(dst.read_bytes())


def sleap_nn_worker(src: Path, dst: Path) -> None:
    """Child process: track the pickled detections with sleap-nn's default tracker."""
    import sleap_io as sio
    from sleap_nn.tracking.tracker import Tracker as SleapTracker

    frame_idx, dets = pickle.loads(src.read_bytes())
    n_nodes = dets[0].shape[1] if dets else 0
    skeleton = sio.Skeleton([f"n{i}" for i in range(n_nodes)])
    tracker = SleapTracker.from_config()
    names: dict[str, int] = {}
    out = []
    for f, pts in zip(frame_idx, dets, strict=True):
        insts = [sio.PredictedInstance.from_numpy(
            points_data=p.astype(np.float64), skeleton=skeleton,
            point_scores=np.ones(n_nodes), score=1.0) for p in pts]
        tracked = tracker.track(insts, f) if insts else []
        ids = [names.setdefault(i.track.name, len(names)) if i.track is not None else -1
               for i in tracked]
        out.append(np.asarray(ids, np.int64))
    dst.write_bytes(pickle.dumps(out))


def clip_truth() -> dict:
    """True poses and identities of ``clip.slp``."""
    import sleap_io as sio

    labels = sio.load_slp(SHARED / "clip.slp", open_videos=False)
    names = [t.name for t in labels.tracks]
    frames = sorted(labels.labeled_frames, key=lambda lf: lf.frame_idx)
    return {"names": names, "frame_idx": [lf.frame_idx for lf in frames],
            "points": [np.stack([i.numpy() for i in lf.instances]) for lf in frames],
            "tracks": [np.array([names.index(i.track.name) for i in lf.instances])
                       for lf in frames]}


def synthetic_truth(seed: int, n_frames: int = 400) -> dict:
    """Two synthetic mice (true poses, hidden nodes included) with their identities."""
    from posekit.io.synthetic import SynthSpec, render

    res = render(SynthSpec(n_frames=n_frames, n_animals=2, seed=seed, occluders=0))
    pts = res.true_points.astype(np.float64)
    return {"names": ["0", "1"], "frame_idx": list(range(n_frames)),
            "points": [p for p in pts], "tracks": [np.arange(2)] * n_frames}


def run_dataset(name: str, truth: dict, noises: list[float], seeds: list[int],
                configs: dict[str, dict | Path]) -> dict:
    """Every configuration at every noise level, summed / averaged over the seeds."""
    out: dict = {}
    for noise in noises:
        dets = [degrade(truth["points"], truth["tracks"], noise, 0.2, s) for s in seeds]
        for label, overrides in configs.items():
            cfg = overrides if isinstance(overrides, Path) else TrackingConfig(**overrides)
            runs = [score(truth, d, lab, cfg) for d, lab in dets]
            row = {k: sum(r[k] for r in runs) for k in ("id_switches", "fragmentations", "fragments")}
            row |= {k: round(float(np.mean([r[k] for r in runs])), 4)
                    for k in ("tracks", "mota", "idf1", "seconds")}
            row["per_seed"] = runs
            out.setdefault(f"noise_{noise:g}px", {})[label] = row
            print(name, noise, label, {k: v for k, v in row.items() if k != "per_seed"},
                  flush=True)
    return out


def main() -> None:
    """Run the benchmark and write the JSON report."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--out", type=Path, default=HERE / "results" / "tracking_identities.json")
    ap.add_argument("--sleap-nn", type=Path, default=None,
                    help="folder of the unpacked sleap-nn 0.3.5 wheel (omit: posekit only)")
    ap.add_argument("--worker", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        sleap_nn_worker(*args.worker)
        return
    seeds = list(range(args.seeds))
    configs: dict[str, dict | Path] = dict(CONFIGS)
    if args.sleap_nn is not None:
        configs["sleap-nn 0.3.5 (its defaults)"] = args.sleap_nn.resolve()
    report: dict = {
        "machine": {"python": platform.python_version(), "cpu": platform.processor()},
        "date": time.strftime("%Y-%m-%d"),
        "detections": "true poses + Gaussian noise on every node, 20% dropped, shuffled",
        "sums_over_seeds": ["id_switches", "fragmentations", "fragments"],
        "fragmentations": "posekit's CLEAR-MOT count: every interruption of a true track's "
                          "coverage, so the 20% dropped detections alone give a floor",
        "fragments": "distinct tracks given to each animal's detections, summed over "
                     "animals (2 = each animal kept one track)",
        "means_over_seeds": ["tracks", "mota", "idf1", "seconds"],
        "seeds": seeds,
        "configs": {k: TrackingConfig(**v).to_dict() for k, v in CONFIGS.items()},
        "sleap_nn": ("Tracker.from_config() defaults (OKS, window 5, Hungarian), same "
                     "detections, no post-pass" if args.sleap_nn else "not run"),
    }
    report["clip_slp"] = run_dataset("clip", clip_truth(), [3.0, 6.0, 9.0], seeds, configs)
    synth = {}
    for s in seeds:
        truth = synthetic_truth(100 + s)
        synth[f"video_seed_{100 + s}"] = run_dataset("synthetic", truth, [2.0, 4.0, 6.0], [s],
                                                     configs)
    report["synthetic"] = synth
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1))
    print("wrote", args.out)


if __name__ == "__main__":
    main()
