"""Sampling a latent video with a Denoiser: guidance, conditioning frames, long videos.

`generate` is Text2World (0 conditioning frames), Image2World (1) or Video2World (several)
in latent space; `generate_long` extends a video chunk by chunk, the last frames of one
chunk conditioning the next (Cosmos-Predict2 `video2world_lvg`). Tokenizer and text
encoder live outside: callers pass latents and text hidden states.
"""

from __future__ import annotations

from typing import Callable

import torch

from ..utils.errors import WorldsmithError
from ..utils.progress import progress
from .conditioning import VideoCondition, cat_conds, randn
from .denoiser import Denoiser
from .samplers import SAMPLERS, karras_sigmas


def guided_denoise(denoiser: Denoiser, x: torch.Tensor, sigma: torch.Tensor, *, cond: dict,
                   uncond: dict | None = None, guidance: float = 0.0,
                   video_cond: VideoCondition | None = None) -> torch.Tensor:
    """Classifier-free guidance as Cosmos applies it: D_cond + g * (D_cond - D_uncond).

    `uncond` is the negative prompt's text (or zeroed text, as seen in training dropout).
    Cond and uncond run as one doubled batch. g = 0 (or no uncond) is the plain conditional.
    """
    if uncond is None or guidance == 0:
        return denoiser(x, sigma, cond, video_cond)
    B = x.shape[0]
    both = denoiser(torch.cat([x, x]), torch.cat([sigma, sigma]), cat_conds(cond, uncond),
                    None if video_cond is None else video_cond.repeat(2))  # [2B, C, T, H, W]
    d_cond, d_uncond = both[:B], both[B:]
    return d_cond + guidance * (d_cond - d_uncond)


def null_text(cond: dict) -> dict:
    """The unconditional text used in training dropout: zero hidden states, same mask."""
    out = dict(cond)
    out["text"] = torch.zeros_like(cond["text"])
    return out


def _to(cond: dict | None, device: torch.device) -> dict | None:
    return None if cond is None else {k: v.to(device) if torch.is_tensor(v) else v for k, v in cond.items()}


