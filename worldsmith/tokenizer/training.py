"""Training a tokenizer on a clip dataset: the run config and the trainer Task.

Batches are joint: every `image_every`-th step trains on single frames (T = 1, the image
path of the causal tokenizer), the other steps on `num_frames` windows. Held-out PSNR is
measured on the dataset's validation clips at every evaluation.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Iterator

import torch
import torch.nn as nn
from einops import rearrange

from ..train.config import OptimConfig, TrainConfig
from ..train.spike_guard import SpikeGuardConfig
from ..train.task import Task
from ..utils import config as cfgutil
from ..utils.errors import WorldsmithError
from .config import TokenizerConfig, preset
from .losses import (LossConfig, PatchDiscriminator, ReconstructionLoss, discriminator_state, hinge_d_loss,
                     load_discriminator_state)
from .model import CausalVideoTokenizer

log = logging.getLogger(__name__)


@dataclass
class DataConfig:
    """Where the clips come from and how they are cut."""

    root: str = ""
    """Clip dataset directory (dataset.json + manifest.parquet + shards/)."""
    num_frames: int = 9
    """Frames per training window: 1 + k * temporal_compression (9 = 3 latent frames at 4x)."""
    size: int = 64
    """Square training resolution (resize to cover, then centre-crop)."""
    image_every: int = 4
    """Every n-th step is an image batch (T = 1); 0 = videos only."""
    crop: int = 0
    """Train on random square crops of this size (0 = whole frames); the model is
    convolutional, so it still encodes whole frames, and crops cut CPU cost per sample."""
    val_split: str = "val"
    val_clips: int = 16
    """Held-out clips used for the PSNR logged during training."""
    val_frames: int = 33
    """Frames of each held-out clip in that evaluation (1 + k * temporal_compression; 0 = the
    training window). Whole clips, as `tokenizer eval` scores them, so the logged curve is
    measured the way the held-out numbers are (on simulator clips it reads ~0.5-1 dB above a
    9-frame-window curve; BENCHMARKS.md, session 12). Shorter clips fall back to the window."""
    shuffle_buffer: int = 64
    decoded_cache_mb: float = 1024
    """Keep up to this many MiB of decoded training clips in memory, so epochs after the first
    skip the video decode (~1/3 of a CPU step on 64 px simulator clips); 0 = decode every time."""


@dataclass
class TokenizerTrainConfig:
    """A complete tokenizer training run."""

    preset: str = "cv4x8x8-tiny"
    model: TokenizerConfig = field(default_factory=TokenizerConfig)
    data: DataConfig = field(default_factory=DataConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    train: TrainConfig = field(default_factory=lambda: TrainConfig(
        steps=2000, batch_size=4, optim=OptimConfig(lr=1e-3, warmup_steps=50, grad_clip=0.1),
        ema_decay=0.995, eval_every=400, cpu_bf16=True, channels_last=True,
        spike_guard=SpikeGuardConfig(factor=4.0)))
    """The recipe of the 30-CPU-minute benchmark: small batches of short windows (more steps
    in the same time beat bigger batches on CPU), MSE with a 0.1 gradient clip, bf16 on CPUs
    that have it natively, conv weights channels-last (oneDNN's layout), and the spike guard
    (a loss 4x its running level rolls the run back 100-200 steps; from the second rollback on
    the lr is halved and climbs back: the un-normed tiny nets otherwise fall, after one gradient
    spike, to the mean-image plateau for good)."""


def resolve_config(preset_name: str, config_file: str | None = None, overrides: list[str] | None = None,
                   **fields) -> TokenizerTrainConfig:
    """Preset -> file -> --set overrides -> explicit fields (e.g. data root, steps)."""
    base = TokenizerTrainConfig(preset=preset_name, model=preset(preset_name))
    cfg = cfgutil.resolve(base, config_file, overrides)
    for dotted, value in fields.items():
        if value is not None:
            cfg = cfgutil.merge(cfg, cfgutil.parse_overrides([f"{dotted.replace('__', '.')}={value}"]))
    cfg.model.validate()
    st = cfg.model.temporal_compression
    for name in ("num_frames", "val_frames"):
        n = getattr(cfg.data, name)
        if name == "val_frames" and n == 0:  # 0 = the training window
            continue
        if n < 1 or (n - 1) % st:
            raise WorldsmithError(f"data.{name}={n}: expected 1 + k*{st} (e.g. {1 + st}, {1 + 2 * st})")
    for name in ("size", "crop"):
        if getattr(cfg.data, name) % cfg.model.spatial_compression:
            raise WorldsmithError(f"data.{name}={getattr(cfg.data, name)}: must be a multiple of "
                                  f"{cfg.model.spatial_compression}")
    return cfg


class _Batches:
    """Endless deterministic batches of videos [B, C, T, H, W] from a ClipDataset."""

    def __init__(self, dataset, batch_size: int):
        self.it, self.batch_size = iter(dataset), batch_size

    def __iter__(self):
        return self

    def __next__(self) -> torch.Tensor:
        items = [next(self.it)["video"] for _ in range(self.batch_size)]
        return torch.stack(items)  # [B, C, T, H, W]


class TokenizerTask(Task):
    """Reconstruction training of a causal tokenizer (optionally with a GAN term)."""

    def __init__(self, cfg: TokenizerTrainConfig, perceptual=None):
        self.cfg = cfg
        self.criterion = ReconstructionLoss(cfg.loss, perceptual)
        self.disc = self.disc_opt = None
        if cfg.loss.adversarial > 0:
            self.disc = PatchDiscriminator(cfg.model.in_channels)
            self.disc_opt = torch.optim.AdamW(self.disc.parameters(), lr=cfg.loss.disc_lr, betas=(0.5, 0.9))
        self._val: torch.Tensor | None = None
        self._best_psnr = float("-inf")  # best held-out PSNR so far, to notice a collapse

    def config_dict(self) -> dict:
        d = cfgutil.to_dict(self.cfg)
        d.pop("train")
        return d

    def build_model(self) -> nn.Module:
        return CausalVideoTokenizer(self.cfg.model)

    def _dataset(self, split: str, seed: int, shuffle: bool, loop: bool, rank=None, world=None,
                 cache_mb: float = 0.0, num_frames: int = 0):
        from ..data import ClipDataset

        d = self.cfg.data
        if not d.root:
            raise WorldsmithError("--data: a clip dataset directory is required")
        return ClipDataset(d.root, split=split, num_frames=num_frames or d.num_frames, size=d.size, shuffle=shuffle,
                           shuffle_buffer=d.shuffle_buffer, seed=seed, arrays=(), loop=loop,
                           rank=rank, world_size=world, decoded_cache_mb=cache_mb)

    def train_batches(self, seed: int, rank: int = 0, world_size: int = 1) -> Iterator[torch.Tensor]:
        ds = self._dataset("train", seed, shuffle=True, loop=True, rank=rank, world=world_size,
                           cache_mb=self.cfg.data.decoded_cache_mb)
        return _Batches(ds, self.cfg.train.batch_size)

    def _as_images(self, x_BCTHW: torch.Tensor, step: int) -> torch.Tensor:
        g = torch.Generator().manual_seed(step)
        t = torch.randint(0, x_BCTHW.shape[2], (x_BCTHW.shape[0],), generator=g)
        return x_BCTHW[torch.arange(x_BCTHW.shape[0]), :, t].unsqueeze(2)  # [B, C, 1, H, W]

    def _crop(self, x_BCTHW: torch.Tensor, step: int) -> torch.Tensor:
        c = self.cfg.data.crop
        h, w = x_BCTHW.shape[-2:]
        if not c or c >= min(h, w):
            return x_BCTHW
        g = torch.Generator().manual_seed(10_000_019 + step)
        s = self.cfg.model.spatial_compression  # crop on the latent grid
        y0 = int(torch.randint(0, (h - c) // s + 1, (1,), generator=g)) * s
        x0 = int(torch.randint(0, (w - c) // s + 1, (1,), generator=g)) * s
        return x_BCTHW[..., y0:y0 + c, x0:x0 + c]

    def loss(self, model, batch, step):
        x = self._crop(batch, step)
        n = self.cfg.data.image_every
        if n and step % n == n - 1:
            x = self._as_images(x, step)
        recon, _ = model(x)
        loss, logs = self.criterion(recon, x)
        if self.disc is not None and step >= self.cfg.loss.adversarial_start:
            loss, logs = self._adversarial(loss, logs, recon, x)
        return loss, logs

    def _adversarial(self, loss, logs, recon, x):
        self.disc.to(x.device)
        self.disc_opt.zero_grad(set_to_none=True)
        d_loss = hinge_d_loss(self.disc(x), self.disc(recon.detach()))
        d_loss.backward()
        self.disc_opt.step()
        g_loss = -self.disc(recon).mean()
        logs.update(d_loss=float(d_loss.detach()), g_loss=float(g_loss.detach()))
        return loss + self.cfg.loss.adversarial * g_loss, logs

    def state_dict(self) -> dict:
        return discriminator_state(self.disc, self.disc_opt)

    def load_state_dict(self, state: dict) -> None:
        load_discriminator_state(self.disc, self.disc_opt, state)

    # ------------------------------------------------------------------ evaluation
    def _val_videos(self) -> torch.Tensor | None:
        if self._val is None:
            d = self.cfg.data
            try:
                try:
                    ds = self._dataset(d.val_split, 0, shuffle=False, loop=False, rank=0, world=1,
                                       num_frames=d.val_frames)
                except WorldsmithError as e:  # e.g. held-out clips shorter than val_frames
                    if d.val_frames in (0, d.num_frames):
                        raise
                    log.warning("held-out evaluation on %d-frame windows instead of %d: %s",
                                d.num_frames, d.val_frames, e)
                    ds = self._dataset(d.val_split, 0, shuffle=False, loop=False, rank=0, world=1)
            except WorldsmithError as e:
                log.warning("no held-out evaluation: %s", e)
                self._val = torch.empty(0)
                return None
            vids = []
            for item in ds:
                vids.append(item["video"])
                if len(vids) >= self.cfg.data.val_clips:
                    break
            self._val = torch.stack(vids) if vids else torch.empty(0)
        return self._val if self._val.numel() else None

    def evaluate(self, model, step):
        """PSNR / SSIM of reconstructions of the held-out clips (uint8 scale)."""
        from ..eval.metrics import psnr, ssim

        vids = self._val_videos()
        if vids is None:
            return {}
        dev = next(model.parameters()).device
        p, s = [], []
        for i in range(0, len(vids), 4):
            x = vids[i:i + 4].to(dev)
            recon = model.decode_latent(_maybe_quantise(model, model.encode_latent(x))).clamp(-1, 1)
            a, b = _to_uint8(recon), _to_uint8(x)
            p += [psnr(a[j], b[j]) for j in range(len(a))]
            s += [ssim(a[j].transpose(0, 1), b[j].transpose(0, 1), layout="chw") for j in range(len(a))]
        out = {"val_psnr": sum(p) / len(p), "val_ssim": sum(s) / len(s)}
        msg = collapse_warning(self._best_psnr, out["val_psnr"], step)
        if msg:
            log.warning(msg)
        self._best_psnr = max(self._best_psnr, out["val_psnr"])
        return out

    def log_samples(self, model, batch, writer, step):
        if writer is None:
            return
        with torch.no_grad():
            x = batch[:2]
            recon = model.decode_latent(_maybe_quantise(model, model.encode_latent(x))).clamp(-1, 1)
        # one image per clip: truth frames in the top row, reconstructions below
        grid = rearrange(torch.cat([x, recon], dim=3), "b c t h w -> b c h (t w)")  # [B, C, 2H, T*W]
        writer.add_images("samples/truth_over_recon", grid.add(1).div(2).clamp(0, 1).float().cpu(), step)

    def finalize(self, model) -> None:
        """Set the CV latent statistics (per-channel mean/std) from training batches."""
        if model.cfg.kind != "cv":
            return
        it = self.train_batches(seed=12345)
        dev = next(model.parameters()).device
        zs = []
        with torch.no_grad():
            for _ in range(max(1, 32 // self.cfg.train.batch_size)):
                zs.append(model.encode_latent(next(it).to(dev)).transpose(0, 1).flatten(1))  # [C, N]
        z = torch.cat(zs, dim=1)
        model.latent_mean.copy_(z.mean(1))
        model.latent_std.copy_(z.std(1).clamp_min(1e-4))


COLLAPSE_DROP_DB, PLATEAU_DB, PLATEAU_AFTER = 5.0, 16.0, 1000


def collapse_warning(best: float, current: float, step: int) -> str | None:
    """A warning when held-out PSNR has collapsed, else None.

    The un-normed tiny presets can fall, after one gradient spike, to the mean-image plateau
    (~12-16 dB on simulator clips) and never leave it; seen at lr 2e-3, at width 96 with lr 1e-3,
    with torch.compile and with fewer image batches (BENCHMARKS.md, sessions 12-13). Say so
    instead of letting the rest of the run train a dead net."""
    # resuming would not help: it restarts from the latest (dead) checkpoint with its saved lr
    hint = ("it will not recover; stop it and start again in a new --out with the spike guard on "
            "(--set train.spike_guard.factor=4, the default), a lower --set train.optim.lr or "
            "--set model.norm=rms (slower per step, sturdier)")
    if current < best - COLLAPSE_DROP_DB:
        return (f"step {step}: held-out PSNR fell from {best:.1f} to {current:.1f} dB, the net has "
                f"collapsed (a gradient spike); {hint}")
    if step >= PLATEAU_AFTER and current < PLATEAU_DB and best < PLATEAU_DB:
        return (f"step {step}: held-out PSNR is still {current:.1f} dB, the mean-image plateau: the net "
                f"collapsed early or is not learning; {hint}")
    return None


def _maybe_quantise(model, z):
    return model.fsq(z)[0] if model.fsq is not None else z


def _to_uint8(x_BCTHW: torch.Tensor) -> torch.Tensor:
    return ((x_BCTHW.float().clamp(-1, 1) + 1) * 127.5).round().cpu()

