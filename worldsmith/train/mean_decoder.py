"""A decoder fine-tuned on a world model's own posterior-mean latents (`--task mean-decoder`).

The shipped world model is read through its one-pass posterior mean E[z_future | past] and
rendered by residual decoding (`inference/residual.py`): the last known frame plus
D(z) - D(E(still)). A mean in latent space is not the latent of any image: averaged over the
futures the model is unsure of, it decodes off the tokenizer's manifold, to dull, speckled
colours, so objects that barely move lose their colour mask (BENCHMARKS.md, "Why fall trails
copy-last on mask IoU"). This task teaches a copy of the tokenizer's decoder, D', to render the
model's own mean latents: with the world model and the tokenizer frozen, it builds pairs
(the mean latent the model predicts for a clip from its first K frames, the clip's true
frames) and fine-tunes D' so that what residual decoding then shows,

    last known frame + D'(z_mean) - D(E(still)),

matches the true future frames under squared error. D' learns E[frames | mean latent] in
pixel space, where an uncertain latent then decodes to a proper pixel average (an object's
own colour where the model is sure of it) instead of off-manifold colours. The reference
D(E(still)) keeps the tokenizer's own decoder, so what does not move still cancels exactly.

Pairs come from clips the world model did not train on (pass a freshly simulated dataset):
on its training clips its means are more certain than on new ones, and D' would learn to
decode confidence the model does not have at test time. They are computed once, in shards
under `data.pair_cache` (resumable, atomic), then training reads them from memory.

The result is `mean_decoder.safetensors` (the decoder's weights, fp32) plus
`mean_decoder.json` (the tokenizer's fingerprint, the world model's, how it was trained);
`scripts/ship_model.py --mean-decoder DIR` copies both into a world-model directory, whose
`world_model.json` then names it, and `WorldPipeline` uses it for the posterior mean with
residual decoding (the only reading it was trained for).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np
import torch
import torch.nn as nn

from ..tokenizer.losses import discriminator_state, load_discriminator_state
from ..utils import config as cfgutil
from ..utils.atomic import atomic_path, atomic_write_json
from ..utils.errors import WorldsmithError
from ..utils.progress import progress
from .config import OptimConfig, TrainConfig
from .task import Task

log = logging.getLogger(__name__)

WEIGHTS, META = "mean_decoder.safetensors", "mean_decoder.json"


@dataclass
class MeanDecoderDataConfig:
    """The clips the pairs are built from, and where the pairs are kept."""

    root: str = ""
    """Clip dataset (33-frame clips at the model's size) the world model did not train on."""
    pair_cache: str = ""
    """Directory of the pair shards (default: OUT/pairs); re-running reuses finished shards."""
    cond_frames: tuple[int, ...] = (9, 9, 1)
    """Conditioning frames of each pair, cycled over the clips (9, 9, 1: two clips in three at
    K = 9, the benchmark's headline setting, one at K = 1)."""
    max_clips: int = 0
    """Use at most this many training clips (0 = all)."""
    val_clips: int = 24
    """Held-out clips (the dataset's val split) scored during training."""
    shard_clips: int = 64
    """Clips per pair shard (one progress step each, written atomically)."""
    batch_size: int = 16
    """Clips per world-model pass while building pairs."""


@dataclass
class MeanDecoderTrainConfig:
    """A complete mean-decoder run: the world model it serves, the data, the trainer."""

    init: str = ""
    """The world-model directory whose posterior means the decoder learns (world_model.json)."""
    data: MeanDecoderDataConfig = field(default_factory=MeanDecoderDataConfig)
    future_only: bool = True
    """Loss on the generated frames only (residual decoding shows the known frames as given)."""
    loss: str = "mse"
    """"mse": D' learns the pixel mean E[frames | mean latent] (highest PSNR; where the model is
    unsure whether an object moved, a blend of object and background); "l1": the per-pixel
    median, which for "object here or background" takes whichever is likelier instead of the
    blend, so colours stay committed (what colour-mask IoU and SSIM reward)."""
    adversarial: float = 0.0
    """Weight of a per-frame PatchGAN term (hinge; the tokenizer's `PatchDiscriminator`) on the
    generated frames, real = the targets: pushes D' to render an uncertain object as a whole
    object somewhere plausible instead of a faded blend (0 = off)."""
    disc_lr: float = 2e-4
    train: TrainConfig = field(default_factory=lambda: TrainConfig(
        steps=100_000, batch_size=4, optim=OptimConfig(lr=1e-4, warmup_steps=50, grad_clip=0.1,
                                                       schedule="time"),
        ema_decay=0.99, eval_every=300, sample_every=0, ckpt_every=300, tensorboard=False,
        max_minutes=20.0))
    """A small learning rate (the decoder starts from the tokenizer's, which it must not
    forget), the tokenizer's 0.1 gradient clip, and a time budget with the cosine over it."""


def resolve_config(init: str, config_file: str | None = None, overrides: list[str] | None = None,
                   **fields) -> MeanDecoderTrainConfig:
    """Defaults -> file -> --set overrides -> explicit fields (init, data root, budget)."""
    cfg = cfgutil.resolve(MeanDecoderTrainConfig(init=init or ""), config_file, overrides)
    for dotted, value in fields.items():
        if value is not None:
            cfg = cfgutil.merge(cfg, cfgutil.parse_overrides([f"{dotted.replace('__', '.')}={value}"]))
    if not cfg.init:
        raise WorldsmithError("--init: the world-model directory whose means the decoder learns is required")
    if cfg.loss not in ("mse", "l1"):
        raise WorldsmithError(f"loss={cfg.loss!r}: expected mse or l1")
    if not cfg.data.cond_frames or any(k < 1 for k in cfg.data.cond_frames):
        raise WorldsmithError(f"data.cond_frames={list(cfg.data.cond_frames)}: expected conditioning frame "
                              f"counts >= 1 (1 + k * the tokenizer's temporal compression)")
    return cfg


# ---------------------------------------------------------------------------- pairs
def load_world(model_dir: str, device: str | torch.device = "cpu"):
    """The frozen WorldPipeline of `model_dir` (no guardrails, no prompt upsampling)."""
    from ..inference.pipeline import WorldPipeline

    return WorldPipeline.from_pretrained(model_dir, device=device, guardrails=None, upsample=False)


@torch.no_grad()
def mean_pairs(pipe, videos_BCTHW: torch.Tensor, captions: list[str], K: int) -> dict[str, np.ndarray]:
    """One batch of pairs: the model's posterior-mean latent of each clip from its first K frames
    (exactly as `WorldPipeline(sampler="mean")` reads it) and the target D' must decode it to.

    Returns {"latent": float16 [B, C, L, h, w], "target": float16 [B, 3, T, H, W]}: the true
    frames, and from frame K on the true frame minus the last known one plus the reference
    D(E(still)), so that residual decoding with D' reproduces the truth (clamped to [-1, 1], the
    range `decode` clamps to)."""
    from ..diffusion.generate import MEAN_SAMPLER, generate, sampling_plan

    x = videos_BCTHW.to(pipe.device).float()
    B, _, T, _, _ = x.shape
    C, L, h, w = pipe.meta["latent_shape"]
    if T != 1 + (L - 1) * pipe.temporal_compression:
        raise WorldsmithError(f"pairs: clips of {T} frames; the model predicts {1 + (L - 1) * pipe.temporal_compression}")
    known = x[:, :, :K]
    cond_latent = pipe.tokenizer.encode(known).float()  # [B, C, k, h, w]
    still_x = torch.cat([known, known[:, :, -1:].expand(-1, -1, T - K, -1, -1)], dim=2)
    still = pipe.tokenizer.encode(still_x).float()  # [B, C, L, h, w]: the anchor and the reference
    hidden, mask = pipe.text_encoder.encode_tokens(captions)
    cond = {"text": hidden.to(pipe.device), "text_mask": mask.to(pipe.device)}
    plan = sampling_plan(pipe.denoiser, MEAN_SAMPLER, 1)
    z = generate(pipe.denoiser, (B, C, L, h, w), cond, cond_latent=cond_latent,
                 num_cond_frames=cond_latent.shape[2], steps=plan["steps"], sampler=plan["sampler"],
                 guidance=0.0, seed=0, sigma_max=plan["sigma_max"], init_noise=plan["init_noise"],
                 still=still if pipe.denoiser.cfg.anchor == "still" else None)
    ref = pipe.tokenizer.decode(still)  # [B, 3, T, H, W]
    target = x.clone()
    target[:, :, K:] = (x[:, :, K:] - x[:, :, K - 1:K] + ref[:, :, K:]).clamp(-1, 1)
    return {"latent": z.half().cpu().numpy(), "target": target.half().cpu().numpy()}


def build_pairs(pipe, root: str, split: str, out_dir: str, cond_frames: tuple[int, ...], *,
                max_clips: int = 0, shard_clips: int = 64, batch_size: int = 16) -> list[str]:
    """Pair shards `out_dir/<split>-NNNNN.npz` for the clips of `split` (finished shards are
    kept: re-running resumes); returns their paths."""
    from ..data import ClipDataset

    F = 1 + (pipe.meta["latent_shape"][1] - 1) * pipe.temporal_compression
    for K in cond_frames:
        pipe._latent_frames(K, "data.cond_frames")
        if K >= F:
            raise WorldsmithError(f"data.cond_frames: {K} must be fewer than the model's {F} frames")
    ds = ClipDataset(root, split=split, num_frames=F, size=int(pipe.meta["size"]), shuffle=False,
                     arrays=(), loop=False)
    n = min(ds.num_clips, max_clips) if max_clips else ds.num_clips
    _check_cache(out_dir, pipe, root, cond_frames, shard_clips)
    paths, shard, items = [], 0, []
    it = iter(ds)
    total = (n + shard_clips - 1) // shard_clips
    with progress(total=total, desc=f"mean pairs ({split})", unit="shard") as bar:
        done = False
        while not done:
            path = os.path.join(out_dir, f"{split}-{shard:05d}.npz")
            items = []
            for item in it:
                items.append(item)
                if len(items) >= shard_clips or shard * shard_clips + len(items) >= n:
                    break
            done = not items or len(items) < shard_clips or (shard + 1) * shard_clips >= n
            if not items:
                break
            if not os.path.isfile(path):
                lat, tgt, ks = [], [], []
                for i in range(0, len(items), batch_size):
                    chunk = items[i:i + batch_size]
                    # one K per clip, cycled by the clip's index in the split (stable across resumes)
                    by_k: dict[int, list[int]] = {}
                    for j in range(len(chunk)):
                        by_k.setdefault(cond_frames[(shard * shard_clips + i + j) % len(cond_frames)], []).append(j)
                    for K, idx in by_k.items():
                        v = torch.stack([chunk[j]["video"] for j in idx])
                        p = mean_pairs(pipe, v, [chunk[j].get("caption") or "a physical scene" for j in idx], K)
                        lat.append(p["latent"]), tgt.append(p["target"]), ks.append(np.full(len(idx), K, np.int16))
                with atomic_path(path) as tmp:
                    with open(tmp, "wb") as f:
                        np.savez(f, latent=np.concatenate(lat), target=np.concatenate(tgt), K=np.concatenate(ks))
            paths.append(path)
            shard += 1
            bar.update(1)
    if not paths:
        raise WorldsmithError(f"{root}: split {split!r} gave no clips for mean-decoder pairs")
    return paths


def _check_cache(out_dir: str, pipe, root: str, cond_frames: tuple[int, ...], shard_clips: int) -> None:
    """Create the pair cache's `pairs.json` (which model, data and settings its shards hold), or
    check that an existing one matches: shards of another model or setting must not be reused."""
    from ..utils.errors import read_json
    from ..utils.fingerprint import module_fingerprint

    want = {"world_model_fingerprint": module_fingerprint(pipe.denoiser, half=True),
            "tokenizer_fingerprint": pipe.tokenizer.fingerprint(),
            "data": os.path.abspath(root), "cond_frames": list(cond_frames), "shard_clips": int(shard_clips)}
    path = os.path.join(out_dir, "pairs.json")
    if os.path.isfile(path):
        have = read_json(path, "pair cache pairs.json")
        diff = sorted(k for k in want if have.get(k) != want[k])
        if diff:
            raise WorldsmithError(f"data.pair_cache {out_dir}: built for another {', '.join(diff)}; "
                                  f"use a new directory (or delete it)")
        return
    os.makedirs(out_dir, exist_ok=True)
    atomic_write_json(path, want)


def load_pairs(paths: list[str]) -> dict[str, torch.Tensor]:
    """All pairs of `paths` in memory: latent [N, C, L, h, w], target [N, 3, T, H, W] (fp16), K [N]."""
    parts: dict[str, list] = {"latent": [], "target": [], "K": []}
    for p in paths:
        try:
            with np.load(p) as z:
                for k in parts:
                    parts[k].append(torch.from_numpy(z[k]))
        except Exception as e:
            raise WorldsmithError(f"{p}: unreadable pair shard ({type(e).__name__}: {e}); delete it and re-run") from None
    return {k: torch.cat(v) for k, v in parts.items()}


class _PairBatches:
    """Endless deterministic batches of pair indices (an epoch is a seeded permutation); resumable."""

    def __init__(self, pairs: dict, batch_size: int, seed: int, rank: int = 0, world: int = 1):
        self.pairs, self.batch_size, self.seed = pairs, batch_size, seed
        self.rank, self.world = rank, world
        self.epoch, self.pos = 0, 0
        self._perm = self._permutation()

    def _permutation(self) -> torch.Tensor:
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        n = len(self.pairs["K"])
        return torch.randperm(n, generator=g)[self.rank::self.world]

    def __iter__(self):
        return self

    def __next__(self) -> dict:
        idx = []
        while len(idx) < self.batch_size:
            if self.pos >= len(self._perm):
                self.epoch, self.pos = self.epoch + 1, 0
                self._perm = self._permutation()
            idx.append(int(self._perm[self.pos]))
            self.pos += 1
        i = torch.tensor(idx)
        return {"latent": self.pairs["latent"][i].float(), "target": self.pairs["target"][i].float(),
                "K": self.pairs["K"][i].long()}

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "pos": self.pos}

    def load_state_dict(self, state: dict) -> None:
        self.epoch, self.pos = int(state["epoch"]), int(state["pos"])
        self._perm = self._permutation()


