"""Pre-encoded training data for the world-model tasks: latents and text embeddings on disk.

With `data.latent_cache=DIR` (`worldsmith train --task video2world|action2world`), the frozen
tokenizer encodes every training window once and the text encoder embeds each distinct
prompt once, before the first step; training then reads tensors instead of decoding MP4s and
re-running both frozen networks at every step. A later run with the same settings reuses DIR.

Windows: each training clip is cut into consecutive, non-overlapping windows of
`data.num_frames` frames (every `data.stride`-th frame) from frame 0, resized like the
on-the-fly stream. Unlike that stream, which draws a random start per clip and epoch, the
windows are fixed: the price of encoding once. Clips shorter than one window are skipped
with a warning, damaged ones too (as on the fly).

Layout of DIR (written atomically; `cache.json` last, so a cache without it is incomplete
and is rebuilt):

    cache.json                 settings it was built with, fingerprints, counts
    windows-00000.safetensors  "latent" float32 [N, C, T', H', W'], "prompt" int64 [N]
                               (row of text.safetensors), and each clip array [N, num_frames, ...];
                               for diffusion.anchor="still" also "still" [N, S, C, T', H', W']
                               (conditioning.still_latents: S more encodes per window)
    text.safetensors           "hidden" float32 [U, L, D], "mask" bool [U, L] (trimmed to the
                               longest prompt; padded back to the encoder's length when read)
    prompts.json               the U prompts and every window's clip key and start frame

A cache built with other settings (data, window, tokenizer or text encoder weights), or from
captions that have changed since (`worldsmith sim recaption`), is refused with a one-line error
naming what differs: use another directory or delete it.
"""

from __future__ import annotations

import json
import logging
import os

import numpy as np
import torch

from ..utils.atomic import atomic_path, atomic_write_json
from ..utils.errors import WorldsmithError
from ..utils.fingerprint import module_fingerprint
from ..utils.progress import progress

log = logging.getLogger(__name__)

CACHE_VERSION = 1
WINDOWS_PER_FILE = 64  # bounds the raw frames held before encoding (64 x 33 x 256^2 x 3 = 415 MB)


def cache_settings(task) -> dict:
    """What a cache must match to be reused by `task` (a Video2WorldTask)."""
    d, enc = task.cfg.data, task.text_encoder
    still = {"still_frames": task.still_frames()} if getattr(task, "still_frames", lambda: 0)() else {}
    return {**still, "version": CACHE_VERSION, "root": os.path.abspath(d.root), "split": "train",
            "num_frames": d.num_frames, "stride": d.stride, "size": d.size, "arrays": list(task.arrays),
            "tokenizer": module_fingerprint(task.tokenizer),
            "text_encoder": f"{enc.name}:{enc.max_length}:{enc.dim}", "prompt": task.cache_prompt_rule()}


def _windows(clip: dict, num_frames: int, stride: int) -> list[int]:
    span = (num_frames - 1) * stride + 1
    return list(range(0, clip["frames"].shape[0] - span + 1, span))


def build_or_load(task, cache_dir: str, device: torch.device | str = "cpu") -> dict:
    """The cache's `cache.json` for `task`, building the cache first if it is missing."""
    if os.path.exists(cache_dir) and not os.path.isdir(cache_dir):
        raise WorldsmithError(f"data.latent_cache={cache_dir}: not a directory")
    want = cache_settings(task)
    meta_path = os.path.join(cache_dir, "cache.json")
    if os.path.isfile(meta_path):
        try:
            with open(meta_path, encoding="utf-8") as f:
                meta = json.load(f)
        except (OSError, json.JSONDecodeError) as e:
            raise WorldsmithError(f"{meta_path}: unreadable latent cache ({e}); delete {cache_dir}") from None
        for k, v in want.items():
            if meta.get("settings", {}).get(k) != v:
                raise WorldsmithError(f"data.latent_cache={cache_dir}: built with {k}={meta.get('settings', {}).get(k)!r}, "
                                      f"this run needs {v!r} (use another directory or delete it)")
        _check_prompts(task, cache_dir, meta)
        log.info("latent cache %s: %d windows", cache_dir, meta["windows"])
        return meta
    return _build(task, cache_dir, want, device)


