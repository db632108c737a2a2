"""Consensus of labeler files: frames and animals matched, outputs written and read back,
bad inputs refused, inputs untouched, the CLI through the registered ``labels`` group."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
import sleap_io as sio
from typer.testing import CliRunner

from posekit.errors import ConfigError, DataError
from posekit.io.labels import load_labels
from posekit.io.synthetic import write_video
from posekit.io.writers import save_labels
from posekit.refinement.frame_weights import read_ila_csv
from posekit.refinement.labeler_files import (
    consensus_labels_files,
    labeler_name,
    load_labeler_files,
)

NODES = ["a", "b", "c"]
A1 = np.array([(10.0, 10.0), (20.0, 10.0), (30.0, 10.0)])
A2 = np.array([(10.0, 40.0), (20.0, 40.0), (30.0, 40.0)])


def write_file(path: Path, video_path: Path, frames: dict, nodes=NODES, embed=False,
               tracks: dict | None = None) -> Path:
    """A labeler's file: ``frames`` maps frame index -> list of (K, 2) poses."""
    skeleton = sio.Skeleton(list(nodes), edges=[(nodes[0], nodes[1])], name="s")
    video = sio.Video.from_filename(str(video_path))
    named = {name: sio.Track(name) for name in (tracks or {}).values()}
    labeled = []
    for idx, poses in frames.items():
        insts = [sio.Instance.from_numpy(np.asarray(p, float), skeleton=skeleton,
                                         track=named.get((tracks or {}).get((idx, i))))
                 for i, p in enumerate(poses)]
        labeled.append(sio.LabeledFrame(video=video, frame_idx=idx, instances=insts))
    labels = sio.Labels(labeled, videos=[video], skeletons=[skeleton], tracks=list(named.values()))
    return save_labels(labels, path, embed="user" if embed else False)


@pytest.fixture
def three(tmp_path) -> list[Path]:
    """anna and ben (.slp) and chloe (.pkg.slp): two animals in frame 0 listed in different
    orders; frame 1: A1 by all (chloe's node a slipped 20 px), A2 by ben only; frame 2 only
    chloe, frame 3 only anna."""
    video = write_video(np.full((6, 48, 64, 1), 90, np.uint8), tmp_path / "session.mp4")
    s = np.array([1.0, 0.0])
    anna = write_file(tmp_path / "anna.slp", video, {0: [A1, A2], 1: [A1 + s], 3: [A1]},
                      tracks={(0, 0): "t1", (0, 1): "t2"})
    ben = write_file(tmp_path / "ben.slp", video, {0: [A2 + (0, 1), A1 + s], 1: [A2, A1 + 3 * s]})
    chloe = write_file(tmp_path / "chloe.pkg.slp", video, {
        0: [A1 + (0, 2), A2 + (2, 0)], 1: [A1 + [(20, 0), (2, 0), (2, 0)]], 2: [A2]},
        embed=True)
    return [anna, ben, chloe]


def digest(paths: list[Path]) -> list[str]:
    return [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths]


def by_frame(labels: sio.Labels) -> dict[int, list[np.ndarray]]:
    return {lf.frame_idx: [np.asarray(i.numpy()) for i in lf.user_instances]
            for lf in labels.labeled_frames}


def test_consensus_of_three_files_hand_computed(three, tmp_path):
    before = digest(three)
    labels, report = consensus_labels_files(three, tmp_path / "consensus.slp")
    assert digest(three) == before
    assert report.labelers == ["anna", "ben", "chloe"]
    got = by_frame(labels)
    # frame 0: per node clicks at 0, 1 and 2 px from A1 / A2 (MAD 1, limit 3): kept, the
    # median is the point itself. frame 1, node a: A1 + 1, + 3, + 20 px: median + 3, MAD 2,
    # limit 6: chloe removed, consensus + 2 px; nodes b, c: + 1, + 3, + 2: all kept, median
    # + 2. A2 only by ben.
    np.testing.assert_allclose(got[0][0], A1)
    np.testing.assert_allclose(got[0][1], A2)
    np.testing.assert_allclose(got[1][0], A1 + (2, 0))
    np.testing.assert_allclose(got[1][1], A2)
    np.testing.assert_allclose(got[2][0], A2)
    np.testing.assert_allclose(got[3][0], A1)
    tracks = [i.track.name if i.track else None for i in labels.labeled_frames[0].instances]
    assert tracks == ["t1", "t2"]
    frames = labels.provenance["posekit_consensus"]["frames"]
    # frame 0 pairs per node: 1, 2 and hypot(1, 2) px; frame 1: node a one pair 2 px apart,
    # nodes b and c pairs 2, 1 and 1 px: 10 px over 7 pairs.
    assert [f["ila_px"] for f in frames] == [round((3 + np.sqrt(5)) / 3, 4), round(10 / 7, 4),
                                             None, None]
    assert [f["n_labelers"] for f in frames] == [3, 3, 1, 1]
    assert [f["in_consensus"] for f in frames] == [True, True, False, False]
    assert report.frames == {"total": 4, "in_consensus": 2, "single_labeler": 2, "animals": 6}
    assert report.annotations["removed_by_labeler"] == {"anna": 0, "ben": 0, "chloe": 1}
    assert [(w["recording"], w["frame_idx"]) for w in report.worst_frames] == [
        ("session.mp4", 0), ("session.mp4", 1)]


