"""Post-pass over a whole tracked video: drop short tracks, join fragments, fill holes.

:func:`cleanup_tracks` is pure: it takes per-frame arrays and returns new id arrays plus
the poses it interpolated; nothing given to it is modified. The steps run in this order:

1. **Short tracks**: a track present in fewer than ``min_track_length`` frames is dissolved;
   its instances become untracked (``-1``).
2. **Fragment merging** (``merge_max_gap > 0``): when a track
   ends and another starts at most ``merge_max_gap`` frames later, and the later track's
   first pose is similar to the earlier track's last pose (``>= min_similarity``), the
   later track takes the earlier id. Best-scoring pairs are joined first; chains join.
3. **Gap filling** (``max_gap > 0``): inside each track, a hole of at most ``max_gap``
   frames is first filled with untracked detections that fit the pose interpolated
   across the hole (similarity ``>= min_similarity``); frames still empty get a linearly
   interpolated pose (per node; a node missing at either end stays missing).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from posekit.errors import DataError
from posekit.keypoints import visible_mask
from posekit.tracking.config import TrackingConfig
from posekit.tracking.matching import acceptable
from posekit.tracking.similarity import pairwise_similarity


@dataclass(frozen=True)
class InterpolatedInstances:
    """Poses made up by gap filling, sorted by frame then track.

    They are not detections: writers should store them flagged as interpolated (for
    SLEAP files: a predicted instance with score 0).

    Attributes:
        frame_indices: ``(m,)`` int64 frame of each pose.
        track_ids: ``(m,)`` int64 track of each pose.
        points: ``(m, K, 2)`` float32 poses, NaN for nodes missing at either end.
    """

    frame_indices: np.ndarray
    track_ids: np.ndarray
    points: np.ndarray

    def __len__(self) -> int:
        return len(self.frame_indices)


def cleanup_tracks(
    frame_indices: Sequence[int] | np.ndarray,
    points: Sequence[np.ndarray],
    track_ids: Sequence[np.ndarray],
    config: TrackingConfig,
) -> tuple[list[np.ndarray], InterpolatedInstances]:
    """Clean a tracked video (see the module docstring for the three steps).

    Args:
        frame_indices: frame index of each entry (any order; each frame once).
        points: per entry, ``(n_i, K, 2)`` poses.
        track_ids: per entry, ``(n_i,)`` int track ids, ``-1`` for untracked.
        config: uses ``min_track_length``, ``max_tracks``, ``merge_max_gap``, ``max_gap``,
            ``min_similarity``, ``min_new_track_points`` and the similarity settings.

    Returns:
        ``(new_track_ids, interpolated)``: one int64 array per entry, aligned with the
        input, and the interpolated poses.

    Raises:
        DataError: inputs of different lengths or shapes, a frame given twice, or one
            track used twice in a frame.
    """
    frames, pts, ids, sizes = _flatten(frame_indices, points, track_ids)
    k = pts.shape[1]
    if len(sizes) == 0:
        return [], _empty_filled(k)
    if config.min_track_length > 1:
        _drop_short(ids, config.min_track_length)
    if config.merge_max_gap > 0:
        _merge_fragments(frames, pts, ids, config)
    filled = _empty_filled(k)
    if config.max_gap > 0:
        filled = _fill_gaps(frames, pts, ids, config)
    return np.split(ids, np.cumsum(sizes)[:-1]), filled


def _flatten(
    frame_indices: Sequence[int] | np.ndarray,
    points: Sequence[np.ndarray],
    track_ids: Sequence[np.ndarray],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    fi = np.asarray(frame_indices, dtype=np.int64).reshape(-1)
    if not len(fi) == len(points) == len(track_ids):
        raise DataError(
            f"cleanup_tracks: {len(fi)} frame indices, {len(points)} point arrays and "
            f"{len(track_ids)} id arrays; expected one of each per frame."
        )
    if len(np.unique(fi)) != len(fi):
        raise DataError(
            "cleanup_tracks: a frame index appears twice; expected each frame once. "
            "Concatenate the frame's instances into one entry."
        )
    n_nodes = next((np.shape(p)[1] for p in points if np.ndim(p) == 3), 0)
    sizes, all_pts, all_ids = [], [], []
    for f, p, t in zip(fi.tolist(), points, track_ids, strict=True):
        p = np.asarray(p, dtype=np.float64)
        t = np.asarray(t, dtype=np.int64).reshape(-1)
        if p.size == 0 and len(t) == 0:
            p = np.zeros((0, n_nodes, 2))
        if p.ndim != 3 or p.shape[1:] != (n_nodes, 2) or len(p) != len(t):
            raise DataError(
                f"frame {f}: points {p.shape} and track ids {t.shape} do not fit; expected "
                f"(n, {n_nodes}, 2) points and (n,) ids."
            )
        tracked = t[t >= 0]
        if len(np.unique(tracked)) != len(tracked):
            raise DataError(
                f"frame {f}: a track id is used by two instances ({t.tolist()}); "
                "expected each track at most once per frame."
            )
        sizes.append(len(t))
        all_pts.append(p)
        all_ids.append(t)
    n = np.asarray(sizes, np.int64)
    pts = np.concatenate(all_pts) if all_pts else np.zeros((0, n_nodes, 2))
    pts = pts.copy()
    pts[~visible_mask(pts)] = np.nan
    ids = np.concatenate(all_ids) if all_ids else np.zeros(0, np.int64)
    return np.repeat(fi, n), pts, ids.copy(), n


def _drop_short(ids: np.ndarray, min_length: int) -> None:
    uniq, counts = np.unique(ids[ids >= 0], return_counts=True)
    ids[np.isin(ids, uniq[counts < min_length])] = -1


def _track_ends(frames: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per track id (sorted): index of its first and of its last instance."""
    sel = np.flatnonzero(ids >= 0)
    order = sel[np.lexsort((frames[sel], ids[sel]))]
    tids, starts, counts = np.unique(ids[order], return_index=True, return_counts=True)
    return tids, order[starts], order[starts + counts - 1]


