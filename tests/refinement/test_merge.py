"""``posekit labels merge``: user labels win, corrections replace predictions, conflicts are
listed (later file wins), inputs untouched, idempotent."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import sleap_io as sio
from typer.testing import CliRunner

from posekit.errors import DataError
from posekit.io.labels import load_labels
from posekit.refinement.merge import merge_labels_files

NODES = ["a", "b", "c"]


def write_avi(path: Path, n_frames: int = 10, height: int = 48, width: int = 64) -> Path:
    """A small MJPG video whose frame ``i`` has grey level ``20 + 7 i``."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (width, height))
    for i in range(n_frames):
        writer.write(np.full((height, width, 3), 20 + 7 * i, np.uint8))
    writer.release()
    return path


def user(skel, pts, track=None, from_predicted=None):
    return sio.Instance.from_numpy(np.asarray(pts, float), skeleton=skel, track=track,
                                   from_predicted=from_predicted)


def pred(skel, pts, score=0.8, track=None):
    return sio.PredictedInstance.from_numpy(np.asarray(pts, float), skeleton=skel,
                                            point_scores=np.full(len(pts), 0.9), score=score,
                                            track=track)


T1 = [(10, 10), (20, 10), (30, 10)]
T2 = [(10, 40), (20, 40), (30, 40)]
P1 = [(12, 12), (22, 12), (32, 12)]
P2 = [(5, 5), (6, 6), (7, 7)]


def base_labels(video_path: Path, nodes=NODES) -> sio.Labels:
    """v001: two tracked animals in frame 0, predictions in frames 2 and 4, a suggestion."""
    skel = sio.Skeleton(list(nodes), edges=[(nodes[0], nodes[1])], name="s")
    video = sio.Video.from_filename(str(video_path))
    t1, t2 = sio.Track("t1"), sio.Track("t2")
    frames = [
        sio.LabeledFrame(video, 0, [user(skel, T1, t1), user(skel, T2, t2)]),
        sio.LabeledFrame(video, 2, [pred(skel, P1)]),
        sio.LabeledFrame(video, 4, [pred(skel, P2)]),
    ]
    return sio.Labels(frames, videos=[video], skeletons=[skel], tracks=[t1, t2],
                      suggestions=[sio.SuggestionFrame(video, 6)])


def corrections(video_path: Path) -> sio.Labels:
    """round 1: t1 moved by (3, 4) px (conflict), t2 unchanged, frame 2's prediction
    corrected far away (only the from_predicted link ties them), new predictions in frame 4,
    a new labelled frame 8, suggestions 6 (again) and 9."""
    skel = sio.Skeleton(list(NODES), edges=[("a", "b")], name="s")
    video = sio.Video.from_filename(str(video_path))
    t1, t2 = sio.Track("t1"), sio.Track("t2")
    p1 = pred(skel, P1)
    moved = [(x + 3, y + 4) for x, y in T1]
    frames = [
        sio.LabeledFrame(video, 0, [user(skel, moved, t1), user(skel, T2, t2)]),
        sio.LabeledFrame(video, 2, [user(skel, [(40, 40), (50, 40), (60, 40)],
                                         from_predicted=p1), p1]),
        sio.LabeledFrame(video, 4, [pred(skel, [(50, 5), (6, 6), (7, 7)])]),
        sio.LabeledFrame(video, 8, [user(skel, [(1, 1), (2, 2), (3, 3)])]),
    ]
    return sio.Labels(frames, videos=[video], skeletons=[skel], tracks=[t1, t2],
                      suggestions=[sio.SuggestionFrame(video, 6), sio.SuggestionFrame(video, 9)])


@pytest.fixture
def inputs(tmp_path: Path) -> tuple[Path, Path]:
    video = write_avi(tmp_path / "session1.avi")
    a, b = tmp_path / "v001.slp", tmp_path / "round1.slp"
    sio.save_slp(base_labels(video), str(a))
    sio.save_slp(corrections(video), str(b))
    return a, b


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def content(labels: sio.Labels) -> list:
    """Everything a merge decides, in a comparable form."""
    out = []
    for lf in labels.labeled_frames:
        insts = sorted(
            (type(i).__name__, i.track.name if i.track else "", np.round(i.numpy(), 4).tolist())
            for i in lf.instances)
        out.append((Path(str(lf.video.filename)).name, lf.frame_idx, insts))
    sugg = [(Path(str(s.video.filename)).name, s.frame_idx) for s in labels.suggestions]
    return [out, sugg, list(labels.skeleton.node_names), [t.name for t in labels.tracks]]


