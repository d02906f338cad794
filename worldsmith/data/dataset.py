"""ClipDataset: the training reader of a clip dataset (a torch IterableDataset).

Work is split over (rank, worker) pairs: reader `g = rank * num_workers + worker_id` of
`n = world_size * num_workers` takes shards `g, g + n, ...` of the (per-epoch shuffled)
shard list, or, when there are fewer shards than readers, clips `g, g + n, ...` of the
clip list. Readers therefore see disjoint clips that together cover the split once per
epoch. Shard-level splitting can give ranks unequal clip counts; use `loop=True` with a
fixed number of steps for DDP training so that no rank runs out first.
"""

from __future__ import annotations

import logging
import os
from typing import Iterator, Sequence

import numpy as np
import torch
from einops import rearrange
from torch.utils.data import IterableDataset, get_worker_info

from ..utils.errors import WorldsmithError
from .format import SHARD_DIR
from .reader import _check_split, _group_by_shard, iter_shard_clips, read_manifest

log = logging.getLogger(__name__)


def _parse_size(size) -> tuple[int, int] | None:
    if size is None:
        return None
    if isinstance(size, int) and not isinstance(size, bool):
        size = (size, size)
    try:
        h, w = (int(s) for s in size)
    except (TypeError, ValueError):
        raise WorldsmithError(f"size={size!r}: expected an int or (height, width)") from None
    if h < 1 or w < 1:
        raise WorldsmithError(f"size={size!r}: height and width must be >= 1")
    return h, w


class ClipDataset(IterableDataset):
    """Stream training windows from the clip dataset at `root`.

    Yields dicts: "video" float32 [C, T, H, W] in [-1, 1] (T = num_frames), "caption" str,
    "key" str, "fps" float (the clip's fps divided by `stride`), "start" int (first frame),
    and each requested array present in the dataset, sliced to the window (see
    `slice_array`). Requested arrays that no clip of the split has are left out.

    `size` (int = square, or (height, width)) resizes keeping the aspect ratio until the
    frames cover it, then centre-crops (`resize_cover_crop`), so every item has one shape.
    `rank`/`world_size` default to torch.distributed's when it is initialised, else 0/1.
    Call `set_epoch(e)` between epochs (or use `loop=True`) to reshuffle.
    """

    def __init__(self, root: str | os.PathLike, *, split: str = "train", num_frames: int = 33,
                 stride: int = 1, size: int | tuple[int, int] | None = None, shuffle: bool = True,
                 shuffle_buffer: int = 64, seed: int = 0, arrays: Sequence[str] = ("actions",),
                 loop: bool = False, rank: int | None = None, world_size: int | None = None):
        super().__init__()
        _check_split(split)
        for name, v in (("num_frames", num_frames), ("stride", stride), ("shuffle_buffer", shuffle_buffer)):
            if not isinstance(v, int) or v < 1:
                raise WorldsmithError(f"{name}={v!r}: expected an integer >= 1")
        if (rank is None) != (world_size is None):
            raise WorldsmithError("give both rank= and world_size= or neither")
        if world_size is not None and not (0 <= rank < world_size):
            raise WorldsmithError(f"rank={rank} is not in [0, world_size={world_size})")
        self.root = os.fspath(root)
        self.split, self.num_frames, self.stride = split, num_frames, stride
        self.size = _parse_size(size)
        self.shuffle, self.shuffle_buffer, self.seed, self.loop = shuffle, shuffle_buffer, int(seed), loop
        self._rank, self._world_size = rank, world_size
        self.epoch = 0

        rows = [r for r in read_manifest(self.root) if r["split"] == split]
        if not rows:
            raise WorldsmithError(f"{self.root}: split {split!r} has no clips")
        span = (num_frames - 1) * stride + 1
        short = [r for r in rows if int(r["frames"]) < span]
        if short:
            log.warning("%s: %d of %d %s clips have fewer than %d frames (num_frames=%d, stride=%d) "
                        "and are left out", self.root, len(short), len(rows), split, span, num_frames, stride)
            rows = [r for r in rows if int(r["frames"]) >= span]
            if not rows:
                raise WorldsmithError(f"{self.root}: no {split} clip has the {span} frames that "
                                      f"num_frames={num_frames}, stride={stride} need")
        have = {a for r in rows for a in r["arrays"]}
        self.arrays = tuple(a for a in arrays if a in have)
        self._required = {r["key"]: set(self.arrays) for r in rows}
        self.shards = _group_by_shard(rows)  # shard name -> keys, in shard order
        self.num_clips = len(rows)

    def set_epoch(self, epoch: int) -> None:
        """Use a different shuffle for each epoch (same on every rank)."""
        self.epoch = int(epoch)

    def rank_world(self) -> tuple[int, int]:
        """(rank, world_size): explicit, else torch.distributed's when initialised, else (0, 1)."""
        if self._world_size is not None:
            return self._rank, self._world_size
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            return torch.distributed.get_rank(), torch.distributed.get_world_size()
        return 0, 1

    def assignment(self, epoch: int, worker_id: int = 0, num_workers: int = 1) -> list[tuple[str, list[str]]]:
        """The (shard, keys) this reader handles in `epoch`: disjoint across readers."""
        rank, world = self.rank_world()
        g, n = rank * num_workers + worker_id, world * num_workers
        names = list(self.shards)
        if self.shuffle:  # same permutation on every reader (seeded by seed and epoch only)
            names = [names[i] for i in np.random.default_rng([self.seed, epoch]).permutation(len(names))]
        if len(names) >= n:
            return [(s, list(self.shards[s])) for s in names[g::n]]
        clips = [(s, k) for s in names for k in self.shards[s]][g::n]
        out: dict[str, list[str]] = {}
        for s, k in clips:
            out.setdefault(s, []).append(k)
        return list(out.items())

    def __iter__(self) -> Iterator[dict]:
        info = get_worker_info()
        wid, nw = (info.id, info.num_workers) if info is not None else (0, 1)
        epoch = self.epoch
        while True:
            produced = 0
            for item in self._iter_epoch(epoch, wid, nw):
                produced += 1
                yield item
            if not self.loop or produced == 0:  # nothing readable: stop instead of spinning
                if self.loop:
                    log.warning("%s: reader %d/%d has no readable clips", self.root, wid, nw)
                return
            epoch += 1

    def _iter_epoch(self, epoch: int, wid: int, nw: int) -> Iterator[dict]:
        rank, _ = self.rank_world()
        rng = np.random.default_rng([self.seed, epoch, rank, wid])
        buffer: list[dict] = []
        for sample in self._iter_windows(self.assignment(epoch, wid, nw), rng):
            if not self.shuffle:
                yield self._to_item(sample)
                continue
            buffer.append(sample)
            if len(buffer) >= self.shuffle_buffer:
                i = int(rng.integers(len(buffer)))
                buffer[i], buffer[-1] = buffer[-1], buffer[i]
                yield self._to_item(buffer.pop())
        rng.shuffle(buffer)
        for sample in buffer:
            yield self._to_item(sample)

    def _iter_windows(self, assignment, rng) -> Iterator[dict]:
        """Decode the assigned clips and cut one window from each (uint8, not yet resized)."""
        span = (self.num_frames - 1) * self.stride + 1
        for shard, keys in assignment:
            path = os.path.join(self.root, SHARD_DIR, shard)
            for clip in iter_shard_clips(path, set(keys), arrays=self.arrays):
                frames = clip["frames"]  # uint8 [T, H, W, C]
                t = frames.shape[0]
                missing = self._required[clip["key"]] - set(clip["arrays"])
                if t < span or missing:
                    log.warning("skipping clip %s in %s: %s", clip["key"], shard,
                                f"{t} frames < {span}" if t < span else f"no array {sorted(missing)}")
                    continue
                start = int(rng.integers(0, t - span + 1)) if self.shuffle else 0
                idx = np.arange(start, start + span, self.stride)
                arrays = {name: slice_array(clip["arrays"][name], idx, t) for name in self.arrays}
                window = frames[idx]  # uint8 [num_frames, H, W, C]
                if self.size is not None and window.shape[1:3] != self.size:
                    window = resize_cover_crop(window, self.size)  # before buffering: less memory
                yield {"frames": window, "caption": clip["caption"], "key": clip["key"],
                       "fps": clip["fps"] / self.stride, "start": start, "arrays": arrays}

    def _to_item(self, sample: dict) -> dict:
        frames = sample["frames"]  # uint8 [T, H, W, C], already resized
        video = torch.from_numpy(np.ascontiguousarray(frames)).float().div_(127.5).sub_(1.0)
        video = rearrange(video, "t h w c -> c t h w")
        item = {"video": video, "caption": sample["caption"], "key": sample["key"],
                "fps": float(sample["fps"]), "start": sample["start"]}
        for name, arr in sample["arrays"].items():
            item[name] = torch.from_numpy(np.ascontiguousarray(arr))
        return item


