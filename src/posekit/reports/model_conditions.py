"""Error by condition: does the error differ between the values of a metadata column?

The unit is the **frame**: a frame's error is the mean error of its matched points, and
each frame takes the values of its video's row in the metadata CSV. For every column with
at least two values of at least two frames:

1. the assumptions of a one-way ANOVA are checked: normal residuals (Shapiro-Wilk on the
   frame errors minus their group's mean, SciPy ``shapiro``) and equal variances
   (Levene's test centred on the median, i.e. Brown-Forsythe, SciPy ``levene``), both at
   ``alpha``;
2. if both hold, a one-way ANOVA (SciPy ``f_oneway``) compares the group means; if either
   fails, the Kruskal-Wallis H-test (SciPy ``kruskal``) compares the groups' ranks;
3. with several columns, the p-values are Holm-adjusted for the number of columns tested;
   a column "differs" when its adjusted p-value is below ``alpha``;
4. one sentence says it plainly, with the ratio of the worst group to the best (of the
   means after an ANOVA, of the medians after a Kruskal-Wallis test).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy import stats

from posekit.reports.model_common import Record, finite, fmt_p

ALPHA = 0.05
"""Significance level of the tests and of the assumption checks."""
SHAPIRO_MAX = 5000
"""Shapiro-Wilk runs on at most this many residuals (a fixed random sample beyond)."""
ANOVA = "one-way ANOVA"
KRUSKAL = "Kruskal-Wallis"


@dataclass(frozen=True)
class GroupStats(Record):
    """The frames of one value of a column.

    Attributes:
        value: the column's value.
        frames: test frames with an error.
        mean_px, median_px, sd_px: their frame errors (sd with ``ddof=1``).
        train_frames: frames of this value in the training split (None: unknown).
        missed_animals: labelled animals the model missed in this value's frames.
    """

    value: str
    frames: int
    mean_px: float | None
    median_px: float | None
    sd_px: float | None
    train_frames: int | None
    missed_animals: int


@dataclass(frozen=True)
class ConditionTest(Record):
    """The test of one metadata column.

    Attributes:
        column: the metadata column.
        groups: its values (groups of fewer than two frames are listed but not tested).
        test: ``"one-way ANOVA"``, ``"Kruskal-Wallis"`` or None (nothing to test).
        reason: why that test (or why none).
        statistic: F (ANOVA) or H (Kruskal-Wallis).
        p_value: the test's p-value; ``p_adjusted`` Holm-adjusted over the columns tested.
        shapiro_p, levene_p: the assumption checks' p-values.
        best, worst: values with the lowest / highest error (means or medians, as tested).
        ratio: worst over best.
        differs: ``p_adjusted < alpha``.
        sentence: the finding in words.
        explained_by: ``"column=value"`` of another differing column whose worst value
            holds every frame of this column's worst value (an animal nested in a
            treatment), or exactly the same frames (an earlier column; e.g. a dose that
            always goes with one treatment): that finding explains this one.
    """

    column: str
    groups: tuple[GroupStats, ...]
    test: str | None
    reason: str
    statistic: float | None
    p_value: float | None
    p_adjusted: float | None
    shapiro_p: float | None
    levene_p: float | None
    best: str | None
    worst: str | None
    ratio: float | None
    differs: bool
    sentence: str
    explained_by: str | None = None


@dataclass(frozen=True)
class ConditionSection(Record):
    """Error by condition over every usable metadata column."""

    alpha: float
    tests: tuple[ConditionTest, ...]
    note: str | None = None

    def column(self, name: str) -> ConditionTest:
        """The test of column ``name``."""
        for test in self.tests:
            if test.column == name:
                return test
        raise KeyError(f"no column {name!r}; tested: {[t.column for t in self.tests]}")


def _group_stats(value: str, errors: np.ndarray, train: int | None, missed: int) -> GroupStats:
    n = errors.size
    return GroupStats(
        value=value, frames=int(n),
        mean_px=finite(errors.mean()) if n else None,
        median_px=finite(np.median(errors)) if n else None,
        sd_px=finite(errors.std(ddof=1)) if n > 1 else None,
        train_frames=train, missed_animals=int(missed),
    )


def assumption_checks(samples: Sequence[np.ndarray], alpha: float = ALPHA
                      ) -> tuple[bool, str, float | None, float | None]:
    """``(anova_ok, reason, shapiro_p, levene_p)`` for groups ``samples``."""
    residuals = np.concatenate([s - s.mean() for s in samples])
    if residuals.size > SHAPIRO_MAX:
        residuals = np.random.default_rng(0).choice(residuals, SHAPIRO_MAX, replace=False)
    shapiro_p = levene_p = None
    if residuals.size >= 3 and np.ptp(residuals) > 0:
        shapiro_p = finite(stats.shapiro(residuals).pvalue)
    if all(s.size >= 2 for s in samples):
        levene_p = finite(stats.levene(*samples, center="median").pvalue)
    normal = shapiro_p is not None and shapiro_p >= alpha
    equal = levene_p is not None and levene_p >= alpha
    if normal and equal:
        return True, (f"residuals look normal (Shapiro-Wilk p = {fmt_p(shapiro_p)}) and the "
                      f"variances equal (Levene p = {fmt_p(levene_p)})"), shapiro_p, levene_p
    problems = []
    if not normal:
        problems.append("the residuals are not normal (Shapiro-Wilk p = "
                        f"{fmt_p(shapiro_p)})" if shapiro_p is not None
                        else "normality cannot be checked")
    if not equal:
        problems.append(f"the variances differ (Levene p = {fmt_p(levene_p)})"
                        if levene_p is not None else "equal variances cannot be checked")
    return False, " and ".join(problems), shapiro_p, levene_p


def _sentence(column: str, test: str | None, p: float | None, p_adj: float | None,
              best: str | None, worst: str | None, ratio: float | None, alpha: float) -> str:
    if test is None or p is None:
        return f"error by {column}: not tested"
    what = "means" if test == ANOVA else "medians"
    best, worst = _value_name(column, best), _value_name(column, worst)
    adjusted = f", Holm-adjusted p = {fmt_p(p_adj)}" if p_adj is not None and p_adj != p else ""
    compared = (f"{worst} frames are {ratio:.1f}× worse than {best} ({what})"
                if ratio is not None else "the groups' errors cannot be compared")
    if p_adj is not None and p_adj < alpha:
        return f"error differs by {column} ({test}, p = {fmt_p(p)}{adjusted}): {compared}"
    return (f"error does not differ detectably by {column} ({test}, p = {fmt_p(p)}"
            f"{adjusted}); the worst, {worst}, is {ratio:.1f}× the best, {best} ({what})"
            if ratio is not None else
            f"error does not differ detectably by {column} ({test}, p = {fmt_p(p)})")


def _value_name(column: str, value: str | None) -> str | None:
    """A value as a sentence names it: ``drug-B``, but ``dose=10`` for a bare number."""
    if value is None:
        return None
    try:
        float(value)
    except ValueError:
        return value
    return f"{column}={value}"


def _not_tested(column: str, groups: tuple[GroupStats, ...], reason: str) -> ConditionTest:
    return ConditionTest(column, groups, None, reason, None, None, None, None, None, None,
                         None, None, False, f"error by {column}: not tested ({reason})")


def condition_test(column: str, values: Sequence[str | None], frame_errors: np.ndarray,
                   train_counts: Mapping[str, int] | None = None,
                   missed: np.ndarray | None = None, alpha: float = ALPHA) -> ConditionTest:
    """Test whether the frame error differs between the values of one column.

    Args:
        column: the column's name.
        values: per frame, the column's value (None: unknown, the frame is left out).
        frame_errors: ``(F,)`` per-frame errors (NaN: no error, left out).
        train_counts: ``{value: training frames}`` when known.
        missed: ``(F,)`` missed labelled animals per frame.
        alpha: significance level.
    """
    errors = np.asarray(frame_errors, dtype=np.float64)
    missed = np.zeros(errors.shape, np.int64) if missed is None else np.asarray(missed)
    names = sorted({v for v in values if v is not None})
    vals = np.array([v if v is not None else "" for v in values], dtype=object)
    samples = {v: errors[(vals == v) & np.isfinite(errors)] for v in names}
    groups = tuple(
        _group_stats(v, samples[v], None if train_counts is None else int(train_counts.get(v, 0)),
                     int(missed[vals == v].sum()))
        for v in names
    )
    tested = [v for v in names if samples[v].size >= 2]
    if len(tested) < 2:
        return _not_tested(column, groups, "fewer than two values with two or more frames")
    data = [samples[v] for v in tested]
    if np.ptp(np.concatenate(data)) == 0:
        return _not_tested(column, groups, "every frame has the same error")
    anova_ok, reason, shapiro_p, levene_p = assumption_checks(data, alpha)
    if anova_ok:
        result = stats.f_oneway(*data)
        test, centre = ANOVA, {v: float(samples[v].mean()) for v in tested}
        reason = f"{reason}: ANOVA's assumptions hold, so the one-way ANOVA is used"
    else:
        result = stats.kruskal(*data)
        test, centre = KRUSKAL, {v: float(np.median(samples[v])) for v in tested}
        reason = (f"{reason}: ANOVA's assumptions fail, so the rank-based Kruskal-Wallis "
                  "test is used")
    best = min(tested, key=lambda v: centre[v])
    worst = max(tested, key=lambda v: centre[v])
    ratio = centre[worst] / centre[best] if centre[best] > 0 else None
    p = finite(result.pvalue)
    return ConditionTest(
        column=column, groups=groups, test=test, reason=reason,
        statistic=finite(result.statistic), p_value=p, p_adjusted=p,
        shapiro_p=shapiro_p, levene_p=levene_p, best=best, worst=worst, ratio=finite(ratio),
        differs=p is not None and p < alpha,
        sentence=_sentence(column, test, p, p, best, worst, finite(ratio), alpha),
    )


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (same order as given)."""
    m = len(p_values)
    order = np.argsort(p_values, kind="stable")
    adjusted = np.empty(m)
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted.tolist()