def _future_mask(K: torch.Tensor, T: int) -> torch.Tensor:
    """[B, 1, T, 1, 1] float: 1 on frames >= K (the generated ones)."""
    t = torch.arange(T, device=K.device).view(1, 1, T, 1, 1)
    return (t >= K.view(-1, 1, 1, 1, 1)).float()


def decode_normalised(tokenizer: nn.Module, z: torch.Tensor) -> torch.Tensor:
    """The tokenizer's `decode` without `no_grad` and without the final clamp (for training)."""
    return tokenizer.decode_latent(tokenizer.denormalise(z).to(tokenizer.latent_std.dtype))


# ---------------------------------------------------------------------------- the task
class MeanDecoderTask(Task):
    """Fine-tune a copy of the tokenizer's decoder on (posterior-mean latent, target) pairs."""

    def __init__(self, cfg: MeanDecoderTrainConfig, out_dir: str, pipe=None):
        """`pipe`: the --init model's WorldPipeline when already loaded (else loaded on first use)."""
        self.cfg, self.out_dir = cfg, os.fspath(out_dir)
        self._pipe = pipe
        self._pairs: dict | None = None
        self._val: dict | None = None
        self._baseline: dict | None = None
        self.disc = self.disc_opt = None
        if cfg.adversarial > 0:
            from ..tokenizer.losses import PatchDiscriminator

            self.disc = PatchDiscriminator(3)
            self.disc_opt = torch.optim.AdamW(self.disc.parameters(), lr=cfg.disc_lr, betas=(0.5, 0.9))

    @property
    def pipe(self):
        if self._pipe is None:
            self._pipe = load_world(self.cfg.init)
        return self._pipe

    def config_dict(self) -> dict:
        d = cfgutil.to_dict(self.cfg)
        d.pop("train")
        return d

    def _pair_dir(self) -> str:
        return self.cfg.data.pair_cache or os.path.join(self.out_dir, "pairs")

    def _load(self, split: str) -> dict:
        d = self.cfg.data
        if not d.root:
            raise WorldsmithError("--data: a clip dataset directory is required")
        paths = build_pairs(self.pipe, d.root, split, self._pair_dir(), tuple(d.cond_frames),
                            max_clips=d.max_clips if split == "train" else d.val_clips,
                            shard_clips=d.shard_clips, batch_size=d.batch_size)
        return load_pairs(paths)

    def prepare(self) -> None:
        """Build (or reuse) the training and held-out pairs before the clock starts."""
        if self._pairs is None:
            self._pairs = self._load("train")
        if self._val is None:
            try:
                self._val = self._load("val")
            except WorldsmithError as e:
                log.warning("no held-out evaluation: %s", e)
                self._val = {}

    def build_model(self) -> nn.Module:
        import copy

        tok = copy.deepcopy(self.pipe.tokenizer).float()
        for p in tok.parameters():
            p.requires_grad_(False)
        for p in tok.decoder.parameters():
            p.requires_grad_(True)
        return tok

    def param_groups(self, model):
        return [{"params": [p for p in model.decoder.parameters() if p.requires_grad], "lr_mult": 1.0}]

    def train_batches(self, seed: int, rank: int = 0, world_size: int = 1) -> Iterator[dict]:
        self.prepare()
        return _PairBatches(self._pairs, self.cfg.train.batch_size, seed, rank, world_size)

    def loss(self, model, batch, step):
        y = decode_normalised(model, batch["latent"])  # [B, 3, T, H, W]
        tgt = batch["target"]
        w = _future_mask(batch["K"], tgt.shape[2]) if self.cfg.future_only else torch.ones_like(tgt[:, :1])
        err = ((y - tgt).square() if self.cfg.loss == "mse" else (y - tgt).abs()) * w
        loss = err.sum() / (w.sum() * tgt.shape[1] * tgt.shape[3] * tgt.shape[4]).clamp_min(1)
        logs = {"recon": float(loss.detach())}
        if self.disc is not None:
            loss = loss + self.cfg.adversarial * self._adversarial(y, tgt, batch["K"], logs)
        logs["loss"] = float(loss.detach())
        return loss, logs

    def _adversarial(self, y: torch.Tensor, tgt: torch.Tensor, K: torch.Tensor, logs: dict) -> torch.Tensor:
        """One discriminator step on the generated frames (targets real, D' output fake), then the
        generator's hinge term."""
        from ..tokenizer.losses import hinge_d_loss

        self.disc.to(y.device)
        k = int(K.max())  # frames every clip of the batch generated
        real, fake = tgt[:, :, k:], y[:, :, k:].clamp(-1, 1)
        self.disc_opt.zero_grad(set_to_none=True)
        d_loss = hinge_d_loss(self.disc(real), self.disc(fake.detach()))
        d_loss.backward()
        self.disc_opt.step()
        for p in self.disc.parameters():
            p.requires_grad_(False)
        g_loss = -self.disc(fake).mean()
        for p in self.disc.parameters():
            p.requires_grad_(True)
        logs.update(d_loss=float(d_loss.detach()), g_loss=float(g_loss.detach()))
        return g_loss

    def state_dict(self) -> dict:
        return discriminator_state(self.disc, self.disc_opt)

    def load_state_dict(self, state: dict) -> None:
        load_discriminator_state(self.disc, self.disc_opt, state)

    def compile_model(self, model):
        model.decoder = torch.compile(model.decoder, dynamic=False)
        return model

    @torch.no_grad()
    def _score(self, decoder_model, val: dict) -> dict[str, float]:
        """PSNR / SSIM on the held-out generated frames of what residual decoding shows with this
        decoder (no dead zone): last known + D'(z) - ref = D'(z) + (truth - target) there."""
        from ..eval.metrics import psnr, ssim

        ps, ss = [], []
        dev = next(decoder_model.parameters()).device
        for i in range(0, len(val["K"]), 8):
            z, tgt, K = val["latent"][i:i + 8].float().to(dev), val["target"][i:i + 8].float(), val["K"][i:i + 8]
            y = decode_normalised(decoder_model, z).clamp(-1, 1).cpu()
            for j in range(len(K)):
                k = int(K[j])
                a, b = _u8(y[j, :, k:]), _u8(tgt[j, :, k:])
                ps.append(psnr(a, b))
                ss.append(ssim(a.transpose(0, 1), b.transpose(0, 1), layout="chw"))
        return {"val_psnr_vs_target": float(np.mean(ps)), "val_ssim_vs_target": float(np.mean(ss))}

    def evaluate(self, model, step):
        if not self._val:
            return {}
        out = self._score(model, self._val)
        if self._baseline is None:  # the tokenizer's own decoder on the same pairs, once
            self._baseline = {k.replace("val_", "val_tokenizer_"): v
                              for k, v in self._score(self.pipe.tokenizer, self._val).items()}
        return {**out, **self._baseline}

    def export(self, model, out_dir: str) -> None:
        from safetensors.torch import save_file

        os.makedirs(out_dir, exist_ok=True)
        state = {k: v.detach().float().contiguous().cpu() for k, v in unwrap_decoder(model).state_dict().items()}
        with atomic_path(os.path.join(out_dir, WEIGHTS)) as tmp:
            save_file(state, tmp)
        atomic_write_json(os.path.join(out_dir, META), {
            "kind": "mean-decoder", "tokenizer_fingerprint": self.pipe.tokenizer.fingerprint(),
            "world_model": os.path.abspath(self.cfg.init), "cond_frames": list(self.cfg.data.cond_frames),
            "note": "decoder weights fine-tuned on this world model's posterior-mean latents; used with "
                    "sampler=mean and decode=residual"})


