"""Sampling with the tiny DiT: guidance with a negative prompt, conditioning frames, seeds, long videos."""

from __future__ import annotations

import pytest
import torch

from worldsmith.diffusion import (Denoiser, DiffusionConfig, VideoCondition, cat_conds, generate, generate_long,
                                  guided_denoise, null_text)
from worldsmith.models.dit import DiT, DiTConfig
from worldsmith.utils.errors import WorldsmithError

SHAPE = (1, 4, 4, 4, 4)


def tiny_denoiser(seed: int = 0, formulation: str = "edm") -> Denoiser:
    torch.manual_seed(seed)
    net = DiT(DiTConfig(in_channels=4, out_channels=4, width=32, depth=2, num_heads=2, text_dim=8,
                        adaln_lora_dim=8))
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():  # small random values in the zero-initialised layers, like a trained net
        for p in net.parameters():
            if torch.count_nonzero(p) == 0:
                p.copy_(torch.randn(p.shape, generator=g) * 0.1)
    return Denoiser(net, DiffusionConfig(formulation=formulation)).eval()


def text(seed: int, L: int = 5, B: int = 1) -> dict:
    g = torch.Generator().manual_seed(seed)
    return {"text": torch.randn(B, L, 8, generator=g), "text_mask": torch.ones(B, L, dtype=torch.bool)}


def test_cfg_with_negative_prompt_matches_formula():
    den = tiny_denoiser()
    x = torch.randn(SHAPE, generator=torch.Generator().manual_seed(0)) * 3
    sigma = torch.tensor([3.0])
    cond, neg = text(1, L=5), text(2, L=3)  # different lengths: padded and masked in one batch
    with torch.no_grad():
        d_c, d_n = den(x, sigma, cond), den(x, sigma, neg)
        guided = guided_denoise(den, x, sigma, cond=cond, uncond=neg, guidance=7.0)
        assert torch.allclose(guided, d_c + 7.0 * (d_c - d_n), atol=1e-5)
        assert torch.allclose(guided_denoise(den, x, sigma, cond=cond, uncond=neg, guidance=0.0), d_c)
        # another negative prompt steers differently
        other = guided_denoise(den, x, sigma, cond=cond, uncond=text(3, L=3), guidance=7.0)
        assert not torch.allclose(guided, other, atol=1e-4)


def test_generate_negative_prompt_changes_video_and_is_seeded():
    den = tiny_denoiser()
    kw = dict(steps=6, guidance=5.0, sampler="euler")
    a = generate(den, SHAPE, text(1), uncond=text(2), seed=7, **kw)
    b = generate(den, SHAPE, text(1), uncond=text(2), seed=7, **kw)
    c = generate(den, SHAPE, text(1), uncond=null_text(text(1)), seed=7, **kw)
    d = generate(den, SHAPE, text(1), uncond=text(2), seed=8, **kw)
    assert torch.isfinite(a).all()
    assert torch.equal(a, b)
    assert not torch.allclose(a, c, atol=1e-4)
    assert not torch.allclose(a, d, atol=1e-4)


@pytest.mark.parametrize("formulation", ["edm", "rf"])
@pytest.mark.parametrize("n_cond", [1, 2])
def test_conditioning_frames_come_back_unchanged(formulation, n_cond):
    den = tiny_denoiser(formulation=formulation)
    past = torch.randn(1, 4, n_cond, 4, 4, generator=torch.Generator().manual_seed(5))
    out = generate(den, SHAPE, text(1), cond_latent=past, num_cond_frames=n_cond, steps=5,
                   sampler="dpmpp_2m", guidance=3.0, seed=0)
    assert torch.equal(out[:, :, :n_cond], past)
    assert torch.isfinite(out).all()
    # the conditioning frames steer the generated ones
    past2 = past + 1.0
    out2 = generate(den, SHAPE, text(1), cond_latent=past2, num_cond_frames=n_cond, steps=5,
                    sampler="dpmpp_2m", guidance=3.0, seed=0)
    assert not torch.allclose(out[:, :, n_cond:], out2[:, :, n_cond:], atol=1e-4)


