"""Rounds side by side from run folders: saved validation predictions, or --test labels
predicted by both models (a stand-in predictor here; the real one in the slow test)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import sleap_io as sio

from posekit.errors import DataError
from posekit.io.labels import load_labels
from posekit.io.synthetic import SynthSpec, write_dataset
from posekit.io.writers import save_labels
from posekit.reports.compare_html import compare_report
from posekit.reports.output import read_report_json, write_report
from posekit.workflow.compare_runs import PREDICTED, SAVED, compare_runs

IMPROVED = "tail_tip"


def _predictions(labels: sio.Labels, sigma: dict[str, float], seed: int,
                 frames: range | None = None) -> sio.Labels:
    """A predicted instance per labelled animal: the label plus Gaussian noise."""
    rng = np.random.default_rng(seed)
    skeleton = labels.skeletons[0]
    noise = np.array([sigma.get(n, 2.0) for n in skeleton.node_names])[:, None]
    out = []
    for lf in labels.labeled_frames:
        if frames is not None and lf.frame_idx not in frames:
            continue
        insts = [sio.PredictedInstance.from_numpy(
            i.numpy() + rng.normal(0, 1, (len(noise), 2)) * noise, skeleton,
            point_scores=np.full(len(noise), 0.9), score=0.9) for i in lf.user_instances]
        out.append(sio.LabeledFrame(video=lf.video, frame_idx=lf.frame_idx, instances=insts))
    return sio.Labels(labeled_frames=out, videos=list(labels.videos), skeletons=[skeleton])


def _subset(labels: sio.Labels, frames: range) -> sio.Labels:
    kept = [lf for lf in labels.labeled_frames if lf.frame_idx in frames]
    return sio.Labels(labeled_frames=kept, videos=list(labels.videos),
                      skeletons=list(labels.skeletons), tracks=list(labels.tracks))


@pytest.fixture(scope="module")
def rounds(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("rounds")
    spec = SynthSpec(n_frames=60, n_animals=2, height=96, width=96, seed=3, occluders=0,
                     animal_size=0.35)
    write_dataset(spec, root / "study.slp", root / "study.mp4")
    labels = load_labels(root / "study.slp")
    runs = {}
    for name, frames, sigma, seed in (("round1", range(40), {}, 1),
                                      ("round2", range(10, 60), {IMPROVED: 0.4}, 2)):
        run = root / name
        run.mkdir()
        val = _subset(labels, frames)
        save_labels(val, run / "labels_gt.val.slp")
        save_labels(_predictions(val, sigma, seed), run / "labels_pr.val.slp")
        runs[name] = run
    meta = root / "metadata.csv"
    meta.write_text("video,treatment\nstudy.mp4,saline\n")
    return {"root": root, "labels": labels, "meta": meta, **runs}


def test_saved_validation_predictions_on_shared_frames(rounds) -> None:
    c = compare_runs(rounds["round1"], rounds["round2"], metadata=rounds["meta"])
    assert c.predictions == SAVED
    assert c.frames == 30                           # frames 10..39 are in both
    assert c.overall.points == 30 * 2 * 8 - sum(   # 2 mice x 8 nodes, minus hidden ones
        int((~np.isfinite(i.numpy()).all(axis=1)).sum())
        for lf in rounds["labels"].labeled_frames if 10 <= lf.frame_idx < 40
        for i in lf.user_instances)
    tip = c.node(IMPROVED).delta
    assert tip.verdict == "better" and tip.high < 0
    assert c.node("nose").delta.low < 0 < c.node("nose").delta.high
    assert [x.condition for x in c.conditions] == ["saline"] and c.condition_column == "treatment"
    assert "30 validation frames are in both runs (40 in round1, 50 in round2)" in c.notes[0]
    assert (c.run_a.name, c.run_b.name) == ("round1", "round2")


def test_test_labels_are_predicted_by_both_models(rounds) -> None:
    calls = []

    def predict(run: Path, labels: sio.Labels) -> sio.Labels:
        calls.append(run.name)
        sigma = {IMPROVED: 0.4} if run.name == "round2" else {}
        return _predictions(labels, sigma, seed=len(calls))

    c = compare_runs(rounds["round1"], rounds["round2"], test=rounds["root"] / "study.slp",
                     predict=predict, n_boot=500, seed=3)
    assert calls == ["round1", "round2"] and c.predictions == PREDICTED
    assert c.frames == 60 and c.condition_column == "recording"
    assert c.node(IMPROVED).delta.verdict == "better"
    assert c.n_boot == 500 and c.seed == 3


def test_no_shared_frames_or_missing_files_are_explained(rounds, tmp_path) -> None:
    other = tmp_path / "round3"
    other.mkdir()
    val = _subset(rounds["labels"], range(45, 60))
    save_labels(val, other / "labels_gt.val.slp")
    save_labels(_predictions(val, {}, 4), other / "labels_pr.val.slp")
    with pytest.raises(DataError, match="share no frame"):
        compare_runs(rounds["round1"], other)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="labels_pr.val.slp"):
        compare_runs(rounds["round1"], empty)


def test_report_page_and_json(rounds, tmp_path) -> None:
    c = compare_runs(rounds["round1"], rounds["round2"], metadata=rounds["meta"], n_boot=300)
    html, js = write_report(compare_report(c), tmp_path / "compare.html")
    page = html.read_text()
    assert page.count("<img ") == 2 and "round2 is better than round1" in page
    result = read_report_json(js, kind="compare").results["compare"]
    tip = next(n for n in result["nodes"] if n["node"] == IMPROVED)
    assert tip["verdict"] == "better" and tip["ci_high_px"] < 0
    assert result["bootstrap"] == {"resamples": 300, "level": 0.95, "seed": 0, "unit": "frame",
                                   "paired": True, "interval": "percentile"}
    assert result["run_a"]["metrics"]["localization"]["n"] > 0


def test_compare_from_the_command_line(rounds, capsys) -> None:
    from posekit.cli.main import main

    args = ["report", "compare", str(rounds["round1"]), str(rounds["round2"]),
            "--metadata", str(rounds["meta"]), "--bootstrap", "200", "--seed", "4"]
    assert main(args) == 0
    html = rounds["round2"] / "compare_round1.html"
    data = read_report_json(html.with_suffix(".json"), kind="compare")
    assert data.inputs == {"run_a": str(rounds["round1"]), "run_b": str(rounds["round2"])}
    compare = data.results["compare"]
    assert compare["bootstrap"]["seed"] == 4 and compare["condition_column"] == "treatment"
    out = capsys.readouterr().out
    assert "round2 is better than round1" in out and str(html) in out.replace("\n", "")
    assert main([*args[:4], "--bootstrap", "10", "-o", str(html.with_name("x.html"))]) == 2
    assert "at least 100 resamples" in capsys.readouterr().err
    assert main([*args[:4], "--condition", "treatment", "-o",
                 str(html.with_name("y.html"))]) == 2
    assert "needs --metadata" in capsys.readouterr().err
