"""Labeled-video rendering speed and memory: ``posekit.render.render_video`` vs sleap-io.

On ``clip.mp4`` (1024x1024, 1,500 frames, 25 frames/s) with ``clip.slp`` (two flies,
13 nodes), each tool renders the first N frames (N = 300 and 1,500) in a fresh process,
the tools taking turns, same encoder settings (libx264, crf 25, preset superfast), points
coloured by track. Each run reports wall time (the render call only, imports and label
loading excluded), frames/s and the process's peak resident memory (``ru_maxrss``).
Memory must not grow with N for posekit (it streams); sleap-io's renderer is called as
documented. Run from the repository root (2 cores):

    .venv/bin/python benchmarks/render_video.py --out benchmarks/results/render_video.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DATA = Path(os.environ.get("POSEKIT_SHARED_DATA", Path(__file__).resolve().parents[2]
                           / "shared" / "data"))

CHILD = r"""
import json, resource, sys, time
tool, video, labels_path, out, n = sys.argv[1:6]
n = int(n)
if tool == "posekit":
    from posekit.render import PoseFrames, render_video
    poses = PoseFrames.load(labels_path)
    t = time.perf_counter()
    res = render_video(video, poses, out, stop=n, color_by="track", crf=25, force=True)
    frames = res.frames
else:
    import sleap_io as sio
    labels = sio.load_slp(labels_path)
    t = time.perf_counter()
    sio.render_video(labels, out, start=0, end=n, color_by="track", crf=25,
                     x264_preset="superfast", show_progress=False)
    import av
    with av.open(out) as c:
        frames = c.streams.video[0].frames
wall = time.perf_counter() - t
print(json.dumps({"wall_s": wall, "frames": frames, "fps": frames / wall,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run(tool: str, n: int, work: Path) -> dict:
    """One render in a fresh process; its timing and peak memory."""
    out = work / f"{tool}_{n}.mp4"
    cmd = [sys.executable, "-c", CHILD, tool, str(DATA / "clip.mp4"), str(DATA / "clip.slp"),
           str(out), str(n)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode:
        return {"tool": tool, "n": n, "error": proc.stderr[-2000:]}
    row = json.loads(proc.stdout.strip().splitlines()[-1])
    row.update(tool=tool, n=n, output_mb=out.stat().st_size / 2**20)
    print(json.dumps(row), flush=True)
    return row


def main() -> None:
    """Run the tools taking turns at each length and write the JSON report."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lengths", default="300,1500")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/render_video.json"))
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in map(int, args.lengths.split(",")):
            for tool in ("posekit", "sleap_io"):
                rows.append(run(tool, n, Path(tmp)))
    import sleap_io

    import posekit

    report = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                          "posekit": posekit.__version__, "sleap_io": sleap_io.__version__},
              "date": time.strftime("%Y-%m-%d"), "video": "clip.mp4 1024x1024 25 fps",
              "settings": "libx264 crf 25 superfast, color by track", "runs": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
