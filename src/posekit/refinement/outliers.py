"""Per-point scores of the outlier criteria, frame scores and reasons (pure numpy).

The predictions of one video are held as dense arrays over consecutive frames
(:class:`PoseTracks`): ``(T, S, K)`` for ``T`` frames (``frame_ids``, the video's own
numbering), ``S`` slots and ``K`` nodes. A slot holds tracks (fragments that never
overlap share one) or the one animal of untracked single-animal predictions; otherwise
it is an untracked instance's position in its frame, and the instance that continues it
in the next frame is found by pose distance (:func:`previous_slots`).

Each criterion gives every point a *ratio*: its measure divided by the criterion's
threshold, so ``ratio > 1`` means the point is an outlier under that criterion (the same
strict comparisons as DeepLabCut):

* ``uncertain``: ``log(score) / log(p_bound)`` — above 1 exactly when ``score < p_bound``;
  2 is a score of ``p_bound**2`` (scores are floored at 1e-6, so the ratio is at most
  ``log(1e-6) / log(p_bound)``, 3 for the default 0.01).
* ``jump``: distance moved since the previous frame over ``epsilon`` (only between
  confident points: score ≥ ``p_bound`` in both frames). A jump that brings a point back
  to within ``epsilon`` of where it was before a jump at most ``return_window`` frames
  earlier is the end of a glitch, not a new failure: it is reported (``returns``) but
  does not count; the points between the two count with their distance from where the
  point was before the glitch.
* ``fitting``: distance from an ARMA model of the trajectory, see
  :mod:`posekit.refinement.trajectory_model`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from posekit.refinement.trajectory_model import fitting_deviation

if TYPE_CHECKING:
    import sleap_io as sio

#: Scores are floored here before the logarithm of the ``uncertain`` ratio.
MIN_SCORE = 1e-6


#: Frames kept free between two track fragments that share a slot (see PoseTracks).
LANE_GAP = 32


def _processed_frames(labels: sio.Labels, video: int) -> np.ndarray:
    """``int64`` frames of ``video`` with an entry in ``labels`` and no user instance."""
    target = labels.videos[video]
    return np.asarray([lf.frame_idx for lf in labels.labeled_frames
                       if lf.video is target and not lf.user_instances], np.int64)


@dataclass(frozen=True)
class PoseTracks:
    """One video's predictions as dense arrays over consecutive frames.

    Tracker output is often many short fragments (SLEAP's centered-pair predictions: 27
    tracks for two flies); fragments that never overlap in time share a slot (a *lane*),
    at least ``LANE_GAP`` frames apart, so memory follows the number of animals seen at
    once, not the number of fragments. ``track_of`` says which track a slot holds.

    Attributes:
        frame_ids: ``int64 (T,)`` frame numbers in the video's own numbering,
            consecutive (frames without predictions have no instance).
        points: ``float64 (T, S, K, 2)`` positions, NaN where missing.
        scores: ``float64 (T, S, K)`` point scores, NaN where there is no instance.
        present: ``bool (T, S)`` whether the slot holds an instance in the frame.
        tracked: ``bool (S,)`` whether each slot follows identities over time (tracks, or
            the one animal of untracked single-animal predictions); False for slots of
            untracked instances (the instance's position among its frame's untracked
            ones).
        slot_names: a name for each slot (for a lane of several tracks, ``lane_<i>``).
        node_names: the nodes, in the skeleton's order.
        track_of: ``int64 (T, S)`` index into ``track_names`` of the track each slot
            holds in each frame (-1: none); None: each tracked slot is one track.
        track_names: the tracks' names.
        written: ``bool (T,)`` frames the predictions file holds an entry for without
            user labels (the frames the model processed, including those where it found
            nothing); None: the frames with an instance.
        instance_slots: ``int64 (I, 2)`` the ``(row, slot)`` each predicted instance of
            the video was put in, in the order of
            :func:`~posekit.io.writers.instance_rows` (frames in order, then each frame's
            instances): what a writer needs to put changed points back into the labels
            (:mod:`posekit.trajectories.labels`); None when not built from labels.
    """

    frame_ids: np.ndarray
    points: np.ndarray
    scores: np.ndarray
    present: np.ndarray
    tracked: np.ndarray
    slot_names: tuple[str, ...]
    node_names: tuple[str, ...]
    track_of: np.ndarray | None = None
    track_names: tuple[str, ...] = ()
    written: np.ndarray | None = None
    instance_slots: np.ndarray | None = None

    @classmethod
    def from_labels(cls, labels: sio.Labels, video: int, source: str = "predictions",
                    lane_gap: int = LANE_GAP) -> PoseTracks:
        """One video's predicted instances as :class:`PoseTracks` (user instances left out).

        Tracks fill lanes (``lane_gap`` frames at least between fragments of a lane);
        instances without a track, and a second instance of one track in a frame, take
        extra untracked slots. Untracked predictions with at most one instance per frame
        are one tracked slot (one animal).
        """
        from posekit.io.labels import used_node_names
        from posekit.io.writers import instance_rows

        rows = instance_rows(labels, video)
        keep = ~np.isnan(rows["instance_score"])  # predicted instances
        frames = rows["frame_idx"][keep]
        nodes = tuple(used_node_names(labels, source))
        k = len(nodes)
        if not len(frames):
            return cls(np.zeros(0, np.int64), np.zeros((0, 0, k, 2)), np.zeros((0, 0, k)),
                       np.zeros((0, 0), bool), np.zeros(0, bool), (), nodes,
                       instance_slots=np.zeros((0, 2), np.int64))
        names = rows["track"][keep].tolist()
        order = [t.name for t in labels.tracks if t.name in set(names)]
        track, loose = _assign_tracks(frames, names, order)
        lane, lane_names = _pack_lanes(frames, track, order, lane_gap)
        n_lanes, n_loose = len(lane_names), int(loose.max()) + 1 if (track < 0).any() else 0
        lane_of = lane[np.maximum(track, 0)] if len(lane) else np.zeros_like(track)
        slot = np.where(track >= 0, lane_of, n_lanes + loose)
        single = not order and n_loose == 1
        processed = _processed_frames(labels, video)
        first = int(min(frames.min(), processed.min(initial=frames.min())))
        last = int(max(frames.max(), processed.max(initial=frames.max())))
        t, row, n = last - first + 1, frames - first, n_lanes + n_loose
        points, scores = np.full((t, n, k, 2), np.nan), np.full((t, n, k), np.nan)
        present, track_of = np.zeros((t, n), bool), np.full((t, n), -1, np.int64)
        points[row, slot] = rows["points"][keep]
        scores[row, slot] = rows["point_scores"][keep]
        present[row, slot], track_of[row, slot] = True, track
        slot_names = tuple(lane_names) + (
            ("instance",) if single else tuple(f"untracked_{i}" for i in range(n_loose)))
        tracked = np.r_[np.ones(n_lanes, bool), np.full(n_loose, single)]
        written = present.any(axis=1)
        written[processed - first] = True
        return cls(np.arange(first, first + t, dtype=np.int64), points, scores, present,
                   tracked, slot_names, nodes, track_of, tuple(order), written,
                   np.stack([row, slot], axis=1).astype(np.int64))

    @property
    def processed(self) -> np.ndarray:
        """``bool (T,)``: rows the model processed (``written``, else rows with an instance)."""
        return self.present.any(axis=1) if self.written is None else self.written

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(T, S, K)``."""
        t, s, k = self.scores.shape
        return t, s, k

    @property
    def segments(self) -> np.ndarray:
        """``int64 (T, S)``: which trajectory each tracked slot holds (-1: none); a
        trajectory never continues across a change of segment."""
        slots = np.arange(self.present.shape[1])[None, :]
        seg = slots if self.track_of is None else np.where(
            self.track_of >= 0, self.track_of, len(self.track_names) + slots)
        return np.where(self.present & self.tracked[None, :], seg, -1)

    def name(self, row: int, slot: int) -> str:
        """The track (or slot) name of ``slot`` in frame ``row``."""
        if self.track_of is not None and self.track_of[row, slot] >= 0:
            return self.track_names[int(self.track_of[row, slot])]
        return self.slot_names[slot]

    def confident(self, p_bound: float) -> np.ndarray:
        """``bool (T, S, K)``: a finite point scored at least ``p_bound``."""
        finite = np.isfinite(self.points).all(axis=-1)
        with np.errstate(invalid="ignore"):
            return finite & (np.nan_to_num(self.scores, nan=-np.inf) >= p_bound)


