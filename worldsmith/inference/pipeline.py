"""`WorldPipeline`: text/image/video -> world video, with guardrails and prompt upsampling.

    pipe = WorldPipeline.from_pretrained("runs/w/model")          # guardrails on, upsampling on
    result = pipe("a robot arm pushes a red cube", input="first.png", num_frames=33, seed=1)
    write_video("out.mp4", result.frames, result.fps)             # result.record -> out.json

The model directory is the one `worldsmith train` / `Video2WorldTask.export` writes:
the Denoiser, tokenizer/, captions/ and world_model.json.
"""

from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from einops import rearrange

from ..utils.errors import WorldsmithError, read_json, require_dir
from .residual import check_decode, residual_decode

log = logging.getLogger(__name__)

# Sampling settings when neither the caller nor the model directory chooses (Cosmos's defaults).
LIBRARY_DEFAULTS = {"steps": 35, "guidance": 7.0, "sampler": "dpmpp_2m", "decode": "plain", "change_threshold": 0.0}
MODES = ("video2world", "text2world")  # with input frames (image or video) / from text alone
ACTION_MODE = "action2world"  # an action-conditioned model's rollouts (`inference.action.ActionWorldModel`)
ACTION_SETTINGS = ("sampler",)


def model_recommendations(meta: dict, where: str) -> dict:
    """{mode: {setting: value}} from world_model.json's optional "inference" block, checked.

    A model directory can say how it samples best, e.g. the shipped simulator model:
    {"video2world": {"sampler": "mean", "guidance": 0.0, "decode": "residual", "change_threshold": 0.3}}.
    Settings a caller passes win; settings neither gives come from LIBRARY_DEFAULTS. An
    action-conditioned model's block is {"action2world": {"sampler": ...}}."""
    from ..diffusion.generate import MEAN_SAMPLER
    from ..diffusion.samplers import SAMPLERS

    block = meta.get("inference") or {}
    modes = MODES + (ACTION_MODE,)
    if not isinstance(block, dict) or set(block) - set(modes):
        raise WorldsmithError(f"{where}: \"inference\" must map {' / '.join(modes)} to settings, got {block!r}")
    for mode, rec in block.items():
        allowed = ACTION_SETTINGS if mode == ACTION_MODE else tuple(LIBRARY_DEFAULTS)
        if not isinstance(rec, dict) or set(rec) - set(allowed):
            raise WorldsmithError(f"{where}: inference.{mode} may set only {', '.join(allowed)}, got {rec!r}")
        if "sampler" in rec and rec["sampler"] != MEAN_SAMPLER and rec["sampler"] not in SAMPLERS:
            raise WorldsmithError(f"{where}: inference.{mode}.sampler {rec['sampler']!r}: expected one of "
                                  f"{', '.join(SAMPLERS)}, {MEAN_SAMPLER}")
    return block


@dataclass
class WorldResult:
    """Generated frames uint8 [T, H, W, C], their fps, and the record written next to the video."""

    frames: np.ndarray
    fps: float
    record: dict = field(default_factory=dict)


