"""One full refinement round on synthetic mice, with the commands a user types.

    label -> train -> predict a new session -> choose the failing frames -> correct them
    -> merge -> split without leakage -> train again -> compare on a held-out session

The renderer's true poses stand in for the person who labels (steps marked "person"): in a
real project those are done in SLEAP's labelling GUI. Every other step is a ``posekit``
command, run here through the same entry point as the shell. Run from the repository root:

    .venv/bin/python examples/refinement_round.py --out round_example

It takes ~4 minutes on 2 CPU cores (two short trainings of 25 epochs); ``docs/refinement.md`` walks
through its output.
"""

from __future__ import annotations

import argparse
import json
import shlex
from pathlib import Path

import sleap_io as sio
import yaml

from posekit.cli.main import main as posekit
from posekit.demo import demo_config
from posekit.io.synthetic import SynthSpec, write_dataset

SIZE = 128


def run(*args: str) -> None:
    """``posekit ARGS``, echoed as a shell line; stops on failure."""
    print(f"\n$ posekit {shlex.join(args)}", flush=True)
    code = posekit(list(args))
    if code != 0:
        raise SystemExit(f"posekit {args[0]} failed with status {code}")


def label_from_truth(frames_file: Path, truth_file: Path, out: Path) -> Path:
    """Person: label the frames listed in ``frames_file`` (its suggestions or its labelled
    frames), here by copying the true poses as user instances; the package's own video
    references are kept so merge can match the frames."""
    frames = sio.load_slp(str(frames_file))
    truth = sio.load_slp(str(truth_file))
    by_frame = {lf.frame_idx: lf for lf in truth.labeled_frames}
    wanted = [(s.video, s.frame_idx) for s in frames.suggestions] or \
        [(lf.video, lf.frame_idx) for lf in frames.labeled_frames]
    skeleton = frames.skeletons[0] if frames.skeletons else truth.skeletons[0]
    labelled = []
    for video, idx in wanted:
        true = by_frame[idx].user_instances[0]
        inst = sio.Instance.from_numpy(true.numpy(), skeleton=skeleton)
        labelled.append(sio.LabeledFrame(video=video, frame_idx=idx, instances=[inst]))
    videos = list({id(v): v for v, _ in wanted}.values())
    labels = sio.Labels(labeled_frames=labelled, videos=videos, skeletons=[skeleton])
    labels.save(str(out), embed="user" if out.name.endswith(".pkg.slp") else False)
    return out


def write_config(path: Path, runs: Path, name: str, epochs: int) -> Path:
    """The demo's small single-animal UNet as a sleap-nn YAML file."""
    cfg = demo_config(Path("unset.slp"), runs, max_epochs=epochs)
    cfg["trainer_config"].update({"run_name": name, "enable_progress_bar": False})
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("round_example"))
    ap.add_argument("--frames", type=int, default=900, help="frames of the first session")
    ap.add_argument("--label", type=int, default=40, help="frames labelled at the start")
    ap.add_argument("--round-n", type=int, default=30, help="frames chosen by the round")
    ap.add_argument("--epochs", type=int, default=25)
    a = ap.parse_args()
    out = a.out
    out.mkdir(parents=True, exist_ok=True)
    common = {"height": SIZE, "width": SIZE, "n_animals": 1, "skeleton": "mouse"}
    # Session 1: the lab's first recording. Sessions 2 and 3: a new condition (dimmer,
    # drifting light, blurrier, a larger animal) the first model has never seen.
    write_dataset(SynthSpec(n_frames=a.frames, seed=1, **common),
                  out / "session1_truth.slp", out / "session1.mp4")
    new_look = {"lighting": 0.45, "blur": 1.6, "texture": 2.0, "animal_size": 0.38,
                "occluders": 2}
    for name, seed in (("session2", 2), ("session3", 3)):
        write_dataset(SynthSpec(n_frames=a.frames // 3, seed=seed, **common, **new_look),
                      out / f"{name}_truth.slp", out / f"{name}.mp4")

    (out / "round0").mkdir(exist_ok=True)
    run("frames", "extract", str(out / "session1.mp4"), "-n", str(a.label), "--min-gap", "5",
        "-o", str(out / "round0" / "to_label.slp"))
    label_from_truth(out / "round0" / "to_label.slp", out / "session1_truth.slp",
                     out / "labels.v001.slp")  # person
    config = write_config(out / "single.yaml", out / "runs", "v001", a.epochs)
    run("train", str(config), f"data_config.train_labels_path=[{out / 'labels.v001.slp'}]")

    run("refine", "round", str(out / "runs" / "v001"), str(out / "session2.mp4"),
        "-n", str(a.round_n), "--min-gap", "3", "-o", str(out / "round1"))
    label_from_truth(out / "round1" / "label_this_round.pkg.slp", out / "session2_truth.slp",
                     out / "round1" / "corrected.pkg.slp")  # person
    run("labels", "merge", str(out / "labels.v001.slp"), str(out / "round1" / "corrected.pkg.slp"),
        "-o", str(out / "labels.v002.pkg.slp"))
    run("labels", "split", str(out / "labels.v002.pkg.slp"), "--by", "block", "--gap", "10",
        "--block-size", "60", "--val", "0.15", "--test", "0.1", "-o", str(out / "split_v002"))
    split = out / "split_v002"
    write_config(out / "single_v002.yaml", out / "runs", "v002", a.epochs)
    run("train", str(out / "single_v002.yaml"),
        f"data_config.train_labels_path=[{split / 'train.slp'}]",
        f"data_config.val_labels_path=[{split / 'val.slp'}]")

    results = {}
    for version in ("v001", "v002"):
        pred = out / f"session3.{version}.slp"
        run("track", str(out / "session3.mp4"), "-m", str(out / "runs" / version), "-o", str(pred))
        run("eval", str(out / "session3_truth.slp"), str(pred),
            "-o", str(out / f"session3.{version}.metrics.json"))
        metrics = json.loads((out / f"session3.{version}.metrics.json").read_text())
        results[version] = metrics
    (out / "comparison.json").write_text(json.dumps(
        {v: {"mean_px": m["localization"]["mean_px"], "pck_5px": m["pck_px"]["5"],
             "pck_10px": m["pck_px"]["10"], "visible_found": m["visibility"]["recall"]}
         for v, m in results.items()}, indent=1))
    print((out / "comparison.json").read_text())


if __name__ == "__main__":
    main()
