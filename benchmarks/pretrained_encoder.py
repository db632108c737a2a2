"""ImageNet-pretrained encoder against posekit's UNet, k-fold cross-validated on the reaching data.

The reaching labels (55 frames) are split into ``--folds`` folds (frame sizes spread evenly);
for each fold ``posekit config auto --budget B`` chooses a configuration from the other
folds, and each arm trains it for ``B`` seconds with ``posekit train --budget``, predicts the
held-out fold with ``posekit track`` and is scored by the same code. Arms take turns on each
fold:

* ``unet``: the configuration as chosen (posekit's UNet, random initialisation);
* ``lite0-imagenet``: the ``efficientnet_lite0`` backbone (ImageNet weights, batch-norm
  statistics frozen) at the UNet's depth, output stride and decoder options;
* ``lite0-scratch``: the same backbone from a random start (batch norms train).

Every held-out frame is predicted exactly once per arm, so errors are pooled over all 55
frames (233 labelled points) instead of a 6-frame split::

    .venv/bin/python benchmarks/pretrained_encoder.py --budget 300 --folds 3
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_vs_sleap_nn import evaluate, log
from time_to_accuracy import DATA, POSEKIT, run_logged, write_report

ARMS = ("unet", "lite0-imagenet", "lite0-scratch")

def with_backbone(cfg: dict, arm: str) -> dict:
    """``cfg`` (a ``config auto`` single-stage config) with the arm's backbone: the UNet as
    chosen, or EfficientNet-Lite0 at the same depth, output stride and channels."""
    out = json.loads(json.dumps(cfg))
    if arm == "unet":
        return out
    unet = out["model_config"]["backbone_config"]["unet"]
    out["model_config"]["backbone_config"] = {"efficientnet_lite0": {
        "pre_trained_weights": "imagenet" if arm == "lite0-imagenet" else None,
        **{key: unet[key] for key in ("max_stride", "in_channels", "kernel_size",
                                      "convs_per_block", "up_interpolate", "output_stride")}}}
    return out


def make_folds(work: Path, folds: int) -> list[tuple[Path, Path]]:
    """``folds`` (train, held-out) pairs covering every labelled reaching frame once."""
    from posekit.io.labels import load_labels
    from posekit.io.writers import save_labels

    labels = load_labels(DATA / "reaching.pkg.slp")
    frames = sorted(labels.labeled_frames, key=lambda lf: (lf.image.shape[0], lf.frame_idx))
    pairs = []
    for k in range(folds):
        held = {id(lf) for i, lf in enumerate(frames) if i % folds == k}
        train_path, val_path = work / f"fold{k}_train.pkg.slp", work / f"fold{k}_val.pkg.slp"
        if not (train_path.is_file() and val_path.is_file()):
            for path, keep in ((train_path, False), (val_path, True)):
                subset = [lf for lf in labels.labeled_frames if (id(lf) in held) == keep]
                save_labels(type(labels)(labeled_frames=subset, videos=labels.videos,
                                         skeletons=labels.skeletons), path, embed="auto")
        pairs.append((train_path, val_path))
    return pairs


def point_errors(gt_path: Path, pred_path: Path) -> list[float | None]:
    """Per labelled point: distance to the prediction (None when it was not found)."""
    import sleap_io as sio

    gt, pred = sio.load_slp(str(gt_path)), sio.load_slp(str(pred_path))
    by_frame = {lf.frame_idx: lf for lf in pred}
    errors: list[float | None] = []
    for lf in gt:
        truth = lf.instances[0].numpy()
        found = by_frame.get(lf.frame_idx)
        guess = found.instances[0].numpy() if found and found.instances else np.full_like(truth, np.nan)
        for t, g in zip(truth, guess):
            if np.isnan(t).any():
                continue
            errors.append(None if np.isnan(g).any() else float(np.linalg.norm(t - g)))
    return errors


def run_arm(arm: str, cfg: dict, sidecar: Path, folder: Path, val: Path,
            budget_s: float) -> dict:
    """Train the fold's chosen configuration (and its posekit sidecar) as ``arm``, predict
    the held-out fold."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    config = folder / "auto.yaml"
    config.write_text(yaml.safe_dump(with_backbone(cfg, arm), sort_keys=False))
    shutil.copy(sidecar, folder / "auto.posekit.yaml")
    train = run_logged([str(POSEKIT), "train", str(config), "--budget", f"{int(budget_s)}s",
                        "trainer_config.run_name=run", "trainer_config.ckpt_dir=models",
                        f"data_config.val_labels_path=[{val}]"], folder, folder / "train.log",
                       budget_s * 1.5)
    out = folder / "held_out_predictions.slp"
    run_logged([str(POSEKIT), "track", str(val), "-m", str(folder / "models" / "run"), "-o",
                str(out)], folder, folder / "predict.log")
    budget = json.loads((folder / "models" / "run" / "budget.json").read_text())
    return {"arm": arm, "train_wall_s": train["wall_s"], "steps": budget["lr_trace"][-1]["step"],
            "step_s": budget["step_s"], "accuracy": evaluate(val, out),
            "point_errors": point_errors(val, out)}


