"""`recaption_dataset`: write a simulator dataset's captions again with today's captioner.

A captioner fix (session 32: bounces are counted as landings, not contact onsets) changes the
words of clips already on disk. Their frames, arrays and meta are still right, and the meta
holds what a caption is written from (scenario, seed, params, outcome; an outcome field added
since is computed by running the stored parameters through the physics again, without
rendering: `sim.clip.caption_from_meta`). So this rewrites only the words: each shard with a
changed clip is copied with the new `<key>.json` member (the caption readers use) and swapped in
atomically, then the manifest. A killed run leaves every shard whole; run it again to finish (it
is idempotent). A shard that cannot be read is left as it is and reported; the rest go on.
Clips that did not come from the simulator, or whose meta lacks what a caption needs, keep
their caption and are counted as skipped. A latent cache built before refuses the
changed data by clip key (`train.latent_cache`), so training cannot mix old and new words.
"""

from __future__ import annotations

import json
import logging
import os
import tarfile

from ..data.format import MANIFEST, SHARD_DIR, add_member, clip_json, iter_shard_samples
from ..data.manifest import check_dataset_dir, load_manifest_rows, write_manifest
from ..data.writer import take_lock
from ..utils.atomic import atomic_path
from ..utils.errors import WorldsmithError
from ..utils.progress import progress
from .clip import caption_from_meta

log = logging.getLogger(__name__)


def _new_captions(rows: list[dict]) -> tuple[dict[str, str], list[dict]]:
    """({key: new caption} for the clips whose words change, [{key, reason}] for the skipped)."""
    changed, skipped = {}, []
    for r in rows:
        if r.get("source") != "sim":
            skipped.append({"key": r["key"], "reason": f"source {r.get('source')!r}, not the simulator"})
            continue
        try:
            caption = caption_from_meta(json.loads(r.get("meta_json") or "{}"))
        except (WorldsmithError, json.JSONDecodeError) as e:
            skipped.append({"key": r["key"], "reason": str(e)})
            continue
        if caption != r.get("caption"):
            changed[r["key"]] = caption
    return changed, skipped


def _rewrite_shard(path: str, changed: dict[str, str]) -> None:
    """Copy the shard with the changed clips' json members rewritten, then swap it in."""
    with atomic_path(path) as tmp:
        with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as out:
            for key, members in iter_shard_samples(path):
                if key in changed and "json" in members:
                    rec = json.loads(members["json"])
                    rec["caption"] = changed[key]
                    members["json"] = clip_json(rec)
                for ext, data in members.items():
                    add_member(out, f"{key}.{ext}", data)


def recaption_dataset(root: str, dry_run: bool = False) -> dict:
    """Write every simulator clip's caption again from its meta. Returns {"clips", "changed",
    "shards", "shards_rewritten", "skipped", "failed_shards", ...}; `dry_run` only counts. A shard
    that cannot be read is left as it is, its clips keep their words (in the manifest too), and it
    is listed in "failed_shards" with the reason; the rest are rewritten."""
    root = check_dataset_dir(root)
    manifest = os.path.join(root, MANIFEST)
    rows = load_manifest_rows(manifest)
    changed, skipped = _new_captions(rows)
    examples = [{"key": r["key"], "old": r.get("caption"), "new": changed[r["key"]]}
                for r in rows if r["key"] in changed][:3]
    shards = sorted({r["shard"] for r in rows if r["key"] in changed})
    summary = {"clips": len(rows), "changed": len(changed), "shards": len(shards), "shards_rewritten": 0,
               "skipped": len(skipped), "skipped_examples": skipped[:3], "failed_shards": [], "examples": examples}
    if dry_run or not changed:
        return summary
    lock = take_lock(root)
    try:
        failed = set()
        for shard in progress(shards, desc="recaption: shards", unit="shard"):
            path = os.path.join(root, SHARD_DIR, shard)
            try:
                _rewrite_shard(path, changed)
            except (tarfile.TarError, OSError, ValueError) as e:  # ValueError: a json member that is not JSON
                log.warning("recaption: %s left unchanged (%s)", path, e)
                summary["failed_shards"].append({"shard": shard, "reason": str(e) or type(e).__name__})
                failed.add(shard)
                continue
            summary["shards_rewritten"] += 1
        for r in rows:
            if r["shard"] not in failed:
                r["caption"] = changed.get(r["key"], r.get("caption"))
        write_manifest(manifest, rows)
        summary["changed"] = sum(1 for r in rows if r["key"] in changed and r["shard"] not in failed)
    finally:
        os.remove(lock)
    return summary
