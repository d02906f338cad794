"""Diffusion transformer (DiT) over video-tokenizer latents, after Cosmos-Predict.

The network is `f(x, sigma, cond) -> F`: a noisy latent video in, the raw network output
out. Preconditioning (what `x` and `sigma` mean, how `F` becomes a denoised latent) belongs
to `worldsmith.diffusion.Denoiser`, which passes `c_in * x` and `c_noise(sigma)` here.

Architecture (Cosmos-Predict1/2 `GeneralDIT` / `MinimalV1LVGDiT`):
- 3D patchify (1x2x2 by default) of the latent, plus a condition-mask channel
  concatenated to the input, by a bias-free linear layer;
- positions by 3D RoPE inside attention (head dim split t/h/w), plus an optional learnable
  absolute embedding (sum of per-axis tables);
- blocks of self-attention -> cross-attention to text -> MLP, each sub-layer modulated by
  AdaLN (shift, scale, gate) computed with AdaLN-LoRA: a per-block low-rank projection of
  the timestep embedding plus a full-rank projection shared by all blocks;
- QK-norm (RMSNorm per head) in every attention;
- zero-initialised AdaLN gates and final layer, so at init the net outputs zeros and the
  denoiser returns its skip connection `c_skip * x`.

Timestep modulation is per frame: `sigma` may be [B] or [B, T] (conditioning frames carry
their own small noise level), and extra embeddings (robot actions, camera) can be added to
the modulation input through `cond["extra_emb"]` ([B, D] or [B, T, D]) and
`cond["extra_adaln"]` ([B, 3D] or [B, T, 3D]), as the Cosmos action DiT does.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F
from einops import rearrange

from ..utils.atomic import atomic_path, atomic_write_json
from ..utils.config import from_dict, to_dict
from ..utils.errors import WorldsmithError, require_dir, require_file

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"


@dataclass
class DiTConfig:
    """Shape of a diffusion transformer. Presets: `DIT_PRESETS` / `dit_tiny()` etc."""

    in_channels: int = 16          # latent channels of the tokenizer
    out_channels: int = 16         # usually == in_channels
    patch_temporal: int = 1
    patch_spatial: int = 2
    width: int = 192               # model channels D
    depth: int = 6                 # number of blocks
    num_heads: int = 6
    mlp_ratio: float = 4.0
    text_dim: int = 384            # text encoder hidden size (MiniLM 384, T5-XXL 1024)
    adaln_lora_dim: int = 64       # rank of the per-block AdaLN projection (Cosmos: 256)
    cond_mask_channel: bool = True  # concatenate the condition-mask channel to the input
    qk_norm: bool = True
    rope_theta: float = 10000.0
    rope_extrapolation: tuple[float, float, float] = (1.0, 1.0, 1.0)  # (t, h, w) NTK ratios
    rope_position_scale: tuple[float, float, float] = (1.0, 1.0, 1.0)  # (t, h, w) token positions x this
    abs_pos_emb: bool = False      # learnable absolute embedding on top of RoPE
    max_latent_thw: tuple[int, int, int] = (32, 128, 128)  # latent size the abs tables cover
    timestep_scale: float = 1000.0  # c_noise is multiplied by this before the sinusoid
    action_dim: int = 0            # > 0: an action-conditioned model (robot post-training)
    actions_per_frame: int = 4     # actions per latent frame (the tokenizer's temporal compression)
    action_scale: tuple[float, ...] = ()  # per-dimension divisor of raw actions (empty: 1)
    action_cumulative: bool = False  # also embed running action sums (commanded displacement so far)


def dit_tiny() -> DiTConfig:
    """CPU-sized model for tests and laptop training (~5M parameters)."""
    return DiTConfig(width=192, depth=6, num_heads=6, adaln_lora_dim=64)


def dit_small() -> DiTConfig:
    """Small model (~36M parameters) for single-GPU experiments."""
    return DiTConfig(width=384, depth=12, num_heads=6, adaln_lora_dim=128)


def dit_base() -> DiTConfig:
    """Base model (~140M parameters)."""
    return DiTConfig(width=768, depth=12, num_heads=12, adaln_lora_dim=256)


def cosmos_2b() -> DiTConfig:
    """Published Cosmos-Predict2 2B shape (2048 ch, 28 blocks, 16 heads, T5-XXL text)."""
    return DiTConfig(width=2048, depth=28, num_heads=16, text_dim=1024, adaln_lora_dim=256,
                     abs_pos_emb=True, max_latent_thw=(128, 240, 240))


def cosmos_7b() -> DiTConfig:
    """Published Cosmos-Predict1 7B shape (4096 ch, 28 blocks, 32 heads)."""
    return DiTConfig(width=4096, depth=28, num_heads=32, text_dim=1024, adaln_lora_dim=256,
                     max_latent_thw=(128, 240, 240))


def cosmos_14b() -> DiTConfig:
    """Published Cosmos-Predict1/2 14B shape (5120 ch, 36 blocks, 40 heads)."""
    return DiTConfig(width=5120, depth=36, num_heads=40, text_dim=1024, adaln_lora_dim=256,
                     max_latent_thw=(128, 240, 240))


DIT_PRESETS = {
    "tiny": dit_tiny, "small": dit_small, "base": dit_base,
    "cosmos-2b": cosmos_2b, "cosmos-7b": cosmos_7b, "cosmos-14b": cosmos_14b,
}


# ----------------------------------------------------------------------------------------
# Positions


def rope_split(head_dim: int) -> tuple[int, int, int]:
    """Head-dim channels given to (t, h, w) rotations, as in Cosmos: h = w = hd//6*2."""
    d_h = head_dim // 6 * 2
    d_t = head_dim - 2 * d_h
    if d_h < 2 or d_t < 2 or d_t % 2:
        raise ValueError(f"head_dim {head_dim} too small/odd for 3D RoPE")
    return d_t, d_h, d_h


