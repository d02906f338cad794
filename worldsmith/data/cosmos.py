"""Import from and export to the Cosmos post-training layout.

Cosmos-Predict post-training reads ``DIR/videos/<stem>.mp4`` with one caption per clip in
``DIR/metas/<stem>.txt`` (same stem). Import stores each MP4 unchanged (no re-encode) in a
clip dataset, with the caption and ``meta["cosmos_stem"]`` so that export restores the
original file names. Export copies the MP4 bytes out of the shards, again unchanged.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os

from ..utils.atomic import atomic_write_bytes, atomic_write_text
from ..utils.errors import WorldsmithError, require_dir
from ..utils.progress import progress
from .format import SHARD_DIR, check_fractions, sanitize_key
from .reader import _check_split, _group_by_shard, iter_shard_clips, read_manifest
from .writer import ClipWriter

log = logging.getLogger(__name__)


def _read_caption(metas: str, stem: str) -> str | None:
    """Caption from metas/<stem>.txt, or from a `caption`/`prompt` field of metas/<stem>.json."""
    txt = os.path.join(metas, stem + ".txt")
    if os.path.isfile(txt):
        with open(txt, encoding="utf-8", errors="replace") as f:
            return f.read().strip()
    js = os.path.join(metas, stem + ".json")
    if os.path.isfile(js):
        try:
            with open(js, encoding="utf-8") as f:
                data = json.load(f)
        except (OSError, json.JSONDecodeError):
            return None
        if isinstance(data, dict):
            for field in ("caption", "prompt", "text"):
                if isinstance(data.get(field), str):
                    return data[field].strip()
    return None


def _unique_keys(stems: list[str]) -> dict[str, str]:
    """stem -> key; stems that sanitise to the same key get a short hash suffix."""
    keys: dict[str, str] = {}
    taken: set[str] = set()
    for stem in stems:
        key = sanitize_key(stem)
        if key in taken:
            key = f"{key}-{hashlib.blake2b(stem.encode(), digest_size=4).hexdigest()}"
        taken.add(key)
        keys[stem] = key
    return keys


def import_cosmos(src: str | os.PathLike, out: str | os.PathLike, *, shard_max_clips: int = 64,
                  split_fractions=(0.9, 0.05, 0.05), source: str = "cosmos") -> dict:
    """Import a Cosmos post-training folder (videos/*.mp4 + metas/*.txt) into a clip dataset.

    Resumable: clips already in `out` are skipped. A video that cannot be read is recorded
    in `out`/failures.jsonl and the rest are imported. Returns {"added", "skipped", "failed",
    "missing_caption"}.
    """
    from ..io import VideoError, probe_video

    src = require_dir(src, "Cosmos dataset directory")
    videos = os.path.join(src, "videos")
    metas = os.path.join(src, "metas")
    if not os.path.isdir(videos):
        raise WorldsmithError(f"{src}: not a Cosmos post-training dataset (no videos/ folder)")
    if not os.path.isdir(metas):
        raise WorldsmithError(f"{src}: not a Cosmos post-training dataset (no metas/ folder)")
    stems = sorted(os.path.splitext(n)[0] for n in os.listdir(videos) if n.lower().endswith(".mp4"))
    if not stems:
        raise WorldsmithError(f"{videos}: no .mp4 files")
    check_fractions(split_fractions)
    keys = _unique_keys(stems)
    counts = {"added": 0, "skipped": 0, "failed": 0, "missing_caption": 0}
    with ClipWriter(out, shard_max_clips=shard_max_clips, split_fractions=split_fractions,
                    info={"imported_from": os.path.abspath(src), "import_format": "cosmos"}) as w:
        for stem in progress(stems, desc="import-cosmos", unit="clip"):
            key = keys[stem]
            if w.has(key):
                counts["skipped"] += 1
                continue
            path = os.path.join(videos, stem + ".mp4")
            caption = _read_caption(metas, stem)
            if caption is None:
                counts["missing_caption"] += 1
                log.warning("no caption for %s (metas/%s.txt missing); importing with an empty caption",
                            path, stem)
            try:
                fps = probe_video(path).fps
                with open(path, "rb") as f:
                    data = f.read()
            except (VideoError, OSError) as e:
                w.add_failure(key, str(e) if isinstance(e, VideoError) else f"{path}: {e}")
                counts["failed"] += 1
                continue
            ok = w.add(key, mp4_bytes=data, fps=fps, caption=caption or "", source=source,
                       meta={"cosmos_stem": stem})
            counts["added" if ok else "failed"] += 1
    return counts


def _export_stem(key: str, meta_json: str, used: set[str]) -> str:
    """The file stem for a clip: its original Cosmos stem when safe and unused, else its key."""
    try:
        stem = json.loads(meta_json or "{}").get("cosmos_stem")
    except (json.JSONDecodeError, AttributeError):
        stem = None
    if not isinstance(stem, str) or not stem or "/" in stem or "\\" in stem or stem.startswith(".") \
            or stem in used:
        stem = key
    if stem in used:  # another clip's original stem equals this key
        stem = f"{key}-{hashlib.blake2b(key.encode(), digest_size=4).hexdigest()}"
    used.add(stem)
    return stem


def export_cosmos(root: str | os.PathLike, dst: str | os.PathLike, *, split: str | None = None) -> dict:
    """Write the clips of `root` (one split, or all) as DST/videos/<stem>.mp4 + DST/metas/<stem>.txt.

    MP4 bytes are copied unchanged; files are written atomically, so a re-run completes an
    interrupted export. Returns {"written", "failed"}; damaged clips are skipped with a warning.
    """
    _check_split(split)
    root = os.fspath(root)
    rows = [r for r in read_manifest(root) if split is None or r["split"] == split]
    if not rows:
        raise WorldsmithError(f"{root}: no clips{f' in split {split!r}' if split else ''} to export")
    dst = os.fspath(dst)
    if os.path.exists(dst) and not os.path.isdir(dst):
        raise WorldsmithError(f"--out {dst}: exists and is not a directory")
    os.makedirs(os.path.join(dst, "videos"), exist_ok=True)
    os.makedirs(os.path.join(dst, "metas"), exist_ok=True)
    by_key = {r["key"]: r for r in rows}
    used: set[str] = set()
    stems = {r["key"]: _export_stem(r["key"], r.get("meta_json"), used) for r in rows}
    written = 0
    bar = progress(total=len(rows), desc="export-cosmos", unit="clip")
    for shard, keys in _group_by_shard(rows).items():
        for clip in iter_shard_clips(os.path.join(root, SHARD_DIR, shard), set(keys), decode=False):
            key, stem = clip["key"], stems[clip["key"]]
            mp4 = clip["members"].get("mp4")
            if not mp4:
                log.warning("skipping clip %s in %s: no .mp4 member", key, shard)
                continue
            vpath, mpath = os.path.join(dst, "videos", stem + ".mp4"), os.path.join(dst, "metas", stem + ".txt")
            atomic_write_bytes(vpath, mp4)
            atomic_write_text(mpath, by_key[key]["caption"] + "\n")
            for p in (vpath, mpath):
                os.chmod(p, 0o644)  # the temp files were 0600
            written += 1
            bar.update(1)
    bar.close()
    return {"written": written, "failed": len(rows) - written}
