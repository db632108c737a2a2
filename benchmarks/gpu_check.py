"""GPU check: the device tests, every model type trained briefly, inference timed, sleap-nn alongside.

Run by ``benchmarks/gpu_check.sh`` (which prepares the virtual environment); every step runs
in its own process with a timeout taken from one overall budget, so the whole check ends in
time even when a step hangs. ``--cpu`` runs the same steps on the CPU with smaller sizes and
says so (``"device": "cpu"``, CUDA paths untested).

    .venv/bin/python benchmarks/gpu_check.py [--cpu] [--budget-s 570] [--out FILE]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_vs_sleap_nn as vs  # sleap-nn's environment and log readers

from posekit.utils import atomic_write_text

MODEL_TYPES = ("single_instance", "centroid", "centered_instance", "bottomup",
               "multi_class_bottomup", "multi_class_topdown")
ONE_ANIMAL = ("single_instance",)  # the others train on the two-animal data (tracks, classes)

#: Tests that go through device code on a CUDA machine: training with ``accelerator: auto``
#: (the GPU) and inference with ``device="auto"`` (torch on the GPU). No test in the suite
#: parametrizes over devices or skips without CUDA.
CUDA_TESTS = ("tests/training/test_single_instance_training.py",
              "tests/training/test_multi_animal_models.py",
              "tests/training/test_training_features.py",
              "tests/training/test_distributed.py",
              "tests/inference")
#: The CPU run keeps to the quick ones (2 shared cores).
CPU_TESTS = ("tests/training/test_distributed.py", "tests/inference/test_interfaces.py")


@dataclass(frozen=True)
class Sizes:
    """How much data, training and timing each mode asks for."""

    frames: int
    size: int
    epochs: int
    steps: int
    batch: int
    infer_batch: int
    tests: tuple[str, ...]
    test_marks: str
    train_timeout_s: float
    test_timeout_s: float


SIZES = {
    "cuda": Sizes(frames=200, size=160, epochs=3, steps=50, batch=16, infer_batch=16,
                  tests=CUDA_TESTS, test_marks="", train_timeout_s=50, test_timeout_s=200),
    "cpu": Sizes(frames=20, size=64, epochs=1, steps=2, batch=4, infer_batch=4,
                 tests=CPU_TESTS, test_marks="not slow", train_timeout_s=40, test_timeout_s=80),
}


def log(msg: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {msg}", flush=True)


class Budget:
    """One deadline for the whole check; each step gets what it asks for, at most what is
    left (less a reserve for writing the report)."""

    def __init__(self, seconds: float, reserve_s: float = 15.0) -> None:
        self.deadline = time.monotonic() + seconds
        self.reserve_s = reserve_s

    def left(self) -> float:
        return self.deadline - time.monotonic() - self.reserve_s

    def timeout(self, wanted: float) -> float:
        return max(0.0, min(wanted, self.left()))


def run_step(name: str, cmd: list[str], cwd: Path, budget: Budget, wanted_s: float,
             log_dir: Path | None = None) -> dict:
    """Run one command with a timeout; its output goes to ``<log_dir or cwd>/<name>.log``."""
    timeout = budget.timeout(wanted_s)
    log_path = (log_dir or cwd) / f"{name}.log"
    if timeout < 5:
        return {"status": "skipped", "reason": "time budget spent", "seconds": 0.0}
    log(f"{name}: {' '.join(cmd[:4])}{' ...' if len(cmd) > 4 else ''} (timeout {timeout:.0f} s)")
    start = time.perf_counter()
    with open(log_path, "w") as fh:
        try:
            proc = subprocess.run(cmd, cwd=cwd, stdout=fh, stderr=subprocess.STDOUT,
                                  timeout=timeout, env={**os.environ, "PYTHONUNBUFFERED": "1"},
                                  check=False)
            status = "ok" if proc.returncode == 0 else f"failed (exit {proc.returncode})"
        except subprocess.TimeoutExpired:
            status = f"timeout after {timeout:.0f} s"
    seconds = time.perf_counter() - start
    tail = log_path.read_text(errors="replace").strip().splitlines()[-3:]
    log(f"{name}: {status} in {seconds:.1f} s")
    return {"status": status, "seconds": round(seconds, 2), "log": str(log_path), "tail": tail}


def environment(device: str) -> dict:
    """Versions and what this machine offers (torch, CUDA, ONNX Runtime providers)."""
    import torch

    import posekit

    info: dict = {"python": platform.python_version(), "torch": torch.__version__,
                  "posekit": getattr(posekit, "__version__", None),
                  "cuda_available": torch.cuda.is_available(), "cpu_cores": os.cpu_count(),
                  "cpu": platform.processor() or platform.machine()}
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
        info["cuda"] = torch.version.cuda
    try:
        import onnxruntime as ort

        info["onnxruntime"] = ort.__version__
        info["onnxruntime_providers"] = ort.get_available_providers()
    except ImportError:
        info["onnxruntime"] = None
    if device == "cpu":
        info["note"] = "run with --cpu: device cpu, CUDA code paths untested"
    return info


def make_data(work: Path, sizes: Sizes, budget: Budget) -> dict[str, Path]:
    """Synthetic labels (``posekit data synth``): one mouse, and two tracked mice + video."""
    exe = str(Path(sys.executable).with_name("posekit"))
    paths = {"one": work / "one.pkg.slp", "two": work / "two.pkg.slp"}
    for key, animals in (("one", 1), ("two", 2)):
        cmd = [exe, "data", "synth", "-o", str(paths[key]), "--frames", str(sizes.frames),
               "--size", str(sizes.size), "--animals", str(animals), "--seed", str(animals),
               "--occluders", "0", "--force"]
        if key == "one":
            cmd += ["--video", str(work / "one.mp4")]
        step = run_step(f"synth_{key}", cmd, work, budget, 60)
        if step["status"] != "ok":
            raise RuntimeError(f"posekit data synth failed: {step['tail']}")
    paths["video"] = work / "one.mp4"
    return paths


def write_config(model_type: str, labels: Path, folder: Path, sizes: Sizes, device: str) -> Path:
    """``posekit config init`` output with this check's data, length and device."""
    from posekit.config import init_config

    cfg = yaml.safe_load(init_config(model_type))
    dc, tc = cfg["data_config"], cfg["trainer_config"]
    dc["train_labels_path"] = [str(labels)]
    dc["validation_fraction"] = 0.2
    dc["preprocessing"]["min_crop_size"] = 32
    tc.update({"max_epochs": sizes.epochs, "min_train_steps_per_epoch": sizes.steps, "seed": 0,
               "ckpt_dir": "models", "run_name": "bench", "enable_progress_bar": False,
               "visualize_preds_during_training": False, "trainer_accelerator": device,
               "trainer_devices": 1})
    tc["train_data_loader"]["batch_size"] = sizes.batch
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def _training_numbers(run: Path) -> dict:
    """Per-epoch training times (``training_log.csv``), posekit's own training samples/s
    (samples seen / time in ``fit``) and the validation metrics (``metrics.val.json``)."""
    out: dict = {}
    log_path = run / "training_log.csv"
    if log_path.is_file():
        with open(log_path) as fh:
            out["epoch_train_times_s"] = [round(float(r["train_time_s"]), 3)
                                          for r in csv.DictReader(fh)
                                          if r.get("train_time_s") not in (None, "", "nan")]
    metrics_path = run / "metrics.val.json"
    if metrics_path.is_file():
        m = json.loads(metrics_path.read_text())
        out["samples_per_s"] = (m.get("training") or {}).get("train_samples_per_s")
        out["val_mean_px"] = (m.get("localization") or {}).get("mean_px")
        out["val_map"] = (m.get("oks") or {}).get("map")
    return out


