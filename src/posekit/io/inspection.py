"""Summaries of a labels file for ``posekit data inspect``: :class:`LabelsSummary`.

:meth:`LabelsSummary.to_dict` is the summary's one JSON form (``posekit data inspect
--json``; ``schema_version`` :data:`SUMMARY_SCHEMA_VERSION`, every field described in the
classes below) and :meth:`LabelsSummary.from_dict` reads it back.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from posekit.errors import DataError
from posekit.io.images import encoded_image_size, image_file_size
from posekit.io.labels import labels_format, load_labels
from posekit.io.slp import is_embedded

if TYPE_CHECKING:
    import sleap_io as sio

MAX_EXAMPLES = 5
"""Examples kept per problem kind."""

SUMMARY_SCHEMA_VERSION = 1
"""Version of the summary JSON written by :meth:`LabelsSummary.to_dict`."""


@dataclass(frozen=True)
class InstancesPerFrame:
    """Instances per labelled frame: ``min`` / ``mean`` / ``max`` and ``{count: frames}``."""

    min: int
    mean: float
    max: int
    histogram: dict[int, int]


@dataclass(frozen=True)
class SkeletonSummary:
    """The first skeleton's node names and edges (as node-name pairs)."""

    nodes: tuple[str, ...]
    edges: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class TrackSummary:
    """A track and the number of instances on it."""

    name: str
    instances: int


@dataclass(frozen=True)
class VideoSummary:
    """One video of the labels.

    Attributes:
        index: position in the labels' video list.
        filename: its file, or ``"N images in FOLDER"`` for an image list.
        embedded: its frames are stored in the labels file.
        labeled_frames: labelled frames on it.
        frames, height, width, channels: its shape (None when unknown).
        openable: its file (or every image) can be opened.
        missing_images: image lists only: image files not found.
        image_sizes: ``{"WxH": labelled frames}`` where the frames could be sized.
    """

    index: int
    filename: str
    embedded: bool
    labeled_frames: int
    frames: int | None
    height: int | None
    width: int | None
    channels: int | None
    openable: bool
    missing_images: int | None = None
    image_sizes: dict[str, int] | None = None


@dataclass(frozen=True)
class Problem:
    """One kind of problem found: ``points_outside_image``, ``nan_only_instances``,
    ``duplicate_frames`` or ``video_unavailable``, how often, a message and up to
    :data:`MAX_EXAMPLES` examples (JSON objects or video indices)."""

    kind: str
    count: int
    message: str
    examples: tuple[Any, ...]


