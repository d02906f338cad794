"""Image/video quality metrics: PSNR and SSIM (torch, differentiable; numpy inputs welcome).

Inputs are any pair of same-shape arrays or tensors. For SSIM the last three axes are read
as `[C, H, W]` (layout="chw", e.g. model tensors `[B, C, H, W]` or `[B, T, C, H, W]`) or
`[H, W, C]` (layout="hwc", e.g. uint8 video `[T, H, W, C]`). `data_range` is the value span:
255 for uint8, 2 for [-1, 1], 1 for [0, 1].
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from einops import rearrange


def _as_tensor(x) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        return x.float()
    return torch.from_numpy(np.array(x, dtype=np.float32, copy=True))


def mse(pred, target) -> float:
    """Mean squared error over all elements."""
    a, b = _as_tensor(pred), _as_tensor(target)
    if a.shape != b.shape:
        raise ValueError(f"shape mismatch: {tuple(a.shape)} vs {tuple(b.shape)}")
    return float((a - b).pow(2).mean())


def psnr(pred, target, data_range: float = 255.0) -> float:
    """Peak signal-to-noise ratio in dB over all elements (inf when identical)."""
    m = mse(pred, target)
    return float("inf") if m == 0 else 10.0 * math.log10(data_range ** 2 / m)


def psnr_per_frame(pred, target, data_range: float = 255.0) -> list[float]:
    """PSNR of each entry along the first axis (e.g. frames of a [T, H, W, C] video)."""
    a, b = _as_tensor(pred), _as_tensor(target)
    if a.shape != b.shape:
        raise ValueError(f"shape mismatch: {tuple(a.shape)} vs {tuple(b.shape)}")
    m = (a - b).pow(2).flatten(1).mean(1)
    return [float("inf") if v == 0 else 10.0 * math.log10(data_range ** 2 / float(v)) for v in m]


def _gaussian_window(size: int, sigma: float, channels: int, device, dtype) -> torch.Tensor:
    g = torch.exp(-((torch.arange(size, device=device, dtype=dtype) - size // 2) ** 2) / (2 * sigma ** 2))
    g = g / g.sum()
    return (g[:, None] * g[None, :]).expand(channels, 1, size, size).contiguous()


def ssim_map(x_NCHW: torch.Tensor, y_NCHW: torch.Tensor, data_range: float = 2.0,
             window: int = 11, sigma: float = 1.5) -> torch.Tensor:
    """Per-pixel SSIM (Wang et al. 2004, Gaussian 11x11 window, 'valid' region) [N, C, h, w].

    Differentiable; windows shrink for frames smaller than 11 px.
    """
    c = x_NCHW.shape[1]
    window = min(window, x_NCHW.shape[-1], x_NCHW.shape[-2])
    w = _gaussian_window(window, sigma, c, x_NCHW.device, x_NCHW.dtype)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2

    def filt(t):
        return F.conv2d(t, w, groups=c)

    mx, my = filt(x_NCHW), filt(y_NCHW)
    sxx = filt(x_NCHW * x_NCHW) - mx * mx
    syy = filt(y_NCHW * y_NCHW) - my * my
    sxy = filt(x_NCHW * y_NCHW) - mx * my
    return ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))


def _to_nchw(t: torch.Tensor, layout: str) -> torch.Tensor:
    if layout == "hwc":
        t = rearrange(t, "... h w c -> ... c h w")
    elif layout != "chw":
        raise ValueError(f"layout={layout!r}: expected 'chw' or 'hwc'")
    if t.ndim < 3:
        raise ValueError(f"SSIM needs at least [C, H, W], got {tuple(t.shape)}")
    return t.reshape(-1, *t.shape[-3:])  # [N, C, H, W], N = product of the leading axes


def ssim(pred, target, data_range: float = 255.0, layout: str = "hwc") -> float:
    """Mean SSIM over all images (leading axes) and channels."""
    a, b = _as_tensor(pred), _as_tensor(target)
    if a.shape != b.shape:
        raise ValueError(f"shape mismatch: {tuple(a.shape)} vs {tuple(b.shape)}")
    with torch.no_grad():
        return float(ssim_map(_to_nchw(a, layout), _to_nchw(b, layout), data_range).mean())


def ssim_per_frame(pred, target, data_range: float = 255.0, layout: str = "hwc") -> list[float]:
    """SSIM of each entry along the first axis (e.g. frames of a [T, H, W, C] video)."""
    a, b = _as_tensor(pred), _as_tensor(target)
    with torch.no_grad():
        m = ssim_map(_to_nchw(a, layout), _to_nchw(b, layout), data_range)
        return [float(v) for v in m.reshape(a.shape[0], -1).mean(1)]
