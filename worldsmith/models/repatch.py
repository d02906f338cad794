"""Re-patch a trained DiT to a finer spatial patch (e.g. 2x2 -> 1x1 latent cells per token).

A finer patch gives the transformer more, smaller tokens: at 64 px with an 8x8 tokenizer, a 2x2
patch makes each token cover 16x16 pixels (a whole pushed object), a 1x1 patch 8x8. Training a
finer model from scratch throws the base model's learning away; instead its weights carry over:

- the patch embedding of a cell is the sum of the old embedding's weights over the cells of
  its old patch, so a latent that is constant across an old patch embeds exactly as before;
- the output of a cell is the mean of the old output weights over those cells, so each new
  token starts by predicting its old patch's average;
- token positions on h and w are scaled by new/old patch (`DiTConfig.rope_position_scale`), so
  RoPE angles between two points of the latent grid are unchanged.

Every other weight (attention, MLP, modulation, text and action embedders) is per token and
carries over as is. The re-patched model is not the base model (attention now mixes 4x as many
tokens), so it is a starting point for fine-tuning, not a drop-in replacement.
"""

from __future__ import annotations

import dataclasses

import torch
from einops import reduce

from ..utils.errors import WorldsmithError
from .dit import DiTConfig


def repatched_config(src: DiTConfig, patch_spatial: int) -> DiTConfig:
    """`src` with spatial patch `patch_spatial` (a divisor of src's) and RoPE positions scaled to match."""
    if patch_spatial < 1 or src.patch_spatial % patch_spatial:
        raise WorldsmithError(f"model.patch_spatial={patch_spatial}: re-patching the base model needs a divisor "
                              f"of its patch {src.patch_spatial}")
    r = src.patch_spatial // patch_spatial
    t, h, w = src.rope_position_scale
    return dataclasses.replace(src, patch_spatial=patch_spatial, rope_position_scale=(t, h / r, w / r))


def repatch_state_dict(state: dict[str, torch.Tensor], src: DiTConfig, dst: DiTConfig) -> dict[str, torch.Tensor]:
    """The weights of a `src`-shaped DiT rearranged for `dst` (= `repatched_config(src, p)`)."""
    if dataclasses.replace(dst, patch_spatial=src.patch_spatial, rope_position_scale=src.rope_position_scale,
                           action_dim=src.action_dim, action_scale=src.action_scale,
                           action_cumulative=src.action_cumulative) != src:
        raise WorldsmithError("re-patching changes the spatial patch only; the other model settings must match")
    r = src.patch_spatial // dst.patch_spatial
    if r == 1:
        return dict(state)
    pt, q = src.patch_temporal, dst.patch_spatial
    out = dict(state)
    # layout (c pt ph pw), old ph = a * q + new ph: a and b index the r x r sub-blocks of an old patch
    out["patch_embed.weight"] = reduce(state["patch_embed.weight"], "d (c pt a ph b pw) -> d (c pt ph pw)", "sum",
                                       pt=pt, a=r, b=r, ph=q, pw=q)
    w = state["final_layer.linear.weight"]
    out["final_layer.linear.weight"] = reduce(w, "(c pt a ph b pw) d -> (c pt ph pw) d", "mean",
                                              pt=pt, a=r, b=r, ph=q, pw=q)
    return {k: v.contiguous() for k, v in out.items()}

