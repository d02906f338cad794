"""Stage 2: re-encode one clip (a time range of a source video) to H.264 MP4.

Clips are always re-encoded, never stream-copied: a stream copy can only start on a
keyframe, and files with one keyframe (both cosmos-curate fixtures) would not split.
Frames stream from the decoder to the encoder one at a time; observers (`on_frame`)
see each output frame on the way, which is how the filters and the embedding are
computed without decoding the clip a second time.
"""

from __future__ import annotations

import os
from typing import Callable

import numpy as np

from ..io import VideoError, VideoWriter, iter_frames
from .config import TranscodeConfig


def output_size(height: int, width: int, cfg: TranscodeConfig) -> int | tuple[int, int] | None:
    """The `size` argument for the decoder: shorter side `cfg.size`, never upscaling."""
    if cfg.size is None or min(height, width) <= cfg.size:
        return None
    return int(cfg.size)


def transcode_clip(src: str | os.PathLike, start_s: float, end_s: float, dst: str | os.PathLike,
                   cfg: TranscodeConfig | None = None, *, src_fps: float, src_hw: tuple[int, int],
                   on_frame: Callable[[np.ndarray], None] | None = None) -> dict:
    """Write frames `start_s <= t < end_s` of `src` to `dst` (atomic) -> {frames, fps, height, width}.

    The output is at `cfg.fps` (frames dropped, never duplicated; the source rate when it is
    lower or None) and `cfg.size` on the shorter side; odd sizes are cropped to even.
    """
    cfg = cfg or TranscodeConfig()
    fps = float(src_fps)
    sample = None
    if cfg.fps is not None and cfg.fps < src_fps - 1e-6:
        fps = sample = float(cfg.fps)
    size = output_size(*src_hw, cfg)
    n, shape = 0, None
    with VideoWriter(dst, fps, quality=cfg.quality, preset=cfg.preset) as w:
        for _, _, frame in iter_frames(src, start_s=start_s, end_s=end_s, fps=sample, size=size):
            h, wd = frame.shape[:2]
            frame = frame[: h - h % 2, : wd - wd % 2]  # H.264 4:2:0 needs even sizes
            w.write(frame)
            if on_frame is not None:
                on_frame(frame)
            n, shape = n + 1, frame.shape
        if n == 0:
            raise VideoError(f"{src}: no frames in {start_s:.3f}-{end_s:.3f} s")
    return {"frames": n, "fps": fps, "height": int(shape[0]), "width": int(shape[1])}
