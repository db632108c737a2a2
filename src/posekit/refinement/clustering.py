"""Diverse picks by k-means: one row per cluster, the row nearest each centre.

Pure maths on arrays (no files, no terminal). :func:`pick_diverse` is the shared entry
point (frame extraction, outlier diversity, refinement rounds); :func:`cluster_picks`
returns the same picks with the reason for each (cluster, distance to its centre,
cluster size), which the manifests record.

How the picks are made, for ``k = min(n, M)`` picks from ``M`` rows:

1. k-means with ``k`` clusters (scikit-learn; exact Lloyd's k-means while
   ``M * k <= EXACT_KMEANS_WORK``, mini-batch k-means above), seeded, k-means++ start.
2. Clusters are served in order of how tight they are (distance of their nearest member
   to the centre, ties by cluster id). Each takes its member **nearest the centre** that
   is not taken yet and keeps ``min_gap`` frames from every earlier pick of the same group.
3. A cluster left without such a member (empty, a duplicate centre, or all members too
   close to earlier picks) is refilled with the nearest acceptable row of any cluster
   (``refilled`` in :class:`DiversePicks`). So exactly ``k`` rows come back unless the
   gap itself makes that impossible: then as many as fit are returned (callers compare
   ``len``).

Deterministic: the same rows, ``n`` and ``seed`` give the same picks.
"""

from __future__ import annotations

import bisect
import warnings
from dataclasses import dataclass

import numpy as np

from posekit.errors import ConfigError

#: Largest ``rows x clusters`` clustered with exact k-means (≈ 5 s on one core at 900
#: features); larger problems use mini-batch k-means.
EXACT_KMEANS_WORK = 4_000_000


@dataclass(frozen=True)
class DiversePicks:
    """Picks and why each was made (arrays of equal length, in pick order).

    Attributes:
        indices: ``int64`` row indices into the features.
        cluster: ``int64`` k-means cluster each pick stands for.
        distance: ``float64`` Euclidean distance of the pick to that cluster's centre
            (feature units; for 30-px images, grey levels times sqrt(pixels)).
        cluster_size: ``int64`` rows assigned to that cluster.
        refilled: ``bool`` True where the cluster had no acceptable member and the
            nearest acceptable row of another cluster was taken instead.
        n_clusters: clusters fitted (``min(n, M)``).
    """

    indices: np.ndarray
    cluster: np.ndarray
    distance: np.ndarray
    cluster_size: np.ndarray
    refilled: np.ndarray
    n_clusters: int


class _GapGuard:
    """Remembers picked frames per group; says whether a frame keeps ``min_gap`` from them."""

    def __init__(self, frame_ids: np.ndarray, groups: np.ndarray, min_gap: int):
        self.frame_ids, self.groups, self.min_gap = frame_ids, groups, int(min_gap)
        self.taken: set[int] = set()
        self._by_group: dict[int, list[int]] = {}

    def ok(self, row: int) -> bool:
        if row in self.taken:
            return False
        if self.min_gap <= 0:
            return True
        frames = self._by_group.get(int(self.groups[row]), [])
        f = int(self.frame_ids[row])
        i = bisect.bisect_left(frames, f)
        near = [frames[j] for j in (i - 1, i) if 0 <= j < len(frames)]
        return all(abs(f - g) >= self.min_gap for g in near)

    def take(self, row: int) -> None:
        self.taken.add(row)
        bisect.insort(self._by_group.setdefault(int(self.groups[row]), []), int(self.frame_ids[row]))


