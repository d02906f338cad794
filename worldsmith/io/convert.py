"""Transcode one video to H.264 MP4 or a GIF preview, streaming frames (bounded memory)."""

from __future__ import annotations

import os

from ..utils.progress import progress
from .errors import VideoError
from .probe import frame_table, probe_video
from .reader import iter_frames
from .transforms import Size
from .writer import VideoWriter, write_gif

_MAX_GIF_FRAMES = 2000  # a GIF is a preview; longer ones should be sampled with fps


def convert_video(src: str | os.PathLike, dst: str | os.PathLike, *, fps: float | None = None,
                  size: Size | None = None, quality: int = 18, lossless: bool = False,
                  start_s: float | None = None, end_s: float | None = None,
                  preset: str = "medium") -> dict:
    """Re-encode `src` into `dst` (.mp4, .m4v, .mov, .mkv: H.264; .gif: preview), atomically.

    `fps` resamples to a constant rate (nearest frame per tick, never duplicating); without
    it every frame keeps its timestamp, so a variable-frame-rate source stays VFR (MP4).
    `size` is (h, w) or an int for the shorter side.
    Returns a summary dict (frames written, fps, size, output path).
    """
    src, dst = os.fspath(src), os.fspath(dst)
    ext = os.path.splitext(dst)[1].lower()
    if ext not in (".mp4", ".m4v", ".mov", ".mkv", ".gif"):
        raise VideoError(f"output: expected a .mp4 or .gif path (or .m4v/.mov/.mkv), got {dst}")
    if os.path.abspath(src) == os.path.abspath(dst):
        raise VideoError(f"output: {dst} is the input file; choose another path")
    info = probe_video(src)
    out_fps = float(fps) if fps else info.fps
    if not out_fps or out_fps <= 0:
        raise VideoError(f"{src}: frame rate unknown, pass --fps")
    span = (end_s if end_s is not None else info.duration) - (start_s or 0.0)
    total = max(1, int(round(span * out_fps))) if fps else info.num_frames or None
    frames = iter_frames(src, start_s=start_s, end_s=end_s, fps=fps, size=size)
    bar = progress(total=total, desc=f"convert {os.path.basename(src)}", unit="frame")
    n, shape = 0, None
    try:
        if ext == ".gif":
            kept = []
            for _, _, f in frames:
                if len(kept) >= _MAX_GIF_FRAMES:
                    raise VideoError(f"output: a GIF preview is limited to {_MAX_GIF_FRAMES} frames; "
                                     "pass a lower --fps")
                kept.append(f)
                bar.update(1)
            if not kept:
                raise VideoError(f"{src}: no frames to write")
            import numpy as np

            write_gif(dst, np.stack(kept), out_fps)
            n, shape = len(kept), kept[0].shape
        else:
            # without resampling, keep the source's time base and timestamps (exact VFR copy)
            tb = None if fps else frame_table(src).time_base
            t0 = None
            with VideoWriter(dst, out_fps, quality=quality, lossless=lossless, preset=preset, time_base=tb) as w:
                for _, t, f in frames:
                    t0 = t if t0 is None else t0
                    w.write(f, timestamps=None if fps else [t - t0])
                    n, shape = n + 1, f.shape
                    bar.update(1)
    finally:
        bar.close()
    return {"output": dst, "frames": n, "fps": out_fps, "height": int(shape[0]), "width": int(shape[1]),
            "codec": "gif" if ext == ".gif" else ("h264 lossless rgb" if lossless else f"h264 crf {quality}")}
