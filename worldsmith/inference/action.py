"""Action-conditioned prediction: past frames + robot actions -> the next frames, batched.

`ActionWorldModel` loads an Action2World directory (full checkpoint, or a LoRA adapter that
is merged into its base model at load time) and predicts autoregressively: the last
`context_frames` pixel frames are encoded by the causal tokenizer (the first of them on its
own, as an image), the actions of the context and of the new frames go to the network, and
one or more new latent frames (each `k` pixel frames, `k` actions) are sampled.

Rollouts stay in latent space (`rollout`, and the Gymnasium env): after the first chunk the
model conditions on the last `context_latents` latent frames it sampled itself, and the whole
latent history is decoded in one causal pass. The alternative, decoding each chunk and
re-encoding the last frames as the next context (`latent_rollout=False`), passes every frame
through the tokenizer once per chunk, and those round trips compound: a model that predicted
"nothing moves" exactly would still lose a static object's colour mask (object IoU 0.71 ->
0.40 over seven chunks on held-out clips; BENCHMARKS.md, robot section). Models post-trained
with `latent_window` (`train/action2world.py`) have seen contexts that start on a 4-frame
latent, as these rollouts' do.

A context the model generated itself is not a clean latent, so its conditioning frames get
augmentation noise `rollout_aug_sigma` (default 0.05, within the range the model saw in
training) instead of the 0.001 used for true frames (Cosmos's default): on 48 held-out clips
this raised PSNR, SSIM, object IoU and arm accuracy together (BENCHMARKS.md, robot section).

Action guidance (`action_guidance` g > 0) is classifier-free guidance on the actions: each
denoising step runs the model with the true actions and with all actions zeroed (a still arm,
which the training data holds in pauses and jitter) and returns D_act + g * (D_act - D_zero),
amplifying whatever the actions change in the prediction, at twice the cost per step.

Residual decoding (`decode="residual"`, `inference/residual.py`) renders a rollout as the last
real context frame plus the decoded change: what the model leaves still stays as sharp as
the real frames instead of as blurred as a reconstruction. In the environment the reference
is the episode's latest anchor (its start frames, or the frames it was re-anchored on); in a
pixel rollout (`latent_rollout=False`) it is each chunk's context, the model's own frames
after the first chunk.

`sampler="mean"` predicts each chunk as the model's one-step posterior mean (`diffusion.generate.
sampling_plan`): one network pass per chunk instead of `steps`, and no noise drawn. On the shipped
robot model it beat 10-step samples on every action-fidelity metric over 48 held-out clips
(BENCHMARKS.md, robot section, session 23), so that model's directory recommends it
(world_model.json "inference": {"action2world": {"sampler": "mean"}}), which `from_pretrained`
follows when no sampler is given.
"""

from __future__ import annotations

import os

import numpy as np
import torch
from einops import rearrange

from ..utils.errors import WorldsmithError, read_json, require_dir


DEFAULT_SAMPLER = "dpmpp_2m"  # when neither the caller nor the model directory chooses
ROLLOUT_AUG_SIGMA = 0.05  # conditioning-frame noise when the context is the model's own output


