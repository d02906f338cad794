"""Shared fixtures for the video I/O tests: the shared test videos and small synthetic clips.

Synthetic clips burn each frame's index into the picture as 8 big black/white blocks
(a binary number), so a test can read back *which* frame it got, independently of the
reader's own bookkeeping.
"""

from __future__ import annotations

import json
import os
from fractions import Fraction

import numpy as np
import pytest

VIDEOS = os.path.normpath(os.environ.get("WORLDSMITH_TEST_VIDEOS") or os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), os.pardir, "shared", "test-videos"))  # the shared test videos beside the repo


@pytest.fixture(scope="session")
def videos() -> str:
    if not os.path.isdir(VIDEOS):
        pytest.skip(f"shared test videos not present at {VIDEOS}")
    return VIDEOS


@pytest.fixture(scope="session")
def ground_truth(videos) -> dict:
    with open(os.path.join(videos, "ground_truth.json")) as f:
        gt = json.load(f)
    return {k: v for k, v in gt.items() if not k.startswith("_")}


def counter_frames(n: int, h: int = 64, w: int = 128) -> np.ndarray:
    """uint8 [n, h, w, 3]: a smooth colour gradient plus frame index i as 8 bit-blocks on top."""
    yy, xx = np.mgrid[0:h, 0:w]
    frames = np.empty((n, h, w, 3), np.uint8)
    for i in range(n):
        frames[i, ..., 0] = (xx * 200 // w + 3 * i) % 256
        frames[i, ..., 1] = yy * 200 // h
        frames[i, ..., 2] = 90
        for b in range(8):
            bw = w // 8
            frames[i, : h // 2, b * bw:(b + 1) * bw] = 235 if (i >> b) & 1 else 16
    return frames


def read_counter(frame: np.ndarray) -> int:
    """The index burned in by `counter_frames` (works after lossy coding and resizing)."""
    h, w = frame.shape[:2]
    bw = w // 8
    bits = [frame[h // 8: 3 * h // 8, b * bw + bw // 4:(b + 1) * bw - bw // 4].mean() > 128 for b in range(8)]
    return sum(int(v) << b for b, v in enumerate(bits))


def encode_with(path: str, frames: np.ndarray, codec: str, *, rate: int = 25, gop: int = 10,
                bframes: int = 2, pts: list[int] | None = None, time_base: Fraction | None = None) -> str:
    """Encode `frames` with any PyAV encoder (libx265, mpeg4, libx264 ...) into `path`.

    `pts`/`time_base` give explicit (e.g. variable-rate) timestamps.
    """
    import av

    with av.open(path, "w") as c:
        s = c.add_stream(codec, rate=rate)
        s.height, s.width = frames.shape[1:3]
        s.pix_fmt = "yuv420p"
        s.codec_context.gop_size = gop
        s.codec_context.max_b_frames = bframes
        if codec == "libx265":
            s.options = {"x265-params": f"keyint={gop}:min-keyint={gop}:bframes={bframes}:log-level=none",
                         "crf": "18"}
        elif codec == "mpeg4":
            s.codec_context.bit_rate = 4_000_000
        else:
            s.options = {"crf": "16", "g": str(gop), "bf": str(bframes)}
        if time_base is not None:
            s.time_base = time_base
        for i, f in enumerate(frames):
            vf = av.VideoFrame.from_ndarray(f, format="rgb24")
            if pts is not None:
                vf.pts, vf.time_base = pts[i], time_base
            c.mux(s.encode(vf))
        c.mux(s.encode(None))
    return path


class Synth:
    """The helpers above, handed to tests as a fixture (importlib mode: no conftest imports)."""

    frames = staticmethod(counter_frames)
    read = staticmethod(read_counter)
    encode = staticmethod(encode_with)


@pytest.fixture(scope="session")
def synth() -> Synth:
    return Synth()
