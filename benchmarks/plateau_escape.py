"""Steps to the first detection: what leaves the all-zero plateau sooner at equal cost.

A confidence-map model starts by predicting zeros everywhere: the Gaussian targets cover a
tiny part of each map, so "all zero" is already a low mean squared error, and with
sleap-nn's reaching YAML (learning rate 1e-4, input scale 0.5) every validation map stays
below the peak threshold for hundreds of steps. This benchmark trains the same network on
the same frames with one change at a time and records, every ``--eval-every`` optimizer
steps, how many validation points the model *finds* (map peak >= 0.2, sleap-nn's default
threshold) and how many of those lie within two sigmas of the label ("correct": the
step counts below are of correct points, since a sigmoid output starts at 0.5 everywhere
and so "finds" every point at random places):

* ``mse``: the YAML as it is (plain per-pixel mean squared error);
* ``lr3e-4`` / ``lr1e-3``: the same loss at a higher constant learning rate;
* ``fg_weighted``: squared errors weighted ``1 + 20 * target`` (foreground pixels count more);
* ``sigma_wide``: targets drawn with 3x the configured sigma at the start, narrowing
  linearly to the configured sigma by 40 % of the steps;
* ``bce``: DeepLabCut's sigmoid cross-entropy on the maps (the sigmoid applied to the
  output before the peak threshold).

Each variant runs in its own process, one after the other, with the same seed, split and
augmentation. The step counts are what matter (they do not depend on how busy the machine
is); wall time per step is recorded too.

    .venv/bin/python benchmarks/plateau_escape.py --data reaching --steps 240 --eval-every 20
    .venv/bin/python benchmarks/plateau_escape.py --data synthetic --steps 300

Writes ``benchmarks/results/plateau_escape.<data>.json``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = ("mse", "lr3e-4", "lr1e-3", "fg_weighted", "sigma_wide", "bce")
PEAK_THRESHOLD = 0.2


def reaching_config(work: Path, steps: int, lr: float) -> dict:
    """sleap-nn's reaching YAML on a fixed split of ``reaching.pkg.slp`` (as the
    side-by-side benchmark uses it), run for ``steps`` optimizer steps."""
    import yaml

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_vs_sleap_nn import make_split

    data = ROOT.parent / "shared" / "data"
    train, val = make_split(data, work, seed=0)
    cfg = yaml.safe_load((data / "sleap_nn_configs" /
                          "reaching_single_instance.initial_config.yaml").read_text())
    cfg["data_config"]["train_labels_path"] = [str(train)]
    cfg["data_config"]["val_labels_path"] = [str(val)]
    cfg["data_config"]["data_pipeline_fw"] = "torch_dataset_cache_img_memory"
    cfg["trainer_config"]["optimizer"]["lr"] = lr
    cfg["trainer_config"]["zmq"] = {"publish_port": None, "controller_port": None}
    return cfg


def synthetic_config(work: Path, steps: int, lr: float) -> dict:
    """A small animal in a 320 x 320 frame from posekit's renderer, with the
    ``single_instance`` template (sleap-nn's sample network) at its own defaults."""
    import yaml

    from posekit.config import init_config
    from posekit.io.synthetic import SynthSpec, write_dataset

    labels = work / "synthetic.pkg.slp"
    if not labels.is_file():
        write_dataset(SynthSpec(n_frames=120, height=320, width=320, animal_size=0.18,
                                    seed=3), labels)
    cfg = yaml.safe_load(init_config("single_instance"))
    cfg["data_config"]["train_labels_path"] = [str(labels)]
    cfg["data_config"]["validation_fraction"] = 0.15
    cfg["trainer_config"]["optimizer"]["lr"] = lr
    return cfg


def detection_probe(module, loader, sigmoid: bool, radius: float) -> dict:
    """Validation points found (map peak >= the threshold), found within ``radius`` px of
    the label ("correct"), and the median error of the found ones."""
    import numpy as np
    import torch

    found = near = total = 0
    errors: list[float] = []
    module.eval()
    with torch.no_grad():
        for batch in loader:
            images, points, _ = module.prepare_batch(batch, train=False)
            head = module.task.primary
            maps = module(images)[head.key].float()
            if sigmoid:
                maps = torch.sigmoid(maps)
            b, k, _, w = maps.shape
            peak, idx = maps.reshape(b, k, -1).max(dim=-1)
            xy = torch.stack([idx % w, idx // w], dim=-1).float() * head.stride
            truth = points[:, 0].float()
            visible = torch.isfinite(truth).all(dim=-1)
            hit = visible & (peak >= PEAK_THRESHOLD)
            dist = torch.linalg.norm(xy - truth, dim=-1)
            total += int(visible.sum())
            found += int(hit.sum())
            near += int((hit & (dist <= radius)).sum())
            errors += dist[hit].tolist()
    module.train()
    return {"found": found, "correct": near, "labelled": total,
            "median_error_px": float(np.median(errors)) if errors else None}


def run_variant(data: str, variant: str, steps: int, eval_every: int, work: Path) -> dict:
    """Train one variant in this process and return its detection curve."""
    import torch
    from lightning import Callback

    from posekit.model_types import losses
    from posekit.training.trainer import train

    base_lr = 1e-4 if data == "reaching" else 1e-3
    lr = {"lr3e-4": 3e-4, "lr1e-3": 1e-3}.get(variant, base_lr)
    cfg = (reaching_config if data == "reaching" else synthetic_config)(work, steps, lr)
    tc = cfg["trainer_config"]
    tc.update({"max_epochs": 1, "train_steps_per_epoch": steps, "min_train_steps_per_epoch": 1,
               "seed": 0, "ckpt_dir": str(work / "runs"), "run_name": variant,
               "save_ckpt": False, "enable_progress_bar": False, "trainer_accelerator": "cpu",
               "visualize_preds_during_training": False, "lr_scheduler": None})
    tc["early_stopping"] = {"stop_training_on_plateau": False}

    plain = losses.head_loss
    if variant == "fg_weighted":
        def weighted(pred, target, ohkm=None, weights=None, foreground_weight=1.0):
            w = 1.0 + 20.0 * target.float()
            return ((pred.float() - target.float()) ** 2 * w).mean()
        losses.head_loss = weighted
    elif variant == "bce":
        def bce(pred, target, ohkm=None, weights=None, foreground_weight=1.0):
            return torch.nn.functional.binary_cross_entropy_with_logits(pred.float(),
                                                                        target.float())
        losses.head_loss = bce

    curve: list[dict] = []
    sigma0: list[float] = []

    class Probe(Callback):
        def __init__(self) -> None:
            self.sigma0: float | None = None
            self.start = time.perf_counter()

        def on_train_batch_start(self, trainer, module, batch, batch_idx):
            if not sigma0:
                sigma0.append(float(module.task.primary.sigma))
            if variant != "sigma_wide":
                return
            from dataclasses import replace

            head = module.task.heads[0]
            if self.sigma0 is None:
                self.sigma0 = float(head.sigma)
            frac = min(1.0, trainer.global_step / max(1.0, 0.4 * steps))
            sigma = self.sigma0 * (3.0 - 2.0 * frac)
            module.task.heads = (replace(head, sigma=sigma), *module.task.heads[1:])

        def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
            step = trainer.global_step
            if step % eval_every and step != steps:
                return
            curve.append({"step": step, "wall_s": time.perf_counter() - self.start,
                          **detection_probe(module, trainer.val_dataloaders, variant == "bce",
                                             2.0 * sigma0[0])})

    try:
        result = train(cfg, callbacks=[Probe()])
    finally:
        losses.head_loss = plain
    first = next((c["step"] for c in curve if c["correct"] > 0), None)
    half = next((c["step"] for c in curve if c["correct"] >= 0.5 * c["labelled"]), None)
    return {"variant": variant, "lr": lr, "steps": steps, "curve": curve,
            "steps_to_first_detection": first, "steps_to_half_found": half,
            "wall_s": result.wall_time_s}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", choices=("reaching", "synthetic"), default="synthetic")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--eval-every", type=int, default=20)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--work", type=Path, default=ROOT / "benchmarks" / "results" / "work_plateau")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    if args.one:
        out = run_variant(args.data, args.one, args.steps, args.eval_every, args.work)
        (args.work / f"{args.data}.{args.one}.json").write_text(json.dumps(out, indent=1))
        return 0
    results = []
    for variant in args.variants.split(","):
        print(f"[{time.strftime('%H:%M:%S')}] {variant}", flush=True)
        subprocess.run([sys.executable, __file__, "--data", args.data, "--steps",
                        str(args.steps), "--eval-every", str(args.eval_every), "--work",
                        str(args.work), "--one", variant], check=True)
        one = json.loads((args.work / f"{args.data}.{variant}.json").read_text())
        print(f"  first detection at step {one['steps_to_first_detection']}, half found at "
              f"{one['steps_to_half_found']}; last: {one['curve'][-1]}", flush=True)
        results.append(one)
    out = ROOT / "benchmarks" / "results" / f"plateau_escape.{args.data}.json"
    out.write_text(json.dumps({"data": args.data, "peak_threshold": PEAK_THRESHOLD,
                               "eval_every": args.eval_every, "variants": results}, indent=1))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
