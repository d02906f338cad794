"""Training a diffusion world model (DiT + Denoiser) on a clip dataset: run config and trainer Task.

Each step encodes a batch of clips with a frozen, trained continuous tokenizer and their
captions with a frozen text encoder, then takes the Denoiser's loss: one model learns
Text2World, Image2World and Video2World at once (0 / 1 / several conditioning latent
frames, drawn per sample), with text dropout for classifier-free guidance.

The trained model is the Denoiser (net + formulation); `export` writes it with
`save_pretrained` plus `world_model.json`, which names the tokenizer and text encoder used.
For data parallelism wrap `model.net` (as k-diffusion wraps the inner model) or shard the
blocks with FSDP2: `Denoiser.loss` calls the net, not the Denoiser's own forward.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import logging
import os
from dataclasses import dataclass, field
from typing import Iterator

import torch
import torch.nn as nn

from ..diffusion import Denoiser, DiffusionConfig, generate
from ..models.dit import DIT_PRESETS, DiT, DiTConfig
from ..utils import config as cfgutil
from ..utils.atomic import atomic_write_json
from ..utils.errors import WorldsmithError, require_dir
from .config import OptimConfig, TrainConfig
from .task import Task
from .trainer import unwrap

log = logging.getLogger(__name__)


@dataclass
class WorldDataConfig:
    """Where the clips come from and how they are cut."""

    root: str = ""
    """Clip dataset directory (dataset.json + manifest.parquet + shards/)."""
    num_frames: int = 17
    """Frames per training window: 1 + k * the tokenizer's temporal compression."""
    size: int = 64
    """Square training resolution (resize to cover, then centre-crop)."""
    stride: int = 1
    """Take every stride-th frame of the clip."""
    val_split: str = "val"
    val_clips: int = 8
    """Held-out clips for the validation loss."""
    shuffle_buffer: int = 64
    latent_cache: str = ""
    """Directory of pre-encoded training windows (latents + text embeddings, built before the
    first step if missing, reused after; see latent_cache.py). Empty = encode every step."""


@dataclass
class Video2WorldTrainConfig:
    """A complete world-model training run."""

    preset: str = "tiny"
    model: DiTConfig = field(default_factory=DiTConfig)
    diffusion: DiffusionConfig = field(default_factory=lambda: DiffusionConfig(anchor="last_cond"))
    """New world models denoise the change from the last conditioning frame (see denoiser.py)."""
    tokenizer: str = ""
    """Directory of a trained continuous (CV) tokenizer (`worldsmith tokenizer train`)."""
    text_encoder: str = ""
    """Local Hugging Face encoder directory; empty = the shipped MiniLM."""
    text_max_length: int = 64
    sample_steps: int = 20
    """Sampler steps for the videos logged to TensorBoard."""
    data: WorldDataConfig = field(default_factory=WorldDataConfig)
    train: TrainConfig = field(default_factory=lambda: TrainConfig(
        steps=2000, batch_size=8, optim=OptimConfig(lr=3e-4, warmup_steps=100), ema_decay=0.999))
    init: str = ""
    """A world-model directory to start from (`--init`: fine-tune it on new clips, or train it
    on): its weights, net and diffusion settings, tokenizer and text encoder. Empty = a fresh
    net of `preset`."""


def read_world_model(model_dir: str) -> tuple[DiTConfig, DiffusionConfig, dict]:
    """(net config, diffusion config, world_model.json) of a world-model directory, with clear errors."""
    from ..utils.config import from_dict
    from ..utils.errors import read_json

    from ..models.lora import ADAPTER_CONFIG_NAME

    d = require_dir(model_dir, "world model directory")
    if os.path.isfile(os.path.join(d, ADAPTER_CONFIG_NAME)) and not os.path.isfile(os.path.join(d, "config.json")):
        # a LoRA run's export: the net and diffusion settings live in the adapter's metadata (the weights
        # are its base's plus the adapter, merged by `action2world.load_action_denoiser`)
        path = os.path.join(d, ADAPTER_CONFIG_NAME)
        data = read_json(path, "LoRA adapter config")
        meta = data.get("metadata") if isinstance(data, dict) else None
        if not isinstance(meta, dict):
            raise WorldsmithError(f"{path}: expected a JSON object with a 'metadata' object")
        missing = [k for k in ("base_model", "model", "diffusion") if k not in meta]
        if missing:
            raise WorldsmithError(f"{path}: missing '{missing[0]}' in its metadata")
        return (from_dict(DiTConfig, meta["model"], where=path), from_dict(DiffusionConfig, meta["diffusion"], where=path),
                read_json(os.path.join(d, "world_model.json"), "world model world_model.json"))
    out = []
    for name, cls in (("config.json", DiTConfig), ("diffusion.json", DiffusionConfig), ("world_model.json", None)):
        path = os.path.join(d, name)
        data = read_json(path, f"world model {name}")
        out.append(from_dict(cls, data, where=path) if cls else data)
    return out[0], out[1], out[2]


