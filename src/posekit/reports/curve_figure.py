"""The loss-curve figure: losses (log scale), their ratio and the learning rate over
epochs, with the diagnosis marked (where overfitting or a plateau begins, spikes, the best
epoch), and its alt text."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from posekit.reports.curve_results import CurveDiagnosis, PatternCheck
from posekit.reports.document import format_number
from posekit.reports.figures import COLORS, new_figure, report_style

if TYPE_CHECKING:
    from matplotlib.figure import Figure

_SPAN_TEXT = {
    "overfitting": "overfitting from epoch {}",
    "plateau": "flat since epoch {}",
    "unstable": "training loss rising from epoch {}",
}


def shows_smoothed(d: CurveDiagnosis) -> bool:
    """Whether the figure draws the smoothed curves (they need 7 epochs or more: the
    5-epoch median is only drawn where its window is whole)."""
    return d.n_epochs >= 7


def _marked_check(diagnosis: CurveDiagnosis) -> PatternCheck | None:
    """The check whose region is shaded: the diagnosis's own, when it has a region."""
    if diagnosis.pattern in _SPAN_TEXT:
        check = diagnosis.check(diagnosis.pattern)
        if check.start_epoch is not None:
            return check
    return None


def _loss_axes(ax: Any, d: CurveDiagnosis) -> None:
    s = d.series
    epochs = np.asarray(s.epochs)
    marker = "o" if len(epochs) <= 60 else None
    if shows_smoothed(d):
        inner = slice(2, len(epochs) - 2)  # where the 5-epoch median has its whole window
        ax.plot(epochs[inner], s.train_smooth[inner], color=COLORS["train"], lw=5, alpha=0.18)
        ax.plot(epochs[inner], s.val_smooth[inner], color=COLORS["val"], lw=5, alpha=0.18)
    ax.plot(epochs, s.train_loss, color=COLORS["train"], marker=marker, ms=3.5,
            label="training loss")
    ax.plot(epochs, s.val_loss, color=COLORS["val"], marker=marker, ms=3.5,
            label="validation loss")
    ax.set_yscale("log")
    ax.set_ylabel("loss (log scale)")
    top = max(max(s.train_loss), max(s.val_loss)) * 1.25
    low = min(min(s.train_loss), min(s.val_loss)) * 0.8
    ax.set_ylim(min(low, top / 10), top)  # at least a decade: a small fall looks small
    check = _marked_check(d)
    if check is not None:
        color = COLORS["bad"] if check.pattern != "plateau" else COLORS["warn"]
        ax.axvspan(check.start_epoch, epochs[-1], color=color, alpha=0.12, lw=0,
                   label=_SPAN_TEXT[check.pattern].format(check.start_epoch))
    for pattern, key in (("volatile", "val_loss"), ("unstable", "train_loss")):
        spiking = d.check(pattern).epochs
        if spiking:
            idx = [i for i, e in enumerate(s.epochs) if e in set(spiking)]
            values = np.asarray(getattr(s, key))[idx]
            ax.scatter(epochs[idx], values, s=130, facecolors="none", linewidths=1.8,
                       edgecolors=COLORS["bad"], zorder=5,
                       label=f"{'validation' if pattern == 'volatile' else 'training'} spike")
    ax.axvline(d.best_epoch, color=COLORS["muted"], ls=":", lw=1.4)
    ax.scatter([d.best_epoch], [d.best_val_loss], marker="*", s=220, color=COLORS["val"],
               edgecolors="black", linewidths=0.6, zorder=6,
               label=f"best epoch {d.best_epoch} ({format_number(d.best_val_loss)})")
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, frameon=False)


def _ratio_axes(ax: Any, d: CurveDiagnosis) -> None:
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    s = d.series
    ratio = np.asarray(s.val_loss) / np.asarray(s.train_loss)
    ax.plot(s.epochs, ratio, color=COLORS["highlight"], label="validation \u00f7 training")
    ax.axhline(1.0, color=COLORS["muted"], lw=1)
    ax.axhline(d.thresholds.gap_ratio, color=COLORS["bad"], ls="--", lw=1.2,
               label=f"gap threshold ({d.thresholds.gap_ratio:g}\u00d7)")
    top = max(float(np.max(ratio)), d.thresholds.gap_ratio) * 1.15
    bottom = min(float(np.min(ratio)), 1.0) * 0.85
    if top / bottom > 8:  # a wide range: a log axis keeps the 1x and 2x lines apart
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_ylim(bottom, top)
    ax.set_ylabel("val \u00f7 train")
    ax.legend(loc="upper left", framealpha=0.92)


def _lr_axes(ax: Any, d: CurveDiagnosis) -> None:
    from matplotlib.ticker import FuncFormatter

    s = d.series
    known = [(e, lr) for e, lr in zip(s.epochs, s.lr, strict=True) if lr is not None]
    ax.set_ylabel("learning rate")
    if not known:
        ax.text(0.5, 0.5, "learning rate not logged", transform=ax.transAxes, ha="center",
                va="center", color=COLORS["muted"])
        ax.set_yticks([])
        return
    epochs, lrs = zip(*known, strict=True)
    ax.step(epochs, lrs, where="post", color=COLORS["lr"], label="learning rate")
    if max(lrs) / max(min(lrs), 1e-300) > 5:
        ax.set_yscale("log")
    else:
        ax.set_ylim(0, max(lrs) * 1.3)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))


def curves_figure(diagnosis: CurveDiagnosis) -> Figure:
    """Losses, their ratio and the learning rate over epochs, the diagnosis marked."""
    from matplotlib.ticker import MaxNLocator

    with report_style():
        fig = new_figure(8.8, 7.4, nrows=3, sharex=True, height_ratios=[3.2, 1.1, 1.0])
        loss_ax, ratio_ax, lr_ax = fig.axes
        _loss_axes(loss_ax, diagnosis)
        _ratio_axes(ratio_ax, diagnosis)
        _lr_axes(lr_ax, diagnosis)
        lr_ax.set_xlabel("epoch")
        lr_ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return fig


def curves_alt_text(d: CurveDiagnosis) -> str:
    """What the figure shows, in words (the image's alt text)."""
    s = d.series
    lrs = sorted({lr for lr in s.lr if lr is not None}, reverse=True)
    lr_text = ("learning rate not logged" if not lrs else
               f"learning rate {lrs[0]:g} throughout" if len(lrs) == 1 else
               f"learning rate from {lrs[0]:g} down to {lrs[-1]:g}")
    check = _marked_check(d)
    marked = (f" Shaded: {_SPAN_TEXT[check.pattern].format(check.start_epoch)}."
              if check is not None else "")
    return (f"Loss curves over {d.n_epochs} epochs, log scale: training loss from "
            f"{format_number(s.train_loss[0])} to {format_number(s.train_loss[-1])}, validation "
            f"loss from {format_number(s.val_loss[0])} to {format_number(s.val_loss[-1])}, "
            f"lowest at epoch {d.best_epoch}. Diagnosis: {d.title}.{marked} Below: the ratio "
            f"of validation to training loss, and the {lr_text}.")
