"""What a report holds: a :class:`Report` of :class:`Section` s made of blocks.

A report module computes typed results with pure functions, then fills a report through
this small builder; :func:`posekit.reports.html.render_html` turns it into one
self-contained HTML page and :func:`posekit.reports.output.write_report` writes the page
and the JSON of its results. Nothing here computes a number or knows a report kind.

Blocks (all frozen dataclasses, in the order they were added to their section):

* :class:`Paragraph` - plain text.
* :class:`Callout` - a warning, note or good-news sentence, shown boxed.
* :class:`KeyNumbers` - a row of labelled headline numbers.
* :class:`Bullets` - a bulleted list (e.g. what to do next).
* :class:`Table` - columns and rows; numbers are formatted and right-aligned.
* :class:`Image` - a PNG (a matplotlib figure via :meth:`Section.figure`, or raw bytes),
  with alt text and a caption.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from matplotlib.figure import Figure

Cell = str | int | float | None
"""A table cell: text (shown as is), a number (formatted by :func:`format_number`) or
``None`` (shown as a dash)."""

CalloutLevel = Literal["warning", "note", "good"]


class HasToDict(Protocol):
    """A typed result that can be written to the report's JSON."""

    def to_dict(self) -> dict[str, Any]:
        """The result as JSON-ready data (``None`` for undefined numbers)."""
        ...


@dataclass(frozen=True)
class Paragraph:
    """Plain text (HTML is escaped)."""

    text: str


@dataclass(frozen=True)
class Callout:
    """One plain sentence boxed: ``warning`` (something to fix), ``note`` or ``good``."""

    text: str
    level: CalloutLevel = "warning"


@dataclass(frozen=True)
class KeyNumber:
    """A headline number: ``label`` above ``value`` (already formatted), ``detail`` below."""

    label: str
    value: str
    detail: str = ""


@dataclass(frozen=True)
class KeyNumbers:
    """A row of :class:`KeyNumber` s."""

    items: tuple[KeyNumber, ...]


@dataclass(frozen=True)
class Bullets:
    """A bulleted list."""

    items: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    """A table: ``columns`` headers, ``rows`` of :data:`Cell` s, optional caption."""

    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    caption: str = ""

    def __post_init__(self) -> None:
        for i, row in enumerate(self.rows):
            if len(row) != len(self.columns):
                raise ValueError(f"table row {i} has {len(row)} cells; expected "
                                 f"{len(self.columns)} (one per column {self.columns})")


@dataclass(frozen=True)
class Image:
    """A PNG image embedded in the page.

    Attributes:
        png: the PNG file's bytes.
        alt: what the image shows, in words (screen readers, and shown if it fails).
        caption: text under the image.
        width_px: the width the image is shown at (CSS pixels); it shrinks on narrow
            screens. ``None``: its natural width.
    """

    png: bytes
    alt: str
    caption: str = ""
    width_px: int | None = None

    def __post_init__(self) -> None:
        if not self.png.startswith(b"\x89PNG\r\n\x1a\n"):
            raise ValueError("Image.png must hold the bytes of a PNG file")
        if not self.alt.strip():
            raise ValueError("Image.alt must say what the image shows")


Block = Paragraph | Callout | KeyNumbers | Bullets | Table | Image


def format_number(value: float | None, digits: int = 3) -> str:
    """A number as people read it: ``digits`` significant digits, no exponent between
    0.0001 and 10**digits, thousands separators above; ``None``/NaN as an en dash."""
    if value is None:
        return "\u2013"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, numbers.Integral):
        return f"{int(value):,}"
    value = float(value)
    if math.isnan(value):
        return "\u2013"
    if math.isinf(value):
        return "\u221e" if value > 0 else "-\u221e"
    size = abs(value)
    if size == 0:
        return "0"
    if size >= 10 ** digits:
        return f"{value:,.0f}"
    if size < 1e-4:
        return f"{value:.{max(digits - 1, 0)}e}"
    return f"{value:.{digits}g}"


