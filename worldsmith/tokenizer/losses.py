"""Tokenizer training losses: MSE (the default), L1, SSIM, temporal (frame differences), optional adversarial.

A perceptual loss (LPIPS/VGG) needs a pretrained network, which worldsmith never
downloads: `ReconstructionLoss.perceptual` is a hook that takes a callable
`f(recon_NCHW, target_NCHW) -> scalar` built from weights the user has locally.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F
from einops import rearrange

from ..eval.metrics import ssim_map
from ..utils.errors import WorldsmithError


@dataclass
class LossConfig:
    """Weights of the reconstruction (and optional adversarial) terms.

    The default is plain mean squared error: on simulator clips at 64 px a cv4x8x8-tiny net
    reached 31.3 dB PSNR (first 32 test clips) in 30 fp32 CPU-minutes where L1 + 0.2 SSIM + 0.5 temporal
    reached 29.4 dB (BENCHMARKS.md, tokenizers, session 10). It needs the tokenizer's tight gradient clip (0.1):
    without it one gradient spike wrecked a run. L1, SSIM and the temporal term remain for
    users who value sharpness over PSNR.
    """

    l1: float = 0.0
    """Weight of the mean absolute error."""
    mse: float = 1.0
    """Weight of the mean squared error (what PSNR measures)."""
    ssim: float = 0.0
    """Weight of (1 - SSIM) per frame (0.2 is a sensible value with l1=1)."""
    temporal: float = 0.0
    """Weight of the L1 between frame differences (x[t] - x[t-1]) of recon and target (0.5
    is a sensible value with l1=1)."""
    perceptual: float = 0.0
    """Needs a local network set as ReconstructionLoss.perceptual (none ships: offline)."""
    adversarial: float = 0.0
    """Weight of the hinge GAN loss (0 = off, the default)."""
    adversarial_start: int = 0
    """Step from which the adversarial term is used."""
    disc_lr: float = 2e-4


class ReconstructionLoss(nn.Module):
    """Weighted sum of the reconstruction terms; returns (loss, scalars)."""

    def __init__(self, cfg: LossConfig, perceptual: Callable | None = None):
        super().__init__()
        self.cfg = cfg
        self.perceptual = perceptual
        if cfg.perceptual > 0 and perceptual is None:
            raise WorldsmithError("loss.perceptual > 0 needs a perceptual network passed as "
                                  "ReconstructionLoss(perceptual=fn); none ships (no downloads)")

    def forward(self, recon_BCTHW: torch.Tensor, x_BCTHW: torch.Tensor) -> tuple[torch.Tensor, dict]:
        c = self.cfg
        recon_BCTHW = recon_BCTHW.float()
        x_BCTHW = x_BCTHW.float()
        l1 = (recon_BCTHW - x_BCTHW).abs().mean()
        loss, logs = c.l1 * l1, {"l1": float(l1.detach())}
        if c.mse > 0:
            mse = (recon_BCTHW - x_BCTHW).pow(2).mean()
            loss = loss + c.mse * mse
            logs["mse"] = float(mse.detach())
        frames_r = rearrange(recon_BCTHW, "b c t h w -> (b t) c h w")
        frames_x = rearrange(x_BCTHW, "b c t h w -> (b t) c h w")
        if c.ssim > 0:
            s = ssim_map(frames_r, frames_x, data_range=2.0).mean()
            loss = loss + c.ssim * (1 - s)
            logs["ssim"] = float(s.detach())
        if c.temporal > 0 and x_BCTHW.shape[2] > 1:
            dr = recon_BCTHW[:, :, 1:] - recon_BCTHW[:, :, :-1]  # [B, C, T-1, H, W]
            dx = x_BCTHW[:, :, 1:] - x_BCTHW[:, :, :-1]
            t = (dr - dx).abs().mean()
            loss = loss + c.temporal * t
            logs["temporal"] = float(t.detach())
        if c.perceptual > 0:
            p = self.perceptual(frames_r, frames_x)
            loss = loss + c.perceptual * p
            logs["perceptual"] = float(p.detach())
        with torch.no_grad():
            mse = F.mse_loss(recon_BCTHW.clamp(-1, 1), x_BCTHW)
            logs["psnr"] = float(10 * torch.log10(4.0 / mse.clamp_min(1e-10)))
        return loss, logs


class PatchDiscriminator(nn.Module):
    """A small per-frame PatchGAN discriminator (hinge loss) for the optional adversarial term."""

    def __init__(self, in_channels: int = 3, width: int = 32, layers: int = 3):
        super().__init__()
        mods: list[nn.Module] = []
        c = in_channels
        for i in range(layers):
            mods += [nn.Conv2d(c, width * 2 ** i, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
            c = width * 2 ** i
        mods.append(nn.Conv2d(c, 1, 3, padding=1))
        self.net = nn.Sequential(*mods)

    def forward(self, x_BCTHW: torch.Tensor) -> torch.Tensor:
        return self.net(rearrange(x_BCTHW, "b c t h w -> (b t) c h w"))  # [B*T, 1, h, w] logits


def discriminator_state(disc: nn.Module | None, opt) -> dict:
    """A discriminator's and its optimiser's state for a training checkpoint ({} when there is none)."""
    if disc is None:
        return {}
    return {"disc": disc.state_dict(), "disc_opt": opt.state_dict()}


def load_discriminator_state(disc: nn.Module | None, opt, state: dict) -> None:
    """Restore what `discriminator_state` returned (nothing to do without a discriminator or state)."""
    if disc is not None and state:
        disc.load_state_dict(state["disc"])
        opt.load_state_dict(state["disc_opt"])


def hinge_d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Discriminator hinge loss."""
    return F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean()
