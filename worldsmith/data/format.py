"""The clip-dataset format: names, the stable split, array (de)serialisation, tar shards.

On disk a clip dataset is a directory::

    DIR/dataset.json        format_version, counts per split, stats, failures, info
    DIR/manifest.parquet    one row per clip in a *finished* shard (see MANIFEST_COLUMNS)
    DIR/shards/shard-000000.tar   webdataset layout, members grouped by key:
        <key>.mp4           H.264 clip
        <key>.json          the clip's manifest row plus `meta` and `arrays` (name -> shape, dtype)
        <key>.<name>.npy    optional arrays (actions, states, depth, seg, ...)
    DIR/failures.jsonl      items that could not be written, one {"key", "reason"} per line

Arrays are kept compressed: each `<key>.<name>.npy` member holds the bytes of
`np.savez_compressed(f, arr=array)` (a zip with one entry). The `.npy` name is kept so that
names match the webdataset convention; `np.load` reads either flavour, and `load_array`
below accepts both plain `.npy` bytes and the compressed form.

Keys are the webdataset sample keys, so they may not contain "." or "/" (everything
before the first dot of a member name is the key).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import tarfile
import time
from typing import Iterator

import numpy as np

from ..utils.errors import WorldsmithError

FORMAT_VERSION = 1
FORMAT_NAME = "worldsmith-clips"
DATASET_JSON = "dataset.json"
MANIFEST = "manifest.parquet"
FAILURES = "failures.jsonl"
SHARD_DIR = "shards"
SPLITS = ("train", "val", "test")

# manifest.parquet columns, in order; `arrays` lists the names of the clip's arrays
MANIFEST_COLUMNS = ("key", "shard", "frames", "fps", "height", "width", "duration",
                    "caption", "source", "split", "meta_json", "arrays")

_KEY_RE = re.compile(r"^[A-Za-z0-9_\-][A-Za-z0-9_\-]*$")
_ARRAY_NAME_RE = re.compile(r"^[A-Za-z0-9_\-]+$")


def check_key(key: object) -> str:
    """Return `key` if it is a valid sample key (letters, digits, '_' and '-'), else raise."""
    if not isinstance(key, str) or not _KEY_RE.match(key):
        raise WorldsmithError(f"clip key {key!r}: use only letters, digits, '_' and '-' "
                              "(no '.', '/' or spaces: it is the webdataset sample key)")
    return key


def sanitize_key(stem: str) -> str:
    """Turn a file stem into a valid key (invalid characters become '_')."""
    key = re.sub(r"[^A-Za-z0-9_\-]", "_", stem)
    return key or "clip"


def check_array_name(name: object) -> str:
    """Array names become part of member names (`<key>.<name>.npy`): same rules as keys."""
    if not isinstance(name, str) or not _ARRAY_NAME_RE.match(name) or name in ("mp4", "json"):
        raise WorldsmithError(f"array name {name!r}: use letters, digits, '_' and '-' (not mp4/json)")
    return name


def split_for_key(key: str, fractions: tuple[float, float, float] = (0.9, 0.05, 0.05)) -> str:
    """The split ('train' | 'val' | 'test') of `key`: blake2b(key) mapped to [0, 1).

    Stable across runs, machines and Python versions, and independent of the other keys,
    so adding clips never moves an existing clip to another split.
    """
    fr = check_fractions(fractions)
    h = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
    u = int.from_bytes(h, "big") / 2.0**64  # uniform in [0, 1)
    if u < fr[0]:
        return "train"
    if u < fr[0] + fr[1]:
        return "val"
    return "test"


def check_fractions(fractions) -> tuple[float, float, float]:
    """Validate (train, val, test) fractions: three non-negative numbers summing to 1."""
    try:
        fr = tuple(float(f) for f in fractions)
    except (TypeError, ValueError):
        raise WorldsmithError(f"split_fractions {fractions!r}: expected three numbers") from None
    if len(fr) != 3 or any(f < 0 for f in fr) or abs(sum(fr) - 1.0) > 1e-6:
        raise WorldsmithError(f"split_fractions {fractions!r}: expected three non-negative "
                              "numbers (train, val, test) that sum to 1")
    return fr  # type: ignore[return-value]


def dump_array(arr: np.ndarray) -> bytes:
    """Bytes stored under `<key>.<name>.npy`: a compressed npz with one entry `arr`."""
    buf = io.BytesIO()
    np.savez_compressed(buf, arr=np.ascontiguousarray(arr))
    return buf.getvalue()


def load_array(data: bytes) -> np.ndarray:
    """Inverse of `dump_array`; also accepts plain `.npy` bytes. Never unpickles."""
    if not (data[:2] == b"PK" or data[:6] == b"\x93NUMPY"):
        raise ValueError("not .npy or compressed .npz array bytes")
    obj = np.load(io.BytesIO(data), allow_pickle=False)
    if isinstance(obj, np.lib.npyio.NpzFile):
        with obj:
            names = obj.files
            if len(names) != 1:
                raise ValueError(f"compressed array holds {len(names)} entries, expected 1")
            return obj[names[0]]
    return obj


def shard_name(index: int) -> str:
    """`shard-000042.tar`."""
    return f"shard-{index:06d}.tar"


def shard_index(name: str) -> int | None:
    """Inverse of `shard_name`; None for other names."""
    m = re.fullmatch(r"shard-(\d{6,})\.tar", name)
    return int(m.group(1)) if m else None


def split_member_name(name: str) -> tuple[str, str]:
    """'clip_01.actions.npy' -> ('clip_01', 'actions.npy'): key = text before the first dot."""
    base = os.path.basename(name)
    key, _, ext = base.partition(".")
    return key, ext


def add_member(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    """Append one regular-file member to an open tar."""
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(time.time())
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


def iter_shard_samples(path: str) -> Iterator[tuple[str, dict[str, bytes]]]:
    """Yield (key, {ext: bytes}) from a webdataset tar, members of one key grouped.

    Reads the tar as a stream (bounded memory). A truncated or corrupt tar raises
    `tarfile.TarError` / `OSError` after the good samples before the damage were yielded.
    """
    current: str | None = None
    members: dict[str, bytes] = {}
    with tarfile.open(path, "r|") as tar:
        for info in tar:
            if not info.isfile():
                continue
            key, ext = split_member_name(info.name)
            f = tar.extractfile(info)
            data = f.read() if f is not None else b""
            if len(data) != info.size:
                raise tarfile.ReadError(f"member {info.name} truncated")
            if key != current:
                if current is not None:
                    yield current, members
                current, members = key, {}
            members[ext] = data
    if current is not None:
        yield current, members


def clip_json(record: dict) -> bytes:
    """The `<key>.json` member: a manifest row plus meta and array shapes."""
    return (json.dumps(record, sort_keys=False, default=_json_default) + "\n").encode("utf-8")


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, os.PathLike):
        return os.fspath(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def meta_to_json(meta: dict | None) -> str:
    """Per-clip metadata as a JSON string (the `meta_json` manifest column)."""
    if meta is None:
        return "{}"
    if not isinstance(meta, dict):
        raise WorldsmithError(f"meta: expected a dict, got {type(meta).__name__}")
    try:
        return json.dumps(meta, sort_keys=True, default=_json_default)
    except (TypeError, ValueError) as e:
        raise WorldsmithError(f"meta: not JSON serialisable ({e})") from None
