"""Peak memory and speed of `posekit track` over batch sizes, precisions and video lengths.

Runs the command as a user would (a fresh process each time, under GNU time) on a trained run
folder and a real video, and writes one JSON file: frames/s and peak resident memory per
setting, plus the checks the single-animal issue asks for (memory at most 0.5 GB whatever the
video length, a larger batch never slower per frame).

    .venv/bin/python benchmarks/inference_memory.py --run benchmarks/results/work/posekit/models/bench
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from posekit.utils import atomic_write_text

ROOT = Path(__file__).resolve().parents[1]


def track(posekit: Path, video: Path, run: Path, frames: str, batch: int, precision: str) -> dict:
    """One `posekit track` process: frames/s as it reports them and peak RSS."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = ["/usr/bin/time", "-v", str(posekit), "track", str(video), "-m", str(run),
               "-o", str(Path(tmp) / "out.slp"), "--frames", frames,
               "--batch-size", str(batch), "--precision", precision]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    text = proc.stdout + proc.stderr
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{text[-2000:]}")
    fps = re.search(r"predicted (\d+) frames .* in ([\d.]+) s: ([\d.]+) frames/s \[(\w+)\]", text)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    return {"frames": int(fps.group(1)) if fps else None,
            "seconds": float(fps.group(2)) if fps else None,
            "frames_per_s": float(fps.group(3)) if fps else None,
            "backend": fps.group(4) if fps else None,
            "peak_rss_mb": round(int(rss.group(1)) / 1024, 1) if rss else None}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", type=Path, required=True, help="trained run folder")
    parser.add_argument("--video", type=Path, default=ROOT.parent / "shared/data/clip.mp4")
    parser.add_argument("--frames", default="0-299")
    parser.add_argument("--long-frames", default="0-1499")
    parser.add_argument("--batch-sizes", default="1,2,4,8,16")
    parser.add_argument("--out", type=Path,
                        default=ROOT / "benchmarks/results/inference_memory.json")
    args = parser.parse_args()
    posekit = Path(sys.executable).with_name("posekit")
    report: dict = {"created": datetime.now(UTC).isoformat(timespec="seconds"),
                    "run": str(args.run), "video": str(args.video), "frames": args.frames,
                    "by_batch": {}, "long": {}}
    batches = [int(b) for b in args.batch_sizes.split(",")]
    for precision in ("fp32", "int8"):
        for b in batches:
            print(f"{precision} batch {b}", flush=True)
            report["by_batch"][f"{precision}_b{b}"] = track(posekit, args.video, args.run,
                                                           args.frames, b, precision)
        report["long"][precision] = track(posekit, args.video, args.run, args.long_frames,
                                          max(batches), precision)
    rows = report["by_batch"]
    peak = max(r["peak_rss_mb"] for r in [*rows.values(), *report["long"].values()])
    checks = {"peak_rss_mb": peak, "memory_at_most_512_mb": peak <= 512}
    for precision in ("fp32", "int8"):
        fps = [rows[f"{precision}_b{b}"]["frames_per_s"] for b in batches]
        checks[f"{precision}_larger_batch_never_slower"] = all(
            later >= earlier * 0.95 for earlier, later in itertools.pairwise(fps))
        short = max(rows[f"{precision}_b{b}"]["peak_rss_mb"] for b in batches)
        checks[f"{precision}_memory_flat_with_length_mb"] = round(
            report["long"][precision]["peak_rss_mb"] - short, 1)
    report["checks"] = checks
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out, json.dumps(report, indent=1))
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
