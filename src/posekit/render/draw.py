"""Drawing poses on one RGB frame with OpenCV: skeleton, points, trails, counter, flags."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from posekit.render.poses import PoseFrames

#: Distinct colours (RGB), Tableau 10 brightened for dark backgrounds.
PALETTE = np.array([
    (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
    (140, 86, 75), (227, 119, 194), (188, 189, 34), (23, 190, 207), (127, 127, 127),
], np.int32)
PALETTE = np.clip(PALETTE * 1.25 + 30, 0, 255).astype(np.int32)
FLAG_COLOUR = (255, 40, 40)


@dataclass(frozen=True)
class Style:
    """How poses are drawn.

    Attributes:
        color_by: ``"node"`` (each node its colour) or ``"track"`` (each animal).
        min_score: points scoring below are drawn hollow and dimmed (never hidden).
        trails: frames of history drawn behind each tracked animal (0: none).
        trail_node: node index the trail follows (None: the animal's centroid).
        radius: point radius in pixels (None: from the frame size).
        thickness: line width in pixels (None: from the frame size).
    """

    color_by: str = "node"
    min_score: float = 0.3
    trails: int = 0
    trail_node: int | None = None
    radius: int | None = None
    thickness: int | None = None

    def sizes(self, height: int) -> tuple[int, int]:
        """Point radius and line width for a frame ``height`` pixels tall."""
        r = self.radius if self.radius is not None else max(2, round(height / 200))
        t = self.thickness if self.thickness is not None else max(1, round(height / 450))
        return int(r), int(t)


def _colour(i: int) -> tuple[int, int, int]:
    return tuple(int(c) for c in PALETTE[i % len(PALETTE)])  # type: ignore[return-value]


def _dim(c: tuple[int, int, int]) -> tuple[int, int, int]:
    return tuple(int(v * 0.45) for v in c)  # type: ignore[return-value]


def _instance_colours(poses: PoseFrames, rows: slice, style: Style) -> list[list[tuple]]:
    """Per instance, per node colour."""
    k = len(poses.node_names)
    out = []
    for j, i in enumerate(range(rows.start, rows.stop)):
        if style.color_by == "track":
            t = int(poses.track[i])
            c = _colour(t if t >= 0 else len(poses.track_names) + j)
            out.append([c] * k)
        else:
            out.append([_colour(n) for n in range(k)])
    return out


def draw_poses(img: np.ndarray, poses: PoseFrames, frame: int, style: Style) -> np.ndarray:
    """Draw the instances of ``frame`` on ``img`` (``uint8 (H, W, 3)`` RGB, in place)."""
    rows = poses.rows(frame)
    if rows.stop <= rows.start:
        return img
    r, t = style.sizes(img.shape[0])
    colours = _instance_colours(poses, rows, style)
    if style.trails > 0:
        _draw_trails(img, poses, rows, frame, style, colours, t)
    for j, i in enumerate(range(rows.start, rows.stop)):
        pts, sc = poses.points[i], poses.scores[i]
        ok = np.isfinite(pts).all(axis=1)
        low = sc < style.min_score
        for a, b in poses.edges:
            if ok[a] and ok[b]:
                c = colours[j][b] if style.color_by == "node" else colours[j][a]
                c = _dim(c) if (low[a] or low[b]) else c
                cv2.line(img, _pt(pts[a]), _pt(pts[b]), c, t, cv2.LINE_AA, shift=4)
        for n in np.flatnonzero(ok):
            c = colours[j][n]
            if low[n]:  # hollow, dimmed: visible but clearly uncertain
                cv2.circle(img, _pt(pts[n]), r << 4, _dim(c), max(1, t), cv2.LINE_AA, shift=4)
            else:
                cv2.circle(img, _pt(pts[n]), r << 4, c, -1, cv2.LINE_AA, shift=4)
                cv2.circle(img, _pt(pts[n]), r << 4, (0, 0, 0), 1, cv2.LINE_AA, shift=4)
    return img


def _pt(xy: np.ndarray) -> tuple[int, int]:
    """Sub-pixel point for OpenCV's ``shift=4`` (1/16 px)."""
    return round(float(xy[0]) * 16), round(float(xy[1]) * 16)


def _draw_trails(img: np.ndarray, poses: PoseFrames, rows: slice, frame: int, style: Style,
                 colours: list[list[tuple]], t: int) -> None:
    """Fading polylines of each tracked animal's last ``style.trails`` frames."""
    for j, i in enumerate(range(rows.start, rows.stop)):
        track = int(poses.track[i])
        if track < 0:
            continue
        xy = poses.trail(track, frame, style.trails, style.trail_node)
        base = colours[j][style.trail_node or 0] if style.color_by == "node" else colours[j][0]
        for s in range(1, len(xy)):
            w = s / len(xy)
            c = tuple(int(v * (0.25 + 0.75 * w)) for v in base)
            cv2.line(img, _pt(xy[s - 1]), _pt(xy[s]), c, t, cv2.LINE_AA, shift=4)


def draw_label(img: np.ndarray, text: str, corner: str = "tl", colour=(255, 255, 255),
               background=(0, 0, 0)) -> None:
    """Write ``text`` on a filled box in a corner (``"tl"``, ``"tr"``, ``"bl"``)."""
    h, w = img.shape[:2]
    scale = max(0.45, h / 1100)
    thick = max(1, round(h / 700))
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
    pad = max(3, th // 3)
    x = pad if corner in ("tl", "bl") else w - tw - 3 * pad
    y = pad if corner in ("tl", "tr") else h - th - base - 3 * pad
    cv2.rectangle(img, (x, y), (x + tw + 2 * pad, y + th + base + 2 * pad), background, -1)
    cv2.putText(img, text, (x + pad, y + pad + th), cv2.FONT_HERSHEY_SIMPLEX, scale, colour,
                thick, cv2.LINE_AA)


def draw_flag(img: np.ndarray, text: str) -> None:
    """Mark an outlier frame: a red border and the reason in the top-right corner."""
    h = img.shape[0]
    b = max(3, h // 150)
    cv2.rectangle(img, (0, 0), (img.shape[1] - 1, h - 1), FLAG_COLOUR, b)
    draw_label(img, f"outlier {text}"[:80], "tr", (255, 255, 255), (160, 0, 0))
