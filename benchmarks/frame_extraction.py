"""Frame extraction speed and memory: posekit vs bare decode loops vs DeepLabCut 3.

For ``clip.mp4`` (1500 frames, 1024x1024) and a longer video (the same clip joined 8
times without re-encoding: 12,000 frames), each tool in a fresh process, taking turns:

* ``decode``: a bare OpenCV loop over the same frames (``cap.read()`` for the frames the
  extraction decodes, ``cap.grab()`` for those it passes): what OpenCV users (and
  DeepLabCut) pay for decoding alone.
* ``pyav``: a bare PyAV loop decoding the same frames (FFmpeg's threads, the pixels never
  touched): the least any decoder-based extraction can cost.
* ``reader``: posekit's OpenCV reader over the same frames, grey (one channel).
* ``posekit``: ``extract_frames(video, n, method="kmeans")`` (decode, features, k-means;
  frames/s = frames considered / its wall time), then ``write_selection`` with the PNGs
  (what DeepLabCut writes too). "warm": scikit-learn and sleap-io's video module already
  imported, as in a notebook or a longer script; "process": the whole fresh process.
  "capped": the long video with ``max_candidates`` = the short video's length (its
  memory must equal the short video's).
* ``dlc``: DeepLabCut 3's ``deeplabcut.extract_frames(config, "automatic", "kmeans",
  userfeedback=False)`` on a fresh project holding the video (linked, not copied), in its
  own throw-away virtual environment outside the repository (never a posekit dependency),
  created on first use. Compared with posekit's selection + PNGs (equal N, equal frames).

Every run reports wall time, CPU time and peak resident memory (``ru_maxrss``). Ratios are
per repeat (the tools ran back to back), summarised as median and min-max. The machine
is shared, so compare ratios, not absolute frames/s. Run from the repository root:

    .venv/bin/python benchmarks/frame_extraction.py --out benchmarks/results/frame_extraction.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("POSEKIT_SHARED_DATA", ROOT.parent / "shared" / "data"))
DLC_VERSION = "3.0.2"
DLC_VENV = Path.home() / ".cache" / "posekit-bench" / "deeplabcut-venv"
WORK = Path(tempfile.gettempdir()) / "posekit-bench-frames"


def log(msg: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {msg}", flush=True)


def join_video(src: Path, dst: Path, times: int) -> Path:
    """``src`` repeated ``times`` times in one file, packets copied (no re-encoding)."""
    import av

    if dst.is_file():
        return dst
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_suffix(".part.mp4")
    with av.open(str(src)) as inp, av.open(str(tmp), "w") as out:
        s_in = inp.streams.video[0]
        s_out = out.add_stream_from_template(s_in)
        packets = [p for p in inp.demux(s_in) if p.dts is not None]
        step = packets[0].duration or (packets[1].pts - packets[0].pts)
        span = len(packets) * step
        for k in range(times):
            for p in packets:
                q = av.Packet(bytes(p))
                q.pts, q.dts, q.duration = p.pts + k * span, p.dts + k * span, p.duration
                q.is_keyframe, q.stream = p.is_keyframe, s_out
                out.mux(q)
    tmp.replace(dst)
    return dst


# ---------------------------------------------------------------- workers (fresh processes)

def _usage(t0: float, c0: float) -> dict:
    import resource

    return {"wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _planned(video: Path, max_candidates: int) -> list[int]:
    """The frames extract_frames decodes for one video (its candidate plan)."""
    from posekit.refinement.sampling import probe_video, spread, window_frames

    info = probe_video(video)
    return spread(window_frames(info), max_candidates).tolist()


def worker_decode(video: Path, max_candidates: int, kind: str) -> dict:
    import cv2

    wanted = set(_planned(video, max_candidates))
    last = max(wanted)
    t0, c0 = time.perf_counter(), time.process_time()
    n = 0
    if kind == "decode":
        cap = cv2.VideoCapture(str(video))
        for i in range(last + 1):
            ok = cap.read()[0] if i in wanted else cap.grab()
            n += bool(ok) and i in wanted
        cap.release()
    elif kind == "pyav":
        import av

        with av.open(str(video)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for i, _frame in enumerate(container.decode(stream)):
                if i > last:
                    break
                n += i in wanted
    else:
        from posekit.io.video_readers import open_video_reader

        reader = open_video_reader(video, grayscale=True)
        for _ in reader.frames(0, wanted.__contains__):
            n += 1
        reader.close()
    return {"frames": n, **_usage(t0, c0)}


def worker_posekit(video: Path, n: int, max_candidates: int, out: Path, warm: bool) -> dict:
    t_start, c_start = time.perf_counter(), time.process_time()
    from posekit.refinement.frame_selection import extract_frames, write_selection

    if warm:
        import sklearn.cluster  # noqa: F401
        import sleap_io

        sleap_io.Video  # noqa: B018 - sleap-io loads its video module lazily
    t0, c0 = time.perf_counter(), time.process_time()
    sel = extract_frames([video], n=n, max_candidates=max_candidates, seed=0)
    usage = _usage(t0, c0)  # the selection itself: decode, features, k-means
    written = write_selection(sel, out / "frames.slp", png_dir=out / "png")
    return {"frames": sel.frames_decoded, "picked": len(sel.frames),
            "total_s": time.perf_counter() - t0, "pngs": sum(p.suffix == ".png" for p in written),
            "process_s": time.perf_counter() - t_start,
            "process_cpu_s": time.process_time() - c_start,
            "frame_idx": [f.frame_idx for f in sel.frames], **usage}


DLC_WORKER = r'''
import json, os, resource, sys, time
from pathlib import Path
t_start, c_start = time.perf_counter(), time.process_time()
import deeplabcut
import yaml
video, work, n = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
t_import = time.perf_counter() - t_start
cfg = deeplabcut.create_new_project("bench", "posekit", [str(video)], working_directory=str(work),
                                    copy_videos=False)
data = yaml.safe_load(Path(cfg).read_text())
data["numframes2pick"] = n
Path(cfg).write_text(yaml.safe_dump(data))
t0, c0 = time.perf_counter(), time.process_time()
deeplabcut.extract_frames(cfg, mode="automatic", algo="kmeans", userfeedback=False, crop=False)
wall, cpu = time.perf_counter() - t0, time.process_time() - c0
pngs = sorted(Path(cfg).parent.glob("labeled-data/*/*.png"))
print("RESULT " + json.dumps({
    "wall_s": wall, "cpu_s": cpu, "import_s": t_import, "picked": len(pngs),
    "frame_idx": sorted(int(p.stem[3:]) for p in pngs),
    "process_s": time.perf_counter() - t_start, "process_cpu_s": time.process_time() - c_start,
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "version": deeplabcut.__version__}))
'''


# ---------------------------------------------------------------- driver

def ensure_deeplabcut(venv: Path) -> tuple[Path | None, str | None]:
    """The DeepLabCut environment's python, or (None, why it could not be made)."""
    python = venv / "bin" / "python"
    check = [str(python), "-c", "import deeplabcut; print(deeplabcut.__version__)"]
    if python.is_file() and subprocess.run(check, capture_output=True, check=False).returncode == 0:
        return python, None
    log(f"creating DeepLabCut {DLC_VERSION} environment in {venv} (several GB, minutes)")
    venv.parent.mkdir(parents=True, exist_ok=True)
    steps = [[sys.executable, "-m", "venv", str(venv)],
             [str(venv / "bin" / "pip"), "install", "-q", f"deeplabcut=={DLC_VERSION}"], check]
    for cmd in steps:
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            tail = (proc.stdout + proc.stderr).strip().splitlines()[-15:]
            return None, f"`{' '.join(cmd)}` failed (exit {proc.returncode}): " + " | ".join(tail)
    return python, None