def condition_section(rows: Sequence[Mapping[str, str] | None], frame_errors: np.ndarray,
                      columns: Sequence[str], train_counts: Mapping[str, Mapping[str, int]]
                      | None = None, missed: np.ndarray | None = None,
                      alpha: float = ALPHA) -> ConditionSection:
    """Test every column of ``columns`` (rows: per frame, its metadata row or None) and
    Holm-adjust the p-values over the columns tested."""
    tests = [
        condition_test(c, [None if r is None else r.get(c) for r in rows], frame_errors,
                       None if train_counts is None else train_counts.get(c, {}), missed,
                       alpha)
        for c in columns
    ]
    done = [i for i, t in enumerate(tests) if t.p_value is not None]
    if len(done) > 1:
        adjusted = holm([tests[i].p_value for i in done])  # type: ignore[misc]
        for i, p_adj in zip(done, adjusted):
            t = tests[i]
            tests[i] = replace(t, p_adjusted=p_adj, differs=p_adj < alpha, sentence=_sentence(
                t.column, t.test, t.p_value, p_adj, t.best, t.worst, t.ratio, alpha))
    tests = _nesting(tests, rows)
    note = None if columns else "No metadata: give --metadata META.csv to test conditions."
    return ConditionSection(alpha, tuple(tests), note)


def _nesting(tests: list[ConditionTest], rows: Sequence[Mapping[str, str] | None]
             ) -> list[ConditionTest]:
    """Mark findings explained by a wider one (see :attr:`ConditionTest.explained_by`)."""
    def frames(test: ConditionTest) -> set[int]:
        return {i for i, r in enumerate(rows) if r is not None and r.get(test.column) == test.worst}

    differing = [t for t in tests if t.differs and t.worst is not None]
    out = []
    for i, t in enumerate(tests):
        wider = None
        if t in differing:
            mine = frames(t)
            for o in differing:
                theirs = frames(o)
                earlier = tests.index(o) < i
                if o is not t and (mine < theirs or (mine == theirs and earlier)):
                    wider = f"{o.column}={o.worst}"
                    break
        out.append(replace(t, explained_by=wider) if wider else t)
    return out
