"""Skeleton-consistent decoding against plain highest peaks, on trained time-to-accuracy runs.

Takes the work folder of a ``time_to_accuracy.py`` run (its ``posekit-auto.<budget>s`` run
folders and the sleap-nn arms' ``val_predictions.slp``), predicts the held-out frames with
each posekit model twice (``posekit track --no-skeleton-check`` and ``--skeleton-check``)
and scores both, and sleap-nn's predictions of the same budget, with the same code as the
time-to-accuracy benchmark (missing points counted; mean / median over the points every
tool found). No training: it measures the decoder alone.

    .venv/bin/python benchmarks/skeleton_check.py --data synthetic
    .venv/bin/python benchmarks/skeleton_check.py --data reaching --work /path/to/work

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

POSEKIT = Path(sys.executable).with_name("posekit")
FLAGS = {"plain": "--no-skeleton-check", "checked": "--skeleton-check"}


def validation_labels(work: Path) -> Path:
    """The held-out labels of a time-to-accuracy work folder (either dataset)."""
    for candidate in (*sorted(work.glob("openfield*/val.pkg.slp")), work / "synthetic" /
                      "val.pkg.slp", work / "reaching_val.pkg.slp"):
        if candidate.is_file():
            return candidate
    raise SystemExit(f"{work}: no held-out labels (openfield*/val.pkg.slp, "
                     "synthetic/val.pkg.slp or reaching_val.pkg.slp); run "
                     "time_to_accuracy.py first")


def predict(run: Path, val: Path, out: Path, flag: str) -> dict:
    """``posekit track`` on the held-out frames; its frames/s as it reports them."""
    result = subprocess.run([str(POSEKIT), "track", str(val), "-m", str(run), "-o", str(out),
                             flag], capture_output=True, text=True, check=True)
    rate = re.search(r"([\d.]+) frames/s", result.stdout)
    return {"predictions": str(out), "frames_per_s": float(rate.group(1)) if rate else None}


def budget_arms(work: Path, budget: str, val: Path) -> dict:
    """Both decodings of ``posekit-auto.<budget>`` and the sleap-nn arms of that budget."""
    run = work / f"posekit-auto.{budget}" / "models" / "stage0"
    entry: dict = {"run": str(run)}
    predictions = {}
    for name, flag in FLAGS.items():
        out = work / f"posekit-auto.{budget}" / f"val_predictions.{name}.slp"
        entry[name] = predict(run, val, out, flag)
        entry[name]["accuracy"] = evaluate(val, out)
        predictions[f"posekit-{name}"] = out
    for other in sorted(work.glob(f"sleap-nn-*.{budget}/val_predictions.slp")):
        predictions[other.parent.name.rsplit(".", 1)[0]] = other
    entry["paired"] = paired_accuracy(val, predictions)
    return entry


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", choices=("synthetic", "reaching"), default="synthetic")
    parser.add_argument("--work", type=Path, default=None,
                        help="time_to_accuracy.py's work folder (default: its default)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    work = args.work or ROOT / "benchmarks" / "results" / f"work_tta_{args.data}"
    out = args.out or ROOT / "benchmarks" / "results" / f"skeleton_check.{args.data}.json"
    val = validation_labels(work)
    budgets = sorted((p.name.split(".", 1)[1] for p in work.glob("posekit-auto.*s")
                      if (p / "models" / "stage0" / "budget.json").is_file()),  # finished
                     key=lambda b: int(b[:-1]))
    report = {"data": args.data, "validation": str(val), "machine": platform.processor() or
              platform.machine(), "date": time.strftime("%Y-%m-%d %H:%M"), "budgets": {}}
    for budget in budgets:
        log(f"posekit-auto.{budget}: predicting with and without the skeleton check")
        report["budgets"][budget] = budget_arms(work, budget, val)
        for name in FLAGS:
            acc = report["budgets"][budget][name]["accuracy"]
            log(f"  {name}: mean {acc['mean_px']:.2f} px, PCK@5px {acc['pck_5px']:.3f}")
    out.write_text(json.dumps(report, indent=1))
    log(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
