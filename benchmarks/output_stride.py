"""A coarser output grid with sub-pixel decoding, at an equal training budget.

Does a confidence map at output stride 4 or 8 (fewer and cheaper decoder blocks, so more
steps in the same minutes; sub-pixel peaks from posekit's integral refinement) beat the
stride-2 map of sleap-nn's templates? (It did: ``config auto`` now writes stride 4 for
single-instance and top-down instance models; docs/auto.md.) One configuration is chosen
per dataset
(``posekit config auto --budget B``); each arm changes only the output stride (backbone and
head) and keeps the confidence-map spread in model pixels (``sigma`` counts output cells, so
it is divided by the stride ratio); every arm trains with ``posekit train --budget B`` in its
own process, predicts the held-out frames with ``posekit track`` (integral refinement) and is
scored by the same code (missing points counted).

* ``synthetic``: posekit's renderer, 160 px mice in 320 px frames, 80 training and 40
  held-out frames from another recording, one dataset per seed;
* ``openfield``: ``time_to_accuracy.py``'s synthetic data (seed 0): one 130 px mouse in a
  480 px field with a drifting striped occluder whose end looks like a tail tip, 120
  training and 40 held-out frames; with ``--strides 4:8,4:16,4:32`` it asks whether a
  receptive field the size of the animal is enough context to reject such a distractor;
* ``reaching``: the side-by-side benchmark's split of ``reaching.pkg.slp``;
* ``topdown``: top-down models (``config auto --model-type centered_instance``, or the
  type ``--model-type`` names) on posekit's renderer, 64 px mice (74 px with legs and tail)
  in 384 px frames, 80 training and 40 held-out frames, one dataset per seed; the centroid
  model is trained once per dataset and every arm changes only the instance model;
* ``flies``: the same on the real two-fly data (``flies_time_to_accuracy.py``'s split).

    .venv/bin/python benchmarks/output_stride.py --data synthetic --seeds 0,1,2 --budget 60
    .venv/bin/python benchmarks/output_stride.py --data synthetic --seeds 0,1,2 --budget 60 \
        --strides 2:8,4:8,4:16 --out benchmarks/results/output_stride.synthetic.max_stride.json
    .venv/bin/python benchmarks/output_stride.py --data reaching --budget 300
    .venv/bin/python benchmarks/output_stride.py --data openfield --budget 300 \
        --strides 4:8,4:16,4:32
    .venv/bin/python benchmarks/output_stride.py --data topdown --seeds 0,1,2 --budget 90 \
        --strides 2,4
    .venv/bin/python benchmarks/output_stride.py --data flies --budget 240 --strides 2,4
    .venv/bin/python benchmarks/output_stride.py --data flies --budget 240 \
        --model-type multi_class_topdown --out benchmarks/results/output_stride.flies.mct.json

Writes ``benchmarks/results/output_stride.<data>.json``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_vs_sleap_nn import evaluate, log, make_split
from flies_time_to_accuracy import make_fly_split, score_flies
from time_to_accuracy import (
    DATA,
    POSEKIT,
    open_field_split,
    render_split,
    run_logged,
    write_report,
)

BACKBONE = "model_config.backbone_config.unet"


def with_output_stride(cfg: dict, stride: int, max_stride: int | None = None) -> dict:
    """``cfg`` (a single-instance or centroid config) with the backbone and the head at
    output ``stride``, the map's spread unchanged in model pixels (and the backbone at
    ``max_stride`` when given)."""
    out = json.loads(json.dumps(cfg))
    unet = out["model_config"]["backbone_config"]["unet"]
    if max_stride is not None:
        unet["max_stride"] = max_stride
    heads = out["model_config"]["head_configs"]
    (head,) = [h for h in heads.values() if h]
    maps = head["confmaps"]
    maps["sigma"] = round(float(maps["sigma"]) * int(maps["output_stride"]) / stride, 3)
    maps["output_stride"] = stride
    unet["output_stride"] = stride
    return out


def synthetic_split(work: Path, seed: int) -> tuple[Path, Path]:
    """Training and held-out recordings of one synthetic mouse dataset."""
    scene = {"height": 320, "width": 320, "animal_size": 0.5, "occluders": 0}
    return render_split(work / f"synthetic{seed}", scene, 100 + 2 * seed)


def run_arm(cfg: dict, stride: int, max_stride: int, folder: Path, val: Path,
            budget_s: float, centroid: Path | None = None, score=evaluate) -> dict:
    """Train ``cfg`` at output ``stride`` and ``max_stride`` for ``budget_s``, predict
    ``val`` (with the trained ``centroid`` model first for a top-down ``cfg``), score it."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(with_output_stride(cfg, stride, max_stride),
                                   sort_keys=False))
    train = train_run(path, folder, "run", val, budget_s)
    run = folder / "models" / "run"
    budget = json.loads((run / "budget.json").read_text())
    out = folder / "val_predictions.slp"
    models = [str(centroid), "-m", str(run)] if centroid else [str(run)]
    predict = run_logged([str(POSEKIT), "track", str(val), "-m", *models, "-o", str(out)],
                         folder, folder / "predict.log")
    return {"output_stride": stride, "max_stride": max_stride, "train_wall_s": train["wall_s"],
            "steps": budget["lr_trace"][-1]["step"], "step_s": budget["step_s"],
            "predict_wall_s": predict["wall_s"], "accuracy": score(val, out)}


