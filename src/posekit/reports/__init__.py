"""Reports: one self-contained HTML page per report plus a JSON of every number.

The foundation every report is built on (docs/reports.md describes the reports and the
JSON schema):

* :mod:`~posekit.reports.document` - :class:`Report` and :class:`Section`, a small
  builder of paragraphs, warnings in plain sentences, key numbers, bullet lists, tables
  and figures;
* :mod:`~posekit.reports.figures` - matplotlib figures in one readable style, rendered
  off-screen (Agg) to PNG;
* :mod:`~posekit.reports.html` - :func:`render_html`: the page, with inline CSS and
  base64 images, no scripts, no network;
* :mod:`~posekit.reports.output` - :func:`write_report` (page + JSON, atomically),
  :func:`read_report_json`, :func:`report_paths` (output checks for commands).

A report module keeps the maths apart from the page: pure functions compute frozen,
typed results (with ``to_dict`` / ``from_dict``), and a thin layer turns them into
sections. The loss-curve diagnosis is the first one:

* :mod:`~posekit.reports.curve_diagnosis` - :func:`diagnose_curves`, :func:`diagnose_run`;
* :mod:`~posekit.reports.curve_results` - :class:`CurveDiagnosis` and its parts;
* :mod:`~posekit.reports.curve_report` - :func:`curve_sections` (for any report showing
  the curves) and :func:`curves_report`.

Writing a report::

    from posekit.reports import Report, new_figure, report_style, write_report

    result = compute_something(...)            # a frozen dataclass with to_dict()
    report = Report(title="Dataset audit - labels.slp", kind="dataset",
                    inputs={"labels": "labels.slp"})
    summary = report.section("Summary")
    summary.key_numbers({"labelled frames": result.n_frames, "videos": result.n_videos})
    if result.missing_conditions:
        summary.warning(f"No frames of {', '.join(result.missing_conditions)}: label some.")
    summary.table(["node", "visible"], [[n, v] for n, v in result.visibility.items()])
    with report_style():
        fig = new_figure(8.8, 3.5)
        fig.axes[0].bar(list(result.per_video), list(result.per_video.values()))
    summary.figure(fig, alt="Labelled frames per video: 40, 35 and 12.")
    report.add_result("dataset", result)      # JSON: results.dataset = result.to_dict()
    write_report(report, "audit.html")         # audit.html + audit.json

Browser tests use the ``browser`` fixture of ``tests/reports/conftest.py`` (headless
Chromium): ``browser.check(path).assert_clean(images=n)``.
"""

from posekit.reports.curve_diagnosis import diagnose_curves, diagnose_run
from posekit.reports.curve_report import curve_sections, curves_report
from posekit.reports.curve_results import CurveDiagnosis, CurveThresholds
from posekit.reports.document import Report, Section, format_number
from posekit.reports.figures import COLORS, figure_png, new_figure, report_style
from posekit.reports.html import render_html
from posekit.reports.output import (
    SCHEMA_VERSION,
    ReportFile,
    read_report_json,
    report_dict,
    report_paths,
    write_report,
)

__all__ = [
    "COLORS",
    "SCHEMA_VERSION",
    "CurveDiagnosis",
    "CurveThresholds",
    "Report",
    "ReportFile",
    "Section",
    "curve_sections",
    "curves_report",
    "diagnose_curves",
    "diagnose_run",
    "figure_png",
    "format_number",
    "new_figure",
    "read_report_json",
    "render_html",
    "report_dict",
    "report_paths",
    "report_style",
    "write_report",
]
