"""Writers: atomic .slp saving, analysis CSV and analysis HDF5, with round trips."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import sleap_io as sio

from posekit.errors import DataError, VideoError
from posekit.io import (
    FrameTable,
    export_analysis_h5,
    export_csv,
    load_labels,
    save_labels,
    split_labels,
)

from .io_helpers import simple_labels, tiny_labels, write_video

NAN = np.nan


@pytest.fixture
def video(tmp_path: Path) -> sio.Video:
    return sio.Video.from_filename(str(write_video(tmp_path / "v.avi", 12)))


def test_save_labels_round_trip(video: sio.Video, tmp_path: Path) -> None:
    labels = tiny_labels(video)
    out = save_labels(labels, tmp_path / "out.slp")
    again = load_labels(out)
    a = FrameTable.from_labels(labels, user_instances_only=False)
    b = FrameTable.from_labels(again, user_instances_only=False)
    np.testing.assert_array_equal(a.keys, b.keys)
    np.testing.assert_array_equal(a.inst_points, b.inst_points)
    np.testing.assert_array_equal(a.inst_track, b.inst_track)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_save_labels_failure_keeps_existing_file(
    video: sio.Video, tmp_path: Path, monkeypatch
) -> None:
    target = tmp_path / "out.slp"
    target.write_bytes(b"previous content")

    def broken(filename, *args, **kwargs):
        Path(filename).write_bytes(b"half")
        raise RuntimeError("disk full")

    import sleap_io.io.slp

    monkeypatch.setattr(sleap_io.io.slp, "write_labels", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        save_labels(tiny_labels(video), target)
    assert target.read_bytes() == b"previous content"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.slp", "v.avi"]


def test_save_labels_rejects_other_extensions(video: sio.Video, tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"\.slp"):
        save_labels(tiny_labels(video), tmp_path / "out.h5")
    with pytest.raises(DataError, match="embed"):
        save_labels(tiny_labels(video), tmp_path / "out.slp", embed="sometimes")


def test_split_of_package_keeps_embedded_images_with_auto(video: sio.Video, tmp_path: Path) -> None:
    pkg = tmp_path / "all.pkg.slp"
    save_labels(simple_labels(video, 8), pkg, embed="user")
    video.close()
    (tmp_path / "v.avi").unlink()  # the source video is gone: only embedded frames remain
    _train, val = split_labels(load_labels(pkg), 0.25, seed=0)
    save_labels(val, tmp_path / "val.pkg.slp", embed="auto")
    reloaded = FrameTable.from_labels(load_labels(tmp_path / "val.pkg.slp"))
    original = FrameTable.from_labels(val)
    assert reloaded.videos[0].embedded and len(reloaded) == 2
    for i in range(len(reloaded)):
        np.testing.assert_array_equal(reloaded.read_image(i), original.read_image(i))
    # sleap-io's default (embed=False) points the frames back at the deleted source video.
    save_labels(val, tmp_path / "val_ref.slp", embed=False)
    with pytest.raises(VideoError, match="v.avi"):
        FrameTable.from_labels(load_labels(tmp_path / "val_ref.slp")).read_image(0)


def test_auto_keeps_embedded_frames_and_references_the_other_videos(tmp_path: Path) -> None:
    """Frames from a package and frames of a video file in one output (what merging a
    round's package into a project does): the video stays a reference, the package's
    frames stay embedded, and every image reads back."""
    from posekit.io.synthetic import SynthSpec, write_dataset

    spec = {"n_frames": 4, "height": 32, "width": 32}
    write_dataset(SynthSpec(seed=1, **spec), tmp_path / "a.slp", tmp_path / "a.mp4")
    write_dataset(SynthSpec(seed=2, **spec), tmp_path / "b.pkg.slp")
    a, b = load_labels(tmp_path / "a.slp"), load_labels(tmp_path / "b.pkg.slp")
    mixed = sio.Labels(labeled_frames=a.labeled_frames + b.labeled_frames,
                       videos=a.videos + b.videos, skeletons=a.skeletons)
    for lf in b.labeled_frames:
        for inst in lf.instances:
            inst.skeleton = a.skeletons[0]
    save_labels(mixed, tmp_path / "mixed.slp", embed="auto")
    back = sio.load_slp(str(tmp_path / "mixed.slp"))
    assert back.videos[0].filename == (tmp_path / "a.mp4").as_posix()
    assert back.videos[1].filename == (tmp_path / "mixed.slp").as_posix() or \
        Path(back.videos[1].filename).name == "mixed.slp"
    for got, want in zip(back.labeled_frames, mixed.labeled_frames, strict=True):
        np.testing.assert_array_equal(got.image, want.image)


def test_export_csv_round_trip(video: sio.Video, tmp_path: Path) -> None:
    labels = tiny_labels(video)
    path = export_csv(labels, tmp_path / "out.csv")
    table = pd.read_csv(path)
    assert list(table.columns[:6]) == [
        "track",
        "frame_idx",
        "instance.score",
        "a.x",
        "a.y",
        "a.score",
    ]
    assert list(table.columns[6:]) == ["b.x", "b.y", "b.score", "c.x", "c.y", "c.score"]
    assert table["frame_idx"].tolist() == [0, 0, 3, 3, 5, 7, 9, 9]
    assert table["track"].fillna("").tolist() == ["t1", "t2", "", "", "t1", "", "", ""]
    np.testing.assert_allclose(table["instance.score"], [NAN, NAN, NAN, 0.8, 0.9, NAN, NAN, NAN])
    np.testing.assert_allclose(
        table.loc[4, ["a.x", "a.y", "c.x", "c.y", "c.score"]], [20, 21, 24, 25, 0.5]
    )
    assert np.isnan(table.loc[0, "c.x"]) and table.loc[1, "c.y"] == 15
    back = sio.load_csv(str(path), format="sleap", skeleton=labels.skeleton)
    pts = [
        inst.numpy()
        for lf in sorted(back.labeled_frames, key=lambda f: f.frame_idx)
        for inst in lf.instances
    ]
    np.testing.assert_array_equal(pts[1], [[10, 11], [12, 13], [14, 15]])


def test_export_analysis_h5_round_trip(video: sio.Video, tmp_path: Path) -> None:
    labels = tiny_labels(video)
    path = export_analysis_h5(labels, tmp_path / "out.analysis.h5")
    with h5py.File(path, "r") as f:
        tracks = f["tracks"][:]
        assert tracks.shape == (2, 2, 3, 12)  # (tracks, xy, nodes, frames): SLEAP's layout
        assert [n.decode() for n in f["node_names"][:]] == ["a", "b", "c"]
        assert [n.decode() for n in f["track_names"][:]] == ["t1", "t2"]
        occupancy = f["track_occupancy"][:]
        assert occupancy.shape == (12, 2)
        np.testing.assert_array_equal(tracks[1, :, :, 0], [[10, 12, 14], [11, 13, 15]])
        np.testing.assert_array_equal(tracks[0, :, :, 5], [[20, 22, 24], [21, 23, 25]])
        np.testing.assert_allclose(f["point_scores"][0, :, 5], [0.5, 0.5, 0.5])
        assert occupancy[:, 0].tolist() == [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]
    back = sio.load_analysis_h5(str(path))
    lf = next(lf for lf in back.labeled_frames if lf.frame_idx == 0)
    got = {inst.track.name: inst.numpy() for inst in lf.instances}
    np.testing.assert_array_equal(got["t1"], [[1, 2], [3, 4], [NAN, NAN]])


def test_exports_need_a_video_choice_with_several_videos(tmp_path: Path) -> None:
    v1 = sio.Video.from_filename(str(write_video(tmp_path / "v1.avi", 3)))
    v2 = sio.Video.from_filename(str(write_video(tmp_path / "v2.avi", 3)))
    a, b = simple_labels(v1, 2), simple_labels(v2, 3)
    for lf in b.labeled_frames:
        for inst in lf.instances:
            inst.skeleton = a.skeleton
    both = sio.Labels(
        labeled_frames=a.labeled_frames + b.labeled_frames, videos=[v1, v2], skeletons=[a.skeleton]
    )
    with pytest.raises(DataError, match="video="):
        export_csv(both, tmp_path / "x.csv")
    assert not (tmp_path / "x.csv").exists()
    assert len(pd.read_csv(export_csv(both, tmp_path / "x.csv", video=1))) == 3
    with h5py.File(export_analysis_h5(both, tmp_path / "x.h5", video=0), "r") as f:
        assert f["tracks"].shape == (1, 2, 3, 3)


def _predictions_only(labels: sio.Labels) -> sio.Labels:
    frames = [sio.LabeledFrame(video=lf.video, frame_idx=lf.frame_idx,
                               instances=list(lf.predicted_instances))
              for lf in labels.labeled_frames if lf.predicted_instances]
    return sio.Labels(labeled_frames=frames, videos=labels.videos, skeletons=labels.skeletons)


def test_overwriting_user_labels_keeps_a_loadable_backup(video: sio.Video, tmp_path: Path):
    labels = tiny_labels(video)
    target = save_labels(labels, tmp_path / "labels.slp")
    with pytest.warns(UserWarning, match="held user labels"):
        save_labels(_predictions_only(labels), target)
    backups = sorted(tmp_path.glob("labels.backup-*.slp"))
    assert len(backups) == 1
    kept = FrameTable.from_labels(load_labels(backups[0]), user_instances_only=True)
    original = FrameTable.from_labels(labels, user_instances_only=True)
    np.testing.assert_array_equal(kept.inst_points, original.inst_points)
    assert not any(lf.user_instances for lf in load_labels(target).labeled_frames)


def test_overwriting_predictions_needs_no_backup(video: sio.Video, tmp_path: Path):
    predictions = _predictions_only(tiny_labels(video))
    target = save_labels(predictions, tmp_path / "pred.slp")
    save_labels(predictions, target)
    assert sorted(p.name for p in tmp_path.glob("pred*")) == ["pred.slp"]


def test_backup_names_stay_sleap_files(tmp_path: Path):
    from posekit.io.writers import backup_name

    assert backup_name(tmp_path / "a.pkg.slp", "S").name == "a.backup-S.pkg.slp"
    assert backup_name(tmp_path / "a.b.slp", "S").name == "a.b.backup-S.slp"


def test_synthetic_data_over_user_labels_keeps_a_backup(video: sio.Video, tmp_path: Path):
    from posekit.io.synthetic import SynthSpec, write_dataset

    target = save_labels(tiny_labels(video), tmp_path / "mine.pkg.slp")
    spec = SynthSpec(n_frames=3, n_animals=1, height=32, width=32, seed=1)
    with pytest.warns(UserWarning, match="held user labels"):
        write_dataset(spec, target)
    assert len(list(tmp_path.glob("mine.backup-*.pkg.slp"))) == 1
    write_dataset(spec, target)  # synthetic over synthetic: replaced, no new backup
    assert len(list(tmp_path.glob("mine.backup-*.pkg.slp"))) == 1
