"""Planted failures are found at the documented defaults (recall >= 0.9, precision >= 0.8).

The truth (``posekit.io.synthetic.predictions``): a frame is a planted outlier when a point
was moved more than epsilon (jump, drift), scored below p_bound (low score), or two tracks
swapped animals there. Frames a failure moved by epsilon or less (the first and last frame
of a drift) count neither as hits nor as false alarms. A frame is *found* when any
criterion fired on it (every candidate, before choosing ``n``).
"""

from __future__ import annotations

import numpy as np
import pytest

from posekit.io.synthetic import SynthSpec
from posekit.io.synthetic.predictions import FailureSpec, plant_failures, true_poses
from posekit.refinement.outlier_selection import OutlierSettings, find_outliers

CASES = {
    "one mouse": {"n_animals": 1, "skeleton": "mouse"},
    "two tracked mice": {"n_animals": 2, "skeleton": "mouse"},
    "three tracked flies": {"n_animals": 3, "skeleton": "fly"},
}


def planted_scores(case: dict, seeds: range) -> dict[str, float]:
    hits = found = planted = 0
    by_kind: dict[str, list[int]] = {}
    for seed in seeds:
        spec = SynthSpec(n_frames=4000, height=160, width=160, animal_size=0.25, seed=seed,
                         **case)
        poses, skeleton = true_poses(spec)
        pred = plant_failures(poses, skeleton, FailureSpec(seed=seed), first_frame=250)
        result = find_outliers(pred.labels, OutlierSettings())  # the documented defaults
        flagged = set(result.frame[result.fired.any(axis=1)].tolist())
        truth = set(pred.truth.frames.tolist())
        ignore = set(pred.truth.touched_frames.tolist())
        hits += len(flagged & truth)
        found += len(flagged - ignore)
        planted += len(truth)
        for e in pred.truth.events:
            frames = [f for f in range(e.frame, e.frame + e.length) if f in truth]
            got = by_kind.setdefault(e.kind, [0, 0])
            got[0] += sum(f in flagged for f in frames)
            got[1] += len(frames)
    return {"recall": hits / planted, "precision": hits / max(found, 1),
            **{k: a / b for k, (a, b) in by_kind.items()}}


@pytest.mark.parametrize("name", list(CASES))
def test_planted_failures_are_found(name):
    got = planted_scores(CASES[name], range(2))
    print(f"{name}: " + ", ".join(f"{k} {v:.3f}" for k, v in got.items()))
    assert got["recall"] >= 0.9
    assert got["precision"] >= 0.8
    assert got["jump"] == 1.0 and got["low_score"] == 1.0
    assert got.get("swap", 1.0) == 1.0


@pytest.mark.slow
def test_planted_failures_are_found_over_many_recordings():
    got = {name: planted_scores(case, range(2, 10)) for name, case in CASES.items()}
    for name, scores in got.items():
        print(f"{name}: " + ", ".join(f"{k} {v:.3f}" for k, v in scores.items()))
    assert min(s["recall"] for s in got.values()) >= 0.9
    assert min(s["precision"] for s in got.values()) >= 0.8
    assert np.mean([s["drift"] for s in got.values()]) >= 0.8