@dataclass
class Section:
    """A titled part of a report; add blocks with the methods below (each returns the
    section, so calls can be chained)."""

    title: str
    blocks: list[Block] = field(default_factory=list)
    anchor: str = ""

    def paragraph(self, text: str) -> Section:
        """Add a paragraph of plain text."""
        self.blocks.append(Paragraph(text))
        return self

    def warning(self, text: str) -> Section:
        """Add a warning: one plain sentence saying what is wrong (and what to do)."""
        self.blocks.append(Callout(text, "warning"))
        return self

    def note(self, text: str) -> Section:
        """Add a boxed note (neutral information worth seeing)."""
        self.blocks.append(Callout(text, "note"))
        return self

    def good(self, text: str) -> Section:
        """Add a boxed sentence saying something is fine."""
        self.blocks.append(Callout(text, "good"))
        return self

    def key_numbers(self, items: Mapping[str, Any] | Iterable[KeyNumber]) -> Section:
        """Add headline numbers: ``{label: value}`` (values formatted by
        :func:`format_number` unless already text) or :class:`KeyNumber` s."""
        if isinstance(items, Mapping):
            made = tuple(KeyNumber(str(k), v if isinstance(v, str) else format_number(v))
                         for k, v in items.items())
        else:
            made = tuple(items)
        self.blocks.append(KeyNumbers(made))
        return self

    def bullets(self, items: Iterable[str]) -> Section:
        """Add a bulleted list."""
        self.blocks.append(Bullets(tuple(items)))
        return self

    def table(self, columns: Sequence[str], rows: Iterable[Sequence[Cell]],
              caption: str = "") -> Section:
        """Add a table; rows are sequences of cells, one per column."""
        self.blocks.append(Table(tuple(columns), tuple(tuple(r) for r in rows), caption))
        return self

    def table_from_dicts(self, rows: Sequence[Mapping[str, Cell]],
                         columns: Sequence[str] | None = None, caption: str = "") -> Section:
        """Add a table from dicts (columns: ``columns`` or the first row's keys)."""
        cols = tuple(columns) if columns is not None else tuple(rows[0]) if rows else ()
        return self.table(cols, [[r.get(c) for c in cols] for r in rows], caption)

    def figure(self, fig: Figure, alt: str, caption: str = "", dpi: int = 110,
               width_px: int | None = None) -> Section:
        """Add a matplotlib figure as a PNG (rendered now with the Agg backend; the figure
        can be discarded afterwards). ``width_px`` defaults to the figure's width."""
        from posekit.reports.figures import figure_png

        png = figure_png(fig, dpi=dpi)
        width = width_px if width_px is not None else round(fig.get_figwidth() * dpi)
        self.blocks.append(Image(png, alt, caption, width))
        return self

    def image(self, png: bytes, alt: str, caption: str = "",
              width_px: int | None = None) -> Section:
        """Add a PNG from its bytes (e.g. a frame with points drawn on it)."""
        self.blocks.append(Image(png, alt, caption, width_px))
        return self


def _utc_now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass
class Report:
    """One report: a title, what it was made from, sections, and the typed results whose
    numbers go to the JSON.

    Attributes:
        title: page title, e.g. ``"Loss curves - runs/single"``.
        kind: short machine name (``"curves"``, ``"dataset"``, ``"model"``, ``"compare"``);
            the JSON's ``kind``.
        subtitle: one line under the title.
        inputs: what the report was made from (``{"run_dir": "runs/single"}``), shown in
            the page header and written to the JSON.
        sections: the report's sections, in order.
        results: ``{name: typed result}``; each result's ``to_dict()`` is written under
            ``results.<name>`` in the JSON.
        created: when the report was made (UTC, ISO 8601), shown and written.
    """

    title: str
    kind: str
    subtitle: str = ""
    inputs: dict[str, str] = field(default_factory=dict)
    sections: list[Section] = field(default_factory=list)
    results: dict[str, HasToDict] = field(default_factory=dict)
    created: str = field(default_factory=_utc_now)

    def section(self, title: str) -> Section:
        """Append a new section and return it."""
        used = {s.anchor for s in self.sections}
        base = "".join(c if c.isalnum() else "-" for c in title.lower()).strip("-") or "section"
        anchor, i = base, 2
        while anchor in used:
            anchor, i = f"{base}-{i}", i + 1
        made = Section(title, anchor=anchor)
        self.sections.append(made)
        return made

    def add_sections(self, sections: Iterable[Section]) -> Report:
        """Append sections built elsewhere (e.g. the loss-curve sections of a model
        report); anchors are made unique."""
        for sec in sections:
            self.section(sec.title).blocks.extend(sec.blocks)
        return self

    def add_result(self, name: str, result: HasToDict) -> Report:
        """Record a typed result for the JSON under ``results.<name>``."""
        if name in self.results:
            raise ValueError(f"the report already has a result named {name!r}")
        self.results[name] = result
        return self
