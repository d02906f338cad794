"""Encode/decode videos of any length and size: causal temporal chunking, spatial tiling.

- Length: a video of T frames is padded at the end (repeating the last frame) to the next
  `1 + k*s_t`; `decode_video(..., frames=T)` crops the padding off again.
- Size: frames are padded (edge replicate) to multiples of the spatial compression.
- Temporal chunks (`chunk_frames`): the tokenizer runs in streaming mode, each causal layer
  carrying its left context from one chunk to the next, so chunked latents equal one-pass
  latents up to float rounding while memory stays bounded by the chunk.
- Spatial tiles (`tile`, pixels): overlapping tiles are encoded/decoded separately and blended
  with linear ramps in the overlaps (for frames too large to process at once).
"""

from __future__ import annotations

import os

import numpy as np
import torch
import torch.nn.functional as F
from einops import rearrange
from safetensors.torch import load_file, save_file

from ..utils.atomic import atomic_path
from ..utils.device import resolve_device
from ..utils.errors import WorldsmithError, require_file
from .model import CausalVideoTokenizer
from .refine import DEFAULT_LR, check_refine, refine_latent


def _chunk_sizes(total: int, first: int, rest: int) -> list[int]:
    sizes, done = [min(first, total)], min(first, total)
    while done < total:
        sizes.append(min(rest, total - done))
        done += sizes[-1]
    return sizes


