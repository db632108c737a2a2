"""A coarser output grid with sub-pixel decoding, at an equal training budget.

Does a confidence map at output stride 4 or 8 (fewer and cheaper decoder blocks, so more
steps in the same minutes; sub-pixel peaks from posekit's integral refinement) beat the
stride-2 map of sleap-nn's templates? (It did: ``config auto`` now writes stride 4 for
single-instance models; docs/auto.md.) One configuration is chosen per dataset
(``posekit config auto --budget B``); each arm changes only the output stride (backbone and
head) and keeps the confidence-map spread in model pixels (``sigma`` counts output cells, so
it is divided by the stride ratio); every arm trains with ``posekit train --budget B`` in its
own process, predicts the held-out frames with ``posekit track`` (integral refinement) and is
scored by the same code (missing points counted).

* ``synthetic``: posekit's renderer, 160 px mice in 320 px frames, 80 training and 40
  held-out frames from another recording, one dataset per seed;
* ``reaching``: the side-by-side benchmark's split of ``reaching.pkg.slp``.

    .venv/bin/python benchmarks/output_stride.py --data synthetic --seeds 0,1,2 --budget 60
    .venv/bin/python benchmarks/output_stride.py --data synthetic --seeds 0,1,2 --budget 60 \
        --strides 2:8,4:8,4:16 --out benchmarks/results/output_stride.synthetic.max_stride.json
    .venv/bin/python benchmarks/output_stride.py --data reaching --budget 300

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
from time_to_accuracy import DATA, POSEKIT, run_logged, write_report

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
    from posekit.io.synthetic import SynthSpec, write_dataset

    folder = work / f"synthetic{seed}"
    folder.mkdir(parents=True, exist_ok=True)
    spec = {"height": 320, "width": 320, "animal_size": 0.5, "occluders": 0}
    train, val = folder / "train.pkg.slp", folder / "val.pkg.slp"
    if not (train.is_file() and val.is_file()):
        write_dataset(SynthSpec(n_frames=80, seed=100 + 2 * seed, **spec), train)
        write_dataset(SynthSpec(n_frames=40, seed=101 + 2 * seed, **spec), val)
    return train, val


def run_arm(cfg: dict, stride: int, max_stride: int, folder: Path, val: Path,
            budget_s: float) -> dict:
    """Train ``cfg`` at output ``stride`` and ``max_stride`` for ``budget_s``, predict
    ``val``, score it."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(with_output_stride(cfg, stride, max_stride),
                                   sort_keys=False))
    train = run_logged([str(POSEKIT), "train", str(path), "--budget", f"{int(budget_s)}s",
                        "trainer_config.run_name=run", "trainer_config.ckpt_dir=models",
                        f"data_config.val_labels_path=[{val}]"], folder, folder / "train.log",
                       budget_s * 1.5)
    run = folder / "models" / "run"
    budget = json.loads((run / "budget.json").read_text())
    out = folder / "val_predictions.slp"
    predict = run_logged([str(POSEKIT), "track", str(val), "-m", str(run), "-o", str(out)],
                         folder, folder / "predict.log")
    return {"output_stride": stride, "max_stride": max_stride, "train_wall_s": train["wall_s"],
            "steps": budget["lr_trace"][-1]["step"], "step_s": budget["step_s"],
            "predict_wall_s": predict["wall_s"], "accuracy": evaluate(val, out)}


def choose_config(train: Path, folder: Path, budget_s: float) -> dict:
    """``posekit config auto`` for ``train`` at ``budget_s``; the single stage it writes."""
    folder.mkdir(parents=True, exist_ok=True)
    cfg = folder / "auto.yaml"
    run_logged([str(POSEKIT), "config", "auto", str(train), "--budget", f"{int(budget_s)}s",
                "--no-preview", "-o", str(cfg)], folder, folder / "auto.log")
    return yaml.safe_load(cfg.read_text())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", choices=("synthetic", "reaching"), default="synthetic")
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
    seeds = [int(s) for s in args.seeds.split(",")] if args.data == "synthetic" else [0]
    args.work.mkdir(parents=True, exist_ok=True)
    results = []
    for seed in seeds:
        if args.data == "synthetic":
            train, val = synthetic_split(args.work, seed)
        else:
            train, val = make_split(DATA, args.work, seed=0)
        folder = args.work / f"{args.data}{seed}"
        cfg = choose_config(train, folder, args.budget)
        chosen = int(cfg["model_config"]["backbone_config"]["unet"]["max_stride"])
        for stride, *deepest in arms:  # the arms take turns on each dataset
            max_stride = deepest[0] if deepest else chosen
            if stride > max_stride:
                log(f"{args.data} seed {seed}: output stride {stride} > max_stride "
                    f"{max_stride}, skipped")
                continue
            res = run_arm(cfg, stride, max_stride, folder / f"stride{stride}_max{max_stride}",
                          val, args.budget)
            res.update(seed=seed, scale=cfg["data_config"]["preprocessing"]["scale"],
                       auto_max_stride=chosen)
            log(f"{args.data} seed {seed} stride {stride}/{max_stride}: {res['steps']} steps, "
                f"{res['accuracy']}")
            results.append(res)
            out.write_text(json.dumps({"results": results}, indent=1))
    write_report(out, results, args.note, data=args.data, budget_s=args.budget)
    log(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
