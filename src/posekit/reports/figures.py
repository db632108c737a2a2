"""Figures for reports: one look for every plot, rendered off-screen to PNG.

:func:`new_figure` makes a matplotlib ``Figure`` without pyplot (no global state, no
window, the Agg backend), with font sizes that stay readable when the PNG is shown at its
natural size on a laptop screen. :func:`figure_png` renders it. :data:`COLORS` names the
colours every report uses for the same things (training, validation, ...), chosen to be
told apart by colour-blind readers (Okabe-Ito palette).
"""

from __future__ import annotations

import io
from contextlib import AbstractContextManager
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

COLORS = {
    "train": "#0072B2",       # blue
    "val": "#D55E00",         # vermillion
    "lr": "#009E73",          # green
    "highlight": "#CC79A7",   # purple
    "warn": "#E69F00",        # orange
    "bad": "#C0392B",         # red
    "muted": "#7F7F7F",       # grey
}
"""Colours by meaning, shared by all reports."""

STYLE = {
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "legend.fontsize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "lines.linewidth": 1.8,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
}
"""Matplotlib settings applied to every report figure."""


def report_style() -> AbstractContextManager[Any]:
    """Context manager applying :data:`STYLE`; draw report figures inside it (matplotlib
    reads font sizes and line widths when text and lines are created)::

        with report_style():
            fig = new_figure(9, 4)
            fig.axes[0].plot(x, y, color=COLORS["train"], label="training")
        section.figure(fig, alt="Training loss falls from 0.9 to 0.1 over 40 epochs.")
    """
    from matplotlib import rc_context

    return rc_context(STYLE)


def new_figure(width_in: float = 8.8, height_in: float = 5.0, **subplots: Any) -> Figure:
    """A white figure of ``width_in`` x ``height_in`` inches in the report style, with one
    axes, or the grid ``subplots`` asks for (e.g. ``nrows=2, sharex=True,
    height_ratios=[3, 1]``, passed to ``Figure.subplots``); its axes are ``fig.axes``.

    At the default 110 dpi an 8.8-inch figure is 968 pixels wide: the page's content
    width, so it is shown at its natural size on a laptop.
    """
    with report_style():
        fig = Figure(figsize=(width_in, height_in), layout="constrained")
        FigureCanvasAgg(fig)
        fig.subplots(**subplots) if subplots else fig.add_subplot()
    return fig


def figure_png(fig: Figure, dpi: int = 110) -> bytes:
    """Render ``fig`` to PNG bytes with the Agg backend."""
    buffer = io.BytesIO()
    with report_style():
        FigureCanvasAgg(fig)
        fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()