def train_run(config: Path, folder: Path, name: str, val: Path, budget_s: float) -> dict:
    """``posekit train config --budget`` into ``folder/models/name``."""
    return run_logged([str(POSEKIT), "train", str(config), "--budget", f"{int(budget_s)}s",
                       f"trainer_config.run_name={name}", "trainer_config.ckpt_dir=models",
                       f"data_config.val_labels_path=[{val}]"], folder,
                      folder / f"train_{name}.log", budget_s * 1.5)


def choose_config(train: Path, folder: Path, budget_s: float, *auto_args: str,
                  instance_type: str = "centered_instance") -> dict:
    """``posekit config auto`` for ``train`` at ``budget_s``; the single stage it writes, or
    the instance stage of a top-down pair (``instance_type``; the centroid's config stays
    beside it, ``auto.centroid.yaml``)."""
    folder.mkdir(parents=True, exist_ok=True)
    cfg = folder / "auto.yaml"
    run_logged([str(POSEKIT), "config", "auto", str(train), "--budget", f"{int(budget_s)}s",
                "--no-preview", "--force", *auto_args, "-o", str(cfg)], folder,
               folder / "auto.log")
    instance = folder / f"auto.{instance_type}.yaml"
    return yaml.safe_load((instance if instance.is_file() else cfg).read_text())


def topdown_split(work: Path, seed: int) -> tuple[Path, Path]:
    """Training and held-out recordings of one synthetic dataset of small mice in big
    frames (``config auto`` chooses top-down for them)."""
    scene = {"height": 384, "width": 384, "animal_size": 1 / 6, "occluders": 0}
    return render_split(work / f"topdown{seed}", scene, 200 + 2 * seed)


def dataset(name: str, work: Path, seed: int) -> tuple[Path, Path]:
    """Training and held-out labels of one dataset."""
    if name == "synthetic":
        return synthetic_split(work, seed)
    if name == "topdown":
        return topdown_split(work, seed)
    if name == "openfield":  # time_to_accuracy.py's synthetic data for seed 0
        return open_field_split(work, seed)
    if name == "flies":
        return make_fly_split(work)
    return make_split(DATA, work, seed=0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", choices=("synthetic", "openfield", "reaching", "topdown", "flies"),
                        default="synthetic")
    parser.add_argument("--model-type", default="centered_instance",
                        choices=("centered_instance", "multi_class_topdown"),
                        help="the instance model of --data topdown / flies")
    parser.add_argument("--seeds", default="0", help="synthetic datasets, comma-separated")
    parser.add_argument("--budget", type=float, default=60.0, help="seconds per arm")
    parser.add_argument("--strides", default="2,4,8",
                        help="output strides; STRIDE:MAX also sets the backbone's max_stride "
                        "(default: the one config auto chose)")
    parser.add_argument("--work", type=Path,
                        default=ROOT / "benchmarks" / "results" / "work_output_stride")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--note", default="", help="conditions to record (machine load...)")
    args = parser.parse_args()
    out = args.out or ROOT / "benchmarks" / "results" / f"output_stride.{args.data}.json"
    arms = [tuple(int(v) for v in a.split(":")) for a in args.strides.split(",")]
    seeds = ([int(s) for s in args.seeds.split(",")]
             if args.data in ("synthetic", "openfield", "topdown") else [0])
    topdown = args.data in ("topdown", "flies")
    args.work.mkdir(parents=True, exist_ok=True)
    results = []
    for seed in seeds:
        train, val = dataset(args.data, args.work, seed)
        folder = args.work / f"{args.data}{seed}"
        centroid = None
        if topdown:  # each stage sized for the budget; one centroid model for every arm
            cfg = choose_config(train, folder, 2 * args.budget,
                                "--model-type", args.model_type,
                                instance_type=args.model_type)
            centroid = folder / "models" / "centroid"
            shutil.rmtree(centroid, ignore_errors=True)
            train_run(folder / "auto.centroid.yaml", folder, "centroid", val, args.budget)
        else:
            cfg = choose_config(train, folder, args.budget)
        chosen = int(cfg["model_config"]["backbone_config"]["unet"]["max_stride"])
        for stride, *deepest in arms:  # the arms take turns on each dataset
            max_stride = deepest[0] if deepest else chosen
            if stride > max_stride:
                log(f"{args.data} seed {seed}: output stride {stride} > max_stride "
                    f"{max_stride}, skipped")
                continue
            res = run_arm(cfg, stride, max_stride, folder / f"stride{stride}_max{max_stride}",
                          val, args.budget, centroid, score_flies if topdown else evaluate)
            res.update(seed=seed, scale=cfg["data_config"]["preprocessing"]["scale"],
                       auto_max_stride=chosen)
            log(f"{args.data} seed {seed} stride {stride}/{max_stride}: {res['steps']} steps, "
                f"{res['accuracy']}")
            results.append(res)
            out.write_text(json.dumps({"results": results}, indent=1))
    write_report(out, results, args.note, data=args.data, budget_s=args.budget,
                 model_type=args.model_type if topdown else None)
    log(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