def _check_chunk(chunk_frames: int, st: int) -> int:
    if chunk_frames < 0:
        raise WorldsmithError(f"--chunk-frames {chunk_frames}: must be >= 0")
    if chunk_frames and chunk_frames < st:
        raise WorldsmithError(f"--chunk-frames {chunk_frames}: must be >= the temporal compression {st}")
    return (chunk_frames // st) * st  # whole latent frames per chunk


def _ramp_mask(h: int, w: int, top: int, bottom: int, left: int, right: int) -> torch.Tensor:
    """[h, w] weights rising linearly over the overlap margins given (0 = no ramp on that side)."""

    def ramp(n, a, b):
        r = torch.ones(n)
        if a:
            r[:a] = torch.linspace(1.0 / (a + 1), a / (a + 1), a)
        if b:
            r[n - b:] = torch.linspace(b / (b + 1), 1.0 / (b + 1), b)
        return r

    return ramp(h, top, bottom)[:, None] * ramp(w, left, right)[None, :]


def _tiles(n: int, tile: int, overlap: int) -> list[int]:
    if tile >= n:
        return [0]
    starts = list(range(0, n - tile, tile - overlap)) + [n - tile]
    return sorted(set(starts))


def _tiled(fn, x: torch.Tensor, tile: int, overlap: int, scale: float, out_scale: float) -> torch.Tensor:
    """Apply `fn` to overlapping spatial tiles of x [B, C, T, H, W] and blend the outputs.

    `scale` maps input pixels to input units (1 for pixels, 1/s for latents); `out_scale`
    is the output/input size ratio of `fn` (1/s for encode, s for decode).
    """
    h, w = x.shape[-2:]
    t_in, o_in = int(tile * scale), int(overlap * scale)
    ys, xs = _tiles(h, t_in, o_in), _tiles(w, t_in, o_in)
    out = weight = None
    for y0 in ys:
        for x0 in xs:
            part = fn(x[..., y0:y0 + t_in, x0:x0 + t_in])
            if out is None:
                shape = (*part.shape[:-2], int(h * out_scale), int(w * out_scale))
                out = torch.zeros(shape, dtype=part.dtype, device=part.device)
                weight = torch.zeros(shape[-2:], dtype=part.dtype, device=part.device)
            ph, pw = part.shape[-2:]
            oy, ox, ov = int(y0 * out_scale), int(x0 * out_scale), int(o_in * out_scale)
            m = _ramp_mask(ph, pw, ov if y0 > 0 else 0, ov if y0 + t_in < h else 0,
                           ov if x0 > 0 else 0, ov if x0 + t_in < w else 0).to(part)
            out[..., oy:oy + ph, ox:ox + pw] += part * m
            weight[oy:oy + ph, ox:ox + pw] += m
    return out / weight


def _tile_args(model: CausalVideoTokenizer, tile: int) -> tuple[int, int]:
    s = model.cfg.spatial_compression
    if tile < 0 or (tile and tile % s):
        raise WorldsmithError(f"--tile {tile}: must be 0 or a positive multiple of {s}")
    if tile and tile < 4 * s:
        raise WorldsmithError(f"--tile {tile}: must be at least {4 * s} pixels")
    overlap = max(s, (tile // 4) // s * s)
    return tile, overlap


@torch.no_grad()
def _encode_chunks(model: CausalVideoTokenizer, x_BCTHW: torch.Tensor, chunk: int) -> torch.Tensor:
    if not chunk or x_BCTHW.shape[2] <= chunk + 1:
        return model.encode(x_BCTHW)
    model.streaming(True)
    try:
        parts, start = [], 0
        for n in _chunk_sizes(x_BCTHW.shape[2], chunk + 1, chunk):
            parts.append(model.encode(x_BCTHW[:, :, start:start + n]))
            start += n
    finally:
        model.streaming(False)
    return torch.cat(parts, dim=-3 if model.fsq is not None else 2)  # along latent time


@torch.no_grad()
def _decode_chunks(model: CausalVideoTokenizer, z: torch.Tensor, chunk: int) -> torch.Tensor:
    st = model.cfg.temporal_compression
    tdim = 1 if model.fsq is not None else 2
    n_lat, per = z.shape[tdim], max(1, chunk // st)
    if not chunk or n_lat <= per + 1:
        return model.decode(z)
    model.streaming(True)
    try:
        parts, start = [], 0
        for n in _chunk_sizes(n_lat, per + 1, per):
            parts.append(model.decode(z.narrow(tdim, start, n)))
            start += n
    finally:
        model.streaming(False)
    return torch.cat(parts, dim=2)


def prepare_video(model: CausalVideoTokenizer, frames: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 [T, H, W, C] (or [B, T, H, W, C]) -> float [B, C, T', H', W'] in [-1, 1], padded
    to `1 + k*s_t` frames (last frame repeated) and H, W to multiples of s (edge replicate)."""
    x = torch.as_tensor(np.asarray(frames)) if not isinstance(frames, torch.Tensor) else frames
    if x.ndim == 4:
        x = x[None]
    if x.ndim != 5 or x.shape[-1] != model.cfg.in_channels or x.dtype != torch.uint8:
        raise WorldsmithError(f"frames: expected uint8 [T, H, W, {model.cfg.in_channels}], got "
                              f"{x.dtype} {tuple(x.shape)}")
    x = rearrange(x, "b t h w c -> b c t h w").float().div(127.5).sub(1.0)
    st, s = model.cfg.temporal_compression, model.cfg.spatial_compression
    t, h, w = x.shape[2:]
    pad_t = (-(t - 1)) % st
    if pad_t:
        x = torch.cat([x, x[:, :, -1:].expand(-1, -1, pad_t, -1, -1)], dim=2)
    pad_h, pad_w = (-h) % s, (-w) % s
    if pad_h or pad_w:
        x = F.pad(x, (0, pad_w, 0, pad_h, 0, 0), mode="replicate")
    return x


def _encode_refined(model: CausalVideoTokenizer, x_BCTHW: torch.Tensor, steps: int, lr: float,
                    show_progress: bool = False) -> torch.Tensor:
    """One-pass encode, then `steps` of causal latent refinement (refine.py); normalised latent."""
    model.check_video(x_BCTHW)
    with torch.no_grad():
        z = model.encode_latent(x_BCTHW)
    z = refine_latent(model, x_BCTHW, z, steps, lr, show_progress=show_progress)
    view = (1, -1, 1, 1, 1)
    return (z - model.latent_mean.view(view)) / model.latent_std.view(view)


def encode_video(model: CausalVideoTokenizer, frames, *, chunk_frames: int = 0, tile: int = 0,
                 device: str | torch.device | None = None, refine_steps: int = 0,
                 refine_lr: float = DEFAULT_LR, refine_progress: bool = False) -> torch.Tensor:
    """Encode uint8 frames [T, H, W, C] / [B, T, H, W, C] (any T, H, W) with the tokenizer.

    Returns normalised latents [B, C, T', H', W'] (CV) or token indices [B, T', H', W'] (DV).
    `refine_steps` > 0 (CV only): fit each latent frame to the decoder after the one-pass
    encode (`refine.py`: better reconstructions, still causal, `refine_steps` decoder passes
    per latent frame); it works on whole clips, so not with `chunk_frames`.
    """
    dev = next(model.parameters()).device if device is None else resolve_device(device)
    model.to(dev).eval()
    chunk = _check_chunk(chunk_frames, model.cfg.temporal_compression)
    tile, overlap = _tile_args(model, tile)
    if model.fsq is not None and tile:
        raise WorldsmithError("--tile: spatial tiling blends latents, which DV token indices cannot do")
    check_refine(model, refine_steps, chunk)
    x = prepare_video(model, frames).to(dev)
    s = model.cfg.spatial_compression
    if refine_steps:
        enc = lambda p: _encode_refined(model, p, refine_steps, refine_lr, refine_progress)  # noqa: E731
    else:
        enc = lambda p: _encode_chunks(model, p, chunk)  # noqa: E731
    if tile and max(x.shape[-2:]) > tile:
        return _tiled(enc, x, tile, overlap, 1.0, 1.0 / s)
    return enc(x)


def decode_video(model: CausalVideoTokenizer, z: torch.Tensor, *, frames: int | None = None,
                 height: int | None = None, width: int | None = None, chunk_frames: int = 0,
                 tile: int = 0, device: str | torch.device | None = None) -> np.ndarray:
    """Decode latents/tokens to uint8 video [B, T, H, W, C], cropped to frames/height/width."""
    dev = next(model.parameters()).device if device is None else resolve_device(device)
    model.to(dev).eval()
    z = z.to(dev)
    chunk = _check_chunk(chunk_frames, model.cfg.temporal_compression)
    tile, overlap = _tile_args(model, tile)
    s = model.cfg.spatial_compression
    if tile and max(z.shape[-2:]) * s > tile:
        x = _tiled(lambda p: _decode_chunks(model, p, chunk), z, tile, overlap, 1.0 / s, float(s))
    else:
        x = _decode_chunks(model, z, chunk)
    x = x[:, :, :frames, :height, :width]
    return rearrange(((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8), "b c t h w -> b t h w c").cpu().numpy()


# --------------------------------------------------------------------------- files
def encode_file(path: str, model_dir: str, out: str, *, device: str = "auto", chunk_frames: int = 0,
                tile: int = 0, refine_steps: int = 0) -> dict:
    """Encode a video/image file to a .safetensors file ("latent" or "tokens" + metadata)."""
    from ..io import read_visual

    if not out.endswith(".safetensors"):
        raise WorldsmithError(f"--out {out}: expected a .safetensors file name")
    video = read_visual(path)
    model = CausalVideoTokenizer.from_pretrained(model_dir, device=resolve_device(device))
    t, h, w = video.frames.shape[:3]
    z = encode_video(model, video.frames, chunk_frames=chunk_frames, tile=tile, refine_steps=refine_steps,
                     refine_progress=True)
    kind = model.cfg.kind
    meta = {"frames": str(t), "height": str(h), "width": str(w), "fps": str(video.fps or 0.0),
            "kind": kind, "source": os.path.basename(path), "refine_steps": str(refine_steps)}
    with atomic_path(out) as tmp:
        save_file({"tokens" if kind == "dv" else "latent": z.contiguous().cpu()}, tmp, metadata=meta)
    return {"frames": t, "height": h, "width": w, "kind": kind, "shape": tuple(z.shape)}


def decode_file(path: str, model_dir: str, out: str, *, device: str = "auto", fps: float | None = None,
                chunk_frames: int = 0, tile: int = 0) -> dict:
    """Decode a .safetensors file written by `encode_file` to an mp4."""
    from safetensors import safe_open

    from ..io import write_video

    require_file(path, "latents file")
    try:
        with safe_open(path, "pt") as f:
            meta = f.metadata() or {}
        tensors = load_file(path)
    except Exception as e:  # safetensors raises several error types
        raise WorldsmithError(f"{path}: not a safetensors file ({e})") from None
    z = tensors.get("tokens", tensors.get("latent"))
    if z is None:
        raise WorldsmithError(f"{path}: no 'latent' or 'tokens' tensor (write it with `worldsmith tokenizer encode`)")
    model = CausalVideoTokenizer.from_pretrained(model_dir, device=resolve_device(device))
    want = "dv" if "tokens" in tensors else "cv"
    if want != model.cfg.kind:
        raise WorldsmithError(f"{path}: holds {want} data but --model {model_dir} is a {model.cfg.kind} tokenizer")
    dims = {k: int(meta[k]) for k in ("frames", "height", "width") if k in meta}
    frames = decode_video(model, z, chunk_frames=chunk_frames, tile=tile, **dims)[0]
    rate = fps or float(meta.get("fps") or 0) or 24.0
    write_video(out, frames, rate)
    return {"frames": frames.shape[0], "height": frames.shape[1], "width": frames.shape[2]}
