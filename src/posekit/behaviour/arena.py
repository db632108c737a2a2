"""Zones of an arena: polygons from a JSON file, or the centre and periphery of a
rectangular or circular arena (thigmotaxis).

The arena JSON (all coordinates in pixels of the video frame, ``x`` right, ``y`` down)::

    {"zones": [{"name": "left_chamber", "polygon": [[0, 0], [200, 0], [200, 400], [0, 400]]}],
     "arena": {"shape": "circle", "centre": [512, 512], "radius": 480,
               "centre_fraction": 0.5}}

``zones`` and ``arena`` are both optional (at least one is needed). ``arena`` is either
``{"shape": "rectangle", "bounds": [x0, y0, x1, y1]}`` or ``{"shape": "circle", "centre":
[x, y], "radius": r}``; ``centre_fraction`` (default 0.5) is the centre zone's size as a
fraction of the arena's side (rectangle) or radius (circle). It adds the zones ``centre``
and ``periphery`` (inside the arena, outside the centre).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from posekit.errors import ConfigError

CIRCLE_VERTICES = 360


@dataclass(frozen=True)
class Zone:
    """A named region: inside ``polygon`` and, when ``hole`` is given, outside it.

    Attributes:
        name: the zone's name (a column of the outputs).
        polygon: ``float (V, 2)`` vertices in pixels.
        hole: ``float (W, 2)`` vertices of a region left out (the periphery's centre).
    """

    name: str
    polygon: np.ndarray
    hole: np.ndarray | None = None

    def contains(self, xy: np.ndarray) -> np.ndarray:
        """``bool (...)``: whether each point of ``xy (..., 2)`` is in the zone (NaN: False)."""
        from matplotlib.path import Path as MplPath

        pts = np.asarray(xy, float).reshape(-1, 2)
        ok = np.isfinite(pts).all(axis=1)
        inside = np.zeros(len(pts), bool)
        inside[ok] = MplPath(self.polygon).contains_points(pts[ok])
        if self.hole is not None:
            inside[ok] &= ~MplPath(self.hole).contains_points(pts[ok])
        return inside.reshape(np.shape(xy)[:-1])


def rectangle(x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    """The four corners of an axis-aligned rectangle."""
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], float)


def circle(cx: float, cy: float, r: float, n: int = CIRCLE_VERTICES) -> np.ndarray:
    """A circle as a polygon of ``n`` vertices (area within 0.01 % for n = 360)."""
    a = np.linspace(0.0, 2 * np.pi, n, endpoint=False)
    return np.stack([cx + r * np.cos(a), cy + r * np.sin(a)], axis=1)


def arena_zones(spec: dict, source: str = "arena") -> list[Zone]:
    """``[arena, centre, periphery]`` zones of a rectangular or circular arena spec."""
    shape = spec.get("shape")
    frac = float(spec.get("centre_fraction", 0.5))
    if not 0 < frac < 1:
        raise ConfigError(f"{source}: arena.centre_fraction is {frac}; expected a number "
                          "between 0 and 1 (exclusive).")
    try:
        if shape == "rectangle":
            x0, y0, x1, y1 = map(float, spec["bounds"])
            if x1 <= x0 or y1 <= y0:
                raise ValueError("bounds must be [x0, y0, x1, y1] with x1 > x0, y1 > y0")
            cx, cy, hw, hh = (x0 + x1) / 2, (y0 + y1) / 2, frac * (x1 - x0) / 2, \
                frac * (y1 - y0) / 2
            outer, inner = rectangle(x0, y0, x1, y1), rectangle(cx - hw, cy - hh, cx + hw,
                                                                cy + hh)
        elif shape == "circle":
            (cx, cy), r = map(float, spec["centre"]), float(spec["radius"])
            if r <= 0:
                raise ValueError("radius must be positive")
            outer, inner = circle(cx, cy, r), circle(cx, cy, frac * r)
        else:
            raise ValueError(f"shape is {shape!r}, not 'rectangle' or 'circle'")
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{source}: invalid arena ({exc}); expected {{\"shape\": "
                          "\"rectangle\", \"bounds\": [x0, y0, x1, y1]} or {\"shape\": "
                          "\"circle\", \"centre\": [x, y], \"radius\": r}.") from exc
    return [Zone("arena", outer), Zone("centre", inner), Zone("periphery", outer, inner)]


def parse_arena(data: dict, source: str = "arena") -> list[Zone]:
    """The zones of an arena JSON document (see the module docstring)."""
    if not isinstance(data, dict) or not ({"zones", "arena"} & set(data)):
        raise ConfigError(f"{source}: expected a JSON object with \"zones\" (polygons) "
                          "and/or \"arena\" (rectangle or circle).")
    zones: list[Zone] = []
    for i, item in enumerate(data.get("zones") or []):
        try:
            poly = np.asarray(item["polygon"], float)
            name = str(item.get("name", f"zone_{i}"))
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"{source}: zones[{i}] is invalid ({exc}); expected "
                              "{\"name\": ..., \"polygon\": [[x, y], ...]}.") from exc
        if poly.ndim != 2 or poly.shape[1] != 2 or len(poly) < 3 or not np.isfinite(
                poly).all():
            raise ConfigError(f"{source}: zones[{i}] ({name}) polygon has shape "
                              f"{poly.shape}; expected at least 3 finite [x, y] vertices.")
        zones.append(Zone(name, poly))
    if data.get("arena"):
        zones += arena_zones(data["arena"], source)
    names = [z.name for z in zones]
    if len(set(names)) != len(names):
        raise ConfigError(f"{source}: zone names repeat ({names}); expected unique names.")
    return zones


def load_arena(path: str | Path) -> list[Zone]:
    """Read an arena JSON file into zones.

    Raises:
        ConfigError: missing file, invalid JSON, or an invalid zone.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: arena file not found.") from exc
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the arena JSON ({exc}).") from exc
    return parse_arena(data, str(path))


def check_in_frame(zones: list[Zone], width: float, height: float,
                   source: str = "arena", tol: float = 1.0) -> None:
    """Raise :class:`ConfigError` when a zone has a vertex outside the ``width x height``
    frame (``tol`` pixels of slack for a boundary drawn on the frame's edge)."""
    for zone in zones:
        v = zone.polygon
        bad = (v[:, 0] < -tol) | (v[:, 1] < -tol) | (v[:, 0] > width + tol) | (
            v[:, 1] > height + tol)
        if bad.any():
            x, y = v[np.argmax(bad)]
            raise ConfigError(f"{source}: zone {zone.name!r} has a vertex at ({x:.1f}, "
                              f"{y:.1f}) outside the {width:g}x{height:g} px frame; expected "
                              "zones in the video's pixel coordinates. Check the arena "
                              "file is for this video (and not in cm).")
