"""The Denoiser: preconditioning and training loss around a network `f(x, c_noise, cond) -> F`.

Both formulations are written in the variance-exploding space of EDM (Karras et al. 2022),
`x = x0 + sigma * eps`, so one set of samplers and one sigma schedule serve both:

- EDM: D(x) = c_skip x + c_out F(c_in x, c_noise) with
  c_skip = sd^2/(s^2+sd^2), c_out = s sd/sqrt(s^2+sd^2), c_in = 1/sqrt(s^2+sd^2), c_noise = ln(s)/4.
- Rectified flow (Cosmos-Predict2): x_t = (1-t) x0 + t eps is the VE point x/(1+s) with
  t = s/(1+s), and the net predicts the velocity eps - x0, so
  c_skip = c_in = 1/(1+s), c_out = -s/(1+s), c_noise = t.
  Log-normal sigmas are exactly logit-normal t (SD3's training distribution).

The loss is the mean squared error of F against its target `(x0 - c_skip x)/c_out`, which
equals EDM's weighted loss (lambda = 1/c_out^2) and the flow-matching velocity loss. It is
averaged over generated frames only: conditioning frames (see `conditioning.py`) carry a
clean latent and are never scored.

Anchor (`anchor="last_cond"`, our addition): with conditioning frames, the diffusion runs
on the *change* from the last conditioning latent frame, `x0 - A`, where `A` repeats that
frame over the frames to generate (A = 0 without conditioning frames, so Text2World is the
plain model). Samplers are unchanged: their state stays `x0 + sigma * eps` in latent
space, and the denoiser subtracts and adds back `A` inside. The net's final layer starts
at zero, so an untrained model is a Gaussian prior centred on "nothing moves" (the latent
copy of the last frame, a strong baseline where most pixels are still), and training only
has to learn what changes. The conditioning frames stay absolute in the net's input, so it sees the scene.

`anchor="still"` anchors on the latent of the conditioning frames with the last one held to
the end (`conditioning.still_latents`), passed in `VideoCondition.still`. The last
conditioning latent frame of a causal tokenizer encodes several frames of motion (4 with
4x temporal compression), so repeating it is not "nothing moves": decoded, it leaves ghosts
of the earlier positions. The still latent is the latent copy-last baseline exactly, and the
truth is nearer to it than to the repeated frame in every PhysAlign scenario (BENCHMARKS.md,
session 20). Training needs the still latents of every window (`data.latent_cache` stores
them), sampling needs the clip's (the pipeline encodes them).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

import torch
import torch.nn as nn

from ..utils.atomic import atomic_write_json
from ..utils.config import from_dict, to_dict
from ..utils.errors import WorldsmithError, read_json

from .conditioning import VideoCondition, drop_text, pick_still, randn, sample_aug_sigma, sample_num_cond_frames


DIFFUSION_CONFIG_NAME = "diffusion.json"
ANCHORS = ("none", "last_cond", "still")
READ_LOSSES = ("mse", "l1")
AUG_SIGMA_FLOOR = 1e-3  # Cosmos's inference aug level; training draws fall below it 0.1% of the time


@dataclass
class DiffusionConfig:
    """Formulation, training noise distribution, sampling range and conditioning defaults."""

    formulation: str = "edm"        # "edm" or "rf" (rectified flow)
    sigma_data: float = 0.5         # EDM data std (rf assumes unit-scale latents)
    p_mean: float = 0.0             # training: ln(sigma) ~ N(p_mean, p_std^2) (Cosmos-Predict1: 0, 1)
    p_std: float = 1.0
    sigma_min: float = 0.002        # sampling range (Karras schedule)
    sigma_max: float = 80.0
    rho: float = 7.0
    cond_frame_choices: tuple[int, ...] = field(default=(0, 1, 2))  # latent frames, uniform in training
    aug_p_mean: float = -3.0        # training: ln(sigma_aug) ~ N(aug_p_mean, aug_p_std^2)
    aug_p_std: float = 1.0
    aug_sigma_max: float = 1.0
    aug_sigma_inference: float = 0.001  # Cosmos DEFAULT_AUGMENT_SIGMA
    text_dropout: float = 0.2       # for classifier-free guidance
    anchor: str = "none"            # "none" or "last_cond": denoise the change from the last conditioning frame
    motion_weight: float = 0.0      # > 0: weight latent positions by 1 + w * (their change since the previous
    #                                 latent frame, relative to the mean change): moving things count more
    mean_sigma: float = 30.0        # noise level at which the one-step posterior mean E[x0 | conditions] is read
    #                                 (`generate(..., steps=1, sampler="euler", sigma_max=mean_sigma, init_noise=0)`,
    #                                 the denoiser read on the anchor with no noise drawn): where the
    #                                 noise swamps the data but the network was still trained; sigma_max=80 lies 4.4
    #                                 std above log-normal(0, 1) training sigmas (BENCHMARKS.md, session 17)
    high_sigma_fraction: float = 0.0  # training: this share of samples draws sigma log-uniformly from
    #                                 [mean_sigma / 3, sigma_max] instead of the log-normal, training that estimate
    read_fraction: float = 0.0      # training: this share of samples is the posterior-mean read itself (sigma =
    #                                 mean_sigma, the input on generated frames = the anchor, no noise), so the
    #                                 read `sampler="mean"` uses is trained as a direct predictor, not inferred
    read_loss: str = "mse"          # loss on those samples: "mse" (the read is the conditional mean) or "l1" (the
    #                                 conditional median per latent element: commits to the likelier outcome
    #                                 where the mean would blend two, e.g. a landed object staying or hopping)


def motion_weights(x0: torch.Tensor, strength: float, cap: float = 10.0) -> torch.Tensor:
    """Loss weights [B, 1, T, H, W] from clean latents [B, C, T, H, W]: 1 + strength * relative change.

    A position's change is the channel-mean |x0[t] - x0[t-1]| (0 for the first frame), divided
    by the batch's mean change and capped at `cap`; the weights are then rescaled to mean 1
    within each frame, so the loss keeps its scale and only its spatial emphasis moves toward
    what moves (a robot arm, a falling object) and away from the static background.
    """
    x0 = x0.detach().float()
    change = (x0[:, :, 1:] - x0[:, :, :-1]).abs().mean(dim=1, keepdim=True)  # [B, 1, T-1, H, W]
    change = torch.cat([torch.zeros_like(change[:, :, :1]), change], dim=2)
    rel = (change / change.mean().clamp(min=1e-8)).clamp(max=cap)
    w = 1.0 + strength * rel
    return w / w.mean(dim=(3, 4), keepdim=True)


def edm_scalings(sigma: torch.Tensor, sigma_data: float):
    """EDM preconditioning (Karras et al. 2022, Table 1): c_skip, c_out, c_in, c_noise."""
    s2, sd2 = sigma ** 2, sigma_data ** 2
    c_skip = sd2 / (s2 + sd2)
    c_out = sigma * sigma_data / (s2 + sd2).sqrt()
    c_in = 1.0 / (s2 + sd2).sqrt()
    c_noise = sigma.log() / 4
    return c_skip, c_out, c_in, c_noise


def rf_scalings(sigma: torch.Tensor):
    """Rectified-flow preconditioning in VE coordinates: t = s/(1+s), F = velocity."""
    c_in = 1.0 / (1.0 + sigma)
    t = sigma * c_in
    return c_in, -t, c_in, t


class Denoiser(nn.Module):
    """Wraps a network into D(x, sigma) -> x0 estimate, and computes its training loss."""

    def __init__(self, net: nn.Module, cfg: DiffusionConfig | None = None):
        super().__init__()
        self.net = net
        self.cfg = cfg or DiffusionConfig()
        if self.cfg.formulation not in ("edm", "rf"):
            raise ValueError(f"formulation: expected 'edm' or 'rf', got {self.cfg.formulation!r}")
        if self.cfg.anchor not in ANCHORS:
            raise ValueError(f"anchor: expected one of {ANCHORS}, got {self.cfg.anchor!r}")
        if not 0.0 <= self.cfg.high_sigma_fraction <= 1.0:
            raise ValueError(f"high_sigma_fraction: expected 0..1, got {self.cfg.high_sigma_fraction}")
        if not 0.0 <= self.cfg.read_fraction <= 1.0:
            raise ValueError(f"read_fraction: expected 0..1, got {self.cfg.read_fraction}")
        if self.cfg.read_loss not in READ_LOSSES:
            raise ValueError(f"read_loss: expected one of {READ_LOSSES}, got {self.cfg.read_loss!r}")
        if not self.cfg.mean_sigma > 0:
            raise ValueError(f"mean_sigma: expected > 0, got {self.cfg.mean_sigma}")
        if self.cfg.high_sigma_fraction > 0 and not self.cfg.mean_sigma / 3 < self.cfg.sigma_max:
            raise ValueError(f"high_sigma_fraction draws from [mean_sigma / 3, sigma_max]: mean_sigma "
                             f"{self.cfg.mean_sigma} / 3 must be below sigma_max {self.cfg.sigma_max}")

    def scalings(self, sigma: torch.Tensor):
        """(c_skip, c_out, c_in, c_noise) for noise level(s) `sigma`, same shape as `sigma`."""
        if self.cfg.formulation == "edm":
            return edm_scalings(sigma, self.cfg.sigma_data)
        return rf_scalings(sigma)

    def anchor(self, x: torch.Tensor, video_cond: VideoCondition | None) -> torch.Tensor:
        """The anchor A [B, C, T, H, W] for `x`: the last conditioning latent frame on the frames
        to generate, zero on conditioning frames and for samples without any (or anchor="none")."""
        if self.cfg.anchor == "none" or video_cond is None or not bool(video_cond.mask.any()):
            return torch.zeros((), dtype=x.dtype, device=x.device)
        n = video_cond.num_frames.long()  # [B]
        gen = ~video_cond.mask & (n > 0).view(-1, 1, 1, 1, 1)  # [B, 1, T, 1, 1]
        if self.cfg.anchor == "still":
            if video_cond.still is None:
                raise ValueError("anchor='still' needs the still latent (VideoCondition.still); see still_latents")
            still = video_cond.still.to(x.dtype)
            return torch.where(gen, still, torch.zeros_like(still))
        idx = (n - 1).clamp(min=0).view(-1, 1, 1, 1, 1).expand(-1, x.shape[1], 1, *x.shape[3:])
        last = video_cond.latent.to(x.dtype).gather(2, idx)  # [B, C, 1, H, W]
        return torch.where(gen, last, torch.zeros_like(last))  # [B, C, T, H, W]

    def _inputs(self, x: torch.Tensor, sigma: torch.Tensor, cond: dict, video_cond: VideoCondition | None):
        """Replace conditioning frames and precondition: (net input, c_noise, cond, c_skip, c_out, x_in).

        `x` must already have the anchor subtracted (see `anchor`)."""
        B, _, T = x.shape[:3]
        sigma = sigma.to(x.dtype).reshape(-1).expand(B)  # [B]
        if video_cond is None or not bool(video_cond.mask.any()):
            s = sigma.view(B, 1, 1, 1, 1)
            c_skip, c_out, c_in, c_noise = self.scalings(s)
            cond = dict(cond)
            if video_cond is not None:
                cond["cond_mask"] = video_cond.mask
            return c_in * x, c_noise.view(B), cond, c_skip, c_out, x
        mask = video_cond.mask  # [B, 1, T, 1, 1]
        # per-frame noise level: conditioning frames sit at sigma_aug, the rest at sigma; the level the
        # network is told is at least AUG_SIGMA_FLOOR (aug 0 = clean frames would put log(0) = -inf in
        # c_noise and the whole video would come out NaN); the frames themselves stay as given
        aug = video_cond.aug_sigma.to(x.dtype).clamp(min=AUG_SIGMA_FLOOR)
        s = torch.where(mask, aug.view(B, 1, 1, 1, 1), sigma.view(B, 1, 1, 1, 1))
        s = s.expand(B, 1, T, 1, 1)  # [B, 1, T, 1, 1]
        x_in = torch.where(mask, video_cond.latent_aug.to(x.dtype), x)
        c_skip, c_out, c_in, c_noise = self.scalings(s)
        cond = dict(cond)
        cond["cond_mask"] = mask
        return c_in * x_in, c_noise[:, 0, :, 0, 0], cond, c_skip, c_out, x_in  # c_noise [B, T]

    def forward(self, x: torch.Tensor, sigma: torch.Tensor, cond: dict,
                video_cond: VideoCondition | None = None) -> torch.Tensor:
        """Denoised estimate of x0 from `x` [B, C, T, H, W] at noise level `sigma` ([B] or scalar)."""
        A = self.anchor(x, video_cond)
        net_in, c_noise, cond, c_skip, c_out, x_in = self._inputs(x - A, sigma, cond, video_cond)
        out = self.net(net_in, c_noise, cond)
        denoised = A + c_skip * x_in + c_out * out.to(x.dtype)
        if video_cond is not None:
            denoised = torch.where(video_cond.mask, video_cond.latent.to(x.dtype), denoised)
        return denoised

    def sample_sigma(self, batch: int, generator: torch.Generator | None = None, device=None) -> torch.Tensor:
        """Training noise levels: log-normal (= logit-normal t for rectified flow), with a
        `high_sigma_fraction` share log-uniform in [mean_sigma / 3, sigma_max] (no extra random
        draws when that share is 0, so older runs reproduce exactly)."""
        z = randn(batch, generator, device)
        sigma = (self.cfg.p_mean + self.cfg.p_std * z).exp()
        f = self.cfg.high_sigma_fraction
        if f > 0:
            gen_device = generator.device if generator is not None else device
            u = torch.rand(2, batch, generator=generator, device=gen_device).to(device)
            lo, hi = math.log(self.cfg.mean_sigma / 3), math.log(self.cfg.sigma_max)
            sigma = torch.where(u[0] < f, (lo + (hi - lo) * u[1]).exp(), sigma)
        return sigma

    def sample_read(self, batch: int, generator: torch.Generator | None = None, device=None) -> torch.Tensor | None:
        """Which training samples are the posterior-mean read ([B] bool): a `read_fraction` share;
        None (and no random draw, so older runs reproduce exactly) when that share is 0."""
        f = self.cfg.read_fraction
        if f <= 0:
            return None
        gen_device = generator.device if generator is not None else device
        return (torch.rand(batch, generator=generator, device=gen_device) < f).to(device)

    def training_condition(self, x0: torch.Tensor, generator: torch.Generator | None = None,
                           num_cond_frames: int | torch.Tensor | None = None,
                           still_bank: torch.Tensor | None = None) -> VideoCondition:
        """Random conditioning for a training batch: frames from `cond_frame_choices`, log-normal sigma_aug.
        `still_bank` [B, S, C, T, H, W] (`still_latents`): each sample's still latent for `anchor="still"`."""
        B, T, dev = x0.shape[0], x0.shape[2], x0.device
        if num_cond_frames is None:
            num_cond_frames = sample_num_cond_frames(B, tuple(self.cfg.cond_frame_choices), T, generator, dev)
        aug = sample_aug_sigma(B, self.cfg.aug_p_mean, self.cfg.aug_p_std, self.cfg.aug_sigma_max, generator, dev)
        vc = VideoCondition.build(x0, num_cond_frames, aug_sigma=aug, generator=generator)
        if still_bank is not None:
            vc.still = pick_still(still_bank.to(x0.dtype), vc.num_frames)
        return vc

    def loss(self, x0: torch.Tensor, cond: dict, generator: torch.Generator | None = None,
             num_cond_frames: int | torch.Tensor | None = None) -> tuple[torch.Tensor, dict]:
        """Training loss for clean latents `x0` [B, C, T, H, W] and text `cond`.

        Samples sigma, noise, conditioning frames (0 / 1 / several per sample unless
        `num_cond_frames` is given), sigma_aug and text dropout. Returns (scalar loss, info)
        with info["per_sample"] [B] and info["sigma"] [B]. With `anchor="still"`,
        cond["still"] [B, S, C, T, H, W] holds each sample's `still_latents` (S >= the most
        conditioning frames drawn).
        """
        B = x0.shape[0]
        cond = dict(cond)
        still_bank = cond.pop("still", None)
        if self.cfg.anchor == "still" and still_bank is None:
            raise ValueError("anchor='still': the training batch needs cond['still'] (still_latents of each clip)")
        sigma = self.sample_sigma(B, generator, x0.device).to(x0.dtype)  # [B]
        read = self.sample_read(B, generator, x0.device)  # [B] bool, or None (no extra draws)
        if read is not None:
            sigma = torch.where(read, torch.full_like(sigma, self.cfg.mean_sigma), sigma)
        noise = randn(x0.shape, generator, x0.device, x0.dtype)
        x_noisy = x0 + sigma.view(B, 1, 1, 1, 1) * noise
        video_cond = self.training_condition(x0, generator, num_cond_frames,
                                             still_bank if self.cfg.anchor == "still" else None)
        cond = drop_text(cond, self.cfg.text_dropout, generator)
        A = self.anchor(x0, video_cond)
        x_rel = x_noisy - A
        if read is not None:  # the read: the anchor itself, exactly as `sampler="mean"` feeds it
            x_rel = torch.where(read.view(B, 1, 1, 1, 1), torch.zeros_like(x_rel), x_rel)
        net_in, c_noise, cond, c_skip, c_out, x_in = self._inputs(x_rel, sigma, cond, video_cond)
        out = self.net(net_in, c_noise, cond).float()
        target = ((x0 - A - c_skip * x_in) / c_out).float()
        sq = (out - target).pow(2)  # [B, C, T, H, W]
        if read is not None and self.cfg.read_loss == "l1":
            sq = torch.where(read.view(B, 1, 1, 1, 1), (out - target).abs(), sq)
        if self.cfg.motion_weight > 0:
            w = motion_weights(x0, self.cfg.motion_weight)  # [B, 1, T, H, W], mean 1 per frame
            sq = sq * w
        err = sq.mean(dim=(1, 3, 4))  # [B, T]
        gen_mask = ~video_cond.mask[:, 0, :, 0, 0]  # [B, T]: True on generated frames
        err = torch.where(gen_mask, err, torch.zeros_like(err))  # never 0 * inf on conditioning frames
        gen = gen_mask.float()
        per_sample = (err * gen).sum(dim=1) / gen.sum(dim=1).clamp(min=1)  # [B]
        loss = (err * gen).sum() / gen.sum().clamp(min=1)
        return loss, {"per_sample": per_sample.detach(), "sigma": sigma.detach(),
                      "num_cond_frames": video_cond.num_frames.detach()}

    # ------------------------------------------------------------------------------------
    # A world-model checkpoint: the net's directory plus diffusion.json (the formulation)

    def save_pretrained(self, directory: str | os.PathLike) -> None:
        """Save the network (`config.json`, `model.safetensors`) and `diffusion.json`."""
        self.net.save_pretrained(directory)
        atomic_write_json(os.path.join(directory, DIFFUSION_CONFIG_NAME), to_dict(self.cfg))

    @classmethod
    def from_pretrained(cls, directory: str | os.PathLike, device: str | torch.device = "cpu") -> "Denoiser":
        """Load a DiT world model saved by `save_pretrained`."""
        from ..models.dit import DiT

        net = DiT.from_pretrained(directory, device=device)
        path = os.path.join(directory, DIFFUSION_CONFIG_NAME)
        cfg = from_dict(DiffusionConfig, read_json(path, "diffusion config"), where=path)
        if cfg.formulation not in ("edm", "rf"):
            raise WorldsmithError(f"{path}: formulation must be 'edm' or 'rf', got {cfg.formulation!r}")
        if cfg.anchor not in ANCHORS:
            raise WorldsmithError(f"{path}: anchor must be one of {', '.join(ANCHORS)}, got {cfg.anchor!r}")
        return cls(net, cfg)
