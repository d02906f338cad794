"""Predictors backed by a trained world-model directory, for `worldsmith eval physics --model`.

- the world model: given the first K true frames and the clip's caption, predict the rest;
- the tokenizer ceiling: the model's own tokenizer reconstructing the true frames (no world
  model that decodes through this tokenizer can beat it);
- a dynamics check, "<model>_static_past": the posterior mean predicted from a past that stands
  still (the last given frame K times). Compared with the mean from the true past it says how
  much of the model's accuracy comes from the motion it was shown (`physics_run.dynamics_check`);
- a caption check, "<model>_no_caption": the posterior mean from the true past with a neutral prompt
  (NEUTRAL_PROMPT, what a clip without a caption gets), which says how much it leans on the text
  (`physics_run.caption_check`).

Guardrails and prompt upsampling are off here: the prompts are the simulator's captions and
the benchmark measures the model, not the guards.
"""

from __future__ import annotations

import zlib

import numpy as np

NEUTRAL_PROMPT = "a physical scene"  # the prompt of a clip without a caption, and of the caption check


def load_predictors(model_dir: str, *, steps: int = 35, guidance: float = 0.0, device: str = "auto",
                    sampler: str = "dpmpp_2m", mean: bool = True, aug_sigma: float | None = None,
                    decode: str = "plain", change_threshold: float = 0.0,
                    mean_sigma: float | None = None, static_past: bool = True, caption_check: bool = True,
                    use_mean_decoder: bool = True) -> tuple[str, dict]:
    """(model name, {name: predictor}) for the world model and its tokenizer ceiling.

    With `mean` (and a sampler that is not already "mean"), also "world_model_mean": the
    model's one-step posterior-mean prediction E[future | past] (the denoiser read on the anchor,
    no noise drawn, at its `mean_sigma` or the `mean_sigma` given here), which PSNR and SSIM reward over any single
    sample (a sample from the right distribution has twice the mean's squared error), scored
    beside the samples. `use_mean_decoder`: render the mean with the directory's mean decoder
    when it has one (False: the tokenizer's own decoder).
    """
    import os

    import torch
    from einops import rearrange

    from ..inference.pipeline import WorldPipeline

    pipe = WorldPipeline.from_pretrained(model_dir, device=device, guardrails=None, upsample=False,
                                         use_mean_decoder=use_mean_decoder)
    size = int(pipe.meta["size"])
    name = "world_model"

    def check(case):
        if case.rgb.shape[1:3] != (size, size):
            raise ValueError(f"the model works at {size} px, the test clips are {case.rgb.shape[1]} px "
                             f"(run eval physics with --resolution {size})")

    def world_model(case, K: int, n: int) -> np.ndarray:
        check(case)
        seed = zlib.crc32(case.key.encode()) & 0x7FFFFFFF  # same clip, same noise, every run
        res = pipe(case.caption or NEUTRAL_PROMPT, input=case.rgb[:K], num_cond_frames=K, num_frames=K + n,
                   steps=steps, guidance=guidance, seed=seed, sampler=sampler, aug_sigma=aug_sigma,
                   sigma_max=mean_sigma if sampler == "mean" else None,
                   decode=decode, change_threshold=change_threshold)
        return res.frames[K:K + n]

    def world_model_mean(case, K: int, n: int, still: bool = False, caption: bool = True) -> np.ndarray:
        check(case)
        past = np.repeat(case.rgb[K - 1:K], K, axis=0) if still else case.rgb[:K]
        res = pipe((caption and case.caption) or NEUTRAL_PROMPT, input=past, num_cond_frames=K, num_frames=K + n,
                   guidance=guidance, seed=0, sampler="mean", sigma_max=mean_sigma, aug_sigma=aug_sigma,
                   decode=decode, change_threshold=change_threshold)
        return res.frames[K:K + n]

    @torch.no_grad()
    def tokenizer_recon(case, K: int, n: int) -> np.ndarray:
        check(case)
        x = torch.from_numpy(case.rgb).to(pipe.device).float().div(127.5).sub(1)
        y = pipe.tokenizer.decode(pipe.tokenizer.encode(rearrange(x, "t h w c -> 1 c t h w")))
        return pipe._to_frames(y)[K:K + n]

    preds = {name: world_model}
    if mean and sampler != "mean":
        preds[f"{name}_mean"] = world_model_mean
    if static_past and (mean or sampler == "mean"):
        preds[f"{name}_static_past"] = lambda case, K, n: world_model_mean(case, K, n, still=True)
    if caption_check and (mean or sampler == "mean"):
        preds[f"{name}_no_caption"] = lambda case, K, n: world_model_mean(case, K, n, caption=False)
    preds["tokenizer_recon"] = tokenizer_recon
    return os.path.basename(os.path.normpath(model_dir)) or name, preds
