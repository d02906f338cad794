"""Physics-IQ-style motion-mask metrics (no network weights: classical background subtraction).

Physics-IQ (arXiv 2501.09038) compares *where and when things move* in the real and the
generated continuation. Motion masks come from a running-average background, an absolute
difference, a threshold (10 grey levels) and a morphological clean-up; then:

- spatial IoU: IoU of "moved at any time" maps;
- spatiotemporal IoU: per-frame mask IoU averaged over frames;
- weighted spatial IoU: sum(min(a, b)) / sum(max(a, b)) of per-pixel motion counts;
- MSE of the frames in [0, 1].

frames: uint8 [T, H, W, 3]; masks: bool [T, H, W].
"""

from __future__ import annotations

import cv2
import numpy as np


def motion_masks(frames: np.ndarray, threshold: float = 10.0, alpha: float = 0.5,
                 kernel: int = 3, background: np.ndarray | None = None) -> np.ndarray:
    """Running-average background subtraction -> bool [T, H, W] (frame 0 vs `background`).

    `background` (uint8 [H, W, 3]) seeds the running average, e.g. the last conditioning
    frame, so that motion in the first predicted frame is measured against what came before.
    """
    grey = frames.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)  # [T, H, W]
    bg = grey[0].copy() if background is None else (
        background.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32))
    k = np.ones((kernel, kernel), np.uint8)
    out = np.zeros(grey.shape, bool)
    for t in range(len(grey)):
        m = (np.abs(grey[t] - bg) > threshold).astype(np.uint8)
        if kernel > 1:
            m = cv2.morphologyEx(m, cv2.MORPH_OPEN, k)  # drop single-pixel noise
        out[t] = m.astype(bool)
        bg = alpha * grey[t] + (1 - alpha) * bg
    return out


def spatial_iou(pred: np.ndarray, true: np.ndarray) -> float:
    """IoU of the union-over-time motion maps; 1.0 when neither moves anywhere."""
    a, b = pred.any(0), true.any(0)
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


def spatiotemporal_iou(pred: np.ndarray, true: np.ndarray) -> float:
    """Mean over frames of per-frame motion-mask IoU (frames where both are still count 1)."""
    inter = np.logical_and(pred, true).sum((1, 2))
    union = np.logical_or(pred, true).sum((1, 2))
    per = np.where(union == 0, 1.0, inter / np.maximum(union, 1))
    return float(per.mean())


def weighted_spatial_iou(pred: np.ndarray, true: np.ndarray) -> float:
    """sum(min)/sum(max) of how many frames each pixel moved in; 1.0 when neither moves."""
    a, b = pred.sum(0).astype(np.float64), true.sum(0).astype(np.float64)
    den = np.maximum(a, b).sum()
    return 1.0 if den == 0 else float(np.minimum(a, b).sum() / den)


def frame_mse(pred: np.ndarray, true: np.ndarray) -> float:
    """Mean squared error of uint8 frames scaled to [0, 1]."""
    d = pred.astype(np.float64) / 255.0 - true.astype(np.float64) / 255.0
    return float((d * d).mean())


def motion_scores(pred_frames: np.ndarray, true_frames: np.ndarray,
                  last_cond: np.ndarray | None = None, threshold: float = 10.0) -> dict:
    """All four Physics-IQ scores for one predicted continuation against the truth."""
    mp = motion_masks(pred_frames, threshold, background=last_cond)
    mt = motion_masks(true_frames, threshold, background=last_cond)
    return {
        "spatial_iou": spatial_iou(mp, mt),
        "spatiotemporal_iou": spatiotemporal_iou(mp, mt),
        "weighted_spatial_iou": weighted_spatial_iou(mp, mt),
        "mse": frame_mse(pred_frames, true_frames),
    }