class ActionWorldModel:
    """Frames + actions -> next frames. Shapes: frames uint8 [B, T, H, W, 3], actions float [B, N, A]."""

    def __init__(self, denoiser, tokenizer, text_cond: dict, meta: dict, device: torch.device, *,
                 steps: int = 10, context_latents: int = 2, sampler: str = DEFAULT_SAMPLER, latent_rollout: bool = True,
                 rollout_aug_sigma: float = ROLLOUT_AUG_SIGMA, action_guidance: float = 0.0,
                 decode: str = "plain", change_threshold: float = 0.0):
        from ..diffusion.generate import sampling_plan
        from .residual import check_decode

        self.denoiser, self.tokenizer, self.text_cond, self.meta = denoiser, tokenizer, text_cond, meta
        self.device, self.steps, self.sampler, self.latent_rollout = device, steps, sampler, latent_rollout
        if steps < 1:
            raise WorldsmithError(f"steps (--sampler-steps) {steps}: expected >= 1")
        self.plan = sampling_plan(denoiser, sampler, steps)  # checks the sampler's name
        if rollout_aug_sigma < 0:
            raise WorldsmithError(f"rollout_aug_sigma={rollout_aug_sigma}: expected >= 0")
        self.rollout_aug_sigma = rollout_aug_sigma
        if not action_guidance >= 0:
            raise WorldsmithError(f"action_guidance={action_guidance}: expected >= 0")
        self.action_guidance = float(action_guidance)
        check_decode(decode, change_threshold)
        self.decode_mode, self.change_threshold = decode, float(change_threshold)
        cfg = denoiser.net.cfg
        self.k, self.action_dim = cfg.actions_per_frame, cfg.action_dim
        self.size, self.fps = int(meta.get("size", 64)), float(meta.get("fps", 15.0))
        if context_latents < 1:
            raise WorldsmithError(f"context_latents={context_latents}: expected >= 1")
        self.context_latents = context_latents
        self.context_frames = 1 + self.k * (context_latents - 1)

    @classmethod
    def from_pretrained(cls, model_dir: str, device: str = "auto", *, text_encoder=None, steps: int = 10,
                        sampler: str | None = None, context_latents: int = 2, latent_rollout: bool = True,
                        rollout_aug_sigma: float = ROLLOUT_AUG_SIGMA, action_guidance: float = 0.0,
                        decode: str = "plain", change_threshold: float = 0.0) -> "ActionWorldModel":
        """Load an exported Action2World directory (`worldsmith train --task action2world` output `model/`).

        `sampler` None: the directory's recommendation (world_model.json "inference".action2world),
        else DEFAULT_SAMPLER."""
        from ..text.encoder import TextEncoder
        from ..tokenizer.model import CausalVideoTokenizer, check_fingerprint
        from ..train.action2world import load_action_denoiser
        from ..utils.device import resolve_device

        d = require_dir(model_dir, "--model")
        meta = read_json(os.path.join(d, "world_model.json"), "--model world_model.json")
        if meta.get("task") != "action2world":
            raise WorldsmithError(f"--model {d}: not an action-conditioned model (world_model.json task is "
                                  f"{meta.get('task', 'video2world')!r}); post-train it with "
                                  f"`worldsmith train --task action2world --init {d}`")
        from .pipeline import model_recommendations

        rec = model_recommendations(meta, os.path.join(d, "world_model.json")).get("action2world", {})
        sampler = sampler or rec.get("sampler", DEFAULT_SAMPLER)
        dev = resolve_device(device)
        den = load_action_denoiser(d, device=dev).eval()
        tok_dir = os.path.join(d, meta.get("tokenizer") or "tokenizer")
        tok = CausalVideoTokenizer.from_pretrained(tok_dir, device=dev).eval()
        check_fingerprint(tok, meta, d, tok_dir)
        if text_encoder is None:
            name = meta.get("text_encoder") or "minilm"
            text_encoder = TextEncoder(None if name.startswith("minilm") else name,
                                       max_length=int(meta.get("text_max_length", 64)))
        hidden, mask = text_encoder.encode_tokens([meta.get("prompt", "")])
        return cls(den, tok, {"text": hidden.to(dev), "text_mask": mask.to(dev)}, meta, dev, steps=steps, sampler=sampler,
                   context_latents=context_latents, latent_rollout=latent_rollout, rollout_aug_sigma=rollout_aug_sigma,
                   action_guidance=action_guidance, decode=decode, change_threshold=change_threshold)

    def _check(self, context: np.ndarray, past: np.ndarray, actions: np.ndarray) -> None:
        B, C = context.shape[:2]
        if context.ndim != 5 or context.shape[2:] != (self.size, self.size, 3) or context.dtype != np.uint8:
            raise WorldsmithError(f"context: expected uint8 [B, T, {self.size}, {self.size}, 3], "
                                  f"got {context.dtype} {list(context.shape)}")
        if (C - 1) % self.k:
            raise WorldsmithError(f"context: {C} frames; expected 1 + j*{self.k}")
        if past.shape != (B, C - 1, self.action_dim):
            raise WorldsmithError(f"past_actions: expected [{B}, {C - 1}, {self.action_dim}], got {list(past.shape)}")
        if actions.ndim != 3 or actions.shape[0] != B or actions.shape[2] != self.action_dim \
                or actions.shape[1] < self.k or actions.shape[1] % self.k:
            raise WorldsmithError(f"actions: expected [{B}, m*{self.k}, {self.action_dim}], got {list(actions.shape)}")

    @torch.no_grad()
    def encode(self, frames: np.ndarray) -> torch.Tensor:
        """uint8 frames [B, 1 + j*k, H, W, 3] -> latents [B, C, 1 + j, h, w] (the first frame alone)."""
        x = torch.from_numpy(np.asarray(frames)).to(self.device).float().div(127.5).sub(1)
        return self.tokenizer.encode(rearrange(x, "b t h w c -> b c t h w")).float()

    @torch.no_grad()
    def decode(self, latent: torch.Tensor, known: np.ndarray | None = None) -> np.ndarray:
        """Latents [B, C, 1 + j, h, w] (first latent frame a single image) -> uint8 frames [B, 1 + j*k, H, W, 3].

        `known` uint8 [B, K, H, W, 3]: the real frames the first latents encode; with
        `decode="residual"` the output is those frames, then the last of them plus the decoded change."""
        if self.decode_mode == "residual" and known is not None:
            from .residual import residual_decode

            video = residual_decode(self.tokenizer, latent, np.asarray(known), self.change_threshold)
        else:
            video = self.tokenizer.decode(latent)
        video = video.float().clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8).cpu()
        return rearrange(video, "b c t h w -> b t h w c").numpy()

    @torch.no_grad()
    def predict_latent(self, latent: torch.Tensor, past_actions: np.ndarray, actions: np.ndarray,
                       seed: int = 0, generated_context: bool = False) -> torch.Tensor:
        """The latent frames [B, C, m, h, w] that `actions` [B, m*k, A] lead to after context latents
        [B, C, c, h, w]; `past_actions` [B, (c-1)*k, A] are those between the context latents.
        `generated_context`: the context is the model's own output (noise `rollout_aug_sigma` on it)."""
        from ..diffusion import generate

        B, c, m = latent.shape[0], latent.shape[2], actions.shape[1] // self.k
        shape = (B, latent.shape[1], c + m, latent.shape[3], latent.shape[4])
        acts = np.concatenate([np.asarray(past_actions, np.float32), np.asarray(actions, np.float32)], axis=1)
        cond = {"text": self.text_cond["text"].expand(B, -1, -1), "text_mask": self.text_cond["text_mask"].expand(B, -1),
                "actions": torch.from_numpy(acts).to(self.device)}
        uncond = {**cond, "actions": torch.zeros_like(cond["actions"])} if self.action_guidance else None
        sample = generate(self.denoiser, shape, cond, uncond=uncond, guidance=self.action_guidance,
                          cond_latent=latent, num_cond_frames=c,
                          steps=self.plan["steps"], sampler=self.plan["sampler"], sigma_max=self.plan["sigma_max"],
                          init_noise=self.plan["init_noise"], seed=seed,
                          aug_sigma=self.rollout_aug_sigma if generated_context else None)
        return sample[:, :, c:]

    @torch.no_grad()
    def predict(self, context: np.ndarray, past_actions: np.ndarray, actions: np.ndarray, seed: int = 0) -> np.ndarray:
        """The frames that `actions` [B, m*k, A] lead to after `context` [B, C, H, W, 3] -> uint8 [B, m*k, H, W, 3].

        `past_actions` [B, C-1, A] are the actions between the context frames.
        """
        context, past = np.asarray(context), np.asarray(past_actions, np.float32)
        actions = np.asarray(actions, np.float32)
        self._check(context, past, actions)
        latent = self.encode(context)
        new = self.predict_latent(latent, past, actions, seed=seed)
        return self.decode(torch.cat([latent, new], dim=2), known=context)[:, -actions.shape[1]:]

    def rollout(self, context: np.ndarray, past_actions: np.ndarray, actions: np.ndarray, seed: int = 0,
                chunk: int = 1) -> np.ndarray:
        """Predict len(actions) frames [B, N, H, W, 3] for actions [B, N, A], `chunk` latent frames at a time.

        In latent space (the default, see the module docstring), or decoding and re-encoding the
        last `context_frames` frames before every chunk (`latent_rollout=False`).
        """
        frames, acts = np.asarray(context), np.asarray(past_actions, np.float32)
        actions = np.asarray(actions, np.float32)
        C, step = frames.shape[1], chunk * self.k
        if actions.shape[1] % self.k:
            raise WorldsmithError(f"actions: {actions.shape[1]} steps; expected a multiple of {self.k}")
        if not self.latent_rollout:
            out = []
            for i, start in enumerate(range(0, actions.shape[1], step)):
                a = actions[:, start:start + step]
                new = self.predict(frames[:, -C:], acts[:, -(C - 1):] if C > 1 else acts[:, :0], a, seed=seed + i)
                out.append(new)
                frames = np.concatenate([frames, new], axis=1)
                acts = np.concatenate([acts, a], axis=1)
            return np.concatenate(out, axis=1)
        self._check(frames, acts, actions[:, :step])
        latents, ctx = [self.encode(frames)], self.context_latents
        for i, start in enumerate(range(0, actions.shape[1], step)):
            a = actions[:, start:start + step]
            history = torch.cat(latents, dim=2)[:, :, -ctx:]
            past = acts[:, acts.shape[1] - (history.shape[2] - 1) * self.k:]
            latents.append(self.predict_latent(history, past, a, seed=seed + i, generated_context=i > 0))
            acts = np.concatenate([acts, a], axis=1)
        return self.decode(torch.cat(latents, dim=2), known=frames)[:, C:]
