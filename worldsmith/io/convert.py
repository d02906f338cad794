"""Transcode one video to H.264 (MP4/MOV/MKV) or a GIF preview, streaming frames (bounded memory)."""

from __future__ import annotations

import os

import numpy as np

from ..utils.progress import progress
from .errors import VideoError
from .probe import VideoInfo, frame_table, probe_video
from .reader import iter_frames
from .transforms import Size
from .writer import VideoWriter, write_gif

_MAX_GIF_FRAMES = 2000  # a GIF is a preview; longer ones should be sampled with fps
_OUTPUTS = (".mp4", ".m4v", ".mov", ".mkv", ".gif")


def convert_video(src: str | os.PathLike, dst: str | os.PathLike, *, fps: float | None = None,
                  size: Size | None = None, quality: int = 18, lossless: bool = False,
                  start_s: float | None = None, end_s: float | None = None,
                  preset: str = "medium") -> dict:
    """Re-encode `src` into `dst` (.mp4, .m4v, .mov, .mkv: H.264; .gif: preview), atomically.

    `fps` resamples to a constant rate (nearest frame per tick, never duplicating); without
    it every frame keeps its timestamp, so a variable-frame-rate source stays VFR.
    `size` is (h, w) or an int for the shorter side. Frames are turned upright first
    (display rotation applied, as players do). Lossy output needs even sizes: without
    `size`, an odd last row/column is dropped. Returns a summary dict.
    """
    src, dst = os.fspath(src), os.fspath(dst)
    ext = os.path.splitext(dst)[1].lower()
    if ext not in _OUTPUTS:
        raise VideoError(f"output: expected a .mp4 or .gif path (or .m4v/.mov/.mkv), got {dst}")
    if os.path.abspath(src) == os.path.abspath(dst):
        raise VideoError(f"output: {dst} is the input file; choose another path")
    info = probe_video(src)
    out_fps = float(fps) if fps else info.fps
    if not out_fps or out_fps <= 0:
        raise VideoError(f"{src}: frame rate unknown, pass --fps")
    span = (end_s if end_s is not None else info.duration) - (start_s or 0.0)
    total = max(1, round(span * (fps or info.fps)))
    crop = _even_crop(info, size) if (ext != ".gif" and not lossless) else None
    frames = iter_frames(src, start_s=start_s, end_s=end_s, fps=fps, size=size, crop=crop, autorotate=True)
    bar = progress(total=total, desc=f"convert {os.path.basename(src)}", unit="frame")
    try:
        if ext == ".gif":
            n, shape = _to_gif(frames, dst, out_fps, bar)
        else:
            # without resampling, keep the source's time base and timestamps (exact VFR copy)
            tb = None if fps else frame_table(src).time_base
            n, shape = _to_h264(frames, dst, out_fps, bar, keep_times=not fps, time_base=tb,
                                quality=quality, lossless=lossless, preset=preset)
    finally:
        bar.close()
    if n == 0:
        raise VideoError(f"{src}: no frames in the requested range")
    return {"output": dst, "frames": n, "fps": out_fps, "height": int(shape[0]), "width": int(shape[1]),
            "codec": "gif" if ext == ".gif" else ("h264 lossless rgb" if lossless else f"h264 crf {quality}")}


def _even_crop(info: VideoInfo, size: Size | None) -> tuple[int, int, int, int] | None:
    """A (top, left, h, w) box dropping an odd last row/column (yuv420p needs even sizes)."""
    if size is not None:
        return None  # the caller chose the size; an odd one gets the writer's clear error
    h, w = (info.width, info.height) if info.rotation in (90, 270) else (info.height, info.width)
    if h % 2 == 0 and w % 2 == 0:
        return None
    return 0, 0, h - h % 2, w - w % 2


def _to_gif(frames, dst: str, fps: float, bar) -> tuple[int, tuple]:
    kept = []
    for _, _, f in frames:
        if len(kept) >= _MAX_GIF_FRAMES:
            raise VideoError(f"output: a GIF preview is limited to {_MAX_GIF_FRAMES} frames; pass a lower --fps")
        kept.append(f)
        bar.update(1)
    if kept:
        write_gif(dst, np.stack(kept), fps)
    return len(kept), (kept[0].shape if kept else None)


def _to_h264(frames, dst: str, fps: float, bar, *, keep_times: bool, time_base, quality: int,
             lossless: bool, preset: str) -> tuple[int, tuple]:
    n, shape, t0 = 0, None, None
    writer = VideoWriter(dst, fps, quality=quality, lossless=lossless, preset=preset, time_base=time_base)
    with writer as w:
        for _, t, f in frames:
            t0 = t if t0 is None else t0
            w.write(f, timestamps=[t - t0] if keep_times else None)
            n, shape = n + 1, f.shape
            bar.update(1)
        if n == 0:
            raise VideoError(f"output: no frames to write to {dst}")
    return n, shape
