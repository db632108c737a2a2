"""``posekit labels assign``: shared share, balance, determinism, files, bad input."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import sleap_io as sio
import typer
from typer.testing import CliRunner

from posekit.errors import ConfigError, DataError
from posekit.refinement.assign import MANIFEST_NAME, assign_frames, write_assignment


def _labels(sizes: list[int], folder: Path | str = "/data", step: int = 7) -> sio.Labels:
    """Suggestions on ``len(sizes)`` videos (``v0.mp4``, ...; the files need not exist)."""
    videos = [sio.Video(filename=f"{folder}/v{i}.mp4", open_backend=False)
              for i in range(len(sizes))]
    suggestions = [sio.SuggestionFrame(video=v, frame_idx=f)
                   for v, n in zip(videos, sizes) for f in range(0, n * step, step)]
    return sio.Labels(videos=videos, suggestions=suggestions,
                      skeletons=[sio.Skeleton(["head", "tail"])])


def _spread(values) -> int:
    values = list(values)
    return max(values) - min(values)


def _per_labeler(assignment, key: str, group: str) -> list[int]:
    counts = assignment.counts()[key]
    return [counts[n].get(group, 0) for n in assignment.settings.labelers]


@pytest.mark.parametrize("sizes,labelers,overlap,shared_by", [
    ([37, 23, 11, 5], "abcd", 0.2, 2),
    ([50, 50], "abc", 0.2, 2),
    ([100, 40, 60], "abcde", 0.3, 3),
    ([40, 40, 40], "abcdefg", 0.2, 2),
])
def test_overlap_share_is_shared_and_every_frame_assigned(sizes, labelers, overlap,
                                                          shared_by):
    a = assign_frames(_labels(sizes), list(labelers), overlap=overlap, shared_by=shared_by)
    n = sum(sizes)
    assert len(a.frames) == n
    assert {(f.video_name, f.frame_idx) for f in a.frames} == {
        (f"v{i}.mp4", k * 7) for i, m in enumerate(sizes) for k in range(m)}
    assert abs(a.n_shared - overlap * n) <= 0.5  # the share, to the nearest frame
    assert all(len(f.labelers) == (shared_by if f.shared else 1) for f in a.frames)
    assert all(len(set(f.labelers)) == len(f.labelers) for f in a.frames)
    # each labeler's files hold exactly their frames; together they cover every frame
    covered = [(f.video_name, f.frame_idx) for name in labelers for f in a.frames_of(name)]
    assert len(covered) == n + a.n_shared * (shared_by - 1)
    assert set(covered) == {(f.video_name, f.frame_idx) for f in a.frames}


@pytest.mark.parametrize("sizes,labelers,shared_by", [
    ([37, 23, 11, 5], "abcd", 2), ([50, 50], "abc", 2), ([100, 40, 60], "abcde", 3)])
def test_loads_are_balanced_per_labeler_video_and_pair(sizes, labelers, shared_by):
    a = assign_frames(_labels(sizes), list(labelers), overlap=0.2, shared_by=shared_by, seed=3)
    c = a.counts()
    assert _spread(c["per_labeler"].values()) <= 1
    assert _spread(c["shared_per_labeler"].values()) <= 1
    for video in c["per_video"]:
        assert _spread(_per_labeler(a, "per_labeler_video", video)) <= 1
        frames, shared = c["per_video"][video]["frames"], c["per_video"][video]["shared"]
        assert abs(shared - 0.2 * frames) < 1  # every video has its share of shared frames
    pairs = c["shared_per_pair"]
    assert len(pairs) == len(labelers) * (len(labelers) - 1) // 2  # every pair meets
    # pairs meet about equally often (exactly, to one frame, when two share a frame)
    assert _spread(pairs.values()) <= (1 if shared_by == 2 else 2)


def test_numbers_of_a_three_labeler_split():
    a = assign_frames(_labels([50, 50]), ["anna", "ben", "carla"], overlap=0.2, seed=0)
    c = a.counts()
    assert a.n_shared == 20 and len(a.frames) == 100
    assert c["per_labeler"] == {"anna": 40, "ben": 40, "carla": 40}  # (80 + 2 * 20) / 3
    assert sorted(c["shared_per_pair"].values()) == [6, 7, 7]
    assert c["per_video"] == {"v0.mp4": {"frames": 50, "shared": 10},
                              "v1.mp4": {"frames": 50, "shared": 10}}


def _metadata(tmp_path: Path) -> Path:
    path = tmp_path / "meta.csv"
    path.write_text("video,animal,treatment\nv0.mp4,m1,drug\nv1.mp4,m2,drug\n"
                    "v2.mp4,m3,saline\nv3.mp4,m4,saline\n")
    return path


def test_balanced_by_condition_from_metadata(tmp_path):
    a = assign_frames(_labels([41, 9, 17, 33]), list("abc"), overlap=0.2,
                      metadata=_metadata(tmp_path), seed=5)
    c = a.counts()
    assert a.condition_columns == ["treatment"]
    assert set(c["per_condition"]) == {"treatment=drug", "treatment=saline"}
    for cond, row in c["per_condition"].items():
        assert row["frames"] == 50
        assert row["shared"] == 10  # 20 % of each condition
        assert _spread(_per_labeler(a, "per_labeler_condition", cond)) <= 1
    assert _spread(c["per_labeler"].values()) <= 1
    assert {f.condition for f in a.frames if f.video_name == "v2.mp4"} == {"treatment=saline"}


def test_same_seed_same_assignment_other_seed_differs():
    labels = _labels([30, 20])
    first = assign_frames(labels, list("abc"), seed=7).manifest()["frames"]
    again = assign_frames(labels, list("abc"), seed=7).manifest()["frames"]
    other = assign_frames(labels, list("abc"), seed=8).manifest()["frames"]
    assert first == again
    assert first != other


def test_shared_by_all_and_no_overlap():
    a = assign_frames(_labels([20]), list("abc"), overlap=0.25, shared_by=None)
    assert a.n_shared == 5
    assert all(f.labelers == ("a", "b", "c") for f in a.frames if f.shared)
    solo = assign_frames(_labels([20]), ["only"], overlap=0.0)
    assert solo.n_shared == 0 and len(solo.frames_of("only")) == 20


def test_labelled_frames_and_suggestions_counted_once():
    labels = _labels([10])
    video = labels.videos[0]
    skeleton = labels.skeletons[0]
    inst = sio.PredictedInstance.from_numpy(points_data=np.ones((2, 2)), skeleton=skeleton,
                                            point_scores=np.ones(2), score=1.0)
    labels.append(sio.LabeledFrame(video=video, frame_idx=0, instances=[inst]))   # also suggested
    labels.append(sio.LabeledFrame(video=video, frame_idx=500, instances=[inst]))  # labelled only
    assert len(assign_frames(labels, ["a", "b"]).frames) == 11
    assert len(assign_frames(labels, ["a", "b"], frames="suggestions").frames) == 10
    assert len(assign_frames(labels, ["a", "b"], frames="labeled").frames) == 2
    kept = assign_frames(labels, ["a", "b"], keep_predictions=True)
    out = kept.labels_for("a")
    assert len(out.suggestions) == len(kept.frames_of("a"))
    preds = {lf.frame_idx for lf in out.labeled_frames}
    assert preds <= {0, 500} and all(lf.predicted_instances for lf in out.labeled_frames)
    assert not assign_frames(labels, ["a", "b"]).labels_for("a").labeled_frames


def test_files_and_manifest(tmp_path):
    labels = _labels([12, 8], folder=tmp_path.as_posix())
    src = tmp_path / "frames.slp"
    sio.save_slp(labels, src.as_posix())
    before = hashlib.sha256(src.read_bytes()).hexdigest()
    from posekit.io.labels import load_labels

    a = assign_frames(load_labels(src), ["anna", "ben"], overlap=0.25, seed=1)
    manifest = write_assignment(a, tmp_path / "out")
    assert hashlib.sha256(src.read_bytes()).hexdigest() == before  # input untouched
    on_disk = json.loads((tmp_path / "out" / MANIFEST_NAME).read_text())
    assert on_disk["n_shared"] == 5 and on_disk["n_frames"] == 20
    assert on_disk["achieved_overlap"] == pytest.approx(0.25)
    assert len(on_disk["shared_frames"]) == 5
    for name in ("anna", "ben"):
        out = sio.load_slp((tmp_path / "out" / f"{name}.slp").as_posix(), open_videos=False)
        got = sorted((Path(s.video.filename).name, s.frame_idx) for s in out.suggestions)
        want = sorted((f["video"], f["frame_idx"]) for f in on_disk["frames"]
                      if name in f["labelers"])
        assert got == want
        assert on_disk["counts"]["per_labeler"][name] == len(want)
        assert {Path(v.filename).name for v in out.videos} <= {"v0.mp4", "v1.mp4"}
        assert [s.node_names for s in out.skeletons] == [["head", "tail"]]
        assert manifest["files"][name].endswith(f"out/{name}.slp")


def test_embedded_input_gives_packages(synth_single, tmp_path):
    from posekit.io.labels import load_labels

    a = assign_frames(load_labels(synth_single), ["a", "b", "c"], overlap=0.2, seed=0,
                      frames="labeled")
    manifest = write_assignment(a, tmp_path / "out")
    assert manifest["embedded"] is True
    out = sio.load_slp((tmp_path / "out" / "b.pkg.slp").as_posix())
    assert len(out.suggestions) == manifest["counts"]["per_labeler"]["b"]
    first = out.suggestions[0]
    assert first.video[first.frame_idx].shape[:2] == (64, 64)  # the image travels along


def test_bad_input(tmp_path):
    labels = _labels([10, 10])
    with pytest.raises(ConfigError, match="overlap"):
        assign_frames(labels, list("ab"), overlap=1.5)
    with pytest.raises(ConfigError, match="overlap"):
        assign_frames(labels, list("ab"), overlap=-0.1)
    with pytest.raises(ConfigError, match="at least 2 labelers"):
        assign_frames(labels, ["solo"], overlap=0.2)
    with pytest.raises(ConfigError, match="shared_by"):
        assign_frames(labels, list("abc"), shared_by=4)
    with pytest.raises(ConfigError, match="repeated"):
        assign_frames(labels, ["Anna", "anna"])
    with pytest.raises(ConfigError, match="file names"):
        assign_frames(labels, ["a/b", "c"])
    with pytest.raises(ConfigError, match="frames"):
        assign_frames(labels, list("ab"), frames="everything")
    with pytest.raises(DataError, match="no frames to assign"):
        assign_frames(sio.Labels(), list("ab"))
    meta = tmp_path / "meta.csv"
    meta.write_text("video,treatment\nv0.mp4,drug\n")
    with pytest.raises(DataError, match=r"no row for 1 video\(s\) \['v1.mp4'\]"):
        assign_frames(labels, list("ab"), metadata=meta)


def test_output_equal_to_input_is_refused(tmp_path):
    src = tmp_path / "a.slp"
    sio.save_slp(_labels([10]), src.as_posix())
    before = src.read_bytes()
    from posekit.io.labels import load_labels

    a = assign_frames(load_labels(src), ["a", "b"])
    with pytest.raises(ConfigError, match="would replace the input"):
        write_assignment(a, tmp_path)  # tmp_path/a.slp is the input
    with pytest.raises(ConfigError, match="is a file"):
        write_assignment(a, src)
    assert src.read_bytes() == before
    assert not (tmp_path / "b.slp").exists()  # nothing written


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    import posekit.cli.main  # noqa: F401 - registers every command group
    from posekit.cli.labels_cmd import labels_app

    return labels_app


def test_cli(app, tmp_path):
    src = tmp_path / "frames.slp"
    sio.save_slp(_labels([25, 25], folder=tmp_path.as_posix()), src.as_posix())
    result = CliRunner().invoke(app, ["assign", str(src), "--labelers", "anna,ben,carla",
                                      "--overlap", "0.2", "--shared-by", "all",
                                      "-o", str(tmp_path / "out"), "--seed", "2"])
    assert result.exit_code == 0, result.output
    assert "10 of 50 frames shared (20.0%)" in result.output
    manifest = json.loads((tmp_path / "out" / MANIFEST_NAME).read_text())
    assert manifest["settings"]["shared_by"] is None and manifest["n_shared"] == 10
    assert sorted(p.name for p in (tmp_path / "out").glob("*.slp")) == [
        "anna.slp", "ben.slp", "carla.slp"]
    bad = CliRunner().invoke(app, ["assign", str(src), "--labelers", "a,b", "--shared-by",
                                   "two", "-o", str(tmp_path / "o2")])
    assert isinstance(bad.exception, ConfigError)
