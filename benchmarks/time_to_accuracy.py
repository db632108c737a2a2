"""Time to accuracy: posekit's chosen configuration trained to a deadline, against sleap-nn.

On the same train / validation split of a real dataset (the side-by-side benchmark's
reaching split, or the two-fly clip) and the same CPU, in one run, each arm gets the same
wall-clock budget for training:

* ``posekit-auto``: ``posekit config auto TRAIN --budget B`` then ``posekit train CONFIG
  --budget B`` (a top-down choice trains its two stages one after the other, splitting the
  budget as the generated configs say);
* ``posekit-auto-lite0`` (on request): the same with ``config auto --backbone
  efficientnet_lite0`` (the ImageNet-pretrained encoder);
* ``sleap-nn-auto``: the configuration sleap-nn 0.3.5's own generator recommends for the
  data (``sleap-nn config TRAIN --auto``), trained by sleap-nn and stopped at the budget
  (Ctrl-C, as a user would; sleap-nn keeps its best checkpoint);
* ``sleap-nn-sample``: sleap-nn's sample configuration for the data (the reaching YAML in
  ``../shared/data/sleap_nn_configs``; for the synthetic data the medium-receptive-field
  single-instance sample), the same way.

``--data reaching`` (default) is the side-by-side benchmark's split of the real reaching
labels; ``--data synthetic`` renders one mouse in a 480 px open field with posekit's renderer
(120 training frames, 40 held-out frames of another recording; exact labels, so the error
is not bounded by labelling noise).

All models predict the validation frames with their own tool and are scored by the same code
(`bench_vs_sleap_nn.paired_accuracy` / `evaluate`: missing points counted). sleap-nn is
installed in a throw-away virtual environment (``--sleap-nn-venv``), never a posekit
dependency.

    .venv/bin/python benchmarks/time_to_accuracy.py --budgets 5,15,30 --arms posekit-auto,sleap-nn-auto,sleap-nn-sample
    .venv/bin/python benchmarks/time_to_accuracy.py --data synthetic --budgets 5,15,30 \
        --arms-at 15=posekit-auto,sleap-nn-sample --arms-at 30=posekit-auto,sleap-nn-sample

``--fold K/N`` (reaching) holds out fold K of the N folds of ``pretrained_encoder.py``
instead of the 6-frame split: more held-out points for one pair of arms.

``--resume`` keeps the results already in the output file and runs only the missing
(budget, arm) pairs, so a long run can be done in parts.

Writes ``benchmarks/results/time_to_accuracy.<data>.json`` and a plot of error against time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_vs_sleap_nn import (
    ensure_sleap_nn,
    evaluate,
    log,
    make_split,
    paired_accuracy,
)

DATA = ROOT.parent / "shared" / "data"
POSEKIT = Path(sys.executable).with_name("posekit")
SAMPLE_CONFIG = DATA / "sleap_nn_configs" / "reaching_single_instance.initial_config.yaml"
#: sleap-nn's sample configuration for each dataset's model type.
SAMPLE_CONFIGS = {
    "reaching": SAMPLE_CONFIG,
    "synthetic": DATA / "sleap_nn_configs" / "sample_configs"
    / "config_single_instance_unet_medium_rf.yaml",
}
#: The synthetic dataset: one mouse (about 130 px long, 150 px with legs and tail) walking
#: quickly in a 480 px open field with a drifting occluder, exact labels.
SYNTHETIC_SCENE = {"height": 480, "width": 480, "animal_size": 0.25, "speed": 0.1}


def render_split(folder: Path, scene: dict, first_seed: int, n_train: int = 80,
                 n_val: int = 40) -> tuple[Path, Path]:
    """Training labels and held-out labels (another recording of the same ``scene``, seed
    ``first_seed + 1``) rendered by posekit's renderer into ``folder`` (frames embedded);
    kept when they are already there."""
    from posekit.io.synthetic import SynthSpec, write_dataset

    folder.mkdir(parents=True, exist_ok=True)
    train, val = folder / "train.pkg.slp", folder / "val.pkg.slp"
    if not (train.is_file() and val.is_file()):
        write_dataset(SynthSpec(n_frames=n_train, seed=first_seed, **scene), train)
        write_dataset(SynthSpec(n_frames=n_val, seed=first_seed + 1, **scene), val)
    return train, val


def open_field_split(work: Path, seed: int = 0) -> tuple[Path, Path]:
    """The synthetic open-field dataset (``SYNTHETIC_SCENE``, 120 training and 40 held-out
    frames) for ``seed``, in ``work/openfield<seed>``."""
    return render_split(work / f"openfield{seed}", SYNTHETIC_SCENE, 300 + 2 * seed,
                        n_train=120)


def run_logged(cmd: list[str], cwd: Path, log_path: Path, limit_s: float | None = None) -> dict:
    """Run ``cmd``; after ``limit_s`` seconds send Ctrl-C (SIGINT) and wait for it to stop."""
    start = time.perf_counter()
    with open(log_path, "w") as fh:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=fh, stderr=subprocess.STDOUT)
        stopped = False
        try:
            proc.wait(timeout=limit_s)
        except subprocess.TimeoutExpired:
            stopped = True
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    wall = time.perf_counter() - start
    if proc.returncode not in (0, 130) and not stopped:
        raise RuntimeError(f"{' '.join(cmd)} failed (exit {proc.returncode}); see {log_path}")
    return {"wall_s": wall, "stopped_at_budget": stopped, "exit": proc.returncode}


def sleap_nn_config(source: dict, train: Path, val: Path, folder: Path, name: str) -> Path:
    """``source`` with this benchmark's split, no early stop (the budget stops it), no live
    ports and no per-epoch pictures."""
    cfg = json.loads(json.dumps(source))
    dc, tc = cfg["data_config"], cfg["trainer_config"]
    dc["train_labels_path"], dc["val_labels_path"] = [str(train)], [str(val)]
    tc.update({"max_epochs": 10_000, "ckpt_dir": "models", "run_name": name,
               "trainer_accelerator": "cpu", "enable_progress_bar": False,
               "visualize_preds_during_training": False, "save_ckpt": True, "seed": 0,
               "use_wandb": False})
    tc["zmq"] = {"publish_port": None, "controller_port": None, "controller_polling_timeout": 10}
    if tc.get("early_stopping"):
        tc["early_stopping"]["stop_training_on_plateau"] = False
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def arm_sleap_nn(name: str, configs: list[Path], train: Path, val: Path, work: Path,
                 budget_s: float, exe: Path, score=None) -> dict:
    """Train sleap-nn for ``budget_s`` (split over stages as the wall time allows: each stage
    gets an equal share) and predict the validation frames."""
    folder = work / f"{name}.{int(budget_s)}s"
    shutil.rmtree(folder, ignore_errors=True)
    runs, stages = [], []
    for i, source in enumerate(configs):
        cfg = sleap_nn_config(yaml.safe_load(source.read_text()), train, val, folder,
                              f"stage{i}")
        log(f"{name}: training stage {i} ({source.name}) for {budget_s / len(configs):.0f} s")
        stages.append(run_logged([str(exe), "train", "--config-name", cfg.name,
                                  "--config-dir", str(cfg.parent)], folder,
                                  folder / f"train{i}.log", budget_s / len(configs)))
        runs.append(folder / "models" / f"stage{i}")
    out = folder / "val_predictions.slp"
    missing = [str(run) for run in runs if not (run / "best.ckpt").is_file()]
    if missing:  # stopped before its first checkpoint: nothing to predict with
        log(f"{name}: no checkpoint in {missing} at the budget")
        return {"arm": name, "budget_s": budget_s, "train": stages, "predictions": None,
                "train_wall_s": sum(s["wall_s"] for s in stages), "accuracy": None,
                "no_checkpoint": missing}
    models = [arg for run in runs for arg in ("-m", str(run))]
    predict = run_logged([str(exe), "track", "--data_path", str(val), *models, "-o", str(out),
                          "--device", "cpu"], folder, folder / "predict.log")
    return {"arm": name, "budget_s": budget_s, "train": stages, "predict": predict,
            "train_wall_s": sum(s["wall_s"] for s in stages), "predictions": str(out),
            "accuracy": (score or evaluate)(val, out) if out.is_file() else None}


def arm_posekit(train: Path, val: Path, work: Path, budget_s: float,
                name: str = "posekit-auto", auto_args: tuple[str, ...] = (),
                score=None) -> dict:
    """``posekit config auto`` (with ``auto_args``) then ``posekit train --budget`` for each
    chosen stage."""
    folder = work / f"{name}.{int(budget_s)}s"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    budget = f"{int(budget_s)}s"
    cfg = folder / "auto.yaml"
    start = time.perf_counter()
    chosen = run_logged([str(POSEKIT), "config", "auto", str(train), "--budget", budget,
                         *auto_args, "-o", str(cfg)], folder, folder / "auto.log")
    configs = sorted((p for p in folder.glob("auto*.yaml") if not p.name.endswith(".posekit.yaml")),
                     key=lambda p: "centroid" not in p.name)  # the centroid stage first
    stage_budget = (budget_s - (time.perf_counter() - start)) / max(1, len(configs))
    stages, runs = [], []
    for i, config in enumerate(configs):
        log(f"{name}: training {config.name} for {stage_budget:.0f} s")
        stages.append(run_logged([str(POSEKIT), "train", str(config), "--budget",
                                  f"{int(stage_budget)}s", f"trainer_config.run_name=stage{i}",
                                  "trainer_config.ckpt_dir=models",
                                  f"data_config.val_labels_path=[{val}]"], folder,
                                 folder / f"train{i}.log", stage_budget * 1.5))
        runs.append(folder / "models" / f"stage{i}")
    out = folder / "val_predictions.slp"
    models = [arg for run in runs for arg in ("-m", str(run))]
    predict = run_logged([str(POSEKIT), "track", str(val), *models, "-o", str(out)], folder,
                         folder / "predict.log")
    return {"arm": name, "budget_s": budget_s, "auto": chosen, "train": stages,
            "predict": predict, "train_wall_s": time.perf_counter() - start - predict["wall_s"],
            "predictions": str(out),
            "accuracy": (score or evaluate)(val, out) if out.is_file() else None}


def sleap_nn_auto_configs(train: Path, work: Path, exe: Path) -> list[Path]:
    """The configuration(s) sleap-nn's generator recommends for the training labels."""
    folder = work / "sleap-nn-generator"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    run_logged([str(exe), "config", str(train), "--auto", "-o", str(folder / "auto.yaml")],
               folder, folder / "config.log")
    found = sorted(folder.glob("auto*.yaml"), key=lambda p: "centered" in p.name)
    if not found:
        raise RuntimeError(f"sleap-nn config wrote nothing; see {folder / 'config.log'}")
    return found