def test_generate_long_chains_chunks():
    den = tiny_denoiser()
    first = torch.randn(1, 4, 1, 4, 4, generator=torch.Generator().manual_seed(0))
    chunks = []

    def reencode(tail):
        chunks.append(tail.clone())
        return tail

    out = generate_long(den, SHAPE, text(1), num_chunks=3, num_cond_frames=2, first_latent=first,
                        reencode=reencode, steps=3, sampler="euler", guidance=0.0, seed=0)
    assert out.shape == (1, 4, 4 + 2 * 2, 4, 4)
    assert torch.equal(out[:, :, :1], first)
    # each chunk's last two frames are the next chunk's conditioning (kept, so contiguous in the output)
    assert torch.equal(chunks[0], out[:, :, 2:4])
    assert torch.equal(chunks[1], out[:, :, 4:6])


def test_generate_validates_arguments():
    den = tiny_denoiser()
    with pytest.raises(WorldsmithError, match="sampler"):
        generate(den, SHAPE, text(1), sampler="nope")
    with pytest.raises(WorldsmithError, match="num_cond_frames"):
        generate(den, SHAPE, text(1), num_cond_frames=4)
    with pytest.raises(WorldsmithError, match="cond_latent"):
        generate(den, SHAPE, text(1), num_cond_frames=2)
    with pytest.raises(WorldsmithError, match="steps"):
        generate(den, SHAPE, text(1), steps=0)


def test_video_condition_and_cat_conds():
    latent = torch.randn(2, 4, 3, 4, 4)
    vc = VideoCondition.build(latent, torch.tensor([0, 2]), total_frames=5, aug_sigma=0.5,
                              generator=torch.Generator().manual_seed(0))
    assert vc.mask.shape == (2, 1, 5, 1, 1) and vc.num_frames.tolist() == [0, 2]
    assert torch.equal(vc.latent[1, :, :2], latent[1, :, :2]) and torch.all(vc.latent[0] == 0)
    noise = (vc.latent_aug - vc.latent)[1, :, :2]
    assert 0.3 < noise.std().item() < 0.7  # sigma_aug = 0.5
    assert vc.repeat(2).mask.shape == (4, 1, 5, 1, 1)
    both = cat_conds(text(1, L=5), text(2, L=3))
    assert both["text"].shape == (2, 5, 8)
    assert both["text_mask"].tolist() == [[True] * 5, [True] * 3 + [False] * 2]


def test_text_encoder_prompts_drive_the_dit():
    """Real MiniLM token states (D=384) through the DiT's cross-attention, CFG with a negative prompt."""
    from worldsmith.text.encoder import TextEncoder

    enc = TextEncoder(max_length=16)
    hidden, mask = enc.encode_tokens(["a red ball rolls off a table", "blurry, static, distorted"])
    torch.manual_seed(0)
    net = DiT(DiTConfig(in_channels=4, out_channels=4, width=32, depth=2, num_heads=2, text_dim=enc.dim,
                        adaln_lora_dim=8))
    with torch.no_grad():
        for p in net.parameters():
            if torch.count_nonzero(p) == 0:
                p.normal_(0, 0.1)
    den = Denoiser(net).eval()
    cond = {"text": hidden[:1], "text_mask": mask[:1]}
    neg = {"text": hidden[1:], "text_mask": mask[1:]}
    a = generate(den, SHAPE, cond, uncond=neg, guidance=7.0, steps=4, seed=0)
    b = generate(den, SHAPE, neg, uncond=cond, guidance=7.0, steps=4, seed=0)
    assert torch.isfinite(a).all() and not torch.allclose(a, b, atol=1e-4)


