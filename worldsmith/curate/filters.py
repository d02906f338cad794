"""Stage 3: clip scores and the thresholds that drop clips.

All scores are computed on small frames (shorter side `analysis_size`) sampled at
`sample_fps`, fed one at a time by the transcoder (`ClipAnalyzer.add`), so no clip is ever
held in memory whole.

- motion: Farneback optical flow (OpenCV) between a sampled frame and the *next* decoded
  frame, mean |flow| divided by (W + H) of the analysed frame. That is the unit of
  cosmos-curate's motion-vector score (|v| / (W + H) per frame), so the same floor
  (0.00098) applies. `motion_patch_min` is the smallest mean over patches of 256/480 of
  the frame (cosmos' 256 px patches at 480p).
- quality: sharpness (variance of the Laplacian), brightness and contrast (luma mean and
  std in 0..1), noise (Immerkaer's fast sigma estimate, in luma levels).
- text: fraction of the frame covered by text-like regions (gradient + horizontal closing
  + box shape tests) that stay in place in at least half of the sampled frames.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from .config import FilterConfig

_NOISE_KERNEL = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float32)


def flow_magnitude(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """|Farneback flow| [H, W] in pixels between two gray uint8 frames [H, W]."""
    flow = cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 3, 15, 3, 5, 1.2, 0)  # [H, W, 2]
    return np.sqrt((flow ** 2).sum(-1))


def patch_means(mag: np.ndarray, frac: float = 256 / 480) -> np.ndarray:
    """Means of `mag` over a grid of square patches with side `frac` of the shorter side."""
    h, w = mag.shape
    p = max(1, int(round(min(h, w) * frac)))
    return np.array([mag[y:y + p, x:x + p].mean() for y in range(0, h - p + 1, p)
                     for x in range(0, w - p + 1, p)] or [mag.mean()])


def quality_scores(gray: np.ndarray) -> dict[str, float]:
    """Sharpness, brightness, contrast and noise of one gray uint8 frame [H, W]."""
    g = gray.astype(np.float32)
    h, w = g.shape
    noise = 0.0
    if h > 2 and w > 2:
        conv = cv2.filter2D(g, -1, _NOISE_KERNEL)[1:-1, 1:-1]
        noise = float(np.abs(conv).sum() * math.sqrt(math.pi / 2) / (6.0 * (w - 2) * (h - 2)))
    return {"sharpness": float(cv2.Laplacian(g, cv2.CV_32F).var()), "brightness": float(g.mean() / 255.0),
            "contrast": float(g.std() / 255.0), "noise": noise}


def text_mask(gray: np.ndarray) -> np.ndarray:
    """Boolean [H, W] mask of text-like regions in a gray uint8 frame (OpenCV morphology)."""
    h, w = gray.shape
    grad = cv2.morphologyEx(gray, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))
    _, bw = cv2.threshold(grad, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    if (bw > 0).mean() > 0.5:  # Otsu on a nearly flat gradient: nothing to find
        return np.zeros_like(gray, dtype=bool)
    joined = cv2.morphologyEx(bw, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (max(3, w // 40), 1)))
    contours, _ = cv2.findContours(joined, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    mask = np.zeros_like(gray, dtype=np.uint8)
    for c in contours:
        x, y, bw_, bh = cv2.boundingRect(c)
        if bh < 4 or bh > h * 0.12 or bw_ < 2.0 * bh or bw_ > w * 0.95:
            continue  # text lines are short and wider than tall
        fill = cv2.countNonZero(bw[y:y + bh, x:x + bw_]) / float(bw_ * bh)
        if 0.2 <= fill <= 0.9:  # strokes, not solid bars or empty boxes
            mask[y:y + bh, x:x + bw_] = 1
    return mask.astype(bool)


class ClipAnalyzer:
    """Accumulates filter scores over a clip's frames, fed in order by the transcoder."""

    def __init__(self, fps: float, cfg: FilterConfig | None = None):
        self.cfg = cfg or FilterConfig()
        self.every = max(1, int(round(fps / self.cfg.sample_fps)))
        self._n = 0
        self._pending: np.ndarray | None = None  # sampled gray frame waiting for its successor
        self.motion: list[float] = []
        self.patch_min: list[float] = []
        self.quality: list[dict[str, float]] = []
        self._text_hits: np.ndarray | None = None
        self._text_n = 0

    def _small_gray(self, frame: np.ndarray) -> np.ndarray:
        h, w = frame.shape[:2]
        s = self.cfg.analysis_size / min(h, w)
        if s < 1:
            frame = cv2.resize(frame, (max(2, round(w * s)), max(2, round(h * s))), interpolation=cv2.INTER_AREA)
        return cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)

    def add(self, frame: np.ndarray) -> None:
        """Feed the next uint8 RGB frame [H, W, 3] of the clip."""
        i = self._n
        self._n += 1
        sampled = i % self.every == 0
        if self._pending is None and not sampled:
            return
        gray = self._small_gray(frame)
        if self._pending is not None:
            mag = flow_magnitude(self._pending, gray)
            self.motion.append(float(mag.mean() / sum(gray.shape)))
            self.patch_min.append(float(patch_means(mag).min() / sum(gray.shape)))
            self._pending = None
        if sampled:
            self._pending = gray
            self.quality.append(quality_scores(gray))
            tm = text_mask(gray)
            self._text_hits = tm.astype(np.int32) if self._text_hits is None else self._text_hits + tm
            self._text_n += 1

    def scores(self) -> dict[str, float]:
        """The clip's scores (means over sampled frames; motion also its patch minimum)."""
        out: dict[str, float] = {}
        out["motion"] = float(np.mean(self.motion)) if self.motion else 0.0
        out["motion_patch_min"] = float(np.mean(self.patch_min)) if self.patch_min else 0.0
        for k in ("sharpness", "brightness", "contrast", "noise"):
            out[k] = float(np.mean([q[k] for q in self.quality])) if self.quality else 0.0
        if self._text_hits is not None and self._text_n:
            out["text"] = float((self._text_hits >= max(1, math.ceil(self._text_n / 2))).mean())
        else:
            out["text"] = 0.0
        return {k: round(v, 7) for k, v in out.items()}


def drop_reasons(scores: dict, info: dict, cfg: FilterConfig | None = None) -> list[str]:
    """Why a clip with `scores` (and source `info`: width, height) fails the thresholds."""
    cfg = cfg or FilterConfig()
    why = []
    if info.get("height", 0) < cfg.min_height or info.get("width", 0) < cfg.min_width:
        why.append(f"resolution: {info.get('width')}x{info.get('height')} below {cfg.min_width}x{cfg.min_height}")
    checks = [("motion", cfg.motion_min, cfg.motion_max), ("sharpness", cfg.sharpness_min, None),
              ("brightness", cfg.brightness_min, cfg.brightness_max), ("contrast", cfg.contrast_min, None),
              ("noise", None, cfg.noise_max), ("text", None, cfg.text_max)]
    for name, lo, hi in checks:
        v = scores.get(name)
        if v is None:
            continue
        if lo is not None and v < lo:
            why.append(f"{name}: {v:.4g} < {lo:g}")
        if hi is not None and v > hi:
            why.append(f"{name}: {v:.4g} > {hi:g}")
    return why


def stage_of(reason: str) -> str:
    """The filter name a drop reason belongs to (for per-stage counts)."""
    name = reason.split(":", 1)[0]
    return {"sharpness": "quality", "brightness": "quality", "contrast": "quality", "noise": "quality"}.get(name, name)
