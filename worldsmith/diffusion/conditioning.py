"""Conditioning on the past (Text2World / Image2World / Video2World) and on text, as Cosmos does.

One model serves all three tasks: the first `n` latent frames of the clip are
*conditioning frames* (n = 0: text only, 1: an image, several: a video). Those frames are
not denoised: the noisy input is replaced by the clean latent plus a small augmentation
noise (sigma_aug, sampled in training, 0.001 at inference), the network is told which
frames they are through a condition-mask channel and their own per-frame noise level, the
denoised output on them is replaced by the clean latent, and the loss ignores them.

Training and sampling share `VideoCondition`, so both see exactly the same inputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class VideoCondition:
    """Conditioning latent frames for one batch.

    latent:     [B, C, T, H, W] clean latent on conditioning frames (zeros elsewhere)
    latent_aug: [B, C, T, H, W] `latent + aug_sigma * eps` on conditioning frames
    mask:       [B, 1, T, 1, 1] bool, True on conditioning frames
    aug_sigma:  [B] augmentation noise level of the conditioning frames
    still:      [B, C, T, H, W] or None: the latent of "nothing moves" (the conditioning
                frames with the last one held to the end, encoded), which the denoiser's
                `anchor="still"` diffuses around; see `still_latents`
    """

    latent: torch.Tensor
    latent_aug: torch.Tensor
    mask: torch.Tensor
    aug_sigma: torch.Tensor
    still: torch.Tensor | None = None

    @classmethod
    def build(cls, latent: torch.Tensor, num_frames: int | torch.Tensor, total_frames: int | None = None,
              aug_sigma: float | torch.Tensor = 0.001, generator: torch.Generator | None = None,
              still: torch.Tensor | None = None) -> "VideoCondition":
        """Condition on the first `num_frames` ([B] or int) latent frames of `latent` [B, C, Tc, H, W].

        `latent` may be shorter than the clip (only the conditioning frames); it is zero-padded
        to `total_frames` (default: its own length). `still` [B, C, T, H, W]: see the class.
        """
        B, C, Tc, H, W = latent.shape
        T = total_frames or Tc
        if Tc > T:
            latent = latent[:, :, :T]
        elif Tc < T:
            latent = torch.cat([latent, latent.new_zeros(B, C, T - Tc, H, W)], dim=2)  # [B, C, T, H, W]
        if torch.is_tensor(num_frames) and num_frames.ndim == 1:
            n = num_frames.to(latent.device)  # [B]
        else:
            n = torch.full((B,), int(num_frames), device=latent.device)  # [B]
        if int(n.max()) > min(Tc, T):
            raise ValueError(f"num_frames {int(n.max())} > the {min(Tc, T)} latent frames given")
        mask = torch.arange(T, device=latent.device)[None, :] < n[:, None]  # [B, T]
        mask = mask[:, None, :, None, None]  # [B, 1, T, 1, 1]
        aug = torch.as_tensor(aug_sigma, dtype=latent.dtype, device=latent.device).expand(B).clone()
        eps = randn(latent.shape, generator, latent.device, latent.dtype)
        clean = torch.where(mask, latent, torch.zeros_like(latent))
        noisy = torch.where(mask, latent + aug.view(B, 1, 1, 1, 1) * eps, torch.zeros_like(latent))
        if still is not None and (still.shape[0] != B or tuple(still.shape[2:]) != (T, H, W)):
            raise ValueError(f"still latent {tuple(still.shape)} does not match the clip's {(B, C, T, H, W)}")
        return cls(latent=clean, latent_aug=noisy, mask=mask, aug_sigma=aug, still=still)

    @classmethod
    def none(cls, like: torch.Tensor) -> "VideoCondition":
        """No conditioning frames (Text2World) for a batch shaped like `like` [B, C, T, H, W]."""
        return cls.build(torch.zeros_like(like), 0)

    @property
    def num_frames(self) -> torch.Tensor:
        """[B] number of conditioning frames."""
        return self.mask[:, 0, :, 0, 0].sum(dim=1)

    def repeat(self, n: int) -> "VideoCondition":
        """The same conditioning for a batch repeated `n` times (cond/uncond batches for CFG)."""
        def rep(t: torch.Tensor) -> torch.Tensor:
            return t.repeat(n, *([1] * (t.ndim - 1)))
        return VideoCondition(rep(self.latent), rep(self.latent_aug), rep(self.mask), rep(self.aug_sigma),
                              None if self.still is None else rep(self.still))


def pick_still(bank: torch.Tensor, num_frames: torch.Tensor) -> torch.Tensor:
    """Each sample's still latent [B, C, T, H, W] from a bank [B, S, C, T, H, W] whose entry j is
    the still latent for j + 1 conditioning latent frames (see `still_latents`); samples with
    0 conditioning frames get entry 0 (unused: they have no anchor)."""
    B, S = bank.shape[:2]
    if int(num_frames.max()) > S:
        raise ValueError(f"still latents for up to {S} conditioning frames, {int(num_frames.max())} drawn")
    idx = (num_frames.long() - 1).clamp(min=0).to(bank.device)
    return bank[torch.arange(B, device=bank.device), idx]


@torch.no_grad()
def still_latents(tokenizer, video: torch.Tensor, max_cond: int) -> torch.Tensor:
    """The "nothing moves" latents of a clip for 1..max_cond conditioning latent frames.

    video [B, 3, T, H, W] in [-1, 1] -> [B, max_cond, C, T', H', W']: entry j encodes the clip's
    first 1 + j * (temporal compression) frames (= j + 1 latent frames of the causal
    tokenizer) followed by the last of them held to the end. Its generated frames are the
    latent copy-last baseline: decoded, the scene stands still."""
    st = tokenizer.cfg.temporal_compression
    T = video.shape[2]
    out = []
    for j in range(max_cond):
        k = min(T, 1 + j * st)
        held = torch.cat([video[:, :, :k], video[:, :, k - 1:k].expand(-1, -1, T - k, -1, -1)], dim=2)
        out.append(tokenizer.encode(held.float()).float())
    return torch.stack(out, dim=1)


def randn(shape, generator: torch.Generator | None, device, dtype=torch.float32) -> torch.Tensor:
    """Gaussian noise drawn on the generator's device (so a CPU seed reproduces anywhere), then moved."""
    gen_device = generator.device if generator is not None else device
    return torch.randn(shape, generator=generator, device=gen_device, dtype=dtype).to(device)


def sample_num_cond_frames(batch: int, choices: tuple[int, ...], max_frames: int,
                           generator: torch.Generator | None = None, device=None) -> torch.Tensor:
    """Per-sample number of conditioning latent frames, uniform over `choices` (capped below T)."""
    gen_device = generator.device if generator is not None else device
    idx = torch.randint(len(choices), (batch,), generator=generator, device=gen_device)
    n = torch.as_tensor(choices)[idx.cpu()].to(device)
    return n.clamp(max=max_frames - 1)  # always leave at least one frame to generate


def sample_aug_sigma(batch: int, p_mean: float, p_std: float, max_sigma: float,
                     generator: torch.Generator | None = None, device=None) -> torch.Tensor:
    """Training augmentation noise for conditioning frames: log-normal, clamped to `max_sigma`."""
    z = randn(batch, generator, device)
    return (p_mean + p_std * z).exp().clamp(max=max_sigma)


def drop_text(cond: dict, p: float, generator: torch.Generator | None = None) -> dict:
    """Zero each sample's text hidden states with probability `p` (learns the unconditional model for CFG)."""
    if p <= 0:
        return cond
    text = cond["text"]
    gen_device = generator.device if generator is not None else text.device
    keep = (torch.rand(text.shape[0], generator=generator, device=gen_device) >= p).to(text.device)  # [B]
    out = dict(cond)
    out["text"] = text * keep[:, None, None].to(text.dtype)
    return out


def cat_conds(a: dict, b: dict) -> dict:
    """Concatenate two cond dicts along the batch, padding text to a common length (mask False)."""
    ta, tb = a["text"], b["text"]
    ma = a.get("text_mask", torch.ones(ta.shape[:2], dtype=torch.bool, device=ta.device))
    mb = b.get("text_mask", torch.ones(tb.shape[:2], dtype=torch.bool, device=tb.device))
    L = max(ta.shape[1], tb.shape[1])

    def pad(t: torch.Tensor, m: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        extra = L - t.shape[1]
        if extra:
            t = torch.cat([t, t.new_zeros(t.shape[0], extra, t.shape[2])], dim=1)  # [B, L, D]
            m = torch.cat([m.bool(), m.new_zeros(m.shape[0], extra, dtype=torch.bool)], dim=1)  # [B, L]
        return t, m.bool()

    (ta, ma), (tb, mb) = pad(ta, ma), pad(tb, mb)
    out = {"text": torch.cat([ta, tb]), "text_mask": torch.cat([ma, mb])}
    for key in set(a) | set(b):
        if key in out:
            continue
        if key not in a or key not in b:
            raise ValueError(f"cond key {key!r} present in only one of the two conds")
        out[key] = torch.cat([a[key], b[key]])
    return out
