"""Helpers for clip-dataset tests: small lossless datasets whose pixels encode (clip, frame).

Imported by the tests via sys.path (pytest runs in importlib mode); the unusual module
name avoids clashes with other test folders.
"""

from __future__ import annotations

import numpy as np

from worldsmith.data import ClipWriter


def clip_frames(i: int, t: int = 12, h: int = 16, w: int = 16) -> np.ndarray:
    """uint8 [T, H, W, 3]: frame j of clip i is filled with 10*j + i (channel 0), so a
    decoded window tells which frames it holds; channel 1 is a fixed per-clip texture."""
    rng = np.random.default_rng(i)
    v = np.zeros((t, h, w, 3), np.uint8)
    v[..., 0] = (10 * np.arange(t)[:, None, None] + i) % 256
    v[..., 1] = rng.integers(0, 256, (h, w), dtype=np.uint8)[None]
    v[..., 2] = 128
    return v


def write_dataset(root, n: int = 12, t: int = 12, shard_max_clips: int = 2, h: int = 16, w: int = 16,
                  split_fractions=(0.9, 0.05, 0.05)) -> dict:
    """Write n lossless clips with per-frame `states` (= frame index) and per-transition
    `actions` (= index of the transition); returns {key: frames}."""
    out = {}
    with ClipWriter(root, shard_max_clips=shard_max_clips, lossless=True,
                    split_fractions=split_fractions, info={"test": True}) as wr:
        for i in range(n):
            key = f"clip-{i:03d}"
            v = clip_frames(i, t, h, w)
            states = np.repeat(np.arange(t, dtype=np.float32)[:, None], 3, axis=1)   # [T, 3]
            actions = np.repeat(np.arange(t - 1, dtype=np.float32)[:, None], 2, axis=1)  # [T-1, 2]
            assert wr.add(key, video=v, fps=8, caption=f"a red ball number {i} rolls to the left",
                          source="test", arrays={"states": states, "actions": actions},
                          meta={"index": i})
            out[key] = v
    return out
