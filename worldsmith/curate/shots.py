"""Stage 1: shot detection and clip planning.

The built-in detector works on small frames decoded straight to (72, 128) by FFmpeg:
per frame it takes CIE Lab, normalises the luma to zero mean / unit spread, and scores
the change from the previous frame as the mean absolute difference of normalised luma
plus chroma. Normalising the luma makes fades (a global brightness ramp) nearly free,
and the adaptive test (a cut must stand `ratio` x above the mean score of its
neighbours) keeps fast motion, where every frame changes a lot, from cutting.

`plan_clips` turns cuts into clips: blank (black/white) frames are trimmed from each
shot, `crop_s` is taken off each end, shots shorter than `min_clip_s` are dropped and
shots longer than `max_clip_s` are cut into equal windows.
"""

from __future__ import annotations

import collections
import dataclasses
import math
import os

import cv2
import numpy as np

from .config import ShotConfig


@dataclasses.dataclass
class ShotResult:
    """Per-frame detection results for one video."""
    cuts: list[int]                 # first frame index of each new shot (0-based decoded frames)
    timestamps: np.ndarray          # float64 [T] seconds since the first frame
    scores: np.ndarray              # float32 [T] change score vs the previous frame
    blank: np.ndarray               # bool [T] black / white / flat frames
    fps: float
    duration: float                 # seconds (last timestamp + one frame)

    @property
    def num_frames(self) -> int:
        return len(self.timestamps)


class FrameScorer:
    """Streaming change score: feed frames one at a time, read scores and blank flags.

    `revisit[t]` is the smallest change between a frame just before t and one up to
    `flash_frames` after it (either side of t): small when the picture at t is a transient
    (a camera flash, a dropped frame, a glitch) and the shot carries on, so no cut.
    """

    def __init__(self, cfg: ShotConfig | None = None):
        self.cfg = cfg or ShotConfig()
        self.scores: list[float] = []
        self.blank: list[bool] = []
        self.revisit: list[float] = []
        self._hist: collections.deque = collections.deque(maxlen=self.cfg.flash_frames + 2)

    @staticmethod
    def _diff(a: np.ndarray, b: np.ndarray) -> float:
        # mean |normalised luma diff| + mean |chroma diff| (chroma weights fold in the 1/2)
        return float(cv2.norm(a, b, cv2.NORM_L1)) / (a.shape[0] * a.shape[1])

    def add(self, frame: np.ndarray) -> float:
        """Score uint8 RGB [H, W, 3] (ideally already small) against the previous frame."""
        lab = cv2.cvtColor(frame, cv2.COLOR_RGB2LAB).astype(np.float32)  # [H, W, 3], 0..255
        luma = lab[..., 0]
        mu, sd = cv2.meanStdDev(luma)
        mu, sd = float(mu[0, 0]), float(sd[0, 0])
        # fades scale the luma, so the normalised luma stays put; chroma x 4/255 on 0..255,
        # halved because both chroma channels are summed per pixel
        feat = lab * np.float32(2.0 / 255.0)
        feat[..., 0] = (luma - mu) / (sd + 4.0)
        n = len(self.scores)
        h = self._hist  # features of frames n-1, n-2, ... (most recent last)
        s = self._diff(h[-1], feat) if h else 0.0
        self.revisit.append(float("inf"))
        for j in range(1, len(h)):  # pairs (n-1-j, n) straddle candidate cuts at n and n-j+1 .. n
            d = self._diff(h[-1 - j], feat)
            for t in range(n - j + 1, n + 1):
                self.revisit[t] = min(self.revisit[t], d)
        h.append(feat)
        self.scores.append(s)
        c = self.cfg
        self.blank.append(sd < c.blank_luma_std and (mu < c.blank_luma_dark or mu > 255 - c.blank_luma_dark))
        return s


