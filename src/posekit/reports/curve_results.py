"""Typed results of the loss-curve diagnosis and their JSON form.

:class:`CurveDiagnosis` is what :func:`posekit.reports.curve_diagnosis.diagnose_curves`
returns; ``to_dict()`` is its part of the report JSON (``results.curves``) and
``from_dict()`` reads it back equal. Evidence values are stored in the unit they are shown
in (``unit``: ``"%"``, ``"%/epoch"``, ``"x"``, ``"epoch"``, ``"epochs"`` or ``""``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

PATTERNS = ("unstable", "overfitting", "underfitting", "plateau", "volatile", "healthy")
"""Every diagnosis, in the order they are checked (the first found is the diagnosis)."""

PATTERN_TITLES = {
    "unstable": "Unstable training",
    "overfitting": "Overfitting",
    "underfitting": "Underfitting",
    "plateau": "Plateau",
    "volatile": "Volatile validation",
    "healthy": "Healthy",
}
"""A diagnosis as people read it."""


@dataclass(frozen=True)
class CurveThresholds:
    """Every threshold of the diagnosis (docs/reports.md explains each).

    Attributes:
        min_epochs: fewest epochs with both losses that can be diagnosed.
        smooth_window: epochs in the running median of the smoothed curves.
        confidence: confidence of the trend intervals.
        min_rise: smallest rise of the validation (or training) loss after its lowest
            point that counts (0.10: 10 %), for the lower end of the rise's interval.
        min_rise_epochs: fewest epochs in the rise's trend (those after the lowest
            point's smoothing window).
        gap_ratio: validation / training loss at the end that counts as a gap.
        gap_widening: how much the gap must have grown since the start (x).
        underfit_drop: both losses must fall by at least this factor, else underfitting.
        flat_rate: relative change per epoch within which a trend is flat (0.005: 0.5 %).
        plateau_epochs: fewest flat epochs at one learning rate that make a plateau.
        spike_min: smallest spike, above both neighbours (0.25: 25 %).
        spike_sigmas: a spike must also exceed this many noise standard deviations.
        min_spikes: fewest spikes that make a curve volatile (and at least
            ``spike_share`` of the epochs).
        spike_share: share of the epochs that must spike, with ``min_spikes``.
        trailing_share: share of the epochs in the trailing window (at least 5 epochs).
    """

    min_epochs: int = 3
    smooth_window: int = 5
    confidence: float = 0.95
    min_rise: float = 0.10
    min_rise_epochs: int = 5
    gap_ratio: float = 2.0
    gap_widening: float = 1.5
    underfit_drop: float = 2.0
    flat_rate: float = 0.005
    plateau_epochs: int = 10
    spike_min: float = 0.25
    spike_sigmas: float = 4.0
    min_spikes: int = 2
    spike_share: float = 0.05
    trailing_share: float = 1 / 3

    def to_dict(self) -> dict[str, Any]:
        """The thresholds as JSON-ready data."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CurveThresholds:
        """Read :meth:`to_dict` output back (unknown keys are ignored)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass(frozen=True)
class Evidence:
    """One measured fact behind a check.

    Attributes:
        key: machine name (``"val_rise"``).
        label: what it is, in words.
        value: the number (in ``unit``), a text, or ``None`` when it cannot be measured.
        unit: ``"%"``, ``"%/epoch"``, ``"x"``, ``"epoch"``, ``"epochs"`` or ``""``.
        rule: the condition the check needs, in words (``">= 10 %"``); empty for context.
        met: whether the condition holds (``None``: context, no condition).
        low: lower end of the value's 95 % interval (trends), same unit.
        high: upper end of that interval.
    """

    key: str
    label: str
    value: float | int | str | None
    unit: str = ""
    rule: str = ""
    met: bool | None = None
    low: float | None = None
    high: float | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Evidence:
        """Read :func:`dataclasses.asdict` output back."""
        return cls(**data)


@dataclass(frozen=True)
class PatternCheck:
    """Whether one pattern was found, why, and where.

    Attributes:
        pattern: one of :data:`PATTERNS` (not ``"healthy"``).
        detected: the pattern was found.
        summary: one plain sentence saying what was measured against what.
        evidence: the measurements.
        start_epoch: where the pattern begins (overfitting: the validation loss's lowest
            point; plateau: the first flat epoch), else ``None``.
        epochs: epochs singled out (spikes).
    """

    pattern: str
    detected: bool
    summary: str
    evidence: tuple[Evidence, ...] = ()
    start_epoch: int | None = None
    epochs: tuple[int, ...] = ()

    def value(self, key: str) -> float | int | str | None:
        """The value of the evidence ``key``."""
        for item in self.evidence:
            if item.key == key:
                return item.value
        raise KeyError(f"{self.pattern} check has no evidence {key!r}")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PatternCheck:
        """Read :func:`dataclasses.asdict` output back."""
        return cls(data["pattern"], data["detected"], data["summary"],
                   tuple(Evidence.from_dict(e) for e in data["evidence"]),
                   data["start_epoch"], tuple(data["epochs"]))


@dataclass(frozen=True)
class CurveSeries:
    """The curves that were diagnosed (epochs with both losses), for plots and the JSON.

    Attributes:
        epochs: epoch numbers.
        train_loss: training loss per epoch.
        val_loss: validation loss per epoch.
        lr: learning rate per epoch (``None`` where not logged).
        train_smooth: smoothed training loss (running median).
        val_smooth: smoothed validation loss (running median).
    """

    epochs: tuple[int, ...]
    train_loss: tuple[float, ...]
    val_loss: tuple[float, ...]
    lr: tuple[float | None, ...]
    train_smooth: tuple[float, ...]
    val_smooth: tuple[float, ...]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CurveSeries:
        """Read :func:`dataclasses.asdict` output back."""
        return cls(**{f.name: tuple(data[f.name]) for f in fields(cls)})


@dataclass(frozen=True)
class CurveDiagnosis:
    """What the training log says about the run, with the evidence and what to do.

    Attributes:
        pattern: the diagnosis, one of :data:`PATTERNS`.
        headline: one plain sentence: the diagnosis and its main evidence.
        actions: what to do next, most useful first (the guide's advice for the pattern).
        notes: other findings worth knowing (also-found patterns, short logs, ...).
        checks: one :class:`PatternCheck` per pattern except ``healthy``, in
            :data:`PATTERNS` order.
        n_epochs: epochs diagnosed (with both losses).
        skipped_epochs: epochs of the log left out (a loss missing).
        best_epoch: epoch of the lowest validation loss (the one ``best.ckpt`` keeps).
        best_val_loss: that loss.
        final_train_loss: training loss of the last epoch.
        final_val_loss: validation loss of the last epoch.
        train_drop: the first epoch's training loss / the loss at the end (3.0: fell to
            a third); the end is the trailing window's trend at the last epoch.
        val_drop: the same for the validation loss.
        gap_ratio: validation / training loss at the end (the trends' ends).
        train_noise: typical epoch-to-epoch change of the training loss from noise
            (relative: 0.03 is 3 %).
        val_noise: the same for the validation loss.
        series: the curves.
        thresholds: the thresholds used.
        source: the training log read (empty when the epochs came from elsewhere).
    """

    pattern: str
    headline: str
    actions: tuple[str, ...]
    notes: tuple[str, ...]
    checks: tuple[PatternCheck, ...]
    n_epochs: int
    skipped_epochs: tuple[int, ...]
    best_epoch: int
    best_val_loss: float
    final_train_loss: float
    final_val_loss: float
    train_drop: float
    val_drop: float
    gap_ratio: float
    train_noise: float
    val_noise: float
    series: CurveSeries
    thresholds: CurveThresholds
    source: str = ""

    @property
    def title(self) -> str:
        """The diagnosis as people read it (``"Volatile validation"``)."""
        return PATTERN_TITLES[self.pattern]

    def check(self, pattern: str) -> PatternCheck:
        """The check of ``pattern``."""
        for item in self.checks:
            if item.pattern == pattern:
                return item
        raise KeyError(f"no check for {pattern!r}; expected one of {PATTERNS[:-1]}")

    @property
    def detected(self) -> tuple[str, ...]:
        """Every pattern found, in check order (empty: healthy)."""
        return tuple(c.pattern for c in self.checks if c.detected)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data (``results.curves`` of the report JSON)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CurveDiagnosis:
        """Read :meth:`to_dict` output (or its JSON) back."""
        simple = {f.name: data[f.name] for f in fields(cls)
                  if f.name not in ("checks", "series", "thresholds")}
        for name in ("actions", "notes", "skipped_epochs"):
            simple[name] = tuple(simple[name])
        return cls(**simple,
                   checks=tuple(PatternCheck.from_dict(c) for c in data["checks"]),
                   series=CurveSeries.from_dict(data["series"]),
                   thresholds=CurveThresholds.from_dict(data["thresholds"]))
