"""Building blocks of the causal video tokenizer.

Everything here is temporally causal: the output at frame t depends on input frames <= t
only. Causal temporal convolutions pad on the left with copies of the first frame, and in
*streaming* mode they keep the last frames of the previous chunk instead, so that a video
encoded chunk by chunk gives the same result as one pass (see `inference.py`).

Normalisation is per position over channels (RMS norm), never over time or space, so it
cannot leak future frames into the past and spatial tiles see the same statistics.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from einops import rearrange


# --------------------------------------------------------------------------- wavelet patching
def _haar_packet_matrix(n: int) -> torch.Tensor:
    """Orthonormal full Haar packet basis on n = 2**levels points (rows are basis vectors).

    Two levels on 4 points: kron(H2, H2) with H2 = [[1, 1], [1, -1]] / sqrt(2); row 0 is the
    low-low band (the mean times 2), the rest the detail bands.
    """
    h2 = torch.tensor([[1.0, 1.0], [1.0, -1.0]]) / math.sqrt(2.0)
    m = torch.ones(1, 1)
    for _ in range(int(math.log2(n))):
        m = torch.kron(m, h2)
    return m


class HaarPatcher3d(nn.Module):
    """2-level 3D Haar wavelet patching (full packet: 4x4x4 pixels -> 64 bands per channel).

    Causal in time: the first frame is repeated `p` times so that `1 + k*p` frames become
    `1 + k` band frames and the first one depends on frame 0 alone. The transform is
    orthonormal, so `unpatch` is its exact inverse (then drops the repeated first frames).
    """

    def __init__(self, patch: int = 4):
        super().__init__()
        self.p = patch
        h = _haar_packet_matrix(patch)
        self.register_buffer("basis", torch.kron(torch.kron(h, h), h), persistent=False)  # [p^3, p^3]

    def patch(self, x_BCTHW: torch.Tensor, first_chunk: bool = True) -> torch.Tensor:
        p = self.p
        if first_chunk:  # repeat frame 0 so it fills a temporal group on its own
            x_BCTHW = torch.cat([x_BCTHW[:, :, :1].expand(-1, -1, p - 1, -1, -1), x_BCTHW], dim=2)
        x = rearrange(x_BCTHW, "b c (t pt) (h ph) (w pw) -> b c t h w (pt ph pw)", pt=p, ph=p, pw=p)
        x = x @ self.basis.T.to(x.dtype)  # project each 4x4x4 block onto the Haar packet basis
        return rearrange(x, "b c t h w k -> b (c k) t h w")  # [B, C*64, T/4, H/4, W/4]

    def unpatch(self, y: torch.Tensor, first_chunk: bool = True) -> torch.Tensor:
        p = self.p
        y = rearrange(y, "b (c k) t h w -> b c t h w k", k=p ** 3)
        y = y @ self.basis.to(y.dtype)  # inverse of an orthonormal transform
        x = rearrange(y, "b c t h w (pt ph pw) -> b c (t pt) (h ph) (w pw)", pt=p, ph=p, pw=p)
        return x[:, :, p - 1:] if first_chunk else x


# --------------------------------------------------------------------------- causal conv
class CausalConv3d(nn.Module):
    """3D conv, causal in time (left padding with frame 0), 'same' padding in space.

    With `stream=True` the module keeps the last `kt - st` input frames and uses them as the
    left context of the next call instead of padding, so chunked calls equal one pass.
    """

    def __init__(self, cin: int, cout: int, kernel=(3, 3, 3), stride=(1, 1, 1)):
        super().__init__()
        kt, kh, kw = kernel
        self.kt, self.st = kt, stride[0]
        self.conv = nn.Conv3d(cin, cout, kernel, stride=stride, padding=(0, kh // 2, kw // 2))
        self.stream = False
        self.cache: torch.Tensor | None = None

    def forward(self, x_BCTHW: torch.Tensor) -> torch.Tensor:
        pad = self.kt - 1
        if pad > 0:
            if self.stream and self.cache is not None:
                left = self.cache
            else:  # first chunk or plain call: replicate frame 0 (causal)
                left = x_BCTHW[:, :, :1].expand(-1, -1, pad, -1, -1)
            x_BCTHW = torch.cat([left, x_BCTHW], dim=2)
            if self.stream:
                keep = self.kt - self.st
                self.cache = x_BCTHW[:, :, x_BCTHW.shape[2] - keep:].detach() if keep > 0 else None
        return self.conv(x_BCTHW)


def set_streaming(module: nn.Module, on: bool) -> None:
    """Turn streaming (chunked) mode on or off for every causal layer; clears caches."""
    for m in module.modules():
        if isinstance(m, (CausalConv3d, TemporalUpsample)):
            m.stream = on
            if isinstance(m, CausalConv3d):
                m.cache = None
            else:
                m.seen = False


def make_norm(dim: int, kind: str = "rms") -> nn.Module:
    """The block norm: RMSNorm over channels, or identity for `kind='none'`."""
    return RMSNorm(dim) if kind == "rms" else nn.Identity()


class RMSNorm(nn.Module):
    """Normalise each position over channels (no mixing across time or space)."""

    def __init__(self, dim: int, eps: float = 1e-6):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x_BCTHW: torch.Tensor) -> torch.Tensor:
        rms = x_BCTHW.pow(2).mean(dim=1, keepdim=True).add(self.eps).rsqrt()
        return x_BCTHW * rms * self.scale.view(1, -1, 1, 1, 1)


class FactorizedConv(nn.Module):
    """A 1x3x3 spatial conv followed by a 3x1x1 causal temporal conv (factorized 3D)."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.spatial = CausalConv3d(cin, cout, (1, 3, 3))
        self.temporal = CausalConv3d(cout, cout, (3, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.temporal(self.spatial(x))


class ResBlock(nn.Module):
    """Factorized causal space-time residual block: (norm, SiLU, conv) x 2 plus a skip."""

    def __init__(self, cin: int, cout: int, norm: str = "rms"):
        super().__init__()
        self.norm1, self.conv1 = make_norm(cin, norm), FactorizedConv(cin, cout)
        self.norm2, self.conv2 = make_norm(cout, norm), FactorizedConv(cout, cout)
        self.skip = nn.Conv3d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.conv2(F.silu(self.norm2(h)))
        return self.skip(x) + h


class SpatialAttention(nn.Module):
    """Single-head self-attention over the positions of each frame (frames never mix)."""

    def __init__(self, dim: int):
        super().__init__()
        self.norm = RMSNorm(dim)  # always: unnormalised q.k logits make un-normed nets diverge
        self.qkv = nn.Conv3d(dim, 3 * dim, 1)
        self.proj = nn.Conv3d(dim, dim, 1)

    def forward(self, x_BCTHW: torch.Tensor) -> torch.Tensor:
        b, c, t, h, w = x_BCTHW.shape
        qkv = rearrange(self.qkv(self.norm(x_BCTHW)), "b (k c) t h w -> k (b t) 1 (h w) c", k=3)
        y = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2])  # [(B T), 1, H*W, C]
        y = rearrange(y, "(b t) 1 (h w) c -> b c t h w", b=b, t=t, h=h, w=w)
        return x_BCTHW + self.proj(y)


