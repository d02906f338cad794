"""Conditioning embedders that feed the DiT's AdaLN modulation (robot actions, camera motion, ...).

Cosmos-Predict2's action-conditioned DiT embeds the flattened actions of each latent frame
with two small MLPs, one added to the timestep embedding and one to the shared AdaLN-LoRA
term. `ActionEmbedder` does that and returns the `cond` entries `DiT.forward` reads:
`extra_emb` [B, T, D] and `extra_adaln` [B, T, 3D]. Output layers start at zero so a
pretrained world model is unchanged until post-training teaches it the actions.

`cumulative=True` (our addition) also feeds each latent frame the running sum of the actions
since the window's first frame: for end-effector deltas that is the commanded displacement
of the tool since the first (conditioning) frame, which is what a frame's picture depends
on. With deltas alone, the net must integrate them across frames through attention.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from einops import rearrange


class ActionEmbedder(nn.Module):
    """Per-latent-frame action embedding for the DiT modulation.

    Args:
        action_dim: size of one action vector (e.g. 7: xyz, rpy, gripper).
        actions_per_frame: actions covered by one latent frame after the first
            (the tokenizer's temporal compression, e.g. 4).
        width: the DiT width D.
        cumulative: also embed the running sums of the actions (divided by
            `actions_per_frame`) at each of the frame's steps.
    """

    def __init__(self, action_dim: int, actions_per_frame: int, width: int, cumulative: bool = False):
        super().__init__()
        self.action_dim, self.actions_per_frame, self.cumulative = action_dim, actions_per_frame, cumulative
        in_dim = action_dim * actions_per_frame * (2 if cumulative else 1)
        self.emb_mlp = nn.Sequential(nn.Linear(in_dim, 4 * width), nn.SiLU(), nn.Linear(4 * width, width))
        self.adaln_mlp = nn.Sequential(nn.Linear(in_dim, 4 * width), nn.SiLU(), nn.Linear(4 * width, 3 * width))
        for mlp in (self.emb_mlp, self.adaln_mlp):
            nn.init.zeros_(mlp[-1].weight)
            nn.init.zeros_(mlp[-1].bias)

    def forward(self, actions: torch.Tensor) -> dict:
        """actions [B, (T-1) * actions_per_frame, action_dim] -> {"extra_emb" [B,T,D], "extra_adaln" [B,T,3D]}.

        The first latent frame (a single image in a causal tokenizer) has no action before it
        and gets a zero embedding.
        """
        B, N, A = actions.shape
        k = self.actions_per_frame
        if A != self.action_dim or N % k:  # checked before the cumulative features double A
            raise ValueError(f"actions: expected [B, (T-1)*{k}, {self.action_dim}], got {tuple(actions.shape)}")
        if self.cumulative:  # [B, N, 2A]: each step's delta and the running sum up to it
            actions = torch.cat([actions, actions.cumsum(dim=1) / k], dim=-1)
        per_frame = rearrange(actions, "b (t k) a -> b t (k a)", k=k)  # [B, T-1, k*A (x2)]
        per_frame = F.pad(per_frame, (0, 0, 1, 0))  # [B, T, k*A]: zeros for frame 0
        return {"extra_emb": self.emb_mlp(per_frame), "extra_adaln": self.adaln_mlp(per_frame)}
