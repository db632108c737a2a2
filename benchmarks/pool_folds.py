"""Pool the cross-validation folds of ``time_to_accuracy.py --fold K/N`` into one comparison.

Each fold's run scores two arms (e.g. ``posekit-auto`` and ``sleap-nn-sample``) at one budget
on that fold's held-out frames. This script puts the folds' points together and compares the
arms on the points both found:

* the ratio of mean errors (``arm`` over ``against``) on the pooled common points, with a
  95 % bootstrap interval that resamples held-out *frames* (a frame's points share its
  image, so they are not independent) and the Wilcoxon signed-rank p-value;
* each arm's pooled accuracy with missing points counted (found, mean, median, p90, PCK),
  and its found points and PCK over every fold from the folds' summaries;
* the per-fold ratios beside the pooled one.

Per-point errors come from the fold's JSON (written by ``time_to_accuracy.py`` since it keeps
them) or, for an older JSON, are recomputed from its prediction files when they still exist.
A fold with neither enters only the summary-level ratio (each fold's common-point means
weighted by its number of common points, counted from the per-point errors where they exist;
where an older JSON has neither the errors nor that number it is bounded by the two arms'
``found`` counts and both bounds are reported).

    .venv/bin/python benchmarks/pool_folds.py benchmarks/results/time_to_accuracy.reaching.fold*of3.json \\
        --out benchmarks/results/time_to_accuracy.reaching.folds.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_vs_sleap_nn import paired_accuracy
from pretrained_encoder import pooled


def fold_points(report: dict, arms: tuple[str, str], budget_s: float) -> dict:
    """One fold's two arms at ``budget_s``: summary numbers, and per-point errors and frame
    names where the JSON or the prediction files still give them."""
    rows = {r["arm"]: r for r in report["results"]
            if r["arm"] in arms and r["budget_s"] == budget_s and not r.get("discarded")}
    missing = [arm for arm in arms if arm not in rows or not rows[arm].get("paired")]
    if missing:
        raise SystemExit(f"no scored result for {', '.join(missing)} at {budget_s:g} s")
    paired = {arm: rows[arm]["paired"] for arm in arms}
    fold = {"summary": paired}
    if all("errors" in p for p in paired.values()):
        fold["errors"] = {arm: p["errors"] for arm, p in paired.items()}
        fold["frames"] = paired[arms[0]]["point_frames"]
        return fold
    truth = Path(report["split"][1])
    predictions = {arm: Path(rows[arm]["predictions"]) for arm in arms}
    if truth.is_file() and all(p.is_file() for p in predictions.values()):
        again = paired_accuracy(truth, predictions, keep_errors=True)
        fold["errors"] = {arm: again[arm]["errors"] for arm in arms}
        fold["frames"] = again["point_frames"]
    return fold


def common_count_bounds(fold: dict, arms: tuple[str, str]) -> tuple[int, int]:
    """How many points both arms found: counted from the per-point errors, else stored in
    the summary, else bounded by the two ``found`` counts."""
    if "errors" in fold:
        found = [np.array([e is not None and np.isfinite(e) for e in fold["errors"][arm]])
                 for arm in arms]
        both = int((found[0] & found[1]).sum())
        return both, both
    summary = fold["summary"]
    first = summary[arms[0]]
    if "common_points" in first:
        return first["common_points"], first["common_points"]
    found = [summary[arm]["found"] for arm in arms]
    return max(0, sum(found) - first["gt_points"]), min(found)


def summary_ratio(folds: list[dict], arms: tuple[str, str]) -> list[float]:
    """Ratio of pooled common-point means from each fold's summary, at the low and high
    bound of the folds' common-point counts (a fold where the arms share no point adds
    nothing)."""
    folds = [f for f in folds if f["summary"][arms[1]]["common_mean_px"] is not None]
    out = []
    for pick in (0, 1):
        weights = [common_count_bounds(f, arms)[pick] for f in folds]
        means = [[f["summary"][arm]["common_mean_px"] for f in folds] for arm in arms]
        out.append(float(np.dot(weights, means[0]) / np.dot(weights, means[1])))
    return out


def summary_pooled(folds: list[dict], arm: str) -> dict:
    """One arm's found points and PCK over every fold, from the folds' summaries (exact:
    each fold's PCK weighted by its number of labelled points)."""
    rows = [f["summary"][arm] for f in folds]
    points = sum(r["gt_points"] for r in rows)
    return {"arm": arm, "points": points, "found": sum(r["found"] for r in rows),
            **{key: sum(r[key] * r["gt_points"] for r in rows) / points
               for key in ("pck_5px", "pck_10px")}}


def paired_by_frame(a: np.ndarray, b: np.ndarray, frames: list[str],
                    draws: int = 5000) -> dict:
    """``a`` against ``b`` on the points both found: ratio of means, 95 % interval from
    resampling the frames that hold such points, Wilcoxon signed-rank p-value."""
    from scipy.stats import wilcoxon

    both = np.isfinite(a) & np.isfinite(b)
    names = sorted({name for name, common in zip(frames, both, strict=True) if common})
    members = [np.flatnonzero(both & (np.asarray(frames) == name)) for name in names]
    rng = np.random.default_rng(0)
    ratios = []
    for _ in range(draws):
        picked = np.concatenate([members[i] for i in rng.integers(0, len(names), len(names))])
        ratios.append(a[picked].mean() / b[picked].mean())
    return {"common_points": int(both.sum()), "frames": len(names),
            "ratio_of_means": float(a[both].mean() / b[both].mean()),
            "ratio_of_medians": float(np.median(a[both]) / np.median(b[both])),
            "bootstrap_95_by_frame": [float(v) for v in np.percentile(ratios, [2.5, 97.5])],
            "wilcoxon_p": float(wilcoxon(a[both], b[both]).pvalue)}


def pool(paths: list[Path], arms: tuple[str, str], budget_s: float) -> dict:
    """The pooled comparison of ``arms`` over the fold JSONs in ``paths``."""
    folds = [fold_points(json.loads(p.read_text()), arms, budget_s) for p in paths]
    per_fold = []
    for path, fold in zip(paths, folds, strict=True):
        s = fold["summary"]
        per_fold.append({"file": path.name, "points": s[arms[0]]["gt_points"],
                         "common_points": list(common_count_bounds(fold, arms)),
                         "per_point_errors": "errors" in fold,
                         **{f"{arm}_common_mean_px": s[arm]["common_mean_px"] for arm in arms},
                         "ratio": (s[arms[0]]["common_mean_px"] / s[arms[1]]["common_mean_px"]
                                   if s[arms[1]]["common_mean_px"] else None)})
    out = {"arm": arms[0], "against": arms[1], "budget_s": budget_s, "folds": per_fold,
           "summary_pooled": [summary_pooled(folds, arm) for arm in arms],
           "summary_ratio_bounds": summary_ratio(folds, arms)}
    with_points = [(i, f) for i, f in enumerate(folds) if "errors" in f]
    if with_points:
        errors = {arm: np.array([np.nan if e is None else e for _, f in with_points
                                 for e in f["errors"][arm]]) for arm in arms}
        frames = [f"{i}/{name}" for i, f in with_points for name in f["frames"]]
        out["pooled_folds"] = [paths[i].name for i, _ in with_points]
        out["pooled"] = [pooled([{"arm": arm, "point_errors": f["errors"][arm]}
                                 for _, f in with_points], arm) for arm in arms]
        out["paired"] = paired_by_frame(errors[arms[0]], errors[arms[1]], frames)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folds", type=Path, nargs="+", help="time_to_accuracy fold JSONs")
    parser.add_argument("--arm", default="posekit-auto")
    parser.add_argument("--against", default="sleap-nn-sample")
    parser.add_argument("--budget", type=float, default=30.0, help="CPU minutes")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    report = pool(args.folds, (args.arm, args.against), args.budget * 60)
    report["created"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    args.out.write_text(json.dumps(report, indent=1))
    print(json.dumps({k: v for k, v in report.items() if k != "folds"}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