def rope_3d(head_dim: int, t: int, h: int, w: int, theta: float = 10000.0,
            extrapolation: tuple[float, float, float] = (1.0, 1.0, 1.0),
            device: torch.device | None = None,
            position_scale: tuple[float, float, float] = (1.0, 1.0, 1.0)) -> tuple[torch.Tensor, torch.Tensor]:
    """cos, sin tables [t*h*w, head_dim/2] for rotating (t, h, w)-ordered tokens.

    Each axis rotates its own slice of the head dim; an extrapolation ratio r > 1 stretches
    that axis's base (NTK-aware: theta * r^(d/(d-2))) to serve longer/larger latents. Token
    positions are multiplied by `position_scale` per axis: a model re-patched from 2x2 to 1x1
    (`repatch_state_dict`) takes 0.5 on h and w, so two tokens one old patch apart keep their angle.
    """
    angles = []
    for n, d, ratio, scale in zip((t, h, w), rope_split(head_dim), extrapolation, position_scale):
        base = theta * ratio ** (d / (d - 2))
        # float64 on the CPU for exact angles at large positions (and MPS has no float64)
        freqs = 1.0 / base ** (torch.arange(0, d, 2, dtype=torch.float64) / d)
        angles.append(torch.arange(n, dtype=torch.float64)[:, None] * float(scale) * freqs)  # [n, d/2]
    a_t, a_h, a_w = angles
    ang = torch.cat([
        a_t[:, None, None, :].expand(t, h, w, -1),
        a_h[None, :, None, :].expand(t, h, w, -1),
        a_w[None, None, :, :].expand(t, h, w, -1),
    ], dim=-1).reshape(t * h * w, head_dim // 2)  # [N, hd/2]
    return ang.cos().float().to(device), ang.sin().float().to(device)


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate [B, heads, N, hd] by the half-split convention (pairs i and i + hd/2)."""
    x1, x2 = x.float().chunk(2, dim=-1)
    out = torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)
    return out.type_as(x)


def timestep_sinusoid(t: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """Sinusoidal embedding of any-shaped `t` -> [..., dim] (cos half, then sin half)."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    args = t.float()[..., None] * freqs
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    if dim % 2:
        emb = F.pad(emb, (0, 1))
    return emb


# ----------------------------------------------------------------------------------------
# Layers


class Attention(nn.Module):
    """Multi-head attention with QK-norm; self-attention with RoPE or cross-attention."""

    def __init__(self, dim: int, num_heads: int, context_dim: int | None = None, qk_norm: bool = True):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"width {dim} not divisible by num_heads {num_heads}")
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        context_dim = context_dim or dim
        self.q_proj = nn.Linear(dim, dim, bias=False)
        self.k_proj = nn.Linear(context_dim, dim, bias=False)  # maps text width -> model width
        self.v_proj = nn.Linear(context_dim, dim, bias=False)
        self.output_proj = nn.Linear(dim, dim, bias=False)
        # QK-norm keeps attention logits bounded, which stabilises large-scale training
        self.q_norm = nn.RMSNorm(self.head_dim, eps=1e-6) if qk_norm else nn.Identity()
        self.k_norm = nn.RMSNorm(self.head_dim, eps=1e-6) if qk_norm else nn.Identity()

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None,
                rope: tuple[torch.Tensor, torch.Tensor] | None = None,
                mask: torch.Tensor | None = None) -> torch.Tensor:
        """x [B, N, D], context [B, L, Dc] (None: self-attention), mask [B, L] bool -> [B, N, D]."""
        context = x if context is None else context
        q = rearrange(self.q_proj(x), "b n (h d) -> b h n d", h=self.num_heads)
        k = rearrange(self.k_proj(context), "b l (h d) -> b h l d", h=self.num_heads)
        v = rearrange(self.v_proj(context), "b l (h d) -> b h l d", h=self.num_heads)
        # norms in fp32 (weights stay fp32 under bf16 autocast), then back to the compute dtype
        q, k = self.q_norm(q.float()).to(v.dtype), self.k_norm(k.float()).to(v.dtype)
        if rope is not None:
            q, k = apply_rope(q, *rope), apply_rope(k, *rope)
        attn_mask = None if mask is None else mask[:, None, None, :].bool()  # [B, 1, 1, L]
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)  # [B, h, N, d]
        return self.output_proj(rearrange(out, "b h n d -> b n (h d)"))


