"""Reading clip datasets: the manifest, raw clip records, a summary, and the training reader.

`ClipDataset` is a torch `IterableDataset`. Each (rank, worker) pair gets a disjoint part
of the split: whole shards when there are at least as many shards as readers, else every
`n`-th clip. It shuffles shard order per epoch and clips through a seeded buffer, samples
a window of `num_frames` frames `stride` apart, resizes, and yields
``{"video": float [C, T, H, W] in [-1, 1], "caption", "key", "fps", <arrays>}``.
A corrupt clip or shard is skipped with a warning that names it.
"""

from __future__ import annotations

import json
import logging
import os
import tarfile
import zipfile
from collections import OrderedDict
from typing import Iterator, Sequence


from ..utils.errors import WorldsmithError
from .format import MANIFEST, SHARD_DIR, SPLITS, iter_shard_samples, load_array
from .manifest import check_dataset_dir, compute_stats, load_manifest_rows, read_dataset_json

log = logging.getLogger(__name__)

# errors that mean "this clip's bytes are damaged" (VideoError is a WorldsmithError)
_CLIP_ERRORS = (WorldsmithError, ValueError, OSError, KeyError, EOFError, zipfile.BadZipFile)
_SHARD_ERRORS = (tarfile.TarError, OSError, EOFError)


def read_manifest(root: str | os.PathLike) -> list[dict]:
    """All manifest rows of the clip dataset at `root` (one dict per clip)."""
    root = check_dataset_dir(root)
    return load_manifest_rows(os.path.join(root, MANIFEST))


def _check_split(split: str | None) -> None:
    if split is not None and split not in SPLITS:
        raise WorldsmithError(f"split={split!r}: expected one of {', '.join(SPLITS)}")


def _group_by_shard(rows: list[dict]) -> "OrderedDict[str, list[str]]":
    groups: OrderedDict[str, list[str]] = OrderedDict()
    for r in sorted(rows, key=lambda r: r["shard"]):
        groups.setdefault(r["shard"], []).append(r["key"])
    return groups


def decode_clip(key: str, members: dict[str, bytes], arrays: Sequence[str] | None = None,
                where: str = "") -> dict:
    """Decode one sample's tar members -> {"key", "frames" uint8 [T,H,W,C], "arrays", "meta", ...}.

    `arrays=None` loads every array; otherwise only the named ones present. Raises on damage.
    """
    from ..io import decode_video

    if "mp4" not in members:
        raise ValueError("no .mp4 member")
    rec = json.loads(members["json"]) if "json" in members else {}
    frames = decode_video(members["mp4"], name=f"{where}{key}.mp4")
    out_arrays = {}
    for ext, data in members.items():
        if not ext.endswith(".npy"):
            continue
        name = ext[: -len(".npy")]
        if arrays is None or name in arrays:
            try:
                out_arrays[name] = load_array(data)
            except (ValueError, OSError, EOFError, zipfile.BadZipFile) as e:
                raise ValueError(f"{where}{key}.{ext}: cannot load array ({e})") from None
    return {"key": key, "frames": frames, "fps": float(rec.get("fps") or 0.0),
            "caption": rec.get("caption", ""), "source": rec.get("source", ""),
            "split": rec.get("split"), "meta": rec.get("meta") or {}, "arrays": out_arrays}


def iter_shard_clips(path: str, keys: set[str] | None = None,
                     decode: bool = True, arrays: Sequence[str] | None = None) -> Iterator[dict]:
    """Clips of one shard (only `keys` if given), skipping damaged ones with a warning.

    With `decode=False` yields {"key", "members": {ext: bytes}} without decoding anything.
    """
    name = os.path.basename(path)
    if not os.path.isfile(path):
        log.warning("shard %s is missing; skipping its clips", path)
        return
    seen: set[str] = set()
    try:
        for key, members in iter_shard_samples(path):
            if keys is not None and key not in keys:
                continue
            seen.add(key)
            if not decode:
                yield {"key": key, "members": members}
                continue
            try:
                clip = decode_clip(key, members, arrays, where=f"{name}:")
            except _CLIP_ERRORS as e:
                log.warning("skipping corrupt clip %s in %s: %s", key, name, str(e).splitlines()[0] if str(e) else type(e).__name__)
                continue
            clip["shard"] = name
            yield clip
    except _SHARD_ERRORS as e:
        log.warning("shard %s is corrupt (%s); skipping the rest of it", path, e)
        return
    lost = sorted(keys - seen) if keys is not None else []
    if lost:  # e.g. a tar cut exactly between two clips reads as a shorter, valid tar
        log.warning("shard %s lacks %d clip(s) the manifest lists: %s", path, len(lost), ", ".join(lost[:5]))


def iter_clips(root: str | os.PathLike, split: str | None = None, keys: set[str] | None = None) -> Iterator[dict]:
    """Raw records of every clip (in manifest shard order), optionally of one split and/or
    only the clips named in `keys` (their shards alone are read).

    Each record: {"key", "frames" uint8 [T,H,W,C], "fps", "caption", "source", "split",
    "meta" dict, "arrays" {name: np.ndarray}, "shard"}. Damaged clips are skipped with a warning.
    """
    _check_split(split)
    root = os.fspath(root)
    rows = [r for r in read_manifest(root) if (split is None or r["split"] == split)
            and (keys is None or r["key"] in keys)]
    for shard, shard_keys in _group_by_shard(rows).items():
        yield from iter_shard_clips(os.path.join(root, SHARD_DIR, shard), set(shard_keys))


def dataset_info(root: str | os.PathLike) -> dict:
    """A summary of the dataset at `root`: counts, durations, resolutions, captions sample."""
    root = os.fspath(root)
    rows = read_manifest(root)
    meta = read_dataset_json(root)
    summary = compute_stats(rows)
    captions = [r["caption"] for r in rows if r.get("caption")]
    shards = sorted({r["shard"] for r in rows})
    missing = [s for s in shards if not os.path.isfile(os.path.join(root, SHARD_DIR, s))]
    return {
        "root": root,
        "format_version": meta.get("format_version"),
        "complete": meta.get("complete"),
        "split_fractions": meta.get("split_fractions"),
        "counts": summary["counts"],
        "stats": summary["stats"],
        "missing_shards": missing,
        "num_failures": meta.get("num_failures", 0),
        "failures_sample": (meta.get("failures") or [])[:3],
        "captions_sample": captions[:5],
        "info": meta.get("info") or {},
    }
