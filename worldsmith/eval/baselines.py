"""Physics-free baselines that every world-model score is reported against.

Given K conditioning frames, each baseline predicts the next `n` frames:

- copy-last-frame: repeat the last conditioning frame (the only baseline possible at K = 1);
- pixel-linear: x_K + k * (x_K - x_{K-1});
- object constant-velocity / constant-acceleration: fit each moving object's centroid over
  the conditioning frames with a degree-1 / degree-2 polynomial in time, then re-render:
  the object's sprite from the last frame where it was visible, pasted at the extrapolated
  centroid over a background with the moving objects removed (pixels uncovered in an
  earlier conditioning frame are taken from it; the rest are inpainted).

A model earns credit only where it beats these, which in practice is after contact.
frames uint8 [K, H, W, 3]; seg int [K, H, W]; outputs uint8 [n, H, W, 3].
"""

from __future__ import annotations

import cv2
import numpy as np

from .objects import centroids


def copy_last(cond: np.ndarray, n: int) -> np.ndarray:
    """Repeat the last conditioning frame n times."""
    return np.repeat(cond[-1:], n, axis=0)


def pixel_linear(cond: np.ndarray, n: int) -> np.ndarray:
    """Linear extrapolation of every pixel from the last two frames (copy-last at K = 1)."""
    if len(cond) < 2:
        return copy_last(cond, n)
    last = cond[-1].astype(np.float32)
    step = last - cond[-2].astype(np.float32)
    k = np.arange(1, n + 1, dtype=np.float32)[:, None, None, None]
    return np.clip(np.rint(last[None] + k * step[None]), 0, 255).astype(np.uint8)


def clean_background(cond: np.ndarray, seg: np.ndarray, moving_ids: list[int]) -> np.ndarray:
    """The last frame with the moving objects removed: uncovered pixels from earlier frames, rest inpainted."""
    bg = cond[-1].copy()
    hole = np.isin(seg[-1], moving_ids)
    for t in range(len(cond) - 2, -1, -1):  # newest first: lighting/shadows closest to now
        if not hole.any():
            break
        free = hole & ~np.isin(seg[t], moving_ids)
        bg[free] = cond[t][free]
        hole &= ~free
    if hole.any():
        # dilate a little so the object's anti-aliased rim is repainted too
        m = cv2.dilate(hole.astype(np.uint8), np.ones((3, 3), np.uint8))
        bg = cv2.inpaint(bg, m, 3, cv2.INPAINT_TELEA)
    return bg


def _fit_trajectory(times: np.ndarray, pts: np.ndarray, degree: int, future: np.ndarray) -> np.ndarray:
    """Least-squares polynomial fit of pts [N, 2] over times [N]; evaluate at future [n] -> [n, 2]."""
    degree = min(degree, len(times) - 1)
    if degree <= 0:
        return np.repeat(pts[-1:], len(future), axis=0)
    # centre time for conditioning of the Vandermonde system
    t0 = times[-1]
    coefs = [np.polyfit(times - t0, pts[:, d], degree) for d in range(2)]
    return np.stack([np.polyval(c, future - t0) for c in coefs], -1)


def object_extrapolation(cond: np.ndarray, seg: np.ndarray, moving_ids: list[int], n: int,
                         degree: int) -> np.ndarray:
    """Constant-velocity (degree 1) or constant-acceleration (degree 2) object baseline."""
    K, H, W, _ = cond.shape
    bg = clean_background(cond, seg, moving_ids)
    out = np.repeat(bg[None], n, axis=0)
    future = np.arange(K, K + n, dtype=np.float64)
    for sid in moving_ids:
        masks = seg == sid  # [K, H, W]
        c = centroids(masks)  # [K, 2]
        vis = ~np.isnan(c[:, 0])
        if not vis.any():
            continue
        times = np.flatnonzero(vis).astype(np.float64)
        traj = _fit_trajectory(times, c[vis], degree, future)  # [n, 2]
        t_last = int(times[-1])
        ys, xs = np.nonzero(masks[t_last])
        colours = cond[t_last][ys, xs]  # the sprite: [P, 3]
        dy, dx = ys - c[t_last, 0], xs - c[t_last, 1]
        for k in range(n):
            py = np.rint(traj[k, 0] + dy).astype(int)
            px = np.rint(traj[k, 1] + dx).astype(int)
            ok = (py >= 0) & (py < H) & (px >= 0) & (px < W)
            out[k, py[ok], px[ok]] = colours[ok]
    return out


def constant_velocity(cond: np.ndarray, seg: np.ndarray, moving_ids: list[int], n: int) -> np.ndarray:
    """Objects keep their fitted velocity."""
    return object_extrapolation(cond, seg, moving_ids, n, degree=1)


def constant_acceleration(cond: np.ndarray, seg: np.ndarray, moving_ids: list[int], n: int) -> np.ndarray:
    """Objects keep their fitted acceleration (nearly solves ballistic flight, fails at contact)."""
    return object_extrapolation(cond, seg, moving_ids, n, degree=2)


BASELINES = {
    "copy_last": lambda cond, seg, ids, n: copy_last(cond, n),
    "pixel_linear": lambda cond, seg, ids, n: pixel_linear(cond, n),
    "const_velocity": constant_velocity,
    "const_acceleration": constant_acceleration,
}
