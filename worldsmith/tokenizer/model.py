"""The causal video tokenizer: Haar patching -> causal encoder -> latent (CV) or FSQ tokens (DV)
-> causal decoder -> inverse Haar.

Shapes for a `B x 3 x (1 + k*s_t) x H x W` video in [-1, 1] (s = spatial compression):
    patch     -> [B, 3*64, 1 + k*s_t/4, H/4, W/4]       (2-level 3D Haar, frame 0 alone)
    encoder   -> [B, z, 1 + k, H/s, W/s]                (z = 16 latent channels or FSQ dims)
    CV: `encode` returns the latent normalised with per-channel statistics (for diffusion)
    DV: `encode` returns int64 token indices [B, 1 + k, H/s, W/s] (for an AR model)
`decode` inverts `encode`. Images are videos with T = 1.
"""

from __future__ import annotations

import json
import os

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

from ..utils import config as cfgutil
from ..utils.atomic import atomic_path, atomic_write_json
from ..utils.errors import WorldsmithError, require_dir
from .config import TokenizerConfig
from .fsq import FSQ
from .layers import (CausalConv3d, HaarPatcher3d, ResBlock, SpatialAttention,
                     SpatialDownsample, SpatialUpsample, TemporalDownsample, TemporalUpsample,
                     channel_mean, make_norm, set_streaming)


def _widths(cfg: TokenizerConfig) -> list[int]:
    return [cfg.channels * m for m in cfg.channel_mult[: cfg.num_levels]]


def _mid(dim: int, attention: bool, norm: str) -> nn.Sequential:
    layers = [ResBlock(dim, dim, norm)]
    if attention:
        layers += [SpatialAttention(dim), ResBlock(dim, dim, norm)]
    return nn.Sequential(*layers)


class Encoder(nn.Module):
    """Patched video -> latent, downsampling level by level (spatial/temporal as configured)."""

    def __init__(self, cfg: TokenizerConfig):
        super().__init__()
        widths = _widths(cfg)
        # pointwise: the Haar bands already hold each 4x4x4 neighbourhood (a 3x3x3 conv here
        # on 192 channels would cost more than the rest of the encoder on CPU)
        self.conv_in = nn.Conv3d(cfg.in_channels * cfg.patch_size ** 3, widths[0], 1)
        blocks: list[nn.Module] = []
        cin = widths[0]
        for i, w in enumerate(widths):
            for _ in range(cfg.num_res_blocks):
                blocks.append(ResBlock(cin, w, cfg.norm))
                cin = w
            if i < len(widths) - 1:
                if i < cfg.spatial_downs:
                    blocks.append(SpatialDownsample(w, w, cfg.shortcuts))
                if i < cfg.temporal_downs:
                    blocks.append(TemporalDownsample(w))
        self.blocks = nn.Sequential(*blocks)
        self.mid = _mid(cin, cfg.attention, cfg.norm)
        self.norm_out = make_norm(cin, cfg.norm)
        self.conv_out = CausalConv3d(cin, cfg.z_channels)
        self.z = cfg.z_channels
        self.shortcut = cfg.shortcuts and cin % cfg.z_channels == 0  # latent = residual over a channel mean

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.mid(self.blocks(self.conv_in(x)))
        z = self.conv_out(F.silu(self.norm_out(h)))
        return z + channel_mean(h, self.z) if self.shortcut else z


class Decoder(nn.Module):
    """Latent -> patched video, upsampling level by level (mirror of the encoder)."""

    def __init__(self, cfg: TokenizerConfig):
        super().__init__()
        widths = _widths(cfg)
        cin = widths[-1]
        self.conv_in = CausalConv3d(cfg.z_channels, cin)
        self.repeat = cin // cfg.z_channels if cfg.shortcuts and cin % cfg.z_channels == 0 else 0
        self.mid = _mid(cin, cfg.attention, cfg.norm)
        blocks: list[nn.Module] = []
        for i in reversed(range(len(widths))):
            for _ in range(cfg.num_res_blocks + 1):
                blocks.append(ResBlock(cin, widths[i], cfg.norm))
                cin = widths[i]
            if i > 0:
                if i - 1 < cfg.spatial_downs:  # change width before the (costly) higher resolution
                    blocks.append(SpatialUpsample(cin, widths[i - 1], cfg.shortcuts))
                    cin = widths[i - 1]
                if i - 1 < cfg.temporal_downs:
                    blocks.append(TemporalUpsample(cin))
        self.blocks = nn.Sequential(*blocks)
        self.norm_out = make_norm(cin, cfg.norm)
        self.conv_out = nn.Conv3d(cin, cfg.in_channels * cfg.patch_size ** 3, 1)  # pointwise, see Encoder

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.conv_in(z)
        if self.repeat:  # latent -> features as a residual over repeated latent channels
            h = h + z.repeat_interleave(self.repeat, dim=1)
        h = self.blocks(self.mid(h))
        return self.conv_out(F.silu(self.norm_out(h)))


