"""The loss-curve report: sections made from a :class:`CurveDiagnosis` (no maths here).

:func:`curve_sections` gives the sections alone, for any report that shows the curves
(the model report adds them to its own); :func:`curves_report` makes the standalone
``posekit report curves`` report.
"""

from __future__ import annotations

import os
from pathlib import Path

from posekit.reports.curve_figure import curves_alt_text, curves_figure, shows_smoothed
from posekit.reports.curve_results import PATTERN_TITLES, CurveDiagnosis, Evidence
from posekit.reports.document import KeyNumber, Report, Section, format_number

KIND = "curves"
"""The report kind (JSON ``kind``) and the result name (``results.curves``)."""


def _signed(value: float | None) -> str:
    return "\u2013" if value is None else f"{value:+.1f}"


def evidence_text(item: Evidence) -> str:
    """An evidence value as people read it: ``+1.3 %/epoch (95 %: +0.2 to +2.6)`` for
    trends and changes with an interval, ``12.5 %`` for sizes, ``2.31x`` for ratios."""
    value = item.value
    if value is None:
        return "\u2013"
    if isinstance(value, str):
        return value
    interval = item.low is not None or item.high is not None
    if item.unit == "%/epoch" or (item.unit == "%" and interval):
        text = f"{_signed(float(value))} {item.unit}"
        if interval:
            text += f" (95 %: {_signed(item.low)} to {_signed(item.high)})"
        return text
    if item.unit == "%":
        return f"{float(value):.1f} %"
    if item.unit == "x":
        return f"{value:.2f}\u00d7"
    return format_number(value)


def _met_text(item: Evidence) -> str:
    return "" if item.met is None else ("yes" if item.met else "no")


def _diagnosis_section(d: CurveDiagnosis) -> Section:
    sec = Section("Diagnosis")
    if d.pattern == "healthy":
        sec.good(d.headline)
    else:
        sec.warning(d.headline)
    sec.key_numbers([
        KeyNumber("diagnosis", d.title),
        KeyNumber("epochs", format_number(d.n_epochs)),
        KeyNumber("best epoch", format_number(d.best_epoch),
                  f"validation loss {format_number(d.best_val_loss)}"),
        KeyNumber("last epoch", format_number(d.series.epochs[-1]),
                  f"train {format_number(d.final_train_loss)}, "
                  f"val {format_number(d.final_val_loss)}"),
        KeyNumber("training loss fell", f"{d.train_drop:.1f}\u00d7",
                  f"validation {d.val_drop:.1f}\u00d7"),
        KeyNumber("validation \u00f7 training", f"{d.gap_ratio:.2f}", "at the end"),
    ])
    for note in d.notes:
        sec.note(note)
    return sec


def _evidence_section(d: CurveDiagnosis) -> Section:
    sec = Section("Evidence")
    sec.paragraph("Every pattern was checked, in the guide's order; the first one found is "
                  "the diagnosis. Trends are Theil-Sen lines through the logarithm of the "
                  "loss (robust to single wild epochs), given as change per epoch with "
                  "their 95 % interval.")
    sec.table(("pattern", "found", "what was measured"),
              [(PATTERN_TITLES[c.pattern], "yes" if c.detected else "no", c.summary)
               for c in d.checks])
    for check in d.checks:
        sec.table(("measurement", "value", "needs", "met"),
                  [(e.label, evidence_text(e), e.rule, _met_text(e)) for e in check.evidence],
                  caption=f"{PATTERN_TITLES[check.pattern]}: "
                          f"{'found' if check.detected else 'not found'}")
    return sec


def curve_sections(diagnosis: CurveDiagnosis) -> list[Section]:
    """The loss-curve sections: diagnosis, what to do, the figure, the evidence."""
    actions = Section("What to do").bullets(diagnosis.actions)
    smoothed = ("the wide pale lines are the smoothed curves (running median of 5 epochs), "
                if shows_smoothed(diagnosis) else "")
    figure = Section("Loss and learning rate").figure(
        curves_figure(diagnosis), alt=curves_alt_text(diagnosis),
        caption="Top: training (blue) and validation (orange) loss per epoch on a log scale; "
                f"{smoothed}the star marks the best epoch, shading where the diagnosed pattern "
                "begins, circles the spikes. Middle: validation loss divided by training loss. "
                "Bottom: the learning rate.")
    return [_diagnosis_section(diagnosis), actions, figure, _evidence_section(diagnosis)]


def curves_report(diagnosis: CurveDiagnosis, run_dir: str | os.PathLike[str] | None = None
                  ) -> Report:
    """The standalone loss-curve report of one run (``posekit report curves``)."""
    name = Path(run_dir).name if run_dir is not None else Path(diagnosis.source).parent.name
    inputs = {"run_dir": str(run_dir)} if run_dir is not None else {}
    if diagnosis.source:
        inputs["training_log"] = diagnosis.source
    report = Report(title=f"Loss curves \u2013 {name}" if name else "Loss curves", kind=KIND,
                    subtitle=f"{diagnosis.title}: what the training log says about this run "
                             "and what to do next.",
                    inputs=inputs)
    report.add_sections(curve_sections(diagnosis))
    report.add_result(KIND, diagnosis)
    return report