def train_all(data: dict[str, Path], work: Path, sizes: Sizes, device: str,
              budget: Budget) -> dict[str, dict]:
    """Every model type trained in one worker process (imports paid once; a timeout for the
    whole set). The worker writes its results after each model, so a timeout keeps those
    already done."""
    spec = {"work": str(work), "device": device, "sizes": vars(sizes),
            "labels": {t: str(data["one"] if t in ONE_ANIMAL else data["two"])
                       for t in MODEL_TYPES}, "out": str(work / "training.json")}
    (work / "training_spec.json").write_text(json.dumps(spec))
    step = run_step("training", [sys.executable, __file__, "--train",
                                 str(work / "training_spec.json")], work, budget,
                    sizes.train_timeout_s * len(MODEL_TYPES))
    done = json.loads(Path(spec["out"]).read_text()) if Path(spec["out"]).is_file() else {}
    missing = {"status": f"not reached ({step['status']})", "seconds": 0.0}
    return {t: done.get(t, dict(missing)) for t in MODEL_TYPES}


def train_worker(spec: dict) -> None:
    """The worker behind :func:`train_all`: ``train()`` on each model type's config (the one
    ``posekit train`` runs), its fit stopped after ``train_timeout_s`` at the latest."""
    from posekit.training.trainer import train

    sizes = Sizes(**{**spec["sizes"], "tests": tuple(spec["sizes"]["tests"])})
    results: dict[str, dict] = {}
    for model_type in MODEL_TYPES:
        folder = Path(spec["work"]) / model_type
        cfg = write_config(model_type, Path(spec["labels"][model_type]), folder, sizes,
                           spec["device"])
        log(f"training {model_type}")
        start = time.perf_counter()
        cwd = os.getcwd()
        try:
            os.chdir(folder)  # ckpt_dir "models" is relative, as for `posekit train`
            result = train(cfg, time_limit_s=sizes.train_timeout_s / 2)  # + finishing
            entry: dict = {"status": "ok", "run": str(result.run_dir.resolve()),
                           "epochs": result.epochs}
        except Exception as exc:  # noqa: BLE001 - reported; the other model types still train
            entry = {"status": f"failed: {type(exc).__name__}: {exc}"}
        finally:
            os.chdir(cwd)
        entry["seconds"] = round(time.perf_counter() - start, 2)
        if "run" in entry:
            entry.update(_training_numbers(Path(entry["run"])))
        results[model_type] = entry
        log(f"{model_type}: {entry['status']} in {entry['seconds']:.1f} s")
        atomic_write_text(spec["out"], json.dumps(results, indent=1))


