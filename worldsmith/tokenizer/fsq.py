"""Finite scalar quantisation (FSQ, Mentzer et al. 2023), as in the Cosmos DV tokenizers.

Each of the d latent channels is bounded with tanh and rounded to one of `levels[i]`
values; the code index is the mixed-radix number formed by the d digits, so levels
(8, 8, 8, 5, 5, 5) give 8*8*8*5*5*5 = 64,000 codes. Rounding uses a straight-through
gradient. No codebook, no commitment loss, no dead codes.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn as nn


class FSQ(nn.Module):
    """Quantise `[B, d, ...]` latents to the grid given by `levels` (one entry per channel)."""

    def __init__(self, levels: Sequence[int]):
        super().__init__()
        if not levels or any(int(l) < 2 for l in levels):
            raise ValueError(f"FSQ levels must be >= 2 each, got {list(levels)}")
        self.levels = [int(l) for l in levels]
        lv = torch.tensor(self.levels, dtype=torch.long)
        basis = torch.cumprod(torch.cat([torch.ones(1, dtype=torch.long), lv[:-1]]), 0)
        self.register_buffer("_levels", lv, persistent=False)
        self.register_buffer("_basis", basis, persistent=False)

    @property
    def dim(self) -> int:
        return len(self.levels)

    @property
    def codebook_size(self) -> int:
        return math.prod(self.levels)

    def _view(self, t: torch.Tensor, ndim: int) -> torch.Tensor:
        return t.view(1, -1, *([1] * (ndim - 2)))

    def bound(self, z: torch.Tensor) -> torch.Tensor:
        """Squash to (-(L-1)/2, (L-1)/2) per channel, shifted for even L so rounding is fair."""
        lv = self._view(self._levels, z.ndim).to(z.dtype)
        half = (lv - 1) * (1 - 1e-3) / 2
        offset = torch.where(lv % 2 == 0, 0.5, 0.0)
        shift = torch.atanh(offset / half)
        return torch.tanh(z + shift) * half - offset

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """z [B, d, ...] -> (quantised codes scaled to [-1, 1] [B, d, ...], indices [B, ...])."""
        b = self.bound(z)
        q = b + (torch.round(b) - b).detach()  # straight-through rounding
        half = self._view(self._levels // 2, z.ndim).to(z.dtype)
        codes = q / half
        return codes, self.codes_to_indices(codes)

    def codes_to_indices(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes in [-1, 1] [B, d, ...] -> integer indices in [0, codebook_size) [B, ...]."""
        half = self._view(self._levels // 2, codes.ndim).to(codes.dtype)
        digits = torch.round(codes * half + half).long()  # [B, d, ...] in [0, L)
        return (digits * self._view(self._basis, codes.ndim)).sum(dim=1)

    def indices_to_codes(self, idx: torch.Tensor) -> torch.Tensor:
        """Indices [B, ...] -> codes [B, d, ...] in [-1, 1]."""
        idx = idx.long().unsqueeze(1)  # [B, 1, ...]
        digits = (idx // self._view(self._basis, idx.ndim)) % self._view(self._levels, idx.ndim)
        half = self._view(self._levels // 2, idx.ndim)
        return (digits - half).float() / half.float()
