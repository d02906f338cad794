"""ClipWriter: write clips into a clip dataset (see `format.py` for the layout).

Clips of the open shard go into a temporary tar next to the final one; when the shard is
full (or the writer is closed) the tar is renamed into place and the manifest and
dataset.json are rewritten atomically. The manifest therefore lists only clips in finished
shards: a killed run loses at most the open shard, and re-running the same job skips every
finished clip (`has(key)`) and redoes just the lost ones.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tarfile
import tempfile
import time

import numpy as np

from ..utils.errors import WorldsmithError
from .format import (DATASET_JSON, FAILURES, MANIFEST, SHARD_DIR, add_member, check_array_name, check_fractions,
                     check_key, clip_json, dump_array, iter_shard_samples, meta_to_json, shard_index,
                     shard_name, split_for_key)
from .manifest import load_manifest_rows, read_dataset_json, read_failures, write_dataset_json, write_manifest

log = logging.getLogger(__name__)


class ClipWriter:
    """Append clips to the clip dataset in `out_dir` (created if needed; resumed if present).

    Use as a context manager; `close()` finishes the open shard and writes the manifest and
    dataset.json. `add()` returns False (and records the reason in failures.jsonl) for a
    clip that cannot be written, so a batch job keeps going.
    """

    def __init__(self, out_dir: str | os.PathLike, *, shard_max_clips: int = 64,
                 split_fractions: tuple[float, float, float] = (0.9, 0.05, 0.05),
                 lossless: bool = False, quality: int = 18, info: dict | None = None):
        self.root = os.fspath(out_dir)
        if os.path.exists(self.root) and not os.path.isdir(self.root):
            raise WorldsmithError(f"clip dataset output {self.root}: exists and is not a directory")
        if not isinstance(shard_max_clips, int) or shard_max_clips < 1:
            raise WorldsmithError(f"shard_max_clips={shard_max_clips!r}: expected an integer >= 1")
        if info is not None and not isinstance(info, dict):
            raise WorldsmithError(f"info: expected a dict, got {type(info).__name__}")
        self.shard_max_clips = shard_max_clips
        self.split_fractions = check_fractions(split_fractions)
        self.lossless = bool(lossless)
        self.quality = int(quality)
        self.shard_dir = os.path.join(self.root, SHARD_DIR)
        if os.path.isdir(self.root) and os.listdir(self.root) and not any(
                os.path.exists(os.path.join(self.root, n)) for n in (DATASET_JSON, MANIFEST, SHARD_DIR)):
            raise WorldsmithError(f"clip dataset output {self.root}: directory exists, is not empty "
                                  "and is not a clip dataset; choose a new or empty directory")
        os.makedirs(self.shard_dir, exist_ok=True)
        self._lock = take_lock(self.root)
        try:
            self._open_existing(info)
        except BaseException:
            os.remove(self._lock)  # a writer that failed to open holds nothing
            raise
        # the open shard
        self._tar: tarfile.TarFile | None = None
        self._tar_tmp: str | None = None
        self._open_rows: list[dict] = []
        self._open_keys: set[str] = set()
        self._broken = False
        self._closed = False

    # ------------------------------------------------------------------ resume
    def _open_existing(self, info: dict | None) -> None:
        """Load what a previous run finished: rows, failures, the next shard index."""
        existing = read_dataset_json(self.root)
        old_fr = existing.get("split_fractions")
        if old_fr is not None and tuple(float(f) for f in old_fr) != self.split_fractions:
            raise WorldsmithError(f"{self.root}: split_fractions {self.split_fractions} differ from "
                                  f"the existing dataset's {tuple(old_fr)}; keep them equal when resuming")
        self.info = {**(existing.get("info") or {}), **(info or {})}
        self._rows: list[dict] = self._load_finished_rows()
        self._done: set[str] = {r["key"] for r in self._rows}
        self._failures: dict[str, dict] = {f["key"]: f for f in read_failures(self.root)
                                           if f["key"] not in self._done}
        used = [shard_index(n) for n in os.listdir(self.shard_dir)]
        self._next_shard = max([i for i in used if i is not None], default=-1) + 1
        if self._rows:
            log.info("resuming %s: %d clips in finished shards", self.root, len(self._rows))

    # ------------------------------------------------------------------ resume
    def _load_finished_rows(self) -> list[dict]:
        """Rows of the manifest whose shards exist, plus rows recovered from finished shards
        that a killed run renamed into place but did not yet add to the manifest."""
        for name in os.listdir(self.shard_dir):  # temp files of a killed run
            if name.startswith((".shard-", ".check-")) and name.endswith((".tmp.tar", ".mp4")):
                os.remove(os.path.join(self.shard_dir, name))
        rows: list[dict] = []
        mpath = os.path.join(self.root, MANIFEST)
        if os.path.isfile(mpath):
            rows = load_manifest_rows(mpath)
        present = {n for n in os.listdir(self.shard_dir) if shard_index(n) is not None}
        missing = {r["shard"] for r in rows} - present
        if missing:
            log.warning("%s: manifest lists missing shards %s; their clips will be redone",
                        self.root, ", ".join(sorted(missing)))
            rows = [r for r in rows if r["shard"] in present]
        listed = {r["shard"] for r in rows}
        keys = {r["key"] for r in rows}
        for name in sorted(present - listed):
            try:
                for key, members in iter_shard_samples(os.path.join(self.shard_dir, name)):
                    if "json" in members and "mp4" in members and key not in keys:
                        rec = json.loads(members["json"])
                        rows.append(_row_from_record(rec, name))
                        keys.add(key)
            except (tarfile.TarError, OSError, ValueError) as e:
                log.warning("%s: shard %s is unreadable (%s); ignoring it", self.root, name, e)
        return rows

    # ------------------------------------------------------------------ API
    def has(self, key: str) -> bool:
        """True if `key` is in a finished shard or was already added in this run."""
        return key in self._done or key in self._open_keys

    def add(self, key: str, *, video: np.ndarray | None = None, mp4_bytes: bytes | None = None,
            fps: float, caption: str = "", source: str = "",
            arrays: dict[str, np.ndarray] | None = None, meta: dict | None = None,
            video_shape: tuple[int, int, int] | None = None) -> bool:
        """Add one clip; returns True if added, False if skipped (already present or failed).

        Give either `video` (uint8 [T, H, W, 3], encoded to H.264 here) or `mp4_bytes`
        (an encoded clip, stored as is after a decode check). A producer that encoded
        `mp4_bytes` itself with `worldsmith.io.encode_video` from frames of known shape may
        pass `video_shape=(T, H, W)` to skip that check (the simulator's workers do). `arrays` are stored compressed
        as `<key>.<name>.npy`; `meta` (JSON-serialisable) goes to the manifest's meta_json.
        A clip that cannot be written is recorded with its reason in failures.jsonl.
        """
        if self._closed:
            raise WorldsmithError(f"ClipWriter({self.root}) is closed")
        try:
            check_key(key)
            if self.has(key):
                return False
            members, row = self._prepare(key, video, mp4_bytes, fps, caption, source, arrays, meta, video_shape)
        except WorldsmithError as e:
            self.add_failure(str(key), str(e))
            return False
        self._write_clip(key, members, row)
        if len(self._open_rows) >= self.shard_max_clips:
            self._finish_shard()
        return True

    def add_failure(self, key: str, reason: str) -> None:
        """Record that `key` was skipped and why (failures.jsonl and dataset.json)."""
        rec = {"key": str(key), "reason": str(reason).splitlines()[0] if reason else "",
               "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        self._failures[rec["key"]] = rec
        log.warning("skipped clip %s: %s", rec["key"], rec["reason"])
        with open(os.path.join(self.root, FAILURES), "a", encoding="utf-8") as f:
            f.write(json.dumps(rec) + "\n")

    def close(self) -> None:
        """Finish the open shard and write manifest.parquet, dataset.json and failures.jsonl."""
        if self._closed:
            return
        self._finish_shard()
        self._flush(complete=True)
        # rewrite failures.jsonl with the still-unresolved failures only (atomically)
        from ..utils.atomic import atomic_write_text

        lines = "".join(json.dumps(f) + "\n" for f in self._failures.values())
        atomic_write_text(os.path.join(self.root, FAILURES), lines)
        os.chmod(os.path.join(self.root, FAILURES), 0o644)
        self._closed = True
        with contextlib.suppress(FileNotFoundError):
            os.remove(self._lock)

    def __enter__(self) -> "ClipWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        # clips added before an exception are complete: keep them (a broken shard is dropped)
        self.close()

    @property
    def num_clips(self) -> int:
        """Clips written so far (finished shards plus the open one)."""
        return len(self._done) + len(self._open_keys)

    @property
    def failures(self) -> list[dict]:
        """Unresolved failures: [{"key", "reason", "time"}]."""
        return list(self._failures.values())

    # ------------------------------------------------------------------ internals
    def _prepare(self, key, video, mp4_bytes, fps, caption, source, arrays, meta, video_shape=None):
        """Validate and encode one clip -> (tar members, manifest row)."""
        if (video is None) == (mp4_bytes is None):
            raise WorldsmithError(f"clip {key}: give exactly one of video= or mp4_bytes=")
        try:
            fps = float(fps)
        except (TypeError, ValueError):
            raise WorldsmithError(f"clip {key}: fps={fps!r} is not a number") from None
        if not np.isfinite(fps) or fps <= 0:
            raise WorldsmithError(f"clip {key}: fps={fps} must be > 0")
        from ..io import encode_video

        if video is not None:
            video = np.asarray(video)
            if video.dtype != np.uint8 or video.ndim != 4 or video.shape[-1] != 3 or video.shape[0] < 1:
                raise WorldsmithError(f"clip {key}: video must be uint8 [T, H, W, 3] with T >= 1, "
                                      f"got {video.dtype} {list(video.shape)}")
            t, h, w = video.shape[:3]
            mp4 = encode_video(video, fps, quality=self.quality, lossless=self.lossless)
        else:
            if not isinstance(mp4_bytes, (bytes, bytearray, memoryview)) or len(mp4_bytes) == 0:
                raise WorldsmithError(f"clip {key}: mp4_bytes is empty or not bytes")
            mp4 = bytes(mp4_bytes)
            if video_shape is not None:
                t, h, w = (int(v) for v in video_shape)
                if min(t, h, w) < 1:
                    raise WorldsmithError(f"clip {key}: video_shape={tuple(video_shape)} must be positive")
            else:
                t, h, w = self._check_mp4(key, mp4)
        members = {"mp4": mp4}
        shapes = {}
        for name, arr in (arrays or {}).items():
            check_array_name(name)
            arr = np.asarray(arr)
            if arr.dtype == object:
                raise WorldsmithError(f"clip {key}: array {name!r} has dtype object (not storable)")
            members[f"{name}.npy"] = dump_array(arr)
            shapes[name] = {"shape": list(arr.shape), "dtype": str(arr.dtype)}
        row = {"key": key, "shard": shard_name(self._next_shard), "frames": int(t), "fps": fps,
               "height": int(h), "width": int(w), "duration": round(int(t) / fps, 6),
               "caption": str(caption or ""), "source": str(source or ""),
               "split": split_for_key(key, self.split_fractions),
               "meta_json": meta_to_json(meta), "arrays": sorted(shapes)}
        record = {**{k: v for k, v in row.items() if k != "meta_json"},
                  "meta": json.loads(row["meta_json"]), "array_info": shapes}
        members["json"] = clip_json(record)
        return members, row

    def _check_mp4(self, key: str, mp4: bytes) -> tuple[int, int, int]:
        """Check an encoded clip cheaply -> (frames, height, width).

        The frame count comes from the packet index (probe, no decoding) and the size from
        decoding the first frame: about 10x faster than a full decode for 480p clips. A
        file that is truncated or not a video fails here (VideoError naming the clip);
        damage inside the stream is caught by the readers, which skip the clip with a warning.
        """
        from ..io import VideoError, iter_frames, probe_video

        fd, tmp = tempfile.mkstemp(prefix=".check-", suffix=".mp4", dir=self.shard_dir)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(mp4)
            t = probe_video(tmp).num_frames
            first = [frame for _, _, frame in iter_frames(tmp, max_frames=1)]
        except VideoError as e:
            raise VideoError(f"clip {key} (mp4_bytes): {str(e).replace(tmp, 'mp4')}") from None
        finally:
            os.remove(tmp)
        if t < 1 or not first:
            raise VideoError(f"clip {key} (mp4_bytes): no frames")
        return t, first[0].shape[0], first[0].shape[1]

    def _write_clip(self, key: str, members: dict[str, bytes], row: dict) -> None:
        if self._tar is None:
            fd, self._tar_tmp = tempfile.mkstemp(prefix=".shard-", suffix=".tmp.tar", dir=self.shard_dir)
            os.close(fd)
            self._tar = tarfile.open(self._tar_tmp, "w", format=tarfile.PAX_FORMAT)
            self._broken = False
        try:
            # json first so that a streaming reader knows the clip before its payload
            order = ["json", "mp4"] + sorted(k for k in members if k not in ("json", "mp4"))
            for ext in order:
                add_member(self._tar, f"{key}.{ext}", members[ext])
        except BaseException:
            self._broken = True  # a half-written member: this shard must not be published
            raise
        self._open_rows.append(row)
        self._open_keys.add(key)

    def _finish_shard(self) -> None:
        """Rename the open temp tar into place and update manifest + dataset.json."""
        if self._tar is None:
            return
        tar, tmp = self._tar, self._tar_tmp
        self._tar, self._tar_tmp = None, None
        try:
            tar.close()
        except BaseException:
            self._broken = True
        if self._broken or not self._open_rows:
            if tmp and os.path.exists(tmp):
                os.remove(tmp)
            if self._broken:
                log.warning("%s: dropped a shard damaged by an interruption; re-run to redo %d clips",
                            self.root, len(self._open_rows))
        else:
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
            os.chmod(tmp, 0o644)  # mkstemp makes 0600; datasets are shared read-only data
            os.replace(tmp, os.path.join(self.shard_dir, self._open_rows[0]["shard"]))
            self._rows.extend(self._open_rows)
            for r in self._open_rows:
                self._done.add(r["key"])
                self._failures.pop(r["key"], None)
            self._next_shard += 1
            self._flush(complete=False)
        self._open_rows, self._open_keys = [], set()

    def _flush(self, complete: bool) -> None:
        write_manifest(os.path.join(self.root, MANIFEST), self._rows)
        write_dataset_json(self.root, self._rows, list(self._failures.values()), self.info,
                           self.split_fractions, complete=complete)
        for name in (MANIFEST, DATASET_JSON):
            os.chmod(os.path.join(self.root, name), 0o644)


def _row_from_record(rec: dict, shard: str) -> dict:
    """A manifest row rebuilt from a clip's `<key>.json` member (resume after a kill)."""
    row = {k: rec.get(k) for k in ("key", "frames", "fps", "height", "width", "duration",
                                   "caption", "source", "split")}
    row["shard"] = shard
    row["meta_json"] = json.dumps(rec.get("meta") or {}, sort_keys=True)
    row["arrays"] = sorted(rec.get("array_info") or rec.get("arrays") or [])
    return row


LOCK = ".writer.lock"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


def take_lock(root: str) -> str:
    """Claim `root` for this process (DIR/.writer.lock holds the pid), so that two jobs never
    write one dataset at once. A lock left by a dead process (a killed run) is taken over."""
    path = os.path.join(root, LOCK)
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                with open(path, encoding="utf-8") as f:
                    pid = int(f.read().strip() or 0)
            except (OSError, ValueError):
                pid = 0
            if pid and pid != os.getpid() and _pid_alive(pid):
                raise WorldsmithError(f"clip dataset {root}: another ClipWriter (pid {pid}) is writing "
                                      f"to it; wait for it or remove {path} if that process is gone") from None
            if pid == os.getpid():
                log.warning("%s: taking over from a ClipWriter of this process that was not closed", root)
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)
            continue
        with os.fdopen(fd, "w") as f:
            f.write(f"{os.getpid()}\n")
        return path
    raise WorldsmithError(f"clip dataset {root}: cannot take the writer lock {path}")