@dataclass(frozen=True)
class LabelsSummary:
    """What ``posekit data inspect`` reports about a labels file.

    Attributes:
        path: the file inspected.
        format: its reader (``slp``, ``pkg.slp``, ``dlc``; None when unknown).
        labeled_frames, user_instances, predicted_instances: counts.
        instances_per_frame: distribution of instances per labelled frame.
        skeleton: nodes and edges.
        tracks: tracks and their instance counts.
        videos: one summary per video.
        images_embedded: ``"all"``, ``"some"`` or ``"none"`` of the videos.
        frames_without_image_size: labelled frames whose image size could not be read
            (their points are not checked against the image).
        problems: the problems found (empty when none).
    """

    path: str
    format: str | None
    labeled_frames: int
    user_instances: int
    predicted_instances: int
    instances_per_frame: InstancesPerFrame
    skeleton: SkeletonSummary
    tracks: tuple[TrackSummary, ...]
    videos: tuple[VideoSummary, ...]
    images_embedded: str
    frames_without_image_size: int
    problems: tuple[Problem, ...]

    def problem(self, kind: str) -> Problem | None:
        """The problem of that kind, or None if it was not found."""
        return next((p for p in self.problems if p.kind == kind), None)

    def to_dict(self) -> dict[str, Any]:
        """The summary's JSON object (``schema_version`` first; unknown optional video
        fields left out)."""
        data = asdict(self)
        data["instances_per_frame"]["histogram"] = {
            str(k): v for k, v in self.instances_per_frame.histogram.items()
        }
        for video in data["videos"]:
            for key in ("missing_images", "image_sizes"):
                if video[key] is None:
                    del video[key]
        return {"schema_version": SUMMARY_SCHEMA_VERSION, **data}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "<summary>") -> LabelsSummary:
        """Read a summary's JSON object (files without ``schema_version`` too).

        Raises:
            DataError: a newer schema or a missing field.
        """
        version = data.get("schema_version", SUMMARY_SCHEMA_VERSION)
        if version != SUMMARY_SCHEMA_VERSION:
            raise DataError(
                f"{source}: summary schema_version {version!r} is not one this posekit reads "
                f"({SUMMARY_SCHEMA_VERSION}); expected a summary of posekit data inspect "
                "--json from this or an older posekit. Upgrade posekit to read it."
            )
        try:
            ipf, skeleton = data["instances_per_frame"], data["skeleton"]
            return cls(
                **{
                    k: data[k]
                    for k in (
                        "path",
                        "format",
                        "labeled_frames",
                        "user_instances",
                        "predicted_instances",
                        "images_embedded",
                        "frames_without_image_size",
                    )
                },
                instances_per_frame=InstancesPerFrame(
                    ipf["min"],
                    ipf["mean"],
                    ipf["max"],
                    {int(k): int(v) for k, v in ipf["histogram"].items()},
                ),
                skeleton=SkeletonSummary(
                    tuple(skeleton["nodes"]), tuple((a, b) for a, b in skeleton["edges"])
                ),
                tracks=tuple(TrackSummary(**t) for t in data["tracks"]),
                videos=tuple(VideoSummary(**v) for v in data["videos"]),
                problems=tuple(
                    Problem(p["kind"], p["count"], p["message"], tuple(p["examples"]))
                    for p in data["problems"]
                ),
            )
        except (KeyError, TypeError) as exc:
            raise DataError(
                f"{source}: not a complete labels summary ({type(exc).__name__}: {exc}); "
                "expected the JSON of posekit data inspect --json."
            ) from exc


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


def _video_entry(
    index: int, video: sio.Video, n_labeled: int, sizes: dict[int, tuple[int, int]] | None
) -> VideoSummary:
    shape = video.shape
    missing = None
    if isinstance(video.filename, list):
        missing = sum(1 for f in video.filename if not os.path.isfile(f))
        openable = not missing
    else:
        openable = video.backend is not None and shape is not None
    return VideoSummary(
        index=index,
        filename=_video_name(video),
        embedded=is_embedded(video),
        labeled_frames=n_labeled,
        frames=int(shape[0]) if shape else None,
        height=int(shape[1]) if shape else None,
        width=int(shape[2]) if shape else None,
        channels=int(shape[3]) if shape else None,
        openable=openable,
        missing_images=missing,
        image_sizes=(
            None
            if sizes is None
            else dict(Counter(f"{w}x{h}" for h, w in sizes.values()).most_common())
        ),
    )


def _problem(kind: str, count: int, message: str, examples: list[dict[str, Any]]) -> Problem:
    return Problem(kind, int(count), message, tuple(examples[:MAX_EXAMPLES]))


