"""Render a :class:`~posekit.reports.document.Report` as one self-contained HTML page.

The page needs nothing but itself: styles are inline, images are base64 PNGs in ``data:``
URLs, there is no script and no web font, so it opens offline, from an e-mail attachment
or a lab wiki alike. Text is escaped; nothing a user wrote (file or node names) can become
markup.
"""

from __future__ import annotations

import base64
from html import escape

from posekit import __version__
from posekit.reports.document import (
    Block,
    Bullets,
    Callout,
    Image,
    KeyNumbers,
    Paragraph,
    Report,
    Section,
    Table,
    format_number,
)
from posekit.reports.style import PAGE_CSS

_NUM = ' class="num"'
_CALLOUT_LABEL = {"warning": "Warning", "note": "Note", "good": "Good"}


def _paragraph(block: Paragraph) -> str:
    return f"<p>{escape(block.text)}</p>"


def _callout(block: Callout) -> str:
    label = _CALLOUT_LABEL[block.level]
    return (f'<div class="callout {block.level}" role="note"><strong>{label}:</strong> '
            f"{escape(block.text)}</div>")


def _key_numbers(block: KeyNumbers) -> str:
    cards = "".join(
        f'<div class="kn"><div class="kn-label">{escape(k.label)}</div>'
        f'<div class="kn-value">{escape(k.value)}</div>'
        + (f'<div class="kn-detail">{escape(k.detail)}</div>' if k.detail else "")
        + "</div>" for k in block.items)
    return f'<div class="key-numbers">{cards}</div>'


def _bullets(block: Bullets) -> str:
    return "<ul>" + "".join(f"<li>{escape(i)}</li>" for i in block.items) + "</ul>"


def _is_number(cell: object) -> bool:
    return isinstance(cell, (int, float)) and not isinstance(cell, bool)


def _table(block: Table) -> str:
    numeric = [all(_is_number(r[i]) or r[i] is None for r in block.rows)
               and any(_is_number(r[i]) for r in block.rows)
               for i in range(len(block.columns))]
    cls = [_NUM if n else "" for n in numeric]
    head = "".join(f'<th scope="col"{cls[i]}>{escape(c)}</th>'
                   for i, c in enumerate(block.columns))
    body = []
    for row in block.rows:
        cells = []
        for i, cell in enumerate(row):
            text = cell if isinstance(cell, str) else format_number(cell)
            cells.append(f"<td{cls[i]}>{escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    caption = f"<caption>{escape(block.caption)}</caption>" if block.caption else ""
    return (f'<div class="table-wrap"><table>{caption}<thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>')


def _image(block: Image) -> str:
    data = base64.b64encode(block.png).decode("ascii")
    width = f' width="{block.width_px}"' if block.width_px else ""
    caption = f"<figcaption>{escape(block.caption)}</figcaption>" if block.caption else ""
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{escape(block.alt)}"'
            f"{width}>{caption}</figure>")


_RENDER = {Paragraph: _paragraph, Callout: _callout, KeyNumbers: _key_numbers,
           Bullets: _bullets, Table: _table, Image: _image}


def render_block(block: Block) -> str:
    """The HTML of one block."""
    return _RENDER[type(block)](block)  # type: ignore[operator]


def _section(section: Section) -> str:
    inner = "\n".join(render_block(b) for b in section.blocks)
    return (f'<section id="{escape(section.anchor)}"><h2>{escape(section.title)}</h2>\n'
            f"{inner}\n</section>")


def _header(report: Report) -> str:
    sub = f'<p class="subtitle">{escape(report.subtitle)}</p>' if report.subtitle else ""
    inputs = "".join(f"<dt>{escape(k.replace('_', ' '))}</dt><dd><code>{escape(v)}</code></dd>"
                     for k, v in report.inputs.items())
    meta = (f'<dl class="meta">{inputs}<dt>made</dt><dd>{escape(report.created)} with '
            f"posekit {escape(__version__)}</dd></dl>")
    nav = ""
    if len(report.sections) > 1:
        links = "".join(f'<li><a href="#{escape(s.anchor)}">{escape(s.title)}</a></li>'
                        for s in report.sections)
        nav = f'<nav aria-label="Sections"><ul>{links}</ul></nav>'
    return f"<header><h1>{escape(report.title)}</h1>{sub}{meta}{nav}</header>"


def render_html(report: Report, json_name: str | None = None) -> str:
    """The report as one self-contained HTML page.

    Args:
        report: the report.
        json_name: file name of the JSON written beside the page (named in the footer).
    """
    footer = ""
    if json_name:
        footer = (f'<footer>Every number in this report is also in <a href="{escape(json_name)}">'
                  f"<code>{escape(json_name)}</code></a> (schema: docs/reports.md).</footer>")
    sections = "\n".join(_section(s) for s in report.sections)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta name="generator" content="posekit {escape(__version__)}">\n'
        f"<title>{escape(report.title)}</title>\n<style>{PAGE_CSS}</style>\n</head>\n"
        f"<body>\n<main>\n{_header(report)}\n{sections}\n{footer}\n</main>\n</body>\n</html>\n"
    )
