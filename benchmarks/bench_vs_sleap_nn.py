"""posekit vs sleap-nn on the same CPU, the same YAML file and the same data split.

Trains the single-instance reaching model (the config sleap-nn users hand to `sleap-nn train`,
from ../shared/data/sleap_nn_configs/) with both tools from one identical YAML file, scores
both models with the same evaluation code on the same validation frames, then times both
tools predicting a real video. Writes one JSON file with every number and the ratios.

sleap-nn is installed in its own throw-away virtual environment (never a dependency of
posekit). Run from the repository root:

    .venv/bin/python benchmarks/bench_vs_sleap_nn.py --out benchmarks/results/vs_sleap_nn.json
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import yaml

from posekit.utils import atomic_write_text

ROOT = Path(__file__).resolve().parents[1]
SLEAP_NN_VERSION = "0.3.5"
TORCH_PINS = ("torch==2.14.1", "torchvision==0.29.1")


def log(msg: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {msg}", flush=True)


def ensure_sleap_nn(venv: Path) -> Path:
    """A virtual environment with sleap-nn (created on first use)."""
    exe = venv / "bin" / "sleap-nn"
    if exe.is_file():
        return exe
    log(f"creating sleap-nn {SLEAP_NN_VERSION} environment in {venv}")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", f"sleap-nn=={SLEAP_NN_VERSION}",
                    *TORCH_PINS], check=True)
    return exe


def timed(cmd: list[str], cwd: Path, log_path: Path) -> dict:
    """Run a command under GNU time; wall time and peak RSS of the process."""
    start = time.perf_counter()
    with open(log_path, "w") as fh:
        proc = subprocess.run(["/usr/bin/time", "-v", *cmd], check=False, cwd=cwd, stdout=fh,
                              stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    wall = time.perf_counter() - start
    text = log_path.read_text(errors="replace")
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed (exit {proc.returncode}); see {log_path}")
    return {"wall_s": wall, "peak_rss_mb": int(rss.group(1)) / 1024 if rss else None,
            "log": str(log_path)}


def make_split(data: Path, work: Path, seed: int) -> tuple[Path, Path]:
    """The same train/validation split of the reaching data for both tools."""
    from posekit.io.labels import load_labels
    from posekit.io.splits import split_labels
    from posekit.io.writers import save_labels

    train_path, val_path = work / "reaching_train.pkg.slp", work / "reaching_val.pkg.slp"
    if not (train_path.is_file() and val_path.is_file()):
        train, val = split_labels(load_labels(data / "reaching.pkg.slp"), 0.1, seed)
        save_labels(train, train_path, embed="auto")
        save_labels(val, val_path, embed="auto")
    return train_path, val_path


def write_config(data: Path, train: Path, val: Path, folder: Path, epochs: int, steps: int,
                 batch: int, lr: float) -> Path:
    """The user's sleap-nn config with this benchmark's data, length and output folder.

    ``max_height`` / ``max_width`` are set to the largest training frame so that both tools
    fit other videos' frames to the same input size (sleap-nn records these values in its
    run folder; posekit only uses them when the config states them).
    """
    cfg = yaml.safe_load((data / "sleap_nn_configs" /
                          "reaching_single_instance.initial_config.yaml").read_text())
    dc, tc = cfg["data_config"], cfg["trainer_config"]
    dc["train_labels_path"], dc["val_labels_path"] = [str(train)], [str(val)]
    dc["preprocessing"]["max_height"], dc["preprocessing"]["max_width"] = 747, 832
    tc["optimizer"]["lr"] = lr
    tc.update({"max_epochs": epochs, "train_steps_per_epoch": steps, "ckpt_dir": "models",
               "run_name": "bench", "trainer_accelerator": "cpu", "enable_progress_bar": False,
               "visualize_preds_during_training": False, "save_ckpt": True, "seed": 0})
    tc["train_data_loader"]["batch_size"] = batch
    tc["zmq"] = {"publish_port": None, "controller_port": None, "controller_polling_timeout": 10}
    tc["early_stopping"]["stop_training_on_plateau"] = False
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def epoch_train_times(run: Path, tool: str) -> list[float]:
    """Seconds spent in the training part of each epoch, from the tool's own log."""
    with open(run / "training_log.csv") as fh:
        rows = list(csv.DictReader(fh))
    key = "train_time_s" if tool == "posekit" else "train/time"
    return [float(r[key]) for r in rows if r.get(key) not in (None, "", "nan")]


