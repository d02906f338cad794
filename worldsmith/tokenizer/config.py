"""Tokenizer configs and named presets (`cv4x8x8-tiny`, `dv4x4x4-small`, ...).

A preset name is `<kind><T>x<H>x<W>-<size>`: kind `cv` (continuous) or `dv` (discrete,
FSQ), compression time x height x width (height = width), size `tiny` (trains on CPU),
`small` or `base` (Cosmos-like widths).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from ..utils.errors import WorldsmithError

COMPRESSIONS = ((4, 4, 4), (4, 8, 8), (8, 8, 8), (8, 16, 16))
SIZES = ("tiny", "small", "base")
COSMOS_FSQ_LEVELS = (8, 8, 8, 5, 5, 5)  # 64,000 codes
SMALL_FSQ_LEVELS = (8, 5, 5, 5)  # 1,000 codes, for the light 4x4x4 presets


@dataclass
class TokenizerConfig:
    """Architecture of a causal video tokenizer."""

    kind: str = "cv"
    """'cv' (continuous latent) or 'dv' (discrete FSQ tokens)."""
    temporal_compression: int = 4
    """Frames per latent frame after the first (4 or 8)."""
    spatial_compression: int = 8
    """Pixels per latent position along height and width (4, 8 or 16)."""
    in_channels: int = 3
    channels: int = 64
    """Width of the first level (after the 4x4x4 Haar patching)."""
    channel_mult: tuple[int, ...] = (1, 2, 4)
    """Width multipliers per level; only as many as the compression needs are used."""
    num_res_blocks: int = 1
    """Residual blocks per encoder level (the decoder uses one more)."""
    norm: str = "rms"
    """'rms' (per-position RMS norm over channels) or 'none' (faster to train for tiny nets on CPU)."""
    attention: bool = True
    """Spatial self-attention at the lowest resolution (in the middle blocks)."""
    latent_channels: int = 16
    """Latent channels of a CV tokenizer."""
    fsq_levels: tuple[int, ...] = COSMOS_FSQ_LEVELS
    """FSQ levels of a DV tokenizer (one per code dimension)."""
    patch_size: int = 4
    """Haar wavelet patch (2 levels = 4 in time, height and width)."""
    shortcuts: bool = False
    """Parameter-free residual shortcuts around the spatial down/upsamplings and the latent
    projections (space-to-channel + channel averaging, channel repeat + channel-to-space), as in
    DC-AE (Chen et al. 2024): the convolutions there learn a residual. Each shortcut is used where
    the widths divide evenly (not under a 6-code FSQ latent, for instance). On in the tiny presets
    (trained with the spike guard: without it the un-normed tiny nets collapsed more often with
    shortcuts; BENCHMARKS.md, sessions 13-14); off by default here, so checkpoints written before
    the field existed load unchanged."""

    def validate(self) -> "TokenizerConfig":
        """Raise WorldsmithError naming the field if the config cannot be built."""
        if self.kind not in ("cv", "dv"):
            raise WorldsmithError(f"tokenizer kind={self.kind!r}: expected 'cv' or 'dv'")
        p = self.patch_size
        if p not in (2, 4):
            raise WorldsmithError(f"patch_size={p}: expected 2 or 4")
        for name in ("temporal_compression", "spatial_compression"):
            v = getattr(self, name)
            if v < p or v % p or (v // p) & (v // p - 1):
                raise WorldsmithError(f"{name}={v}: expected patch_size ({p}) times a power of two")
        if len(self.channel_mult) < self.num_levels:
            raise WorldsmithError(f"channel_mult={self.channel_mult}: needs {self.num_levels} entries "
                                  f"for {self.temporal_compression}x{self.spatial_compression}x"
                                  f"{self.spatial_compression}")
        if self.norm not in ("rms", "none"):
            raise WorldsmithError(f"norm={self.norm!r}: expected 'rms' or 'none'")
        if self.kind == "dv" and (not self.fsq_levels or min(self.fsq_levels) < 2):
            raise WorldsmithError(f"fsq_levels={self.fsq_levels}: expected levels >= 2")
        return self

    @property
    def temporal_downs(self) -> int:
        """Temporal 2x downsamplings inside the encoder (after the patching)."""
        return (self.temporal_compression // self.patch_size).bit_length() - 1

    @property
    def spatial_downs(self) -> int:
        return (self.spatial_compression // self.patch_size).bit_length() - 1

    @property
    def num_levels(self) -> int:
        return 1 + max(self.temporal_downs, self.spatial_downs)

    @property
    def z_channels(self) -> int:
        """Channels the encoder outputs: latent channels (CV) or the FSQ code dimension (DV)."""
        return self.latent_channels if self.kind == "cv" else len(self.fsq_levels)

    def latent_shape(self, frames: int, height: int, width: int) -> tuple[int, int, int, int]:
        """(C, T', H', W') of the latent of a `frames x height x width` video."""
        s, t = self.spatial_compression, self.temporal_compression
        return (self.z_channels, 1 + (frames - 1) // t, height // s, width // s)


_WIDTHS = {
    "tiny": dict(channels=64, channel_mult=(1, 2, 2), num_res_blocks=1),
    "small": dict(channels=96, channel_mult=(1, 2, 4), num_res_blocks=2),
    "base": dict(channels=128, channel_mult=(2, 4, 4), num_res_blocks=2),  # Cosmos widths
}

_NAME = re.compile(r"^(cv|dv)(\d+)x(\d+)x(\d+)-(\w+)$")


def preset(name: str) -> TokenizerConfig:
    """The config of a named preset, e.g. `preset("cv4x8x8-tiny")`."""
    m = _NAME.match(name or "")
    if not m:
        raise WorldsmithError(f"--preset {name!r}: expected e.g. cv4x8x8-tiny (see `worldsmith tokenizer presets`)")
    kind, t, h, w, size = m.group(1), int(m.group(2)), int(m.group(3)), int(m.group(4)), m.group(5)
    if (t, h, w) not in COMPRESSIONS:
        raise WorldsmithError(f"--preset {name!r}: compression {t}x{h}x{w} not one of "
                              + ", ".join("x".join(map(str, c)) for c in COMPRESSIONS))
    if size not in _WIDTHS:
        raise WorldsmithError(f"--preset {name!r}: size {size!r} not one of {', '.join(SIZES)}")
    levels = SMALL_FSQ_LEVELS if h == 4 else COSMOS_FSQ_LEVELS
    # tiny nets train several dB further in the same CPU time without block norms (and each
    # step is ~25% cheaper); at lr 2e-3 the 4x8x8 ones then stall, at the default 1e-3 they train
    norm = "none" if size == "tiny" else "rms"
    # DC-AE residual shortcuts on the tiny presets: +0.3 dB on the held-out clips after 30 CPU-minutes for
    # cv4x8x8-tiny, +0.5 dB for cv4x4x4-tiny in 5, neutral for dv4x8x8-tiny. Without the trainer's spike
    # guard 2 of 3 such full runs collapsed; with it a replay of one that did ends level with the one that
    # did not (BENCHMARKS.md, sessions 13-14). Not measured on small/base: opt-in there.
    return TokenizerConfig(kind=kind, temporal_compression=t, spatial_compression=h,
                           fsq_levels=levels, norm=norm, shortcuts=size == "tiny", **_WIDTHS[size]).validate()


def preset_names() -> list[str]:
    """Every preset name."""
    return [f"{k}{t}x{h}x{w}-{s}" for k in ("cv", "dv") for (t, h, w) in COMPRESSIONS for s in SIZES]


def replace(cfg: TokenizerConfig, **kw) -> TokenizerConfig:
    """A copy of `cfg` with fields changed (validated)."""
    return dataclasses.replace(cfg, **kw).validate()
