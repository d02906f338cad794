"""Video I/O speed on CPU: probe, sequential decode, frame-accurate random access, encode.

Uses the shared test videos (/work/shared/test-videos) and a synthetic 121-frame 256 px clip.

    .venv/bin/python benchmarks/bench_io.py
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np

from worldsmith.io import decode_video, encode_video, iter_frames, probe_video, read_video
from worldsmith.io.probe import _frame_table_cached


def _time(fn, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def _clip(t: int = 121, h: int = 256, w: int = 256) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    frames = np.empty((t, h, w, 3), np.uint8)  # a moving smooth pattern, like rendered sim frames
    for i in range(t):
        frames[i, ..., 0] = (xx + 2 * i) % 256
        frames[i, ..., 1] = (yy + i) % 256
        frames[i, ..., 2] = ((xx + yy) // 2 + 3 * i) % 256
    return frames


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--videos", default=os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), os.pardir, "shared", "test-videos"))
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    V, R = args.videos, args.repeats
    tv = os.path.join(V, "pyscenedetect/testvideo.mp4")       # 720p, 720 frames, 4 keyframes
    big = os.path.join(V, "video2dataset/test_video.mp4")     # 1080p, 3678 frames, 23 keyframes
    print(f"machine: {platform.machine()}, {os.cpu_count()} cpus, load {os.getloadavg()[0]:.1f}")
    rows = []

    _frame_table_cached.cache_clear()
    dt, _ = _time(lambda: probe_video(big), 1)
    rows.append(("probe_video, 3678-frame MP4, first call (demux packet table)", f"{dt * 1e3:.0f} ms"))
    dt, _ = _time(lambda: probe_video(big), R)
    rows.append(("probe_video, same file again (table cached)", f"{dt * 1e3:.0f} ms"))
    dt, n = _time(lambda: sum(1 for _ in iter_frames(tv)), 1)
    rows.append(("iter_frames 720p, full size RGB", f"{n / dt:.0f} frames/s"))
    dt, n = _time(lambda: sum(1 for _ in iter_frames(tv, size=256)), 1)
    rows.append(("iter_frames 720p -> shorter side 256", f"{n / dt:.0f} frames/s"))
    dt, _ = _time(lambda: read_video(tv, frame_indices=[650]), R)
    rows.append(("read_video(frame_indices=[650]) 720p (keyframe 394 before it)", f"{dt * 1e3:.0f} ms"))
    idx = np.linspace(0, 3677, 8).round().astype(int)
    dt, _ = _time(lambda: read_video(big, frame_indices=idx, size=224), 1)
    rows.append(("8 uniform frames of 1080p 3678-frame file", f"{dt:.2f} s"))

    clip = _clip()
    settings = [("lossless (libx264rgb qp 0)", {"lossless": True}), ("crf 18", {"quality": 18}),
                ("lossless, preset veryfast", {"lossless": True, "preset": "veryfast"})]
    for name, kw in settings:
        dt, data = _time(lambda kw=kw: encode_video(clip, 24, **kw), R)
        dd, back = _time(lambda data=data: decode_video(data), R)
        exact = np.array_equal(back, clip)
        result = (f"{len(clip) / dt:.0f} frames/s, {len(data) / 1e6:.2f} MB, "
                  f"decode {len(clip) / dd:.0f} frames/s, bit-exact {exact}")
        rows.append((f"encode 121x256x256 {name}", result))

    print("| operation | result |\n|---|---|")
    for k, v in rows:
        print(f"| {k} | {v} |")


if __name__ == "__main__":
    main()
