"""Outlier frames: combine the criteria, apply the rules, rank, choose, and say why.

``find_outliers(labels, settings)`` scores every frame of every video of a predictions
file under each criterion of ``settings.methods`` (DeepLabCut's names and defaults:
``uncertain`` with ``p_bound`` 0.01, ``jump`` and ``fitting`` with ``epsilon`` 20 px,
ARMA orders 3 and 1; ``list`` for frames given by hand; and ``missing``: a frame where
the model found fewer animals than on most frames, e.g. none at all), ranks the frames,
and chooses ``n`` (or a ``fraction``) of them, diverse by k-means
(:func:`posekit.refinement.clustering.pick_diverse`). :func:`outlier_labels` turns the
result into a labels file of the chosen frames carrying the model's predictions.

Rules, per criterion and frame:

* ``rule="any"`` (default): a slot (track) fires when at least ``min_nodes`` of the
  considered nodes (``nodes``, default all: DeepLabCut's ``comparisonbodyparts``) have a
  ratio above 1; the frame's score is, over slots, the largest ``min_nodes``-th largest
  node ratio (so it exceeds 1 exactly when the frame fires).
* ``rule="mean"``: the slot's mean ratio over the considered nodes (DeepLabCut's
  ``fitting`` averages the distance over body parts).

Rank: frames that fired more criteria first; then the mean over criteria of the score
capped at :data:`SCORE_CAP`, divided by the cap; the ``combined`` value is the sum of the
two (its integer part is the number of criteria fired). Frames listed by hand come first.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from posekit.config.problems import Problem
from posekit.config.rules import (
    RuleTable,
    check_settings,
    choice,
    distinct,
    field_rule,
    non_empty,
    number,
    rule,
)
from posekit.errors import DataError
from posekit.refinement.outliers import (
    LANE_GAP,
    PointScores,
    PoseTracks,
    combine,
    frame_score,
    point_reasons,
    pose_feature,
    score_points,
)

if TYPE_CHECKING:
    import sleap_io as sio

METHODS = ("uncertain", "jump", "fitting", "missing", "list")
CRITERIA = ("uncertain", "jump", "fitting", "missing")
#: Frames chosen when neither ``n`` nor ``fraction`` is given (DeepLabCut's numframes2pick).
DEFAULT_N = 20

@rule("n", "fraction")
def _one_count(settings: Any, path: str) -> Iterator[Problem]:
    if settings.n is not None and settings.fraction is not None:
        yield Problem("n", f"n={settings.n} and fraction={settings.fraction} both given",
                      "one of them", "Use -n for a number of frames or --fraction for a share.")


@rule("methods", "frames")
def _list_needs_frames(settings: Any, path: str) -> Iterator[Problem]:
    if "list" in settings.methods and not settings.frames:
        yield Problem("frames", "method 'list' without frames",
                      "frame numbers (--frames 10,250,1200)",
                      "Give the frames, or drop 'list' from the methods.")


RULES: RuleTable = {
    "": (
        field_rule("methods", lambda v: any(m not in METHODS for m in v),
                   lambda v: f"unknown method(s) {[m for m in v if m not in METHODS]}",
                   f"names from {', '.join(METHODS)}",
                   "DeepLabCut's outlieralgorithm names; 'manual' is the SLEAP GUI here."),
        non_empty("methods", "Give at least one method, e.g. jump."),
        distinct("methods"),
        number("p_bound", 0, 1, low_open=True, high_open=True, hint="DeepLabCut uses 0.01."),
        number("epsilon", 0, low_open=True, hint="DeepLabCut uses 20 px."),
        field_rule("node_epsilon", lambda v: bool(v) and any(not x > 0 for x in v.values()),
                   lambda v: f"thresholds {v} include a value <= 0", "positive pixels",
                   "Give each node a distance in pixels, e.g. tail_tip=40."),
        number("ar_degree", 0, 10),
        number("ma_degree", 0, 5),
        choice("rule", ("any", "mean")),
        number("min_nodes", 1),
        number("n", 0),
        number("fraction", 0, 1, low_open=True),
        number("pool", 1),
        choice("features", ("auto", "pose", "appearance")),
        number("min_gap", 0),
        number("return_window", 0, 100),
        number("window", 3, 10001),
        number("frames", 0),
        _one_count,
        _list_needs_frames,
    )
}


@dataclass(frozen=True)
class OutlierSettings:
    """How outlier frames are found and chosen (names and defaults as DeepLabCut's).

    Attributes:
        methods: criteria: ``uncertain``, ``jump``, ``fitting``, ``missing`` (a frame
            with fewer instances than the model finds on most frames), ``list``.
        p_bound: a point scored below it is uncertain (and missing for jump / fitting).
        epsilon: pixels: the jump and fitting threshold.
        node_epsilon: per-node thresholds overriding ``epsilon`` (``{node: px}``).
        ar_degree, ma_degree: orders of the fitting model (ARMA).
        nodes: nodes that count (DeepLabCut's ``comparisonbodyparts``); None: all.
        rule: ``any`` (a node above its threshold) or ``mean`` (the nodes' mean).
        min_nodes: with ``rule="any"``, nodes that must fire in one instance.
        n: frames to choose (default :data:`DEFAULT_N` unless ``fraction`` is given).
        fraction: share of the frames with predictions to choose (the guide's 0.005).
        frames: frames for the ``list`` method (the video's numbering).
        diversity: choose among the top ``pool * n`` candidates by k-means, one frame per
            cluster; False takes the top ``n`` by rank.
        pool: size of the k-means pool, in multiples of ``n``.
        features: what k-means clusters: ``pose`` (the worst instance's pose, normalised
            to its box, and which of its nodes fired), ``appearance`` (30-px grey frames,
            needs the video) or ``auto`` (appearance when the video can be read).
        min_gap: chosen frames of one video are at least this many frames apart.
        fill: when fewer frames fire than asked for, add the next-ranked frames.
        seed: k-means seed.
        return_window: a jump back to within ``epsilon`` of the position before a jump at
            most this many frames earlier ends a glitch and does not count (0: every jump
            counts, as in DeepLabCut).
        window: running-median window (frames) of the fitting criterion's robust screen.
        count_missing: count points the model did not place as uncertain (score 0).
    """

    methods: tuple[str, ...] = CRITERIA
    p_bound: float = 0.01
    epsilon: float = 20.0
    node_epsilon: dict[str, float] | None = None
    ar_degree: int = 3
    ma_degree: int = 1
    nodes: tuple[str, ...] | None = None
    rule: str = "any"
    min_nodes: int = 1
    n: int | None = None
    fraction: float | None = None
    frames: tuple[int, ...] = ()
    diversity: bool = True
    pool: float = 3.0
    features: str = "auto"
    min_gap: int = 0
    fill: bool = False
    seed: int = 0
    return_window: int = 5
    window: int = 15
    count_missing: bool = False

    def __post_init__(self) -> None:
        check_settings(self, "", RULES)

    @property
    def criteria(self) -> tuple[str, ...]:
        """The scoring criteria among ``methods`` (without ``list``)."""
        return tuple(c for c in CRITERIA if c in self.methods)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly copy of every setting."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


@dataclass
class VideoScores:
    """One video's frame scores (rows = frames with predictions, in frame order).

    Attributes:
        video: index of the video in the labels.
        tracks: the predictions as arrays.
        points: every point's scores.
        rows: ``(F,)`` row of each scored frame in ``tracks`` (frames with an instance).
        score: ``(F, C)`` per-criterion frame score (ratio; NaN: not scored).
        fired: ``(F, C)`` whether the criterion fired on the frame.
        worst_slot: ``(F,)`` slot with the highest score over the fired criteria.
        considered: ``(K,)`` nodes that count.
        epsilon: ``(K,)`` per-node thresholds in pixels.
        labelled: ``(F,)`` frames that already hold user-labelled instances.
    """

    video: int
    tracks: PoseTracks
    points: PointScores
    rows: np.ndarray
    score: np.ndarray
    fired: np.ndarray
    worst_slot: np.ndarray
    considered: np.ndarray
    epsilon: np.ndarray
    labelled: np.ndarray


@dataclass
class OutlierResult:
    """Every scored frame, the chosen ones in rank order, and why.

    Attributes:
        settings: what was asked.
        criteria: the criteria scored (columns of ``score`` / ``fired``).
        video, frame: ``(M,)`` each scored frame (video index, frame in its numbering).
        score, fired: ``(M, C)``.
        combined: ``(M,)`` criteria fired + mean capped score / cap.
        rank: ``(M,)`` 1 = most outlying (listed frames first).
        listed: ``(M,)`` frames given by hand.
        labelled: ``(M,)`` frames that already hold user labels (never chosen).
        part, local: ``(M,)`` where each row's scores are: ``per_video[part].rows[local]``.
        chosen: rows of the chosen frames, in rank order.
        reasons: per chosen row (same order), the reasons a person reads.
        notes: what was done that a user should know (skipped criteria, shortfalls).
        videos: per video, what was scored (filename, frames, slots, tracked).
        per_video: the per-video scores (for the output labels and reports).
    """

    settings: OutlierSettings
    criteria: tuple[str, ...]
    video: np.ndarray
    frame: np.ndarray
    score: np.ndarray
    fired: np.ndarray
    combined: np.ndarray
    rank: np.ndarray
    listed: np.ndarray
    labelled: np.ndarray
    part: np.ndarray
    local: np.ndarray
    chosen: np.ndarray
    reasons: list[list[dict[str, Any]]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    videos: list[dict[str, Any]] = field(default_factory=list)
    per_video: list[VideoScores] = field(default_factory=list)

    @property
    def candidates(self) -> np.ndarray:
        """Rows that fired a criterion or were listed."""
        return np.flatnonzero(self.fired.any(axis=1) | self.listed)


# ------------------------------------------------------------------ frame scores
def node_mask(node_names: tuple[str, ...], nodes: tuple[str, ...] | None, source: str) -> np.ndarray:
    """``bool (K,)`` of the considered nodes; DataError naming unknown ones."""
    if nodes is None:
        return np.ones(len(node_names), bool)
    unknown = [n for n in nodes if n not in node_names]
    if unknown:
        raise DataError(
            f"{source}: nodes {unknown} are not in the skeleton; expected names from "
            f"{list(node_names)}. Fix --nodes."
        )
    return np.isin(np.asarray(node_names, dtype=object), list(nodes))


def node_epsilon(node_names: tuple[str, ...], settings: OutlierSettings, source: str) -> np.ndarray:
    """``(K,)`` per-node thresholds: ``epsilon`` with ``node_epsilon`` overrides."""
    eps = np.full(len(node_names), float(settings.epsilon))
    for name, px in (settings.node_epsilon or {}).items():
        node_mask(node_names, (name,), source)
        eps[node_names.index(name)] = float(px)
    return eps


def score_video(labels: sio.Labels, video: int, settings: OutlierSettings,
                source: str = "predictions") -> VideoScores:
    """Score every frame of one video under the settings' criteria and rules."""
    tracks = PoseTracks.from_labels(labels, video, source, max(LANE_GAP, settings.window))
    considered = node_mask(tracks.node_names, settings.nodes, source)
    eps = node_epsilon(tracks.node_names, settings, source)
    pts = score_points(tracks, settings.criteria, settings.p_bound, eps, settings.ar_degree,
                       settings.ma_degree, settings.window, settings.return_window,
                       settings.count_missing)
    rows = np.flatnonzero(tracks.processed)
    crit = settings.criteria
    score = np.full((len(rows), len(crit)), np.nan)
    best = np.full(len(rows), -np.inf)
    worst = np.zeros(len(rows), np.int64)
    for c, name in enumerate(crit):
        if name not in pts.ratio:
            continue
        slot = frame_score(pts.ratio[name], considered, settings.rule, settings.min_nodes)
        slot = slot[rows]
        has = np.isfinite(slot).any(axis=1)
        top = np.argmax(np.nan_to_num(slot, nan=-np.inf), axis=1)
        score[has, c] = slot[has, top[has]]
        better = has & (score[:, c] > 1) & (score[:, c] > best)
        worst, best = np.where(better, top, worst), np.where(better, score[:, c], best)
    if "missing" in crit and len(rows):
        score[:, crit.index("missing")] = missing_animals_score(tracks.present[rows])
    fired = np.nan_to_num(score, nan=0.0) > 1.0
    user = _user_frames(labels, video)
    labelled = np.isin(tracks.frame_ids[rows], user)
    return VideoScores(video, tracks, pts, rows, score, fired, worst, considered, eps, labelled)


def usual_count(present: np.ndarray) -> int:
    """The number of instances the model finds on most of these frames (``present``:
    ``bool (F, S)``); a tie goes to the larger count."""
    counts = np.bincount(present.sum(axis=1), minlength=1)
    return int(len(counts) - 1 - np.argmax(counts[::-1]))


def missing_animals_score(present: np.ndarray) -> np.ndarray:
    """``(F,)`` score of the ``missing`` criterion: 1 + the number of animals a frame lacks
    against :func:`usual_count` (so it fires from one missing animal on), 0 when none
    lacks."""
    lack = usual_count(present) - present.sum(axis=1)
    return np.where(lack > 0, 1.0 + lack, 0.0)


def _user_frames(labels: sio.Labels, video: int) -> np.ndarray:
    target = labels.videos[video]
    return np.asarray([lf.frame_idx for lf in labels.labeled_frames
                       if lf.video is target and lf.user_instances], np.int64)


def rank_rows(combined: np.ndarray, score: np.ndarray, listed: np.ndarray,
              listed_order: np.ndarray) -> np.ndarray:
    """``(M,)`` rank (1 = first): listed frames in the order given, then by ``combined``
    descending, then by the sum of the uncapped scores (ties: earlier rows first)."""
    key_listed = np.where(listed, listed_order, np.iinfo(np.int64).max)
    raw = np.nan_to_num(score, nan=0.0).sum(axis=1)
    order = np.lexsort((np.arange(len(combined)), -raw, -combined, key_listed))
    rank = np.empty(len(combined), np.int64)
    rank[order] = np.arange(1, len(combined) + 1)
    return rank


# ------------------------------------------------------------------ choosing
def target_count(settings: OutlierSettings, n_frames: int) -> int:
    """Frames to choose: ``n``, or ``ceil(fraction * frames)``, or :data:`DEFAULT_N`."""
    if settings.fraction is not None:
        return max(1, math.ceil(settings.fraction * n_frames)) if n_frames else 0
    if "list" in settings.methods and not settings.criteria and settings.n is None:
        return 0
    return DEFAULT_N if settings.n is None else int(settings.n)


def _greedy_gap(order: np.ndarray, k: int, video: np.ndarray, frame: np.ndarray,
                min_gap: int, start: np.ndarray | None = None) -> np.ndarray:
    """``start`` (rows already picked) topped up to ``k`` rows with the first rows of
    ``order`` that keep ``min_gap`` frames between picks."""
    picks: list[int] = [] if start is None else start.tolist()
    taken = set(picks)
    for row in order.tolist():
        if row in taken:
            continue
        if len(picks) >= k:
            break
        if min_gap > 0 and any(video[p] == video[row] and abs(frame[p] - frame[row]) < min_gap
                               for p in picks):
            continue
        picks.append(row)
    return np.asarray(picks, np.int64)


def choose(result: OutlierResult, features: Callable[[np.ndarray], np.ndarray]) -> None:
    """Fill ``result.chosen`` (and notes) from the ranked rows; ``features(rows)`` gives
    the k-means features of candidate rows."""
    from posekit.refinement.clustering import pick_diverse

    st = result.settings
    by_rank = np.argsort(result.rank, kind="stable")
    open_ = ~result.labelled
    listed = by_rank[result.listed[by_rank]]
    pool_all = by_rank[result.fired.any(axis=1)[by_rank] & ~result.listed[by_rank]
                       & open_[by_rank]]
    rest = by_rank[~result.fired.any(axis=1)[by_rank] & ~result.listed[by_rank]
                   & open_[by_rank]]
    k = target_count(st, len(result.frame))
    picked = np.zeros(0, np.int64)
    if st.diversity and len(pool_all) > k:
        pool = pool_all[: max(k, math.ceil(st.pool * k))]
        idx = pick_diverse(features(pool), k, st.seed, result.frame[pool], result.video[pool],
                           st.min_gap)
        picked = pool[idx]
    # Top up (or pick, without diversity) by rank: fired frames, then with fill the rest.
    order = np.r_[pool_all, rest] if st.fill else pool_all
    picked = _greedy_gap(order, k, result.video, result.frame, st.min_gap, picked)
    if len(pool_all) < k:
        msg = (f"asked for {k} frames; {len(pool_all)} fired a criterion"
               + (" (fewer frames than asked for in the predictions)"
                  if k > len(result.frame) else ""))
        result.notes.append(msg + (f"; filled with the next-ranked frames to {len(picked)}."
                                   if st.fill else f"; returning those {len(pool_all)} "
                                   "(--fill adds the next-ranked frames)."))
    if len(picked) < min(k, len(order)):
        result.notes.append(f"min_gap {st.min_gap} left room for {len(picked)} frames only.")
    chosen = np.r_[listed, picked].astype(np.int64)
    result.chosen = chosen[np.argsort(result.rank[chosen], kind="stable")]
    result.reasons = [frame_reasons(result, int(row)) for row in result.chosen]


def frame_reasons(result: OutlierResult, row: int) -> list[dict[str, Any]]:
    """The reasons of one scored frame (its fired points; ``listed`` for frames given by
    hand; with ``rule="mean"`` the instance mean when no single node is above threshold;
    ``filled`` for a frame that ``fill`` added although no criterion fired on it)."""
    st, vs = result.settings, result.per_video[int(result.part[row])]
    local = int(result.local[row])
    trow = int(vs.rows[local])
    fired = tuple(c for c, f in zip(result.criteria, result.fired[row], strict=True) if f)
    out = point_reasons(vs.tracks, vs.points, trow, fired, vs.considered, vs.epsilon, st.p_bound)
    if "missing" in fired:
        expected = usual_count(vs.tracks.present[vs.rows])
        found = int(vs.tracks.present[trow].sum())
        out.append({"criterion": "missing", "track": None, "node": None,
                    "value": expected - found, "unit": "animals", "threshold": expected,
                    "ratio": float(result.score[row, result.criteria.index("missing")]),
                    "detail": f"the model found {found} of the {expected} animal"
                              f"{'s' if expected > 1 else ''} it finds on most frames"})
    for c in fired:
        if c != "missing" and not any(r["criterion"] == c for r in out):
            score = float(result.score[row, result.criteria.index(c)])
            out.append({"criterion": c, "track": vs.tracks.name(trow, int(vs.worst_slot[local])),
                        "node": "mean of nodes", "ratio": round(score, 3),
                        "value": round(score, 3), "unit": "ratio", "threshold": 1.0,
                        "detail": f"mean over nodes {score:.2f} x threshold"})
    if result.listed[row]:
        out.insert(0, {"criterion": "listed", "detail": "listed by hand"})
    if not out:  # chosen by --fill: no criterion fired on it
        out.append({"criterion": "filled", "ratio": round(float(result.combined[row]), 3),
                    "detail": "no criterion fired; next by rank, added to reach the frames "
                              f"asked for (combined score {float(result.combined[row]):.2f})"})
    return out


def pose_features(result: OutlierResult, rows: np.ndarray) -> np.ndarray:
    """k-means features of ``rows``: each frame's worst instance (:func:`pose_feature`)."""
    feats = []
    for row in rows.tolist():
        vs, local = result.per_video[int(result.part[row])], int(result.local[row])
        feats.append(pose_feature(vs.tracks, vs.points, int(vs.rows[local]),
                                  int(vs.worst_slot[local])))
    return np.asarray(feats, np.float32).reshape(len(rows), -1)


def appearance_features(result: OutlierResult, rows: np.ndarray,
                        paths: dict[int, str]) -> np.ndarray | None:
    """30-px grey images of the rows' frames (DeepLabCut's k-means features), or None
    when a video cannot be opened or a frame cannot be decoded (a note says so)."""
    from posekit.refinement.sampling import feature_shape, probe_video, sample_features

    vids = np.unique(result.video[rows])
    infos = [probe_video(paths[int(v)]) if int(v) in paths else None for v in vids]
    if any(i is None or not i.ok for i in infos):
        result.notes.append("k-means on poses: the video could not be opened "
                            "(give it with --video for appearance features).")
        return None
    shape = feature_shape(infos[0].height, infos[0].width)
    plan = [np.unique(result.frame[rows][result.video[rows] == v]) for v in vids]
    got = sample_features(infos, plan, shape)
    if len(got.frame) != len(rows) or any(i.height != infos[0].height for i in infos):
        result.notes.append("k-means on poses: some chosen frames could not be decoded.")
        return None
    lookup = {(int(vids[v]), int(f)): i for i, (v, f) in enumerate(zip(got.video, got.frame))}
    order = [lookup[(int(result.video[r]), int(result.frame[r]))] for r in rows.tolist()]
    return got.features[order].astype(np.float32)


def find_outliers(
    labels: sio.Labels,
    settings: OutlierSettings | None = None,
    videos: dict[int, str] | None = None,
    source: str = "predictions",
    only: int | None = None,
) -> OutlierResult:
    """Score, rank and choose outlier frames of every video of a predictions file.

    Args:
        labels: predictions (``PredictedInstance`` s; user-labelled frames are scored
            but never chosen).
        settings: the criteria, rules and choice (default: DeepLabCut's defaults).
        videos: video index -> readable path, for appearance features (``features``
            ``auto`` / ``appearance``).
        source: the predictions' name for messages.
        only: score only this video (index into ``labels.videos``).

    Raises:
        DataError: no predicted instances, or ``nodes`` not in the skeleton.
    """
    st = settings or OutlierSettings()
    which = range(len(labels.videos)) if only is None else [only]
    per_video = [score_video(labels, v, st, source) for v in which]
    per_video = [vs for vs in per_video if len(vs.rows)]
    if not per_video:
        raise DataError(f"{source}: no predicted instances; expected model predictions "
                        "(posekit track -o predictions.slp).")
    notes = sorted({f"{c} not scored: {why}." for vs in per_video
                    for c, why in vs.points.skipped.items()})
    vid = np.concatenate([np.full(len(vs.rows), vs.video) for vs in per_video])
    part = np.concatenate([np.full(len(vs.rows), i) for i, vs in enumerate(per_video)])
    local = np.concatenate([np.arange(len(vs.rows)) for vs in per_video])
    frame = np.concatenate([vs.tracks.frame_ids[vs.rows] for vs in per_video])
    score = np.concatenate([vs.score for vs in per_video])
    fired = np.concatenate([vs.fired for vs in per_video])
    labelled = np.concatenate([vs.labelled for vs in per_video])
    wanted = list(dict.fromkeys(st.frames)) if "list" in st.methods else []
    listed = np.isin(frame, wanted)
    missing = sorted(set(wanted) - set(frame[listed].tolist()))
    if missing:
        notes.append(f"listed frames without predictions, left out: {missing[:20]}")
    order = np.asarray([wanted.index(f) if f in wanted else 0 for f in frame.tolist()]
                       if wanted else np.zeros(len(frame)), np.int64)
    combined = combine(score, fired)
    result = OutlierResult(
        settings=st, criteria=st.criteria, video=vid, frame=frame, score=score, fired=fired,
        combined=combined, rank=rank_rows(combined, score, listed, order), listed=listed,
        labelled=labelled, part=part, local=local, chosen=np.zeros(0, np.int64), notes=notes,
        per_video=per_video,
        videos=[_video_info(labels, vs) for vs in per_video])
    if labelled.any():
        notes.append(f"{int(labelled.sum())} frames already hold user labels: never chosen.")

    def features(rows: np.ndarray) -> np.ndarray:
        if st.features != "pose" and videos:
            got = appearance_features(result, rows, videos)
            if got is not None:
                return got
        elif st.features == "appearance":
            notes.append("k-means on poses: appearance needs the video (--video).")
        return pose_features(result, rows)

    choose(result, features)
    return result


def _video_info(labels: sio.Labels, vs: VideoScores) -> dict[str, Any]:
    t = vs.tracks
    return {"index": vs.video, "filename": str(labels.videos[vs.video].filename),
            "first_frame": int(t.frame_ids[0]), "last_frame": int(t.frame_ids[-1]),
            "frames_scored": len(vs.rows), "tracks": list(t.track_names),
            "slots": list(t.slot_names), "tracked": [bool(x) for x in t.tracked]}