def _check_inputs(
    features: np.ndarray,
    n: int,
    frame_ids: np.ndarray | None,
    groups: np.ndarray | None,
    min_gap: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = np.asarray(features)
    if x.ndim != 2:
        raise ConfigError(
            f"features: shape {x.shape}; expected a 2-D array (rows, feature values). "
            "Flatten each image first, e.g. images.reshape(len(images), -1)."
        )
    if int(n) < 0 or int(min_gap) < 0:
        raise ConfigError(f"n={n}, min_gap={min_gap}; expected integers >= 0.")
    m = len(x)
    ids = np.arange(m, dtype=np.int64) if frame_ids is None else np.asarray(frame_ids, np.int64)
    grp = np.zeros(m, np.int64) if groups is None else np.asarray(groups, np.int64)
    if ids.shape != (m,) or grp.shape != (m,):
        raise ConfigError(
            f"frame_ids / groups: shapes {ids.shape} / {grp.shape}; expected ({m},), one "
            "value per row of features."
        )
    if not np.isfinite(x).all():
        raise ConfigError("features: contains NaN or infinity; expected finite values.")
    return x.astype(np.float32, copy=False), ids, grp


def fit_kmeans(x: np.ndarray, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Centres ``(k, D)`` and labels ``(M,)`` of a seeded k-means of ``x`` (float32)."""
    from sklearn.cluster import KMeans, MiniBatchKMeans
    from sklearn.exceptions import ConvergenceWarning
    from threadpoolctl import threadpool_limits

    if len(x) * k <= EXACT_KMEANS_WORK:
        model = KMeans(n_clusters=k, n_init=1, max_iter=100, tol=1e-4, random_state=seed)
    else:
        model = MiniBatchKMeans(
            n_clusters=k, n_init=3, batch_size=2048, max_iter=100, random_state=seed
        )
    # One BLAS thread: k-means++ makes many small matrix products, and BLAS threads that
    # spin while another process holds the other core made it 10-30x slower (12,000 x 900
    # rows: 0.25 s with one thread, 2-8 s with two on a busy 2-core machine).
    with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="blas"):
        warnings.simplefilter("ignore", ConvergenceWarning)  # few distinct rows: refilled
        model.fit(x)
        labels = np.asarray(model.predict(x), np.int64)
    centres = np.asarray(model.cluster_centers_, np.float32)
    return centres, labels


def _sq_dist(x: np.ndarray, centre: np.ndarray) -> np.ndarray:
    d = x - centre[None, :]
    return np.einsum("ij,ij->i", d, d)


def cluster_picks(
    features: np.ndarray,
    n: int,
    seed: int = 0,
    frame_ids: np.ndarray | None = None,
    groups: np.ndarray | None = None,
    min_gap: int = 0,
) -> DiversePicks:
    """Pick ``min(n, M)`` diverse rows of ``features`` and say why (see the module doc).

    Args:
        features: ``(M, D)`` feature rows (e.g. flattened 30-px grey images).
        n: picks wanted.
        seed: k-means seed.
        frame_ids: ``(M,)`` frame index of each row, for ``min_gap`` (default ``0..M-1``).
        groups: ``(M,)`` group of each row (the video index); the gap applies only within
            a group (default: one group).
        min_gap: two picks of the same group are at least this many frames apart
            (``|a - b| >= min_gap``); 0 or 1 only forbids picking a frame twice.

    Raises:
        ConfigError: features not 2-D or not finite, shapes that disagree, negative n.
    """
    x, ids, grp = _check_inputs(features, n, frame_ids, groups, min_gap)
    k = min(int(n), len(x))
    empty = DiversePicks(
        np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.int64),
        np.zeros(0, bool), k,
    )
    if k == 0:
        return empty
    centres, labels = fit_kmeans(x, k, seed)
    own = np.sqrt(_sq_dist_rows(x, centres, labels))
    sizes = np.bincount(labels, minlength=k)
    guard = _GapGuard(ids, grp, min_gap)
    nearest = np.full(k, np.inf)
    np.minimum.at(nearest, labels, own)
    order = sorted(range(k), key=lambda c: (nearest[c], c))
    members = {c: np.flatnonzero(labels == c) for c in range(k)}
    picks: list[tuple[int, int, float, bool]] = []
    unserved: list[int] = []
    for c in order:
        rows = members[c][np.argsort(own[members[c]], kind="stable")]
        row = next((int(r) for r in rows if guard.ok(int(r))), None)
        if row is None:
            unserved.append(c)
            continue
        guard.take(row)
        picks.append((row, c, float(own[row]), False))
    for c in unserved:  # refill: the nearest acceptable row of any cluster
        dist = np.sqrt(_sq_dist(x, centres[c]))
        row = next((int(r) for r in np.argsort(dist, kind="stable") if guard.ok(int(r))), None)
        if row is None:
            break  # the gap leaves no acceptable row: fewer than k picks
        guard.take(row)
        picks.append((row, c, float(dist[row]), True))
    if not picks:
        return empty
    rows_, clusters, dists, refilled = zip(*picks, strict=True)
    return DiversePicks(
        indices=np.asarray(rows_, np.int64),
        cluster=np.asarray(clusters, np.int64),
        distance=np.asarray(dists, np.float64),
        cluster_size=sizes[np.asarray(clusters)].astype(np.int64),
        refilled=np.asarray(refilled, bool),
        n_clusters=k,
    )


def _sq_dist_rows(x: np.ndarray, centres: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Squared distance of each row to its own centre, in chunks (bounded memory)."""
    out = np.empty(len(x), np.float64)
    for s in range(0, len(x), 4096):
        d = x[s : s + 4096] - centres[labels[s : s + 4096]]
        out[s : s + 4096] = np.einsum("ij,ij->i", d, d)
    return np.maximum(out, 0.0)


def pick_diverse(
    features: np.ndarray,
    n: int,
    seed: int = 0,
    frame_ids: np.ndarray | None = None,
    groups: np.ndarray | None = None,
    min_gap: int = 0,
) -> np.ndarray:
    """Indices (into ``features``) of ``min(n, M)`` diverse rows: k-means with that many
    clusters, the row nearest each centre, empty or conflicting clusters refilled with
    the next-nearest row, ``min_gap`` frames kept between picks of the same group.

    Fewer picks come back only when ``min_gap`` leaves no acceptable row. The indices are
    in pick order (tightest cluster first); sort them for frame order. See
    :func:`cluster_picks` for the arguments and for the reason behind each pick.

    Example:
        >>> x = np.repeat(np.eye(3, dtype=np.float32), 10, axis=0)  # 3 planted clusters
        >>> sorted(int(i) // 10 for i in pick_diverse(x, 3, seed=0))
        [0, 1, 2]
    """
    return cluster_picks(features, n, seed, frame_ids, groups, min_gap).indices


def _greedy(order: np.ndarray, k: int, guard: _GapGuard) -> np.ndarray:
    picks: list[int] = []
    for row in order.tolist():
        if len(picks) >= k:
            break
        if guard.ok(row):
            guard.take(row)
            picks.append(row)
    return np.asarray(picks, np.int64)


def _spaced(rows: np.ndarray, ids: np.ndarray, grp: np.ndarray, min_gap: int) -> bool:
    """Whether ``rows`` keep ``min_gap`` frames between any two of the same group."""
    order = np.lexsort((ids[rows], grp[rows]))
    f, g = ids[rows][order], grp[rows][order]
    return not np.any((g[1:] == g[:-1]) & (np.diff(f) < max(min_gap, 1)))


def pick_uniform(
    n: int,
    frame_ids: np.ndarray,
    groups: np.ndarray | None = None,
    min_gap: int = 0,
) -> np.ndarray:
    """Indices of ``min(n, M)`` rows evenly spaced over the rows' order (the centre of
    each of ``n`` equal stretches). Rows are taken in the order given (sort them by video
    and frame). When ``min_gap`` rejects that spacing, the largest evenly spaced set that
    keeps the gap is taken and completed with the first rows that still keep it.
    """
    ids = np.asarray(frame_ids, np.int64)
    grp = np.zeros(len(ids), np.int64) if groups is None else np.asarray(groups, np.int64)
    m, k = len(ids), min(int(n), len(ids))
    if k <= 0:
        return np.zeros(0, np.int64)
    for kk in range(k, 0, -1):
        ideal = ((np.arange(kk) + 0.5) * m / kk).astype(np.int64)
        if _spaced(ideal, ids, grp, min_gap):
            break
    if kk == k:
        return ideal
    guard = _GapGuard(ids, grp, min_gap)
    for row in ideal.tolist():
        guard.take(row)
    rest = _greedy(np.arange(m, dtype=np.int64), k - kk, guard)
    return np.sort(np.concatenate([ideal, rest]))


def pick_random(
    n: int,
    frame_ids: np.ndarray,
    seed: int = 0,
    groups: np.ndarray | None = None,
    min_gap: int = 0,
) -> np.ndarray:
    """Indices of ``min(n, M)`` rows drawn at random without replacement (seeded), each
    keeping ``min_gap`` frames from earlier draws of the same group."""
    ids = np.asarray(frame_ids, np.int64)
    grp = np.zeros(len(ids), np.int64) if groups is None else np.asarray(groups, np.int64)
    k = min(int(n), len(ids))
    if k <= 0:
        return np.zeros(0, np.int64)
    order = np.random.default_rng(seed).permutation(len(ids))
    return _greedy(order, k, _GapGuard(ids, grp, min_gap))


def allocate(n: int, weights: np.ndarray, capacity: np.ndarray | None = None) -> np.ndarray:
    """Split ``n`` picks over items in proportion to ``weights`` (largest remainder, ties to
    the first item), never giving an item more than its ``capacity``; what a full item
    cannot take goes to the others in proportion. Returns ``int64`` counts summing to
    ``min(n, capacity.sum())``.

    Example:
        >>> allocate(10, np.array([1500, 500])).tolist()
        [8, 2]
        >>> allocate(10, np.array([1, 1]), capacity=np.array([3, 100])).tolist()
        [3, 7]
    """
    w = np.asarray(weights, np.float64)
    cap = np.full(len(w), np.iinfo(np.int64).max) if capacity is None else np.asarray(capacity)
    cap = cap.astype(np.int64)
    out = np.zeros(len(w), np.int64)
    left = min(int(n), sum(int(c) for c in cap))  # Python ints: no overflow without a cap
    while left > 0:
        open_ = (out < cap) & (w > 0)
        if not open_.any():
            open_ = out < cap
            w = np.where(open_, 1.0, 0.0)
        share = np.where(open_, w, 0.0)
        exact = left * share / share.sum()
        add = np.floor(exact).astype(np.int64)
        remainder = left - int(add.sum())
        order = np.lexsort((np.arange(len(w)), -(exact - add)))
        add[order[:remainder]] += 1
        add = np.minimum(add, cap - out)
        out += add
        left -= int(add.sum())
    return out
