"""`tokenizer eval --sheet`: a picture of where a tokenizer loses detail.

One row per clip, worst clips first: the true frame, its reconstruction, and the absolute
error (summed over colour channels, amplified x`GAIN`, black = exact), each at the frame of
the clip where the reconstruction is worst. On the simulator the error sits on object edges
and on fast-moving objects; the flat backgrounds come back almost exactly.
"""

from __future__ import annotations

import numpy as np

from ..utils.atomic import atomic_path
from ..utils.errors import WorldsmithError

GAIN = 4         # |error| (0..765 over three channels) is shown x GAIN, clipped to 255
MIN_TILE = 128   # frames narrower than this are upscaled (nearest) so edges stay visible
MAX_TILE = 384   # wider ones are scaled down to this width (a 1080p clip would make a huge sheet)
LABEL_H = 14
GAP = 4


def worst_frame(frames: np.ndarray, recon: np.ndarray) -> dict:
    """The frame where `recon` differs most from `frames` (uint8 [T, H, W, C]): index and both images."""
    err = ((recon.astype(np.float32) - frames.astype(np.float32)) ** 2).reshape(len(frames), -1).mean(1)
    t = int(np.argmax(err))
    return {"frame": t, "truth": frames[t].copy(), "recon": recon[t].copy()}


def error_image(truth: np.ndarray, recon: np.ndarray) -> np.ndarray:
    """|recon - truth| summed over channels, x GAIN, as a grey uint8 [H, W, 3] image."""
    e = np.abs(recon.astype(np.int32) - truth.astype(np.int32)).sum(-1) * GAIN
    return np.repeat(np.clip(e, 0, 255).astype(np.uint8)[..., None], 3, axis=-1)


def write_sheet(path: str, rows: list[dict], max_rows: int = 8) -> int:
    """Write the sheet of the `max_rows` lowest-PSNR rows (dicts with clip, psnr, frame, truth,
    recon) to `path` (PNG/JPEG by extension); returns the number of rows drawn."""
    from PIL import Image, ImageDraw, ImageFont

    if not rows:
        raise WorldsmithError(f"--sheet {path}: no evaluated clip to draw")
    if max_rows < 1:
        raise WorldsmithError(f"--sheet-clips {max_rows}: must be >= 1")
    rows = sorted(rows, key=lambda r: r["psnr"])[:max_rows]
    h, w = rows[0]["truth"].shape[:2]
    if w > MAX_TILE:
        tw, th = MAX_TILE, max(1, round(h * MAX_TILE / w))
    else:
        scale = max(1, -(-MIN_TILE // w))
        tw, th = w * scale, h * scale
    width = 3 * tw + 4 * GAP
    height = LABEL_H + GAP + len(rows) * (th + LABEL_H + GAP) + GAP
    sheet = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    for i, title in enumerate(("truth", "reconstruction", f"|error| x{GAIN}")):
        draw.text((GAP + i * (tw + GAP), 1), title, fill=(0, 0, 0), font=font)
    y = LABEL_H + GAP
    for r in rows:
        draw.text((GAP, y), f"{r['clip']}  frame {r['frame']}  clip PSNR {r['psnr']:.2f} dB",
                  fill=(0, 0, 0), font=font)
        y += LABEL_H
        tiles = (r["truth"], r["recon"], error_image(r["truth"], r["recon"]))
        for i, tile in enumerate(tiles):
            # upscale with nearest (pixels stay visible); scale down, or fit clips of other
            # sizes to the first one's tile, with bilinear
            nearest = tile.shape[:2] == (h, w) and tw >= w
            img = Image.fromarray(tile).resize((tw, th), Image.NEAREST if nearest else Image.BILINEAR)
            sheet.paste(img, (GAP + i * (tw + GAP), y))
        y += th + GAP
    try:
        with atomic_path(path) as tmp:  # nothing half-written under the final name
            sheet.save(tmp)
    except (OSError, ValueError) as e:
        raise WorldsmithError(f"--sheet {path}: cannot write the image ({e})") from None
    return len(rows)
