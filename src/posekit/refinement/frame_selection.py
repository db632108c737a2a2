"""Choose frames to label from videos: k-means on appearance (default), uniform, random,
and frames around behavioural events. ``posekit frames extract`` is a thin shell over
:func:`extract_frames` and :func:`write_selection`.

>>> sel = extract_frames(["session1.mp4", "session2.mp4"], n=20, seed=0)  # doctest: +SKIP
>>> write_selection(sel, "to_label.slp")                                # doctest: +SKIP

What happens, in order:

1. Every video is opened (one that cannot be opened is skipped and reported). Its
   window (``start``/``stop``, every ``stride``-th frame) is the pool of frames; at most
   ``max_candidates`` frames in all, evenly spread and shared in proportion to the
   windows' lengths, are considered (memory does not grow with video length).
2. ``kmeans``: the candidates are decoded in one streaming pass (background decoding)
   and shrunk to 30-px-wide grey images (DeepLabCut's features). Frames that fail to
   decode are skipped and listed, never clustered.
3. Events first (``k`` frames within ``event_window`` seconds of each event, picked by
   the same method), then ``n`` frames over the videos: in proportion to their windows'
   lengths, evenly, or all videos clustered together
   (:func:`~posekit.refinement.clustering.pick_diverse` — the frame nearest each k-means
   centre, empty clusters refilled, ``min_gap`` frames between picks of a video).
4. ``uniform`` / ``random`` picks are decoded afterwards to check they can be read; an
   unreadable pick is replaced and reported.

The same videos, settings and seed give the same frames. The result records why each
frame was chosen (cluster, distance to the centre, cluster size; or the event).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from posekit.errors import ConfigError, VideoError
from posekit.refinement import clustering
from posekit.refinement.events import PlacedEvent, match_events, read_events
from posekit.refinement.sampling import (
    VideoInfo,
    decode_frames,
    feature_shape,
    parse_time_point,
    probe_video,
    sample_features,
    spread,
    window_frames,
)
from posekit.utils.outputs import check_new_outputs

if TYPE_CHECKING:
    import sleap_io as sio

METHODS = ("kmeans", "uniform", "random")
ALLOCATIONS = ("proportional", "even", "together")
DEFAULT_N = 20  # DeepLabCut's numframes2pick
MANIFEST_FORMAT = "posekit.frames_extract/1"


@dataclass(frozen=True)
class PickedFrame:
    """One chosen frame and why it was chosen."""

    video: int
    frame_idx: int
    method: str
    cluster: int | None = None
    distance: float | None = None
    cluster_size: int | None = None
    refilled: bool = False
    event: str | None = None
    event_frame: int | None = None

    def reason(self) -> str:
        """The reason in words, e.g. ``"k-means cluster 3 of 41 frames, 12.5 from centre"``."""
        parts = []
        if self.event is not None:
            parts.append(f"event {self.event!r} at frame {self.event_frame}")
        if self.cluster is not None:
            how = "nearest free frame to" if self.refilled else "nearest to the centre of"
            parts.append(f"{how} k-means cluster {self.cluster} ({self.cluster_size} frames, "
                         f"distance {self.distance:.1f})")
        elif self.method != "kmeans":
            parts.append(f"{self.method} sample")
        return "; ".join(parts)


@dataclass
class Pool:
    """Frames eligible for picking: parallel arrays sorted by (video, frame)."""

    video: np.ndarray
    frame: np.ndarray
    general: np.ndarray  # bool: inside the videos' windows (not only near an event)
    features: np.ndarray | None = None


@dataclass
class FrameSelection:
    """The chosen frames (sorted by video, frame), the videos as seen and what was asked."""

    frames: list[PickedFrame]
    videos: list[VideoInfo]
    method: str
    seed: int
    requested: int
    parameters: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    candidates: list[int] = field(default_factory=list)
    frames_decoded: int = 0
    seconds: float = 0.0

    def frame_indices(self, video: int) -> list[int]:
        """Chosen frame indices of input video ``video``."""
        return [f.frame_idx for f in self.frames if f.video == video]

    def to_labels(self, skeletons: Sequence[sio.Skeleton] = ()) -> sio.Labels:
        """A labels object whose suggestions are the chosen frames (the SLEAP GUI lists
        them under *Labeling Suggestions*); the readable videos are referenced."""
        import sleap_io as sio

        videos = [v.video for v in self.videos if v.ok]
        suggestions = [
            sio.SuggestionFrame(video=self.videos[f.video].video, frame_idx=f.frame_idx)
            for f in self.frames
        ]
        labels = sio.Labels(videos=videos, skeletons=list(skeletons), suggestions=suggestions)
        labels.provenance["posekit_frames_extract"] = {
            "method": self.method, "seed": self.seed, "frames": len(self.frames)}
        return labels

    def manifest(self) -> dict[str, Any]:
        """Everything needed to understand and repeat the selection, as JSON-ready data."""
        from posekit import __version__

        frames = []
        for f in self.frames:
            info = self.videos[f.video]
            row = {"video": str(info.path), "video_index": f.video, "frame_idx": f.frame_idx,
                   "time_s": round(f.frame_idx / info.fps, 4) if info.fps else None,
                   "reason": f.reason()}
            row.update({k: v for k, v in asdict(f).items() if k not in ("video", "frame_idx")})
            frames.append(row)
        return {
            "format": MANIFEST_FORMAT, "posekit_version": __version__,
            "method": self.method, "seed": self.seed, "parameters": self.parameters,
            "requested": self.requested, "returned": len(self.frames),
            "videos": [_video_entry(v, i, self) for i, v in enumerate(self.videos)],
            "frames": frames, "notes": self.notes,
            "run": {"seconds": round(self.seconds, 3), "frames_decoded": self.frames_decoded,
                    "frames_per_second": round(self.frames_decoded / self.seconds, 1)
                    if self.seconds > 0 else None},
        }


def _video_entry(info: VideoInfo, index: int, sel: FrameSelection) -> dict[str, Any]:
    lo, hi, stride = info.window
    skipped = sorted(info.skipped)
    return {
        "path": str(info.path), "status": "ok" if info.ok else "skipped", "error": info.error,
        "n_frames": info.n_frames, "fps": info.fps,
        "size": [info.height, info.width, info.channels],
        "window": {"start": lo, "stop": hi, "stride": stride},
        "candidates": sel.candidates[index] if index < len(sel.candidates) else 0,
        "picked": len(sel.frame_indices(index)),
        "skipped_frames": {"count": len(skipped),
                           "first": [[int(f), r] for f, r in skipped[:20]]},
    }


def _check(method: str, allocation: str, n: int | None, min_gap: int, max_candidates: int,
           event_frames: int, event_window: float) -> None:
    problems = []
    if method not in METHODS:
        problems.append(f"method: {method!r}; expected one of {', '.join(METHODS)}")
    if allocation not in ALLOCATIONS:
        problems.append(f"allocation: {allocation!r}; expected one of {', '.join(ALLOCATIONS)}")
    for name, value, low in (("n", n, 0), ("min_gap", min_gap, 0),
                             ("max_candidates", max_candidates, 1),
                             ("event_frames", event_frames, 1)):
        if value is not None and int(value) < low:
            problems.append(f"{name}: {value}; expected an integer >= {low}")
    if not event_window >= 0:
        problems.append(f"event_window: {event_window}; expected seconds >= 0")
    if problems:
        raise ConfigError("; ".join(problems) + ".")


def _place_events(events: str | os.PathLike[str] | None, infos: list[VideoInfo],
                  notes: list[str]) -> list[PlacedEvent]:
    if events is None:
        return []
    ok = [i for i, v in enumerate(infos) if v.ok]
    placed, skipped = match_events(
        read_events(events), [infos[i].path for i in ok], [infos[i].fps for i in ok],
        [infos[i].n_frames for i in ok], source=str(events))
    notes.extend(skipped)
    return [PlacedEvent(p.event, ok[p.video], p.frame) for p in placed]


def _event_frames(placed: list[PlacedEvent], infos: list[VideoInfo], seconds: float
                  ) -> list[np.ndarray]:
    """Per event: the frames within ``seconds`` of it (every frame, clipped to the video)."""
    out = []
    for p in placed:
        info = infos[p.video]
        half = round(seconds * (info.fps or 30.0))
        out.append(np.arange(max(0, p.frame - half), min(info.n_frames, p.frame + half + 1)))
    return out


def _build_pool(infos: list[VideoInfo], general: list[np.ndarray],
                around: list[np.ndarray], placed: list[PlacedEvent]) -> Pool:
    vids, frames, flags = [], [], []
    for vi, g in enumerate(general):
        extra = [a for a, p in zip(around, placed, strict=True) if p.video == vi]
        allf = np.union1d(g, np.concatenate(extra)) if extra else g
        vids.append(np.full(len(allf), vi, np.int64))
        frames.append(allf.astype(np.int64))
        flags.append(np.isin(allf, g))
    return Pool(np.concatenate(vids), np.concatenate(frames), np.concatenate(flags))


def _pick_rows(method: str, pool: Pool, rows: np.ndarray, n: int, seed: int, min_gap: int,
               **extra: Any) -> list[PickedFrame]:
    """Pick ``n`` of ``rows`` (indices into the pool) with ``method``."""
    if n <= 0 or not len(rows):
        return []
    ids, grp = pool.frame[rows], pool.video[rows]
    if method == "kmeans":
        assert pool.features is not None
        p = clustering.cluster_picks(pool.features[rows], n, seed, ids, grp, min_gap)
        return [PickedFrame(int(grp[i]), int(ids[i]), method, int(c), float(d), int(s),
                            bool(r), **extra)
                for i, c, d, s, r in zip(p.indices, p.cluster, p.distance, p.cluster_size,
                                         p.refilled, strict=True)]
    if method == "uniform":
        idx = clustering.pick_uniform(n, ids, grp, min_gap)
    else:
        idx = clustering.pick_random(n, ids, seed, grp, min_gap)
    return [PickedFrame(int(grp[i]), int(ids[i]), method, **extra) for i in idx]


def _pick_events(method: str, pool: Pool, placed: list[PlacedEvent], around: list[np.ndarray],
                 k: int, seed: int, notes: list[str]) -> list[PickedFrame]:
    taken: set[tuple[int, int]] = set()
    picks: list[PickedFrame] = []
    for p, window in zip(placed, around, strict=True):
        rows = np.flatnonzero((pool.video == p.video) & np.isin(pool.frame, window))
        rows = np.asarray([r for r in rows if (p.video, int(pool.frame[r])) not in taken], int)
        got = _pick_rows(method, pool, rows, k, seed, 0, event=p.event.label,
                         event_frame=p.frame)
        if len(got) < k:
            notes.append(f"event {p.event.label!r} (line {p.event.line}) at frame {p.frame}: "
                         f"only {len(got)} of {k} frames available around it")
        taken.update((f.video, f.frame_idx) for f in got)
        picks.extend(got)
    return picks


def _pick_general(method: str, pool: Pool, free: np.ndarray, n: int, allocation: str,
                  weights: np.ndarray, seed: int, min_gap: int) -> list[PickedFrame]:
    """``n`` picks over the free general rows; per video (re-allocating what a video
    cannot take because of ``min_gap``) or all videos together."""
    rows = np.flatnonzero(pool.general & free)
    if allocation == "together":
        return _pick_rows(method, pool, rows, n, seed, min_gap)
    per_video = {v: rows[pool.video[rows] == v] for v in range(len(weights))}
    capacity = np.array([len(per_video[v]) for v in range(len(weights))], np.int64)
    w = np.ones(len(weights)) if allocation == "even" else np.asarray(weights, float)
    w = np.where(capacity > 0, w, 0.0)
    done: dict[int, tuple[int, list[PickedFrame]]] = {}
    for _ in range(len(weights) + 1):
        counts = clustering.allocate(n, w, capacity)
        short = False
        for v, c in enumerate(counts.tolist()):
            if c and done.get(v, (-1, []))[0] != c:
                done[v] = (c, _pick_rows(method, pool, per_video[v], c, seed, min_gap))
            if c and len(done[v][1]) < c:  # the gap allows fewer: cap it, share the rest
                capacity[v], short = len(done[v][1]), True
        if not short:
            break
    return [f for v, (c, picks) in sorted(done.items()) if counts[v] == c for f in picks]


def _select(method: str, pool: Pool, placed: list[PlacedEvent], around: list[np.ndarray],
            n: int, allocation: str, weights: np.ndarray, seed: int, min_gap: int,
            event_k: int, notes: list[str]) -> list[PickedFrame]:
    picks = _pick_events(method, pool, placed, around, event_k, seed, notes)
    taken = {(f.video, f.frame_idx) for f in picks}
    free = np.array([(int(v), int(f)) not in taken for v, f in zip(pool.video, pool.frame,
                                                                    strict=True)], bool)
    picks += _pick_general(method, pool, free, n, allocation, weights, seed, min_gap)
    return sorted(picks, key=lambda f: (f.video, f.frame_idx))


def _verify(infos: list[VideoInfo], picks: list[PickedFrame]) -> set[tuple[int, int]]:
    """Decode the picks; return those that could not be read."""
    bad: set[tuple[int, int]] = set()
    for vi, info in enumerate(infos):
        frames = sorted({f.frame_idx for f in picks if f.video == vi})
        if frames:
            before = len(info.skipped)
            decode_frames(info, frames, lambda idx, imgs: None)
            bad.update((vi, f) for f, _ in info.skipped[before:])
    return bad


def _with_features(infos: list[VideoInfo], pool: Pool, resize_width: int,
                   progress: Callable[[int, int], None] | None) -> Pool:
    """Decode the pool's frames (one streaming pass per video) into k-means features; the
    frames that could not be decoded leave the pool."""
    planned, done = len(pool.frame), 0

    def tick(k: int) -> None:
        nonlocal done
        done += k
        if progress is not None:
            progress(done, planned)

    ok = next(v for v in infos if v.ok)
    shape = feature_shape(ok.height, ok.width, resize_width)
    plan = [pool.frame[pool.video == vi] for vi in range(len(infos))]
    cands = sample_features(infos, plan, shape, tick)
    keep = np.isin(pool.video * (1 << 40) + pool.frame, cands.video * (1 << 40) + cands.frame)
    return Pool(cands.video, cands.frame, pool.general[keep], cands.features)


def extract_frames(
    videos: Sequence[str | os.PathLike[str]],
    n: int | None = None,
    method: str = "kmeans",
    seed: int = 0,
    *,
    allocation: str = "proportional",
    min_gap: int = 0,
    start: str | float | None = None,
    stop: str | float | None = None,
    stride: int = 1,
    max_candidates: int = 10_000,
    resize_width: int = 30,
    events: str | os.PathLike[str] | None = None,
    event_frames: int = 5,
    event_window: float = 1.0,
    progress: Callable[[int, int], None] | None = None,
) -> FrameSelection:
    """Choose frames to label from ``videos`` (see the module doc for the steps).

    Args:
        videos: video files.
        n: frames over the videos' windows (default 20; 0 when ``events`` is given).
        method: ``kmeans`` (appearance clusters), ``uniform`` (evenly spaced) or
            ``random`` (seeded).
        seed: seed of k-means and of ``random``.
        allocation: ``proportional`` (to each window's length), ``even`` (the same
            number per video) or ``together`` (all videos pooled, clustered at once).
        min_gap: picks of one video at least this many frames apart (not around events).
        start, stop: window in each video: seconds (``90``), ``"1:30"`` or ``"25%"``.
        stride: consider every ``stride``-th frame of the window.
        max_candidates: most frames considered (decoded for k-means) over all videos.
        resize_width: width of the k-means feature images (DeepLabCut: 30 px).
        events: CSV of events (``video``, ``frame`` or ``time``, ``label``).
        event_frames: frames picked around each event.
        event_window: seconds either side of an event to pick from.
        progress: called with ``(frames done, frames planned)`` while decoding.

    Raises:
        ConfigError: bad settings; VideoError: no video can be opened; DataError: bad
        events file.
    """
    t0 = time.perf_counter()
    _check(method, allocation, n, min_gap, max_candidates, event_frames, event_window)
    n_general = int(n) if n is not None else (0 if events is not None else DEFAULT_N)
    infos = [probe_video(v) for v in videos]
    notes = [f"{v.path}: skipped, cannot be opened ({v.error})" for v in infos if not v.ok]
    if not any(v.ok for v in infos):
        raise VideoError(f"none of the {len(infos)} video(s) can be opened; expected readable "
                         f"videos. {' '.join(notes)}")
    start_pt, stop_pt = parse_time_point(start, "start"), parse_time_point(stop, "stop")
    windows = [window_frames(v, start_pt, stop_pt, stride) if v.ok else range(0)
               for v in infos]
    lengths = np.array([len(w) for w in windows], np.int64)
    shares = clustering.allocate(max_candidates if n_general else 0, lengths, lengths)
    general = [spread(w, int(c)) for w, c in zip(windows, shares, strict=True)]
    placed = _place_events(events, infos, notes)
    around = _event_frames(placed, infos, event_window)
    pool = _build_pool(infos, general, around, placed)
    decoded = 0
    if method == "kmeans":
        pool = _with_features(infos, pool, resize_width, progress)
        decoded = len(pool.frame)
    picks = _select(method, pool, placed, around, n_general, allocation, lengths, seed,
                    min_gap, event_frames, notes)
    if method != "kmeans":
        picks, decoded = _replace_unreadable(method, pool, picks, infos, placed, around,
                                             n_general, allocation, lengths, seed, min_gap,
                                             event_frames, notes)
    _report(infos, picks, n_general, len(placed) * event_frames, notes)
    return FrameSelection(
        frames=picks, videos=infos, method=method, seed=int(seed), requested=n_general,
        parameters={"n": n_general, "allocation": allocation, "min_gap": int(min_gap),
                    "start": start, "stop": stop, "stride": int(stride),
                    "max_candidates": int(max_candidates), "resize_width": int(resize_width),
                    "events": str(events) if events is not None else None,
                    "event_frames": int(event_frames), "event_window_s": float(event_window),
                    "events_placed": len(placed)},
        notes=notes, candidates=[int((pool.video == i).sum()) for i in range(len(infos))],
        frames_decoded=decoded, seconds=time.perf_counter() - t0)


def _replace_unreadable(method: str, pool: Pool, picks: list[PickedFrame],
                        infos: list[VideoInfo], *args: Any) -> tuple[list[PickedFrame], int]:
    """Decode ``uniform`` / ``random`` picks; drop unreadable frames from the pool and pick
    again until every pick decodes (the picks are a function of the pool)."""
    checked: set[tuple[int, int]] = set()
    for _ in range(5):
        todo = [f for f in picks if (f.video, f.frame_idx) not in checked]
        if not todo:
            break
        bad = _verify(infos, todo)
        checked.update((f.video, f.frame_idx) for f in todo)
        if not bad:
            break
        ends = np.array([v.readable_end if v.readable_end is not None else v.n_frames
                         for v in infos], np.int64)
        keep = np.array([(int(v), int(f)) not in bad
                         for v, f in zip(pool.video, pool.frame, strict=True)], bool)
        keep &= pool.frame < ends[pool.video]
        pool = Pool(pool.video[keep], pool.frame[keep], pool.general[keep])
        picks = _select(method, pool, *args)
    return picks, len(checked)


def _report(infos: list[VideoInfo], picks: list[PickedFrame], n: int, n_events: int,
            notes: list[str]) -> None:
    """Notes on skipped frames and on fewer frames than asked."""
    for info in infos:
        if info.readable_end is not None and info.readable_end < info.n_frames:
            notes.append(f"{info.path}: ends at frame {info.readable_end} although its header "
                         f"says {info.n_frames} frames; later frames were skipped")
        elif info.skipped:
            skipped = sorted(info.skipped)
            first = ", ".join(str(f) for f, _ in skipped[:5])
            notes.append(f"{info.path}: {len(skipped)} frame(s) could not be decoded and "
                         f"were skipped (first: {first}; {skipped[0][1]})")
    general = sum(1 for f in picks if f.event is None)
    if general < n:
        notes.append(f"only {general} of the {n} requested frames could be chosen: the "
                     "windows hold fewer usable frames (or min_gap leaves fewer)")
    events = len(picks) - general
    if n_events and events < n_events:
        notes.append(f"{events} of {n_events} frames around events were chosen")
    notes[:] = list(dict.fromkeys(notes))  # picking again after a bad frame repeats notes


def _check_outputs(sel: FrameSelection, outputs: list[Path], protect: Sequence[Path]) -> None:
    inputs = [v.path for v in sel.videos] + [Path(p) for p in protect]
    if sel.parameters.get("events"):
        inputs.append(Path(sel.parameters["events"]))
    check_new_outputs(outputs, inputs)


def write_selection(
    sel: FrameSelection,
    output: str | os.PathLike[str],
    *,
    embed: bool | None = None,
    png_dir: str | os.PathLike[str] | None = None,
    manifest: str | os.PathLike[str] | None = None,
    skeletons: Sequence[sio.Skeleton] = (),
    protect: Sequence[str | os.PathLike[str]] = (),
) -> list[Path]:
    """Write the labels file of suggestions, its manifest and optionally PNGs (atomically).

    Args:
        sel: the selection.
        output: ``.slp`` (videos referenced) or ``.pkg.slp`` (chosen frames embedded).
        embed: embed the chosen frames (default: when ``output`` ends in ``.pkg.slp``).
        png_dir: also write each frame as ``png_dir/<video stem>/img<frame>.png``.
        manifest: manifest JSON path (default ``<output stem>.manifest.json`` beside it).
        skeletons: skeletons to put in the labels file (e.g. from an existing project).
        protect: more paths that must not be overwritten (other inputs).

    Returns:
        The paths written. Raises ConfigError when an output is also an input.
    """
    from posekit.io.writers import save_labels
    from posekit.utils import atomic_write_text

    out = Path(output)
    stem = out.name[: -len(".pkg.slp")] if out.name.lower().endswith(".pkg.slp") else out.stem
    man = Path(manifest) if manifest is not None else out.with_name(f"{stem}.manifest.json")
    _check_outputs(sel, [out, man] + ([Path(png_dir)] if png_dir else []),
                   [Path(p) for p in protect])
    if embed is None:
        embed = out.name.lower().endswith(".pkg.slp")
    labels = sel.to_labels(skeletons)
    written = []
    if png_dir is not None:
        written += write_pngs(sel, Path(png_dir))
    if embed:
        for video in labels.videos:
            video.open()
    save_labels(labels, out, embed="suggestions" if embed else False)
    written.append(out)
    data = sel.manifest()
    data["outputs"] = {"labels": str(out), "embedded": bool(embed),
                       "png_dir": str(png_dir) if png_dir else None}
    written.append(atomic_write_text(man, json.dumps(data, indent=1) + "\n"))
    return written


def write_pngs(sel: FrameSelection, folder: Path) -> list[Path]:
    """Decode the chosen frames once more and write them as PNGs, one folder per video
    (``img`` + zero-padded frame index, DeepLabCut's naming)."""
    import cv2

    from posekit.utils import atomic_path

    written: list[Path] = []
    used: set[str] = set()
    for vi, info in enumerate(sel.videos):
        frames = sel.frame_indices(vi)
        if not frames:
            continue
        name = info.path.stem if info.path.stem not in used else f"{info.path.stem}_{vi}"
        used.add(name)
        sub = folder / name
        sub.mkdir(parents=True, exist_ok=True)
        width = max(len(str(max(info.n_frames - 1, 0))), 1)

        def save(idx: np.ndarray, images: np.ndarray, sub: Path = sub, width: int = width) -> None:
            for fi, img in zip(idx.tolist(), images, strict=True):
                bgr = img[..., ::-1] if img.shape[-1] == 3 else img
                path = sub / f"img{fi:0{width}d}.png"
                with atomic_path(path) as tmp:
                    cv2.imwrite(tmp.as_posix(), np.ascontiguousarray(bgr))
                written.append(path)

        decode_frames(info, frames, save)
    return written
