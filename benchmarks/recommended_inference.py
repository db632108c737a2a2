"""Inference speed of the recommended models: posekit auto's against sleap-nn's generator's.

Takes the models ``benchmarks/time_to_accuracy.py`` trained at one budget (the
``posekit-auto`` run and the ``sleap-nn-auto`` run: each tool's recommendation for the
data) and has each tool predict the same video frames with its own model, taking turns,
``--repeats`` times. Reports frames/s (median and spread), peak memory, the ratio, and the
validation accuracy each model reached in the time-to-accuracy run (so speed is read next
to accuracy).

    .venv/bin/python benchmarks/recommended_inference.py --budget 900 --frames 0-299

Writes ``benchmarks/results/recommended_inference.reaching.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_vs_sleap_nn import bench_inference, ensure_sleap_nn, log
from time_to_accuracy import DATA, POSEKIT, run_logged


def sleap_nn_model(run: dict, folder: Path, exe: Path) -> tuple[Path, bool]:
    """The sleap-nn-auto model of the time-to-accuracy run; when that run ended without a
    checkpoint, the same configuration trained for one step (for speed only: the
    architecture, not the weights, sets the inference time)."""
    stage = folder.parent / f"{run['arm']}.{int(run['budget_s'])}s" / "models" / "stage0"
    if (stage / "best.ckpt").is_file():
        return stage, False
    config = yaml.safe_load((stage / "initial_config.yaml").read_text())
    tc = config["trainer_config"]
    tc.update(max_epochs=1, train_steps_per_epoch=1, min_train_steps_per_epoch=1,
              ckpt_dir=str(folder / "models"), run_name="sleap_nn_speed_only")
    path = folder / "sleap_nn_speed_only.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    log("sleap-nn-auto has no checkpoint at this budget: one training step for a speed-only model")
    run_logged([str(exe), "train", "--config-name", path.name, "--config-dir", str(folder)],
               folder, folder / "sleap_nn_speed_only.log")
    return folder / "models" / "sleap_nn_speed_only", True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--results", type=Path,
                        default=ROOT / "benchmarks" / "results" / "time_to_accuracy.reaching.json")
    parser.add_argument("--budget", type=float, default=900.0, help="seconds, as in the results")
    parser.add_argument("--video", type=Path, default=DATA / "clip.mp4")
    parser.add_argument("--frames", default="0-299")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sleap-nn-venv", type=Path, default=Path("/tmp/snvenv"))
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" /
                        "recommended_inference.reaching.json")
    args = parser.parse_args()
    runs = {r["arm"]: r for r in json.loads(args.results.read_text())["results"]
            if r["budget_s"] == args.budget}
    pk_run = Path(runs["posekit-auto"]["predictions"]).parent / "models" / "stage0"
    exe = ensure_sleap_nn(args.sleap_nn_venv)
    folder = pk_run.parents[2] / "recommended_inference"
    folder.mkdir(exist_ok=True)
    sn_run, speed_only = sleap_nn_model(runs["sleap-nn-auto"], folder, exe)
    tools = {"posekit": (POSEKIT, pk_run), "sleap-nn": (exe, sn_run)}
    timings: dict[str, list[dict]] = {tool: [] for tool in tools}
    for i in range(args.repeats):
        for tool, (exe, run) in tools.items():  # the tools take turns
            log(f"{tool}: predicting {args.video.name} frames {args.frames} (repeat {i + 1})")
            timings[tool].append(bench_inference(tool, exe, folder, run, args.video,
                                                 args.frames, args.batch,
                                                 f"{tool}_{i}.slp"))
    summary = {}
    for tool, rows in timings.items():
        fps = [r["frames_per_s"] for r in rows]
        summary[tool] = {"frames_per_s_median": statistics.median(fps),
                         "frames_per_s": fps,
                         "peak_rss_mb": max(r["peak_rss_mb"] or 0 for r in rows),
                         "model": str(tools[tool][1]),
                         "validation": runs["posekit-auto" if tool == "posekit"
                                            else "sleap-nn-auto"].get("paired"),
                         "speed_only_model": tool == "sleap-nn" and speed_only}
    ratios = [p["frames_per_s"] / s["frames_per_s"]
              for p, s in zip(timings["posekit"], timings["sleap-nn"], strict=True)]
    report = {"created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "budget_s": args.budget, "video": str(args.video), "frames": args.frames,
              "batch": args.batch, "tools": summary,
              "speed_ratio_per_turn": ratios, "speed_ratio_median": statistics.median(ratios)}
    args.out.write_text(json.dumps(report, indent=1))
    log(f"posekit / sleap-nn frames/s: {[round(r, 2) for r in ratios]}; wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
