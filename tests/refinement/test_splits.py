"""Splits that do not leak: whole groups on one side, conditions represented, gaps kept,
files usable by training, and a leakage report that tells the kinds apart."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from posekit.errors import ConfigError, DataError
from posekit.io.labels import load_labels
from posekit.refinement.metadata import read_metadata, video_identity
from posekit.refinement.splits import split_labels, write_split


@pytest.fixture(scope="module")
def sessions(tmp_path_factory):
    """6 animals (3 per treatment) x 2 sessions x 30 frames, embedded, with metadata."""
    from posekit.io.synthetic.sessions import default_sessions, write_sessions

    out = tmp_path_factory.mktemp("sessions")
    return write_sessions(out, default_sessions(n_animals=6, n_sessions=2), n_frames=30,
                          size=48)


@pytest.fixture(scope="module")
def labels(sessions):
    return load_labels(sessions.labels_path)


def column_of(sessions, column: str) -> dict[str, str]:
    """Video file name -> metadata value."""
    with open(sessions.metadata_path, newline="") as fh:
        return {Path(r["video"]).name: r[column] for r in csv.DictReader(fh)}


def sides_of(split, key) -> dict[str, set[str]]:
    """Metadata value (via ``key(frame)``) -> the sides its frames are on."""
    out: dict[str, set[str]] = {}
    for side, lab in split.sides().items():
        for lf in lab.labeled_frames:
            out.setdefault(key(lf), set()).add(side)
    return out


def video_name(lf) -> str:
    return video_identity(lf.video).name


def test_by_animal_never_splits_an_animal_and_represents_each_treatment(sessions, labels):
    animal, treatment = column_of(sessions, "animal"), column_of(sessions, "treatment")
    for seed in range(4):
        split = split_labels(labels, "animal", metadata=sessions.metadata_path, seed=seed)
        where = sides_of(split, lambda lf: animal[video_name(lf)])
        assert len(where) == 6 and all(len(s) == 1 for s in where.values())
        cover = sides_of(split, lambda lf: treatment[video_name(lf)])
        assert cover == {"saline": {"train", "val", "test"}, "drug": {"train", "val", "test"}}
    m = split.manifest
    assert m.stratified and m.condition_columns == ["treatment"]
    assert sum(m.n_frames.values()) == 360 and all(g.n_frames == 60 for g in m.groups)
    assert any("requested 10%" in n for n in m.notes)  # whole animals: 2 of 6 per side


def test_by_condition_keeps_each_condition_whole(sessions, labels):
    treatment = column_of(sessions, "treatment")
    split = split_labels(labels, "condition", metadata=sessions.metadata_path, val=0.3, test=0)
    where = sides_of(split, lambda lf: treatment[video_name(lf)])
    assert sorted(map(sorted, where.values())) == [["train"], ["val"]]
    assert split.manifest.n_frames == {"train": 180, "val": 180, "test": 0}
    assert any("by design" in n for n in split.manifest.notes)
    with pytest.raises(DataError, match="2 condition"):
        split_labels(labels, "condition", metadata=sessions.metadata_path)


def test_by_video_and_unstratified_fractions(labels):
    split = split_labels(labels, "video", val=0.1, test=0.1, seed=3)
    where = sides_of(split, video_name)
    assert len(where) == 12 and all(len(s) == 1 for s in where.values())
    assert split.manifest.n_frames == {"train": 300, "val": 30, "test": 30}
    assert not split.manifest.stratified


def test_frame_split_is_seeded_and_leaks(tmp_path, labels):
    a = split_labels(labels, "frame", seed=1)
    b = split_labels(labels, "frame", seed=1)
    c = split_labels(labels, "frame", seed=2)
    assert a.manifest.frames == b.manifest.frames != c.manifest.frames
    assert a.manifest.n_frames == {"train": 288, "val": 36, "test": 36}
    manifest, report = write_split(a, tmp_path / "frame")
    val = report.side("val")
    assert val.min_distance == 1 and val.n_near_in_time == val.n_frames  # consecutive frames
    assert val.n_near_duplicates > 0 and report.leaks and manifest.leakage["leaks"]


def test_block_split_keeps_the_gap(tmp_path, labels):
    split = split_labels(labels, "block", gap=4, block_size=10, seed=0)
    manifest, report = write_split(split, tmp_path / "block", near_frames=4)
    for side in report.sides:
        assert side.min_distance is not None and side.min_distance >= 4
        assert side.n_near_in_time == 0
    # blocks are whole apart from dropped frames, and every drop was needed
    numbers = {}
    for side, lab in split.sides().items():
        for lf in lab.labeled_frames:
            numbers.setdefault(video_name(lf), []).append((lf.frame_idx, side))
    for frames in numbers.values():
        for f, side in frames:
            others = [g for g, s in frames if s != side]
            assert not others or min(abs(f - g) for g in others) >= 4
    assert manifest.dropped and manifest.gap == 4 and manifest.block_size == 10
    kept = sum(manifest.n_frames.values())
    assert kept + len(manifest.dropped) == 360


def test_written_files_are_usable_by_training(tmp_path, sessions, labels, make_tiny_config):
    from posekit.config import load_config
    from posekit.io.slp import is_embedded

    split = split_labels(labels, "animal", metadata=sessions.metadata_path, seed=0)
    manifest, _ = write_split(split, tmp_path / "split")
    folder = tmp_path / "split"
    assert sorted(p.name for p in folder.iterdir()) == [
        "leakage_report.json", "split_manifest.json", "test.slp", "train.slp", "val.slp"]
    data = json.loads((folder / "split_manifest.json").read_text())
    assert data["by"] == "animal" and data["schema_version"] == 1
    dc = data["training_config"]["data_config"]
    assert dc["train_labels_path"] == [(folder / "train.slp").as_posix()]
    cfg = make_tiny_config("single_instance", Path(dc["train_labels_path"][0]), tmp_path / "r")
    cfg["data_config"].update(dc)
    loaded = load_config(cfg)
    assert loaded.data_config.val_labels_path == dc["val_labels_path"]
    assert loaded.data_config.test_file_path == dc["test_file_path"]
    test = load_labels(dc["test_file_path"])
    assert len(test.labeled_frames) == manifest.n_frames["test"]
    assert all(is_embedded(v) for v in test.videos)  # frames stay embedded
    np.testing.assert_array_equal(test.labeled_frames[0].image.shape, (48, 48, 1))


def test_metadata_problems_are_named(tmp_path, sessions, labels):
    rows = sessions.metadata_path.read_text().splitlines()
    short = tmp_path / "short.csv"
    short.write_text("\n".join(rows[:-1]) + "\n")
    with pytest.raises(DataError, match=r"no row for 1 video\(s\) \['m5_s1.mp4'\]"):
        split_labels(labels, "animal", metadata=short)
    with pytest.raises(DataError, match=r"no column \['genotype'\]"):
        split_labels(labels, "animal", metadata=sessions.metadata_path, group_column="genotype")
    with pytest.raises(ConfigError, match="needs a metadata CSV"):
        split_labels(labels, "animal")
    with pytest.raises(ConfigError, match=r"--val 0.5 \+ --test 0.5: out of range"):
        split_labels(labels, "video", val=0.5, test=0.5)
    nameless = tmp_path / "nameless.csv"
    nameless.write_text("file,animal\na.mp4,m0\n")
    with pytest.raises(DataError, match="no 'video' column"):
        read_metadata(nameless)
    by_name = tmp_path / "by_name.csv"  # file names alone match too
    by_name.write_text("video,animal\n" + "\n".join(
        f"{Path(r.split(',')[0]).name},{r.split(',')[1]}" for r in rows[1:]) + "\n")
    split = split_labels(labels, "animal", metadata=by_name, test=0)
    assert split.manifest.n_frames["test"] == 0


def test_cli_split(tmp_path, sessions):

    import posekit.cli.main  # noqa: F401 - registers every command group
    from posekit.cli.labels_cmd import labels_app as app

    out = tmp_path / "cli"
    result = CliRunner().invoke(app, [
        "split", str(sessions.labels_path), "--by", "animal", "--metadata",
        str(sessions.metadata_path), "-o", str(out), "--seed", "2"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "no leakage found" in text and "train_labels_path" in text
    assert (out / "train.slp").is_file() and (out / "leakage_report.json").is_file()
    bad = CliRunner().invoke(app, ["split", str(sessions.labels_path), "--by", "week",
                                   "-o", str(out)])
    assert isinstance(bad.exception, ConfigError)


def test_real_clip_subset_block_split(shared_data, tmp_path):
    """38 frames 40 apart: blocks of 300 frames keep a 30-frame gap without dropping any;
    a frame split of the same file is 40 frames from training, and the whole-frame hash
    calls every frame of this fixed-camera video a near duplicate."""
    labels = load_labels(shared_data / "clip_subset.pkg.slp")
    split = split_labels(labels, "block", gap=30, seed=0)
    manifest, report = write_split(split, tmp_path / "block")
    assert manifest.dropped == [] and sum(manifest.n_frames.values()) == 38
    assert all(s.min_distance >= 40 for s in report.sides)
    frame_split = split_labels(labels, "frame", seed=0)
    _, report = write_split(frame_split, tmp_path / "frame")
    val = report.side("val")
    assert val.min_distance == 40 and val.n_near_in_time == 0
    assert val.n_near_duplicates == val.n_frames
