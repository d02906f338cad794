"""ActionEmbedder: per-latent-frame action embeddings that steer the DiT through its modulation."""

from __future__ import annotations

import pytest
import torch

from worldsmith.models.dit import DiT, DiTConfig
from worldsmith.models.embedders import ActionEmbedder


def test_action_embedder_starts_as_noop_then_steers_the_dit():
    torch.manual_seed(0)
    net = DiT(DiTConfig(in_channels=4, out_channels=4, width=32, depth=2, num_heads=2, text_dim=8,
                        adaln_lora_dim=8))
    with torch.no_grad():
        for p in net.parameters():
            if torch.count_nonzero(p) == 0:
                p.normal_(0, 0.05)
    emb = ActionEmbedder(action_dim=7, actions_per_frame=4, width=32)
    x, sigma = torch.randn(2, 4, 3, 4, 4), torch.rand(2)
    cond = {"text": torch.randn(2, 5, 8)}
    actions = torch.randn(2, 8, 7)  # 3 latent frames: frame 0 has no action, 4 actions each after
    extra = emb(actions)
    assert extra["extra_emb"].shape == (2, 3, 32) and extra["extra_adaln"].shape == (2, 3, 96)
    base = net(x, sigma, cond)
    assert torch.allclose(net(x, sigma, {**cond, **extra}), base)  # zero-init: pretrained model unchanged
    with torch.no_grad():
        for mlp in (emb.emb_mlp, emb.adaln_mlp):
            mlp[-1].weight.normal_(0, 0.05)
    extra = emb(actions)
    assert torch.all(extra["extra_emb"][:, 0] == extra["extra_emb"][0, 0])  # frame 0: same (no action)
    out = net(x, sigma, {**cond, **emb(actions)})
    assert not torch.allclose(out, base)
    out.pow(2).mean().backward()
    assert emb.emb_mlp[0].weight.grad.abs().sum() > 0


def test_action_embedder_rejects_bad_shapes():
    emb = ActionEmbedder(7, 4, 32)
    with pytest.raises(ValueError, match="actions"):
        emb(torch.randn(2, 7, 7))
    with pytest.raises(ValueError, match="actions"):
        emb(torch.randn(2, 8, 6))


def test_action_conditioned_dit_config_save_load(tmp_path):
    """DiTConfig.action_dim builds the embedder inside the DiT; actions go in through cond["actions"]."""
    torch.manual_seed(0)
    cfg = DiTConfig(in_channels=4, out_channels=4, width=32, depth=2, num_heads=2, text_dim=8, adaln_lora_dim=8,
                    action_dim=7, actions_per_frame=4, action_scale=(0.02,) * 3 + (0.1,) * 3 + (1.0,))
    net = DiT(cfg)
    with torch.no_grad():
        for p in net.parameters():
            if torch.count_nonzero(p) == 0:
                p.normal_(0, 0.05)
    x, sigma, text = torch.randn(2, 4, 3, 4, 4), torch.rand(2), torch.randn(2, 5, 8)
    actions = torch.randn(2, 8, 7) * 0.02
    out = net(x, sigma, {"text": text, "actions": actions})
    assert not torch.allclose(out, net(x, sigma, {"text": text}))  # the actions steer the prediction
    assert torch.allclose(net(x, sigma, {"text": text}), net(x, sigma, {"text": text, "actions": actions * 0}))
    with pytest.raises(ValueError, match="actions"):
        net(x, sigma, {"text": text, "actions": torch.zeros(2, 4, 7)})  # 3 latent frames need 8 actions
    net.save_pretrained(tmp_path / "m")
    back = DiT.from_pretrained(tmp_path / "m")
    assert back.cfg.action_dim == 7 and tuple(back.cfg.action_scale) == cfg.action_scale
    assert torch.allclose(back(x, sigma, {"text": text, "actions": actions}), out)


def test_cumulative_action_features_carry_the_running_sum():
    """cumulative=True: a frame's embedding sees the actions of earlier frames (the displacement so far)."""
    torch.manual_seed(0)
    emb = ActionEmbedder(action_dim=2, actions_per_frame=2, width=16, cumulative=True)
    plain = ActionEmbedder(action_dim=2, actions_per_frame=2, width=16)
    assert emb.emb_mlp[0].in_features == 2 * plain.emb_mlp[0].in_features
    with torch.no_grad():
        for e in (emb, plain):
            for mlp in (e.emb_mlp, e.adaln_mlp):
                mlp[-1].weight.normal_(0, 0.1)
    a = torch.randn(1, 4, 2)  # 3 latent frames: 2 actions each after the first
    b = a.clone()
    b[:, 0] += 1.0  # only an action of latent frame 1 differs
    for e, frame2_changes in ((emb, True), (plain, False)):
        ea, eb = e(a)["extra_emb"], e(b)["extra_emb"]
        assert not torch.allclose(ea[:, 1], eb[:, 1])
        assert torch.allclose(ea[:, 2], eb[:, 2]) != frame2_changes
    net = DiT(DiTConfig(in_channels=4, out_channels=4, width=32, depth=2, num_heads=2, text_dim=8,
                        adaln_lora_dim=8, action_dim=2, actions_per_frame=2, action_cumulative=True))
    out = net(torch.randn(1, 4, 3, 4, 4), torch.rand(1), {"text": torch.randn(1, 5, 8), "actions": a})
    assert out.shape == (1, 4, 3, 4, 4)