def time_inference(runs: dict[str, str], labels: dict[str, str], device: str,
                   batch: int) -> dict[str, dict]:
    """Frames/s of each trained model (the worker behind ``infer``): posekit's torch backend
    on ``device`` end to end over the labelled frames (top-down instance models on the
    labelled centroids, a centroid model with the centered-instance model as the top-down
    pair), after one warm-up pass; plus ONNX Runtime's CUDA provider on the exported graph
    when that provider is installed."""
    from posekit.inference.pipeline import load_model, predict_source
    from posekit.inference.run_folder import open_run_folder
    from posekit.io.labels import load_labels

    out: dict[str, dict] = {}
    for model_type, run in runs.items():
        try:
            folder = open_run_folder(run)
            topdown = folder.model_type.stage == "instances"
            source = load_labels(labels[model_type])
            pair = [run, runs["centered_instance"]] if (
                folder.model_type.stage == "centroids" and "centered_instance" in runs) else [run]
            model = load_model(*pair, backend="torch", device=device, batch_size=batch,
                               gt_centroids=topdown, peak_threshold=0.2)
            predict_source(model, source, use_gt_centroids=topdown)  # warm-up
            report = predict_source(model, source, use_gt_centroids=topdown)
            out[model_type] = {"torch_frames_per_s": round(report.frames_per_second, 2),
                               "frames": report.frames, "device": device,
                               "models": [Path(r).parent.parent.name for r in pair],
                               "anchors": "labelled centroids" if topdown else "predicted"}
            out[model_type]["onnxruntime_cuda"] = _onnx_cuda(folder, batch)
        except Exception as exc:  # noqa: BLE001 - one model's failure is reported, not fatal
            out[model_type] = {"error": f"{type(exc).__name__}: {exc}"}
    return out


def _onnx_cuda(folder, batch: int) -> dict:
    """The exported graph alone on ONNX Runtime's CUDA provider (model time, no decoding)."""
    try:
        import numpy as np
        import onnxruntime as ort
    except ImportError:
        return {"status": "onnxruntime not installed"}
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        return {"status": "CUDAExecutionProvider not available (onnxruntime-gpu not installed); "
                          "torch timed instead"}
    path = folder.onnx_path
    if path is None:
        return {"status": "no exported graph"}
    session = ort.InferenceSession(str(path), providers=["CUDAExecutionProvider"])
    inputs = session.get_inputs()
    side = folder.info.crop_size or 160
    dims = [d if isinstance(d, int) else side for d in inputs[0].shape]
    dims[0] = batch
    feed = {inputs[0].name: np.zeros(dims, np.float32)}
    for extra in inputs[1:]:
        feed[extra.name] = np.asarray(0.2, np.float32)
    session.run(None, feed)
    start, runs = time.perf_counter(), 20
    for _ in range(runs):
        session.run(None, feed)
    seconds = time.perf_counter() - start
    return {"status": "ok", "input": dims, "frames_per_s": round(runs * batch / seconds, 2)}


def infer_step(training: dict[str, dict], data: dict[str, Path], work: Path, sizes: Sizes,
               device: str, budget: Budget) -> dict:
    """:func:`time_inference` in its own process (with a timeout) on the models that trained."""
    runs = {t: r["run"] for t, r in training.items() if r["status"] == "ok"}
    if not runs:
        return {"status": "skipped", "reason": "no model trained"}
    spec = {"runs": runs, "device": device, "batch": sizes.infer_batch,
            "labels": {t: str(data["one"] if t in ONE_ANIMAL else data["two"]) for t in runs},
            "out": str(work / "inference.json")}
    (work / "inference_spec.json").write_text(json.dumps(spec))
    step = run_step("inference", [sys.executable, __file__, "--infer",
                                  str(work / "inference_spec.json")], work, budget, 120)
    if Path(spec["out"]).is_file():
        step["models"] = json.loads(Path(spec["out"]).read_text())
    return step