def _model_device(denoiser: Denoiser) -> torch.device:
    p = next(denoiser.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


MEAN_SAMPLER = "mean"  # not an integrator: the one-step posterior mean read on the anchor (`sampling_plan`)


def sampling_plan(denoiser: Denoiser, sampler: str, steps: int, sigma_max: float | None = None) -> dict:
    """`generate` keyword arguments for a sampler name: {"sampler", "steps", "sigma_max", "init_noise"}.

    A `SAMPLERS` entry integrates `steps` steps down from `sigma_max` (None: the model's), starting
    from noise around the anchor. "mean" is the model's one-step posterior mean E[future | past]:
    one Euler step from its `mean_sigma` (or `sigma_max` when given) with no noise drawn, i.e. the
    denoiser read on the anchor itself: deterministic, one network pass, the best guess under
    squared error (blurred where the future is uncertain). Shared by `WorldPipeline`, the physics
    benchmark and the action-conditioned model, so "mean" means the same everywhere."""
    if sampler == MEAN_SAMPLER:
        return {"sampler": "euler", "steps": 1, "init_noise": 0.0,
                "sigma_max": denoiser.cfg.mean_sigma if sigma_max is None else sigma_max}
    if sampler not in SAMPLERS:
        raise WorldsmithError(f"sampler (--sampler): unknown {sampler!r} "
                              f"(choices: {', '.join(SAMPLERS)}, {MEAN_SAMPLER})")
    return {"sampler": sampler, "steps": int(steps), "init_noise": 1.0, "sigma_max": sigma_max}


@torch.no_grad()
def generate(denoiser: Denoiser, shape: tuple[int, int, int, int, int], cond: dict, *,
             uncond: dict | None = None, guidance: float = 7.0, cond_latent: torch.Tensor | None = None,
             num_cond_frames: int = 0, steps: int = 35, sampler: str = "dpmpp_2m", seed: int = 0,
             sigma_min: float | None = None, sigma_max: float | None = None,
             aug_sigma: float | None = None, callback: Callable | None = None,
             still: torch.Tensor | None = None, init_noise: float = 1.0) -> torch.Tensor:
    """Sample a latent video [B, C, T, H, W] = `shape`.

    cond / uncond: {"text": [B, L, D], "text_mask": [B, L], ...}; uncond None with
    guidance > 0 uses zeroed text. cond_latent [B, C, Tc, H, W]: its first
    `num_cond_frames` latent frames are kept (returned unchanged). Seeded: the same seed
    gives the same video on any device (noise is drawn on CPU). `still` [B, C, T, H, W]: the
    conditioning frames' still latent (`conditioning.still_latents`), which a model with
    `anchor="still"` needs. Sampling starts from the anchor (the repeated last conditioning latent
    or the still latent; zero for Text2World or `anchor="none"`) plus `init_noise` x sigma_max x
    noise, since the model was trained on noise around the data, not around zero.
    `init_noise=0` with one Euler step is the posterior mean read at the anchor itself,
    D(anchor, sigma_max): no noise draw to average out (the pipeline's `sampler="mean"`).
    """
    # 1. validate the arguments
    if len(shape) != 5:
        raise WorldsmithError(f"shape: expected (B, C, T, H, W), got {tuple(shape)}")
    if steps < 1:
        raise WorldsmithError(f"steps: expected >= 1, got {steps}")
    if sampler not in SAMPLERS:
        raise WorldsmithError(f"sampler: unknown {sampler!r} (choices: {', '.join(SAMPLERS)})")
    if guidance < 0:
        raise WorldsmithError(f"guidance: expected >= 0, got {guidance}")
    if init_noise < 0:
        raise WorldsmithError(f"init_noise: expected >= 0, got {init_noise}")
    B, C, T, H, W = shape
    if num_cond_frames < 0 or num_cond_frames >= T:
        raise WorldsmithError(f"num_cond_frames: expected 0..{T - 1}, got {num_cond_frames}")
    if num_cond_frames and (cond_latent is None or cond_latent.shape[2] < num_cond_frames):
        raise WorldsmithError(f"cond_latent: need >= {num_cond_frames} latent frames for num_cond_frames")
    if cond_latent is not None and (cond_latent.shape[0] != B or tuple(cond_latent.shape[3:]) != (H, W)
                                    or cond_latent.shape[1] != C):
        raise WorldsmithError(f"cond_latent: shape {tuple(cond_latent.shape)} does not match {tuple(shape)}")
    cfg = denoiser.cfg
    device = _model_device(denoiser)
    gen = torch.Generator().manual_seed(seed)

    # 2. noise schedule and initial noise (centred on the anchor once the conditioning is known)
    sigmas = karras_sigmas(steps, sigma_min or cfg.sigma_min, sigma_max or cfg.sigma_max, cfg.rho, device)
    x = randn(shape, gen, device) * (sigmas[0] * init_noise)

    # 3. conditioning frames (clean latent + small augmentation noise)
    video_cond = None
    if num_cond_frames:
        video_cond = VideoCondition.build(cond_latent[:, :, :num_cond_frames].to(device), num_cond_frames, T,
                                          aug_sigma=cfg.aug_sigma_inference if aug_sigma is None else aug_sigma,
                                          generator=gen, still=None if still is None else still.to(device))
    if num_cond_frames and cfg.anchor == "still" and still is None:
        raise WorldsmithError("this world model diffuses around the still latent (anchor 'still'): pass `still`")
    if video_cond is not None:  # noise around the anchor, as in training (zero for anchor="none")
        x = x + denoiser.anchor(x, video_cond)
    cond = _to(cond, device)
    uncond = null_text(cond) if guidance > 0 and uncond is None else _to(uncond, device)

    # 4. integrate the probability-flow ODE
    extra = {"cond": cond, "uncond": uncond, "guidance": guidance, "video_cond": video_cond}
    x = SAMPLERS[sampler](lambda x_, s_, **kw: guided_denoise(denoiser, x_, s_, **kw), x, sigmas,
                          extra_args=extra, callback=callback, generator=gen)

    # 5. conditioning frames come back exactly as given
    if video_cond is not None:
        x = torch.where(video_cond.mask, video_cond.latent, x)
    return x


@torch.no_grad()
def generate_long(denoiser: Denoiser, shape: tuple[int, int, int, int, int], cond: dict, *,
                  num_chunks: int, num_cond_frames: int, first_latent: torch.Tensor | None = None,
                  reencode: Callable[[torch.Tensor], torch.Tensor] | None = None, seed: int = 0,
                  still_fn: Callable[[torch.Tensor], torch.Tensor] | None = None, still: torch.Tensor | None = None,
                  **kwargs) -> torch.Tensor:
    """A long latent video: chunks of `shape` frames, each conditioned on the previous chunk's tail.

    Chunk 0 is conditioned on `first_latent` (all its frames; None: Text2World). Each later
    chunk keeps the last `num_cond_frames` latent frames of the previous one as its
    conditioning frames (after `reencode`, e.g. decode + re-encode through the causal
    tokenizer, when given) and contributes only its new frames. Other kwargs go to `generate`.
    Returns [B, C, T + (num_chunks - 1) * (T - n), H, W] (n = conditioning frames per chunk).
    """
    if num_chunks < 1:
        raise WorldsmithError(f"num_chunks: expected >= 1, got {num_chunks}")
    if not 0 < num_cond_frames < shape[2]:
        raise WorldsmithError(f"num_cond_frames: expected 1..{shape[2] - 1}, got {num_cond_frames}")
    pieces = []
    cond_latent = first_latent
    n = 0 if first_latent is None else first_latent.shape[2]
    for k in progress(range(num_chunks), desc="chunks", unit="chunk"):
        if k and still_fn is not None:
            still = still_fn(cond_latent)
        x = generate(denoiser, shape, cond, cond_latent=cond_latent, num_cond_frames=n,
                     seed=seed + k, still=still, **kwargs)  # [B, C, T, H, W]
        pieces.append(x if k == 0 else x[:, :, n:])
        tail = x[:, :, -num_cond_frames:]  # [B, C, n, H, W]
        cond_latent = reencode(tail) if reencode is not None else tail
        n = cond_latent.shape[2]
    return torch.cat(pieces, dim=2)