def _assign_tracks(frames: np.ndarray, names: list[str],
                   order: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Track index of each instance (-1: untracked, or a second instance of its track in
    its frame) and, for those, their position among their frame's untracked instances."""
    index = {name: i for i, name in enumerate(order)}
    track = np.asarray([index.get(n, -1) if n else -1 for n in names], np.int64)
    by_key = np.lexsort((track, frames))
    repeat = np.zeros(len(frames), bool)
    repeat[by_key[1:]] = ((frames[by_key][1:] == frames[by_key][:-1])
                          & (track[by_key][1:] == track[by_key][:-1]))
    track[repeat] = -1
    loose = np.zeros(len(frames), np.int64)
    idx = np.flatnonzero(track < 0)  # instance_rows lists frames in order
    if len(idx):
        lf = frames[idx]
        starts = np.r_[0, np.flatnonzero(np.diff(lf)) + 1]
        loose[idx] = np.arange(len(lf)) - np.repeat(starts, np.diff(np.r_[starts, len(lf)]))
    return track, loose


def _pack_lanes(frames: np.ndarray, track: np.ndarray, order: list[str],
                gap: int) -> tuple[np.ndarray, list[str]]:
    """Lane of each track (fragments of a lane at least ``gap`` frames apart, earliest
    free lane first) and each lane's name (its track's, or ``lane_<i>`` for several)."""
    n = len(order)
    first, last = np.full(n, np.iinfo(np.int64).max), np.full(n, -1)
    tracked = track >= 0
    np.minimum.at(first, track[tracked], frames[tracked])
    np.maximum.at(last, track[tracked], frames[tracked])
    lane = np.zeros(n, np.int64)
    ends: list[int] = []
    members: list[list[int]] = []
    for tr in np.argsort(first, kind="stable").tolist():
        free = next((i for i, end in enumerate(ends) if end + gap < first[tr]), len(ends))
        if free == len(ends):
            ends.append(0)
            members.append([])
        ends[free], lane[tr] = int(last[tr]), free
        members[free].append(tr)
    names = [order[m[0]] if len(m) == 1 else f"lane_{i}" for i, m in enumerate(members)]
    return lane, names


def uncertain_ratio(tracks: PoseTracks, p_bound: float, count_missing: bool = False) -> np.ndarray:
    """``(T, S, K)`` ``log(score) / log(p_bound)`` (clipped at 0; NaN: not scored).

    Points without a position are not scored unless ``count_missing`` (then they count as
    score 0: the model found no peak for them).
    """
    finite = np.isfinite(tracks.points).all(axis=-1)
    score = np.where(finite, tracks.scores, np.nan)
    if count_missing:
        score = np.where(tracks.present[..., None] & ~finite, 0.0, score)
    with np.errstate(invalid="ignore"):
        ratio = np.log(np.maximum(score, MIN_SCORE)) / np.log(p_bound)
    return np.where(np.isfinite(score), np.maximum(ratio, 0.0), np.nan)


def previous_slots(tracks: PoseTracks, usable: np.ndarray) -> np.ndarray:
    """``int64 (T, S)``: the slot of the previous frame that each slot continues (-1: none).

    A tracked slot continues itself when it held the same track in the previous frame. An
    untracked slot continues the previous frame's instance (any slot) whose usable nodes
    lie nearest (median distance over the nodes usable in both); this need not be
    one-to-one.
    """
    t, s, _ = tracks.shape
    prev = np.full((t, s), -1, np.int64)
    if t < 2:
        return prev
    seg = tracks.segments
    same = (seg[1:] >= 0) & (seg[1:] == seg[:-1])
    prev[1:] = np.where(same, np.arange(s)[None, :], -1)
    if tracks.tracked.all():
        return prev
    pts = np.where(usable[..., None], tracks.points, np.nan)
    diff = pts[1:, :, None] - pts[:-1, None, :]  # (T-1, S, S', K, 2)
    with np.errstate(invalid="ignore"):
        dist = np.sqrt((diff**2).sum(-1))
    dist = np.where(np.isnan(dist).all(-1, keepdims=True), np.inf, dist)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        med = np.nanmedian(dist, axis=-1)  # (T-1, S, S')
    med = np.where(np.isfinite(med), med, np.inf)
    best = np.argmin(med, axis=-1)
    found = np.isfinite(np.take_along_axis(med, best[..., None], -1)[..., 0])
    nearest = np.where(found & tracks.present[1:], best, -1)
    prev[1:] = np.where(tracks.tracked[None, :], prev[1:], nearest)
    return prev


def chain(prev: np.ndarray, steps: int) -> np.ndarray:
    """``int64 (steps + 1, T, S)``: the slot ``r`` frames back along ``prev`` (row 0 is the
    slot itself; -1 where the chain breaks or runs before the first frame)."""
    t, s = prev.shape
    out = np.full((steps + 1, t, s), -1, np.int64)
    out[0] = np.arange(s)[None, :]
    for r in range(1, min(steps, t - 1) + 1):
        # rows i >= r: slot at i - r = prev[i - r + 1, slot at i - r + 1]
        cur = out[r - 1, r:]
        got = np.take_along_axis(prev[1 : t - r + 1], np.maximum(cur, 0), axis=1)
        out[r, r:] = np.where(cur >= 0, got, -1)
    return out


def _gather(values: np.ndarray, lag: int, slots: np.ndarray) -> np.ndarray:
    """``values[i - lag, slots[i]]`` for every row ``i`` (NaN / False where unavailable).

    ``values`` is ``(T, S, ...)``, ``slots`` is ``(T, S)``.
    """
    t = values.shape[0]
    fill = np.nan if values.dtype.kind == "f" else False
    out = np.full(values.shape, fill, values.dtype)
    if lag >= t:
        return out
    src = values[: t - lag]
    idx = np.maximum(slots[lag:], 0)
    idx = idx.reshape(idx.shape + (1,) * (values.ndim - 2))
    got = np.take_along_axis(src, idx, axis=1)
    ok = (slots[lag:] >= 0).reshape(idx.shape)
    out[lag:] = np.where(ok, got, fill)
    return out


def jump_distance(tracks: PoseTracks, usable: np.ndarray, prev: np.ndarray) -> np.ndarray:
    """``(T, S, K)`` distance each point moved since the previous frame (NaN unless the
    point is usable in both frames)."""
    before = _gather(np.where(usable[..., None], tracks.points, np.nan), 1, prev)
    with np.errstate(invalid="ignore"):
        dist = np.linalg.norm(tracks.points - before, axis=-1)
    return np.where(usable, dist, np.nan)


def jump_returns(
    tracks: PoseTracks,
    usable: np.ndarray,
    prev: np.ndarray,
    distance: np.ndarray,
    epsilon: np.ndarray | float,
    window: int,
) -> np.ndarray:
    """``int64 (T, S, K)``: for a jump that ends a glitch, how many frames back the glitch
    began (0: not a return).

    A jump at frame ``t`` is a return when a jump happened at ``t - r`` (``1 <= r <=
    window``) along the same chain and the point at ``t`` lies within ``epsilon`` of its
    position at ``t - r - 1``, just before that jump.
    """
    eps = np.asarray(epsilon, np.float64)
    fired = np.nan_to_num(distance, nan=0.0) > eps
    out = np.zeros(fired.shape, np.int64)
    if window <= 0:
        return out
    links = chain(prev, window + 1)
    pts = np.where(usable[..., None], tracks.points, np.nan)
    for r in range(window, 0, -1):  # the nearest earlier jump wins
        earlier = _gather(fired, r, links[r])
        before = _gather(pts, r + 1, links[r + 1])
        with np.errstate(invalid="ignore"):
            back = np.linalg.norm(tracks.points - before, axis=-1) <= eps
        out = np.where(fired & earlier & back, r, out)
    return out


def glitch_interior(
    tracks: PoseTracks, usable: np.ndarray, prev: np.ndarray, returns: np.ndarray, window: int
) -> np.ndarray:
    """``(T, S, K)`` for points between a jump and its return (the inside of a glitch of
    several frames): their distance from the position just before the jump (NaN for
    other points)."""
    out = np.full(returns.shape, np.nan)
    if window < 2 or not (returns >= 2).any():
        return out
    links = chain(prev, window + 1)
    pts = np.where(usable[..., None], tracks.points, np.nan)
    for r in range(2, window + 1):
        sel = returns == r
        if not sel.any():
            continue
        before = _gather(pts, r + 1, links[r + 1])
        for d in range(1, r):
            with np.errstate(invalid="ignore"):
                dist = np.linalg.norm(_gather(pts, d, links[d]) - before, axis=-1)
            t, s, k = np.nonzero(sel & np.isfinite(dist))
            slot = links[d][t, s]
            np.fmax.at(out, (t - d, slot, k), dist[t, s, k])
    return out



@dataclass(frozen=True)
class PointScores:
    """Every criterion's verdict on every point of one video (arrays ``(T, S, K)``).

    Attributes:
        ratio: per criterion, the measure over its threshold (NaN: not scored).
        value: per criterion, the measure itself: the score (``uncertain``), pixels moved
            (``jump``), pixels from the model (``fitting``).
        returns: jumps that end a glitch (frames back to its start; 0 otherwise); they
            do not count. The points between a glitch's jump and its return count with
            their distance from the position before the jump.
        fitting_z: the fitting deviation over the prediction's standard deviation.
        skipped: criteria that could not be computed, with the reason.
    """

    ratio: dict[str, np.ndarray]
    value: dict[str, np.ndarray]
    returns: np.ndarray
    fitting_z: np.ndarray | None = None
    skipped: dict[str, str] = field(default_factory=dict)


def score_points(
    tracks: PoseTracks,
    methods: tuple[str, ...],
    p_bound: float = 0.01,
    epsilon: np.ndarray | float = 20.0,
    ar_degree: int = 3,
    ma_degree: int = 1,
    window: int = 15,
    return_window: int = 5,
    count_missing: bool = False,
) -> PointScores:
    """Score every point of ``tracks`` under each criterion of ``methods``.

    Args:
        tracks: one video's predictions.
        methods: any of ``"uncertain"``, ``"jump"``, ``"fitting"`` (others are ignored).
        p_bound: score below which a point is uncertain, and missing for jump / fitting.
        epsilon: pixels, one number or one per node (``(K,)``).
        ar_degree, ma_degree: orders of the fitting model.
        window: running-median window of the fitting criterion's robust screen.
        return_window: how far back a jump may have begun for a later jump to count as
            its return (0: every jump counts, as in DeepLabCut).
        count_missing: score points without a position as uncertain (score 0).
    """
    t, s, k = tracks.shape
    eps = np.broadcast_to(np.asarray(epsilon, np.float64), (k,))
    usable = tracks.confident(p_bound)
    ratio: dict[str, np.ndarray] = {}
    value: dict[str, np.ndarray] = {}
    skipped: dict[str, str] = {}
    returns = np.zeros((t, s, k), np.int64)
    z = None
    if "uncertain" in methods:
        ratio["uncertain"] = uncertain_ratio(tracks, p_bound, count_missing)
        value["uncertain"] = np.where(np.isnan(ratio["uncertain"]), np.nan,
                                      np.nan_to_num(tracks.scores, nan=0.0))
    if "jump" in methods:
        prev = previous_slots(tracks, usable)
        dist = jump_distance(tracks, usable, prev)
        returns = jump_returns(tracks, usable, prev, dist, eps, return_window)
        inside = glitch_interior(tracks, usable, prev, returns, return_window)
        value["jump"] = np.fmax(np.where(returns > 0, np.nan, dist), inside)
        ratio["jump"] = value["jump"] / eps
    if "fitting" in methods:
        model = tracks.tracked[None, :, None] & usable
        if not model.any():
            skipped["fitting"] = (
                "no tracked instances: a trajectory needs to know which instance continues "
                "which (track the predictions first, e.g. posekit track --tracking)"
            )
        else:
            fit = fitting_deviation(tracks.points, model, float(np.min(eps)), ar_degree,
                                    ma_degree, window, segments=tracks.segments)
            value["fitting"] = fit.deviation
            ratio["fitting"] = fit.deviation / eps
            z = fit.z
    return PointScores(ratio=ratio, value=value, returns=returns, fitting_z=z, skipped=skipped)


#: Frame scores are capped here when frames are ranked, so no single criterion dominates.
SCORE_CAP = 5.0


def frame_score(ratio: np.ndarray, considered: np.ndarray, rule: str,
                min_nodes: int) -> np.ndarray:
    """``(T, S)`` score of each slot under one criterion (NaN: not scored).

    ``rule="any"``: the ``min_nodes``-th largest ratio of the considered nodes (above 1
    exactly when that many nodes are above their threshold); ``"mean"``: their mean ratio.
    """
    r = ratio[:, :, considered]
    scored = np.isfinite(r).any(axis=-1)
    if rule == "mean":
        with np.errstate(invalid="ignore"):
            slot = np.nanmean(np.where(scored[..., None], r, 0.0), axis=-1)
    else:
        m = min(min_nodes, r.shape[-1])
        ordered = -np.sort(-np.nan_to_num(r, nan=-np.inf), axis=-1)  # descending
        slot = ordered[..., m - 1] if m > 0 else np.full(r.shape[:2], -np.inf)
    return np.where(scored & np.isfinite(slot), slot, np.nan)


def combine(score: np.ndarray, fired: np.ndarray) -> np.ndarray:
    """``(M,)`` criteria fired + mean over criteria of ``min(score, cap) / cap``."""
    if score.shape[1] == 0:
        return np.zeros(len(score))
    capped = np.clip(np.nan_to_num(score, nan=0.0), 0.0, SCORE_CAP) / SCORE_CAP
    return fired.sum(axis=1) + capped.mean(axis=1)


def pose_feature(tracks: PoseTracks, points: PointScores, row: int, slot: int) -> np.ndarray:
    """``(3K,)`` one instance as k-means sees it: its pose normalised to its own box
    (centre 0, longest side 1; missing points 0), then 0.5 for each node that fired."""
    pts = tracks.points[row, slot]
    ok = np.isfinite(pts).all(axis=1)
    norm = np.zeros_like(pts)
    if ok.any():
        lo, hi = pts[ok].min(axis=0), pts[ok].max(axis=0)
        norm = np.nan_to_num((pts - (lo + hi) / 2) / max(float((hi - lo).max()), 1.0))
    hit = np.zeros(len(pts))
    for ratio in points.ratio.values():
        hit = np.maximum(hit, 0.5 * (np.nan_to_num(ratio[row, slot], nan=0.0) > 1.0))
    return np.r_[norm.ravel(), hit]


#: Most node reasons listed per frame (the rest are counted).
MAX_REASONS = 12
_UNITS = {"uncertain": "score", "jump": "px", "fitting": "px"}


def _detail(criterion: str, value: float, threshold: float, frame: int, z: float | None) -> str:
    if criterion == "uncertain":
        return f"score {value:.3g} < p_bound {threshold:g}"
    if criterion == "jump":
        return f"moved {value:.1f} px since frame {frame - 1} (> epsilon {threshold:g} px)"
    extra = f", {z:.1f} sd" if z is not None and np.isfinite(z) else ""
    return f"{value:.1f} px from its trajectory model (> epsilon {threshold:g} px{extra})"


def point_reasons(
    tracks: PoseTracks,
    points: PointScores,
    row: int,
    criteria: tuple[str, ...],
    considered: np.ndarray,
    epsilon: np.ndarray,
    p_bound: float,
) -> list[dict]:
    """What made frame ``row`` of ``tracks`` an outlier under ``criteria``: one entry per
    point above its threshold (largest ratio first, at most :data:`MAX_REASONS`; a last
    entry counts the rest). Each entry: criterion, track, node, value, unit, threshold,
    ratio and a sentence (``detail``)."""
    frame = int(tracks.frame_ids[row])
    found: list[dict] = []
    for name in criteria:
        ratio = points.ratio.get(name)
        if ratio is None:
            continue
        hit = np.argwhere((np.nan_to_num(ratio[row], nan=0.0) > 1.0) & considered[None, :])
        for s, k in hit.tolist():
            value = float(points.value[name][row, s, k])
            threshold = p_bound if name == "uncertain" else float(epsilon[k])
            z = None
            if name == "fitting" and points.fitting_z is not None:
                z = float(points.fitting_z[row, s, k])
            found.append({
                "criterion": name, "track": tracks.name(row, s),
                "node": tracks.node_names[k], "value": round(value, 4),
                "unit": _UNITS[name], "threshold": threshold,
                "ratio": round(float(ratio[row, s, k]), 3),
                "detail": _detail(name, value, threshold, frame, z),
            })
    found.sort(key=lambda r: -r["ratio"])
    if len(found) > MAX_REASONS:
        rest = len(found) - MAX_REASONS
        found = found[:MAX_REASONS] + [{"criterion": "more", "count": rest,
                                        "detail": f"{rest} more points above threshold"}]
    return found


def summarize(reasons: list[dict]) -> str:
    """One line per frame: each criterion with its tracks and nodes and the largest value,
    e.g. ``jump: track 2 wingR, head; up to 77.8 px``."""
    parts: dict[str, list[dict]] = {}
    for r in reasons:
        parts.setdefault(r["criterion"], []).append(r)
    out = []
    for name, items in parts.items():
        if name in ("more", "listed", "missing", "filled"):
            out.append(items[0]["detail"])
            continue
        tracks: dict[str, list[str]] = {}
        for r in items:
            tracks.setdefault(r["track"], [])
            if r["node"] not in tracks[r["track"]]:
                tracks[r["track"]].append(r["node"])
        where = "; ".join(", ".join(nodes) if track == "instance" else
                          f"track {track} " + ", ".join(nodes) for track, nodes in tracks.items())
        top = items[0]
        worst = (f"score {top['value']:.3g}" if name == "uncertain"
                 else f"up to {top['value']:.1f} px" if top["unit"] == "px"
                 else f"{top['value']:.2f} x threshold")
        out.append(f"{name}: {where}; {worst}")
    return " | ".join(out)