def pooled(results: list[dict], arm: str) -> dict:
    """Errors of one arm pooled over every fold (missing points counted)."""
    errors = [e for r in results if r["arm"] == arm for e in r["point_errors"]]
    found = np.array([e for e in errors if e is not None])
    return {"arm": arm, "points": len(errors), "found": int(found.size),
            "mean_px": float(found.mean()), "median_px": float(np.median(found)),
            "p90_px": float(np.percentile(found, 90)),
            "pck_5px": float((found <= 5).sum() / len(errors)),
            "pck_10px": float((found <= 10).sum() / len(errors))}


def paired(results: list[dict], arm: str, base: str = "unet") -> dict:
    """``arm`` against ``base`` on the points both found: ratio of mean errors, its 95 %
    bootstrap interval (points resampled) and the Wilcoxon signed-rank p-value."""
    from scipy.stats import wilcoxon

    def errors(name: str) -> np.ndarray:
        return np.array([np.nan if e is None else e
                         for r in results if r["arm"] == name for e in r["point_errors"]])

    a, b = errors(base), errors(arm)
    both = np.flatnonzero(~np.isnan(a) & ~np.isnan(b))
    rng = np.random.default_rng(0)
    ratios = [b[i].mean() / a[i].mean() for i in (rng.choice(both, both.size)
                                                   for _ in range(5000))]
    return {"arm": arm, "against": base, "common_points": int(both.size),
            "ratio_of_means": float(b[both].mean() / a[both].mean()),
            "bootstrap_95": [float(v) for v in np.percentile(ratios, [2.5, 97.5])],
            "wilcoxon_p": float(wilcoxon(a[both], b[both]).pvalue)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--budget", type=float, default=300.0, help="seconds per arm and fold")
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--arms", default=",".join(ARMS))
    parser.add_argument("--work", type=Path,
                        default=ROOT / "benchmarks" / "results" / "work_pretrained_encoder")
    parser.add_argument("--out", type=Path,
                        default=ROOT / "benchmarks" / "results" / "pretrained_encoder.reaching.json")
    parser.add_argument("--note", default="", help="conditions to record (machine load...)")
    args = parser.parse_args()
    arms = args.arms.split(",")
    args.work.mkdir(parents=True, exist_ok=True)
    results = []
    for k, (train, val) in enumerate(make_folds(args.work, args.folds)):
        config_dir = args.work / f"fold{k}"
        config_dir.mkdir(exist_ok=True)
        run_logged([str(POSEKIT), "config", "auto", str(train), "--budget",
                    f"{int(args.budget)}s", "--no-preview", "-o", str(config_dir / "auto.yaml"),
                    "--force"], config_dir, config_dir / "auto.log")
        cfg = yaml.safe_load((config_dir / "auto.yaml").read_text())
        for arm in arms:
            start = time.perf_counter()
            res = run_arm(arm, cfg, config_dir / "auto.posekit.yaml", config_dir / arm, val,
                          args.budget)
            res["fold"] = k
            log(f"fold {k} {arm}: {res['steps']} steps, {res['accuracy']} "
                f"({time.perf_counter() - start:.0f} s)")
            results.append(res)
            args.out.write_text(json.dumps({"results": results}, indent=1))
    summary = [pooled(results, arm) for arm in arms]
    for row in summary:
        log(json.dumps(row))
    versus = [paired(results, arm) for arm in arms if arm != "unet" and "unet" in arms]
    for row in versus:
        log(json.dumps(row))
    write_report(args.out, results, args.note, data="reaching", budget_s=args.budget,
                 folds=args.folds, pooled=summary, paired=versus)
    return 0


if __name__ == "__main__":
    sys.exit(main())