def _check_prompts(task, cache_dir: str, meta: dict) -> None:
    """Refuse a cache whose text is not what the data's captions say now (a dataset recaptioned,
    `worldsmith sim recaption`, or regenerated with a fixed captioner): every window's cached
    prompt against its clip's manifest caption, by key. The frames under a key stay the same, so
    only the text is stale, but mixing old and new words in one run would be silent."""
    from safetensors import safe_open

    from ..data.reader import read_manifest

    path = os.path.join(cache_dir, "prompts.json")
    try:
        with open(path, encoding="utf-8") as f:
            saved = json.load(f)
        pids = []
        for name in meta["files"]:
            with safe_open(os.path.join(cache_dir, name), framework="pt") as f:
                pids.extend(f.get_tensor("prompt").tolist())
    except (OSError, KeyError, ValueError) as e:
        raise WorldsmithError(f"data.latent_cache={cache_dir}: unreadable ({e}); delete it") from None
    caption = {r["key"]: r.get("caption") or "" for r in read_manifest(task.cfg.data.root)}
    for (key, _), pid in zip(saved["windows"], pids):
        if key in caption and saved["prompts"][pid] != task.cache_prompt(caption[key]):
            raise WorldsmithError(f"data.latent_cache={cache_dir}: clip {key}'s caption changed since the cache was "
                                  f"built ({saved['prompts'][pid]!r} -> {caption[key]!r}); delete it or use another "
                                  "directory")


@torch.no_grad()
def _build(task, cache_dir: str, settings: dict, device) -> dict:
    from ..data.dataset import resize_cover_crop, slice_array
    from ..data.reader import iter_clips, read_manifest
    from ..diffusion.conditioning import still_latents

    d = task.cfg.data
    os.makedirs(cache_dir, exist_ok=True)
    rows = [r for r in read_manifest(d.root) if r["split"] == "train"]
    if not rows:
        raise WorldsmithError(f"{d.root}: split 'train' has no clips to cache")
    span = (d.num_frames - 1) * d.stride + 1
    tok = task.tokenizer.to(device)
    n_still = settings.get("still_frames", 0)
    prompts: dict[str, int] = {}
    keys: list[list] = []
    pending: dict[str, list] = {"video": [], "prompt": [], **{a: [] for a in task.arrays}}
    files, skipped, n = [], 0, 0

    def flush(final: bool = False) -> None:
        nonlocal n
        while len(pending["video"]) >= WINDOWS_PER_FILE or (final and pending["video"]):
            take = min(WINDOWS_PER_FILE, len(pending["video"]))
            video = torch.stack(pending["video"][:take])  # uint8 [N, T, H, W, C]
            latents, stills = [], []
            for i in range(0, take, 8):
                x = video[i:i + 8].to(device).permute(0, 4, 1, 2, 3).float().div(127.5).sub(1)
                latents.append(tok.encode(x).float().cpu())
                if n_still:
                    stills.append(still_latents(tok, x, n_still).cpu())
            tensors = {"latent": torch.cat(latents).contiguous(),
                       "prompt": torch.tensor(pending["prompt"][:take], dtype=torch.int64)}
            if n_still:
                tensors["still"] = torch.cat(stills).contiguous()
            for a in task.arrays:
                tensors[a] = torch.stack(pending[a][:take]).float().contiguous()
            name = f"windows-{len(files):05d}.safetensors"
            _save(tensors, os.path.join(cache_dir, name))
            files.append(name)
            n += take
            for k in pending:
                del pending[k][:take]

    bar = progress(total=len(rows), desc="latent cache: encode", unit="clip")
    for clip in iter_clips(d.root, split="train"):
        bar.update(1)
        starts = _windows(clip, d.num_frames, d.stride)
        missing = [a for a in task.arrays if a not in clip["arrays"]]
        if not starts or missing:
            skipped += 1
            log.warning("latent cache: skipping clip %s (%s)", clip["key"],
                        f"no array {missing}" if missing else f"{clip['frames'].shape[0]} frames < {span}")
            continue
        prompt = task.cache_prompt(clip["caption"])
        pid = prompts.setdefault(prompt, len(prompts))
        t = clip["frames"].shape[0]
        for s in starts:
            idx = np.arange(s, s + span, d.stride)
            window = clip["frames"][idx]
            if window.shape[1:3] != (d.size, d.size):
                window = resize_cover_crop(window, (d.size, d.size))
            pending["video"].append(torch.from_numpy(np.ascontiguousarray(window)))
            pending["prompt"].append(pid)
            for a in task.arrays:
                pending[a].append(torch.from_numpy(np.ascontiguousarray(slice_array(clip["arrays"][a], idx, t))))
            keys.append([clip["key"], int(s)])
        flush()
    flush(final=True)
    bar.close()
    if n == 0:
        raise WorldsmithError(f"{d.root}: no training clip has a full {span}-frame window to cache")
    # text: each distinct prompt once, trimmed to the longest one
    plist = list(prompts)
    hidden, mask = task.text_encoder.encode_tokens(plist)
    length = max(1, int(mask.sum(1).max()))
    _save({"hidden": hidden[:, :length].float().cpu().contiguous(), "mask": mask[:, :length].cpu().contiguous()},
          os.path.join(cache_dir, "text.safetensors"))
    atomic_write_json(os.path.join(cache_dir, "prompts.json"), {"prompts": plist, "windows": keys})
    meta = {"settings": settings, "windows": n, "files": files, "skipped_clips": skipped,
            "latent_shape": list(task.tokenizer.cfg.latent_shape(d.num_frames, d.size, d.size)),
            "text_length": task.text_encoder.max_length}
    atomic_write_json(os.path.join(cache_dir, "cache.json"), meta)
    log.info("latent cache %s: %d windows from %d clips (%d skipped)", cache_dir, n, len(rows) - skipped, skipped)
    return meta


