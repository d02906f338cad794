"""Residual decoding: the last known frame plus the decoded change, as a codec adds a residual to a reference.

`D(latent) - D(E(still))`, where `still` is the known frames followed by the last one held
for the rest of the video, is what the model changed relative to "nothing moves", as the
tokenizer renders both; adding it to the last known frame's own pixels keeps what does not
move as sharp as the input instead of as blurred as a reconstruction (the tokenizer's error
in the static parts cancels). Used by `WorldPipeline(decode="residual")` and by the
action-conditioned model's rollouts and environment (`ActionWorldModel(decode="residual")`).
"""

from __future__ import annotations

import numpy as np
import torch
from einops import rearrange

from ..utils.errors import WorldsmithError

DECODE_MODES = ("plain", "residual")


def check_decode(decode: str, change_threshold: float) -> None:
    """Validate a decode mode and its dead zone (one clear error naming the option)."""
    if decode not in DECODE_MODES:
        raise WorldsmithError(f"decode (--decode) {decode!r}: expected one of {', '.join(DECODE_MODES)}")
    if not 0 <= change_threshold < 2:
        raise WorldsmithError(f"change_threshold (--change-threshold) {change_threshold}: expected 0 <= t < 2")
    if change_threshold and decode != "residual":
        raise WorldsmithError(f"--change-threshold {change_threshold}: only used with --decode residual")


@torch.no_grad()
def residual_decode(tokenizer, latent: torch.Tensor, known: np.ndarray, threshold: float = 0.0,
                    decoder=None) -> torch.Tensor:
    """Latents [B, C, L, h, w] whose first latent frames encode `known` uint8 [B, K, H, W, 3] ->
    video [B, 3, T, H, W] in [-1, 1]: the K known frames themselves, then the last of them plus
    the decoded change. `threshold` > 0: a dead zone, keeping a change only where it (or a
    neighbour) exceeds it. `decoder`: another decoder for `latent` (a tokenizer copy whose `decode`
    was fine-tuned on a world model's posterior means, `train/mean_decoder.py`); the reference
    D(E(still)) always uses the tokenizer's own."""
    B, K = known.shape[:2]
    T = 1 + (latent.shape[2] - 1) * tokenizer.cfg.temporal_compression
    if latent.shape[0] != B or not 0 < K <= T:
        raise WorldsmithError(f"residual decode: {B}x{K} known frames do not fit latents {list(latent.shape)}")
    still = np.concatenate([known, np.repeat(known[:, -1:], T - K, axis=1)], axis=1)  # [B, T, H, W, 3]
    x = torch.from_numpy(still).to(latent.device).float().div(127.5).sub(1)
    x = rearrange(x, "b t h w c -> b c t h w")
    ref = tokenizer.decode(tokenizer.encode(x).float())
    change = ((decoder or tokenizer).decode(latent) - ref)[:, :, K:]  # [B, 3, T - K, H, W] in [-2, 2]
    if threshold > 0:
        big = change.abs().amax(dim=1, keepdim=True)
        big = torch.nn.functional.max_pool3d(big, (1, 3, 3), stride=1, padding=(0, 1, 1))
        change = change * (big > threshold)
    return torch.cat([x[:, :, :K], (x[:, :, K - 1:K] + change).clamp(-1, 1)], dim=2)
