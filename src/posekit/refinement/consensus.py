"""Consensus of several labelers: robust aggregation and agreement statistics (numpy only).

Every function takes the annotations of *targets* (one animal in one frame) stacked as a
``(T, L, K, 2)`` array: target ``t``, labeler ``l``, node ``k``, ``(x, y)`` in pixels, NaN
where the labeler placed no point. Nothing here reads files or prints.

**Aggregation** (:func:`aggregate`, the refinement guide's algorithm), per target and node:

1. the *median position* ``m``: the median of the labelers' x and, separately, of their y;
2. each annotation's distance ``d_l = |p_l - m|`` (Euclidean, pixels);
3. ``MAD = median_l d_l``, the median absolute deviation of the distances (not scaled);
4. an annotation is an *outlier* and removed when ``d_l > mad_factor * max(MAD, min_mad_px)``;
5. the *consensus point* is the median x and median y of the annotations left.

``MAD = 0`` happens when half or more of the labelers clicked exactly the same pixel; the
bare rule would then remove every other annotation, however close. ``min_mad_px`` (1 px by
default, the precision of a click) is the smallest MAD used, so annotations within
``3 px`` of such a point are kept. For Gaussian clicks with a standard deviation ``s`` per
axis the distances to the centre have median ``1.18 s``; ``3 x MAD`` is then ``3.5 s``,
which keeps about 99.8 % of honest annotations. With two labelers both are always kept
(each lies at the MAD from their midpoint): outliers need three or more.

**Agreement** (ILA, inter-labeler agreement): the mean distance between two labelers'
annotations of the same node of the same animal, over every pair of labelers, computed
after outlier removal for the consensus (:func:`pair_sums`) and on the annotations as
placed for the labeler-versus-labeler matrix (:func:`pairwise_matrix`).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from posekit.config.rules import RuleTable, check_settings, number
from posekit.evaluation.distances import DEFAULT_PCK_THRESHOLDS_PX
from posekit.evaluation.oks import DEFAULT_OKS_SIGMA, instance_areas

MAD_FACTOR = 3.0
"""Annotations farther than this many MADs from the median are removed (the guide's 3)."""
MIN_MAD_PX = 1.0
"""Smallest MAD used (pixels), so that ``MAD = 0`` does not remove every other click."""
OUTLIER_SD = 2.0
"""A labeler whose mean distance to the others is more than this many standard deviations
above the other labelers' is an agreement outlier (the guide's calibration protocol)."""
STABLE_PX = 0.5
"""The guide's stop rule: enough labelers once one more moves the consensus less than this."""
ILA_BANDS: tuple[tuple[float, str], ...] = ((2.3, "excellent"), (5.1, "good"), (8.5, "fair"))
"""Upper limits (px) of the ILA quality bands: the mean inter-labeler distances the guide
reports for a protocol with visual exemplars (2.3), with text descriptions (5.1) and with
node names only (8.5); above the last: ``"poor"``."""
ICC_BANDS: tuple[tuple[float, str], ...] = ((0.95, "excellent"), (0.85, "good"))
"""Lower limits (exclusive) of the ICC bands, from the guide's metric table (inter-rater
reliability > 0.85 good, > 0.95 excellent); below: ``"below target"``."""


RULES: RuleTable = {
    "": (
        number("mad_factor", 0, low_open=True, hint="The guide uses 3."),
        number("min_mad_px", 0, hint="1 px (a click's precision) is the default."),
        number("outlier_sd", 0, low_open=True, hint="The guide uses 2 standard deviations."),
        number("stable_px", 0, low_open=True, hint="The guide uses 0.5 px."),
        number("pck_thresholds_px", 0, low_open=True),
        number("oks_sigma", 0, low_open=True, hint=f"sleap-nn's default is {DEFAULT_OKS_SIGMA}."),
    )
}


@dataclass(frozen=True)
class ConsensusSettings:
    """How annotations are aggregated and judged (defaults from the refinement guide).

    Attributes:
        mad_factor: remove annotations farther than this many MADs from the median.
        min_mad_px: smallest MAD used (pixels); see the module notes on ``MAD = 0``.
        outlier_sd: flag a labeler whose mean distance to the others is more than this many
            standard deviations above the other labelers' mean.
        stable_px: the stop rule's threshold: one more labeler moves the consensus less.
        pck_thresholds_px: thresholds of the human-versus-consensus PCK.
        oks_sigma: per-node sigma of the human-versus-consensus OKS (as ``posekit eval``).
    """

    mad_factor: float = MAD_FACTOR
    min_mad_px: float = MIN_MAD_PX
    outlier_sd: float = OUTLIER_SD
    stable_px: float = STABLE_PX
    pck_thresholds_px: tuple[float, ...] = DEFAULT_PCK_THRESHOLDS_PX
    oks_sigma: float = DEFAULT_OKS_SIGMA

    def __post_init__(self) -> None:
        check_settings(self, "", RULES)

    def to_dict(self) -> dict:
        """JSON-friendly copy of every setting."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class Aggregate:
    """The result of :func:`aggregate` for ``T`` targets, ``L`` labelers, ``K`` nodes.

    Attributes:
        consensus: ``(T, K, 2)`` consensus points (NaN where no labeler placed the node).
        median: ``(T, K, 2)`` median position of all annotations.
        distance: ``(T, L, K)`` each annotation's distance to the median (NaN: none).
        mad: ``(T, K)`` median of those distances (before the ``min_mad_px`` floor).
        threshold: ``(T, K)`` distance beyond which an annotation was removed.
        present: ``(T, L, K)`` the labeler placed the point.
        kept: ``(T, L, K)`` the point was placed and not removed as an outlier.
    """

    consensus: np.ndarray
    median: np.ndarray
    distance: np.ndarray
    mad: np.ndarray
    threshold: np.ndarray
    present: np.ndarray
    kept: np.ndarray

    @property
    def removed(self) -> np.ndarray:
        """``(T, L, K)`` annotations removed as outliers."""
        return self.present & ~self.kept


def nanmedian(values: np.ndarray, axis: int) -> np.ndarray:
    """``np.nanmedian`` without the all-NaN warning (such slices give NaN by design)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmedian(values, axis=axis)


def _check_points(points: np.ndarray) -> np.ndarray:
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 4 or points.shape[-1] != 2:
        raise ValueError(f"points must have shape (T, L, K, 2); got {points.shape}")
    return points


def present_mask(points: np.ndarray) -> np.ndarray:
    """``(T, L, K)``: the labeler placed the point (both coordinates finite)."""
    return np.isfinite(_check_points(points)).all(axis=-1)


def aggregate(
    points: np.ndarray, mad_factor: float = MAD_FACTOR, min_mad_px: float = MIN_MAD_PX
) -> Aggregate:
    """Median, outlier removal by ``mad_factor x MAD`` and consensus (module notes).

    Args:
        points: ``(T, L, K, 2)`` annotations, NaN where a labeler placed no point.
        mad_factor: outliers lie farther than ``mad_factor * max(MAD, min_mad_px)``.
        min_mad_px: the smallest MAD used.

    Returns:
        The :class:`Aggregate`.
    """
    points = _check_points(points)
    present = present_mask(points)
    median = nanmedian(points, axis=1)  # (T, K, 2)
    distance = np.hypot(*np.moveaxis(points - median[:, None], -1, 0))  # (T, L, K)
    mad = nanmedian(distance, axis=1)
    threshold = mad_factor * np.maximum(np.nan_to_num(mad, nan=0.0), min_mad_px)
    kept = present & (np.nan_to_num(distance, nan=np.inf) <= threshold[:, None, :])
    consensus = nanmedian(np.where(kept[..., None], points, np.nan), axis=1)
    return Aggregate(consensus, median, distance, mad, threshold, present, kept)


def pair_distances(points: np.ndarray) -> np.ndarray:
    """``(T, L, L, K)`` distance between labelers ``a`` and ``b`` (NaN where either is
    missing; the diagonal is NaN)."""
    points = _check_points(points)
    diff = points[:, :, None] - points[:, None, :]  # (T, L, L, K, 2)
    dist = np.hypot(diff[..., 0], diff[..., 1])
    n = points.shape[1]
    dist[:, np.arange(n), np.arange(n)] = np.nan
    return dist


def pair_sums(points: np.ndarray, kept: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sum and number of the distances between every pair of kept annotations.

    Args:
        points: ``(T, L, K, 2)`` annotations.
        kept: ``(T, L, K)`` annotations that take part (e.g. ``Aggregate.kept``).

    Returns:
        ``(sums, counts)``, both ``(T, K)``: over the unordered pairs ``a < b`` of
        labelers who both have a kept point. The ILA of any group of targets and nodes is
        the sum of their ``sums`` over the sum of their ``counts`` (pairs pooled).
    """
    points = np.where(np.asarray(kept, bool)[..., None], _check_points(points), np.nan)
    dist = pair_distances(points)
    upper = np.triu(np.ones(dist.shape[1:3], bool), k=1)[None, :, :, None]
    valid = np.isfinite(dist) & upper
    return np.where(valid, dist, 0.0).sum(axis=(1, 2)), valid.sum(axis=(1, 2))


def ratio(sums: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``sums / counts`` elementwise, NaN where the count is 0."""
    sums = np.asarray(sums, dtype=np.float64)
    counts = np.asarray(counts, dtype=np.float64)
    out = np.full(np.broadcast(sums, counts).shape, np.nan)
    np.divide(sums, counts, out=out, where=counts > 0)
    return out


def pairwise_matrix(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Labeler-by-labeler mean distance per node, on the annotations as placed.

    Returns:
        ``(sums, counts)`` of shape ``(L, L, K)``: the distances between labelers ``a`` and
        ``b`` summed over the targets both annotated, and how many there were. Their
        :func:`ratio` is the guide's pairwise ILA matrix (mean pixel distance) per node.
    """
    dist = pair_distances(points)
    valid = np.isfinite(dist)
    return np.where(valid, dist, 0.0).sum(axis=0), valid.sum(axis=0)


@dataclass(frozen=True)
class OutlierTest:
    """Each labeler's mean distance to the others against the other labelers' values.

    Attributes:
        value: ``(L,)`` the labeler's value (NaN: no data).
        others_mean, others_sd: ``(L,)`` mean and sample standard deviation of the other
            labelers' values.
        z: ``(L,)`` ``(value - others_mean) / others_sd`` (NaN: not computable; ``inf``
            when the others agree exactly and the value is larger).
        outlier: ``(L,)`` ``z > sd_factor``.
    """

    value: np.ndarray
    others_mean: np.ndarray
    others_sd: np.ndarray
    z: np.ndarray
    outlier: np.ndarray


def outlier_test(values: Sequence[float], sd_factor: float = OUTLIER_SD) -> OutlierTest:
    """Flag values more than ``sd_factor`` standard deviations above the others' mean.

    Each value is compared with the mean and standard deviation of the *other* values
    (leave one out). Counting the value in its own mean and SD would cap its z-score at
    ``(L - 1) / sqrt(L)``, below 2 for 5 labelers or fewer: the guide's 2 SD rule could
    then never flag anybody among the usual 3 to 5 labelers. Needs three values or more.
    """
    values = np.asarray(values, dtype=np.float64)
    n = values.shape[0]
    mean, sd, z = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    for i in range(n):
        others = np.delete(values, i)
        others = others[np.isfinite(others)]
        if others.size < 2 or not np.isfinite(values[i]):
            continue
        mean[i], sd[i] = others.mean(), others.std(ddof=1)
        excess = values[i] - mean[i]
        if sd[i] > 0:
            z[i] = excess / sd[i]
        else:
            z[i] = np.inf if excess > 1e-9 else 0.0
    outlier = np.nan_to_num(z, nan=-np.inf) > sd_factor
    return OutlierTest(values, mean, sd, z, outlier)


def leave_one_out(
    points: np.ndarray,
    mad_factor: float = MAD_FACTOR,
    min_mad_px: float = MIN_MAD_PX,
    exclude: Sequence[int] = (),
) -> np.ndarray:
    """``(L, T, K, 2)``: for each labeler, the consensus of the *other* labelers.

    A labeler compared with a consensus it helped to make looks better than it is; its own
    bias pulls that consensus towards it. Labelers in ``exclude`` (e.g. agreement outliers)
    are left out of everyone else's reference too, unless nobody else would be left.
    """
    points = _check_points(points)
    n = points.shape[1]
    out = np.full((n, *points.shape[:1], *points.shape[2:]), np.nan)
    for i in range(n):
        others = [j for j in range(n) if j != i and j not in exclude] or [
            j for j in range(n) if j != i]
        if others:
            out[i] = aggregate(points[:, others], mad_factor, min_mad_px).consensus
    return out


@dataclass(frozen=True)
class Offsets:
    """A labeler's points against reference points, per node.

    Attributes:
        mean_px: ``(K,)`` mean distance; ``n``: ``(K,)`` points compared.
        bias: ``(K, 2)`` signed bias ``(dx, dy)``: the median of the labeler's offsets
            from the reference, per axis (robust to an occasional slip).
        mean_px_all, bias_all: the same pooled over every node.
    """

    mean_px: np.ndarray
    n: np.ndarray
    bias: np.ndarray
    mean_px_all: float
    bias_all: np.ndarray


def offsets(points: np.ndarray, reference: np.ndarray) -> Offsets:
    """Distance and signed bias of ``points (T, K, 2)`` from ``reference (T, K, 2)``."""
    diff = np.asarray(points, np.float64) - np.asarray(reference, np.float64)
    valid = np.isfinite(diff).all(axis=-1)  # (T, K)
    dist = np.where(valid, np.hypot(diff[..., 0], diff[..., 1]), np.nan)
    n = valid.sum(axis=0)
    mean = ratio(np.nansum(dist, axis=0), n)
    bias = nanmedian(np.where(valid[..., None], diff, np.nan), axis=0)  # (K, 2)
    flat = diff[valid]
    mean_all = float(np.mean(np.hypot(flat[:, 0], flat[:, 1]))) if flat.size else np.nan
    bias_all = np.median(flat, axis=0) if flat.size else np.full(2, np.nan)
    return Offsets(mean, n, bias, mean_all, bias_all)


def stability(
    points: np.ndarray, mad_factor: float = MAD_FACTOR, min_mad_px: float = MIN_MAD_PX
) -> list[tuple[float, float, int]]:
    """How far the consensus moves as labelers are added in order (the guide's stop rule).

    Returns:
        For ``n = 2 .. L``: ``(mean shift, 95th percentile shift, points)``, the move of the
        consensus of the first ``n`` labelers from that of the first ``n - 1``, over the
        points labeler ``n`` placed where the first ``n - 1`` had a consensus (NaN, 0 when
        there is none).
    """
    points = _check_points(points)
    previous = aggregate(points[:, :1], mad_factor, min_mad_px).consensus
    steps = []
    for n in range(2, points.shape[1] + 1):
        current = aggregate(points[:, :n], mad_factor, min_mad_px).consensus
        where = present_mask(points[:, n - 1 : n])[:, 0] & np.isfinite(previous).all(axis=-1)
        shift = np.hypot(*np.moveaxis(current - previous, -1, 0))[where]
        if shift.size:
            steps.append((float(shift.mean()), float(np.percentile(shift, 95)), int(shift.size)))
        else:
            steps.append((float("nan"), float("nan"), 0))
        previous = current
    return steps


def icc_a1(table: np.ndarray) -> float | None:
    """ICC(2,1): two-way random effects, absolute agreement, one rater (Shrout & Fleiss).

    Args:
        table: ``(n, k)`` measurements, target ``i`` by rater ``j``, no missing value.

    Returns:
        ``(MSR - MSE) / (MSR + (k - 1) MSE + k (MSC - MSE) / n)`` with the mean squares of
        a two-way ANOVA without interaction (rows = targets, columns = raters); None with
        fewer than two targets or raters, or a zero denominator.
    """
    y = np.asarray(table, dtype=np.float64)
    if y.ndim != 2 or y.shape[0] < 2 or y.shape[1] < 2 or not np.isfinite(y).all():
        return None
    n, k = y.shape
    grand = y.mean()
    ss_rows = k * np.sum((y.mean(axis=1) - grand) ** 2)
    ss_cols = n * np.sum((y.mean(axis=0) - grand) ** 2)
    ss_err = np.sum((y - grand) ** 2) - ss_rows - ss_cols
    msr, msc = ss_rows / (n - 1), ss_cols / (k - 1)
    mse = ss_err / ((n - 1) * (k - 1))
    denominator = msr + (k - 1) * mse + k * (msc - mse) / n
    if not denominator > 0:
        return None
    return float((msr - mse) / denominator)


def icc_per_node(
    points: np.ndarray, consensus: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """ICC(2,1) of every node and axis over the targets every labeler annotated.

    Args:
        points: ``(T, L, K, 2)`` annotations.
        consensus: ``(T, K, 2)`` consensus poses, or None. Given, each target's
            coordinates are taken relative to the centre of its consensus pose (the mean of
            its consensus points): one number less per target, which leaves the labeler and
            error terms of the ANOVA unchanged and removes only where the animal stands in
            the image, so the ICC judges the labels against the spread of the poses rather
            than of the animals' positions. None: image coordinates, as a statistics
            package given the coordinates computes it.

    Returns:
        ``(icc (K, 2), n_targets (K,))``; NaN where not computable.
    """
    points = _check_points(points)
    centre = np.zeros((points.shape[0], 2))
    if consensus is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            centre = np.nanmean(np.asarray(consensus, np.float64), axis=1)  # (T, 2)
    relative = points - centre[:, None, None, :]
    complete = present_mask(points).all(axis=1) & np.isfinite(centre).all(axis=-1)[:, None]
    n_nodes = points.shape[2]
    icc = np.full((n_nodes, 2), np.nan)
    for k in range(n_nodes):
        rows = complete[:, k]
        for axis in range(2):
            value = icc_a1(relative[rows, :, k, axis])
            icc[k, axis] = np.nan if value is None else value
    return icc, complete.sum(axis=0)


def coco_sigmas(
    points: np.ndarray, kept: np.ndarray, consensus: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per-node OKS sigmas from the labelers' spread, as COCO derived its own.

    COCO sets ``sigma_k^2 = E[d^2 / s^2]``: ``d`` the distance of an annotation from the
    true point, ``s^2`` the object's area. Here the true point is estimated by the mean of
    the kept annotations of the target and the squared distances are pooled with
    ``n_t - 1`` degrees of freedom per target (the unbiased sample variance), each divided
    by the area of the consensus pose's bounding box (the area ``posekit eval`` uses).

    Returns:
        ``(sigmas (K,), dof (K,))``; NaN where no target has two kept annotations.
    """
    points = np.where(np.asarray(kept, bool)[..., None], _check_points(points), np.nan)
    n_kept = present_mask(points).sum(axis=1)  # (T, K)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        centre = np.nanmean(points, axis=1)  # (T, K, 2)
    d2 = np.nansum(np.sum((points - centre[:, None]) ** 2, axis=-1), axis=1)  # (T, K)
    area = instance_areas(np.asarray(consensus, np.float64))  # (T,)
    use = (n_kept >= 2) & (area > 0)[:, None]
    dof = np.where(use, n_kept - 1, 0).sum(axis=0)
    total = np.where(use, d2 / np.where(area > 0, area, 1.0)[:, None], 0.0).sum(axis=0)
    return np.sqrt(ratio(total, dof)), dof


def band(value: float | None, bands: Sequence[tuple[float, str]], rest: str,
         higher_is_better: bool = False) -> str | None:
    """Name of the band ``value`` falls in (None for a missing value).

    ``bands`` are ``(limit, name)`` in order: upper limits (inclusive) for distances,
    lower limits (exclusive) when ``higher_is_better``; ``rest`` beyond the last.
    """
    if value is None or not np.isfinite(value):
        return None
    for limit, name in bands:
        if (value > limit) if higher_is_better else (value <= limit):
            return name
    return rest
