"""manifest.parquet and dataset.json: reading, writing and the summary statistics."""

from __future__ import annotations

import json
import os
import time
from collections import Counter

from ..utils.atomic import atomic_path, atomic_write_json
from ..utils.errors import WorldsmithError, require_dir
from .format import (DATASET_JSON, FAILURES, FORMAT_NAME, FORMAT_VERSION, MANIFEST,
                     MANIFEST_COLUMNS, SPLITS)


def _schema():
    import pyarrow as pa

    return pa.schema([
        ("key", pa.string()), ("shard", pa.string()), ("frames", pa.int64()),
        ("fps", pa.float64()), ("height", pa.int64()), ("width", pa.int64()),
        ("duration", pa.float64()), ("caption", pa.string()), ("source", pa.string()),
        ("split", pa.string()), ("meta_json", pa.string()), ("arrays", pa.list_(pa.string())),
    ])


def write_manifest(path: str, rows: list[dict]) -> None:
    """Write `rows` (dicts with MANIFEST_COLUMNS) to `path` as parquet, atomically."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    cols = {c: [r.get(c) for r in rows] for c in MANIFEST_COLUMNS}
    cols["arrays"] = [list(a or []) for a in cols["arrays"]]
    table = pa.table(cols, schema=_schema())
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)


def load_manifest_rows(path: str) -> list[dict]:
    """Read manifest.parquet into a list of dicts; one clear error line if it is unreadable."""
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (OSError, ValueError) as e:  # pyarrow raises ArrowInvalid (a ValueError) on garbage
        raise WorldsmithError(f"manifest {path}: cannot read ({str(e).splitlines()[0]})") from None
    missing = [c for c in ("key", "shard", "frames", "fps", "split") if c not in table.column_names]
    if missing:
        raise WorldsmithError(f"manifest {path}: missing columns {', '.join(missing)}")
    rows = table.to_pylist()
    for r in rows:
        r.setdefault("arrays", [])
        r["arrays"] = list(r.get("arrays") or [])
        r.setdefault("meta_json", "{}")
    return rows


def check_dataset_dir(root: str | os.PathLike) -> str:
    """Return `root` as str if it is a clip-dataset directory, else raise one clear line."""
    root = require_dir(root, "clip dataset directory")
    has_json = os.path.isfile(os.path.join(root, DATASET_JSON))
    has_manifest = os.path.isfile(os.path.join(root, MANIFEST))
    if not has_json and not has_manifest:
        raise WorldsmithError(f"{root}: not a clip dataset (no {DATASET_JSON} or {MANIFEST}; "
                              "create one with ClipWriter or `worldsmith data import-cosmos`)")
    if not has_manifest:
        raise WorldsmithError(f"{root}: clip dataset has no {MANIFEST} (no shard was finished yet)")
    return root


def read_dataset_json(root: str) -> dict:
    """dataset.json as a dict ({} when absent); a clear error when it is not valid JSON."""
    path = os.path.join(root, DATASET_JSON)
    if not os.path.isfile(path):
        return {}
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        raise WorldsmithError(f"{path}: cannot parse ({str(e).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise WorldsmithError(f"{path}: expected a JSON object")
    version = data.get("format_version", FORMAT_VERSION)
    if isinstance(version, int) and version > FORMAT_VERSION:
        raise WorldsmithError(f"{path}: format_version {version} is newer than this worldsmith "
                              f"understands ({FORMAT_VERSION}); upgrade worldsmith")
    return data


def read_failures(root: str) -> list[dict]:
    """failures.jsonl as a list of {"key", "reason", ...}; unparseable lines are skipped."""
    path = os.path.join(root, FAILURES)
    out: list[dict] = []
    if not os.path.isfile(path):
        return out
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut by a kill: ignore it
            if isinstance(rec, dict) and "key" in rec:
                out.append(rec)
    return out


def compute_stats(rows: list[dict]) -> dict:
    """Counts, total frames/duration, resolutions, fps values and array names over `rows`."""
    counts = {s: 0 for s in SPLITS}
    for r in rows:
        counts[r["split"]] = counts.get(r["split"], 0) + 1
    counts["total"] = len(rows)
    res = Counter(f"{r['width']}x{r['height']}" for r in rows)
    fps = Counter(round(float(r["fps"]), 3) for r in rows)
    arrays = Counter(a for r in rows for a in (r.get("arrays") or []))
    durations = [float(r["duration"]) for r in rows]
    stats = {
        "total_frames": int(sum(int(r["frames"]) for r in rows)),
        "total_duration_s": round(sum(durations), 3),
        "min_duration_s": round(min(durations), 3) if durations else 0.0,
        "max_duration_s": round(max(durations), 3) if durations else 0.0,
        "resolutions": dict(res.most_common()),
        "fps": {str(k): v for k, v in fps.most_common()},
        "arrays": dict(arrays.most_common()),
        "sources": dict(Counter(r.get("source") or "" for r in rows).most_common()),
        "shards": len({r["shard"] for r in rows}),
    }
    return {"counts": counts, "stats": stats}


def write_dataset_json(root: str, rows: list[dict], failures: list[dict], info: dict,
                       split_fractions, complete: bool) -> None:
    """Write dataset.json atomically from the current manifest rows and failures."""
    summary = compute_stats(rows)
    atomic_write_json(os.path.join(root, DATASET_JSON), {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "complete": complete,
        "updated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "split_fractions": list(split_fractions),
        "counts": summary["counts"],
        "stats": summary["stats"],
        "num_failures": len(failures),
        "failures": failures,
        "info": info,
    })
