"""DiT network: tiny-config shape/backward/save-load/determinism tests, published shapes on meta."""

from __future__ import annotations

import json
import os

import pytest
import torch

from worldsmith.models.dit import (DIT_PRESETS, DiT, DiTConfig, apply_rope, rope_3d, rope_split)
from worldsmith.utils.errors import WorldsmithError


def tiny_cfg(**kw) -> DiTConfig:
    base = dict(in_channels=4, out_channels=4, width=32, depth=2, num_heads=2, text_dim=8, adaln_lora_dim=8,
                max_latent_thw=(8, 16, 16))
    base.update(kw)
    return DiTConfig(**base)


def randomize_zero_init(net: torch.nn.Module, seed: int = 0, std: float = 0.05) -> None:
    """Give the zero-initialised gates/final layer small random values, like a trained net."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in net.parameters():
            if torch.count_nonzero(p) == 0:
                p.copy_(torch.randn(p.shape, generator=g) * std)


def inputs(B=2, C=4, T=3, H=4, W=4, L=5, D=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(B, C, T, H, W, generator=g)
    sigma = torch.rand(B, generator=g)
    cond = {"text": torch.randn(B, L, D, generator=g), "text_mask": torch.ones(B, L, dtype=torch.bool)}
    return x, sigma, cond


def test_shapes_per_sample_and_per_frame_sigma():
    net = DiT(tiny_cfg())
    x, sigma, cond = inputs()
    assert net(x, sigma, cond).shape == x.shape
    assert net(x, sigma[:, None].expand(2, 3).contiguous(), cond).shape == x.shape
    net2 = DiT(tiny_cfg(patch_temporal=2, abs_pos_emb=True, out_channels=6))
    x4, sigma4, cond4 = inputs(T=4)
    assert net2(x4, sigma4, cond4).shape == (2, 6, 4, 4, 4)


def test_bad_inputs_raise():
    net = DiT(tiny_cfg())
    x, sigma, cond = inputs()
    with pytest.raises(ValueError, match="divisible"):
        net(x[..., :3], sigma, cond)
    with pytest.raises(ValueError, match="expected"):
        net(x[:, :3], sigma, cond)
    with pytest.raises(ValueError, match="text"):
        net(x, sigma, {"text": torch.randn(2, 5, 7)})


def test_zero_init_output_and_backward_reaches_every_parameter():
    torch.manual_seed(0)
    net = DiT(tiny_cfg(abs_pos_emb=True))
    x, sigma, cond = inputs()
    # zero-initialised gates and final layer: the network starts by predicting 0
    assert torch.count_nonzero(net(x, sigma, cond)) == 0
    randomize_zero_init(net)
    out = net(x, sigma, cond)
    out.pow(2).mean().backward()
    for name, p in net.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, f"no gradient reaches {name}"


def test_determinism_and_seeded_init():
    torch.manual_seed(1)
    a = DiT(tiny_cfg())
    torch.manual_seed(1)
    b = DiT(tiny_cfg())
    randomize_zero_init(a)
    randomize_zero_init(b)
    x, sigma, cond = inputs()
    ya, yb = a(x, sigma, cond), b(x, sigma, cond)
    assert torch.equal(ya, yb)
    assert torch.equal(ya, a(x, sigma, cond))


def test_conditioning_inputs_change_output():
    torch.manual_seed(0)
    net = DiT(tiny_cfg())
    randomize_zero_init(net)
    x, sigma, cond = inputs()
    base = net(x, sigma, cond)
    # condition-mask channel
    mask = torch.zeros(2, 1, 3, 1, 1)
    mask[:, :, 0] = 1
    assert not torch.allclose(base, net(x, sigma, dict(cond, cond_mask=mask)))
    # text
    assert not torch.allclose(base, net(x, sigma, dict(cond, text=cond["text"] * 2)))
    # extra modulation embeddings, per sample [B, D] and per frame [B, T, D]
    for extra in (torch.randn(2, 32), torch.randn(2, 3, 32)):
        assert not torch.allclose(base, net(x, sigma, dict(cond, extra_emb=extra)))
    assert not torch.allclose(base, net(x, sigma, dict(cond, extra_adaln=torch.randn(2, 3, 96))))
    # a per-frame sigma equal on all frames is the per-sample sigma
    assert torch.allclose(base, net(x, sigma[:, None].expand(2, 3), cond), atol=1e-6)


def test_masked_text_tokens_are_ignored():
    torch.manual_seed(0)
    net = DiT(tiny_cfg())
    randomize_zero_init(net)
    x, sigma, cond = inputs()
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], dtype=torch.bool)
    text2 = cond["text"].clone()
    text2[0, 3:] = 100.0  # padding tokens of sample 0 change
    y1 = net(x, sigma, dict(cond, text_mask=mask))
    y2 = net(x, sigma, dict(cond, text=text2, text_mask=mask))
    assert torch.allclose(y1, y2, atol=1e-5)


def test_rope_is_relative_in_time():
    hd = 24
    d_t, d_h, d_w = rope_split(hd)
    assert d_t + d_h + d_w == hd and d_h == d_w
    cos, sin = rope_3d(hd, 6, 1, 1)  # tokens along time only
    q = torch.randn(1, 1, 1, hd).expand(1, 1, 6, hd)
    k = torch.randn(1, 1, 1, hd).expand(1, 1, 6, hd)
    qr, kr = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
    scores = qr[0, 0] @ kr[0, 0].T  # [6, 6]
    # same offset => same score (position enters only as a difference)
    assert torch.allclose(scores[0, 2], scores[3, 5], atol=1e-5)
    assert torch.allclose(scores[1, 1], scores[4, 4], atol=1e-5)


def test_save_load_round_trip(tmp_path):
    torch.manual_seed(0)
    net = DiT(tiny_cfg(abs_pos_emb=True))
    randomize_zero_init(net)
    net.save_pretrained(tmp_path / "ckpt")
    assert sorted(os.listdir(tmp_path / "ckpt")) == ["config.json", "model.safetensors"]
    loaded = DiT.from_pretrained(tmp_path / "ckpt")
    assert loaded.cfg == net.cfg
    x, sigma, cond = inputs()
    assert torch.equal(net(x, sigma, cond), loaded(x, sigma, cond))


def test_from_pretrained_errors(tmp_path):
    with pytest.raises(WorldsmithError, match="not found"):
        DiT.from_pretrained(tmp_path / "missing")
    net = DiT(tiny_cfg())
    net.save_pretrained(tmp_path / "c")
    cfg = json.loads((tmp_path / "c" / "config.json").read_text())
    cfg["width"] = 64
    (tmp_path / "c" / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(WorldsmithError, match="do not match"):
        DiT.from_pretrained(tmp_path / "c")
    (tmp_path / "c" / "config.json").write_text('{"widht": 3}')
    with pytest.raises(WorldsmithError, match="unknown key"):
        DiT.from_pretrained(tmp_path / "c")


@pytest.mark.parametrize("name,nominal", [("cosmos-2b", 2e9), ("cosmos-7b", 7e9), ("cosmos-14b", 14e9)])
def test_published_shapes_parameter_counts(name, nominal):
    """Cosmos-Predict 2B (2048/28/16), 7B (4096/28/32), 14B (5120/36/40): counts within 6%."""
    with torch.device("meta"):
        net = DiT(DIT_PRESETS[name]())
    n = net.num_params()
    assert abs(n - nominal) / nominal < 0.06, f"{name}: {n / 1e9:.2f}B parameters"


def test_tiny_preset_is_cpu_sized():
    net = DiT(DIT_PRESETS["tiny"]())
    assert 1e6 < net.num_params() < 20e6


def test_rope_extrapolation_stretches_only_its_axis():
    hd = 24
    base = rope_3d(hd, 4, 3, 3)
    longer = rope_3d(hd, 4, 3, 3, extrapolation=(2.0, 1.0, 1.0))  # time axis only
    d_t = rope_split(hd)[0] // 2  # first d_t/2 angle columns belong to time
    assert not torch.allclose(base[0][:, 1:d_t], longer[0][:, 1:d_t])
    assert torch.allclose(base[0][:, d_t:], longer[0][:, d_t:])


def test_abs_pos_emb_rejects_latents_beyond_its_tables():
    net = DiT(tiny_cfg(abs_pos_emb=True, max_latent_thw=(2, 4, 4)))
    x, sigma, cond = inputs(T=3)
    with pytest.raises(ValueError, match="max_latent_thw"):
        net(x, sigma, cond)


def test_bf16_autocast_forward_backward():
    """The GPU training path (bf16 autocast) exercised on the CPU: finite, fp32 grads, no dtype warnings."""
    import warnings

    torch.manual_seed(0)
    net = DiT(tiny_cfg(abs_pos_emb=True))
    randomize_zero_init(net)
    x, sigma, cond = inputs()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = net(x, sigma[:, None].expand(2, 3), cond)
        out.float().pow(2).mean().backward()
    assert out.dtype == torch.bfloat16 and torch.isfinite(out).all()
    assert all(p.grad.dtype == torch.float32 and torch.isfinite(p.grad).all() for p in net.parameters())