def _mean_error(result: dict) -> float | None:
    """Mean error on the points every arm found, else on the points this arm found."""
    paired = result.get("paired") or {}
    if paired.get("common_mean_px") is not None:
        return paired["common_mean_px"]
    return (result.get("accuracy") or {}).get("mean_px")


def write_report(out: Path, results: list[dict], conditions: str, **fields) -> None:
    """The benchmark's JSON: ``fields`` (data, split, budget...), when and where it ran, the
    conditions noted by whoever ran it, and the results."""
    out.write_text(json.dumps({
        **fields, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cores": os.cpu_count(), "platform": platform.platform()},
        "conditions": conditions, "results": results}, indent=1))


def plot(results: list[dict], path: Path) -> None:
    """Validation error (and PCK@5px) against training wall time, one line per arm; an arm
    that found no point (or left no checkpoint) is drawn as crosses on PCK 0 and named in
    the error panel."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    empty, highest = [], 1.0
    arms = sorted({r["arm"] for r in results if not r.get("discarded")})
    for i, arm in enumerate(arms):  # one colour per arm in both panels
        rows = sorted((r for r in results if r["arm"] == arm), key=lambda r: r["budget_s"])
        t = [r["budget_s"] / 60 for r in rows]
        errors = [_mean_error(r) for r in rows]
        pck = [(r.get("paired") or {}).get("pck_5px") or 0.0 for r in rows]
        missing = [f"{x:g} min" + (" (no checkpoint)" if r.get("no_checkpoint") else "")
                   for x, e, r in zip(t, errors, rows, strict=True) if e is None]
        if missing:
            empty.append(f"{arm} at {', '.join(missing)}")
        if len(missing) == len(rows):
            why = "no checkpoint" if all(r.get("no_checkpoint") for r in rows) else \
                "no point found"
            ax2.plot(t, pck, "x--", color=f"C{i}", label=f"{arm} ({why})")
            continue
        ax1.plot(t, errors, "o-", color=f"C{i}", label=arm)
        ax2.plot(t, pck, "o-", color=f"C{i}", label=arm)
        highest = max([highest, *(e for e in errors if e is not None)])
    if empty:
        ax1.text(0.02, 0.04, "no validation point:\n" + "\n".join(empty),
                 transform=ax1.transAxes, fontsize=8, va="bottom")
    ax1.set(xlabel="training budget (CPU minutes)", ylim=(0, 1.4 * highest),
            ylabel="mean error (px; points all arms found, else its own)")
    ax1.legend(loc="upper right", fontsize=8)
    ax2.set(xlabel="training budget (CPU minutes)", ylabel="PCK@5px (missing = wrong)",
            ylim=(-0.03, 1))
    ax2.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def absolute_path(text: str) -> Path:
    """A path argument made absolute: the arms run their tools from their own folders."""
    return Path(text).expanduser().resolve()


def common_arguments(doc: str, data: str | None, budgets: str,
                     arms: str) -> argparse.ArgumentParser:
    """The options every time-to-accuracy benchmark takes (``data`` names the outputs; with
    ``None`` the caller names them, ``--work`` and ``--out`` default to ``None``)."""
    parser = argparse.ArgumentParser(description=doc.split("\n")[0])
    parser.add_argument("--budgets", default=budgets, help="CPU minutes, comma-separated")
    parser.add_argument("--arms", default=arms)
    parser.add_argument("--work", type=absolute_path, default=data and
                        ROOT / "benchmarks" / "results" / f"work_tta_{data}")
    parser.add_argument("--sleap-nn-venv", type=absolute_path, default=Path("/tmp/snvenv"))
    parser.add_argument("--out", type=absolute_path, default=data and ROOT / "benchmarks" / "results" /
                        f"time_to_accuracy.{data}.json")
    parser.add_argument("--note", default="", help="conditions to record (machine load...)")
    return parser


def run_arm(arm: str, data: str, train: Path, val: Path, work: Path, budget_s: float,
            exe: Path | None, generated: list[Path]) -> dict:
    """Train and score one arm at one budget."""
    if arm == "posekit-auto":
        return arm_posekit(train, val, work, budget_s)
    if arm == "posekit-auto-lite0":
        return arm_posekit(train, val, work, budget_s, name=arm,
                           auto_args=("--backbone", "efficientnet_lite0"))
    if arm == "sleap-nn-auto":
        return arm_sleap_nn(arm, generated, train, val, work, budget_s, exe)
    return arm_sleap_nn(arm, [SAMPLE_CONFIGS[data]], train, val, work, budget_s, exe)


def main() -> int:
    parser = common_arguments(__doc__, None, "5,15,30",
                              "posekit-auto,sleap-nn-auto,sleap-nn-sample")
    parser.add_argument("--data", choices=sorted(SAMPLE_CONFIGS), default="reaching")
    parser.add_argument("--arms-at", action="append", default=[], metavar="MIN=ARMS",
                        help="other arms at one budget, e.g. 30=posekit-auto,sleap-nn-sample")
    parser.add_argument("--fold", metavar="K/N", default=None,
                        help="reaching only: hold out fold K of N (the folds of "
                        "pretrained_encoder.py, every N-th frame by size) instead of the "
                        "6-frame split, for a larger held-out set")
    parser.add_argument("--resume", action="store_true",
                        help="keep the results already in --out and run only the missing "
                        "(budget, arm) pairs; pairing and plot cover them all")
    args = parser.parse_args()
    arms_at = {float(k): v.split(",") for k, v in (a.split("=") for a in args.arms_at)}
    args.work = args.work or ROOT / "benchmarks" / "results" / f"work_tta_{args.data}"
    args.out = args.out or ROOT / "benchmarks" / "results" / f"time_to_accuracy.{args.data}.json"
    args.work.mkdir(parents=True, exist_ok=True)
    if args.data == "synthetic":
        train, val = open_field_split(args.work)
    elif args.fold:
        from pretrained_encoder import make_folds

        k, n = (int(v) for v in args.fold.split("/"))
        train, val = make_folds(args.work, n)[k]
    else:
        train, val = make_split(DATA, args.work, seed=0)
    results = (json.loads(args.out.read_text())["results"]
               if args.resume and args.out.is_file() else [])
    done = {(r["budget_s"], r["arm"]) for r in results}
    todo = [(minutes, arm) for minutes in (float(b) for b in args.budgets.split(","))
            for arm in arms_at.get(minutes, args.arms.split(","))  # the tools take turns
            if (minutes * 60, arm) not in done]
    exe = ensure_sleap_nn(args.sleap_nn_venv) \
        if any(arm.startswith("sleap-nn") for _, arm in todo) else None
    generated = sleap_nn_auto_configs(train, args.work, exe) \
        if any(arm == "sleap-nn-auto" for _, arm in todo) else []
    for minutes, arm in todo:
        res = run_arm(arm, args.data, train, val, args.work, minutes * 60, exe, generated)
        log(f"{arm} at {minutes:g} min: {res['accuracy']}")
        results.append(res)
        args.out.write_text(json.dumps({"results": results}, indent=1))
    for budget_s in {r["budget_s"] for r in results}:
        same = [r for r in results if r["budget_s"] == budget_s and r.get("predictions")
                and not r.get("discarded")]
        paired = paired_accuracy(val, {r["arm"]: Path(r["predictions"]) for r in same},
                                 keep_errors=True)
        for r in same:
            r["paired"] = {**paired[r["arm"]], "gt_points": paired["gt_points"],
                           "common_points": paired["common_points"],
                           "point_frames": paired["point_frames"]}
    write_report(args.out, results, args.note, data=args.data, split=[str(train), str(val)])
    plot(results, args.out.with_suffix(".png"))
    log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
