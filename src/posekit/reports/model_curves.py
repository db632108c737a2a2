"""The loss-curve diagnosis inside the model report.

The diagnosis and its sections are the curves report's own
(:func:`posekit.reports.curve_report.curve_sections`); here they are titled as part of the
model report. Their "What to do" section is left out (its actions are already in the
model report's "What to do next", :attr:`ModelStudy.curve_actions`) and their evidence is
cut to its summary table (``posekit report curves`` shows every measurement).
"""

from __future__ import annotations

from posekit.reports.curve_report import curve_sections
from posekit.reports.curve_results import CurveDiagnosis
from posekit.reports.document import Block, Paragraph, Section, Table

PREFIX = "Training curves"
SKIPPED = ("What to do",)
EVIDENCE = "Evidence"


def _summary(blocks: list[Block]) -> list[Block]:
    """The blocks up to the first table (the per-pattern summary), and a pointer."""
    first = next((i for i, b in enumerate(blocks) if isinstance(b, Table)), len(blocks) - 1)
    return [*blocks[: first + 1], Paragraph(
        "Every measurement behind these findings: posekit report curves RUN_DIR.")]


def training_curve_sections(diagnosis: CurveDiagnosis) -> list[Section]:
    """The diagnosis, the loss figure and the evidence summary, titled
    ``Training curves: ...``."""
    return [Section(f"{PREFIX}: {s.title.lower()}",
                    blocks=_summary(s.blocks) if s.title == EVIDENCE else list(s.blocks))
            for s in curve_sections(diagnosis) if s.title not in SKIPPED]
