"""Small on-disk fixtures for the posekit.io tests (videos, images, labels, DLC projects)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np
import pytest
import sleap_io as sio

from posekit.errors import DataError
from posekit.io import load_labels
from posekit.io.repairs import LabelsRepairWarning, repairs_of

NAN = np.nan


def level(i: int) -> int:
    """Grey level that encodes frame ``i`` (MJPG keeps flat frames within +-2)."""
    return (i * 7) % 200 + 20


def write_video(
    path: Path, n_frames: int, height: int = 48, width: int = 64, fps: int = 10
) -> Path:
    """MJPG AVI whose frame ``i`` is a flat grey image of value ``level(i)``."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (width, height))
    assert writer.isOpened()
    for i in range(n_frames):
        writer.write(np.full((height, width, 3), level(i), np.uint8))
    writer.release()
    return path


def write_png(
    path: Path, height: int, width: int, value: int | tuple[int, int, int], grey: bool = False
) -> Path:
    """PNG of one colour; ``value`` is an RGB triple (or a grey level)."""
    if grey:
        img = np.full((height, width), value, np.uint8)
    else:
        rgb = value if isinstance(value, tuple) else (value, value, value)
        img = np.empty((height, width, 3), np.uint8)
        img[:] = rgb[::-1]  # cv2 writes BGR
    assert cv2.imwrite(str(path), img)
    return path


