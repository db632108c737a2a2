"""Does an exponential moving average of the weights beat the budgeted run's own model?

Paired on the reaching data, k-fold cross-validated like ``pretrained_encoder.py``: per fold
``posekit config auto --budget B`` chooses a configuration from the other folds and one
budgeted ``train()`` runs it, while a passive callback keeps bias-corrected moving averages
of every floating-point weight for each ``--decays`` value (it never changes the training
itself). Afterwards the same run gives one model per arm, each predicting the held-out
fold with ``posekit track``:

* ``shipped``: the run's ``best.ckpt``, as posekit ships it;
* ``last``: the weights after the last step;
* ``ema-D``: the moving average with decay ``D`` at the end of training.

Because every arm comes from the same trajectory, differences are the averaging's alone
(no seed noise)::

    .venv/bin/python benchmarks/weight_averaging.py --budget 300 --folds 3
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

import lightning as L
import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_vs_sleap_nn import evaluate, log
from pretrained_encoder import make_folds, paired, point_errors, pooled
from time_to_accuracy import POSEKIT, run_logged, write_report


def decay_at(decay: float, updates: int) -> float:
    """Weight of the old average at update ``updates`` (1-based) so that the average is
    bias-corrected: the first update copies the weights, and after ``n`` updates weight
    ``i`` counts ``decay ** (n - i)`` normalised (no pull towards the initial weights)."""
    if updates <= 1:
        return 0.0
    return decay * (1.0 - decay ** (updates - 1)) / (1.0 - decay ** updates)


class MovingAverages(L.Callback):
    """Keeps one moving average of the module's floating-point state per decay."""

    def __init__(self, decays: list[float]) -> None:
        self.decays, self.updates = decays, 0
        self.averages: dict[float, dict[str, torch.Tensor]] = {}

    def on_train_batch_end(self, trainer, pl_module, *args) -> None:
        state = {k: v.detach() for k, v in pl_module.state_dict().items()
                 if v.dtype.is_floating_point}
        self.updates += 1
        for decay in self.decays:
            average = self.averages.setdefault(decay, {k: v.clone() for k, v in state.items()})
            keep = decay_at(decay, self.updates)
            for key, value in state.items():
                average[key].mul_(keep).add_(value, alpha=1.0 - keep)


def model_with(run: Path, state: dict[str, torch.Tensor], dest: Path) -> Path:
    """A copy of run folder ``run`` whose ``best.ckpt`` holds ``state``, exported to ONNX."""
    from posekit.inference.export import export_onnx
    from posekit.inference.run_folder import open_run_folder

    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(run, dest, ignore=shutil.ignore_patterns("*.onnx", "*.onnx.json",
                                                             "labels_pr*", "last.ckpt"))
    checkpoint = torch.load(dest / "best.ckpt", weights_only=True, map_location="cpu")
    checkpoint["state_dict"].update(state)
    torch.save(checkpoint, dest / "best.ckpt")
    export_onnx(open_run_folder(dest))
    return dest


def score(model: Path, val: Path, out: Path, arm: str, fold: int) -> dict:
    run_logged([str(POSEKIT), "track", str(val), "-m", str(model), "-o", str(out)],
               out.parent, out.with_suffix(".log"))
    return {"arm": arm, "fold": fold, "accuracy": evaluate(val, out),
            "point_errors": point_errors(val, out)}


def run_fold(fold: int, train_path: Path, val: Path, work: Path, budget_s: float,
             decays: list[float]) -> list[dict]:
    """Choose, train once with the averages kept, and score every arm on the held-out fold."""
    from posekit.training.trainer import train

    folder = work / f"fold{fold}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    run_logged([str(POSEKIT), "config", "auto", str(train_path), "--budget",
                f"{int(budget_s)}s", "--no-preview", "-o", str(folder / "auto.yaml"), "--force"],
               folder, folder / "auto.log")
    averages = MovingAverages(decays)
    start = time.perf_counter()
    train(str(folder / "auto.yaml"),
          overrides=["trainer_config.run_name=run", f"trainer_config.ckpt_dir={folder}/models",
                     f"data_config.val_labels_path=[{val}]",
                     "trainer_config.enable_progress_bar=false"],
          budget_s=budget_s, callbacks=[averages])
    wall = time.perf_counter() - start
    run = folder / "models" / "run"
    results = [score(run, val, folder / "shipped.slp", "shipped", fold)]
    last = torch.load(run / "last.ckpt", weights_only=True, map_location="cpu")["state_dict"]
    results.append(score(model_with(run, last, folder / "last"), val, folder / "last.slp",
                         "last", fold))
    for decay in decays:
        arm = f"ema-{decay}"
        model = model_with(run, averages.averages[decay], folder / arm)
        results.append(score(model, val, folder / f"{arm}.slp", arm, fold))
    for res in results:
        res.update(steps=averages.updates, train_wall_s=wall)
        log(f"fold {fold} {res['arm']}: {res['accuracy']}")
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--budget", type=float, default=300.0, help="seconds per fold")
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--decays", default="0.99,0.995,0.998")
    parser.add_argument("--work", type=Path,
                        default=ROOT / "benchmarks" / "results" / "work_weight_averaging")
    parser.add_argument("--out", type=Path,
                        default=ROOT / "benchmarks" / "results" / "weight_averaging.reaching.json")
    parser.add_argument("--note", default="", help="conditions to record (machine load...)")
    args = parser.parse_args()
    decays = [float(d) for d in args.decays.split(",")]
    args.work.mkdir(parents=True, exist_ok=True)
    results: list[dict] = []
    for k, (train_path, val) in enumerate(make_folds(args.work, args.folds)):
        results += run_fold(k, train_path, val, args.work, args.budget, decays)
        write_report(args.out, results, args.note, data="reaching", budget_s=args.budget,
                     folds=args.folds, partial=True)
    arms = ["shipped", "last", *(f"ema-{d}" for d in decays)]
    summary = [pooled(results, arm) for arm in arms]
    versus = [paired(results, arm, base="shipped") for arm in arms[1:]]
    for row in summary + versus:
        log(yaml.safe_dump(row, default_flow_style=True).strip())
    write_report(args.out, results, args.note, data="reaching", budget_s=args.budget,
                 folds=args.folds, decays=decays, pooled=summary, paired=versus)
    return 0


if __name__ == "__main__":
    sys.exit(main())