def test_rules_user_wins_corrections_replace_conflicts_listed(inputs, tmp_path):
    a, b = inputs
    merged, report = merge_labels_files([a, b], tmp_path / "out.slp")
    frames = {lf.frame_idx: lf for lf in merged.labeled_frames}
    assert sorted(frames) == [0, 2, 4, 8]
    # frame 0: the later file's t1 wins the conflict, t2 (identical) is kept once
    f0 = {i.track.name: i.numpy() for i in frames[0].instances}
    np.testing.assert_allclose(f0["t1"], np.asarray(T1) + [3, 4])
    np.testing.assert_allclose(f0["t2"], T2)
    assert len(frames[0].instances) == 2
    # frame 2: the corrected prediction is gone, the correction is a user label without link
    assert [type(i) for i in frames[2].instances] == [sio.Instance]
    assert frames[2].instances[0].from_predicted is None
    # frame 4: later predictions supersede earlier different ones
    np.testing.assert_allclose(frames[4].instances[0].numpy()[0], (50, 5))
    assert [s.frame_idx for s in merged.suggestions] == [6, 9]
    # the report, hand-checked
    (conflict,) = report.conflicts
    assert (conflict.frame_idx, conflict.track, conflict.mean_distance_px) == (0, "t1", 5.0)
    assert Path(conflict.by) == b and Path(conflict.source) == a
    sa, sb = report.sources
    assert (sa.user_kept, sa.user_conflicts_lost, sa.predictions_corrected,
            sa.predictions_superseded) == (1, 1, 1, 1)
    assert (sb.user_kept, sb.user_identical, sb.user_conflicts_won, sb.predictions_identical,
            sb.predictions_kept, sb.suggestions_added) == (3, 1, 1, 1, 1, 1)
    kinds = sorted(e.kind for e in report.replaced)
    assert kinds == ["prediction corrected by user label", "prediction superseded"]
    assert sorted(e.frame_idx for e in report.added) == [2, 8]
    assert (report.frames, report.user_instances, report.predicted_instances,
            report.suggestions) == (4, 4, 1, 2)
    assert report.videos[1].rule == "path"
    back = load_labels(tmp_path / "out.slp")
    assert content(back) == content(merged)


def test_order_decides_conflicts_not_user_over_prediction(inputs, tmp_path):
    a, b = inputs
    merged, report = merge_labels_files([b, a])
    frames = {lf.frame_idx: lf for lf in merged.labeled_frames}
    f0 = {i.track.name: i.numpy() for i in frames[0].instances}
    np.testing.assert_allclose(f0["t1"], T1)  # a is later now: a wins
    assert Path(report.conflicts[0].by) == a
    assert [type(i) for i in frames[2].instances] == [sio.Instance]  # still corrected
    np.testing.assert_allclose(frames[4].instances[0].numpy(), P2)


def test_inputs_untouched_and_merge_is_idempotent(inputs, tmp_path):
    a, b = inputs
    before = {p: sha(p) for p in (a, b)}
    out, again = tmp_path / "out.slp", tmp_path / "again.slp"
    merged, _ = merge_labels_files([a, b], out)
    _, report = merge_labels_files([out, a, b], again)
    assert {p: sha(p) for p in (a, b)} == before
    assert content(load_labels(again)) == content(load_labels(out)) == content(merged)
    assert sha(again) == sha(out)  # same bytes: provenance lists the original sources once
    # the earlier output's t1 loses to a's, which loses to b's again: the same final labels
    assert [Path(c.by) for c in report.conflicts] == [a, b]
    assert load_labels(out).provenance["posekit_merge"]["sources"] == [
        a.resolve().as_posix(), b.resolve().as_posix()]


def test_output_equal_to_an_input_is_refused(inputs):
    a, b = inputs
    with pytest.raises(DataError, match="is also an input"):
        merge_labels_files([a, b], a)
    with pytest.raises(DataError, match=r"ending\s+in .slp"):
        merge_labels_files([a, b], a.with_suffix(".h5"))


def test_skeleton_difference_is_named_and_node_map_fixes_it(inputs, tmp_path):
    a, _ = inputs
    other = tmp_path / "other.slp"
    sio.save_slp(base_labels(tmp_path / "session1.avi", nodes=["a", "b", "snout"]), str(other))
    with pytest.raises(DataError) as err:
        merge_labels_files([a, other])
    message = str(err.value)
    assert "['c']" in message and "['snout']" in message and "--map-nodes" in message
    merged, report = merge_labels_files([a, other], map_nodes={"snout": "c"})
    assert merged.skeleton.node_names == NODES and report.node_map == {"snout": "c"}
    assert report.sources[1].user_identical == 2  # same points once renamed
    with pytest.raises(DataError, match="no input"):
        merge_labels_files([a, other], map_nodes={"tail": "c"})


