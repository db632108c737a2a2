"""Dataset audit on synthetic studies with planted problems: each must be named."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest
import sleap_io as sio

from posekit.io.labels import load_labels
from posekit.io.synthetic.sessions import default_sessions, write_sessions
from posekit.refinement.splits import split_labels, write_split
from posekit.reports.dataset_audit import audit_dataset
from posekit.reports.dataset_html import dataset_report
from posekit.reports.output import read_report_json, write_report

N_FRAMES = 30
RARE_NODE = "tail_tip"
RARE_VISIBLE = [3, 40, 77, 101]  # tail tip visible in 4 of 120 animals


def _replace_points(labels: sio.Labels, fn) -> None:
    """Replace every user instance by one with ``fn(index, points)`` (in file order)."""
    i = 0
    for lf in labels.labeled_frames:
        new = []
        for inst in lf.user_instances:
            new.append(sio.Instance.from_numpy(fn(i, inst.numpy()), inst.skeleton,
                                               track=inst.track))
            i += 1
        lf.instances = new


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("study")
    data = write_sessions(root, default_sessions(n_animals=4, n_sessions=1), n_frames=N_FRAMES,
                          size=64)
    with open(data.metadata_path, "a", encoding="utf-8") as f:  # planted: never labelled
        f.write("videos/m9_s0.mp4,m9,s0,drug-B,20,top,A\n")
    labels = load_labels(data.labels_path)
    k = list(labels.skeletons[0].node_names).index(RARE_NODE)

    def hide(i: int, pts: np.ndarray) -> np.ndarray:
        if i not in RARE_VISIBLE:
            pts[k] = np.nan
        return pts

    _replace_points(labels, hide)
    split = split_labels(labels, by="frame", val=0.2, test=0.0, seed=0)  # planted: leaks
    write_split(split, root / "split", hashes=True)
    ethogram = root / "ethogram.csv"
    rows = ["video,start,stop,behaviour"]
    for s in range(4):
        rows += [f"videos/m{s}_s0.mp4,0,14,walk", f"videos/m{s}_s0.mp4,15,29,rest"]
    rows += ["videos/m0_s0.mp4,40,60,rear", "videos/m1_s0.mp4,0,1,groom"]
    ethogram.write_text("\n".join(rows) + "\n")
    audit = audit_dataset(labels, source=str(data.labels_path), metadata=data.metadata_path,
                          split=root / "split", ethogram=ethogram)
    return {"root": root, "data": data, "labels": labels, "audit": audit, "split": split}


def _kinds(audit) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for w in audit.warnings:
        out.setdefault(w.kind, []).append(w.subject)
    return out


def test_planted_problems_are_named(study) -> None:
    kinds = _kinds(study["audit"])
    # the combination (treatment=drug-B, dose=20, ...) is implied, so not named again
    assert kinds["condition_absent"] == ["treatment=drug-B", "dose=20"]
    assert kinds["node_rarely_visible"] == [RARE_NODE]
    assert kinds["split_leaks"] == ["val"]
    assert kinds["behaviour_absent"] == ["rear"]
    assert kinds["behaviour_thin"] == ["groom"]
    assert kinds["too_few_frames"] == ["simple"]  # 120 < 150 for one animal per frame
    assert "poses_concentrated" not in kinds       # walking mice vary


def test_composition_numbers(study) -> None:
    audit, data = study["audit"], study["data"]
    assert (audit.frames, audit.animals, len(audit.recordings)) == (120, 120, 4)
    with open(data.metadata_path, newline="") as f:
        rows = list(csv.DictReader(f))
    expected: dict[str, int] = {}
    for row in rows:
        labelled = (data.labels_path.parent / row["video"]).exists()
        expected[row["treatment"]] = expected.get(row["treatment"], 0) + N_FRAMES * labelled
    got = {c.name: c.frames for c in audit.counts["treatment"]}
    assert got == expected == {"saline": 60, "drug": 60, "drug-B": 0}
    cov = next(c for c in audit.coverage if c.column == "treatment")
    assert cov.coverage == pytest.approx(2 / 3) and cov.absent == ("drug-B",)
    assert [(c.name, c.frames) for c in audit.counts["animal"]] == [
        ("m0", 30), ("m1", 30), ("m2", 30), ("m3", 30), ("m9", 0)]
    assert [(s.height, s.width, s.frames) for s in audit.frame_sizes] == [(64, 64, 120)]
    vis = {v.node: v for v in audit.visibility}
    assert vis[RARE_NODE].visible == len(RARE_VISIBLE)
    assert vis[RARE_NODE].share == pytest.approx(len(RARE_VISIBLE) / 120)
    assert audit.metadata.unlabelled_rows == 1
    assert audit.animals_per_frame.mean == 1.0 and audit.frame_count.complexity == "simple"


def test_leakage_matches_an_independent_count(study) -> None:
    split = study["split"]

    def key(lf):
        return Path(str(lf.video.source_video.filename if lf.video.source_video else
                        lf.video.filename)).name

    train: dict[str, list[int]] = {}
    for lf in split.train.labeled_frames:
        train.setdefault(key(lf), []).append(int(lf.frame_idx))
    near = sum(min(abs(int(lf.frame_idx) - t) for t in train[key(lf)]) < 5
               for lf in split.val.labeled_frames)
    side = study["audit"].split.leakage.side("val")
    assert side.n_frames == len(split.val.labeled_frames) == 24
    assert side.n_near_in_time == near > 0
    assert study["audit"].split.by == "frame"


def test_behaviour_coverage_numbers(study) -> None:
    b = study["audit"].behaviour
    counts = {c.name: c.frames for c in b.counts}
    assert counts == {"walk": 60, "rest": 60, "rear": 0, "groom": 2}
    assert b.bout_frames == {"walk": 60, "rest": 60, "rear": 21, "groom": 2}
    assert b.even_share == 30.0 and b.not_annotated == 0 and b.outside_bouts == 0


def test_concentrated_poses_are_named(study) -> None:
    labels = load_labels(study["data"].labels_path)
    template = labels.labeled_frames[0].user_instances[0].numpy()
    rng = np.random.default_rng(0)

    def copy(i: int, pts: np.ndarray) -> np.ndarray:
        a = rng.uniform(-math.pi, math.pi)
        rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
        centred = template - np.nanmean(template, axis=0)
        return centred @ rot.T + rng.uniform(15, 50, 2) + rng.normal(0, 0.15, template.shape)

    _replace_points(labels, copy)
    audit = audit_dataset(labels, source="copies")
    assert audit.pose.index < 0.05
    assert [w.subject for w in audit.warnings_of("poses_concentrated")] == ["all animals"]
    assert audit.warnings_of("condition_absent") == []  # no metadata: nothing to cover


def test_too_few_frames_for_multi_animal_data(tmp_path) -> None:
    data = write_sessions(tmp_path, default_sessions(n_animals=2, n_sessions=1),
                          n_frames=12, size=96, animals_per_video=3)
    audit = audit_dataset(load_labels(data.labels_path), source=str(data.labels_path),
                          metadata=data.metadata_path)
    assert audit.animals_per_frame.max == 3 and audit.frame_count.complexity == "complex"
    warn = audit.warnings_of("too_few_frames")[0]
    assert "24 labelled frames" in warn.message and "500+" in warn.message
    assert "at least 476 more" in warn.message
    assert audit.animals == 72


def test_report_page_names_every_warning(study, tmp_path) -> None:
    report = dataset_report(study["audit"])
    html, js = write_report(report, tmp_path / "audit.html")
    page = html.read_text()
    for w in study["audit"].warnings:
        assert w.message.replace("'", "&#x27;") in page
    assert page.count("<img ") == 2  # pose-variance plot and montage
    back = read_report_json(js, kind="dataset")
    result = back.results["dataset"]
    assert result["frames"] == 120 and result["split"]["leaks"] is True
    assert {w["kind"] for w in result["warnings"]} >= {"condition_absent", "split_leaks"}