def init_config(init: str) -> Video2WorldTrainConfig:
    """The run config a model directory was made with, as the defaults of training it further:
    its net, diffusion settings (anchor, conditioning choices, noise mix), tokenizer, text encoder,
    window length and size. Training settings are the library's; give the run's own with --set."""
    net_cfg, diff_cfg, meta = read_world_model(init)
    if meta.get("task", "video2world") != "video2world":
        raise WorldsmithError(f"--init {init}: an {meta['task']} model; --task video2world fine-tunes video2world "
                              f"models (post-train this one with --task {meta['task']})")
    text_encoder = meta.get("text_encoder", "minilm")
    return Video2WorldTrainConfig(
        preset="init", model=net_cfg, diffusion=diff_cfg, init=init,
        tokenizer=os.path.join(init, meta.get("tokenizer", "tokenizer")),
        text_encoder="" if text_encoder == "minilm" else text_encoder,
        text_max_length=int(meta.get("text_max_length", 64)),
        data=WorldDataConfig(num_frames=int(meta.get("num_frames", 17)), size=int(meta.get("size", 64))))


def resolve_config(preset_name: str, config_file: str | None = None, overrides: list[str] | None = None,
                   init: str | None = None, **fields) -> Video2WorldTrainConfig:
    """Preset (or the `init` model's own config) -> file -> --set overrides -> explicit fields
    (`data__root=...` for data.root)."""
    if init:
        cfg = init_config(init)
    elif preset_name not in DIT_PRESETS:
        raise WorldsmithError(f"--preset {preset_name!r}: expected one of {', '.join(DIT_PRESETS)}")
    else:
        cfg = Video2WorldTrainConfig(preset=preset_name, model=DIT_PRESETS[preset_name]())
    cfg = cfgutil.resolve(cfg, config_file, overrides)
    for dotted, value in fields.items():
        if value is not None:
            cfg = cfgutil.merge(cfg, cfgutil.parse_overrides([f"{dotted.replace('__', '.')}={value}"]))
    if cfg.diffusion.formulation not in ("edm", "rf"):
        raise WorldsmithError(f"diffusion.formulation={cfg.diffusion.formulation!r}: expected 'edm' or 'rf'")
    return cfg


def collate(items: list[dict], arrays: tuple[str, ...] = ()) -> dict:
    """{"video": [B, C, T, H, W], "caption": [str], <array>: [B, ...]} from ClipDataset items."""
    batch = {"video": torch.stack([it["video"] for it in items]), "caption": [it["caption"] for it in items]}
    for name in arrays:
        missing = [it["key"] for it in items if name not in it]
        if missing:
            raise WorldsmithError(f"clip {missing[0]}: has no '{name}' array")
        batch[name] = torch.stack([torch.as_tensor(it[name]).float() for it in items])
    return batch


class _Batches:
    """Endless deterministic batches (see `collate`) from a ClipDataset."""

    def __init__(self, dataset, batch_size: int, arrays: tuple[str, ...] = ()):
        self.it, self.batch_size, self.arrays = iter(dataset), batch_size, arrays

    def __iter__(self):
        return self

    def __next__(self) -> dict:
        return collate([next(self.it) for _ in range(self.batch_size)], self.arrays)


