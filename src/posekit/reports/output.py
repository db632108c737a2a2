"""Report files: the HTML page and the JSON of every number beside it.

The JSON is one object (documented in docs/reports.md, "The JSON file")::

    {"schema_version": 1, "kind": "curves", "posekit_version": "0.1.0",
     "title": "...", "created": "2025-01-31T12:00:00Z",
     "inputs": {"run_dir": "runs/single", ...},
     "results": {"curves": {...CurveDiagnosis.to_dict()...}}}

``results`` holds each typed result's ``to_dict()`` under the name it was added with
(:meth:`~posekit.reports.document.Report.add_result`); a result type's ``from_dict`` reads
its part back. Undefined numbers are ``null`` (never NaN). :data:`SCHEMA_VERSION` covers
this envelope and every result layout; it goes up when a field changes meaning or is
removed (adding fields keeps it).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from posekit import __version__
from posekit.errors import ConfigError, DataError
from posekit.reports.document import Report
from posekit.reports.html import render_html
from posekit.utils import atomic_write_text
from posekit.utils.outputs import check_new_outputs

SCHEMA_VERSION = 1
"""Version of the report JSON layout (envelope and results)."""


def _json_safe(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def report_dict(report: Report) -> dict[str, Any]:
    """The report's JSON object (see the module docstring)."""
    return _json_safe({
        "schema_version": SCHEMA_VERSION,
        "kind": report.kind,
        "posekit_version": __version__,
        "title": report.title,
        "created": report.created,
        "inputs": dict(report.inputs),
        "results": {name: result.to_dict() for name, result in report.results.items()},
    })


def report_json(report: Report) -> str:
    """The report's JSON text (indented, no NaN)."""
    return json.dumps(report_dict(report), indent=2, allow_nan=False) + "\n"


def write_report(report: Report, html_path: str | os.PathLike[str],
                 json_path: str | os.PathLike[str] | None = None) -> tuple[Path, Path]:
    """Write the page and its JSON, each atomically (a crash leaves no half file).

    Args:
        report: the report.
        html_path: the page (``.html``).
        json_path: the JSON; default: ``html_path`` with the suffix ``.json``.

    Returns:
        ``(html_path, json_path)``.
    """
    html_path = Path(html_path)
    json_path = Path(json_path) if json_path is not None else html_path.with_suffix(".json")
    json_text = report_json(report)  # fails before anything is written if unserialisable
    rel = Path(os.path.relpath(json_path.resolve(), html_path.resolve().parent)).as_posix()
    page = render_html(report, json_name=rel)
    atomic_write_text(json_path, json_text)
    atomic_write_text(html_path, page)
    return html_path, json_path


@dataclass(frozen=True)
class ReportFile:
    """A report JSON read back: the envelope, with ``results`` as plain data (pass
    ``results[name]`` to the result type's ``from_dict``)."""

    schema_version: int
    kind: str
    posekit_version: str
    title: str
    created: str
    inputs: dict[str, str]
    results: dict[str, Any]


def read_report_json(path: str | os.PathLike[str], kind: str | None = None) -> ReportFile:
    """Read a report JSON written by :func:`write_report`.

    Args:
        path: the JSON file.
        kind: when given, the report kind the file must be (e.g. ``"curves"``).

    Raises:
        DataError: unreadable, not a report JSON, another kind, or a newer schema.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read the report JSON ({exc}); expected the .json a "
                        "posekit report wrote beside its .html.") from exc
    missing = [k for k in ("schema_version", "kind", "results") if not isinstance(data, dict)
               or k not in data]
    if missing:
        raise DataError(f"{path}: not a posekit report JSON (no {', '.join(missing)}); "
                        "expected the .json a posekit report wrote beside its .html.")
    version = data["schema_version"]
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise DataError(f"{path}: report schema_version {version!r} is newer than this posekit "
                        f"reads ({SCHEMA_VERSION}); expected <= {SCHEMA_VERSION}. Upgrade "
                        "posekit to read it.")
    if kind is not None and data["kind"] != kind:
        raise DataError(f"{path}: a {data['kind']!r} report; expected a {kind!r} report.")
    return ReportFile(version, str(data["kind"]), str(data.get("posekit_version", "")),
                      str(data.get("title", "")), str(data.get("created", "")),
                      dict(data.get("inputs", {})), dict(data["results"]))


def report_paths(output: str | os.PathLike[str] | None, default: str | os.PathLike[str],
                 json_path: str | os.PathLike[str] | None = None, force: bool = False,
                 inputs: Iterable[str | os.PathLike[str]] = ()) -> tuple[Path, Path]:
    """Where a report command writes: ``(html, json)``, checked before any work is done.

    Args:
        output: the ``-o`` the user gave (``.html``), or ``None`` for ``default``.
        default: the page's default path (e.g. ``RUN_DIR/curves_report.html``).
        json_path: the ``--json`` the user gave; default: the page's path with ``.json``.
        force: replace existing files.
        inputs: the command's inputs, which must never be overwritten.

    Raises:
        ConfigError: the page does not end in ``.html``, an output exists without
            ``force``, an output is an input, or an output folder does not exist.
    """
    html = Path(output) if output is not None else Path(default)
    if html.suffix.lower() not in (".html", ".htm"):
        raise ConfigError(f"{html}: expected a report file name ending in .html.")
    js = Path(json_path) if json_path is not None else html.with_suffix(".json")
    check_new_outputs((html, js), inputs, force)
    for path in (html, js):
        if not path.parent.is_dir():
            raise ConfigError(f"{path}: the folder {path.parent} does not exist; expected an "
                              f"existing folder. Create it (mkdir -p {path.parent}) or choose "
                              "another path.")
    if html.resolve() == js.resolve():
        raise ConfigError(f"{js}: the JSON and the page have the same name; expected two "
                          "files. Give --json a .json name.")
    return html, js
