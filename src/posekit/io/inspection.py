"""Summaries of a labels file for ``posekit data inspect`` (all values JSON-able)."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from posekit.io.images import encoded_image_size, image_file_size
from posekit.io.labels import labels_format, load_labels
from posekit.io.slp import is_embedded

if TYPE_CHECKING:
    import sleap_io as sio

MAX_EXAMPLES = 5


def _video_name(video: sio.Video) -> str:
    if isinstance(video.filename, list):
        files = video.filename
        return f"{len(files)} images in {Path(files[0]).parent}" if files else "empty image list"
    return str(video.filename)


def _frame_sizes(video: sio.Video, frame_idxs: list[int]) -> dict[int, tuple[int, int]] | None:
    """``frame_idx -> (height, width)`` for the labelled frames; None if unreadable."""
    sizes: dict[int, tuple[int, int]] = {}
    if isinstance(video.filename, list):
        for fi in frame_idxs:
            size = image_file_size(video.filename[fi]) if 0 <= fi < len(video.filename) else None
            if size is not None:
                sizes[fi] = size[:2]
        return sizes
    backend = video.backend
    if backend is None:
        return None
    try:
        if is_embedded(video):
            import cv2

            for fi in frame_idxs:
                raw = backend.get_frame_raw_bytes(fi)
                if raw is None:
                    continue
                size = encoded_image_size(raw)
                if size is None:
                    img = cv2.imdecode(np.asarray(raw, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
                    size = None if img is None else img.shape[:2]
                if size is not None:
                    sizes[fi] = (int(size[0]), int(size[1]))
            return sizes
        shape = backend.shape
    except Exception:  # noqa: BLE001 - any decoder failure means: size unknown
        return None
    return {fi: (int(shape[1]), int(shape[2])) for fi in frame_idxs}


def _video_entry(index: int, video: sio.Video, n_labeled: int) -> dict[str, Any]:
    shape = video.shape
    entry: dict[str, Any] = {
        "index": index,
        "filename": _video_name(video),
        "embedded": is_embedded(video),
        "labeled_frames": n_labeled,
        "frames": int(shape[0]) if shape else None,
        "height": int(shape[1]) if shape else None,
        "width": int(shape[2]) if shape else None,
        "channels": int(shape[3]) if shape else None,
    }
    if isinstance(video.filename, list):
        missing = [f for f in video.filename if not os.path.isfile(f)]
        entry["missing_images"] = len(missing)
        entry["openable"] = not missing
    else:
        entry["openable"] = video.backend is not None and shape is not None
    return entry


def _problem(kind: str, count: int, message: str, examples: list[Any]) -> dict[str, Any]:
    return {
        "kind": kind,
        "count": int(count),
        "message": message,
        "examples": examples[:MAX_EXAMPLES],
    }


def summarize_labels(
    labels: sio.Labels, source: str = "labels", fmt: str | None = None
) -> dict[str, Any]:
    """Counts, skeleton, tracks, videos and problems of loaded labels (JSON-able dict)."""
    import sleap_io as sio

    frames = labels.labeled_frames
    per_frame = np.array([len(lf.instances) for lf in frames], dtype=np.int64)
    n_user = sum(len(lf.user_instances) for lf in frames)
    video_index = {id(v): i for i, v in enumerate(labels.videos)}
    skeleton = labels.skeletons[0] if labels.skeletons else None
    node_names = list(skeleton.node_names) if skeleton is not None else []
    by_video: dict[int, list[sio.LabeledFrame]] = {}
    for lf in frames:
        by_video.setdefault(video_index.get(id(lf.video), -1), []).append(lf)

    problems: list[dict[str, Any]] = []
    videos = []
    outside_examples: list[dict[str, Any]] = []
    n_outside = n_unsized = 0
    for vi, video in enumerate(labels.videos):
        lfs = by_video.get(vi, [])
        entry = _video_entry(vi, video, len(lfs))
        sizes = _frame_sizes(video, [lf.frame_idx for lf in lfs])
        if sizes is not None:
            counts = Counter(f"{w}x{h}" for h, w in sizes.values())
            entry["image_sizes"] = dict(counts.most_common())
        if not entry["openable"]:
            what = (
                f"{entry.get('missing_images', 0)} image files missing"
                if isinstance(video.filename, list)
                else "file not found or not decodable"
            )
            problems.append(
                _problem("video_unavailable", 1, f"video {vi} ({entry['filename']}): {what}", [vi])
            )
        videos.append(entry)
        for lf in lfs:
            size = (sizes or {}).get(lf.frame_idx)
            if size is None or not lf.instances:
                n_unsized += int(bool(lf.instances))
                continue
            pts = np.stack([inst.numpy() for inst in lf.instances])
            h, w = size
            with np.errstate(invalid="ignore"):
                bad = (pts[..., 0] < -0.5) | (pts[..., 1] < -0.5)
                bad |= (pts[..., 0] > w - 0.5) | (pts[..., 1] > h - 0.5)
            n_outside += int(bad.sum())
            for i, j in zip(*np.nonzero(bad), strict=True):
                if len(outside_examples) < MAX_EXAMPLES:
                    outside_examples.append(
                        {
                            "video": vi,
                            "frame_idx": int(lf.frame_idx),
                            "instance": int(i),
                            "node": node_names[j] if j < len(node_names) else int(j),
                            "x": float(pts[i, j, 0]),
                            "y": float(pts[i, j, 1]),
                            "image_wh": [w, h],
                        }
                    )
    if n_outside:
        problems.append(
            _problem(
                "points_outside_image",
                n_outside,
                f"{n_outside} points lie outside their image",
                outside_examples,
            )
        )
    nan_examples = [
        {
            "video": video_index.get(id(lf.video), -1),
            "frame_idx": int(lf.frame_idx),
            "instance": i,
            "predicted": isinstance(inst, sio.PredictedInstance),
        }
        for lf in frames
        for i, inst in enumerate(lf.instances)
        if np.isnan(inst.numpy()).all()
    ]
    if nan_examples:
        problems.append(
            _problem(
                "nan_only_instances",
                len(nan_examples),
                f"{len(nan_examples)} instances have no visible point",
                nan_examples,
            )
        )
    seen = Counter(
        (
            str(lf.video.filename) if isinstance(lf.video.filename, str) else id(lf.video),
            lf.frame_idx,
        )
        for lf in frames
    )
    dupes = [(key, n) for key, n in seen.items() if n > 1]
    if dupes:
        problems.append(
            _problem(
                "duplicate_frames",
                sum(n - 1 for _, n in dupes),
                f"{len(dupes)} (video, frame index) pairs appear more than once",
                [{"video": str(k[0]), "frame_idx": int(k[1]), "times": n} for k, n in dupes],
            )
        )
    embedded = [v["embedded"] for v in videos]
    per_track = Counter(id(inst.track) for lf in frames for inst in lf.instances)
    hist = Counter(per_frame.tolist())
    return {
        "path": source,
        "format": fmt,
        "labeled_frames": len(frames),
        "user_instances": int(n_user),
        "predicted_instances": int(per_frame.sum()) - int(n_user),
        "instances_per_frame": {
            "min": int(per_frame.min()) if len(per_frame) else 0,
            "mean": round(float(per_frame.mean()), 4) if len(per_frame) else 0.0,
            "max": int(per_frame.max()) if len(per_frame) else 0,
            "histogram": {str(k): int(hist[k]) for k in sorted(hist)},
        },
        "skeleton": {
            "nodes": node_names,
            "edges": [[node_names[a], node_names[b]] for a, b in skeleton.edge_inds]
            if skeleton is not None
            else [],
        },
        "tracks": [{"name": t.name, "instances": int(per_track[id(t)])} for t in labels.tracks],
        "videos": videos,
        "images_embedded": "all"
        if embedded and all(embedded)
        else ("some" if any(embedded) else "none"),
        "frames_without_image_size": int(n_unsized),
        "problems": problems,
    }


def inspect_labels(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Load ``path`` (any supported labels format) and summarise it.

    Returns a JSON-able dict: ``labeled_frames``, ``user_instances``,
    ``predicted_instances``, ``instances_per_frame`` (min / mean / max / histogram),
    ``skeleton`` (nodes, edges), ``tracks`` (name, instance count), ``videos`` (file,
    embedded, frames, height, width, channels, per-frame ``image_sizes``, openable),
    ``images_embedded`` and ``problems`` (each with ``kind``, ``count``, ``message``,
    ``examples``): ``points_outside_image``, ``nan_only_instances``,
    ``duplicate_frames``, ``video_unavailable``.

    Raises:
        DataError: the path cannot be loaded as labels.
    """
    fmt = labels_format(path)
    labels = load_labels(path)
    return summarize_labels(labels, source=str(path), fmt=fmt)
