"""Resize and crop uint8 video [T, H, W, C]; sizes are (height, width) or one int (shorter side).

Resizing uses FFmpeg's swscale through PyAV (area averaging when shrinking, bicubic when
enlarging), the same code path `read_video(size=...)` uses while decoding.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .errors import VideoError

Size = int | Sequence[int]


def target_size(height: int, width: int, size: Size, arg: str = "size") -> tuple[int, int]:
    """(out_h, out_w) for a frame of (height, width).

    `size` is (h, w) for an exact size, or an int: the shorter side becomes `size` and the
    longer side keeps the aspect ratio, rounded to an even number (what H.264 needs).
    """
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        s = int(size)
        if s <= 0:
            raise VideoError(f"{arg}: must be positive, got {size}")
        if height <= width:
            return s, max(2, int(round(width * s / height / 2)) * 2)
        return max(2, int(round(height * s / width / 2)) * 2), s
    try:
        h, w = (int(v) for v in size)
    except (TypeError, ValueError):
        raise VideoError(f"{arg}: expected an int (shorter side) or (height, width), got {size!r}") from None
    if h <= 0 or w <= 0:
        raise VideoError(f"{arg}: height and width must be positive, got {size!r}")
    return h, w


def parse_size(text: str, arg: str = "--size") -> Size:
    """Parse a command-line size: 'WxH' (FFmpeg order, e.g. 640x360) or 'N' (shorter side)."""
    t = text.strip().lower()
    try:
        if "x" in t:
            w, h = (int(v) for v in t.split("x"))
            return target_size(1, 1, (h, w), arg)
        return target_size(1, 1, int(t), arg)[0]
    except ValueError:
        raise VideoError(f"{arg}: expected WIDTHxHEIGHT (e.g. 640x360) or one number, got {text!r}") from None


def check_frames(frames, arg: str = "frames") -> np.ndarray:
    """`frames` as a uint8 [T, H, W, 3] array, or a VideoError naming `arg`."""
    a = np.asarray(frames)
    if a.dtype != np.uint8:
        raise VideoError(f"{arg}: expected uint8 pixels, got dtype {a.dtype}")
    if a.ndim == 3:  # one frame [H, W, C]
        a = a[None]
    if a.ndim != 4 or a.shape[-1] not in (1, 3):
        raise VideoError(f"{arg}: expected shape [T, H, W, 3] (or C=1), got {list(a.shape)}")
    if a.shape[0] == 0 or a.shape[1] == 0 or a.shape[2] == 0:
        raise VideoError(f"{arg}: empty video, shape {list(a.shape)}")
    if a.shape[-1] == 1:
        a = np.repeat(a, 3, axis=-1)  # grey -> RGB
    return a


def resize_frame(frame: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """Resize one uint8 RGB frame [H, W, 3] to [out_h, out_w, 3]."""
    import av

    h, w = frame.shape[:2]
    if (h, w) == (out_h, out_w):
        return frame
    interp = "AREA" if out_h * out_w < h * w else "BICUBIC"
    vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
    return vf.to_ndarray(width=out_w, height=out_h, format="rgb24", interpolation=interp)


def resize_frames(frames, size: Size) -> np.ndarray:
    """Resize uint8 [T, H, W, C] to `size` ((h, w), or int = shorter side); returns a new array."""
    a = check_frames(frames)
    out_h, out_w = target_size(a.shape[1], a.shape[2], size)
    if (out_h, out_w) == a.shape[1:3]:
        return a.copy()
    return np.stack([resize_frame(f, out_h, out_w) for f in a])


def center_crop(frames, size: Size) -> np.ndarray:
    """Crop the centre `size` ((h, w), or int for a square) out of uint8 [T, H, W, C]."""
    a = np.asarray(frames)
    if a.ndim != 4:
        raise VideoError(f"frames: expected shape [T, H, W, C], got {list(a.shape)}")
    h, w = (int(size), int(size)) if isinstance(size, (int, np.integer)) else target_size(1, 1, size)
    H, W = a.shape[1:3]
    if h > H or w > W or h <= 0 or w <= 0:
        raise VideoError(f"size: crop {h}x{w} (h x w) does not fit in frames of {H}x{W}")
    top, left = (H - h) // 2, (W - w) // 2
    return a[:, top:top + h, left:left + w].copy()


def crop_box(frame: np.ndarray, box: Sequence[int], arg: str = "crop") -> np.ndarray:
    """Crop (top, left, height, width) out of one frame [H, W, C]."""
    top, left, h, w = (int(v) for v in box)
    H, W = frame.shape[:2]
    if top < 0 or left < 0 or h <= 0 or w <= 0 or top + h > H or left + w > W:
        raise VideoError(f"{arg}: box (top={top}, left={left}, h={h}, w={w}) is outside the {H}x{W} frame")
    return frame[top:top + h, left:left + w]
