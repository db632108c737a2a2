"""inspect_labels and ``posekit data inspect``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import sleap_io as sio

from posekit.cli.main import main
from posekit.errors import DataError
from posekit.io import inspect_labels, save_labels
from posekit.io.inspection import (
    SUMMARY_SCHEMA_VERSION,
    InstancesPerFrame,
    LabelsSummary,
    SkeletonSummary,
    TrackSummary,
)

from .io_helpers import tiny_labels, write_video


@pytest.fixture
def problem_file(tmp_path: Path) -> Path:
    """tiny_labels plus a point outside the 64x48 image and a duplicated frame 3."""
    video = sio.Video.from_filename(str(write_video(tmp_path / "v.avi", 12)))
    labels = tiny_labels(video)
    skel = labels.skeleton
    outside = sio.Instance.from_numpy(
        np.array([[70.0, 10], [-0.6, 3], [63.4, 47.4]]), skeleton=skel
    )
    labels.labeled_frames.append(sio.LabeledFrame(video=video, frame_idx=3, instances=[outside]))
    path = tmp_path / "problems.slp"
    save_labels(labels, path)
    return path


def test_summary_counts_and_problems(problem_file: Path) -> None:
    summary = inspect_labels(problem_file)
    assert summary.labeled_frames == 6
    assert summary.user_instances == 7 and summary.predicted_instances == 2
    assert summary.instances_per_frame == InstancesPerFrame(
        min=1, mean=pytest.approx(9 / 6, abs=1e-4), max=2, histogram={1: 3, 2: 3}
    )
    assert summary.skeleton == SkeletonSummary(("a", "b", "c"), (("a", "b"), ("b", "c")))
    assert summary.tracks == (TrackSummary("t1", 2), TrackSummary("t2", 1))
    (video,) = summary.videos
    assert (video.frames, video.height, video.width, video.channels) == (12, 48, 64, 1)
    assert video.embedded is False and video.openable and video.image_sizes == {"64x48": 5}
    assert summary.images_embedded == "none"
    kinds = [p.kind for p in summary.problems]
    assert kinds == ["points_outside_image", "nan_only_instances", "duplicate_frames"]
    outside = summary.problem("points_outside_image")
    assert outside is not None
    assert outside.count == 2  # x=70 > 63.5 and x=-0.6 < -0.5; (63.4, 47.4) is inside
    assert {e["node"] for e in outside.examples} == {"a", "b"}
    nan_only, dupes = summary.problem("nan_only_instances"), summary.problem("duplicate_frames")
    assert nan_only is not None and nan_only.count == 2
    assert dupes is not None and dupes.examples[0]["frame_idx"] == 3
    assert summary.problem("video_unavailable") is None


def test_summary_json_round_trip(problem_file: Path) -> None:
    summary = inspect_labels(problem_file)
    data = json.loads(json.dumps(summary.to_dict()))  # JSON-able
    assert data["schema_version"] == SUMMARY_SCHEMA_VERSION
    assert data["instances_per_frame"]["histogram"] == {"1": 3, "2": 3}
    assert "missing_images" not in data["videos"][0]  # only for image lists
    assert LabelsSummary.from_dict(data) == summary
    with pytest.raises(DataError, match="schema_version 2"):
        LabelsSummary.from_dict({**data, "schema_version": 2})
    with pytest.raises(DataError, match="not a complete labels summary"):
        LabelsSummary.from_dict({"path": "x"})


def test_missing_video_is_reported(problem_file: Path, tmp_path: Path) -> None:
    (tmp_path / "v.avi").unlink()
    summary = inspect_labels(problem_file)
    unavailable = summary.problem("video_unavailable")
    assert unavailable is not None and "v.avi" in unavailable.message
    assert summary.videos[0].openable is False
    assert summary.frames_without_image_size == 6


def test_embedded_package_summary(problem_file: Path, tmp_path: Path) -> None:
    from posekit.io import load_labels

    pkg = tmp_path / "emb.pkg.slp"
    save_labels(load_labels(problem_file), pkg, embed="user")
    summary = inspect_labels(pkg)
    assert summary.images_embedded == "all" and summary.videos[0].embedded
    assert summary.videos[0].image_sizes == {"64x48": 4}  # frames with user instances


def test_cli_json_and_table(problem_file: Path, capsys) -> None:
    assert main(["data", "inspect", str(problem_file), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["labeled_frames"] == 6
    assert LabelsSummary.from_dict(data) == inspect_labels(problem_file)
    assert main(["data", "inspect", str(problem_file)]) == 0
    out = capsys.readouterr().out
    assert "points_outside_image" in out and "t1 (2)" in out and "labeled frames" in out


def test_cli_error_exit_status(tmp_path: Path, capsys) -> None:
    assert main(["data", "inspect", str(tmp_path / "nope.slp")]) == 2
    assert "nope.slp" in capsys.readouterr().err


def test_cli_help_ends_with_example(capsys) -> None:
    assert main(["data", "inspect", "--help"]) == 0
    out = capsys.readouterr().out
    assert "Example:" in out and "posekit data inspect" in out.split("Example:")[1]
