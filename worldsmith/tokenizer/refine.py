"""Encoder-side latent refinement for continuous (CV) tokenizers.

The encoder guesses a latent in one pass. A tiny encoder trained for minutes leaves part of
what the latent could hold on the table: the same decoder reconstructs the clip better from a
latent found by gradient descent (the amortisation gap of learned compression; Campos et al.
2019, Yang et al. 2020). `refine_latent` starts from the encoder's latent and takes `steps`
Adam steps on each latent frame in turn, with the decoder frozen, to lower the squared error
of the frames that latent frame decodes to.

It stays temporally causal: latent frame k is fitted to the frames of its own group (frame 0
for k = 0, frames 4k-3..4k for 4x temporal compression) with the earlier latent frames fixed,
so it never sees a later frame, and a video still encodes the same way whatever follows it.
The latent keeps its shape, statistics and meaning (the decoder is unchanged), so `decode`
needs nothing new. A world model trained on one-pass latents predicts worse from refined ones
(they lie off its training distribution; BENCHMARKS.md, session 16), so the world model's own
encodes stay one-pass.

Cost: `steps` forward+backward decoder passes per latent frame, each over that latent frame alone
(the decoder runs in streaming mode from the cached context of the earlier ones), on top of the
one-shot encode; see BENCHMARKS.md for the PSNR it buys and the time it takes.
"""

from __future__ import annotations

import torch

from ..utils.errors import WorldsmithError
from ..utils.progress import progress

DEFAULT_LR = 0.1
"""Adam step size in units of each latent channel's standard deviation."""


def _group(k: int, st: int) -> slice:
    """Frames (of the padded video) that latent frame k decodes to."""
    return slice(0, 1) if k == 0 else slice(st * (k - 1) + 1, st * k + 1)


def _state(model) -> list:
    """The streaming state of every causal layer (to replay a latent frame from the same context)."""
    from .layers import CausalConv3d, TemporalUpsample

    out = [(model, "_first_chunk", model._first_chunk)]
    for mod in model.modules():
        if isinstance(mod, CausalConv3d):
            out.append((mod, "cache", mod.cache))
        elif isinstance(mod, TemporalUpsample):
            out.append((mod, "seen", mod.seen))
    return out


def _restore(state: list) -> None:
    for mod, name, value in state:
        setattr(mod, name, value)


def check_refine(model, steps: int, chunk_frames: int = 0) -> None:
    """Raise a one-line WorldsmithError unless `steps` of refinement can run on this tokenizer."""
    if steps < 0:
        raise WorldsmithError(f"--refine {steps}: must be >= 0")
    if steps and model.fsq is not None:
        raise WorldsmithError(f"--refine: this is a {model.cfg.kind} tokenizer; only continuous (cv) latents can be "
                              "refined (FSQ tokens are discrete)")
    if steps and chunk_frames:
        raise WorldsmithError("--refine: refines whole clips in one pass; drop --chunk-frames")


def refine_latent(model, x_BCTHW: torch.Tensor, z_raw: torch.Tensor, steps: int,
                  lr: float = DEFAULT_LR, show_progress: bool = False) -> torch.Tensor:
    """Fit the encoder-space latent `z_raw` [B, z, T', H', W'] of video `x_BCTHW` (in [-1, 1],
    `1 + k*s_t` frames) to the frozen decoder, latent frame by latent frame (causal). Returns the
    refined latent. Each clip keeps, for each latent frame, the best value seen for that frame's
    own frames (the encoder's guess included), given the latent frames already chosen."""
    check_refine(model, steps)
    if steps == 0:
        return z_raw
    st = model.cfg.temporal_compression
    std = model.latent_std.to(z_raw).view(1, -1, 1, 1, 1)
    z = z_raw.detach().clone()
    was_streaming = model._stream
    # streaming decode: each step decodes one latent frame from the cached context of the earlier ones
    model.streaming(True)
    try:
        with torch.enable_grad():
            frames = range(z.shape[2])
            for k in (progress(frames, desc="refine", unit="latent frame", leave=False) if show_progress else frames):
                context = _state(model)
                z0 = z[:, :, k:k + 1]
                # the step d is in units of each channel's std, so one Adam lr fits every channel
                d = torch.zeros_like(z0, requires_grad=True)
                opt = torch.optim.Adam([d], lr=lr, eps=1e-12)
                target = x_BCTHW[:, :, _group(k, st)]
                best, best_loss = z0.clone(), None
                for i in range(steps + 1):
                    _restore(context)
                    zk = z0 + std * d
                    recon = model.decode_latent(zk).float().clamp(-1, 1)
                    per_clip = (recon - target).pow(2).flatten(1).sum(1)  # [B]
                    with torch.no_grad():  # keep each clip's best latent frame so far
                        better = (torch.ones_like(per_clip, dtype=torch.bool) if best_loss is None
                                  else per_clip < best_loss)
                        best[better] = zk.detach()[better]
                        best_loss = per_clip.detach() if best_loss is None else torch.minimum(best_loss, per_clip.detach())
                    if i == steps:  # the last pass only scores the last update
                        break
                    opt.zero_grad(set_to_none=True)
                    (d.grad,) = torch.autograd.grad(per_clip.sum(), d)
                    opt.step()
                z[:, :, k:k + 1] = best
                _restore(context)
                with torch.no_grad():  # move the context on past the chosen latent frame
                    model.decode_latent(best)
    finally:
        model.streaming(was_streaming)
    return z