class MLP(nn.Module):
    """Two bias-free linear layers with GELU (Cosmos `mlp.layer1/layer2`)."""

    def __init__(self, dim: int, ratio: float):
        super().__init__()
        hidden = int(dim * ratio)
        self.layer1 = nn.Linear(dim, hidden, bias=False)
        self.layer2 = nn.Linear(hidden, dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer2(F.gelu(self.layer1(x)))


class AdaLNLoRA(nn.Module):
    """Low-rank AdaLN projection: SiLU -> D->r -> r->n*D; the shared full-rank part is added outside."""

    def __init__(self, dim: int, rank: int, n: int):
        super().__init__()
        self.down = nn.Linear(dim, rank, bias=False)
        self.up = nn.Linear(rank, n * dim, bias=False)

    def forward(self, emb: torch.Tensor) -> torch.Tensor:
        return self.up(self.down(F.silu(emb)))


def modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """x [B, T, S, D] with per-frame shift/scale [B, T or 1, 1, D]."""
    return x * (1 + scale) + shift


class DiTBlock(nn.Module):
    """Self-attention -> cross-attention -> MLP, each with AdaLN (shift, scale, gate)."""

    def __init__(self, cfg: DiTConfig):
        super().__init__()
        d = cfg.width
        self.norm1 = nn.LayerNorm(d, elementwise_affine=False, eps=1e-6)
        self.self_attn = Attention(d, cfg.num_heads, qk_norm=cfg.qk_norm)
        self.norm2 = nn.LayerNorm(d, elementwise_affine=False, eps=1e-6)
        self.cross_attn = Attention(d, cfg.num_heads, context_dim=cfg.text_dim, qk_norm=cfg.qk_norm)
        self.norm3 = nn.LayerNorm(d, elementwise_affine=False, eps=1e-6)
        self.mlp = MLP(d, cfg.mlp_ratio)
        self.adaln_self_attn = AdaLNLoRA(d, cfg.adaln_lora_dim, 3)
        self.adaln_cross_attn = AdaLNLoRA(d, cfg.adaln_lora_dim, 3)
        self.adaln_mlp = AdaLNLoRA(d, cfg.adaln_lora_dim, 3)

    def forward(self, x: torch.Tensor, emb: torch.Tensor, lora: torch.Tensor, text: torch.Tensor,
                text_mask: torch.Tensor | None, rope: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        """x [B, T, S, D]; emb [B, T', D]; lora [B, T', 3D] (T' = T or 1); text [B, L, Dt]."""
        B, T, S, D = x.shape
        for i, (norm, adaln) in enumerate(((self.norm1, self.adaln_self_attn),
                                           (self.norm2, self.adaln_cross_attn),
                                           (self.norm3, self.adaln_mlp))):
            mod = (adaln(emb) + lora)[:, :, None, :]  # [B, T', 1, 3D]
            shift, scale, gate = mod.chunk(3, dim=-1)  # each [B, T', 1, D]
            h = modulate(norm(x), shift, scale).reshape(B, T * S, D)  # [B, N, D]
            if i == 0:
                h = self.self_attn(h, rope=rope)
            elif i == 1:
                h = self.cross_attn(h, context=text, mask=text_mask)
            else:
                h = self.mlp(h)
            x = x + gate * h.reshape(B, T, S, D)
        return x


class FinalLayer(nn.Module):
    """AdaLN (shift, scale) then a linear map from width to patch pixels."""

    def __init__(self, cfg: DiTConfig):
        super().__init__()
        d = cfg.width
        self.norm = nn.LayerNorm(d, elementwise_affine=False, eps=1e-6)
        self.adaln = AdaLNLoRA(d, cfg.adaln_lora_dim, 2)
        patch = cfg.patch_temporal * cfg.patch_spatial ** 2
        self.linear = nn.Linear(d, patch * cfg.out_channels, bias=False)

    def forward(self, x: torch.Tensor, emb: torch.Tensor, lora: torch.Tensor) -> torch.Tensor:
        d = x.shape[-1]
        mod = (self.adaln(emb) + lora[..., : 2 * d])[:, :, None, :]  # [B, T', 1, 2D]
        shift, scale = mod.chunk(2, dim=-1)
        return self.linear(modulate(self.norm(x), shift, scale))  # [B, T, S, patch*C_out]


class TimestepEmbedding(nn.Module):
    """c_noise -> (emb [.., D] for the per-block AdaLN-LoRA, lora [.., 3D] shared by all blocks)."""

    def __init__(self, cfg: DiTConfig):
        super().__init__()
        d = cfg.width
        self.scale = cfg.timestep_scale
        self.linear_1 = nn.Linear(d, d, bias=False)
        self.linear_2 = nn.Linear(d, 3 * d, bias=False)
        self.norm = nn.RMSNorm(d, eps=1e-6)

    def forward(self, c_noise: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        sin = timestep_sinusoid(c_noise * self.scale, self.linear_1.in_features)  # [..., D]
        lora = self.linear_2(F.silu(self.linear_1(sin)))  # [..., 3D]
        return self.norm(sin), lora


# ----------------------------------------------------------------------------------------
# The network


class DiT(nn.Module):
    """Video diffusion transformer: `forward(x [B,C,T,H,W], sigma [B] or [B,T], cond) -> [B,C,T,H,W]`."""

    def __init__(self, cfg: DiTConfig):
        super().__init__()
        self.cfg = cfg
        d, pt, ps = cfg.width, cfg.patch_temporal, cfg.patch_spatial
        rope_split(d // cfg.num_heads)  # fail early on a head dim RoPE cannot split
        in_ch = cfg.in_channels + (1 if cfg.cond_mask_channel else 0)
        self.patch_embed = nn.Linear(in_ch * pt * ps * ps, d, bias=False)
        if cfg.abs_pos_emb:
            mt, mh, mw = cfg.max_latent_thw
            self.pos_t = nn.Parameter(torch.zeros(mt // pt, d))
            self.pos_h = nn.Parameter(torch.zeros(mh // ps, d))
            self.pos_w = nn.Parameter(torch.zeros(mw // ps, d))
        self.t_embedder = TimestepEmbedding(cfg)
        self.blocks = nn.ModuleList([DiTBlock(cfg) for _ in range(cfg.depth)])
        self.final_layer = FinalLayer(cfg)
        self.action_embedder = None
        if cfg.action_dim > 0:
            from .embedders import ActionEmbedder

            if cfg.action_scale and len(cfg.action_scale) != cfg.action_dim:
                raise ValueError(f"action_scale has {len(cfg.action_scale)} entries for action_dim {cfg.action_dim}")
            self.action_embedder = ActionEmbedder(cfg.action_dim, cfg.actions_per_frame, d, cfg.action_cumulative)
            scale = torch.tensor(cfg.action_scale or [1.0] * cfg.action_dim, dtype=torch.float32)
            self.register_buffer("action_scale", scale, persistent=False)
        self._rope_cache: dict = {}
        self.initialize_weights()

    def initialize_weights(self) -> None:
        """All init in one place: xavier linears, zero AdaLN gates/shared lora and final layer."""
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        if self.cfg.abs_pos_emb:
            for p in (self.pos_t, self.pos_h, self.pos_w):
                nn.init.normal_(p, std=0.02)
        # zero modulation => shift = scale = gate = 0: every block starts as the identity
        nn.init.zeros_(self.t_embedder.linear_2.weight)
        for block in self.blocks:
            for adaln in (block.adaln_self_attn, block.adaln_cross_attn, block.adaln_mlp):
                nn.init.zeros_(adaln.up.weight)
        # zero output => the denoiser starts as its skip connection c_skip * x
        nn.init.zeros_(self.final_layer.adaln.up.weight)
        nn.init.zeros_(self.final_layer.linear.weight)
        if self.action_embedder is not None:  # zero action MLP outputs: a loaded video model is unchanged
            for mlp in (self.action_embedder.emb_mlp, self.action_embedder.adaln_mlp):
                nn.init.zeros_(mlp[-1].weight)
                nn.init.zeros_(mlp[-1].bias)

    def num_params(self) -> int:
        """Number of parameters (works on the meta device)."""
        return sum(p.numel() for p in self.parameters())

    def _rope(self, t: int, h: int, w: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        key = (t, h, w, str(device))
        if key not in self._rope_cache:
            cfg = self.cfg
            self._rope_cache[key] = rope_3d(cfg.width // cfg.num_heads, t, h, w, cfg.rope_theta,
                                            tuple(cfg.rope_extrapolation), device, tuple(cfg.rope_position_scale))
        return self._rope_cache[key]

    def _check(self, x: torch.Tensor, sigma: torch.Tensor) -> None:
        cfg = self.cfg
        if x.ndim != 5 or x.shape[1] != cfg.in_channels:
            raise ValueError(f"x: expected [B, {cfg.in_channels}, T, H, W], got {tuple(x.shape)}")
        _, _, T, H, W = x.shape
        if T % cfg.patch_temporal or H % cfg.patch_spatial or W % cfg.patch_spatial:
            raise ValueError(f"x: latent T,H,W = {T},{H},{W} not divisible by patch "
                             f"{cfg.patch_temporal}x{cfg.patch_spatial}x{cfg.patch_spatial}")
        if sigma.shape not in ((x.shape[0],), (x.shape[0], T)):
            raise ValueError(f"sigma: expected [B] or [B, T], got {tuple(sigma.shape)}")

    def _embed(self, x: torch.Tensor, cond: dict) -> torch.Tensor:
        """[B, C, T, H, W] (+ cond-mask channel) -> tokens [B, t, h*w, D] (+ abs position)."""
        cfg = self.cfg
        B, _, T, H, W = x.shape
        if cfg.cond_mask_channel:
            m = cond.get("cond_mask")
            m = x.new_zeros(B, 1, T, H, W) if m is None else m.to(x.dtype).expand(B, 1, T, H, W)
            x = torch.cat([x, m], dim=1)  # [B, C+1, T, H, W]
        pt, ps = cfg.patch_temporal, cfg.patch_spatial
        x = rearrange(x, "b c (t pt) (h ph) (w pw) -> b t (h w) (c pt ph pw)", pt=pt, ph=ps, pw=ps)
        x = self.patch_embed(x)  # [B, t, h*w, D]
        if cfg.abs_pos_emb:
            t, h, w = T // pt, H // ps, W // ps
            if t > self.pos_t.shape[0] or h > self.pos_h.shape[0] or w > self.pos_w.shape[0]:
                raise ValueError(f"latent {T}x{H}x{W} exceeds max_latent_thw {cfg.max_latent_thw}")
            pos = (self.pos_t[:t, None, None] + self.pos_h[None, :h, None] + self.pos_w[None, None, :w])
            x = x + pos.reshape(1, t, h * w, -1)  # [1, t, h*w, D]
        return x

    def _modulation_input(self, sigma: torch.Tensor, cond: dict, T: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Timestep (+ extra) embeddings as [B, T', D] and [B, T', 3D], T' = t or 1."""
        if sigma.ndim == 2:
            sigma = sigma[:, :: self.cfg.patch_temporal]  # [B, t]: one level per latent patch-frame
        else:
            sigma = sigma[:, None]  # [B, 1]
        emb, lora = self.t_embedder(sigma)  # [B, T', D], [B, T', 3D]
        extras = [(cond.get("extra_emb"), cond.get("extra_adaln"))]
        if self.action_embedder is not None:
            extras.append(self._action_extras(cond, emb.shape[0], T))
        for extra_emb, extra_adaln in extras:
            for extra, target in ((extra_emb, "emb"), (extra_adaln, "lora")):
                if extra is None:
                    continue
                extra = extra[:, None] if extra.ndim == 2 else extra[:, :: self.cfg.patch_temporal]
                if target == "emb":
                    emb = emb + extra
                else:
                    lora = lora + extra
        return emb, lora

    def _action_extras(self, cond: dict, B: int, T: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Action embeddings ([B, T, D], [B, T, 3D]) from cond["actions"] [B, (T-1)*k, A] (missing: zeros)."""
        cfg = self.cfg
        n = (T - 1) * cfg.actions_per_frame
        actions = cond.get("actions")
        if actions is None:  # no actions given = the "do nothing" command
            actions = self.action_scale.new_zeros(B, n, cfg.action_dim)
        if actions.ndim != 3 or actions.shape[1:] != (n, cfg.action_dim):
            raise ValueError(f"cond['actions']: expected [B, {n}, {cfg.action_dim}] for {T} latent frames, "
                             f"got {tuple(actions.shape)}")
        out = self.action_embedder(actions.float() / self.action_scale)
        return out["extra_emb"], out["extra_adaln"]

    def forward(self, x: torch.Tensor, sigma: torch.Tensor, cond: dict) -> torch.Tensor:
        """Raw network output for noisy latent `x` at noise conditioning `sigma`.

        x [B, C, T, H, W]; sigma [B] or [B, T]: the c_noise value the Denoiser passes;
        cond: "text" [B, L, text_dim], "text_mask" [B, L] (bool, optional), "cond_mask"
        [B, 1, T, H, W] or [B, 1, T, 1, 1] (optional; 1 on conditioning frames),
        "extra_emb" [B, (T,) D] and "extra_adaln" [B, (T,) 3D] (optional), "actions"
        [B, (T-1) * actions_per_frame, action_dim] (action-conditioned models; missing = zeros).
        Returns [B, out_channels, T, H, W].
        """
        self._check(x, sigma)
        cfg = self.cfg
        B, _, T, H, W = x.shape
        t, h, w = T // cfg.patch_temporal, H // cfg.patch_spatial, W // cfg.patch_spatial
        text, text_mask = cond["text"], cond.get("text_mask")
        if text.ndim != 3 or text.shape[0] != B or text.shape[-1] != cfg.text_dim:
            raise ValueError(f"cond['text']: expected [{B}, L, {cfg.text_dim}], got {tuple(text.shape)}")
        tokens = self._embed(x, cond)  # [B, t, h*w, D]
        emb, lora = self._modulation_input(sigma, cond, T)
        rope = self._rope(t, h, w, x.device)
        for block in self.blocks:
            tokens = block(tokens, emb, lora, text.to(tokens.dtype), text_mask, rope)
        out = self.final_layer(tokens, emb, lora)  # [B, t, h*w, pt*ps*ps*C]
        return rearrange(out, "b t (h w) (c pt ph pw) -> b c (t pt) (h ph) (w pw)",
                         h=h, w=w, pt=cfg.patch_temporal, ph=cfg.patch_spatial, pw=cfg.patch_spatial)

    # ------------------------------------------------------------------------------------
    # Checkpoints: a directory with config.json + model.safetensors

    def save_pretrained(self, directory: str | os.PathLike) -> None:
        """Write `config.json` and `model.safetensors` into `directory` (atomically)."""
        from safetensors.torch import save_file

        os.makedirs(directory, exist_ok=True)
        state = {k: v.detach().contiguous().cpu() for k, v in self.state_dict().items()}
        with atomic_path(os.path.join(directory, WEIGHTS_NAME)) as tmp:
            save_file(state, tmp, metadata={"format": "pt", "model": "worldsmith.dit"})
        atomic_write_json(os.path.join(directory, CONFIG_NAME), to_dict(self.cfg))

    @classmethod
    def from_pretrained(cls, directory: str | os.PathLike, device: str | torch.device = "cpu") -> "DiT":
        """Load a model saved by `save_pretrained`; clear one-line errors on bad files."""
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        d = require_dir(directory, "DiT checkpoint directory")
        cfg_path = require_file(os.path.join(d, CONFIG_NAME), "DiT config")
        w_path = require_file(os.path.join(d, WEIGHTS_NAME), "DiT weights")
        try:
            with open(cfg_path, encoding="utf-8") as f:
                cfg = from_dict(DiTConfig, json.load(f), where=cfg_path)
        except json.JSONDecodeError as e:
            raise WorldsmithError(f"{cfg_path}: not valid JSON ({e})") from None
        model = cls(cfg)
        try:
            state = load_file(w_path, device=str(device))
        except (SafetensorError, OSError) as e:
            raise WorldsmithError(f"{w_path}: cannot read safetensors ({e})") from None
        try:
            missing, unexpected = model.load_state_dict(state, strict=False)
        except RuntimeError as e:  # a tensor of the wrong shape
            raise WorldsmithError(f"{w_path}: weights do not match config ({str(e).splitlines()[-1].strip()})") from None
        if missing or unexpected:
            raise WorldsmithError(f"{w_path}: weights do not match config "
                                  f"(missing {missing[:3]}, unexpected {unexpected[:3]})")
        return model.to(device)