def test_step(sizes: Sizes, work: Path, budget: Budget) -> dict:
    """The device tests under pytest (one process, a timeout)."""
    cmd = [sys.executable, "-m", "pytest", *sizes.tests, "-q", "-p", "no:cacheprovider"]
    if sizes.test_marks:
        cmd += ["-m", sizes.test_marks]
    step = run_step("tests", cmd, ROOT, budget, sizes.test_timeout_s, log_dir=work)
    step["selection"] = list(sizes.tests) + ([f"-m {sizes.test_marks}"] if sizes.test_marks
                                             else [])
    summary = [line for line in step.get("tail", []) if " in " in line and (
        "passed" in line or "failed" in line or "error" in line)]
    step["summary"] = summary[-1].strip("= ") if summary else None
    return step


def sleap_nn_step(args: argparse.Namespace, data: dict[str, Path], work: Path, sizes: Sizes,
                  device: str, budget: Budget, posekit_run: str | None) -> dict:
    """sleap-nn (its own throw-away environment, never a posekit dependency) trained from the
    same single-instance YAML file and timed predicting the same video, beside posekit."""
    if not args.sleap_nn:
        return {"status": "skipped", "reason": "--cpu runs leave sleap-nn out unless --sleap-nn"
                if device == "cpu" else "--no-sleap-nn"}
    folder = work / "sleap_nn"
    folder.mkdir(parents=True, exist_ok=True)
    install = run_step("sleap_nn_install", [
        sys.executable, "-c", ("import sys; from pathlib import Path; sys.path.insert(0, sys.argv[1]);"
                               " import bench_vs_sleap_nn as vs; vs.ensure_sleap_nn(Path(sys.argv[2]))"),
        str(Path(__file__).resolve().parent), str(args.sleap_nn_venv)], folder, budget, 300)
    out: dict = {"version": vs.SLEAP_NN_VERSION, "install": install}
    exe = args.sleap_nn_venv / "bin" / "sleap-nn"
    if install["status"] != "ok" or not exe.is_file():
        out["status"] = "skipped"
        out["reason"] = "sleap-nn could not be installed in time"
        return out
    cfg = write_config("single_instance", data["one"], folder, sizes, device)
    train = run_step("sleap_nn_train", [str(exe), "train", "--config-name", cfg.name,
                                        "--config-dir", str(folder)], folder, budget,
                     sizes.train_timeout_s * 2)
    run = folder / "models" / "bench"
    if train["status"] == "ok":
        times = vs.epoch_train_times(run, "sleap_nn")
        steady = times[1:] if len(times) > 1 else times
        n_train = round(sizes.frames * 0.8)  # one pass over the training frames per epoch
        train["samples_per_s"] = round(n_train / (sum(steady) / len(steady)), 2) if steady else None
    out["training"] = train
    video = str(data["video"])
    frames = f"0-{sizes.frames - 1}"
    for tool, cmd in (("sleap_nn", [str(exe), "track", "--data_path", video, "-m", str(run),
                                    "-o", str(folder / "sleap_nn_video.slp"), "--batch_size",
                                    str(sizes.infer_batch), "--frames", frames,
                                    "--device", device]),
                      ("posekit", [str(Path(sys.executable).with_name("posekit")), "track",
                                   video, "-m", str(posekit_run), "-o",
                                   str(folder / "posekit_video.slp"), "--batch-size",
                                   str(sizes.infer_batch), "--frames", frames, "--device",
                                   device])):
        if tool == "sleap_nn" and train["status"] != "ok" or posekit_run is None:
            continue
        step = run_step(f"{tool}_track", cmd, folder, budget, 90)
        step["frames_per_s_whole_command"] = round(sizes.frames / step["seconds"], 2) if (
            step["status"] == "ok") else None
        out[f"track_{tool}"] = step
    out["status"] = "ok" if train["status"] == "ok" else "failed"
    return out


def _num(value: object) -> str:
    return f"{value:.1f}" if isinstance(value, (int, float)) else str(value)


