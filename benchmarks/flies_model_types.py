"""Every multi-animal model type on the real two-fly data, trained for a fixed time budget.

Trains centroid, centered instance, bottom-up, multi-class bottom-up and multi-class top-down
models on every 5th labelled frame of ``clip.slp`` (two flies, 1024x1024, identities
female / male), then predicts the first 300 frames of ``clip.mp4`` end to end (top-down as
centroid + centered instance; bottom-up with tracking) and scores them against ``clip.slp``
on the frames no model trained on.
Writes one JSON file: per model type the validation mAP, mean pixel error and identity
accuracy, training samples/s, and inference frames/s and peak memory on the video.

    .venv/bin/python benchmarks/flies_model_types.py --minutes 8
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import sleap_io as sio

from posekit.utils import atomic_write_text

ROOT = Path(__file__).resolve().parents[1]

HEADS = {
    "centroid": ({"scale": 0.25}, 16, {"confmaps": {"anchor_part": "thorax", "sigma": 1.25,
                                                    "output_stride": 2}}),
    "centered_instance": ({"scale": 1.0}, 16, {"confmaps": {"anchor_part": "thorax",
                                                            "sigma": 1.25, "output_stride": 2}}),
    "bottomup": ({"scale": 0.5}, 8, {"confmaps": {"sigma": 1.25, "output_stride": 2},
                                     "pafs": {"sigma": 5.0, "output_stride": 4}}),
    "multi_class_bottomup": ({"scale": 0.5}, 8, {"confmaps": {"sigma": 1.25, "output_stride": 2},
                                                 "class_maps": {"sigma": 2.5,
                                                                "output_stride": 2}}),
    "multi_class_topdown": ({"scale": 1.0}, 16, {
        "confmaps": {"anchor_part": "thorax", "sigma": 1.25, "output_stride": 2},
        "class_vectors": {"num_fc_layers": 2, "num_fc_units": 64, "output_stride": 16,
                          "loss_weight": 0.01}}),
}


def config(model_type: str, labels: Path, runs: Path) -> dict:
    prep, filters, head = HEADS[model_type]
    return {
        "data_config": {
            "train_labels_path": [str(labels)], "validation_fraction": 0.1,
            "data_pipeline_fw": "torch_dataset",
            "preprocessing": {"ensure_grayscale": True, **prep},
            "use_augmentations_train": True,
            "augmentation_config": {
                "intensity": {"brightness_min": 0.9, "brightness_max": 1.1, "brightness_p": 0.5,
                              "contrast_min": 0.9, "contrast_max": 1.1, "contrast_p": 0.5},
                "geometric": {"rotation_min": -180.0, "rotation_max": 180.0, "scale_min": 0.9,
                              "scale_max": 1.1, "affine_p": 1.0}},
        },
        "model_config": {"backbone_config": {"unet": {"in_channels": 1, "filters": filters,
                                                      "filters_rate": 2.0, "max_stride": 16,
                                                      "output_stride": 2}},
                         "head_configs": {model_type: head}},
        "trainer_config": {
            "train_data_loader": {"batch_size": 4, "shuffle": True},
            "val_data_loader": {"batch_size": 4},
            "model_ckpt": {"save_top_k": 1, "save_last": True},
            "max_epochs": 1000, "train_steps_per_epoch": 25, "seed": 0, "save_ckpt": True,
            "ckpt_dir": str(runs), "run_name": model_type, "optimizer": {"lr": 0.001},
            "lr_scheduler": {"reduce_lr_on_plateau": {"patience": 4, "factor": 0.5,
                                                      "threshold": 1e-6, "min_lr": 1e-5}},
            "enable_progress_bar": False,
        },
    }


def run_track(posekit: Path, video: Path, models: list[Path], out: Path, frames: str,
              extra: list[str]) -> dict:
    cmd = ["/usr/bin/time", "-v", str(posekit), "track", str(video), "-o", str(out),
           "--frames", frames, *extra]
    for m in models:
        cmd += ["-m", str(m)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    text = proc.stdout + proc.stderr
    if proc.returncode != 0:
        raise RuntimeError(text[-2000:])
    fps = re.search(r"([\d.]+) frames/s \[(\w[\w,]*)\]", text)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    return {"frames_per_s": float(fps.group(1)) if fps else None,
            "backend": fps.group(2) if fps else None,
            "peak_rss_mb": int(rss.group(1)) / 1024 if rss else None}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--out", type=Path,
                        default=ROOT / "benchmarks/results/flies_model_types.json")
    parser.add_argument("--work", type=Path, default=ROOT / "benchmarks/results/work_flies")
    parser.add_argument("--minutes", type=float, default=8.0, help="training time per model")
    parser.add_argument("--frames", default="0-299")
    args = parser.parse_args()

    from posekit.evaluation import evaluate
    from posekit.training.trainer import train

    data = args.data.resolve()
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    labels = sio.load_slp(str(data / "clip.slp"))
    frames = [lf for lf in labels.labeled_frames if lf.frame_idx % 5 == 0]
    labels.videos[0].replace_filename(str(data / "clip.mp4"), open=False)
    subset = sio.Labels(labeled_frames=frames, videos=labels.videos, skeletons=labels.skeletons,
                        tracks=labels.tracks)
    train_path = work / "flies_every5.slp"
    sio.save_slp(subset, str(train_path))
    report: dict = {"created": datetime.now(UTC).isoformat(timespec="seconds"),
                    "minutes_per_model": args.minutes, "train_frames": len(frames),
                    "models": {}, "video": {}}
    runs = {}
    for model_type in HEADS:
        print(f"[{datetime.now():%H:%M:%S}] training {model_type}", flush=True)
        start = time.perf_counter()
        result = train(config(model_type, train_path, work / "runs"),
                       time_limit_s=args.minutes * 60)
        runs[model_type] = result.run_dir
        m = result.metrics
        report["models"][model_type] = {
            "run": str(result.run_dir), "epochs": result.epochs,
            "train_samples_per_s": result.train_samples_per_s,
            "wall_s": time.perf_counter() - start,
            "val_mAP": m.oks.map if m else None,
            "val_mean_px": m.localization.mean_px if m else None,
            "val_median_px": m.localization.median_px if m else None,
            "val_instance_recall": m.counts.instance_recall if m else None,
            "val_identity_accuracy": m.identity.identity_accuracy if m else None,
            "notes": list(m.notes) if m else [],
        }
    posekit = Path(sys.executable).with_name("posekit")
    truth = sio.load_slp(str(data / "clip.slp"))
    lo, hi = (int(v) for v in args.frames.split("-"))
    # score the video only on frames no model trained on (training used every 5th frame)
    truth.labeled_frames = [lf for lf in truth.labeled_frames
                            if lo <= lf.frame_idx <= hi and lf.frame_idx % 5 != 0]
    pipelines = {
        "top-down (centroid + centered_instance), tracked": (
            [runs["centroid"], runs["centered_instance"]],
            ["--tracking", "--max-tracks", "2", "--max-instances", "2"]),
        "bottom-up, tracked": ([runs["bottomup"]],
                               ["--tracking", "--max-tracks", "2", "--max-instances", "2"]),
        "multi-class bottom-up": ([runs["multi_class_bottomup"]], []),
        "multi-class top-down (centroid + multi_class_topdown)": (
            [runs["centroid"], runs["multi_class_topdown"]], ["--max-instances", "2"]),
    }
    for name, (models, extra) in pipelines.items():
        print(f"[{datetime.now():%H:%M:%S}] predicting the video: {name}", flush=True)
        out = work / (re.sub(r"\W+", "_", name) + ".slp")
        speed = run_track(posekit, data / "clip.mp4", models, out, args.frames, extra)
        metrics = evaluate(truth, sio.load_slp(str(out)))
        ident = metrics.identity
        report["video"][name] = {
            **speed, "mAP": metrics.oks.map,
            "mean_px": metrics.localization.mean_px,
            "instance_recall": metrics.counts.instance_recall,
            "identity_accuracy": ident.identity_accuracy,
            "id_switches": ident.id_switches, "mota": ident.mota,
        }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out, json.dumps(report, indent=1))
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