def snapshot(folder: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file under ``folder`` (to prove nothing changed)."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


SKELETON_NODES = ["a", "b", "c"]


def tiny_labels(video: sio.Video) -> sio.Labels:
    """Labels with known content on ``video`` (needs >= 10 frames).

    frame 0: user t1 [(1,2),(3,4),NaN], user t2 [(10,11),(12,13),(14,15)]
    frame 3: user (no track) [(5,5),(6,6),(7,7)] made from a prediction in the same frame
    frame 5: predicted only, score 0.9, track t1
    frame 7: one all-NaN user instance
    frame 9: user [(1,1),(2,2),(3,3)] and an all-NaN user instance
    """
    skel = sio.Skeleton(nodes=list(SKELETON_NODES), edges=[("a", "b"), ("b", "c")], name="tiny")
    t1, t2 = sio.Track(name="t1"), sio.Track(name="t2")

    def user(pts, track=None, from_predicted=None):
        return sio.Instance.from_numpy(
            np.asarray(pts, float), skeleton=skel, track=track, from_predicted=from_predicted
        )

    def pred(pts, score, track=None):
        arr = np.asarray(pts, float)
        return sio.PredictedInstance.from_numpy(
            arr, skeleton=skel, point_scores=np.full(len(arr), 0.5), score=score, track=track
        )

    p3 = pred([[5.5, 5], [6, 6], [7, 7]], 0.8)
    frames = [
        sio.LabeledFrame(
            video=video,
            frame_idx=0,
            instances=[
                user([[1, 2], [3, 4], [NAN, NAN]], t1),
                user([[10, 11], [12, 13], [14, 15]], t2),
            ],
        ),
        sio.LabeledFrame(
            video=video,
            frame_idx=3,
            instances=[user([[5, 5], [6, 6], [7, 7]], from_predicted=p3), p3],
        ),
        sio.LabeledFrame(
            video=video, frame_idx=5, instances=[pred([[20, 21], [22, 23], [24, 25]], 0.9, t1)]
        ),
        sio.LabeledFrame(video=video, frame_idx=7, instances=[user([[NAN, NAN]] * 3)]),
        sio.LabeledFrame(
            video=video,
            frame_idx=9,
            instances=[user([[1, 1], [2, 2], [3, 3]]), user([[NAN, NAN]] * 3)],
        ),
    ]
    return sio.Labels(labeled_frames=frames, videos=[video], skeletons=[skel], tracks=[t1, t2])


def simple_labels(
    video: sio.Video, n_frames: int, nodes: list[str] | None = None, track_names=()
) -> sio.Labels:
    """One user instance per frame 0..n-1 at points ``(frame + node, 2 * frame + node)``."""
    nodes = list(nodes or SKELETON_NODES)
    skel = sio.Skeleton(nodes=list(nodes), name="simple")
    tracks = [sio.Track(name=n) for n in track_names]
    frames = []
    for f in range(n_frames):
        pts = np.array([[f + j, 2 * f + j] for j in range(len(nodes))], float)
        track = tracks[f % len(tracks)] if tracks else None
        inst = sio.Instance.from_numpy(pts, skeleton=skel, track=track)
        frames.append(sio.LabeledFrame(video=video, frame_idx=f, instances=[inst]))
    return sio.Labels(labeled_frames=frames, videos=[video], skeletons=[skel], tracks=tracks)


def write_dlc_project(
    root: Path,
    bodyparts: list[str],
    rows: dict[str, dict[str, tuple[float, float] | None]],
    header_order: list[str] | None = None,
    image_sizes: dict[str, tuple[int, int]] | None = None,
    write_csv: bool = True,
    write_h5: bool = False,
    three_column_index: bool = False,
    skeleton: list[list[str]] | None = None,
) -> Path:
    """A single-animal DLC project with one labelled video folder ``vid``.

    ``rows`` maps image name -> bodypart -> (x, y) (None or absent: missing).
    """
    import pandas as pd

    root.mkdir(parents=True, exist_ok=True)
    skel = skeleton if skeleton is not None else [bodyparts[:2]]
    skel_text = "[" + ", ".join(f"['{a}', '{b}']" for a, b in skel) + "]"
    (root / "config.yaml").write_text(
        "Task: test\nscorer: Tester\nproject_path: WILL BE AUTOMATICALLY UPDATED\n"
        "video_sets:\n  WILL BE AUTOMATICALLY UPDATED:\n    crop: 0, 10, 0, 10\n"
        "bodyparts:\n" + "".join(f"- {b}\n" for b in bodyparts) + f"skeleton: {skel_text}\n"
    )
    folder = root / "labeled-data" / "vid"
    folder.mkdir(parents=True, exist_ok=True)
    order = header_order or bodyparts
    for i, name in enumerate(rows):
        h, w = (image_sizes or {}).get(name, (40, 50))
        write_png(folder / name, h, w, (10 * i % 250, 20, 30))
    cols = pd.MultiIndex.from_tuples(
        [("Tester", bp, c) for bp in order for c in ("x", "y")],
        names=["scorer", "bodyparts", "coords"],
    )
    data = [[v for bp in order for v in (rows[n].get(bp) or (NAN, NAN))] for n in rows]
    index = [f"labeled-data/vid/{n}" for n in rows]
    df = pd.DataFrame(data, columns=cols, index=index)
    if write_h5:
        df.to_hdf(folder / "CollectedData_Tester.h5", key="df_with_missing", mode="w")
    if write_csv:
        if three_column_index:
            df.index = pd.MultiIndex.from_tuples([tuple(i.split("/")) for i in index])
        df.to_csv(folder / "CollectedData_Tester.csv")
    return root


def points_by_frame(labels) -> np.ndarray:
    """``(n_frames, n_nodes, 2)`` points of each frame's first instance, in frame order."""
    frames = sorted(labels.labeled_frames, key=lambda lf: lf.frame_idx)
    return np.stack([lf.instances[0].numpy() for lf in frames])


# --- malformed inputs: build a project, assert the specific error or the reported repair ---

DLC_CONFIG = "Task: t\nscorer: Tester\nbodyparts:\n- head\n- tail\nskeleton: [[head, tail]]\n"
EXPECTED = np.array([[[1, 2], [3, 4]], [[5, 6], [NAN, NAN]]])  # of the tables in test_dlc_messy


def project(
    root: Path, table: str, config: str = DLC_CONFIG, name: str = "CollectedData_Tester.csv"
) -> Path:
    """A DLC project whose only table (``labeled-data/vid/<name>``) holds ``table``."""
    folder = root / "labeled-data" / "vid"
    folder.mkdir(parents=True)
    (root / "config.yaml").write_text(config)
    (folder / name).write_text(table)
    return root


def _folder(path: Path) -> Path:
    return path if path.is_dir() else path.parent


def refused(path: Path, *fragments: str) -> str:
    """Load ``path``: a DataError that starts with a path in its folder and holds
    ``fragments``; no file in that folder changed. Returns the message."""
    folder = _folder(path)
    before = snapshot(folder)
    with pytest.raises(DataError) as err:
        load_labels(path)
    message = str(err.value)
    assert snapshot(folder) == before
    assert message.startswith(str(folder)), message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    return message


def repaired(path: Path, *fragments: str):
    """Load ``path`` expecting LabelsRepairWarnings saying ``fragments``, the same lines in
    ``provenance["posekit_repairs"]`` and no file changed. Returns the labels."""
    folder = _folder(path)
    before = snapshot(folder)
    with pytest.warns(LabelsRepairWarning) as record:
        labels = load_labels(path)
    assert snapshot(folder) == before
    warned = " ".join(str(w.message) for w in record)
    recorded = " ".join(repairs_of(labels))
    for fragment in fragments:
        assert fragment in warned and fragment in recorded, (fragment, warned, recorded)
    assert all(m.startswith(str(folder)) for m in repairs_of(labels))
    return labels
