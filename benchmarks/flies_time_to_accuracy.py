"""Multi-animal model types on the real two-fly data: posekit against sleap-nn, same budget.

For each multi-animal model type (``bottomup``, ``multi_class_bottomup``, top-down with
identity classes, ``multi_class_topdown``, and plain top-down, ``centered_instance``, each
top-down one with its centroid model) and each budget, in one
run and on the same split of ``clip.slp`` (two flies, 1024x1024, tracks ``female`` /
``male``; training: every 5th labelled frame, 300 frames; validation: 30 other frames):

* ``posekit-auto``: ``posekit config auto TRAIN --model-type TYPE --budget B`` then
  ``posekit train CONFIG --budget`` for each stage (the budget shared by the stages);
* ``sleap-nn-sample``: sleap-nn 0.3.5 trained from its own sample config(s) for the type
  (``sleap_nn_configs/sample_configs``), stopped at the budget (Ctrl-C; each top-down stage
  gets half).

Both predict the validation frames with their own tool and are scored by the same code:
mAP, mean / median error of matched animals, PCK@5px, instance recall and identity
accuracy. Answers the question whether sleap-nn's models are also still on the all-zero
plateau after a few CPU minutes.

    .venv/bin/python benchmarks/flies_time_to_accuracy.py --budgets 3 \\
        --types bottomup,multi_class_bottomup,multi_class_topdown,centered_instance

Writes ``benchmarks/results/time_to_accuracy.flies.json``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_vs_sleap_nn import ensure_sleap_nn, log
from time_to_accuracy import DATA, arm_posekit, arm_sleap_nn, common_arguments, write_report

SAMPLES = DATA / "sleap_nn_configs" / "sample_configs"
#: Model type -> sleap-nn's sample configs for it, one per stage in training order.
SLEAP_NN_SAMPLES = {
    "bottomup": ["config_bottomup_unet_medium_rf.yaml"],
    "multi_class_bottomup": ["config_multi_class_bottomup_unet.yaml"],
    "multi_class_topdown": ["config_centroid_unet.yaml",
                            "config_topdown_multi_class_centered_instance_unet.yaml"],
    "centered_instance": ["config_centroid_unet.yaml",
                          "config_topdown_centered_instance_unet_medium_rf.yaml"],
}


def make_fly_split(work: Path) -> tuple[Path, Path]:
    """Every 5th labelled frame of ``clip.slp`` for training; frames 27, 77, ... (30 frames
    no model trains on) for validation. The frames stay in ``clip.mp4``."""
    import sleap_io as sio

    train_path, val_path = work / "flies_train.slp", work / "flies_val.slp"
    if train_path.is_file() and val_path.is_file():
        return train_path, val_path
    labels = sio.load_slp(str(DATA / "clip.slp"))
    labels.videos[0].replace_filename(str(DATA / "clip.mp4"), open=False)
    for path, keep in ((train_path, lambda i: i % 5 == 0), (val_path, lambda i: i % 50 == 27)):
        frames = [lf for lf in labels.labeled_frames if keep(int(lf.frame_idx))]
        sio.save_slp(sio.Labels(labeled_frames=frames, videos=labels.videos,
                                skeletons=labels.skeletons, tracks=labels.tracks), str(path))
    return train_path, val_path


def score_flies(truth: Path, predictions: Path) -> dict:
    """The shared scores of one prediction file against the validation labels."""
    from posekit.evaluation import evaluate as run_eval
    from posekit.io.labels import load_labels

    m = run_eval(load_labels(truth), load_labels(predictions))
    ident = m.identity
    return {"mAP": m.oks.map, "mean_px": m.localization.mean_px,
            "median_px": m.localization.median_px, "pck_5px": m.pck.px.get(5.0),
            "pck_10px": m.pck.px.get(10.0), "matched": m.counts.matched,
            "gt_instances": m.counts.gt_instances,
            "instance_recall": m.counts.matched / max(1, m.counts.gt_instances),
            "identity_accuracy": ident.identity_accuracy if ident.available else None}


def main() -> int:
    parser = common_arguments(__doc__, "flies", "3", "posekit-auto,sleap-nn-sample")
    parser.add_argument("--types", default=",".join(SLEAP_NN_SAMPLES))
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    train, val = make_fly_split(args.work)
    arms = args.arms.split(",")
    exe = ensure_sleap_nn(args.sleap_nn_venv) if "sleap-nn-sample" in arms else None
    results = []
    for minutes in [float(b) for b in args.budgets.split(",")]:
        for kind in args.types.split(","):
            for arm in arms:  # the tools take turns for each type
                budget_s, name = minutes * 60, f"{arm}.{kind}"
                try:
                    if arm == "posekit-auto":
                        res = arm_posekit(train, val, args.work, budget_s, name,
                                          ("--model-type", kind), score=score_flies)
                    else:
                        res = arm_sleap_nn(name, [SAMPLES / c for c in SLEAP_NN_SAMPLES[kind]],
                                           train, val, args.work, budget_s, exe,
                                           score=score_flies)
                except RuntimeError as exc:  # a tool that fails on the data: say so, go on
                    res = {"arm": name, "budget_s": budget_s, "error": str(exc),
                           "accuracy": None}
                res.update(tool=arm, model_type=kind)
                log(f"{name} at {minutes:g} min: {res['accuracy']}")
                results.append(res)
                args.out.write_text(json.dumps({"results": results}, indent=1))
    write_report(args.out, results, args.note, data="flies", split=[str(train), str(val)])
    log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
