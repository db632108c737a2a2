"""Online tracker: gives each frame's instances the ids of the tracks they continue.

Per frame (:meth:`Tracker.update`):

1. Candidates are the tracks last seen within ``window`` frames. Each is represented by
   its most recent pose and by a size (for OKS and the automatic centroid scale): the box
   area of its most recent pose that showed at least half of the nodes, and by its
   running mean step per frame, which widens its tolerance (``motion_tolerance``). With
   optical flow, every candidate's pose is carried from frame to frame by the flow between
   consecutive images, also while the track is unmatched.
2. Every instance is compared with every candidate (OKS, centroid or IoU similarity) and
   the pairs are assigned one-to-one (Hungarian or greedy); pairs below
   ``min_similarity`` are not matched.
3. Unmatched instances with at least ``min_new_track_points`` visible nodes (capped at
   the node count), best score first, start new tracks. Once ``max_tracks`` tracks exist
   they instead take over free tracks (not matched in this frame): the most similar
   first, then the least recently seen. Instances left over get id ``-1``.

State is bounded: the last pose of each live track, the previous frame's image (optical
flow only) and, with ``max_tracks``, the last pose of at most ``max_tracks`` tracks.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from posekit.errors import ConfigError, DataError
from posekit.keypoints import box_areas, visible_mask
from posekit.tracking.config import TrackingConfig
from posekit.tracking.flow import flow_shift, to_gray
from posekit.tracking.matching import match
from posekit.tracking.similarity import pairwise_similarity

FrameInput = tuple[int, np.ndarray, np.ndarray | None, np.ndarray | None]


@dataclass
class _TrackState:
    last_frame: int
    points: np.ndarray  # (K, 2) float64: last pose seen, flow-shifted to the latest frame
    size: float  # px²: box area of the last pose showing at least half of the nodes
    step: float = 0.0  # px/frame: running mean of the nodes' frame-to-frame displacement


STEP_MEMORY = 0.8
"""Weight of the previous estimate in a track's running mean step per frame."""


def _updated_step(old: _TrackState, frame_idx: int, pose: np.ndarray) -> float:
    """The track's running mean motion per frame after seeing ``pose`` at ``frame_idx``:
    the displacement of the mean of the nodes visible in both poses (averaging the nodes
    keeps most of the localisation noise out of the estimate)."""
    both = np.isfinite(pose).all(axis=-1) & np.isfinite(old.points).all(axis=-1)
    if not both.any() or frame_idx <= old.last_frame:
        return old.step
    shift = pose[both].mean(axis=0) - old.points[both].mean(axis=0)
    step = float(np.hypot(*shift)) / (frame_idx - old.last_frame)
    if old.step <= 0:
        return step
    return STEP_MEMORY * old.step + (1.0 - STEP_MEMORY) * step