def _points_outside(
    lfs: list[sio.LabeledFrame],
    sizes: dict[int, tuple[int, int]],
    vi: int,
    node_names: list[str],
    examples: list[dict[str, Any]],
) -> int:
    """Points of ``lfs`` outside their image (pixel centres -0.5 .. size - 0.5); appends up
    to :data:`MAX_EXAMPLES` examples to ``examples`` and returns the count."""
    n_outside = 0
    for lf in lfs:
        size = sizes.get(lf.frame_idx)
        if size is None or not lf.instances:
            continue
        pts = np.stack([inst.numpy() for inst in lf.instances])
        h, w = size
        with np.errstate(invalid="ignore"):
            bad = (pts[..., 0] < -0.5) | (pts[..., 1] < -0.5)
            bad |= (pts[..., 0] > w - 0.5) | (pts[..., 1] > h - 0.5)
        n_outside += int(bad.sum())
        for i, j in zip(*np.nonzero(bad), strict=True):
            if len(examples) < MAX_EXAMPLES:
                examples.append(
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
    return n_outside


def _video_summaries(
    labels: sio.Labels, node_names: list[str]
) -> tuple[tuple[VideoSummary, ...], list[Problem], int]:
    """Per-video summaries, the problems found through the images (unavailable videos,
    points outside their image) and the number of labelled frames of unknown size."""
    video_index = {id(v): i for i, v in enumerate(labels.videos)}
    by_video: dict[int, list[sio.LabeledFrame]] = {}
    for lf in labels.labeled_frames:
        by_video.setdefault(video_index.get(id(lf.video), -1), []).append(lf)
    videos, problems, examples = [], [], []
    n_outside = n_unsized = 0
    for vi, video in enumerate(labels.videos):
        lfs = by_video.get(vi, [])
        sizes = _frame_sizes(video, [lf.frame_idx for lf in lfs])
        entry = _video_entry(vi, video, len(lfs), sizes)
        if not entry.openable:
            what = (
                f"{entry.missing_images or 0} image files missing"
                if isinstance(video.filename, list)
                else "file not found or not decodable"
            )
            problems.append(
                _problem("video_unavailable", 1, f"video {vi} ({entry.filename}): {what}", [vi])
            )
        videos.append(entry)
        n_unsized += sum(1 for lf in lfs if lf.instances and lf.frame_idx not in (sizes or {}))
        n_outside += _points_outside(lfs, sizes or {}, vi, node_names, examples)
    if n_outside:
        problems.append(
            _problem(
                "points_outside_image",
                n_outside,
                f"{n_outside} points lie outside their image",
                examples,
            )
        )
    return tuple(videos), problems, n_unsized


def _instance_problems(labels: sio.Labels) -> list[Problem]:
    """Instances without a visible point, and (video, frame) pairs labelled twice."""
    import sleap_io as sio

    frames = labels.labeled_frames
    video_index = {id(v): i for i, v in enumerate(labels.videos)}
    problems = []
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
    return problems


def _instances_per_frame(per_frame: np.ndarray) -> InstancesPerFrame:
    hist = Counter(per_frame.tolist())
    return InstancesPerFrame(
        min=int(per_frame.min()) if len(per_frame) else 0,
        mean=round(float(per_frame.mean()), 4) if len(per_frame) else 0.0,
        max=int(per_frame.max()) if len(per_frame) else 0,
        histogram={int(k): int(hist[k]) for k in sorted(hist)},
    )


def summarize_labels(
    labels: sio.Labels, source: str = "labels", fmt: str | None = None
) -> LabelsSummary:
    """Counts, skeleton, tracks, videos and problems of loaded labels."""
    frames = labels.labeled_frames
    per_frame = np.array([len(lf.instances) for lf in frames], dtype=np.int64)
    n_user = sum(len(lf.user_instances) for lf in frames)
    skeleton = labels.skeletons[0] if labels.skeletons else None
    node_names = list(skeleton.node_names) if skeleton is not None else []
    videos, problems, n_unsized = _video_summaries(labels, node_names)
    embedded = [v.embedded for v in videos]
    per_track = Counter(id(inst.track) for lf in frames for inst in lf.instances)
    return LabelsSummary(
        path=source,
        format=fmt,
        labeled_frames=len(frames),
        user_instances=int(n_user),
        predicted_instances=int(per_frame.sum()) - int(n_user),
        instances_per_frame=_instances_per_frame(per_frame),
        skeleton=SkeletonSummary(
            nodes=tuple(node_names),
            edges=tuple((node_names[a], node_names[b]) for a, b in skeleton.edge_inds)
            if skeleton is not None
            else (),
        ),
        tracks=tuple(TrackSummary(t.name, int(per_track[id(t)])) for t in labels.tracks),
        videos=videos,
        images_embedded="all"
        if embedded and all(embedded)
        else ("some" if any(embedded) else "none"),
        frames_without_image_size=n_unsized,
        problems=(*problems, *_instance_problems(labels)),
    )


def inspect_labels(path: str | os.PathLike[str]) -> LabelsSummary:
    """Load ``path`` (any supported labels format) and summarise it (see
    :class:`LabelsSummary`; problems: ``points_outside_image``, ``nan_only_instances``,
    ``duplicate_frames``, ``video_unavailable``).

    Raises:
        DataError: the path cannot be loaded as labels.
    """
    fmt = labels_format(path)
    labels = load_labels(path)
    return summarize_labels(labels, source=str(path), fmt=fmt)