class Video2WorldTask(Task):
    """Diffusion world-model training on tokenizer latents with text conditioning.

    `tokenizer` / `text_encoder` objects may be passed in (already loaded); otherwise they
    are loaded from `cfg.tokenizer` / `cfg.text_encoder`. Both stay frozen. Subclasses add
    conditioning through `arrays` (clip arrays to batch) and `batch_cond`.
    """

    arrays: tuple[str, ...] = ()

    def __init__(self, cfg: Video2WorldTrainConfig, tokenizer=None, text_encoder=None):
        self.tokenizer = tokenizer if tokenizer is not None else self._load_tokenizer(cfg.tokenizer)
        self.tokenizer.eval().requires_grad_(False)
        if self.tokenizer.cfg.kind != "cv":
            raise WorldsmithError(f"tokenizer {cfg.tokenizer}: a continuous (cv) tokenizer is needed, "
                                  f"got {self.tokenizer.cfg.kind!r}")
        if text_encoder is None:
            from ..text.encoder import TextEncoder

            text_encoder = TextEncoder(cfg.text_encoder or None, max_length=cfg.text_max_length)
        self.text_encoder = text_encoder
        st = self.tokenizer.cfg.temporal_compression
        if (cfg.data.num_frames - 1) % st:
            raise WorldsmithError(f"data.num_frames={cfg.data.num_frames}: expected 1 + k*{st}")
        latent = self.tokenizer.cfg.latent_shape(cfg.data.num_frames, cfg.data.size, cfg.data.size)
        if latent[2] % cfg.model.patch_spatial:
            raise WorldsmithError(f"data.size={cfg.data.size}: latent {latent[2]} px is not a multiple of "
                                  f"the DiT patch {cfg.model.patch_spatial}")
        # the net's input/output channels and text width follow the frozen components
        c = self.tokenizer.cfg.latent_channels
        model_cfg = dataclasses.replace(cfg.model, in_channels=c, out_channels=c, text_dim=self.text_encoder.dim)
        self.cfg = dataclasses.replace(cfg, model=model_cfg)
        self._val: list[dict] | None = None
        if cfg.init and type(self) is Video2WorldTask:  # action2world checks its own base
            from ..tokenizer.model import check_fingerprint

            check_fingerprint(self.tokenizer, read_world_model(cfg.init)[2], cfg.init, cfg.tokenizer, arg="--init")

    @staticmethod
    def _load_tokenizer(path: str):
        from ..tokenizer.model import CausalVideoTokenizer

        if not path:
            raise WorldsmithError("--tokenizer: a trained tokenizer directory is required")
        return CausalVideoTokenizer.from_pretrained(require_dir(path, "--tokenizer"))

    def config_dict(self) -> dict:
        d = cfgutil.to_dict(self.cfg)
        d.pop("train")
        return d

    def build_model(self) -> nn.Module:
        """A fresh net, or (`init`) the model directory's weights in a net of its shape."""
        net = DiT(self.cfg.model)
        if self.cfg.init:
            base = DiT.from_pretrained(self.cfg.init)
            try:
                net.load_state_dict({k: v.float() for k, v in base.state_dict().items()})
            except RuntimeError as e:  # a --set model.* that changed the shape
                raise WorldsmithError(f"--init {self.cfg.init}: its weights do not fit this run's model "
                                      f"({str(e).splitlines()[-1].strip()}); leave model.* as the model has it") from None
        return Denoiser(net, self.cfg.diffusion)

    # ------------------------------------------------------------------ data
    def _dataset(self, split: str, seed: int, shuffle: bool, loop: bool, rank=None, world=None):
        from ..data import ClipDataset

        d = self.cfg.data
        if not d.root:
            raise WorldsmithError("--data: a clip dataset directory is required")
        return ClipDataset(d.root, split=split, num_frames=d.num_frames, stride=d.stride, size=d.size,
                           shuffle=shuffle, shuffle_buffer=d.shuffle_buffer, seed=seed, arrays=self.arrays,
                           loop=loop, rank=rank, world_size=world)

    def train_batches(self, seed: int, rank: int = 0, world_size: int = 1) -> Iterator[dict]:
        if self.cfg.data.latent_cache:
            from .latent_cache import cached_batches

            return cached_batches(self, seed, rank, world_size)
        ds = self._dataset("train", seed, shuffle=True, loop=True, rank=rank, world=world_size)
        return _Batches(ds, self.cfg.train.batch_size, self.arrays)

    @torch.no_grad()
    def encode(self, video_BCTHW: torch.Tensor, captions: list[str]) -> tuple[torch.Tensor, dict]:
        """Frozen components: (normalised latent [B, C, T', H', W'], text cond dict) on the video's device."""
        dev = video_BCTHW.device
        self.tokenizer.to(dev)
        latent = self.tokenizer.encode(video_BCTHW.float()).float()
        hidden, mask = self.text_encoder.encode_tokens(list(captions))
        return latent, {"text": hidden.to(dev), "text_mask": mask.to(dev)}

    def cache_prompt(self, caption: str) -> str:
        """The text a clip with this caption is trained on (here: the caption itself)."""
        return caption

    def cache_prompt_rule(self) -> str:
        """Names `cache_prompt` in a latent cache's settings, so a cache is not reused across rules."""
        return "caption"

    def still_frames(self) -> int:
        """How many still latents each training window needs (`anchor="still"`: one per number of
        conditioning latent frames it may draw; 0 for other anchors)."""
        if self.cfg.diffusion.anchor != "still":
            return 0
        T = self.tokenizer.cfg.latent_shape(self.cfg.data.num_frames, self.cfg.data.size, self.cfg.data.size)[0]
        return max(1, min(max(self.cfg.diffusion.cond_frame_choices), T - 1))

    def latent_and_text(self, batch: dict) -> tuple[torch.Tensor, dict]:
        """(latent, text cond) of a batch: read from a latent-cache batch, or encoded now. With
        `anchor="still"` the cond also carries "still" [B, S, C, T', H', W'] (`still_latents`)."""
        if "latent" in batch:
            latent, cond = batch["latent"], {"text": batch["text"], "text_mask": batch["text_mask"]}
            if self.still_frames():
                if "still" not in batch:
                    raise WorldsmithError("data.latent_cache: built without still latents, which diffusion.anchor="
                                          "'still' needs (use another directory)")
                cond["still"] = batch["still"]
            return latent, cond
        latent, cond = self.encode(batch["video"], [self.cache_prompt(c) for c in batch["caption"]])
        if self.still_frames():
            from ..diffusion.conditioning import still_latents

            cond["still"] = still_latents(self.tokenizer, batch["video"], self.still_frames())
        return latent, cond

    def batch_cond(self, batch: dict, generator: torch.Generator | None = None) -> tuple[torch.Tensor, dict]:
        """(latent, cond) of a batch: its captions as text; subclasses add more conditioning
        (drawing any randomness from `generator`: validation passes a fixed one)."""
        return self.latent_and_text(batch)

    def compile_model(self, model):
        """`train.compile`: the loss runs `unwrap(model).loss`, so compile the DiT inside the
        denoiser, in place (`nn.Module.compile`: parameter names, checkpoints and the EMA copy
        are unchanged)."""
        unwrap(model).net.compile(dynamic=False)
        return model

    def loss(self, model, batch, step):
        latent, cond = self.batch_cond(batch)
        loss, info = unwrap(model).loss(latent, cond)
        return loss, {"sigma_mean": float(info["sigma"].mean()),
                      "cond_frames_mean": float(info["num_cond_frames"].float().mean())}

    # ------------------------------------------------------------------ evaluation
    def _val_batches(self) -> list[dict]:
        if self._val is None:
            self._val = []
            try:
                ds = self._dataset(self.cfg.data.val_split, 0, shuffle=False, loop=False, rank=0, world=1)
            except WorldsmithError as e:
                log.warning("no held-out evaluation: %s", e)
                return self._val
            items = []
            for item in ds:
                items.append(item)
                if len(items) >= self.cfg.data.val_clips:
                    break
            for i in range(0, len(items), 4):
                self._val.append(collate(items[i:i + 4], self.arrays))
        return self._val

    def evaluate(self, model, step):
        """Validation loss on held-out clips with fixed noise, sigmas and conditioning (comparable across steps)."""
        batches = self._val_batches()
        if not batches:
            return {}
        den = unwrap(model)
        dev = next(den.parameters()).device
        g = torch.Generator().manual_seed(1234)
        total, n = 0.0, 0
        for b in batches:
            latent, cond = self.batch_cond(self.to_device(b, dev), generator=g)
            loss, _ = den.loss(latent, cond, generator=g)
            total, n = total + float(loss) * len(b["caption"]), n + len(b["caption"])
        return {"val_loss": total / n}

    def log_samples(self, model, batch, writer, step):
        """Image2World samples for two training captions: truth above, sample below."""
        if writer is None or importlib.util.find_spec("moviepy") is None:  # TensorBoard videos need moviepy
            return
        den = unwrap(model)
        latent, cond = self.latent_and_text({k: v[:2] for k, v in batch.items()})
        sample = generate(den, tuple(latent.shape), cond, cond_latent=latent, num_cond_frames=1,
                          steps=self.cfg.sample_steps, guidance=3.0, seed=step)
        video = self.tokenizer.decode(sample)
        truth = batch["video"][:2] if "video" in batch else self.tokenizer.decode(latent)  # cache: decoded truth
        both = torch.cat([truth.to(video.device), video], dim=3)  # [2, C, T, 2H, W]
        # TensorBoard video: [N, T, C, H, W] in [0, 1]
        writer.add_video("samples/truth_over_i2w", both.permute(0, 2, 1, 3, 4).add(1).div(2).float().cpu(),
                         step, fps=8)

    def export(self, model, out_dir: str) -> None:
        """A self-contained world model directory, loadable by `WorldPipeline.from_pretrained`.

        out_dir/: the Denoiser (config.json, model.safetensors, diffusion.json),
        tokenizer/ (a copy of the frozen tokenizer), captions/ (the prompt upsampler's index of
        the training captions) and world_model.json (relative paths, frames, size, latent shape, fps;
        from an `init` model also its "inference" recommendations and "fine_tuned_from").
        """
        unwrap(model).save_pretrained(out_dir)
        self.tokenizer.save_pretrained(os.path.join(out_dir, "tokenizer"))
        captions, fps = self._train_captions_and_fps()
        has_index = False
        if captions:
            from ..text.upsampler import build_caption_index

            try:
                build_caption_index(captions, os.path.join(out_dir, "captions"), encoder=self.text_encoder)
                has_index = True
            except WorldsmithError as e:
                log.warning("no caption index exported: %s", e)
        carried = {}
        if self.cfg.init:  # the sampling settings the model recommended (its mean decoder is not: it
            # learnt the old weights' means); and where the weights came from
            import hashlib

            from ..models.dit import WEIGHTS_NAME

            base = read_world_model(self.cfg.init)[2]
            with open(os.path.join(self.cfg.init, WEIGHTS_NAME), "rb") as f:  # which weights, should the path move
                sha = hashlib.sha256(f.read()).hexdigest()[:16]
            carried = {"fine_tuned_from": {"path": self.cfg.init, "weights_sha256": sha},
                       **({"inference": base["inference"]} if "inference" in base else {})}
        atomic_write_json(os.path.join(out_dir, "world_model.json"), {
            **carried, "tokenizer": "tokenizer", "tokenizer_fingerprint": self.tokenizer.fingerprint(),
            "text_encoder": self.cfg.text_encoder or "minilm",
            "text_max_length": self.cfg.text_max_length,
            "captions": "captions" if has_index else "",
            "num_frames": self.cfg.data.num_frames, "size": self.cfg.data.size, "fps": fps,
            "latent_shape": list(self.tokenizer.cfg.latent_shape(self.cfg.data.num_frames, self.cfg.data.size,
                                                                 self.cfg.data.size)),
        })

    def _train_captions_and_fps(self, limit: int = 20000) -> tuple[list[str], float]:
        """Training captions (at most `limit`) and the median clip fps / stride from the manifest."""
        path = os.path.join(self.cfg.data.root, "manifest.parquet")
        if not self.cfg.data.root or not os.path.isfile(path):
            return [], 24.0
        import pyarrow.parquet as pq

        t = pq.read_table(path, columns=["caption", "fps", "split"]).to_pydict()
        caps = [c for c, s in zip(t["caption"], t["split"]) if c and s == "train"][:limit]
        fps = sorted(f for f in t["fps"] if f)
        return caps, (fps[len(fps) // 2] / max(1, self.cfg.data.stride)) if fps else 24.0