class Tracker:
    """Frame-by-frame identity tracker for pose instances (arrays in, track ids out).

    Example::

        tracker = Tracker(TrackingConfig(similarity="oks", max_tracks=2))
        for frame_idx, points, scores in predictions:
            ids = tracker.update(frame_idx, points, scores)
    """

    def __init__(self, config: TrackingConfig | None = None) -> None:
        self.config = config if config is not None else TrackingConfig()
        self.reset()

    def reset(self) -> None:
        """Forget every track and image; the next frame starts from track id 0."""
        self._tracks: dict[int, _TrackState] = {}
        self._prev_gray: np.ndarray | None = None
        self._image_shape: tuple[int, ...] | None = None
        self._next_id = 0
        self._last_frame: int | None = None
        self._n_nodes: int | None = None
        self._min_points = self.config.min_new_track_points
        self._last_scores = np.zeros(0, np.float32)

    @property
    def n_tracks_created(self) -> int:
        """How many distinct track ids have been handed out since the last reset."""
        return self._next_id

    @property
    def tracking_scores(self) -> np.ndarray:
        """``(n,)`` float32 similarity behind each id of the last :meth:`update`; 0 for a
        new or taken-over track and for untracked instances."""
        return self._last_scores.copy()

    def update(
        self,
        frame_idx: int,
        points: np.ndarray,
        scores: np.ndarray | None = None,
        image: np.ndarray | None = None,
    ) -> np.ndarray:
        """Assign track ids to one frame's instances.

        Args:
            frame_idx: Frame index; must increase from call to call.
            points: ``(n, K, 2)`` instance poses in pixels, NaN for missing nodes.
            scores: ``(n,)`` instance scores (higher = better), or None; they decide which
                unmatched instances start tracks first.
            image: The frame, needed when ``config.optical_flow`` is on.

        Returns:
            ``(n,)`` int64 track ids, ``-1`` for instances left untracked.

        Raises:
            DataError: frames out of order, wrong array shapes, missing image for flow.
            ConfigError: ``oks_sigma`` or ``anchor_node`` does not fit the node count.
        """
        cfg = self.config
        frame_idx = int(frame_idx)
        pts, n_vis = self._check_points(frame_idx, points)
        n = len(pts)
        score_arr = self._check_scores(frame_idx, scores, n)
        if self._last_frame is not None and frame_idx <= self._last_frame:
            raise DataError(
                f"frame {frame_idx}: frames must be tracked in increasing order, but frame "
                f"{self._last_frame} came before it. Sort the predictions by frame index, or "
                "call Tracker.reset() before tracking another video."
            )
        gray = self._check_image(frame_idx, image) if cfg.optical_flow else None
        self._last_frame = frame_idx
        self._expire(frame_idx)
        live = self._live(frame_idx)
        if gray is not None and self._prev_gray is not None and live:
            moved = flow_shift(
                np.stack([self._tracks[t].points for t in live]),
                self._prev_gray,
                gray,
                cfg.flow_window_size,
                cfg.flow_max_levels,
            )
            for t, p in zip(live, moved, strict=True):
                self._tracks[t].points = p

        ids = np.full(n, -1, np.int64)
        sims = np.zeros(n, np.float32)
        if n and live:
            cand = np.stack([self._tracks[t].points for t in live])
            sim = pairwise_similarity(pts, cand, cfg, self._sizes(live),
                                      self._reach(live, frame_idx))
            rows, cols = match(sim, cfg.min_similarity, cfg.match)
            ids[rows] = np.asarray(live, np.int64)[cols]
            sims[rows] = sim[rows, cols]
        waiting = (ids < 0) & (n_vis >= self._min_points)
        if waiting.any():
            # Best score first, then most visible nodes, then input order.
            order = np.lexsort((np.arange(n), -n_vis, -score_arr))
            self._start_or_take_over(ids, pts, [int(i) for i in order if waiting[i]])

        self._store(frame_idx, ids, pts, n_vis)
        self._prev_gray = gray
        self._last_scores = sims
        return ids

    def _check_image(self, frame_idx: int, image: np.ndarray | None) -> np.ndarray:
        """The frame in grey for optical flow, checked before any state changes."""
        if image is None:
            raise DataError(
                f"frame {frame_idx}: tracking.optical_flow is on but no image was given; "
                "expected the decoded frame. Pass image=..., or set optical_flow to false."
            )
        gray = to_gray(image, frame_idx)
        if self._image_shape is not None and gray.shape != self._image_shape:
            raise DataError(
                f"frame {frame_idx}: image size {gray.shape} differs from earlier frames "
                f"{self._image_shape}; expected frames of one video. Call Tracker.reset() "
                "between videos."
            )
        self._image_shape = gray.shape
        return gray

    def track_video(self, frames: Iterable[FrameInput]) -> list[np.ndarray]:
        """Reset, then track ``(frame_idx, points, scores, image)`` items in order.

        ``scores`` and ``image`` may be None (an image is needed with optical flow).

        Returns:
            One int64 id array per frame, aligned with the input.
        """
        self.reset()
        return [self.update(f, p, s, img) for f, p, s, img in frames]

    # -- internals ---------------------------------------------------------------------

    def _check_points(self, frame_idx: int, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Validated float64 copy with missing nodes as NaN, and visible nodes per instance."""
        arr = np.asarray(points, dtype=np.float64)
        if arr.size == 0 and arr.ndim < 3:
            k = self._n_nodes if self._n_nodes is not None else 0
            return np.zeros((0, k, 2)), np.zeros(0, np.int64)
        if arr.ndim != 3 or arr.shape[2] != 2:
            raise DataError(
                f"frame {frame_idx}: points have shape {arr.shape}; expected (n_instances, "
                "n_nodes, 2) pixel coordinates. Stack the frame's instances into one array."
            )
        if self._n_nodes is None:
            self._set_nodes(arr.shape[1])
        elif arr.shape[1] != self._n_nodes:
            raise DataError(
                f"frame {frame_idx}: instances have {arr.shape[1]} nodes but earlier frames had "
                f"{self._n_nodes}; expected one skeleton per video. Call Tracker.reset() "
                "between videos."
            )
        vis = visible_mask(arr)
        arr = arr.copy()
        arr[~vis] = np.nan
        return arr, vis.sum(axis=1)

    def _set_nodes(self, n_nodes: int) -> None:
        cfg = self.config
        if isinstance(cfg.oks_sigma, tuple) and len(cfg.oks_sigma) != n_nodes:
            raise ConfigError(
                f"tracking.oks_sigma: got {len(cfg.oks_sigma)} values; expected one per node "
                f"({n_nodes}) or a single number. Fix the list or use e.g. 0.025."
            )
        if cfg.anchor_node is not None and cfg.anchor_node >= n_nodes:
            raise ConfigError(
                f"tracking.anchor_node: got {cfg.anchor_node}; expected a node index below "
                f"{n_nodes}. Use a valid index, or null for the midpoint of the visible nodes' "
                "bounding box."
            )
        degenerate = n_nodes == 1 and (
            cfg.similarity == "iou"
            or (cfg.similarity == "oks" and cfg.oks_area is None)
            or (cfg.similarity == "centroid" and cfg.centroid_scale is None)
        )
        if degenerate:
            raise ConfigError(
                f"tracking.similarity: {cfg.similarity!r} needs an object size, which a "
                "single-node skeleton does not have; expected tracking.centroid_scale (for "
                "'centroid') or tracking.oks_area (for 'oks') to be set. Use e.g. "
                "similarity: centroid with centroid_scale: 20 (px an animal moves per frame)."
            )
        self._n_nodes = n_nodes
        self._min_points = min(cfg.min_new_track_points, n_nodes)

    @staticmethod
    def _check_scores(frame_idx: int, scores: np.ndarray | None, n: int) -> np.ndarray:
        """``(n,)`` float64 scores (missing or NaN scores rank last)."""
        if scores is None:
            return np.zeros(n)
        sc = np.asarray(scores, dtype=np.float64).reshape(-1)
        if sc.shape != (n,):
            raise DataError(
                f"frame {frame_idx}: {sc.size} scores for {n} instances; expected one "
                "score per instance, or None."
            )
        return np.where(np.isnan(sc), -np.inf, sc)

    def _expire(self, frame_idx: int) -> None:
        oldest = frame_idx - self.config.window
        if self.config.max_tracks is None:
            for tid in [t for t, s in self._tracks.items() if s.last_frame < oldest]:
                del self._tracks[tid]

    def _live(self, frame_idx: int) -> list[int]:
        oldest = frame_idx - self.config.window
        return sorted(t for t, s in self._tracks.items() if s.last_frame >= oldest)

    def _sizes(self, tids: list[int]) -> np.ndarray:
        return np.array([self._tracks[t].size for t in tids])

    def _reach(self, tids: list[int], frame_idx: int) -> np.ndarray | None:
        """Per track, the motion allowance in pixels: ``motion_tolerance`` × its observed
        step per frame × the frames since it was last seen; None when switched off."""
        tol = self.config.motion_tolerance
        if tol <= 0:
            return None
        return np.array([tol * self._tracks[t].step * (frame_idx - self._tracks[t].last_frame)
                         for t in tids])

    def _store(self, frame_idx: int, ids: np.ndarray, pts: np.ndarray, n_vis: np.ndarray) -> None:
        """Remember each tracked instance as its track's last pose; keep the track's size
        from an earlier, fuller pose when this one shows fewer than half of the nodes."""
        rows = np.flatnonzero(ids >= 0)
        if not len(rows):
            return
        areas = box_areas(pts[rows])
        full = n_vis[rows] * 2 >= pts.shape[1]
        for i, area, is_full in zip(rows.tolist(), areas.tolist(), full.tolist(), strict=True):
            tid = int(ids[i])
            old = self._tracks.get(tid)
            size = area if (is_full or old is None or not np.isfinite(old.size)) else old.size
            step = 0.0 if old is None else _updated_step(old, frame_idx, pts[i])
            self._tracks[tid] = _TrackState(frame_idx, pts[i], size, step)

    def _start_or_take_over(self, ids: np.ndarray, pts: np.ndarray, waiting: list[int]) -> None:
        """Give the ``waiting`` instances (in priority order) new tracks or, at the limit,
        free ones."""
        cfg = self.config
        room = len(waiting) if cfg.max_tracks is None else max(cfg.max_tracks - self._next_id, 0)
        for i in waiting[:room]:
            ids[i] = self._next_id
            self._next_id += 1
        rest = waiting[room:]
        taken = set(ids[ids >= 0].tolist())
        free = [t for t in sorted(self._tracks) if t not in taken]
        if not rest or not free:
            return
        # Most similar free track first (any similarity above zero), then least recently seen.
        cand = np.stack([self._tracks[t].points for t in free])
        sim = pairwise_similarity(pts[rest], cand, cfg, self._sizes(free))
        rows, cols = match(sim, 0.0, cfg.match)
        for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
            ids[rest[r]] = free[c]
        left = [rest[r] for r in range(len(rest)) if r not in set(rows.tolist())]
        used = set(cols.tolist())
        stale = sorted(
            (self._tracks[free[c]].last_frame, free[c]) for c in range(len(free)) if c not in used
        )
        for i, (_, tid) in zip(left, stale, strict=False):
            ids[i] = tid