def evaluate(truth: Path, predictions: Path) -> dict:
    from posekit.evaluation import evaluate as run_eval
    from posekit.io.labels import load_labels

    m = run_eval(load_labels(truth), load_labels(predictions))
    return {"mean_px": m.localization.mean_px, "rmse_px": m.localization.rmse_px,
            "median_px": m.localization.median_px, "mAP": m.oks.map,
            "pck_5px": m.pck.px.get(5.0), "matched": m.counts.matched,
            "gt_instances": m.counts.gt_instances}


def _points_by_frame(labels, gt_videos, names: list[str]) -> dict[tuple[int, int], np.ndarray]:
    """``(GT video index, frame index) -> (K, 2)`` points of the first instance of each frame."""
    from posekit.evaluation.labels import pair_videos

    to_gt = {p: g for g, (p, _) in pair_videos(gt_videos, labels.videos).items()}
    video_index = {id(v): i for i, v in enumerate(labels.videos)}
    out = {}
    for lf in labels.labeled_frames:
        insts = list(lf.user_instances) or list(lf.instances)
        g = to_gt.get(video_index[id(lf.video)])
        if not insts or g is None:
            continue
        order = [list(insts[0].skeleton.node_names).index(n) for n in names]
        out[(g, int(lf.frame_idx))] = insts[0].numpy()[order].astype(np.float64)
    return out


def paired_accuracy(truth: Path, predictions: dict[str, Path],
                    keep_errors: bool = False) -> dict:
    """Both tools scored on the same validation points.

    Each tool's own mean error covers only the points it found, which favours the tool that
    gives up on hard frames. Here every labelled point counts: ``found`` is how many each
    tool predicted, ``pck_*`` counts a missing point as wrong, and ``common_*`` compares the
    errors on exactly the points both tools found. With ``keep_errors`` each tool's entry
    also lists its error at every labelled point, in the same order for every tool (``None``
    where it found none), and ``point_frames`` names each point's frame (``video:frame``) so
    that pooled results can be resampled by frame.
    """
    from posekit.io.labels import load_labels

    gt = load_labels(truth)
    names = list(gt.skeletons[0].node_names)
    gt_points = _points_by_frame(gt, gt.videos, names)
    errors = {}
    for tool, path in predictions.items():
        found = _points_by_frame(load_labels(path), gt.videos, names)
        errors[tool] = np.concatenate([
            np.linalg.norm(found.get(key, np.full_like(pts, np.nan)) - pts, axis=1)[
                np.isfinite(pts).all(axis=1)] for key, pts in gt_points.items()])
    common = np.logical_and.reduce([np.isfinite(e) for e in errors.values()])
    report: dict = {"gt_points": int(common.size), "common_points": int(common.sum())}
    if keep_errors:
        report["point_frames"] = [f"{g}:{frame}" for (g, frame), pts in gt_points.items()
                                  for _ in range(int(np.isfinite(pts).all(axis=1).sum()))]
    for tool, err in errors.items():
        hit = np.where(np.isfinite(err), err, np.inf)
        report[tool] = {
            "found": int(np.isfinite(err).sum()),
            "pck_5px": float((hit <= 5).mean()) if err.size else None,
            "pck_10px": float((hit <= 10).mean()) if err.size else None,
            "common_mean_px": float(err[common].mean()) if common.any() else None,
            "common_median_px": float(np.median(err[common])) if common.any() else None,
        }
        if keep_errors:
            report[tool]["errors"] = [round(float(e), 4) if np.isfinite(e) else None
                                      for e in err]
    return report


