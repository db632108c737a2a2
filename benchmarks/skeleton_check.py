"""Skeleton-consistent decoding against plain highest peaks, on trained time-to-accuracy runs.

Takes the work folder of a ``time_to_accuracy.py`` (or ``flies_time_to_accuracy.py``) run:
its finished ``posekit-auto*.<budget>s`` arms (one model, or a centroid and a centred-
instance model for top-down) and the sleap-nn arms' ``val_predictions.slp``; predicts the
held-out frames with each posekit arm twice (``posekit track --no-skeleton-check`` and
``--skeleton-check``) and scores both with the same code as the time-to-accuracy benchmark.
For one animal per frame the sleap-nn predictions of the same budget are paired with them
(missing points counted; mean / median over the points every tool found); for the flies
the scores are the flies benchmark's (OKS mAP, matched instances, identity accuracy). No
training: it measures the decoder alone.

    .venv/bin/python benchmarks/skeleton_check.py --data synthetic
    .venv/bin/python benchmarks/skeleton_check.py --data reaching --work /path/to/work
    .venv/bin/python benchmarks/skeleton_check.py --data flies --work /path/to/flies/work

Writes ``benchmarks/results/skeleton_check.<data>.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_vs_sleap_nn import evaluate, log, paired_accuracy
from flies_time_to_accuracy import score_flies

POSEKIT = Path(sys.executable).with_name("posekit")
FLAGS = {"plain": "--no-skeleton-check", "checked": "--skeleton-check"}


def validation_labels(work: Path) -> Path:
    """The held-out labels of a time-to-accuracy work folder (any dataset)."""
    for candidate in (*sorted(work.glob("openfield*/val.pkg.slp")), work / "synthetic" /
                      "val.pkg.slp", work / "reaching_val.pkg.slp", work / "flies_val.slp"):
        if candidate.is_file():
            return candidate
    raise SystemExit(f"{work}: no held-out labels (openfield*/val.pkg.slp, "
                     "synthetic/val.pkg.slp, reaching_val.pkg.slp or flies_val.slp); run "
                     "time_to_accuracy.py (or flies_time_to_accuracy.py) first")


def finished_arms(work: Path) -> list[Path]:
    """posekit arm folders whose every stage finished its budget (``budget.json``), by
    budget."""
    arms = [p for p in work.glob("posekit-auto*.*s") if (p / "models").is_dir()
            and all((stage / "budget.json").is_file() for stage in (p / "models").glob("stage*"))
            and any((p / "models").glob("stage*"))]
    return sorted(arms, key=lambda p: (int(p.name.rsplit(".", 1)[1][:-1]), p.name))


def predict(models: list[Path], val: Path, out: Path, flag: str) -> dict:
    """``posekit track`` on the held-out frames; its frames/s as it reports them."""
    args = [arg for run in models for arg in ("-m", str(run))]
    result = subprocess.run([str(POSEKIT), "track", str(val), *args, "-o", str(out), flag],
                            capture_output=True, text=True, check=True)
    rate = re.search(r"([\d.]+) frames/s", result.stdout)
    return {"predictions": str(out), "frames_per_s": float(rate.group(1)) if rate else None}


def arm_entry(arm: Path, val: Path, score=evaluate, pair: bool = True) -> dict:
    """Both decodings of one posekit arm and the sleap-nn arms of the same model type and
    budget."""
    models = sorted((arm / "models").glob("stage*"))
    entry: dict = {"models": [str(m) for m in models]}
    predictions = {}
    for name, flag in FLAGS.items():
        out = arm / f"val_predictions.{name}.slp"
        entry[name] = predict(models, val, out, flag)
        entry[name]["accuracy"] = score(val, out)
        predictions[f"posekit-{name}"] = out
    if not pair:
        return entry
    suffix = arm.name.removeprefix("posekit-auto")
    for other in sorted(arm.parent.glob(f"sleap-nn-*{suffix}/val_predictions.slp")):
        predictions[other.parent.name.removesuffix(suffix)] = other
    entry["paired"] = paired_accuracy(val, predictions)
    return entry


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", choices=("synthetic", "reaching", "flies"),
                        default="synthetic")
    parser.add_argument("--work", type=Path, default=None,
                        help="time_to_accuracy.py's work folder (default: its default)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    work = args.work or ROOT / "benchmarks" / "results" / f"work_tta_{args.data}"
    out = args.out or ROOT / "benchmarks" / "results" / f"skeleton_check.{args.data}.json"
    val = validation_labels(work)
    report = {"data": args.data, "validation": str(val), "machine": platform.processor() or
              platform.machine(), "date": time.strftime("%Y-%m-%d %H:%M"), "arms": {}}
    for arm in finished_arms(work):
        log(f"{arm.name}: predicting with and without the skeleton check")
        report["arms"][arm.name] = entry = arm_entry(
            arm, val, score_flies if args.data == "flies" else evaluate, args.data != "flies")
        for name in FLAGS:
            acc = entry[name]["accuracy"]
            log(f"  {name}: mean {acc['mean_px']:.2f} px, PCK@5px {acc['pck_5px']:.3f}, "
                f"mAP {acc['mAP']:.3f}")
    out.write_text(json.dumps(report, indent=1))
    log(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
