"""Several synthetic recordings (animals x sessions x conditions) with a metadata CSV."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from posekit.errors import ConfigError
from posekit.io.labels import load_labels
from posekit.io.slp import is_embedded
from posekit.io.synthetic.sessions import (
    METADATA_COLUMNS,
    SessionSpec,
    condition_look,
    default_sessions,
    write_sessions,
)


def test_default_sessions_nest_animals_in_treatments():
    sessions = default_sessions(n_animals=4, n_sessions=3, treatments=("saline", "drug"))
    assert len(sessions) == 12 and len({s.video for s in sessions}) == 12
    assert len({s.seed for s in sessions}) == 12
    by_animal = {}
    for s in sessions:
        by_animal.setdefault(s.animal, set()).add((s.treatment, s.dose))
    assert by_animal == {"m0": {("saline", "0")}, "m1": {("drug", "10")},
                         "m2": {("saline", "0")}, "m3": {("drug", "10")}}
    assert {s.arena for s in sessions if s.session == "s1"} == {"B"}
    looks = {s.treatment: (s.lighting, s.texture, s.blur) for s in sessions}
    assert looks["saline"] != looks["drug"]
    assert looks["drug"] == tuple(condition_look(1).values())
    with pytest.raises(ConfigError):
        default_sessions(n_animals=0)


def test_write_sessions_embedded_with_metadata(tmp_path):
    sessions = default_sessions(n_animals=2, n_sessions=2)
    data = write_sessions(tmp_path, sessions, n_frames=8, size=40)
    assert data.labels_path.name == "sessions.pkg.slp"
    assert all(p.is_file() for p in data.video_paths) and len(data.video_paths) == 4
    labels = load_labels(data.labels_path)
    assert len(labels.videos) == 4 and len(labels.labeled_frames) == 32
    assert all(is_embedded(v) for v in labels.videos)
    sources = [v.source_video.filename for v in labels.videos]
    assert sources == [p.resolve().as_posix() for p in data.video_paths]
    firsts = [lf.image for lf in labels.labeled_frames if lf.frame_idx == 0]
    assert not np.array_equal(firsts[0], firsts[1])  # own seed: own floor and motion
    with open(data.metadata_path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["video", *METADATA_COLUMNS]
    assert [r["video"] for r in rows] == [f"videos/{s.video}" for s in sessions]
    assert (tmp_path / rows[3]["video"]).is_file()
    assert "posekit_synthetic" in labels.provenance


def test_metadata_rows_match_the_labels_videos(tmp_path):
    from posekit.refinement.metadata import read_metadata

    data = write_sessions(tmp_path, default_sessions(n_animals=3, n_sessions=1), n_frames=4,
                          size=32, embed=False, name="plain")
    labels = load_labels(data.labels_path)
    assert data.labels_path.name == "plain.slp" and not any(is_embedded(v) for v in labels.videos)
    rows = read_metadata(data.metadata_path).lookup(labels.videos, ["animal", "treatment"])
    assert rows == [{"animal": "m0", "treatment": "saline"}, {"animal": "m1", "treatment": "drug"},
                    {"animal": "m2", "treatment": "saline"}]


def test_unique_video_names_required(tmp_path):
    twice = [SessionSpec("a.mp4", "m0", "s0", "saline"), SessionSpec("a.mp4", "m1", "s0", "drug")]
    with pytest.raises(ConfigError, match="unique"):
        write_sessions(tmp_path, twice)
