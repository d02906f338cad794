"""LoRA: wrapping, identity at init, merge, adapter save/load round trip, trainable masks, errors."""

from __future__ import annotations

import os

import pytest
import torch
from torch import nn

from worldsmith.models.dit import DiT, DiTConfig
from worldsmith.models.lora import (
    ADAPTER_CONFIG_NAME,
    ADAPTER_WEIGHTS_NAME,
    LoRAConfig,
    LoRALinear,
    apply_lora,
    load_adapter,
    load_lora_weights,
    lora_state_dict,
    mark_only_lora_trainable,
    merge_lora,
    save_adapter,
)
from worldsmith.utils.errors import WorldsmithError

LAYERS_PER_BLOCK = 10  # self-attn q/k/v/output + cross-attn q/k/v/output + MLP layer1/layer2


def tiny_net(seed: int = 0) -> DiT:
    """Tiny DiT whose zero-initialised gates/final layer are made random (like a trained net),
    so that the output depends on every block and LoRA changes are visible."""
    torch.manual_seed(seed)
    net = DiT(DiTConfig(width=32, depth=2, num_heads=2, adaln_lora_dim=8, text_dim=16,
                        in_channels=4, out_channels=4))
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in net.parameters():
            if torch.count_nonzero(p) == 0:
                p.copy_(torch.randn(p.shape, generator=g) * 0.1)
    return net