class WorldPipeline:
    """Guarded Text/Image/Video2World generation from an exported world-model directory."""

    def __init__(self, model_dir: str, denoiser, tokenizer, text_encoder, meta: dict, device: torch.device,
                 guardrails=None, upsample: bool = True, mean_decoder=None):
        self.model_dir, self.denoiser, self.tokenizer, self.text_encoder = model_dir, denoiser, tokenizer, text_encoder
        self.mean_decoder = mean_decoder  # decoder fine-tuned on this model's posterior means, or None
        self.meta, self.device, self.upsample = meta, device, upsample
        self.guard = guardrails
        self._upsampler = None

    @classmethod
    def from_pretrained(cls, model_dir: str, device: str = "auto", guardrails="default", upsample: bool = True,
                        text_encoder=None, use_mean_decoder: bool = True) -> WorldPipeline:
        """Load DIR (world_model.json, Denoiser, tokenizer/); guardrails: a GuardrailConfig, "default" or None (off).

        `use_mean_decoder`: load the directory's mean decoder when world_model.json names one
        (`train/mean_decoder.py`; used for the posterior mean with residual decoding); False
        renders every prediction with the tokenizer's own decoder."""
        from ..diffusion import Denoiser
        from ..guardrails.guard import GuardrailConfig, Guardrails
        from ..text.encoder import TextEncoder
        from ..tokenizer.model import CausalVideoTokenizer, check_fingerprint
        from ..utils.device import resolve_device

        d = require_dir(model_dir, "--model")
        from ..models.lora import ADAPTER_CONFIG_NAME

        if os.path.isfile(os.path.join(d, ADAPTER_CONFIG_NAME)):
            raise WorldsmithError(f"--model {d}: a LoRA adapter of an action-conditioned model; it rolls out with "
                                  f"actions (`worldsmith eval actions|policy`, the Gymnasium envs), not with predict")
        meta = read_json(os.path.join(d, "world_model.json"), "--model world_model.json")
        dev = resolve_device(device)
        den = Denoiser.from_pretrained(d, device=dev).eval()
        tok_dir = os.path.join(d, meta.get("tokenizer") or "tokenizer")  # relative (absolute paths also work)
        tok = CausalVideoTokenizer.from_pretrained(tok_dir, device=dev).eval()
        check_fingerprint(tok, meta, d, tok_dir)
        from ..train.mean_decoder import load_mean_decoder

        mean_decoder = load_mean_decoder(d, meta, tok) if use_mean_decoder else None
        if text_encoder is None:
            name = meta.get("text_encoder") or "minilm"
            path = None if name.startswith("minilm") else (name if os.path.isabs(name) else os.path.join(d, name))
            text_encoder = TextEncoder(path, max_length=int(meta.get("text_max_length", 64)))
        model_recommendations(meta, os.path.join(d, "world_model.json"))  # fail at load, not at the first call
        guard = None
        if guardrails is not None:
            guard = Guardrails(GuardrailConfig() if isinstance(guardrails, str) else guardrails)
        return cls(d, den, tok, text_encoder, meta, dev, guard, upsample, mean_decoder)

    # ------------------------------------------------------------------ helpers
    @property
    def temporal_compression(self) -> int:
        return self.tokenizer.cfg.temporal_compression

    def _latent_frames(self, pixel_frames: int, arg: str) -> int:
        st = self.temporal_compression
        if pixel_frames < 1 or (pixel_frames - 1) % st:
            raise WorldsmithError(f"{arg}={pixel_frames}: expected 1 + k*{st} frames (1, {1 + st}, {1 + 2 * st}, ...)")
        return 1 + (pixel_frames - 1) // st

    def _upsampled(self, prompt: str, record: dict) -> str:
        """Stage 2: the prompt the model sees (retrieval over the training captions stored with the model)."""
        from ..text.upsampler import PromptUpsampler, UpsamplerConfig

        index = self.meta.get("captions") or ""
        if not self.upsample or not index or not os.path.isdir(os.path.join(self.model_dir, index)):
            record["upsampler"] = {"prompt": prompt, "upsampled": prompt, "method": "off", "neighbours": []}
            return prompt
        if self._upsampler is None:
            self._upsampler = PromptUpsampler(UpsamplerConfig(), index_dir=os.path.join(self.model_dir, index),
                                              encoder=self.text_encoder)
        up = self._upsampler.upsample(prompt)
        record["upsampler"] = up.to_dict()
        return up.upsampled

    def _load_input(self, input) -> np.ndarray | None:
        """Stage 3: uint8 [T, size, size, 3] (resize to cover, centre crop) or None for Text2World."""
        from ..io import center_crop, read_visual, resize_frames

        if input is None:
            return None
        if isinstance(input, (str, os.PathLike)):
            frames = read_visual(input).frames
        else:
            frames = np.asarray(input)
            if frames.ndim == 3:
                frames = frames[None]
            if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8 or not len(frames):
                raise WorldsmithError(f"input: expected uint8 frames [T, H, W, 3], got {frames.dtype} {list(frames.shape)}")
        s = int(self.meta["size"])
        return center_crop(resize_frames(frames, s), s)

    def _to_frames(self, video_BCTHW: torch.Tensor) -> np.ndarray:
        x = video_BCTHW[0].float().clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8).cpu()
        return rearrange(x, "c t h w -> t h w c").numpy()  # [T, H, W, C]

    # ------------------------------------------------------------------ generation
    @torch.no_grad()
    def __call__(self, prompt: str, *, input=None, num_cond_frames: int | None = None, num_frames: int | None = None,
                 steps: int | None = None, guidance: float | None = None, negative_prompt: str = "", seed: int = 0,
                 sampler: str | None = None, aug_sigma: float | None = None, decode: str | None = None,
                 change_threshold: float | None = None, sigma_max: float | None = None) -> WorldResult:
        """Generate one video; raises GuardrailBlocked (nothing generated / video withheld) on refusal.

        `steps`, `guidance`, `sampler`, `decode`, `change_threshold` left None come from the model
        directory's recommendations for this mode (`world_model.json` "inference", see
        `model_recommendations`), else from LIBRARY_DEFAULTS; `record["settings"]["from_model"]`
        lists the ones the model chose.

        `aug_sigma`: noise on the conditioning latent frames (None: the model's
        `aug_sigma_inference`, 0.001 as in Cosmos unless its diffusion.json says otherwise).
        `decode`: "plain" (the tokenizer's decode of the sampled latents) or "residual" (with
        conditioning frames: the last input frame plus the decoded *change*, see `_residual_decode`).
        `change_threshold` (residual only): drop decoded changes smaller than this (in [-1, 1]
        pixel units, the largest over colour channels and a 3x3 neighbourhood), like a codec's
        dead zone, so sampling noise does not reach the parts that do not move; 0 = keep all.
        `sigma_max`: the noise level sampling starts from (None: the model's `sigma_max`).
        `sampler="mean"`: the model's one-step posterior mean E[future | past], the denoiser read at
        its `mean_sigma` on the anchor itself, with no noise drawn (one network pass; the best guess
        under squared error, blurred where the future is uncertain); `steps` is then 1."""
        from ..diffusion.generate import MEAN_SAMPLER, sampling_plan
        from ..guardrails.guard import GuardrailBlocked

        mode = "video2world" if input is not None else "text2world"
        rec = model_recommendations(self.meta, "world_model.json").get(mode, {})
        given = {"steps": steps, "guidance": guidance, "sampler": sampler, "decode": decode,
                 "change_threshold": change_threshold}
        from_model = sorted(k for k, v in given.items() if v is None and k in rec)
        chosen = {k: (v if v is not None else rec.get(k, LIBRARY_DEFAULTS[k])) for k, v in given.items()}
        if chosen["decode"] != "residual" and change_threshold is None:  # the model's threshold is for its decode
            chosen["change_threshold"] = LIBRARY_DEFAULTS["change_threshold"]
            from_model = [k for k in from_model if k != "change_threshold"]
        if sampler is None and chosen["sampler"] == "mean" and steps is not None and steps > 1:
            chosen["sampler"] = LIBRARY_DEFAULTS["sampler"]  # asking for steps is asking for a sampler that takes them
            from_model = [k for k in from_model if k != "sampler"]
        steps, guidance, sampler = int(chosen["steps"]), float(chosen["guidance"]), chosen["sampler"]
        decode, change_threshold = chosen["decode"], float(chosen["change_threshold"])
        if not isinstance(prompt, str) or not prompt.strip():
            raise WorldsmithError("prompt: expected a non-empty string")
        if aug_sigma is not None and aug_sigma < 0:
            raise WorldsmithError(f"aug_sigma (--aug-sigma) {aug_sigma}: expected >= 0")
        if sigma_max is not None and not sigma_max > self.denoiser.cfg.sigma_min:
            raise WorldsmithError(f"sigma_max (--sigma-max) {sigma_max}: expected > the model's sigma_min "
                                  f"({self.denoiser.cfg.sigma_min})")
        check_decode(decode, change_threshold)
        mean = sampler == MEAN_SAMPLER
        plan = sampling_plan(self.denoiser, sampler, steps, sigma_max)
        steps, sampler, sigma_max = plan["steps"], plan["sampler"], plan["sigma_max"]
        t0 = time.perf_counter()
        F = int(num_frames or self.meta["num_frames"])
        record = {"prompt": prompt, "guardrails": [], "settings": {
            "model": self.model_dir, "input": input if isinstance(input, (str, type(None))) else "<frames>",
            "num_frames": F, "steps": steps, "guidance": guidance, "negative_prompt": negative_prompt,
            "seed": seed, "sampler": "mean" if mean else sampler, "device": str(self.device), "size": self.meta["size"],
            "aug_sigma": self.denoiser.cfg.aug_sigma_inference if aug_sigma is None else aug_sigma,
            "guardrails": self.guard is not None, "upsample": self.upsample, "decode": decode,
            "change_threshold": change_threshold, "mean_decoder": None,
            "sigma_max": self.denoiser.cfg.sigma_max if sigma_max is None else sigma_max, "from_model": from_model}}
        if self.guard is not None:
            from ..utils.config import to_dict

            record["settings"]["guardrail_config"] = to_dict(self.guard.config)
        # 1. pre-guard the prompt: nothing runs when it is refused
        if self.guard is not None:
            pd = self.guard.check_prompt(prompt)
            record["guardrails"].append(pd.to_dict())
            if not pd.allowed:
                raise GuardrailBlocked(pd)
        # 2. upsample text-only prompts (and check what the model will see)
        text = prompt
        if input is None:
            text = self._upsampled(prompt, record)
            if text != prompt and self.guard is not None:
                ud = self.guard.check_prompt(text)
                record["guardrails"].append(ud.to_dict())
                if not ud.allowed:  # the user's prompt passed; what upsampling added did not: drop it
                    log.warning("upsampled prompt refused (%s); using the prompt as typed", ud.category)
                    record["upsampler"]["method"] += "-refused"
                    text = prompt
        record["model_prompt"] = text
        # 3. conditioning frames
        frames = self._load_input(input)
        K = self._cond_frames(frames, num_cond_frames, F)
        record["settings"]["num_cond_frames"] = K
        if decode == "residual" and not K:  # nothing to add the change to: Text2World decodes plainly
            log.info("--decode residual needs conditioning frames; this Text2World video is decoded plainly")
            record["settings"]["decode"] = "plain"
        # 4. encode the last K input frames
        cond_latent = still = None
        if K:
            x = torch.from_numpy(frames[-K:]).to(self.device).float().div(127.5).sub(1)
            x = rearrange(x, "t h w c -> 1 c t h w")
            cond_latent = self.tokenizer.encode(x).float()  # [1, C, k, h, w]
            if self.denoiser.cfg.anchor == "still":  # the model diffuses around "nothing moves"
                still = self._still(x)
        # 5. text embeddings (negative prompt = the unconditional branch; empty = zeroed text)
        hidden, mask = self.text_encoder.encode_tokens([text])
        cond = {"text": hidden.to(self.device), "text_mask": mask.to(self.device)}
        uncond = None
        if negative_prompt:
            h, m = self.text_encoder.encode_tokens([negative_prompt])
            uncond = {"text": h.to(self.device), "text_mask": m.to(self.device)}
        # 6. sample latents, 7. decode
        latent = self._sample(F, cond, uncond, cond_latent, steps=steps, guidance=guidance, seed=seed, sampler=sampler,
                              aug_sigma=aug_sigma, sigma_max=sigma_max, still=still, init_noise=plan["init_noise"])
        if decode == "residual" and K:
            dec = self.mean_decoder if mean else None  # trained on posterior means, not on samples
            if dec is not None:  # the file world_model.json names, or one attached in memory
                record["settings"]["mean_decoder"] = self.meta.get("mean_decoder") or "<attached>"
            out = self._residual_decode(latent, frames[-K:], F, change_threshold, decoder=dec)
        else:
            out = self._to_frames(self.tokenizer.decode(latent))[:F]
        fps = float(self.meta.get("fps") or 24.0)
        # 8. post-guard the video: content safety, face pixelation
        out = self.post_guard(out, fps, record)
        # 9. frames + record
        record["seconds"] = round(time.perf_counter() - t0, 3)
        return WorldResult(out, fps, record)

    def _residual_decode(self, latent: torch.Tensor, cond_frames: np.ndarray, F: int,
                         threshold: float = 0.0, decoder=None) -> np.ndarray:
        """Residual decoding (`inference/residual.py`): the K input frames, then the last of them plus
        the decoded change (rendered by `decoder`, e.g. the mean decoder, when given)."""
        return self._to_frames(residual_decode(self.tokenizer, latent, cond_frames[None], threshold,
                                               decoder=decoder))[:F]

    def post_guard(self, frames: np.ndarray, fps: float, record: dict) -> np.ndarray:
        """Stage 8: content safety then face pixelation (unchanged when guardrails are off)."""
        from ..guardrails.guard import GuardrailBlocked

        if self.guard is None:
            return frames
        out, vd = self.guard.check_video(frames, fps=fps)
        record["guardrails"].append(vd.to_dict())
        if not vd.allowed:
            raise GuardrailBlocked(vd)
        self.guard.offload()
        return out

    def _cond_frames(self, frames: np.ndarray | None, k: int | None, F: int) -> int:
        """Conditioning frames: 0 (text), 1 (image) or 1 + j*st from the end of a video, < F."""
        st = self.temporal_compression
        if frames is None:
            if k:
                raise WorldsmithError("--num-cond-frames: needs --input (an image or a video)")
            return 0
        if k is None:  # default: as many as fit, at most 1 + 2*st
            k = 1 + st * min((len(frames) - 1) // st, 2, max(0, (F - 2) // st))
        self._latent_frames(k, "--num-cond-frames")
        if k > len(frames):
            raise WorldsmithError(f"--num-cond-frames={k}: the input has only {len(frames)} frame(s)")
        if k >= F:
            raise WorldsmithError(f"--num-cond-frames={k}: must be fewer than --num-frames={F}")
        return k

    def _sample(self, F: int, cond, uncond, cond_latent, **kw) -> torch.Tensor:
        """Stage 6: one generate() call, or generate_long() chunks past the model's own length."""
        from ..diffusion import generate, generate_long

        T = self._latent_frames(F, "--num-frames")
        C, T_model, h, w = self.meta["latent_shape"]
        n = 0 if cond_latent is None else cond_latent.shape[2]
        still = kw.pop("still", None)
        if T <= T_model:
            return generate(self.denoiser, (1, C, T, h, w), cond, uncond=uncond, cond_latent=cond_latent,
                            num_cond_frames=n, still=None if still is None else still[:, :, :T], **kw)
        overlap = max(1, min(n, T_model - 1))
        chunks = 1 + math.ceil((T - T_model) / (T_model - overlap))
        tok = self.tokenizer
        still_fn = None
        if self.denoiser.cfg.anchor == "still":  # each later chunk stands still from its decoded tail
            still_fn = lambda z: self._still(tok.decode(z).clamp(-1, 1))  # noqa: E731
        long = generate_long(self.denoiser, (1, C, T_model, h, w), cond, uncond=uncond, num_chunks=chunks,
                             num_cond_frames=overlap, first_latent=cond_latent,
                             reencode=lambda z: tok.encode(tok.decode(z)).float(), still=still, still_fn=still_fn, **kw)
        return long[:, :, :T]  # [1, C, T, h, w]

    @torch.no_grad()
    def _still(self, x: torch.Tensor) -> torch.Tensor:
        """The still latent [1, C, T_model, h, w] of conditioning frames x [1, 3, k, H, W] in [-1, 1]:
        the frames with the last one held to the model's length, encoded (`anchor="still"`)."""
        T_model = self.meta["latent_shape"][1]
        F_model = 1 + (T_model - 1) * self.tokenizer.cfg.temporal_compression
        k = x.shape[2]
        if k < F_model:
            x = torch.cat([x, x[:, :, -1:].expand(-1, -1, F_model - k, -1, -1)], dim=2)
        return self.tokenizer.encode(x[:, :, :F_model].float()).float()