class CausalVideoTokenizer(nn.Module):
    """A temporally causal video tokenizer (continuous `cv` or discrete `dv`)."""

    def __init__(self, cfg: TokenizerConfig):
        super().__init__()
        self.cfg = cfg.validate()
        self.patcher = HaarPatcher3d(cfg.patch_size)
        self.encoder = Encoder(cfg)
        self.decoder = Decoder(cfg)
        self.fsq = FSQ(cfg.fsq_levels) if cfg.kind == "dv" else None
        # per-channel latent statistics (CV): encode() returns (z - mean) / std
        self.register_buffer("latent_mean", torch.zeros(cfg.z_channels))
        self.register_buffer("latent_std", torch.ones(cfg.z_channels))
        self._first_chunk = True  # streaming state of the patching (see inference.py)
        self._stream = False

    # ----------------------------------------------------------------- shapes / checks
    def check_video(self, x: torch.Tensor, arg: str = "video") -> None:
        """Raise WorldsmithError unless x is [B, C, 1 + k*s_t, H, W] with H, W multiples of s."""
        c = self.cfg
        if not isinstance(x, torch.Tensor) or x.ndim != 5:
            raise WorldsmithError(f"{arg}: expected a [B, C, T, H, W] tensor, got "
                                  f"{tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__}")
        b, ch, t, h, w = x.shape
        if ch != c.in_channels:
            raise WorldsmithError(f"{arg}: expected {c.in_channels} channels, got {ch}")
        st = c.temporal_compression
        if (t - 1) % st and not (self._stream and not self._first_chunk and t % st == 0):
            raise WorldsmithError(f"{arg}: {t} frames; expected 1 + k*{st} (e.g. {1 + st}, {1 + 2 * st})")
        s = c.spatial_compression
        if h % s or w % s or h == 0 or w == 0:
            raise WorldsmithError(f"{arg}: {h}x{w} frames; height and width must be multiples of {s}")

    # ----------------------------------------------------------------- raw latents
    def encode_latent(self, x_BCTHW: torch.Tensor) -> torch.Tensor:
        """Video -> unquantised, unnormalised encoder output [B, z, T', H', W']."""
        first = self._first_chunk
        if self._stream:
            self._first_chunk = False
        return self.encoder(self.patcher.patch(x_BCTHW, first_chunk=first))

    def decode_latent(self, z: torch.Tensor) -> torch.Tensor:
        """Encoder-space latent (or FSQ codes) -> video [B, C, T, H, W]."""
        first = self._first_chunk
        if self._stream:
            self._first_chunk = False
        return self.patcher.unpatch(self.decoder(z), first_chunk=first)

    def forward(self, x_BCTHW: torch.Tensor) -> tuple[torch.Tensor, dict]:
        """Reconstruct a video (training): returns (reconstruction, extras)."""
        z = self.encode_latent(x_BCTHW)
        extras: dict = {}
        if self.fsq is not None:
            z, idx = self.fsq(z)
            extras["indices"] = idx
        extras["latent"] = z
        return self.decode_latent(z), extras

    # ----------------------------------------------------------------- public encode / decode
    @torch.no_grad()
    def encode(self, x_BCTHW: torch.Tensor) -> torch.Tensor:
        """Video in [-1, 1] -> normalised latent [B, C, T', H', W'] (CV) or indices [B, T', H', W'] (DV)."""
        self.check_video(x_BCTHW)
        z = self.encode_latent(x_BCTHW)
        if self.fsq is not None:
            return self.fsq(z)[1]
        view = (1, -1, 1, 1, 1)
        return (z - self.latent_mean.view(view)) / self.latent_std.view(view)

    @torch.no_grad()
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Inverse of `encode`: latents or indices -> video [B, C, T, H, W] (clamped to [-1, 1])."""
        if self.fsq is not None:
            if z.dtype.is_floating_point or z.ndim != 4:
                raise WorldsmithError(f"tokens: expected int64 indices [B, T, H, W], got {z.dtype} {tuple(z.shape)}")
            if z.min() < 0 or z.max() >= self.fsq.codebook_size:
                raise WorldsmithError(f"tokens: indices must lie in [0, {self.fsq.codebook_size})")
            z = self.fsq.indices_to_codes(z)
        else:
            if z.ndim != 5 or z.shape[1] != self.cfg.z_channels:
                raise WorldsmithError(f"latent: expected [B, {self.cfg.z_channels}, T, H, W], got {tuple(z.shape)}")
            z = self.denormalise(z)
        return self.decode_latent(z.to(self.latent_std.dtype)).clamp(-1, 1)

    def denormalise(self, z: torch.Tensor) -> torch.Tensor:
        """A normalised CV latent (what `encode` returns) -> the decoder's input space (differentiable)."""
        view = (1, -1, 1, 1, 1)
        return z * self.latent_std.view(view) + self.latent_mean.view(view)

    def streaming(self, on: bool) -> None:
        """Chunked mode: causal layers carry their left context from one call to the next."""
        set_streaming(self, on)
        self._stream, self._first_chunk = on, True

    # ----------------------------------------------------------------- checkpoints
    def fingerprint(self) -> str:
        """A short digest of this tokenizer's config, weights and latent statistics.

        World models record it (world_model.json "tokenizer_fingerprint") and check it at load:
        a world model only makes sense with the tokenizer whose latents it was trained on.
        Weights are hashed as float16, so the fp32 training copy and the fp16 shipped copy
        (`scripts/ship_model.py`) of one tokenizer share a fingerprint.
        """
        import hashlib

        from ..utils.fingerprint import module_fingerprint

        weights = module_fingerprint(self, half=True, keep=("latent_mean", "latent_std"))
        return hashlib.sha256((json.dumps(cfgutil.to_dict(self.cfg), sort_keys=True) + weights).encode()).hexdigest()[:16]

    def save_pretrained(self, out_dir: str | os.PathLike) -> None:
        """Write config.json + model.safetensors (weights and latent statistics) atomically."""
        out_dir = os.fspath(out_dir)
        os.makedirs(out_dir, exist_ok=True)
        state = {k: v.detach().contiguous().cpu() for k, v in self.state_dict().items()}
        with atomic_path(os.path.join(out_dir, "model.safetensors")) as tmp:
            save_file(state, tmp, metadata={"format": "pt"})
        atomic_write_json(os.path.join(out_dir, "config.json"),
                          {"model_type": "worldsmith-causal-video-tokenizer", **cfgutil.to_dict(self.cfg),
                           "latent_mean": self.latent_mean.tolist(), "latent_std": self.latent_std.tolist()})

    @classmethod
    def from_pretrained(cls, model_dir: str | os.PathLike, device: str | torch.device = "cpu") -> "CausalVideoTokenizer":
        """Load a tokenizer directory written by `save_pretrained` (no pickle)."""
        d = require_dir(model_dir, "tokenizer model directory")
        cfg_path, w_path = os.path.join(d, "config.json"), os.path.join(d, "model.safetensors")
        for p in (cfg_path, w_path):
            if not os.path.isfile(p):
                raise WorldsmithError(f"{d}: not a tokenizer directory (missing {os.path.basename(p)})")
        try:
            with open(cfg_path, encoding="utf-8") as f:
                data = json.load(f)
        except json.JSONDecodeError as e:
            raise WorldsmithError(f"{cfg_path}: invalid JSON ({e})") from None
        for k in ("model_type", "latent_mean", "latent_std"):
            data.pop(k, None)
        model = cls(cfgutil.from_dict(TokenizerConfig, data, where=cfg_path))
        try:
            state = load_file(w_path)
        except Exception as e:  # safetensors raises its own error types
            raise WorldsmithError(f"{w_path}: cannot read weights ({e})") from None
        try:
            missing, unexpected = model.load_state_dict(state, strict=False)
        except RuntimeError as e:  # shape mismatches
            raise WorldsmithError(f"{w_path}: weights do not match config.json "
                                  f"({str(e).splitlines()[1].strip()})") from None
        if missing or unexpected:
            raise WorldsmithError(f"{w_path}: weights do not match config.json "
                                  f"(missing {missing[:3]}, unexpected {unexpected[:3]})")
        return model.to(device).eval()


def check_fingerprint(tokenizer: CausalVideoTokenizer, meta: dict, model_dir: str, tokenizer_dir: str,
                      arg: str = "--model") -> None:
    """Refuse a world model whose world_model.json records another tokenizer than `tokenizer`
    (models saved before fingerprints existed record none and are not checked)."""
    want = meta.get("tokenizer_fingerprint")
    if want and tokenizer.fingerprint() != want:
        raise WorldsmithError(f"{arg} {model_dir}: the tokenizer at {tokenizer_dir} is not the one this model was "
                              f"trained on (fingerprint {tokenizer.fingerprint()}, expected {want}); its latents "
                              "would mean something else to the model: retrain the model on this tokenizer, or "
                              "point world_model.json \"tokenizer\" at the right one")


def build_tokenizer(cfg_or_preset: TokenizerConfig | str) -> CausalVideoTokenizer:
    """A fresh tokenizer from a config or preset name."""
    from .config import preset

    cfg = preset(cfg_or_preset) if isinstance(cfg_or_preset, str) else cfg_or_preset
    return CausalVideoTokenizer(cfg)