def unwrap_decoder(model: nn.Module) -> nn.Module:
    """The (uncompiled) decoder of a tokenizer copy."""
    dec = model.decoder
    return getattr(dec, "_orig_mod", dec)


def _u8(x: torch.Tensor) -> torch.Tensor:
    return ((x.float().clamp(-1, 1) + 1) * 127.5).round()


# ---------------------------------------------------------------------------- loading
def load_mean_decoder(model_dir: str, meta: dict, tokenizer) -> nn.Module | None:
    """The world-model directory's mean decoder as a tokenizer copy (its `decode` renders mean
    latents), or None when `world_model.json` names none. Refuses one made for another tokenizer."""
    import copy

    from safetensors.torch import load_file

    name = meta.get("mean_decoder")
    if not name:
        return None
    path = os.path.join(model_dir, name)
    if not os.path.isfile(path):
        raise WorldsmithError(f"{model_dir}/world_model.json names mean_decoder {name!r}, which is missing")
    info_path = os.path.join(os.path.dirname(path), META)
    if os.path.isfile(info_path):
        from ..utils.errors import read_json

        want = read_json(info_path, META).get("tokenizer_fingerprint")
        if want and want != tokenizer.fingerprint():
            raise WorldsmithError(f"{path}: made for tokenizer {want}, this model's is {tokenizer.fingerprint()}")
    dec = copy.deepcopy(tokenizer)
    try:
        state = load_file(path, device="cpu")
        dec.decoder.load_state_dict(state)  # copies into the existing tensors (their dtype)
    except Exception as e:
        raise WorldsmithError(f"{path}: not a decoder for this tokenizer ({type(e).__name__}: {e})") from None
    return dec.to(next(tokenizer.parameters()).device).eval()