def _merge_fragments(
    frames: np.ndarray, pts: np.ndarray, ids: np.ndarray, cfg: TrackingConfig
) -> None:
    tids, first, last = _track_ends(frames, ids)
    if len(tids) < 2:
        return
    start, end = frames[first].astype(np.int64), frames[last].astype(np.int64)
    end_pose = pts[last].copy()
    # sim[b, a]: first pose of b (as instance) against the last pose of a (as reference).
    sim = pairwise_similarity(pts[first], end_pose, cfg)
    gap = start[:, None] - end[None, :] - 1
    alive = np.ones(len(tids), bool)
    root = np.arange(len(tids))
    while True:
        ok = acceptable(sim, cfg.min_similarity) & (gap >= 0) & (gap <= cfg.merge_max_gap)
        ok &= alive[:, None] & alive[None, :]
        if not ok.any():
            break
        score = np.where(ok, sim, -np.inf)
        b, a = np.unravel_index(np.argmax(score), score.shape)
        root[root == b] = a
        alive[b] = False
        end[a] = end[b]
        end_pose[a] = end_pose[b]
        gap[:, a] = start - end[a] - 1
        sim[:, a] = pairwise_similarity(pts[first], end_pose[a][None], cfg)[:, 0]
    relabel = dict(zip(tids.tolist(), tids[root].tolist(), strict=True))
    tracked = ids >= 0
    ids[tracked] = np.asarray([relabel[t] for t in ids[tracked].tolist()], np.int64)


def _empty_filled(n_nodes: int) -> InterpolatedInstances:
    return InterpolatedInstances(
        np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, n_nodes, 2), np.float32)
    )


def _lerp(f0: int, p0: np.ndarray, f1: int, p1: np.ndarray, at: np.ndarray) -> np.ndarray:
    w = ((at - f0) / (f1 - f0))[:, None, None]
    return p0[None] + w * (p1 - p0)[None]


def _fill_gaps(
    frames: np.ndarray, pts: np.ndarray, ids: np.ndarray, cfg: TrackingConfig
) -> InterpolatedInstances:
    n_vis = visible_mask(pts).sum(axis=1)
    pool: dict[int, list[int]] = {}
    min_points = min(cfg.min_new_track_points, pts.shape[1])
    for i in np.flatnonzero((ids < 0) & (n_vis >= min_points)).tolist():
        pool.setdefault(int(frames[i]), []).append(i)
    out_f: list[np.ndarray] = []
    out_t: list[np.ndarray] = []
    out_p: list[np.ndarray] = []
    for tid in np.unique(ids[ids >= 0]).tolist():
        members = np.flatnonzero(ids == tid)
        members = members[np.argsort(frames[members], kind="stable")]
        steps = np.diff(frames[members]) - 1
        for j in np.flatnonzero((steps >= 1) & (steps <= cfg.max_gap)).tolist():
            anchors = _adopt(members[j], members[j + 1], frames, pts, ids, pool, tid, cfg)
            for a, b in itertools.pairwise(anchors):
                fa, fb = int(frames[a]), int(frames[b])
                if fb - fa < 2:
                    continue
                at = np.arange(fa + 1, fb, dtype=np.int64)
                out_f.append(at)
                out_t.append(np.full(len(at), tid, np.int64))
                out_p.append(_lerp(fa, pts[a], fb, pts[b], at))
    if not out_f:
        return _empty_filled(pts.shape[1])
    f_all, t_all, p_all = np.concatenate(out_f), np.concatenate(out_t), np.concatenate(out_p)
    keep = visible_mask(p_all).any(axis=1)
    order = np.lexsort((t_all[keep], f_all[keep]))
    return InterpolatedInstances(
        f_all[keep][order], t_all[keep][order], p_all[keep][order].astype(np.float32)
    )


def _adopt(
    left: int,
    right: int,
    frames: np.ndarray,
    pts: np.ndarray,
    ids: np.ndarray,
    pool: dict[int, list[int]],
    tid: int,
    cfg: TrackingConfig,
) -> list[int]:
    """Walk a hole left to right, giving the track untracked detections that match the
    pose interpolated from the nearest real poses; returns the hole's real anchors."""
    anchors = [left]
    f_right = int(frames[right])
    for g in range(int(frames[left]) + 1, f_right):
        cands = pool.get(g)
        if not cands:
            continue
        a = anchors[-1]
        guess = _lerp(int(frames[a]), pts[a], f_right, pts[right], np.array([g]))
        sim = pairwise_similarity(pts[cands], guess, cfg)[:, 0]
        best = int(np.argmax(sim))
        if acceptable(sim[best : best + 1], cfg.min_similarity)[0]:
            chosen = cands.pop(best)
            ids[chosen] = tid
            anchors.append(chosen)
    anchors.append(right)
    return anchors
