"""Re-patching a DiT to a finer spatial patch: known answers for the carried-over weights."""

from __future__ import annotations

import pytest
import torch
from einops import reduce, repeat

from worldsmith.models.dit import DiT, rope_3d
from worldsmith.models.repatch import repatch_state_dict, repatched_config
from worldsmith.utils.errors import WorldsmithError

from .test_dit import inputs, tiny_cfg


def _with_random_io(net: DiT, seed: int = 0) -> DiT:
    """Random patch embedding and output layer; the blocks stay the identity (zero-initialised gates)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in (net.patch_embed.weight, net.final_layer.linear.weight):
            p.copy_(torch.randn(p.shape, generator=g) * 0.3)
    return net


def test_config_scales_rope_positions_and_refuses_non_divisors():
    src = tiny_cfg(patch_spatial=4)
    dst = repatched_config(src, 2)
    assert dst.patch_spatial == 2 and dst.rope_position_scale == (1.0, 0.5, 0.5)
    assert repatched_config(dst, 1).rope_position_scale == (1.0, 0.25, 0.25)
    with pytest.raises(WorldsmithError, match="divisor"):
        repatched_config(src, 3)


def test_rope_position_scale_keeps_angles_between_grid_points():
    """Token 2i of a 1x1-patch model at scale 0.5 sits where token i of the 2x2 model sat."""
    hd = 24
    cos_old, _ = rope_3d(hd, 2, 3, 3)
    cos_new, _ = rope_3d(hd, 2, 6, 6, position_scale=(1.0, 0.5, 0.5))
    old = cos_old.reshape(2, 3, 3, -1)
    new = cos_new.reshape(2, 6, 6, -1)
    assert torch.allclose(new[:, ::2, ::2], old)


@pytest.mark.parametrize("ps,new_ps", [(2, 1), (4, 2), (4, 1)])
def test_patch_constant_latents_give_each_cell_its_old_patch_mean(ps, new_ps):
    """With identity blocks, a latent constant over each old patch embeds as before, and each new cell
    outputs the mean of its old patch's outputs: the carried-over weights keep what the base learnt."""
    torch.manual_seed(0)
    src = tiny_cfg(patch_spatial=ps)
    old = _with_random_io(DiT(src)).eval()
    dst = repatched_config(src, new_ps)
    new = DiT(dst).eval()
    new.load_state_dict(repatch_state_dict(old.state_dict(), src, dst))
    x, sigma, cond = inputs(H=8, W=8)
    x = repeat(reduce(x, "b c t (h p) (w q) -> b c t h w", "mean", p=ps, q=ps), "b c t h w -> b c t (h p) (w q)",
               p=ps, q=ps)  # constant over each old patch
    with torch.no_grad():
        y_old, y_new = old(x, sigma, cond), new(x, sigma, cond)
    patch_mean = repeat(reduce(y_old, "b c t (h p) (w q) -> b c t h w", "mean", p=ps, q=ps),
                        "b c t h w -> b c t (h p) (w q)", p=ps, q=ps)
    # within each old patch the new output repeats with period new_ps; its patch mean is the old one
    new_mean = repeat(reduce(y_new, "b c t (h p) (w q) -> b c t h w", "mean", p=ps, q=ps),
                      "b c t h w -> b c t (h p) (w q)", p=ps, q=ps)
    assert torch.allclose(new_mean, patch_mean, atol=1e-5)
    if new_ps == 1:
        assert torch.allclose(y_new, patch_mean, atol=1e-5)


def test_other_settings_must_match():
    src = tiny_cfg(patch_spatial=2)
    other = repatched_config(tiny_cfg(patch_spatial=2, depth=3), 1)
    with pytest.raises(WorldsmithError, match="spatial patch only"):
        repatch_state_dict(DiT(src).state_dict(), src, other)
