"""`worldsmith data preview`: a grid of clips, each with its caption under the tile.

Captions use Pillow's default font. Small clips are upscaled to at least `MIN_TILE` pixels
wide so that the caption text (about 8 px per character) stays readable under a 64 px clip.
"""

from __future__ import annotations

import math
import os

import numpy as np

from ..utils.errors import WorldsmithError
from .dataset import resize_cover_crop
from .format import SHARD_DIR
from .reader import _check_split, _group_by_shard, iter_shard_clips, read_manifest

MIN_TILE = 160        # tiles narrower than this are upscaled (a 64 px clip becomes 160 px)
DEFAULT_MAX_TILE = 256  # default tile width: the clip width, capped here
FONT_SIZE = 12
CAPTION_LINES = 3
PAD = 4
GAP = 4               # pixels between grid cells


def _wrap(text: str, font, width: int, max_lines: int) -> list[str]:
    """Greedy word wrap to `width` pixels; a cut last line ends in '...'."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        while len(word) > 1 and font.getlength(word) > width:  # one word wider than the tile
            word = word[:-1]
        trial = f"{line} {word}".strip()
        if font.getlength(trial) <= width:
            line = trial
        else:
            lines.append(line)
            line = word
    if line:
        lines.append(line)
    if len(lines) > max_lines:
        last = lines[max_lines - 1]
        while last and font.getlength(last + "...") > width:
            last = last[:-1]
        lines = lines[:max_lines - 1] + [last + "..."]
    return lines


def _caption_strip(text: str, width: int, font) -> np.ndarray:
    """uint8 [h, width, 3]: white caption text on dark grey, up to CAPTION_LINES lines."""
    from PIL import Image, ImageDraw

    line_h = FONT_SIZE + 3
    h = CAPTION_LINES * line_h + PAD
    img = Image.new("RGB", (width, h), (28, 28, 28))  # dark grey: apart from black clip borders
    draw = ImageDraw.Draw(img)
    for i, line in enumerate(_wrap(text or "(no caption)", font, width - 2 * PAD, CAPTION_LINES)):
        draw.text((PAD, PAD // 2 + i * line_h), line, fill=(255, 255, 255), font=font)
    return np.asarray(img)


def _pick(rows: list[dict], n: int) -> list[dict]:
    """n rows evenly spread over the manifest (deterministic)."""
    if len(rows) <= n:
        return rows
    idx = np.linspace(0, len(rows) - 1, n).round().astype(int)
    return [rows[i] for i in idx]


def render_grid(clips: list[dict], *, cols: int | None = None, tile: int | None = None,
                max_frames: int = 48) -> np.ndarray:
    """Compose clips ({"frames" uint8 [T,H,W,C], "caption"}) into uint8 [T, H, W, 3] grid video.

    Tiles share the first clip's aspect ratio (others are cover-cropped); shorter clips loop.
    """
    from PIL import ImageFont

    if not clips:
        raise WorldsmithError("preview: no clips to show")
    h0, w0 = clips[0]["frames"].shape[1:3]
    tw = max(MIN_TILE, int(tile or min(w0, DEFAULT_MAX_TILE)))
    th = max(2, int(round(tw * h0 / w0)))
    tw, th = tw + tw % 2, th + th % 2  # even sizes for H.264 4:2:0
    cols = cols or math.ceil(math.sqrt(len(clips)))
    rows = math.ceil(len(clips) / cols)
    font = ImageFont.load_default(size=FONT_SIZE)
    strips = [_caption_strip(c.get("caption", ""), tw, font) for c in clips]
    cell_h = th + strips[0].shape[0]
    H, W = rows * (cell_h + GAP) - GAP, cols * (tw + GAP) - GAP
    H, W = H + H % 2, W + W % 2
    tiles = [resize_cover_crop(c["frames"][:max_frames], (th, tw)) for c in clips]
    T = max(t.shape[0] for t in tiles)
    out = np.zeros((T, H, W, 3), np.uint8)
    for i, (tl, strip) in enumerate(zip(tiles, strips)):
        y, x = (i // cols) * (cell_h + GAP), (i % cols) * (tw + GAP)
        idx = np.arange(T) % tl.shape[0]  # loop short clips
        out[:, y:y + th, x:x + tw] = tl[idx]
        out[:, y + th:y + cell_h, x:x + tw] = strip[None]
    return out


def preview(root: str | os.PathLike, out: str | os.PathLike, *, split: str | None = None,
            num: int = 16, cols: int | None = None, tile: int | None = None,
            max_frames: int = 48, fps: float | None = None) -> dict:
    """Write a grid preview of up to `num` clips of `root` to `out` (.mp4 or .gif)."""
    from ..io import write_gif, write_video

    _check_split(split)
    out = os.fspath(out)
    ext = os.path.splitext(out)[1].lower()
    if ext not in (".mp4", ".gif"):
        raise WorldsmithError(f"--out {out}: expected a .mp4 or .gif file name")
    if not isinstance(num, int) or num < 1:
        raise WorldsmithError(f"--num {num!r}: expected an integer >= 1")
    root = os.fspath(root)
    rows = [r for r in read_manifest(root) if split is None or r["split"] == split]
    if not rows:
        raise WorldsmithError(f"{root}: no clips{f' in split {split!r}' if split else ''} to preview")
    picked = _pick(rows, num)
    order = {r["key"]: i for i, r in enumerate(picked)}
    clips: list[dict] = []
    for shard, keys in _group_by_shard(picked).items():
        clips.extend(iter_shard_clips(os.path.join(root, SHARD_DIR, shard), set(keys), arrays=()))
    if not clips:
        raise WorldsmithError(f"{root}: none of the chosen clips could be decoded")
    clips.sort(key=lambda c: order[c["key"]])
    grid = render_grid(clips, cols=cols, tile=tile, max_frames=max_frames)
    fps = float(fps or clips[0]["fps"] or 10.0)
    if ext == ".gif":
        write_gif(out, grid, fps)
    else:
        write_video(out, grid, fps)
    return {"out": out, "clips": len(clips), "frames": int(grid.shape[0]),
            "height": int(grid.shape[1]), "width": int(grid.shape[2])}
