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


@pytest.mark.slow
def test_tiny_dit_reads_velocity_from_its_conditioning_frames():
    """A dot moves left or right at random; only the two conditioning frames tell which. After 400
    steps the posterior mean (read at sigma 30, the past its only source) continues the motion from
    the true past and cannot from a past that stands still: the conditioning path carries dynamics."""
    from worldsmith.diffusion import VideoCondition

    torch.manual_seed(0)
    C, T, H, W = 4, 4, 4, 8

    def dots(B: int, g: torch.Generator) -> torch.Tensor:
        p0 = torch.randint(0, W, (B,), generator=g)
        v = torch.randint(0, 2, (B,), generator=g) * 2 - 1
        x = torch.full((B, C, T, H, W), -0.5)
        for t in range(T):
            x[torch.arange(B), 0, t, :, (p0 + v * t) % W] = 1.0
        return x

    net = DiT(DiTConfig(in_channels=C, out_channels=C, width=64, depth=2, num_heads=4, text_dim=8,
                        adaln_lora_dim=16))
    den = Denoiser(net, DiffusionConfig(text_dropout=0.0, anchor="last_cond", cond_frame_choices=(2,)))
    g = torch.Generator().manual_seed(0)
    opt = torch.optim.AdamW(net.parameters(), lr=2e-3)
    for _ in range(400):
        loss, _ = den.loss(dots(32, g), {"text": torch.zeros(32, 3, 8)}, g)
        opt.zero_grad()
        loss.backward()
        opt.step()
    den.eval()
    x0 = dots(128, g)
    err = {}
    with torch.no_grad():
        for name, past in (("true", x0[:, :, :2]), ("static", x0[:, :, 1:2].repeat(1, 1, 2, 1, 1))):
            vc = VideoCondition.build(past, 2, T, aug_sigma=0.001)
            d = den(den.anchor(x0, vc).expand_as(x0).clone(), torch.tensor([30.0]), {"text": torch.zeros(128, 3, 8)}, vc)
            err[name] = ((d - x0)[:, :, 2:] ** 2).mean().item()
    assert err["true"] < 0.25 * err["static"], err
