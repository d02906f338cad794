"""The whole formulation learns: a tiny DiT memorises one clip and then samples it back (EDM and rf)."""

from __future__ import annotations

import pytest
import torch

from worldsmith.diffusion import Denoiser, DiffusionConfig, generate
from worldsmith.models.dit import DiT, DiTConfig


@pytest.mark.slow
@pytest.mark.parametrize("formulation", ["edm", "rf"])
def test_tiny_dit_memorises_a_clip(formulation):
    torch.manual_seed(0)
    net = DiT(DiTConfig(in_channels=4, out_channels=4, width=64, depth=2, num_heads=4, text_dim=8,
                        adaln_lora_dim=16))
    den = Denoiser(net, DiffusionConfig(formulation=formulation, text_dropout=0.0))
    g = torch.Generator().manual_seed(0)
    x0 = (0.5 * torch.randn(1, 4, 4, 4, 4, generator=g)).repeat(8, 1, 1, 1, 1)  # [8, C, T, H, W]
    cond = {"text": torch.randn(1, 3, 8, generator=g).repeat(8, 1, 1)}
    opt = torch.optim.AdamW(net.parameters(), lr=3e-3)
    losses = []
    for _ in range(300):
        loss, _ = den.loss(x0, cond, g)  # random 0/1/2 conditioning frames each sample
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert sum(losses[-20:]) < 0.25 * sum(losses[:20])
    den.eval()
    text = {"text": cond["text"][:2]}
    var = x0.var().item()
    t2w = generate(den, (2, 4, 4, 4, 4), text, guidance=0.0, steps=20, seed=1)
    assert ((t2w - x0[:2]) ** 2).mean().item() < 0.25 * var
    v2w = generate(den, (2, 4, 4, 4, 4), text, guidance=0.0, steps=20, seed=1,
                   cond_latent=x0[:2, :, :2], num_cond_frames=2)
    assert ((v2w - x0[:2])[:, :, 2:] ** 2).mean().item() < 0.25 * var