def run_worker(args: list[str], python: str = sys.executable) -> dict:
    proc = subprocess.run([python, *args], capture_output=True, text=True, check=False,
                          env={**os.environ, "PYTHONUNBUFFERED": "1"})
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if proc.returncode != 0 or line is None:
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-12:]
        raise RuntimeError(f"{' '.join(args[:3])} failed (exit {proc.returncode}): "
                           + " | ".join(tail))
    return json.loads(line[len("RESULT "):])


def stats(values: list[float]) -> dict:
    vals = [v for v in values if v is not None]
    if not vals:
        return {"median": None, "min": None, "max": None, "values": []}
    return {"median": statistics.median(vals), "min": min(vals), "max": max(vals),
            "values": [round(v, 4) for v in vals]}


def video_frames(video: Path) -> int:
    import cv2

    cap = cv2.VideoCapture(str(video))
    n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    cap.release()
    return n


def bench_video(video: Path, name: str, n: int, repeats: int, max_candidates: int,
                dlc_python: Path | None, work: Path, capped: int | None = None) -> dict:
    """All tools in turn, ``repeats`` times, on one video; with ``capped``, also posekit
    considering only that many frames (memory must then match the short video's)."""
    runs: dict[str, list[dict]] = {k: [] for k in ("decode", "pyav", "reader", "posekit_warm",
                                                   "posekit_process", "posekit_capped", "dlc")}
    me = str(Path(__file__).resolve())
    script = work / "dlc_worker.py"
    script.write_text(DLC_WORKER)
    for r in range(repeats):
        log(f"{name}: repeat {r + 1}/{repeats}")
        common = ["--video", str(video), "--n", str(n), "--max-candidates", str(max_candidates)]
        for kind in ("decode", "pyav", "reader"):
            runs[kind].append(run_worker([me, "--worker", kind, *common]))
        for key, extra in (("posekit_warm", ["--warm"]), ("posekit_process", []),
                           ("posekit_capped", ["--warm", "--max-candidates", str(capped)])):
            if key == "posekit_capped" and capped is None:
                continue
            out = Path(tempfile.mkdtemp(prefix=f"posekit-{name}-", dir=work))
            runs[key].append(run_worker([me, "--worker", "posekit", *common, "--work", str(out),
                                         *extra]))
        if dlc_python is not None:
            out = Path(tempfile.mkdtemp(prefix=f"dlc-{name}-", dir=work))
            runs["dlc"].append(run_worker([str(script), str(video), str(out), str(n)],
                                          python=str(dlc_python)))
    return summarise(runs, video_frames(video))