def _save(tensors: dict, path: str) -> None:
    from safetensors.torch import save_file

    with atomic_path(path) as tmp:
        save_file(tensors, tmp)


class CachedBatches:
    """Endless, seeded batches from a latent cache: {"latent", "text", "text_mask", <arrays>}.

    Every epoch is a fresh permutation of all windows (seeded by seed and epoch, the same on
    every rank); rank r of `world` takes every world-th window of it. `state_dict()` /
    `load_state_dict()` give the trainer an exact resume without replaying the stream.
    """

    def __init__(self, cache_dir: str, meta: dict, batch_size: int, seed: int, arrays: tuple[str, ...],
                 rank: int = 0, world: int = 1, pad_text_to: int | None = None):
        from safetensors import safe_open

        self.batch_size, self.seed, self.arrays, self.rank, self.world = batch_size, seed, arrays, rank, world
        for f in meta["files"] + ["text.safetensors"]:
            if not os.path.isfile(os.path.join(cache_dir, f)):
                raise WorldsmithError(f"data.latent_cache={cache_dir}: {f} is missing (delete the directory to rebuild)")
        self.files = [safe_open(os.path.join(cache_dir, f), framework="pt") for f in meta["files"]]
        self.index = [(fi, i) for fi, f in enumerate(self.files) for i in range(f.get_slice("prompt").get_shape()[0])]
        self.has_still = bool(self.files) and "still" in self.files[0].keys()  # anchor="still" caches
        if len(self.index) < world:
            raise WorldsmithError(f"{cache_dir}: {len(self.index)} cached windows for {world} ranks")
        with safe_open(os.path.join(cache_dir, "text.safetensors"), framework="pt") as f:
            hidden, mask = f.get_tensor("hidden"), f.get_tensor("mask")
        if pad_text_to and pad_text_to > hidden.shape[1]:  # back to the encoder's padded length
            pad = pad_text_to - hidden.shape[1]
            hidden = torch.nn.functional.pad(hidden, (0, 0, 0, pad))
            mask = torch.nn.functional.pad(mask, (0, pad))
        self.hidden, self.mask = hidden, mask
        self.epoch, self.pos = 0, 0
        self._order = self._epoch_order(0)

    def _epoch_order(self, epoch: int) -> np.ndarray:
        perm = np.random.default_rng([self.seed, epoch]).permutation(len(self.index))
        perm = perm[: len(perm) - len(perm) % self.world]  # the same number of windows on every rank
        return perm[self.rank::self.world]

    def __iter__(self):
        return self

    def _next_id(self) -> int:
        if self.pos >= len(self._order):
            self.epoch, self.pos = self.epoch + 1, 0
            self._order = self._epoch_order(self.epoch)
        self.pos += 1
        return int(self._order[self.pos - 1])

    def _get(self, name: str, fi: int, i: int) -> torch.Tensor:
        return self.files[fi].get_slice(name)[i:i + 1]

    def __next__(self) -> dict:
        ids = [self.index[self._next_id()] for _ in range(self.batch_size)]
        prompt = torch.cat([self._get("prompt", fi, i) for fi, i in ids])
        batch = {"latent": torch.cat([self._get("latent", fi, i) for fi, i in ids]),
                 "text": self.hidden[prompt], "text_mask": self.mask[prompt]}
        for a in self.arrays + (("still",) if self.has_still else ()):
            batch[a] = torch.cat([self._get(a, fi, i) for fi, i in ids])
        return batch

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "pos": self.pos}

    def load_state_dict(self, state: dict) -> None:
        self.epoch, self.pos = int(state["epoch"]), int(state["pos"])
        self._order = self._epoch_order(self.epoch)


def cached_batches(task, seed: int, rank: int, world: int) -> CachedBatches:
    """Build (rank 0; the other ranks wait) or reuse the task's cache -> `CachedBatches`."""
    from ..utils.device import resolve_device

    cache_dir = task.cfg.data.latent_cache
    dist = torch.distributed.is_available() and torch.distributed.is_initialized()
    if rank == 0:  # the frozen tokenizer runs on the training device (a GPU when there is one)
        meta = build_or_load(task, cache_dir, device=resolve_device(task.cfg.train.device))
    if dist:
        torch.distributed.barrier()
    if rank != 0:
        meta = build_or_load(task, cache_dir)
    return CachedBatches(cache_dir, meta, task.cfg.train.batch_size, seed, task.arrays, rank, world,
                         pad_text_to=task.text_encoder.max_length)
