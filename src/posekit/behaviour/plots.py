"""Plots of the measures as PNG files (matplotlib ``Figure`` objects: no pyplot state,
no display needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from posekit.behaviour.summary import Measures


def _figure(width: float = 7.0, height: float = 4.0):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _save(fig, path: Path) -> Path:
    fig.savefig(path, format="png")
    return path


def plot_trajectory(m: Measures, path: Path, frame_size: tuple[int, int] | None = None) -> Path:
    """Each animal's path over the arena's zones (image coordinates: y down)."""
    fig = _figure(6.0, 6.0)
    ax = fig.add_subplot()
    labels: dict[tuple[float, float], list[str]] = {}
    for zone in m.zones:
        for poly, style in ((zone.polygon, "-"), (zone.hole, ":")):
            if poly is not None:
                closed = np.vstack([poly, poly[:1]])
                ax.plot(closed[:, 0], closed[:, 1], style, color="0.5", lw=1)
        top = zone.polygon[np.argmin(zone.polygon[:, 1])]  # name above the zone's top
        labels.setdefault((round(float(top[0])), round(float(top[1]))), []).append(zone.name)
    for (x, y), names in labels.items():
        ax.annotate(" / ".join(names), (x, y), color="0.4", fontsize=8, ha="center",
                    va="bottom")
    for j, name in enumerate(m.names):
        ax.plot(m.xy[:, j, 0], m.xy[:, j, 1], lw=0.8, label=name)
    if frame_size:
        ax.set_xlim(0, frame_size[0])
        ax.set_ylim(frame_size[1], 0)
    else:
        ax.invert_yaxis()
    ax.set_aspect("equal")
    ax.set_xlabel("x (px)")
    ax.set_ylabel("y (px)")
    ax.set_title("Trajectory")
    if len(m.names) <= 12:
        ax.legend(fontsize=7, loc="best")
    return _save(fig, path)


def plot_speed(m: Measures, path: Path, immobile_speed: float | None = None) -> Path:
    """Instantaneous speed over time, one line per animal."""
    fig = _figure()
    ax = fig.add_subplot()
    time = m.units.duration(np.arange(len(m.frame_ids)))
    for j, name in enumerate(m.names):
        ax.plot(time, m.speed[:, j], lw=0.7, label=name)
    if immobile_speed is not None:
        ax.axhline(immobile_speed, color="0.3", ls="--", lw=0.8, label="immobility threshold")
    ax.set_xlabel(f"time ({m.units.time})")
    ax.set_ylabel(f"speed ({m.units.speed})")
    ax.set_title("Speed over time")
    if len(m.names) <= 12:
        ax.legend(fontsize=7, loc="upper right")
    return _save(fig, path)


def plot_occupancy(m: Measures, path: Path) -> Path:
    """Fraction of tracked time in each zone, per animal (grouped bars)."""
    fig = _figure()
    ax = fig.add_subplot()
    rows = [r for r in m.rows if r["bin"] == "all"]
    width = 0.8 / max(1, len(rows))
    x = np.arange(len(m.zones))
    for j, row in enumerate(rows):
        values = [row.get(f"fraction_in_{z.name}", np.nan) for z in m.zones]
        ax.bar(x + j * width, values, width, label=row["animal"])
    ax.set_xticks(x + width * (len(rows) - 1) / 2, [z.name for z in m.zones])
    ax.set_ylim(0, 1)
    ax.set_ylabel("fraction of tracked time")
    ax.set_title("Zone occupancy" if m.zones else "Zone occupancy (no zones given)")
    if rows and m.zones and len(rows) <= 12:
        ax.legend(fontsize=7)
    return _save(fig, path)