@pytest.mark.parametrize("name", ["consensus.slp", "consensus.pkg.slp"])
def test_outputs_round_trip(three, tmp_path, name):
    out = tmp_path / name
    labels, report = consensus_labels_files(three, out)
    back = load_labels(out)
    prov = back.provenance["posekit_consensus"]
    assert prov == labels.provenance["posekit_consensus"]
    assert prov["labelers"] == ["anna", "ben", "chloe"]
    assert set(prov["frames"][0]) == {"video", "frame_idx", "ila_px", "n_labelers",
                                      "in_consensus"}
    csv_path = tmp_path / "consensus.ila.csv"
    assert report.ila_csv == str(csv_path) and [asdict(r) for r in read_ila_csv(csv_path)] == prov["frames"]
    assert csv_path.read_text().splitlines()[0] == "video,frame_idx,ila_px,n_labelers,in_consensus"
    # the record names the video each frame has in the output as loaded back
    assert [(r["video"], r["frame_idx"]) for r in prov["frames"]] == [
        (str(lf.video.filename), lf.frame_idx) for lf in back.labeled_frames]
    # a package embeds every frame; a .slp refers to the labelers' video and keeps
    # chloe's package-only frame 2 embedded in itself
    videos = {r["frame_idx"]: Path(r["video"]).resolve() for r in prov["frames"]}
    if name.endswith(".pkg.slp"):
        assert set(videos.values()) == {out.resolve()}
    else:
        assert videos[2] == out.resolve()
        assert {videos[f] for f in (0, 1, 3)} == {(tmp_path / "session.mp4").resolve()}
    for lf, orig in zip(back.labeled_frames, labels.labeled_frames, strict=True):
        assert len(lf.user_instances) == len(orig.user_instances)
        for a, b in zip(lf.user_instances, orig.user_instances, strict=True):
            np.testing.assert_allclose(a.numpy(), b.numpy())
    assert all(lf.image.shape[:2] == (48, 64) for lf in back.labeled_frames)


def test_slp_output_refers_to_the_labelers_video(three, tmp_path):
    out = tmp_path / "two.slp"
    consensus_labels_files(three[:2], out)
    back = load_labels(out)
    videos = {r["video"] for r in back.provenance["posekit_consensus"]["frames"]}
    assert videos == {str(lf.video.filename) for lf in back.labeled_frames}
    assert [Path(v).name for v in videos] == ["session.mp4"]


def test_report_json_and_sigmas_file_round_trip(three, tmp_path):
    from posekit.cli.eval_cmd import read_sigmas_file
    from posekit.evaluation.oks import resolve_sigmas

    _, report = consensus_labels_files(three, tmp_path / "c.slp", gold="anna")
    path = report.save(tmp_path / "report.json")
    data = json.loads(path.read_text())
    assert data == json.loads(json.dumps(report.to_dict())) and data["schema_version"] == 1
    for source in (path, report.save_sigmas(tmp_path / "sigmas.json")):
        sigmas = read_sigmas_file(source)
        assert sigmas == report.oks["sigmas"] and list(sigmas) == NODES
        np.testing.assert_allclose(resolve_sigmas(sigmas, NODES), list(sigmas.values()))
    # gold: ben's frame-0 clicks are 1 px off A1 on x and 1 px off A2 on y, frame 1: 2 px
    ben = data["gold"]["per_labeler"]["ben"]
    assert ben["n"] == 9 and ben["mean_px"] == round((6 + 6) / 9, 4)
    assert data["gold"]["labeler"] == "anna" and "anna" not in data["gold"]["per_labeler"]