def find_cuts(scores: np.ndarray, fps: float, cfg: ShotConfig | None = None,
              revisit: np.ndarray | None = None) -> list[int]:
    """Frame indices where a new shot starts, from per-frame change scores (adaptive test);
    with `revisit` (from FrameScorer), transients whose shot carries on are not cuts."""
    cfg = cfg or ShotConfig()
    s = np.asarray(scores, dtype=np.float64)
    n = len(s)
    if n < 2:
        return []
    w = max(1, int(cfg.window))
    k = np.ones(2 * w + 1)
    s0 = s.copy()
    s0[0] = 0.0  # frame 0 has no predecessor
    valid = np.ones(n)
    valid[0] = 0.0
    nb_sum = np.convolve(s0, k, mode="same") - s0          # neighbours only, centre excluded
    nb_cnt = np.convolve(valid, k, mode="same") - valid
    base = nb_sum / np.maximum(nb_cnt, 1.0)
    cand = np.flatnonzero((s >= cfg.min_score) & (s >= cfg.ratio * (base + 0.02)))
    cand = cand[cand > 0]
    if revisit is not None:
        cand = cand[np.asarray(revisit, dtype=np.float64)[cand] >= cfg.min_score]
    min_gap = max(1, int(round(cfg.min_shot_s * fps)))
    cuts: list[int] = []
    for t in cand.tolist():
        if cuts and t - cuts[-1] < min_gap:
            if s[t] > s[cuts[-1]]:
                cuts[-1] = t
            continue
        cuts.append(t)
    return cuts


def detect_shots(path: str | os.PathLike, cfg: ShotConfig | None = None) -> ShotResult:
    """Decode `path` once at low resolution (streaming, bounded memory) and find its cuts."""
    from ..io import iter_frames, probe_video

    cfg = cfg or ShotConfig()
    info = probe_video(path)
    scorer = FrameScorer(cfg)
    times: list[float] = []
    frames_small: list[np.ndarray] | None = [] if cfg.detector == "transnetv2" else None
    size = (27, 48) if frames_small is not None else tuple(cfg.analysis_size)
    for _, ts, frame in iter_frames(path, size=size):
        scorer.add(frame)
        times.append(ts)
        if frames_small is not None:
            frames_small.append(frame)  # 48x27x3 = 3.9 kB per frame
    t = np.asarray(times, dtype=np.float64)
    fps = float(info.fps) if info.fps and info.fps > 0 else 25.0
    scores = np.asarray(scorer.scores, dtype=np.float32)
    if frames_small is not None:
        from .transnet import transnet_cuts

        cuts = transnet_cuts(np.stack(frames_small), cfg.transnet_threshold) if frames_small else []
    else:
        cuts = find_cuts(scores, fps, cfg, np.asarray(scorer.revisit))
    duration = float(t[-1] + 1.0 / fps) if len(t) else 0.0
    return ShotResult(cuts=cuts, timestamps=t, scores=scores, blank=np.asarray(scorer.blank, dtype=bool),
                      fps=fps, duration=duration)


def shot_ranges(result: ShotResult) -> list[tuple[int, int]]:
    """[(first, end)) frame ranges of the shots."""
    bounds = [0] + [c for c in result.cuts if 0 < c < result.num_frames] + [result.num_frames]
    return [(a, b) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]


def _frame_time(result: ShotResult, i: int) -> float:
    return float(result.timestamps[i]) if i < result.num_frames else result.duration


def plan_clips(result: ShotResult, cfg: ShotConfig | None = None) -> tuple[list[dict], list[dict]]:
    """Turn shots into clip spans -> (clips, dropped).

    Each clip is {"shot": i, "start_s", "end_s"} (half-open seconds); each dropped shot is
    {"shot": i, "start_s", "end_s", "reason"}.
    """
    cfg = cfg or ShotConfig()
    clips, dropped = [], []
    for si, (a, b) in enumerate(shot_ranges(result)):
        t0, t1 = _frame_time(result, a), _frame_time(result, b)
        blank = result.blank[a:b]
        nz = np.flatnonzero(~blank)
        if len(nz) == 0:
            dropped.append({"shot": si, "start_s": t0, "end_s": t1, "reason": "blank shot"})
            continue
        # trim blank frames at both ends, then the fixed crop
        s0 = _frame_time(result, a + int(nz[0])) + cfg.crop_s
        s1 = _frame_time(result, a + int(nz[-1]) + 1) - cfg.crop_s
        if s1 - s0 < cfg.min_clip_s - 1e-6:
            dropped.append({"shot": si, "start_s": t0, "end_s": t1,
                            "reason": f"shorter than {cfg.min_clip_s:g} s after trimming"})
            continue
        n = max(1, math.ceil((s1 - s0) / cfg.max_clip_s - 1e-9))
        step = (s1 - s0) / n
        for j in range(n):
            clips.append({"shot": si, "start_s": round(s0 + j * step, 6), "end_s": round(s0 + (j + 1) * step, 6)})
    return clips, dropped
