"""Tokenizer evaluation: reconstruction PSNR/SSIM per clip, compression, throughput, and the
copy-last-frame baseline on the same clips.

The baseline answers "how good is good enough": a world model conditioned on frames 1..9
that merely repeats frame 9 scores `copy_last_psnr` on frames 10..T. A tokenizer whose
reconstruction of those same frames (`recon_future_psnr`) is not clearly above that cannot
support a world model that beats copying.
"""

from __future__ import annotations

import glob
import math
import os
import time
from typing import Iterator

import numpy as np
import torch

from ..eval.metrics import psnr, psnr_per_frame, ssim
from ..utils.atomic import atomic_write_json
from ..utils.device import resolve_device
from ..utils.errors import WorldsmithError
from ..utils.progress import progress
from .inference import decode_video, encode_video
from .error_sheet import worst_frame, write_sheet
from .model import CausalVideoTokenizer
from .refine import check_refine

COND_FRAMES = 9  # conditioning frames of the copy-last baseline (Cosmos AR default)
VIDEO_EXTS = (".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v")


def _iter_sources(data: list[str], split: str, max_clips: int, frames: int, size: int | None) -> Iterator[tuple[str, np.ndarray | str]]:
    """(name, uint8 [T, H, W, C] frames or an error string) for each clip to evaluate."""
    from ..io import read_video

    if len(data) == 1 and os.path.isfile(os.path.join(data[0], "dataset.json")):
        from ..data.reader import iter_clips, read_manifest

        rows = [r for r in read_manifest(data[0]) if r["split"] == split]
        if not rows:
            raise WorldsmithError(f"--data {data[0]}: split {split!r} has no clips")
        keys = {r["key"] for r in _spread(rows, max_clips)}
        for clip in iter_clips(data[0], split=split, keys=keys):
            yield clip["key"], _fit(clip["frames"][:frames], size)
        return
    paths: list[str] = []
    for d in data:
        if os.path.isdir(d):
            paths += sorted(p for p in glob.glob(os.path.join(d, "**", "*"), recursive=True)
                            if p.lower().endswith(VIDEO_EXTS))
        elif os.path.exists(d):
            paths.append(d)
        else:
            raise WorldsmithError(f"--data {d}: no such file or directory")
    if not paths:
        raise WorldsmithError(f"--data {' '.join(data)}: no clip dataset (dataset.json) and no video files")
    for p in _spread(paths, max_clips):
        try:
            yield os.path.basename(p), _fit(read_video(p, max_frames=frames).frames, size)
        except WorldsmithError as e:
            yield os.path.basename(p), f"unreadable: {e}"