def test_cli_through_the_registered_group(three, tmp_path):
    from posekit.cli.main import app

    out = tmp_path / "consensus.slp"
    result = CliRunner().invoke(app, ["labels", "consensus", *map(str, three), "-o", str(out),
                                      "--names", "A,B,C", "--gold", "A"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "consensus of 3 labelers: 4 frames (2 in consensus, 2 from one labeler)" in text
    assert "against the gold labeler A" in text
    report = json.loads((tmp_path / "consensus.consensus_report.json").read_text())
    assert report["labelers"] == ["A", "B", "C"] and report["gold"]["labeler"] == "A"
    assert json.loads((tmp_path / "consensus.oks_sigmas.json").read_text()) == report["oks"][
        "sigmas"]
    refused = CliRunner().invoke(app, ["labels", "consensus", str(three[0]), "-o", str(out)])
    assert isinstance(refused.exception, DataError)
    assert "two or more labelers" in str(refused.exception)
    as_json = CliRunner().invoke(app, ["labels", "consensus", *map(str, three[:2]), "-o",
                                       str(tmp_path / "two.slp"), "--json"])
    assert json.loads(as_json.output)["labelers"] == ["anna", "ben"]


def test_bad_inputs_are_refused_and_nothing_is_changed(three, tmp_path):
    before = digest(three)
    with pytest.raises(DataError, match="two or more labelers"):
        consensus_labels_files(three[:1], tmp_path / "c.slp")
    with pytest.raises(DataError, match="ben.slp: is also an input; expected a new output"):
        consensus_labels_files(three, three[1])
    with pytest.raises(DataError, match="ending in .slp"):
        consensus_labels_files(three, tmp_path / "c.h5")
    with pytest.raises(ConfigError, match=r"--gold zoe: not a labeler.*'anna', 'ben', 'chloe'"):
        consensus_labels_files(three, gold="zoe")
    with pytest.raises(ConfigError, match="2 name.*for 3 file"):
        consensus_labels_files(three, names="x,y")
    video = tmp_path / "session.mp4"
    other = write_file(tmp_path / "dave.slp", video, {0: [A1]}, nodes=["a", "b", "d"])
    with pytest.raises(DataError, match=r"nodes only in .*anna.slp: \['c'\].*dave.slp: \['d'\]"):
        consensus_labels_files([three[0], other])
    preds = tmp_path / "preds.slp"
    skeleton = sio.Skeleton(NODES)
    vid = sio.Video.from_filename(str(video))
    save_labels(sio.Labels([sio.LabeledFrame(vid, 0, [sio.PredictedInstance.from_numpy(
        A1, skeleton=skeleton, point_scores=np.ones(3), score=1.0)])], videos=[vid],
        skeletons=[skeleton]), preds)
    with pytest.raises(DataError, match="no user-labelled instance"):
        consensus_labels_files([three[0], preds])
    assert digest(three) == before
    assert not (tmp_path / "c.slp").exists()


def test_labeler_names(tmp_path):
    assert labeler_name("x/anna.slp") == "anna" and labeler_name("x/Ben.PKG.SLP") == "Ben"
    assert labeler_name("proj/config.yaml") == "proj"
    video = write_video(np.zeros((2, 16, 16, 1), np.uint8), tmp_path / "v.mp4")
    (tmp_path / "d1").mkdir()
    (tmp_path / "d2").mkdir()
    twins = [write_file(tmp_path / d / "anna.slp", video, {0: [A1]}) for d in ("d1", "d2")]
    with pytest.raises(ConfigError, match=r"\['anna'\] more than once.*--names"):
        load_labeler_files(twins)
    assert load_labeler_files(twins, names=["first", "second"]).names == ["first", "second"]


def test_real_package_and_dlc_project_agree_exactly(shared_data):
    """The reaching project's SLEAP package and DeepLabCut project hold the same labels:
    as two labelers they agree to the pixel on every frame."""
    lset = load_labeler_files([shared_data / "reaching.pkg.slp", shared_data / "dlc_reaching"])
    assert lset.names == ["reaching", "dlc_reaching"]
    assert len(lset.frames) == 55 and all(f.in_consensus for f in lset.frames)
    both = np.isfinite(lset.points).all(axis=-1).all(axis=1)
    np.testing.assert_allclose(lset.points[:, 0][both], lset.points[:, 1][both], atol=1e-3)


def test_unreadable_video_frames_cannot_be_embedded(three, tmp_path):
    """Without the video, frame 3 (anna's only) cannot go into a package: a clear error
    and no file. A .slp still refers to the video (relink it later) and keeps chloe's
    frames, which her package embeds."""
    (tmp_path / "session.mp4").unlink()
    with pytest.raises(DataError, match="cannot be read"):
        consensus_labels_files(three, tmp_path / "consensus.pkg.slp")
    assert not (tmp_path / "consensus.pkg.slp").exists()
    consensus_labels_files(three, tmp_path / "consensus.slp")
    back = sio.load_slp(str(tmp_path / "consensus.slp"))
    assert sorted(lf.frame_idx for lf in back.labeled_frames) == [0, 1, 2, 3]
    assert next(lf for lf in back.labeled_frames if lf.frame_idx == 2).image.shape[:2] == (48, 64)