def space_to_channel_mean(x_BCTHW: torch.Tensor, cout: int) -> torch.Tensor:
    """Parameter-free 2x spatial downsampling to `cout` channels: each 2x2 block's values become
    channels (space-to-channel), then consecutive groups of them are averaged (DC-AE's shortcut)."""
    return channel_mean(rearrange(x_BCTHW, "b c t (h p) (w q) -> b (c p q) t h w", p=2, q=2), cout)


def channel_to_space_repeat(x_BCTHW: torch.Tensor, cout: int) -> torch.Tensor:
    """Parameter-free 2x spatial upsampling to `cout` channels: channels repeated to 4*cout, then
    moved into 2x2 blocks (channel-to-space); the inverse shape of `space_to_channel_mean`."""
    x = x_BCTHW.repeat_interleave(4 * cout // x_BCTHW.shape[1], dim=1)
    return rearrange(x, "b (c p q) t h w -> b c t (h p) (w q)", p=2, q=2)


def channel_mean(x_BCTHW: torch.Tensor, cout: int) -> torch.Tensor:
    """Average consecutive channel groups down to `cout` channels."""
    return rearrange(x_BCTHW, "b (g k) t h w -> b g k t h w", g=cout).mean(dim=2)


def shortcut_ok(cin: int, cout: int, up: bool = False) -> bool:
    """Whether a 2x parameter-free shortcut fits these widths (its channel groups divide evenly)."""
    return (4 * cout) % cin == 0 if up else (4 * cin) % cout == 0


class SpatialDownsample(nn.Module):
    """Halve H and W with a strided 1x3x3 conv (asymmetric pad as in LDM encoders), optionally
    as a residual over a space-to-channel shortcut."""

    def __init__(self, cin: int, cout: int, shortcut: bool = False):
        super().__init__()
        self.conv = nn.Conv3d(cin, cout, (1, 3, 3), stride=(1, 2, 2))
        self.shortcut = shortcut and shortcut_ok(cin, cout)
        self.cout = cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(F.pad(x, (0, 1, 0, 1, 0, 0)))
        return y + space_to_channel_mean(x, self.cout) if self.shortcut else y


class TemporalDownsample(nn.Module):
    """Causal 2x temporal downsampling: `1 + 2k` frames -> `1 + k` (frame 0 alone)."""

    def __init__(self, dim: int):
        super().__init__()
        self.conv = CausalConv3d(dim, dim, (3, 1, 1), stride=(2, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class SpatialUpsample(nn.Module):
    """Double H and W: nearest-neighbour then a 1x3x3 conv, optionally as a residual over a
    channel-to-space shortcut."""

    def __init__(self, cin: int, cout: int, shortcut: bool = False):
        super().__init__()
        self.conv = CausalConv3d(cin, cout, (1, 3, 3))
        self.shortcut = shortcut and shortcut_ok(cin, cout, up=True)
        self.cout = cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(F.interpolate(x, scale_factor=(1, 2, 2), mode="nearest"))
        return y + channel_to_space_repeat(x, self.cout) if self.shortcut else y


class TemporalUpsample(nn.Module):
    """Causal 2x temporal upsampling: `1 + k` frames -> `1 + 2k` (frame 0 stays alone).

    Each frame is repeated twice and the first copy of frame 0 dropped; a causal temporal
    conv then refines. In streaming mode only the very first chunk drops a frame.
    """

    def __init__(self, dim: int):
        super().__init__()
        self.conv = CausalConv3d(dim, dim, (3, 1, 1))
        self.stream, self.seen = False, False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.repeat_interleave(2, dim=2)  # [B, C, 2T, H, W]
        if not (self.stream and self.seen):
            x = x[:, :, 1:]
        self.seen = True
        return self.conv(x)