def test_videos_match_by_basename_and_shape_not_by_name_alone(inputs, tmp_path):
    a, _ = inputs
    moved = tmp_path / "copy"
    moved.mkdir()
    shutil.copy(tmp_path / "session1.avi", moved / "session1.avi")
    c = moved / "c.slp"
    sio.save_slp(base_labels(moved / "session1.avi"), str(c))
    merged, report = merge_labels_files([a, c])
    assert report.videos[1].rule == "basename+shape" and len(merged.videos) == 1
    assert report.sources[1].user_identical == 2
    _, report = merge_labels_files([a, c], match_basename=False)
    assert report.videos[1].rule == "new"
    small = tmp_path / "small"
    small.mkdir()
    write_avi(small / "session1.avi", n_frames=10, height=32)
    d = small / "d.slp"
    sio.save_slp(base_labels(small / "session1.avi"), str(d))
    merged, report = merge_labels_files([a, d])
    assert report.videos[1].rule == "new" and len(merged.videos) == 2


def test_untracked_same_animal_by_position(tmp_path):
    video_path = write_avi(tmp_path / "v.avi")
    skel = sio.Skeleton(NODES)
    video = sio.Video.from_filename(str(video_path))
    near = [(11, 10), (21, 10), (31, 10)]  # 1 px from T1: same animal, different label
    far = [(10, 40), (20, 40), (30, 40)]   # another animal
    first = sio.Labels([sio.LabeledFrame(video, 1, [user(skel, T1)])])
    second = sio.Labels([sio.LabeledFrame(video, 1, [user(skel, near), user(skel, far)])])
    sio.save_slp(first, str(tmp_path / "1.slp"))
    sio.save_slp(second, str(tmp_path / "2.slp"))
    merged, report = merge_labels_files([tmp_path / "1.slp", tmp_path / "2.slp"])
    pts = sorted(i.numpy().tolist() for i in merged.labeled_frames[0].instances)
    assert pts == sorted([np.asarray(near, float).tolist(), np.asarray(far, float).tolist()])
    assert len(report.conflicts) == 1 and report.conflicts[0].mean_distance_px == 1.0


def test_pkg_output_embeds_frames_from_embedded_inputs(tmp_path):
    from posekit.io.synthetic import SynthSpec, write_dataset
    from posekit.io.writers import save_labels

    a = tmp_path / "a.pkg.slp"
    write_dataset(SynthSpec(n_frames=6, height=32, width=32, occluders=0, seed=3), a)
    labels = load_labels(a)
    inst = labels.labeled_frames[3].instances[0]
    labels.labeled_frames[3].instances[0] = user(inst.skeleton, inst.numpy() + 2.0)
    b = tmp_path / "b.pkg.slp"
    save_labels(labels, b, embed="auto")
    for name in ("out.pkg.slp", "out.slp"):
        _, report = merge_labels_files([a, b], tmp_path / name)
        back = load_labels(tmp_path / name)
        assert len(report.conflicts) == 1 and len(back.videos) == 1
        assert back.videos[0].backend_metadata.get("has_embedded_images") or \
            back.videos[0].backend.has_embedded_images
        original = load_labels(a)
        for x, y in zip(original.labeled_frames, back.labeled_frames):
            np.testing.assert_array_equal(x.image, y.image)
        np.testing.assert_allclose(back.labeled_frames[3].instances[0].numpy(),
                                   inst.numpy() + 2.0)


def test_cli_merge_writes_labels_and_report(inputs, tmp_path):
    import posekit.cli.main  # noqa: F401 - registers every command group
    from posekit.cli.labels_cmd import labels_app as app

    a, b = inputs
    out = tmp_path / "merged.slp"
    result = CliRunner().invoke(app, ["merge", str(a), str(b), "-o", str(out)])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "1 conflict(s)" in text and "conflict: session1.avi frame 0 track t1" in text
    report = json.loads((tmp_path / "merged.merge_report.json").read_text())
    assert report["schema_version"] == 1 and len(report["conflicts"]) == 1
    assert report["rules"]["conflict"].startswith("later file wins")
    refused = CliRunner().invoke(app, ["merge", str(a), str(b), "-o", str(b)])
    assert isinstance(refused.exception, DataError)
    bad = CliRunner().invoke(app, ["merge", str(a), "-o", str(out), "--map-nodes", "x"])
    assert "OLD=NEW" in str(bad.exception)


def test_real_dlc_project_and_package_merge(shared_data, tmp_path):
    """The reaching DeepLabCut project and its SLEAP package are the same 55 labels."""
    pkg, dlc = shared_data / "reaching.pkg.slp", shared_data / "dlc_reaching"
    _, report = merge_labels_files([pkg, dlc], tmp_path / "reaching.pkg.slp")
    assert report.frames == 55 and report.user_instances == 55
    assert report.sources[1].format == "dlc" and report.sources[1].user_identical == 55
    assert report.videos[1].rule == "path" and report.conflicts == []
    back = load_labels(tmp_path / "reaching.pkg.slp")
    original = load_labels(pkg)
    for x, y in zip(original.labeled_frames, back.labeled_frames):
        np.testing.assert_array_equal(x.image, y.image)
        np.testing.assert_allclose(x.instances[0].numpy(), y.instances[0].numpy())
