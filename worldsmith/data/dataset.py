"""ClipDataset: the training reader of a clip dataset (a torch IterableDataset).

Work is split over (rank, worker) pairs: reader `g = rank * num_workers + worker_id` of
`n = world_size * num_workers` takes shards `g, g + n, ...` of the (per-epoch shuffled)
shard list, or, when there are fewer shards than readers, clips `g, g + n, ...` of the
clip list. Readers therefore see disjoint clips that together cover the split once per
epoch. Shard-level splitting can give ranks unequal clip counts; use `loop=True` with a
fixed number of steps for DDP training so that no rank runs out first.

The shuffle buffer holds samples still compressed (MP4 bytes), and a clip is decoded only
when it leaves the buffer. All random draws (buffer picks, window starts from the
manifest's frame counts) are independent of decoding, which lets `ClipLoader` resume a
run exactly by skipping the consumed clips without decoding them.
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
from .reader import _CLIP_ERRORS, _check_split, _group_by_shard, decode_clip, iter_shard_clips, read_manifest

log = logging.getLogger(__name__)

# Loader workers start in a clean interpreter, not by fork: with PyAV 18.1.1 (not 18.1.0), once the
# parent has decoded a video, a forked worker hangs for good in its first decode (seen in CI, and
# reproduced by the dataset tests), and fork-after-threads is unsafe in general. `ClipLoader` uses
# this unless given another `multiprocessing_context`; pass the same to a plain
# `torch.utils.data.DataLoader` over a ClipDataset. sim and curate spawn too.
WORKER_START_METHOD = "spawn"


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
                 loop: bool = False, rank: int | None = None, world_size: int | None = None,
                 decoded_cache_mb: float = 0.0):
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
        self._frames = {r["key"]: int(r["frames"]) for r in rows}
        self.num_clips = len(rows)
        self._resume_batches = (0, 0)  # (batches consumed, batch size), set by ClipLoader
        # decoded clips kept in memory (per reader) up to this many MiB, so later epochs skip
        # the video decode; the random draws do not depend on it, so batches are the same
        if not isinstance(decoded_cache_mb, (int, float)) or decoded_cache_mb < 0:
            raise WorldsmithError(f"decoded_cache_mb={decoded_cache_mb!r}: expected a number >= 0")
        self.decoded_cache_mb = float(decoded_cache_mb)
        self._decoded: dict[str, dict] = {}
        self._decoded_bytes = 0

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

    def __getstate__(self) -> dict:
        """Pickled for a spawned loader worker, which has no process group of its own: carry the
        (rank, world_size) the parent sees, so ranks still read disjoint clips."""
        state = self.__dict__.copy()
        if state.get("_world_size") is None:
            state["_rank"], state["_world_size"] = self.rank_world()
        return state

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
        # resume (ClipLoader): this reader's share of the batches already consumed, skipped
        # without decoding; the DataLoader takes batches from its workers in turn
        done, batch = self._resume_batches
        skip = [((done - wid + nw - 1) // nw) * batch if done > wid else 0]
        epoch = self.epoch
        while True:
            produced, to_skip = 0, skip[0]
            for item in self._iter_epoch(epoch, wid, nw, skip):
                produced += 1
                yield item
            if not self.loop or (produced == 0 and skip[0] == to_skip):
                if self.loop:  # nothing readable: stop instead of spinning
                    log.warning("%s: reader %d/%d has no readable clips", self.root, wid, nw)
                return
            epoch += 1

    def _iter_epoch(self, epoch: int, wid: int, nw: int, skip: list[int]) -> Iterator[dict]:
        """One pass over this reader's clips. The random draws (buffer picks, window starts)
        do not depend on decoding, so skipped items cost only reading their bytes."""
        rank, _ = self.rank_world()
        rng = np.random.default_rng([self.seed, epoch, rank, wid])
        span = (self.num_frames - 1) * self.stride + 1
        for raw in self._shuffled(self._iter_raw(self.assignment(epoch, wid, nw)), rng):
            t = self._frames[raw["key"]]  # from the manifest, so no decode is needed to draw
            start = int(rng.integers(0, t - span + 1)) if self.shuffle else 0
            if skip[0] > 0:
                skip[0] -= 1
                continue
            item = self._make_item(raw, start, span)
            if item is not None:
                yield item

    def _iter_raw(self, assignment) -> Iterator[dict]:
        """The assigned clips' tar members ({"key", "members", "shard"}), not decoded."""
        for shard, keys in assignment:
            for raw in iter_shard_clips(os.path.join(self.root, SHARD_DIR, shard), set(keys), decode=False):
                raw["shard"] = shard
                yield raw

    def _shuffled(self, samples: Iterator[dict], rng: np.random.Generator) -> Iterator[dict]:
        """A seeded shuffle buffer over still-compressed samples (small in memory)."""
        if not self.shuffle:
            yield from samples
            return
        buffer: list[dict] = []
        for sample in samples:
            buffer.append(sample)
            if len(buffer) >= self.shuffle_buffer:
                i = int(rng.integers(len(buffer)))
                buffer[i], buffer[-1] = buffer[-1], buffer[i]
                yield buffer.pop()
        rng.shuffle(buffer)
        yield from buffer

    def _make_item(self, raw: dict, start: int, span: int) -> dict | None:
        """Decode one clip, cut the window at `start`, resize -> item; None if damaged."""
        key, shard = raw["key"], raw["shard"]
        clip = self._decoded.get(key)
        if clip is None:
            try:
                clip = decode_clip(key, raw["members"], self.arrays, where=f"{shard}:")
            except _CLIP_ERRORS as e:
                log.warning("skipping corrupt clip %s in %s: %s", key, shard,
                            str(e).splitlines()[0] if str(e) else type(e).__name__)
                return None
            size = clip["frames"].nbytes + sum(a.nbytes for a in clip["arrays"].values())
            if self._decoded_bytes + size <= self.decoded_cache_mb * 2**20:
                self._decoded[key] = clip
                self._decoded_bytes += size
        frames = clip["frames"]  # uint8 [T, H, W, C]
        t = frames.shape[0]
        missing = self._required[key] - set(clip["arrays"])
        if t < start + span or missing:
            log.warning("skipping clip %s in %s: %s", key, shard,
                        f"no array {sorted(missing)}" if missing else f"{t} frames < {start + span}")
            return None
        idx = np.arange(start, start + span, self.stride)
        window = frames[idx]  # uint8 [num_frames, H, W, C]
        if self.size is not None and window.shape[1:3] != self.size:
            window = resize_cover_crop(window, self.size)
        # in numpy (single-threaded): torch's threaded elementwise ops stall on a busy CPU
        video = rearrange(window, "t h w c -> c t h w").astype(np.float32, order="C")  # [C, T, H, W]
        video /= 127.5
        video -= 1.0
        video = torch.from_numpy(video)
        item = {"video": video, "caption": clip["caption"], "key": key,
                "fps": clip["fps"] / self.stride, "start": start}
        for name in self.arrays:
            item[name] = torch.from_numpy(np.ascontiguousarray(slice_array(clip["arrays"][name], idx, t)))
        return item