def inputs(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(1, 4, 2, 4, 4, generator=g)  # [B, C, T, H, W]
    sigma = torch.rand(1, generator=g)
    cond = {"text": torch.randn(1, 3, 16, generator=g)}
    return x, sigma, cond


def randomize_lora(net: nn.Module, seed: int = 1) -> None:
    """Give lora_B (zero at init) random values, as training would."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in lora_state_dict(net).items():
            if name.endswith("lora_B.weight"):
                t.copy_(torch.randn(t.shape, generator=g) * 0.1)


def test_apply_lora_wraps_targets_and_starts_as_the_base_model():
    net = tiny_net()
    x, sigma, cond = inputs()
    with torch.no_grad():
        ref = net(x, sigma, cond)
    names = apply_lora(net, LoRAConfig(rank=4, alpha=8.0))
    assert len(names) == LAYERS_PER_BLOCK * net.cfg.depth
    assert "blocks.0.self_attn.q_proj" in names and "blocks.1.mlp.layer2" in names
    for name in names:
        layer = net.get_submodule(name)
        assert isinstance(layer, LoRALinear) and layer.scaling == 2.0
        assert not layer.base.weight.requires_grad and layer.lora_A.weight.requires_grad
        assert layer.lora_A.weight.shape == (4, layer.base.in_features)
        assert layer.lora_B.weight.shape == (layer.base.out_features, 4)
    assert not any(isinstance(m, LoRALinear) for m in (net.patch_embed, net.final_layer.linear))
    with torch.no_grad():
        out = net(x, sigma, cond)
    assert torch.equal(out, ref)  # B = 0: exactly the base model

    # `under` restricts to one subtree ("blocks.1" must not also match "blocks.10" etc.)
    net2 = tiny_net()
    names2 = apply_lora(net2, LoRAConfig(rank=2, targets=("q_proj", "layer1")), under="blocks.1")
    assert names2 == ["blocks.1.self_attn.q_proj", "blocks.1.cross_attn.q_proj", "blocks.1.mlp.layer1"]


def test_layer_merge_unmerge_and_bf16_autocast():
    torch.manual_seed(0)
    base = nn.Linear(8, 6, bias=True)
    w0 = base.weight.detach().clone()
    layer = LoRALinear(base, rank=2, alpha=4.0, dropout=0.5).eval()  # eval: dropout off
    with torch.no_grad():
        layer.lora_B.weight.normal_()
    x = torch.randn(3, 5, 8)
    y = layer(x)  # [3, 5, 6]
    assert y.shape == (3, 5, 6)
    assert not torch.allclose(y, base(x))
    layer.merge()
    assert layer.merged and torch.allclose(layer(x), y, atol=1e-5)
    layer.unmerge()
    assert not layer.merged and torch.allclose(base.weight, w0, atol=1e-6)

    with torch.autocast(x.device.type, dtype=torch.bfloat16):
        yb = layer(x)
    assert yb.dtype == torch.bfloat16 and torch.allclose(yb.float(), y, atol=0.1)
    # a bf16 base gets bf16 LoRA weights on its own device
    lb = LoRALinear(nn.Linear(8, 6).to(torch.bfloat16), rank=2, alpha=2.0)
    assert lb.lora_A.weight.dtype == torch.bfloat16 and lb.lora_A.weight.device == base.weight.device
    assert lb(x.to(torch.bfloat16)).dtype == torch.bfloat16


def test_merge_lora_matches_unmerged_and_restores_the_plain_structure():
    net = tiny_net()
    plain_keys = list(net.state_dict().keys())
    x, sigma, cond = inputs()
    with torch.no_grad():
        ref = net(x, sigma, cond)
    apply_lora(net, LoRAConfig(rank=4, alpha=8.0))
    randomize_lora(net)
    with torch.no_grad():
        out = net(x, sigma, cond)
    assert not torch.allclose(out, ref, atol=1e-4)

    assert merge_lora(net) is net
    assert not any(isinstance(m, LoRALinear) for m in net.modules())
    assert list(net.state_dict().keys()) == plain_keys
    assert all(p.requires_grad for p in net.parameters())  # base layers unfrozen again
    with torch.no_grad():
        merged = net(x, sigma, cond)
    assert torch.allclose(merged, out, atol=1e-5)


def test_adapter_round_trip_reproduces_outputs(tmp_path):
    cfg = LoRAConfig(rank=4, alpha=8.0, targets=("q_proj", "v_proj", "layer1", "layer2"))
    net = tiny_net()
    apply_lora(net, cfg)
    randomize_lora(net)
    with torch.no_grad():  # a fully trained extra module, shipped with the adapter
        net.final_layer.linear.weight.mul_(2.0)
    x, sigma, cond = inputs()
    with torch.no_grad():
        ref = net(x, sigma, cond)
    extra = {"final_layer.linear.weight": net.final_layer.linear.weight}
    save_adapter(net, tmp_path / "adapter", cfg, extra=extra, metadata={"base_model": "/ckpt/base", "step": 7})
    assert sorted(os.listdir(tmp_path / "adapter")) == [ADAPTER_CONFIG_NAME, ADAPTER_WEIGHTS_NAME]  # no temp files

    cfg2, tensors, meta = load_adapter(tmp_path / "adapter")
    assert cfg2 == cfg and meta == {"base_model": "/ckpt/base", "step": 7}
    fresh = tiny_net()  # the same base weights, new LoRA init
    apply_lora(fresh, cfg2)
    rest = load_lora_weights(fresh, tensors)
    assert list(rest) == ["final_layer.linear.weight"]
    fresh.load_state_dict(rest, strict=False)
    with torch.no_grad():
        out = fresh(x, sigma, cond)
    assert torch.equal(out, ref)


def test_mark_only_lora_trainable_counts_and_grads():
    net = tiny_net()
    apply_lora(net, LoRAConfig(rank=4))
    lora_n = sum(t.numel() for t in lora_state_dict(net).values())
    extra_n = sum(p.numel() for p in net.final_layer.parameters())
    total_n = sum(p.numel() for p in net.parameters())
    assert mark_only_lora_trainable(net) == (lora_n, total_n)
    trainable, total = mark_only_lora_trainable(net, also=("final_layer",))
    assert (trainable, total) == (lora_n + extra_n, total_n)

    x, sigma, cond = inputs()
    net(x, sigma, cond).square().mean().backward()
    for name, p in net.named_parameters():
        if p.requires_grad:
            assert ".lora_" in name or name.startswith("final_layer."), name
            assert p.grad is not None, name
        else:
            assert p.grad is None, name
    # lora_A gets no gradient through B = 0 at init, but lora_B does
    assert net.blocks[0].self_attn.q_proj.lora_B.weight.grad.abs().sum() > 0


def test_training_steps_change_only_lora_params():
    net = tiny_net()
    apply_lora(net, LoRAConfig(rank=4, alpha=8.0))
    mark_only_lora_trainable(net)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)  # all params, as the trainer does
    x, sigma, cond = inputs()
    target = torch.randn_like(x)
    losses = []
    for _ in range(4):
        loss = (net(x, sigma, cond) - target).square().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    after = net.state_dict()
    for k, v in after.items():
        if ".lora_" in k:
            assert not torch.equal(v, before[k]), k  # B moves at step 1, A once B != 0
        else:
            assert torch.equal(v, before[k]), k
    assert losses[-1] < losses[0]


def test_bad_inputs_raise_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="rank"):
        LoRAConfig(rank=0)
    with pytest.raises(ValueError, match="alpha"):
        LoRAConfig(alpha=0.0)
    with pytest.raises(ValueError, match="rank"):
        LoRALinear(nn.Linear(4, 4), rank=0, alpha=1.0)
    net = tiny_net()
    with pytest.raises(ValueError, match="nope"):
        apply_lora(net, LoRAConfig(targets=("nope",)))
    with pytest.raises(ValueError, match="blocks.7"):
        apply_lora(net, LoRAConfig(), under="blocks.7")
    cfg = LoRAConfig(rank=2)
    apply_lora(net, cfg)
    with pytest.raises(ValueError, match="already has LoRA"):
        apply_lora(net, cfg)
    with pytest.raises(ValueError, match="final_layr"):
        mark_only_lora_trainable(net, also=("final_layr",))

    missing = tmp_path / "nowhere"
    with pytest.raises(WorldsmithError, match="nowhere"):
        load_adapter(missing)
    save_adapter(net, tmp_path / "a", cfg)
    with open(tmp_path / "a" / ADAPTER_WEIGHTS_NAME, "wb") as f:
        f.write(b"\x00garbage, not safetensors" * 4)
    with pytest.raises(WorldsmithError, match=ADAPTER_WEIGHTS_NAME):
        load_adapter(tmp_path / "a")
    save_adapter(net, tmp_path / "b", cfg)
    (tmp_path / "b" / ADAPTER_CONFIG_NAME).write_text("{not json")
    with pytest.raises(WorldsmithError, match=ADAPTER_CONFIG_NAME):
        load_adapter(tmp_path / "b")
    (tmp_path / "b" / ADAPTER_CONFIG_NAME).write_text('{"rank": 0}')
    with pytest.raises(WorldsmithError, match="rank"):
        load_adapter(tmp_path / "b")

    tensors = {k: v.clone() for k, v in lora_state_dict(net).items()}
    del tensors["blocks.1.mlp.layer2.lora_B.weight"]
    with pytest.raises(WorldsmithError, match=r"blocks\.1\.mlp\.layer2\.lora_B\.weight"):
        load_lora_weights(net, tensors)
    tensors = {k: torch.zeros(3, 3) if k.endswith("q_proj.lora_A.weight") else v
               for k, v in lora_state_dict(net).items()}
    with pytest.raises(WorldsmithError, match=r"q_proj\.lora_A\.weight.*shape"):
        load_lora_weights(net, tensors)
    tensors = dict(lora_state_dict(net), **{"blocks.0.other.lora_A.weight": torch.zeros(1)})
    with pytest.raises(WorldsmithError, match="unexpected key"):
        load_lora_weights(net, tensors)