def summarise(runs: dict[str, list[dict]], n_frames: int) -> dict:
    def fps(run: dict, key: str = "wall_s") -> float:
        return run.get("frames", n_frames) / run[key]

    pairs = list(zip(runs["decode"], runs["reader"], runs["posekit_warm"],
                     runs["posekit_process"], strict=True))
    ratios = {
        "posekit_warm_vs_bare_decode": stats([fps(p) / fps(d) for d, _, p, _ in pairs]),
        "posekit_warm_vs_pyav_decode": stats([fps(p) / fps(v) for p, v in
                                              zip(runs["posekit_warm"], runs["pyav"])]),
        "posekit_warm_vs_posekit_reader": stats([fps(p) / fps(r) for _, r, p, _ in pairs]),
        "posekit_warm_cpu_vs_bare_decode_cpu": stats([d["cpu_s"] / p["cpu_s"]
                                                       for d, _, p, _ in pairs]),
        "posekit_process_vs_bare_decode": stats([d["wall_s"] / q["process_s"]
                                                  for d, _, _, q in pairs]),
    }
    if runs["dlc"]:
        ratios["dlc_time_over_posekit_warm"] = stats(  # both: selection + writing the PNGs
            [dl["wall_s"] / p["total_s"] for (_, _, p, _), dl in zip(pairs, runs["dlc"])])
        ratios["dlc_process_over_posekit_process"] = stats(
            [dl["process_s"] / q["process_s"] for (_, _, _, q), dl in zip(pairs, runs["dlc"])])
    return {
        "n_frames": n_frames,
        "frames_per_s": {k: stats([fps(r) for r in v]) for k, v in runs.items() if v},
        "peak_rss_mb": {k: stats([r["peak_rss_mb"] for r in v]) for k, v in runs.items() if v},
        "ratios": ratios, "runs": runs,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--worker", choices=("decode", "pyav", "reader", "posekit"))
    ap.add_argument("--video", type=Path, default=DATA / "clip.mp4")
    ap.add_argument("--n", type=int, default=20)
    ap.add_argument("--max-candidates", type=int, default=10_000)
    ap.add_argument("--warm", action="store_true")
    ap.add_argument("--work", type=Path, default=WORK)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--long-times", type=int, default=8, help="clip copies in the long video")
    ap.add_argument("--long-repeats", type=int, default=2)
    ap.add_argument("--dlc-venv", type=Path, default=DLC_VENV)
    ap.add_argument("--skip-dlc", action="store_true")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/frame_extraction.json")
    a = ap.parse_args()
    if a.worker:
        if a.worker == "posekit":
            result = worker_posekit(a.video, a.n, a.max_candidates, a.work, a.warm)
        else:
            result = worker_decode(a.video, a.max_candidates, a.worker)
        print("RESULT " + json.dumps(result))
        return
    a.work.mkdir(parents=True, exist_ok=True)
    dlc_python, dlc_error = (None, "skipped (--skip-dlc)") if a.skip_dlc else \
        ensure_deeplabcut(a.dlc_venv)
    if dlc_error:
        log(f"DeepLabCut NOT benchmarked: {dlc_error}")
    long_video = join_video(a.video, a.work / f"{a.video.stem}_x{a.long_times}.mp4", a.long_times)
    report = {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                    "python": platform.python_version()},
        "settings": {"n": a.n, "method": "kmeans", "max_candidates": a.max_candidates,
                     "repeats": a.repeats, "long_repeats": a.long_repeats},
        "deeplabcut": {"version": DLC_VERSION if dlc_python else None, "venv": str(a.dlc_venv),
                       "error": dlc_error},
        "videos": {},
    }
    short_frames = video_frames(a.video)
    long_frames = video_frames(long_video)
    for name, video, reps, cap, capped in (
            ("clip", a.video, a.repeats, a.max_candidates, None),
            (f"clip_x{a.long_times}", long_video, a.long_repeats,
             max(a.max_candidates, long_frames), short_frames)):
        report["videos"][name] = {"path": str(video), "max_candidates": cap,
                                  "capped_max_candidates": capped,
                                  **bench_video(video, name, a.n, reps, cap, dlc_python,
                                                a.work, capped)}
    a.out.parent.mkdir(parents=True, exist_ok=True)
    from posekit.utils import atomic_write_text

    atomic_write_text(a.out, json.dumps(report, indent=1) + "\n")
    for name, v in report["videos"].items():
        r = v["ratios"]
        log(f"{name}: posekit/bare decode: OpenCV {r['posekit_warm_vs_bare_decode']['median']:.2f}"
            f", PyAV {r['posekit_warm_vs_pyav_decode']['median']:.2f}; "
            + (f"DLC/posekit time {r['dlc_time_over_posekit_warm']['median']:.1f}x; "
               if "dlc_time_over_posekit_warm" in r else "")
            + f"peak RSS posekit {v['peak_rss_mb']['posekit_warm']['median']:.0f} MB")
    log(f"wrote {a.out}")


if __name__ == "__main__":
    main()