def _spread(items: list, max_clips: int) -> list:
    """All of `items` (max_clips 0), or max_clips of them evenly spaced, in order: a dataset's
    manifest is grouped by scenario/source, so its first N clips would leave some out."""
    if max_clips <= 0 or len(items) <= max_clips:
        return list(items)
    return [items[i * len(items) // max_clips] for i in range(max_clips)]


def _fit(frames: np.ndarray, size: int | None) -> np.ndarray:
    if size is None or frames.shape[1:3] == (size, size):
        return frames
    from ..data.dataset import resize_cover_crop

    return resize_cover_crop(frames, (size, size))


def _sync(dev: torch.device) -> None:
    """Wait for queued kernels (accelerators run asynchronously) so timings are real."""
    backend = getattr(torch, dev.type, None)
    if dev.type != "cpu" and hasattr(backend, "synchronize"):
        backend.synchronize()


def _eval_clip(model: CausalVideoTokenizer, frames: np.ndarray, chunk: int, tile: int, dev,
               keep_worst: bool = False, refine: int = 0) -> dict:
    t, h, w = frames.shape[:3]
    _sync(dev)
    t0 = time.perf_counter()
    z = encode_video(model, frames, chunk_frames=chunk, tile=tile, refine_steps=refine)
    _sync(dev)
    t1 = time.perf_counter()
    recon = decode_video(model, z, frames=t, height=h, width=w, chunk_frames=chunk, tile=tile)[0]
    _sync(dev)
    t2 = time.perf_counter()
    rec = {"frames": t, "height": h, "width": w, "psnr": psnr(recon, frames), "ssim": ssim(recon, frames),
           "encode_s": t1 - t0, "decode_s": t2 - t1, "latent_shape": list(z.shape[1:]),
           "psnr_per_frame": psnr_per_frame(recon, frames)}
    if keep_worst:  # for the --sheet picture; dropped before the report is written
        rec["_worst"] = worst_frame(frames, recon)
    if t > COND_FRAMES:
        future, last = frames[COND_FRAMES:], frames[COND_FRAMES - 1]
        copy = np.broadcast_to(last, future.shape)
        rec["copy_last_psnr"] = psnr(copy, future)
        rec["copy_last_ssim"] = ssim(copy, future)
        rec["recon_future_psnr"] = psnr(recon[COND_FRAMES:], future)
    return rec


def _compression(model: CausalVideoTokenizer) -> dict:
    c = model.cfg
    st, s = c.temporal_compression, c.spatial_compression
    pixels = st * s * s * c.in_channels  # values per latent position (after the first frame)
    out = {"compression": f"{st}x{s}x{s}", "values_ratio": pixels / c.z_channels}
    if model.fsq is not None:
        out["codebook_size"] = model.fsq.codebook_size
        out["bits_ratio"] = pixels * 8 / math.log2(model.fsq.codebook_size)
    return out


def _mean(recs: list[dict], key: str) -> float | None:
    vals = [r[key] for r in recs if key in r and math.isfinite(r[key])]
    return sum(vals) / len(vals) if vals else None


def evaluate(model_dir: str, data: list[str] | str, *, split: str = "test", max_clips: int = 0,
             frames: int = 33, size: int | None = None, device: str = "auto", chunk_frames: int = 0,
             tile: int = 0, out: str | None = None, sheet: str | None = None, sheet_clips: int = 8,
             refine: int = 0) -> dict:
    """Evaluate a tokenizer on a clip dataset or video files; returns (and writes) the report.

    `sheet`: also write a PNG/JPEG of the `sheet_clips` worst clips (truth | reconstruction |
    error at each one's worst frame; see error_sheet.py). `refine`: encode with that many
    steps of causal latent refinement per latent frame (CV; refine.py)."""
    if sheet is not None and not sheet.lower().endswith((".png", ".jpg", ".jpeg")):
        raise WorldsmithError(f"--sheet {sheet}: expected a .png or .jpg path")
    if sheet_clips < 1:
        raise WorldsmithError(f"--sheet-clips {sheet_clips}: must be >= 1")
    if max_clips < 0:
        raise WorldsmithError(f"--max-clips {max_clips}: must be >= 0 (0 = every clip)")
    if frames < 1:
        raise WorldsmithError(f"--frames {frames}: must be >= 1")
    data = [data] if isinstance(data, str) else list(data)
    dev = resolve_device(device)
    model = CausalVideoTokenizer.from_pretrained(model_dir, device=dev)
    check_refine(model, refine, chunk_frames)  # up front: not the same error on every clip
    clips, skipped, worst = [], [], []
    for name, item in progress(_iter_sources(data, split, max_clips, frames, size), desc="eval", unit="clip"):
        if isinstance(item, str):
            skipped.append({"clip": name, "reason": item})
            continue
        try:
            rec = {"clip": name, **_eval_clip(model, item, chunk_frames, tile, dev, keep_worst=bool(sheet),
                                                refine=refine)}
            clips.append(rec)
            if "_worst" in rec:  # keep the frames of the sheet_clips worst clips only (memory)
                worst.append({"clip": name, "psnr": rec["psnr"], **rec.pop("_worst")})
                worst = sorted(worst, key=lambda r: r["psnr"])[:sheet_clips]
        except (WorldsmithError, RuntimeError) as e:  # e.g. a clip too small or out of memory
            skipped.append({"clip": name, "reason": str(e).splitlines()[0]})
    n_frames = sum(r["frames"] for r in clips)
    report = {
        "model": os.path.abspath(model_dir), "kind": model.cfg.kind, "data": data, "split": split,
        "device": str(dev), "params_m": sum(p.numel() for p in model.parameters()) / 1e6,
        "refine_steps": refine,
        **_compression(model), "clips": len(clips),
        "mean": {k: _mean(clips, k) for k in ("psnr", "ssim", "recon_future_psnr", "copy_last_psnr", "copy_last_ssim")},
        "encode_fps": n_frames / max(1e-9, sum(r["encode_s"] for r in clips)) if clips else None,
        "decode_fps": n_frames / max(1e-9, sum(r["decode_s"] for r in clips)) if clips else None,
        "psnr_by_frame": _by_frame(clips), "per_clip": clips, "skipped": skipped,
    }
    m = report["mean"]
    if m["recon_future_psnr"] is not None and m["copy_last_psnr"] is not None:
        report["margin_over_copy_last_db"] = m["recon_future_psnr"] - m["copy_last_psnr"]
    if sheet and worst:
        report["sheet"] = os.path.abspath(sheet)
        report["sheet_clips"] = write_sheet(sheet, worst, sheet_clips)
    elif sheet:  # asked for, but there is nothing to draw: say so rather than write nothing silently
        report["sheet_not_written"] = f"--sheet {sheet}: no clip was evaluated"
    if out:
        atomic_write_json(out, report)
    return report


def _by_frame(recs: list[dict]) -> list[float]:
    """Mean PSNR of frame t over the clips that have a finite PSNR there (t = 0, 1, ...): shows
    the first (image) frame and the pattern within each temporal group."""
    n = max((len(r["psnr_per_frame"]) for r in recs), default=0)
    out = []
    for t in range(n):
        vals = [r["psnr_per_frame"][t] for r in recs if t < len(r["psnr_per_frame"])
                and math.isfinite(r["psnr_per_frame"][t])]
        out.append(sum(vals) / len(vals) if vals else float("nan"))
    return out


def _f(v, fmt=".2f") -> str:
    return "-" if v is None else format(v, fmt)


def format_table(report: dict) -> str:
    """A readable table of a report: one row per clip, then the means."""
    refined = f", latents refined {report['refine_steps']} steps" if report.get("refine_steps") else ""
    lines = [f"{report['kind']} {report['compression']} ({report['params_m']:.2f}M params) on "
             f"{report['clips']} clips, {report['device']}{refined}",
             f"{'clip':<32} {'frames':>6} {'PSNR':>7} {'SSIM':>6} {'fut.PSNR':>8} {'copy-last':>9}"]
    for r in report["per_clip"]:
        lines.append(f"{r['clip'][:32]:<32} {r['frames']:>6} {_f(r['psnr']):>7} {_f(r['ssim'], '.3f'):>6} "
                     f"{_f(r.get('recon_future_psnr')):>8} {_f(r.get('copy_last_psnr')):>9}")
    m = report["mean"]
    lines.append(f"{'MEAN':<32} {'':>6} {_f(m['psnr']):>7} {_f(m['ssim'], '.3f'):>6} "
                 f"{_f(m['recon_future_psnr']):>8} {_f(m['copy_last_psnr']):>9}")
    extra = f"values ratio {report['values_ratio']:.0f}x"
    if "bits_ratio" in report:
        extra += f", bits ratio {report['bits_ratio']:.0f}x ({report['codebook_size']} codes)"
    lines.append(f"{extra}; encode {_f(report['encode_fps'], '.1f')} frames/s, "
                 f"decode {_f(report['decode_fps'], '.1f')} frames/s")
    if "margin_over_copy_last_db" in report:
        lines.append(f"reconstruction minus copy-last on frames {COND_FRAMES + 1}..: "
                     f"{report['margin_over_copy_last_db']:+.2f} dB")
    if report.get("psnr_by_frame"):
        lines.append("PSNR by frame: " + " ".join(_f(v, ".1f") for v in report["psnr_by_frame"]))
    if report.get("sheet"):
        lines.append(f"error sheet ({report['sheet_clips']} worst clips): {report['sheet']}")
    if report.get("sheet_not_written"):
        lines.append(report["sheet_not_written"])
    for s in report["skipped"]:
        lines.append(f"skipped {s['clip']}: {s['reason']}")
    return "\n".join(lines)
