"""Optical-flow shift of track poses onto the current frame (pyramidal Lucas-Kanade).

OpenCV is imported on first use so that importing the tracker stays light.
"""

from __future__ import annotations

import numpy as np

from posekit.errors import DataError

_LK_CRITERIA_COUNT = 20  # iterations per pyramid level
_LK_CRITERIA_EPS = 0.03  # px; sub-pixel accuracy is plenty for matching
_FB_MAX_ERROR = 2.0  # px; forward-backward round-trip error above which a node is not trusted


def to_gray(image: np.ndarray, frame_idx: int) -> np.ndarray:
    """Frame image ``(H, W)``, ``(H, W, 1)``, ``(H, W, 3)`` or ``(H, W, 4)`` (RGB[A]) as
    contiguous ``uint8`` ``(H, W)``. Float images are taken to be in ``[0, 1]`` when their
    maximum is at most 1, else in ``[0, 255]``.

    Raises:
        DataError: the array is not an image of one of those shapes.
    """
    img = np.asarray(image)
    if img.ndim == 3 and img.shape[2] in (1, 3, 4):
        if img.shape[2] == 1:
            img = img[:, :, 0]
        else:
            img = img[:, :, :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    if img.ndim != 2 or min(img.shape) < 2:
        raise DataError(
            f"frame {frame_idx}: image of shape {np.shape(image)} cannot be used for optical "
            "flow; expected (H, W), (H, W, 1) or (H, W, 3). Pass the decoded frame, or set "
            "tracking.optical_flow to false."
        )
    if img.dtype != np.uint8:
        img = img.astype(np.float32)
        if img.size and np.nanmax(img) <= 1.0:
            img = img * 255.0
        img = np.clip(np.nan_to_num(img), 0, 255).round().astype(np.uint8)
    return np.ascontiguousarray(img)


def flow_shift(
    points: np.ndarray,
    previous: np.ndarray,
    current: np.ndarray,
    window_size: int = 21,
    max_levels: int = 3,
) -> np.ndarray:
    """Move poses from the ``previous`` grey image to where the flow puts them in ``current``.

    Args:
        points: ``(m, K, 2)`` poses on ``previous`` (NaN = missing node).
        previous, current: ``uint8`` ``(H, W)`` images of the same size.
        window_size: Lucas-Kanade window side in pixels.
        max_levels: pyramid levels above full resolution.

    Returns:
        ``(m, K, 2)`` shifted poses. A node is trusted when the flow finds it forwards
        and backwards and the round trip ends within 2 px of its start; an untrusted node
        moves by the median displacement of its instance's trusted nodes, and an instance
        with none stays where it was. Missing nodes stay NaN.
    """
    import cv2

    out = np.array(points, dtype=np.float64, copy=True)
    vis = np.isfinite(out).all(axis=-1)
    if not vis.any():
        return out
    src = out[vis].astype(np.float32)
    # Work on the part of the images the search can reach: at pyramid level L the window
    # covers window_size * 2**L / 2 px around a point, so a margin of window_size * 2**L
    # leaves LK the same data as the full frame while skipping the rest of a large image.
    margin = window_size * 2**max_levels
    h, w = previous.shape
    x0, y0 = (np.floor(src.min(axis=0)) - margin).clip(0).astype(int)
    x1, y1 = np.ceil(src.max(axis=0)) + margin + 1
    x1, y1 = int(min(max(x1, x0 + 1), w)), int(min(max(y1, y0 + 1), h))
    prev_crop, cur_crop = previous[y0:y1, x0:x1], current[y0:y1, x0:x1]
    src = (src - np.array([x0, y0], np.float32)).reshape(-1, 1, 2)
    criteria = (
        cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT,
        _LK_CRITERIA_COUNT,
        _LK_CRITERIA_EPS,
    )
    lk = {"winSize": (window_size, window_size), "maxLevel": max_levels, "criteria": criteria}
    dst, status, _err = cv2.calcOpticalFlowPyrLK(prev_crop, cur_crop, src, None, **lk)
    # Forward-backward check: a node is trusted only if flowing it back lands near its start.
    back, status_back, _err = cv2.calcOpticalFlowPyrLK(cur_crop, prev_crop, dst, None, **lk)
    round_trip = np.linalg.norm((back - src).reshape(-1, 2), axis=1)
    moved = (dst.reshape(-1, 2) - src.reshape(-1, 2)).astype(np.float64)
    found = (
        status.reshape(-1).astype(bool)
        & status_back.reshape(-1).astype(bool)
        & (round_trip <= _FB_MAX_ERROR)
        & np.isfinite(moved).all(axis=1)
    )
    disp = np.full(out.shape, np.nan)
    disp[vis] = np.where(found[:, None], moved, np.nan)
    # Per-instance fallback for lost nodes: the median of the nodes the flow did track.
    tracked = np.isfinite(disp).all(axis=-1)
    has_any = tracked.any(axis=1)
    median = np.zeros((len(out), 2))
    if has_any.any():
        median[has_any] = np.nanmedian(disp[has_any], axis=1)
    disp = np.where(tracked[..., None], disp, median[:, None, :])
    return out + disp
