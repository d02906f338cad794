"""Denoiser: EDM / rectified-flow preconditioning, conditioning frames, loss only on generated frames."""

from __future__ import annotations

import math

import pytest
import torch

from worldsmith.diffusion import Denoiser, DiffusionConfig, VideoCondition, drop_text, edm_scalings, rf_scalings
from worldsmith.models.dit import DiT, DiTConfig
from worldsmith.utils.errors import WorldsmithError


def tiny_net(seed: int = 0, randomize: bool = True) -> DiT:
    torch.manual_seed(seed)
    net = DiT(DiTConfig(in_channels=4, out_channels=4, width=32, depth=2, num_heads=2, text_dim=8,
                        adaln_lora_dim=8))
    if randomize:  # small random values in the zero-initialised layers, like a trained net
        g = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for p in net.parameters():
                if torch.count_nonzero(p) == 0:
                    p.copy_(torch.randn(p.shape, generator=g) * 0.05)
    return net


def batch(B=2, T=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    x0 = 0.5 * torch.randn(B, 4, T, 4, 4, generator=g)
    cond = {"text": torch.randn(B, 5, 8, generator=g), "text_mask": torch.ones(B, 5, dtype=torch.bool)}
    return x0, cond


@pytest.mark.parametrize("sigma", [0.002, 0.1, 0.5, 3.0, 80.0])
def test_edm_scalings_match_paper(sigma):
    sd = 0.5
    c_skip, c_out, c_in, c_noise = edm_scalings(torch.tensor(sigma, dtype=torch.float64), sd)
    assert c_skip.item() == pytest.approx(sd ** 2 / (sigma ** 2 + sd ** 2), rel=1e-12)
    assert c_out.item() == pytest.approx(sigma * sd / math.sqrt(sigma ** 2 + sd ** 2), rel=1e-12)
    assert c_in.item() == pytest.approx(1 / math.sqrt(sigma ** 2 + sd ** 2), rel=1e-12)
    assert c_noise.item() == pytest.approx(math.log(sigma) / 4, rel=1e-12)
    # unit-variance network input and target for data of std sigma_data (the point of EDM)
    assert (c_in.item() ** 2) * (sd ** 2 + sigma ** 2) == pytest.approx(1.0)


def test_rf_parameterization_recovers_x0_from_true_velocity():
    g = torch.Generator().manual_seed(0)
    x0, eps = torch.randn(1000, generator=g), torch.randn(1000, generator=g)
    for sigma in (0.01, 0.7, 5.0, 80.0):
        s = torch.tensor(sigma)
        c_skip, c_out, c_in, t = rf_scalings(s)
        x_ve = x0 + s * eps
        x_t = c_in * x_ve
        assert torch.allclose(x_t, (1 - t) * x0 + t * eps, atol=1e-5)  # the flow's straight path
        velocity = eps - x0
        assert torch.allclose(c_skip * x_ve + c_out * velocity, x0, atol=1e-4)


@pytest.mark.parametrize("formulation", ["edm", "rf"])
def test_zero_init_net_makes_denoiser_its_skip(formulation):
    den = Denoiser(tiny_net(randomize=False), DiffusionConfig(formulation=formulation))
    x0, cond = batch()
    sigma = torch.tensor([0.3, 4.0])
    x = x0 + sigma.view(2, 1, 1, 1, 1) * torch.randn_like(x0)
    c_skip = den.scalings(sigma.view(2, 1, 1, 1, 1))[0]
    assert torch.allclose(den(x, sigma, cond), c_skip * x, atol=1e-6)


def test_denoiser_keeps_conditioning_frames_and_uses_per_frame_sigma():
    den = Denoiser(tiny_net())
    x0, cond = batch()
    vc = VideoCondition.build(x0[:, :, :2], 2, total_frames=4, aug_sigma=0.001,
                              generator=torch.Generator().manual_seed(0))
    seen = {}
    den.net.register_forward_hook(lambda m, args, out: seen.update(c_noise=args[1], mask=args[2]["cond_mask"]))
    x = x0 + 2.0 * torch.randn_like(x0)
    out = den(x, torch.tensor([2.0, 2.0]), cond, vc)
    assert torch.equal(out[:, :, :2], x0[:, :, :2])
    assert seen["c_noise"].shape == (2, 4)
    assert torch.allclose(seen["c_noise"][:, :2], torch.tensor(math.log(0.001) / 4))
    assert torch.allclose(seen["c_noise"][:, 2:], torch.tensor(math.log(2.0) / 4))
    assert seen["mask"][:, 0, :, 0, 0].tolist() == [[True, True, False, False]] * 2


@pytest.mark.parametrize("formulation", ["edm", "rf"])
def test_loss_finite_and_only_on_generated_frames(formulation):
    den = Denoiser(tiny_net(), DiffusionConfig(formulation=formulation, text_dropout=0.0))
    x0, cond = batch()
    captured = {}

    def keep(module, args, out):
        out.retain_grad()
        captured["out"] = out

    den.net.register_forward_hook(keep)
    n = torch.tensor([1, 3])
    loss, info = den.loss(x0, cond, torch.Generator().manual_seed(0), num_cond_frames=n)
    assert torch.isfinite(loss) and loss > 0
    loss.backward()
    grad = captured["out"].grad.abs().sum(dim=(1, 3, 4))  # [B, T]
    assert torch.all(grad[0, :1] == 0) and torch.all(grad[0, 1:] > 0)
    assert torch.all(grad[1, :3] == 0) and torch.all(grad[1, 3:] > 0)
    assert info["num_cond_frames"].tolist() == [1, 3]
    for p in den.net.parameters():
        assert p.grad is None or torch.isfinite(p.grad).all()


def test_loss_is_seeded_and_samples_conditioning_choices():
    den = Denoiser(tiny_net(), DiffusionConfig(cond_frame_choices=(0, 1, 2)))
    x0, cond = batch(B=16)
    l1, i1 = den.loss(x0, cond, torch.Generator().manual_seed(3))
    l2, _ = den.loss(x0, cond, torch.Generator().manual_seed(3))
    assert torch.equal(l1, l2)
    assert set(i1["num_cond_frames"].tolist()) <= {0, 1, 2}
    assert len(set(i1["num_cond_frames"].tolist())) > 1  # 16 draws from 3 choices


def test_motion_weights_emphasise_what_moves():
    """A blob moving over a static background: its positions weigh more; every frame keeps mean weight 1."""
    from worldsmith.diffusion.denoiser import motion_weights

    x0 = torch.zeros(1, 2, 3, 4, 4)
    x0[:, :, 1, 1, 1] = 1.0  # appears at (1, 1) in frame 1, moves to (2, 2) in frame 2
    x0[:, :, 2, 2, 2] = 1.0
    w = motion_weights(x0, strength=4.0)
    assert w.shape == (1, 1, 3, 4, 4)
    assert torch.allclose(w.mean(dim=(3, 4)), torch.ones(1, 1, 3))
    assert torch.all(w[0, 0, 0] == 1.0)  # the first frame has nothing to compare with: uniform
    assert w[0, 0, 2, 2, 2] > 3 * w[0, 0, 2, 0, 0] and w[0, 0, 2, 1, 1] > 3 * w[0, 0, 2, 0, 0]
    assert w[0, 0, 2, 1, 1] == w[0, 0, 2, 2, 2]  # where it left counts as much as where it arrived
    den = Denoiser(tiny_net(), DiffusionConfig(text_dropout=0.0, motion_weight=4.0))
    plain = Denoiser(den.net, DiffusionConfig(text_dropout=0.0))
    x0, cond = batch()
    lw, _ = den.loss(x0, cond, torch.Generator().manual_seed(0))
    lp, _ = plain.loss(x0, cond, torch.Generator().manual_seed(0))
    assert torch.isfinite(lw) and not torch.allclose(lw, lp)


def test_loss_target_is_zero_error_for_exact_prediction():
    """If the network output equals the target, the denoised estimate is x0 (EDM and rf)."""
    g = torch.Generator().manual_seed(0)
    x0, eps = torch.randn(8, generator=g), torch.randn(8, generator=g)
    for form in ("edm", "rf"):
        den = Denoiser(torch.nn.Identity(), DiffusionConfig(formulation=form))
        s = torch.tensor(1.7)
        c_skip, c_out, _, _ = den.scalings(s)
        x = x0 + s * eps
        target = (x0 - c_skip * x) / c_out
        assert torch.allclose(c_skip * x + c_out * target, x0, atol=1e-5)


def test_text_dropout():
    _, cond = batch(B=64)
    dropped = drop_text(cond, 0.5, torch.Generator().manual_seed(0))
    zero = (dropped["text"].abs().sum(dim=(1, 2)) == 0)
    assert 0 < zero.sum() < 64
    kept = ~zero
    assert torch.equal(dropped["text"][kept], cond["text"][kept])
    assert drop_text(cond, 0.0) is cond
    with pytest.raises(ValueError, match="formulation"):
        Denoiser(tiny_net(), DiffusionConfig(formulation="ddpm"))


def test_denoiser_save_load_round_trip(tmp_path):
    den = Denoiser(tiny_net(), DiffusionConfig(formulation="rf", sigma_max=20.0))
    den.save_pretrained(tmp_path / "wm")
    loaded = Denoiser.from_pretrained(tmp_path / "wm")
    assert loaded.cfg == den.cfg
    x0, cond = batch()
    sigma = torch.tensor([0.5, 2.0])
    assert torch.equal(den(x0, sigma, cond), loaded(x0, sigma, cond))
    (tmp_path / "wm" / "diffusion.json").write_text('{"formulation": "ddpm"}')
    with pytest.raises(WorldsmithError, match="formulation"):
        Denoiser.from_pretrained(tmp_path / "wm")


@pytest.mark.parametrize("formulation", ["edm", "rf"])
def test_anchor_zero_net_denoises_toward_the_last_conditioning_frame(formulation):
    """anchor=last_cond: a zero-output net is the Gaussian prior centred on the last conditioning
    frame (D = A + c_skip (x - A)), and the loss target is the change from that frame."""
    den = Denoiser(tiny_net(randomize=False), DiffusionConfig(formulation=formulation, anchor="last_cond"))
    x0, cond = batch(B=2, T=5)
    vc = VideoCondition.build(x0, 2)
    last = x0[:, :, 1:2].expand(-1, -1, 3, -1, -1)
    noise = torch.randn(x0.shape, generator=torch.Generator().manual_seed(3))
    x = torch.cat([x0[:, :, :2], last], dim=2) + 0.7 * noise
    c_skip = den.scalings(torch.tensor(0.7))[0]
    out = den(x, torch.tensor(0.7), cond, vc)
    assert torch.allclose(out[:, :, :2], x0[:, :, :2])
    assert torch.allclose(out[:, :, 2:], last + c_skip * 0.7 * noise[:, :, 2:], atol=1e-5)
    # the anchor: last conditioning frame on generated frames, zero on conditioning frames / without any
    vc = VideoCondition.build(x0, torch.tensor([1, 0]))
    A = den.anchor(x0, vc)
    assert torch.equal(A[0, :, 1:], x0[0, :, 0:1].expand(-1, 4, -1, -1))
    assert A[0, :, 0].abs().sum() == 0 and A[1].abs().sum() == 0
    # the loss target is the change from the anchor: on a static clip a zero net's anchored loss
    # is the same whatever the scene (x0 and 100 * x0), while the plain target grows with it
    static = x0[:, :, :1].expand(-1, -1, 5, -1, -1).contiguous()

    def zero_net_loss(cfg, x):
        return Denoiser(tiny_net(randomize=False), cfg).loss(x, cond, torch.Generator().manual_seed(0),
                                                             num_cond_frames=2)[0]

    plain = DiffusionConfig(formulation=formulation)
    assert torch.isclose(zero_net_loss(den.cfg, static), zero_net_loss(den.cfg, 100 * static), rtol=1e-4)
    assert zero_net_loss(plain, 100 * static) > 100 * zero_net_loss(plain, static)


def test_anchor_validated_and_old_checkpoints_load(tmp_path):
    with pytest.raises(ValueError, match="anchor"):
        Denoiser(tiny_net(), DiffusionConfig(anchor="first"))
    den = Denoiser(tiny_net(), DiffusionConfig())
    den.save_pretrained(tmp_path / "wm")
    (tmp_path / "wm" / "diffusion.json").write_text('{"formulation": "edm"}')  # written before `anchor` existed
    assert Denoiser.from_pretrained(tmp_path / "wm").cfg.anchor == "none"
    (tmp_path / "wm" / "diffusion.json").write_text('{"anchor": "previous"}')
    with pytest.raises(WorldsmithError, match="anchor"):
        Denoiser.from_pretrained(tmp_path / "wm")


def test_high_sigma_fraction_trains_the_posterior_mean_level():
    """A `high_sigma_fraction` share of training sigmas is log-uniform in [mean_sigma / 3, sigma_max];
    with 0 (the default) the draws are exactly the plain log-normal ones, so older runs reproduce."""
    plain = Denoiser(tiny_net(), DiffusionConfig())
    mixed = Denoiser(tiny_net(), DiffusionConfig(high_sigma_fraction=0.25))
    s0 = plain.sample_sigma(20000, torch.Generator().manual_seed(3))
    s1 = mixed.sample_sigma(20000, torch.Generator().manual_seed(3))
    assert torch.equal(s0, Denoiser(tiny_net(), DiffusionConfig(high_sigma_fraction=0.0)).sample_sigma(
        20000, torch.Generator().manual_seed(3)))
    high = s1 != s0
    assert abs(high.float().mean().item() - 0.25) < 0.02  # the share drawn high
    assert s1[high].min() >= 10.0 - 1e-4 and s1[high].max() <= 80.0 + 1e-3  # mean_sigma 30: [10, 80]
    logs = s1[high].log()
    assert abs(logs.mean().item() - (math.log(10) + math.log(80)) / 2) < 0.05  # log-uniform
    assert (s0 >= 10).float().mean() < 0.02  # the log-normal alone almost never reaches there
    for bad in (dict(high_sigma_fraction=1.5), dict(high_sigma_fraction=-0.1), dict(mean_sigma=0.0),
                dict(high_sigma_fraction=0.1, mean_sigma=300.0)):
        with pytest.raises(ValueError, match="high_sigma_fraction|mean_sigma"):
            Denoiser(tiny_net(), DiffusionConfig(**bad))
    Denoiser(tiny_net(), DiffusionConfig(sigma_max=5.0))  # a small sampling range alone is fine (no high draws)


def test_clean_conditioning_frames_do_not_turn_the_output_nan():
    """aug_sigma 0 (`--aug-sigma 0`) once gave log(0) in c_noise: an all-NaN (black) video.
    The network is told at least AUG_SIGMA_FLOOR; the conditioning frames stay exactly as given."""
    from worldsmith.diffusion.denoiser import AUG_SIGMA_FLOOR

    den = Denoiser(tiny_net())
    x0, cond = batch()
    seen = {}
    den.net.register_forward_hook(lambda m, args, out: seen.update(c_noise=args[1]))
    vc0 = VideoCondition.build(x0[:, :, :2], 2, total_frames=4, aug_sigma=0.0)
    x = x0 + 2.0 * torch.randn_like(x0)
    out0 = den(x, torch.tensor([2.0, 2.0]), cond, vc0)
    assert torch.isfinite(out0).all()
    assert torch.equal(vc0.latent_aug[:, :, :2], x0[:, :, :2])
    assert torch.allclose(seen["c_noise"][:, :2], torch.tensor(math.log(AUG_SIGMA_FLOOR) / 4))
    vc_floor = VideoCondition.build(x0[:, :, :2], 2, total_frames=4, aug_sigma=AUG_SIGMA_FLOOR)
    vc_floor.latent_aug = vc0.latent_aug  # the same clean frames, told the floor level explicitly
    assert torch.allclose(den(x, torch.tensor([2.0, 2.0]), cond, vc_floor), out0)


def _train_read(read_loss: str, steps: int = 150) -> float:
    """Train a tiny DiT on the read alone (read_fraction 1) where the future is +1 (70%) or -1 (30%)
    after the same conditioning frame; return the read `sampler="mean"` then gives."""
    from worldsmith.diffusion import generate, sampling_plan

    den = Denoiser(tiny_net(), DiffusionConfig(read_fraction=1.0, read_loss=read_loss,
                                               cond_frame_choices=(1,), text_dropout=0.0))
    opt = torch.optim.Adam(den.parameters(), lr=3e-3)
    g = torch.Generator().manual_seed(0)
    B, cond = 32, {"text": torch.zeros(32, 5, 8), "text_mask": torch.ones(32, 5, dtype=torch.bool)}
    past = 0.5 * torch.randn(1, 4, 1, 4, 4, generator=g)  # one scene, two futures
    for _ in range(steps):
        future = torch.where(torch.rand(B, generator=g) < 0.7, 1.0, -1.0).view(B, 1, 1, 1, 1)
        x0 = torch.cat([past.expand(B, -1, -1, -1, -1), future.expand(B, 4, 1, 4, 4)], dim=2)
        loss, info = den.loss(x0, cond, generator=g)
        assert torch.all(info["sigma"] == den.cfg.mean_sigma)  # every sample is the read
        opt.zero_grad()
        loss.backward()
        opt.step()
    out = generate(den, (1, 4, 2, 4, 4), {k: v[:1] for k, v in cond.items()}, guidance=0.0,
                   cond_latent=past, num_cond_frames=1, **sampling_plan(den, "mean", 1))
    return out[:, :, 1].mean().item()


def test_the_trained_read_is_the_conditional_mean_or_median():
    """`read_fraction` trains the read `sampler="mean"` uses (sigma = mean_sigma, the anchor as input,
    no noise) directly: under MSE it learns the conditional mean (0.7 - 0.3 = 0.4 here), under L1 the
    median, which commits to the likelier outcome (+1) instead of blending the two."""
    assert _train_read("mse") == pytest.approx(0.4, abs=0.1)
    assert _train_read("l1") > 0.85


def test_read_fraction_zero_draws_nothing_extra():
    """The default (0) adds no random draw, so older runs' losses reproduce exactly; bad values are refused."""
    x0, cond = batch()
    a = Denoiser(tiny_net(), DiffusionConfig()).loss(x0, cond, torch.Generator().manual_seed(5))[0]
    b = Denoiser(tiny_net(), DiffusionConfig(read_fraction=0.0, read_loss="l1")).loss(
        x0, cond, torch.Generator().manual_seed(5))[0]
    assert torch.equal(a, b)
    for bad in (dict(read_fraction=1.5), dict(read_fraction=-0.1), dict(read_loss="huber")):
        with pytest.raises(ValueError, match="read_"):
            Denoiser(tiny_net(), DiffusionConfig(**bad))