def bench_training(tool: str, exe: Path, folder: Path, cfg: Path, samples_per_epoch: int) -> dict:
    log(f"training with {tool}")
    if tool == "posekit":
        cmd = [str(exe), "train", str(cfg)]
    else:
        cmd = [str(exe), "train", "--config-name", cfg.name, "--config-dir", str(cfg.parent)]
    result = timed(cmd, folder, folder / "train.log")
    run = folder / "models" / "bench"
    times = epoch_train_times(run, tool)
    steady = times[1:] if len(times) > 1 else times
    result["epoch_train_times_s"] = times
    result["samples_per_s"] = samples_per_epoch / (sum(steady) / len(steady)) if steady else None
    result["run"] = str(run)
    return result


def bench_inference(tool: str, exe: Path, folder: Path, run: Path, video: Path, frames: str,
                    batch: int, out_name: str, precision: str = "fp32") -> dict:
    """posekit runs its float graph unless ``precision`` says otherwise, so the main numbers
    compare like with like; the int8 graph is timed separately."""
    out = folder / out_name
    if tool == "posekit":
        cmd = [str(exe), "track", str(video), "-m", str(run), "-o", str(out),
               "--batch-size", str(batch), "--frames", frames, "--precision", precision]
    else:
        cmd = [str(exe), "track", "--data_path", str(video), "-m", str(run), "-o", str(out),
               "--batch_size", str(batch), "--frames", frames, "--device", "cpu"]
    result = timed(cmd, folder, folder / f"{out_name}.log")
    lo, hi = (int(v) for v in frames.split("-"))
    result["frames"] = hi - lo + 1
    result["frames_per_s"] = result["frames"] / result["wall_s"]
    result["output"] = str(out)
    return result


def bench_video_inference(tools: dict[str, tuple[Path, Path, Path]], video: Path,
                          args: argparse.Namespace) -> dict[str, dict]:
    """Frames/s and peak memory predicting the video at every batch size (posekit: float
    and int8 graphs), plus one longer run each for the memory check.

    ``tools``: ``{tool: (executable, work folder, run folder)}``. The tools take turns at
    each batch size, so a machine that speeds up or slows down during the benchmark affects
    both alike.
    """
    res: dict[str, dict] = {tool: {"inference": {}} for tool in tools}
    if "posekit" in res:
        res["posekit"]["inference_int8"] = {}
    for b in [int(v) for v in args.batch_sizes.split(",")]:
        for tool, (exe, folder, run) in tools.items():
            log(f"{tool}: predicting {video.name} frames {args.frames} at batch size {b}")
            res[tool]["inference"][f"batch_{b}"] = bench_inference(
                tool, exe, folder, run, video, args.frames, b, f"video_b{b}.slp")
            if tool == "posekit":
                log(f"posekit: int8 graph, batch size {b}")
                res[tool]["inference_int8"][f"batch_{b}"] = bench_inference(
                    tool, exe, folder, run, video, args.frames, b, f"video_int8_b{b}.slp", "int8")
    for tool, (exe, folder, run) in tools.items():
        log(f"{tool}: long run {args.long_frames} for memory")
        res[tool]["inference_long"] = bench_inference(tool, exe, folder, run, video,
                                                      args.long_frames, 8, "video_long.slp")
    return res


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a and b else None


def _by_batch(runs: dict) -> list[float]:
    return [runs[k]["frames_per_s"] for k in sorted(runs, key=lambda k: int(k.split("_")[1]))]