def summary_lines(report: dict) -> list[str]:
    """The report in a few lines."""
    lines = [f"device: {report['device']}" + (" (CUDA paths untested)" if report["device"] == "cpu"
                                              else f" ({report['environment'].get('gpu')})"),
             f"tests: {report['tests'].get('status')} - {report['tests'].get('summary')}"]
    for model_type, r in report["training"].items():
        inf = report["inference"].get("models", {}).get(model_type, {})
        lines.append(f"{model_type:21s} train {r['status'][:24]:4s} {r['seconds']:6.1f} s, "
                     f"{_num(r.get('samples_per_s'))} samples/s, val error "
                     f"{_num(r.get('val_mean_px'))} px; inference "
                     f"{_num(inf.get('torch_frames_per_s', inf.get('error')))} frames/s"
                     + (" (with centered_instance)" if len(inf.get("models", [])) > 1 else ""))
    sn = report["sleap_nn"]
    lines.append(f"sleap-nn: {sn.get('status')} {sn.get('reason', '')}".rstrip())
    if "training" in sn:
        lines.append(f"  sleap-nn training {sn['training']['status']}, "
                     f"{sn['training'].get('samples_per_s')} samples/s; track: "
                     f"sleap-nn {sn.get('track_sleap_nn', {}).get('frames_per_s_whole_command')} "
                     f"vs posekit {sn.get('track_posekit', {}).get('frames_per_s_whole_command')}"
                     " frames/s (whole commands)")
    lines.append(f"passed: {report['passed']}; {report['seconds']:.0f} s")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cpu", action="store_true", help="run on the CPU, smaller sizes")
    parser.add_argument("--budget-s", type=float, default=570.0, help="time for every step")
    parser.add_argument("--out", type=Path, default=None,
                        help="report (default: $OUT/gpu_check.json, else "
                             "benchmarks/results/gpu_check.json)")
    parser.add_argument("--work", type=Path, default=None,
                        help="scratch folder, emptied first (default: <tmp>/posekit-gpu-check)")
    parser.add_argument("--sleap-nn", action=argparse.BooleanOptionalAction, default=None,
                        help="also run sleap-nn (default: on with CUDA, off with --cpu)")
    parser.add_argument("--sleap-nn-venv", type=Path, default=Path.home() / ".cache" /
                        "posekit-bench" / f"sleap-nn-{vs.SLEAP_NN_VERSION}")
    parser.add_argument("--infer", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--train", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.train is not None:  # the worker process of the training step
        train_worker(json.loads(args.train.read_text()))
        return 0
    if args.infer is not None:  # the worker process of the inference step
        spec = json.loads(args.infer.read_text())
        result = time_inference(spec["runs"], spec["labels"], spec["device"], spec["batch"])
        Path(spec["out"]).write_text(json.dumps(result, indent=1))
        return 0
    started = time.monotonic()
    device = "cpu" if args.cpu else "cuda"
    args.sleap_nn = (device == "cuda") if args.sleap_nn is None else args.sleap_nn
    out = args.out or (Path(os.environ["OUT"]) / "gpu_check.json" if os.environ.get("OUT")
                       else ROOT / "benchmarks" / "results" / "gpu_check.json")
    work = (args.work or Path(tempfile.gettempdir()) / "posekit-gpu-check").resolve()
    shutil.rmtree(work, ignore_errors=True)  # fresh run folders (no "bench_1")
    work.mkdir(parents=True)
    report: dict = {"created": datetime.now(UTC).isoformat(timespec="seconds"), "device": device,
                    "cuda_paths": "untested (--cpu)" if device == "cpu" else "exercised",
                    "environment": environment(device)}
    log(f"gpu_check on {device}; report -> {out}")
    if device == "cuda" and not report["environment"]["cuda_available"]:
        report.update(passed=False, error="no CUDA device visible to torch; run with --cpu")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=1))
        log(report["error"])
        return 1
    sizes, budget = SIZES[device], Budget(args.budget_s)
    report["sizes"] = {k: v for k, v in vars(sizes).items() if k != "tests"}
    data = make_data(work, sizes, budget)
    report["training"] = train_all(data, work, sizes, device, budget)
    report["inference"] = infer_step(report["training"], data, work, sizes, device, budget)
    report["tests"] = test_step(sizes, work, budget)
    single = report["training"].get("single_instance", {})
    report["sleap_nn"] = sleap_nn_step(args, data, work, sizes, device, budget,
                                       single.get("run") if single.get("status") == "ok" else None)
    report["seconds"] = round(time.monotonic() - started, 1)
    report["passed"] = (report["tests"]["status"] == "ok" and report["inference"]["status"] == "ok"
                        and all(r["status"] == "ok" for r in report["training"].values()))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1))
    print("\n".join(["", "== gpu_check summary ==", *summary_lines(report),
                     f"report: {out}"]), flush=True)
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
