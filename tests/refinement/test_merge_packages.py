"""Merging labelling packages: embedded frames of one recording spread over several
``.pkg.slp`` files (its video gone), and files of suggestions only."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import sleap_io as sio

from posekit.errors import DataError
from posekit.io.labels import load_labels
from posekit.io.splits import _subset
from posekit.io.writers import save_labels
from posekit.refinement.merge import merge_labels_files


@pytest.fixture
def packages(tmp_path: Path) -> tuple[Path, Path, Path]:
    """Two rounds of a 6-frame recording, frames 0-2 and 3-4 embedded, the video deleted."""
    from posekit.io.synthetic import SynthSpec, write_dataset

    full = tmp_path / "full.pkg.slp"
    write_dataset(SynthSpec(n_frames=6, height=32, width=32, occluders=0, seed=3), full,
                  tmp_path / "session.mp4")
    for name, part in (("r1.pkg.slp", slice(0, 3)), ("r2.pkg.slp", slice(3, 5))):
        labels = load_labels(full)
        save_labels(_subset(labels, labels.labeled_frames[part]), tmp_path / name, embed="auto")
    (tmp_path / "session.mp4").unlink()
    return full, tmp_path / "r1.pkg.slp", tmp_path / "r2.pkg.slp"


@pytest.mark.parametrize("name", ["merged.pkg.slp", "merged.slp"])
def test_packages_of_one_recording_merge_and_remerge(packages, tmp_path, name):
    full, r1, r2 = packages
    out = tmp_path / name
    _, report = merge_labels_files([r1, r2], out)
    assert [v.rule for v in report.videos] == ["new", "path"]
    back = load_labels(out)
    assert [lf.frame_idx for lf in back.labeled_frames] == [0, 1, 2, 3, 4]
    original = {lf.frame_idx: lf.image for lf in load_labels(full).labeled_frames}
    for lf in back.labeled_frames:  # each frame read from the package that holds it
        np.testing.assert_array_equal(lf.image, original[lf.frame_idx])
    _, report = merge_labels_files([out, r1, r2])
    assert report.frames == 5 and [s.user_identical for s in report.sources] == [0, 3, 2]
    assert all(v.rule == "path" for v in report.videos[1:])


def test_unreadable_frames_cannot_be_embedded(tmp_path):
    skel = sio.Skeleton(["a", "b"])
    video = sio.Video(filename=str(tmp_path / "gone.mp4"), open_backend=False)
    inst = sio.Instance.from_numpy(np.array([[1.0, 2.0], [3.0, 4.0]]), skeleton=skel)
    sio.save_slp(sio.Labels([sio.LabeledFrame(video, 3, [inst])]), str(tmp_path / "a.slp"))
    with pytest.raises(DataError, match=r"1 frame\(s\) cannot be read .* gone.mp4 frame 3"):
        merge_labels_files([tmp_path / "a.slp"], tmp_path / "out.pkg.slp")
    _, report = merge_labels_files([tmp_path / "a.slp"], tmp_path / "out.slp")
    assert report.frames == 1 and not (tmp_path / "out.pkg.slp").exists()


def test_suggestion_only_files_add_suggestions(packages, tmp_path):
    _, r1, _ = packages
    labels = load_labels(r1)
    video = labels.videos[0]
    picks = sio.Labels(videos=[video], suggestions=[sio.SuggestionFrame(video, 1),
                                                    sio.SuggestionFrame(video, 2)])
    save_labels(picks, tmp_path / "picks.pkg.slp", embed="auto")
    merged, report = merge_labels_files([r1, tmp_path / "picks.pkg.slp"])
    assert report.sources[1].suggestions_added == 2 and report.frames == 3
    assert [s.frame_idx for s in merged.suggestions] == [1, 2]