def resize_cover_crop(frames: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize uint8 [T, H, W, C] keeping aspect so that it covers `size` (h, w), then
    centre-crop to exactly `size`, so clips of any aspect ratio batch together."""
    from ..io import center_crop, resize_frames

    th, tw = size
    h, w = frames.shape[1:3]
    scale = max(th / h, tw / w)
    nh, nw = max(th, int(np.ceil(h * scale - 1e-6))), max(tw, int(np.ceil(w * scale - 1e-6)))
    if (nh, nw) != (h, w):
        frames = resize_frames(frames, (nh, nw))
    if (nh, nw) != (th, tw):
        frames = center_crop(frames, (th, tw))
    return frames


def slice_array(arr: np.ndarray, idx: np.ndarray, num_frames: int) -> np.ndarray:
    """Cut a clip array to the sampled frames `idx` (increasing, equally spaced).

    - T rows (per frame, e.g. states, depth): the rows at `idx` -> [len(idx), ...].
    - T - 1 rows (per transition, e.g. actions from frame t to t+1): the rows between the
      first and last sampled frame, grouped per sampled step -> [len(idx) - 1, stride * D]
      for 2-D arrays (stride = 1 gives [len(idx) - 1, D]), [len(idx) - 1, stride, ...] otherwise.
    - any other length (per clip): returned whole.
    """
    if arr.ndim == 0:
        return arr
    if arr.shape[0] == num_frames:
        return arr[idx]
    if arr.shape[0] == num_frames - 1:
        stride = int(idx[1] - idx[0]) if len(idx) > 1 else 1
        rows = arr[idx[0]: idx[-1]]  # [(n - 1) * stride, ...]
        if arr.ndim == 2:
            return rearrange(rows, "(n s) d -> n (s d)", s=stride)
        if stride == 1:
            return rows
        return rearrange(rows, "(n s) ... -> n s ...", s=stride)
    return arr