class ClipLoader:
    """Endless batches of a looping ClipDataset through a DataLoader, with exact resume.

    `state_dict()` records how many batches were consumed; `load_state_dict()` makes the
    next iteration continue with exactly the batch that came next, skipping the consumed
    clips without decoding them (the trainer checkpoints this as the data position).
    Resume needs the same dataset arguments, batch size and worker count. It is exact
    unless a clip in the skipped part is damaged (then the stream is one clip off).
    """

    def __init__(self, dataset: ClipDataset, *, batch_size: int, num_workers: int = 0, **loader_kwargs):
        if not isinstance(dataset, ClipDataset) or not dataset.loop:
            raise WorldsmithError("ClipLoader needs a ClipDataset with loop=True (an endless stream)")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise WorldsmithError(f"batch_size={batch_size!r}: expected an integer >= 1")
        if not isinstance(num_workers, int) or num_workers < 0:
            raise WorldsmithError(f"num_workers={num_workers!r}: expected an integer >= 0")
        self.dataset, self.batch_size, self.num_workers = dataset, batch_size, num_workers
        self.loader_kwargs = loader_kwargs
        self.batches = 0
        self._it = None

    def __iter__(self) -> "ClipLoader":
        return self

    def __next__(self) -> dict:
        if self._it is None:
            from torch.utils.data import DataLoader

            # workers get a copy of the dataset when the iterator starts: set the skip first
            self.dataset._resume_batches = (self.batches, self.batch_size)
            kwargs = dict(self.loader_kwargs)
            if self.num_workers > 0:  # see WORKER_START_METHOD
                kwargs.setdefault("multiprocessing_context", WORKER_START_METHOD)
            self._it = iter(DataLoader(self.dataset, batch_size=self.batch_size,
                                       num_workers=self.num_workers, **kwargs))
        batch = next(self._it)
        self.batches += 1
        return batch

    def state_dict(self) -> dict:
        """The data position: batches consumed, and the settings resume must match."""
        return {"batches": self.batches, "batch_size": self.batch_size, "num_workers": self.num_workers,
                "seed": self.dataset.seed, "epoch": self.dataset.epoch}

    def load_state_dict(self, state: dict) -> None:
        """Continue after `state["batches"]` batches (the next `next()` restarts the workers)."""
        current = {"batch_size": self.batch_size, "num_workers": self.num_workers,
                   "seed": self.dataset.seed, "epoch": self.dataset.epoch}
        for name, value in current.items():
            if name in state and state[name] != value:
                raise WorldsmithError(f"data state: saved with {name}={state[name]}, but this loader has "
                                      f"{name}={value}; resume with the same data settings")
        self.batches = int(state["batches"])
        self._it = None


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