@pytest.mark.parametrize("formulation", ["edm", "rf"])
@pytest.mark.parametrize("anchor", ["last_cond", "still"])
def test_initial_noise_is_centred_on_the_anchor(formulation, anchor):
    """An anchored model was trained on x = anchor + change + noise, so sampling must start from
    noise around the anchor, not around zero: the network's first input on the frames to
    generate is then noise alone, however far the conditioning latent is from zero (before the
    fix it carried -anchor, which reads as "everything moves to zero" and blurred the mean)."""
    torch.manual_seed(0)
    net = DiT(DiTConfig(in_channels=4, out_channels=4, width=32, depth=2, num_heads=2, text_dim=8,
                        adaln_lora_dim=8))
    den = Denoiser(net, DiffusionConfig(formulation=formulation, anchor=anchor)).eval()
    n = 1
    past = 40.0 + torch.randn(1, 4, n, 4, 4, generator=torch.Generator().manual_seed(5))  # far from zero
    still = past[:, :, -1:].expand(-1, -1, SHAPE[2], -1, -1).clone() if anchor == "still" else None
    seen = []
    hook = net.register_forward_pre_hook(lambda mod, args: seen.append(args[0].detach().clone()))
    sigma0 = 2.0 if formulation == "edm" else 1.0
    _, _, c_in, _ = den.scalings(torch.tensor(sigma0))
    generate(den, SHAPE, text(1), cond_latent=past, num_cond_frames=n, steps=1, sampler="euler",
             guidance=0.0, seed=0, sigma_max=sigma0, still=still)
    hook.remove()
    noise = seen[0][:, :, n:] / c_in  # the generated frames' input, back in latent units
    assert abs(float(noise.mean())) < 0.5, float(noise.mean())  # was about -40 before the fix
    assert 0.5 < float(noise.std()) / sigma0 < 1.5


def test_init_noise_zero_is_the_denoiser_read_at_the_anchor():
    """`init_noise=0` + one Euler step = D(anchor, sigma_max): the pipeline's posterior mean,
    deterministic (no seed dependence) and exactly one network pass."""
    torch.manual_seed(0)
    net = DiT(DiTConfig(in_channels=4, out_channels=4, width=32, depth=2, num_heads=2, text_dim=8,
                        adaln_lora_dim=8))
    den = Denoiser(net, DiffusionConfig(anchor="last_cond")).eval()
    past = 3.0 + torch.randn(1, 4, 1, 4, 4, generator=torch.Generator().manual_seed(5))
    kw = dict(cond_latent=past, num_cond_frames=1, steps=1, sampler="euler", guidance=0.0, sigma_max=30.0,
              aug_sigma=0.0, init_noise=0.0)
    calls = []
    hook = net.register_forward_pre_hook(lambda mod, args: calls.append(args[0]))
    a = generate(den, SHAPE, text(1), seed=0, **kw)
    hook.remove()
    b = generate(den, SHAPE, text(1), seed=9, **kw)
    assert len(calls) == 1 and torch.equal(calls[0][:, :, 1:], torch.zeros_like(calls[0][:, :, 1:]))
    assert torch.equal(a, b)
    vc = VideoCondition.build(past, 1, SHAPE[2], aug_sigma=0.0)
    with torch.no_grad():
        direct = den(den.anchor(torch.zeros(SHAPE), vc), torch.tensor([30.0]), text(1), vc)
    assert torch.allclose(a, direct, atol=1e-5)
    with pytest.raises(WorldsmithError, match="init_noise"):
        generate(den, SHAPE, text(1), init_noise=-1.0)


def test_sampling_plan_names_the_mean_and_the_integrators():
    """"mean" is one noise-free Euler step from the model's mean_sigma; integrators keep their steps."""
    from worldsmith.diffusion.generate import sampling_plan

    den = tiny_denoiser()
    den.cfg.mean_sigma = 25.0
    assert sampling_plan(den, "mean", 35) == {"sampler": "euler", "steps": 1, "init_noise": 0.0, "sigma_max": 25.0}
    assert sampling_plan(den, "mean", 35, sigma_max=12.0)["sigma_max"] == 12.0
    assert sampling_plan(den, "heun", 7) == {"sampler": "heun", "steps": 7, "init_noise": 1.0, "sigma_max": None}
    with pytest.raises(WorldsmithError, match="sampler .*'ddim'.*mean"):
        sampling_plan(den, "ddim", 7)