def summarize(pk: dict, sn: dict, paired: dict) -> tuple[dict, dict]:
    """Ratios posekit / sleap-nn and the issue's targets as true / false."""
    pa, sa = paired["posekit"], paired["sleap_nn"]
    ratios: dict = {
        "training_samples_per_s": _ratio(pk["training"]["samples_per_s"],
                                         sn["training"]["samples_per_s"]),
        "training_wall_time_speedup": _ratio(sn["training"]["wall_s"], pk["training"]["wall_s"]),
        "mean_px_error": {"posekit": pk["accuracy"]["mean_px"],
                          "posekit_int8": pk["accuracy_int8"]["mean_px"],
                          "sleap_nn": sn["accuracy"]["mean_px"]},
        "paired_mean_px_error": {"posekit": pa["common_mean_px"], "sleap_nn": sa["common_mean_px"],
                                 "points": paired["common_points"]},
    }
    checks: dict = {
        "train_2x": (ratios["training_samples_per_s"] or 0) >= 2.0,
        # on the points both tools found, posekit's error is at most 5 % above sleap-nn's, and
        # posekit found at least as many of the labelled points
        "accuracy_at_least_equal": pa["found"] >= sa["found"] and (
            pa["common_mean_px"] or 1e9) <= (sa["common_mean_px"] or 1e9) * 1.05,
    }
    if "inference" not in pk or "inference" not in sn:
        return ratios, checks
    pk_best = max(r["frames_per_s"] for r in pk["inference"].values())
    pk_int8_best = max(r["frames_per_s"] for r in pk["inference_int8"].values())
    sn_best = max(r["frames_per_s"] for r in sn["inference"].values())
    ratios.update({
        "inference_fps_best_vs_best": _ratio(pk_best, sn_best),
        "inference_fps_int8_vs_best": _ratio(pk_int8_best, sn_best),
        "inference_fps_same_batch": {k: _ratio(pk["inference"][k]["frames_per_s"],
                                               sn["inference"][k]["frames_per_s"])
                                     for k in pk["inference"] if k in sn["inference"]},
        "inference_fps_int8_same_batch": {k: _ratio(pk["inference_int8"][k]["frames_per_s"],
                                                    sn["inference"][k]["frames_per_s"])
                                          for k in pk["inference_int8"] if k in sn["inference"]},
        "inference_peak_rss_mb": {"posekit": pk["inference_long"]["peak_rss_mb"],
                                  "sleap_nn": sn["inference_long"]["peak_rss_mb"]},
    })
    pk_runs = [*pk["inference"].values(), *pk["inference_int8"].values(), pk["inference_long"]]
    checks.update({
        "predict_3x": (ratios["inference_fps_best_vs_best"] or 0) >= 3.0,
        "predict_3x_int8": (ratios["inference_fps_int8_vs_best"] or 0) >= 3.0,
        "inference_memory_under_0.5GB": all((r["peak_rss_mb"] or 1e9) <= 512 for r in pk_runs),
        # the 3x longer run (batch 8) needs no more memory than the 500-frame runs did
        "memory_flat_with_video_length": (pk["inference_long"]["peak_rss_mb"] or 1e9) <= max(
            r["peak_rss_mb"] or 0 for r in pk["inference"].values()) + 64,
        "larger_batch_never_slower_per_frame": all(
            b >= a * 0.95 for runs in (pk["inference"], pk["inference_int8"])
            for a, b in itertools.pairwise(_by_batch(runs))),
    })
    return ratios, checks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/vs_sleap_nn.json")
    parser.add_argument("--work", type=Path, default=ROOT / "benchmarks/results/work")
    parser.add_argument("--sleap-nn-venv", type=Path,
                        default=Path.home() / ".cache" / "posekit-bench" / f"sleap-nn-{SLEAP_NN_VERSION}")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--video", type=Path, default=None, help="default: shared clip.mp4")
    parser.add_argument("--frames", default="0-499", help="frame range for inference speed")
    parser.add_argument("--long-frames", default="0-1499", help="longer range (memory check)")
    parser.add_argument("--batch-sizes", default="1,4,8,16")
    parser.add_argument("--skip-inference", action="store_true",
                        help="train and score both tools only (a long accuracy run)")
    parser.add_argument("--reuse-sleap-nn", type=Path, default=None,
                        help="take sleap-nn's numbers from an earlier report of this script "
                             "(same settings) instead of running it again")
    parser.add_argument("--reuse-training", type=Path, default=None,
                        help="take both tools' trained models, training and accuracy numbers "
                             "from an earlier report of this script (same --work folder) and "
                             "measure inference again")
    args = parser.parse_args()

    data = args.data.resolve()
    video = (args.video or data / "clip.mp4").resolve()
    work = args.work.resolve()
    earlier = json.loads(args.reuse_sleap_nn.read_text()) if args.reuse_sleap_nn else None
    trained = json.loads(args.reuse_training.read_text()) if args.reuse_training else None
    if work.exists() and not trained:
        shutil.rmtree(work / "posekit" if earlier else work, ignore_errors=True)
    work.mkdir(parents=True, exist_ok=True)
    sleap_nn = ensure_sleap_nn(args.sleap_nn_venv)
    posekit = Path(sys.executable).with_name("posekit")
    train, val = make_split(data, work, seed=0)
    report: dict = {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                    "python": platform.python_version()},
        "settings": {"config": "sleap_nn_configs/reaching_single_instance.initial_config.yaml",
                     "epochs": args.epochs, "batch": args.batch, "lr": args.lr,
                     "train_frames": None, "video": str(video), "frames": args.frames},
        "posekit": {}, "sleap_nn": {},
    }
    from posekit.io.labels import load_labels

    n_train = len(load_labels(train).labeled_frames)
    report["settings"]["train_frames"] = n_train
    # One pass over the training frames per epoch: sleap-nn never trains more batches than
    # its data loader holds (train_steps_per_epoch above that is ignored), so both tools see
    # every training frame exactly once per epoch.
    steps = -(-n_train // args.batch)
    report["settings"]["steps_per_epoch"] = steps
    samples = {"posekit": steps * args.batch, "sleap_nn": n_train}  # per epoch
    if earlier:
        report["sleap_nn"] = earlier["sleap_nn"]
        report["sleap_nn_from"] = {"file": str(args.reuse_sleap_nn), "created": earlier["created"]}
    if trained:
        for tool in ("posekit", "sleap_nn"):
            report[tool] = {k: v for k, v in trained[tool].items()
                            if k in ("training", "accuracy", "accuracy_int8")}
        report["training_from"] = {"file": str(args.reuse_training),
                                   "created": trained["created"]}
    executables = {"posekit": posekit, "sleap_nn": sleap_nn}
    for tool, exe in executables.items():
        if (tool == "sleap_nn" and earlier) or trained:
            continue
        folder = work / tool
        cfg = write_config(data, train, val, folder, args.epochs, steps, args.batch, args.lr)
        res = report[tool]
        res["training"] = bench_training(tool, exe, folder, cfg, samples[tool])
        run = Path(res["training"]["run"])
        log(f"{tool}: predicting the validation frames")
        cmd_out = folder / "val_predictions.slp"
        if tool == "posekit":
            timed([str(exe), "track", str(val), "-m", str(run), "-o", str(cmd_out),
                   "--precision", "fp32"], folder, folder / "val_predict.log")
            int8_out = folder / "val_predictions_int8.slp"
            timed([str(exe), "track", str(val), "-m", str(run), "-o", str(int8_out),
                   "--precision", "int8"], folder, folder / "val_predict_int8.log")
            res["accuracy_int8"] = evaluate(val, int8_out)
        else:
            timed([str(exe), "track", "--data_path", str(val), "-m", str(run), "-o", str(cmd_out),
                   "--device", "cpu"], folder, folder / "val_predict.log")
        res["accuracy"] = {**evaluate(val, cmd_out), "predictions": str(cmd_out)}
    if not args.skip_inference:
        tools = {tool: (exe, work / tool, Path(report[tool]["training"]["run"]))
                 for tool, exe in executables.items() if not (tool == "sleap_nn" and earlier)}
        for tool, res in bench_video_inference(tools, video, args).items():
            report[tool].update(res)
    pk, sn = report["posekit"], report["sleap_nn"]
    report["paired_accuracy"] = paired_accuracy(val, {
        tool: Path(report[tool]["accuracy"].get("predictions",
                                                work / tool / "val_predictions.slp"))
        for tool in ("posekit", "sleap_nn")})
    report["ratios"], report["checks"] = summarize(pk, sn, report["paired_accuracy"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out, json.dumps(report, indent=1))
    log(f"wrote {args.out}")
    print(json.dumps({"ratios": report["ratios"], "checks": report["checks"]}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
