"""Import robot videos with per-frame actions in the Cosmos/Bridge layout.

Cosmos-Predict2 action-conditioned post-training (the Bridge data prepared by IRASim) reads::

    DIR/videos/**/<name>.mp4
    DIR/annotations/**/<name>.json     (or DIR/annotation/...)

Each annotation holds `action` (one vector per step: [x, y, z, roll, pitch, yaw, gripper]
for Bridge), optionally `state` (end-effector pose per frame), `continuous_gripper_state`
(per frame), a caption (`caption`, `texts`, `text` or `language_instruction`; a list gives
its first entry) and the video (`videos: [{"video_path": ...}]`, `video_path` or `video`,
relative to DIR or to the annotation file; without one, `videos/<same relative stem>.mp4`).

Each MP4 is stored unchanged (no re-encode). Actions follow our data contract
(`worldsmith.sim`): float32 [T, A], actions[t] moves frame t to t+1, so T - 1 given rows get
a zero last row. `state` and `continuous_gripper_state` with T rows become "states"
[T, S (+1)] (gripper as the last column). Bad items are recorded in failures.jsonl.
"""

from __future__ import annotations

import json
import logging
import os

import numpy as np

from ..utils.errors import WorldsmithError, require_dir
from ..utils.progress import progress
from .cosmos import _unique_keys
from .format import check_fractions
from .writer import ClipWriter

log = logging.getLogger(__name__)

ANNOTATION_DIRS = ("annotations", "annotation")
CAPTION_FIELDS = ("caption", "texts", "text", "language_instruction")


class _Skip(Exception):
    """An annotation that cannot be imported; the message is the reason recorded."""


def _find_annotations(src: str) -> list[tuple[str, str]]:
    """(path, stem relative to its annotation folder) of every .json under the annotation folders."""
    dirs = [os.path.join(src, d) for d in ANNOTATION_DIRS if os.path.isdir(os.path.join(src, d))]
    if not dirs:
        raise WorldsmithError(f"{src}: not a Bridge-style dataset (no annotations/ folder)")
    found = []
    for d in dirs:
        for root, subdirs, files in os.walk(d):
            subdirs.sort()
            for name in sorted(files):
                if name.lower().endswith(".json") and not name.startswith("."):
                    path = os.path.join(root, name)
                    found.append((path, os.path.splitext(os.path.relpath(path, d))[0]))
    if not found:
        raise WorldsmithError(f"{', '.join(dirs)}: no .json annotation files")
    return found


def _is_number(v) -> bool:
    return isinstance(v, (int, float))  # bool is an int: gripper flags stored as true/false pass


def _matrix(value, what: str, *, allow_vector: bool = False) -> np.ndarray:
    """A JSON list of per-frame vectors -> float32 [N, D]; `allow_vector`: numbers -> [N, 1]."""
    if not isinstance(value, list) or not value:
        raise _Skip(f"{what}: expected a non-empty list of per-frame vectors")
    if allow_vector and all(_is_number(v) for v in value):
        value = [[v] for v in value]
    if not all(isinstance(r, list) for r in value):
        raise _Skip(f"{what}: expected a list of lists (one vector per frame)")
    width = len(value[0])
    if width == 0 or any(len(r) != width for r in value):
        raise _Skip(f"{what}: rows have different lengths (ragged)")
    if not all(_is_number(v) for r in value for v in r):
        raise _Skip(f"{what}: non-numeric values")
    arr = np.asarray(value, dtype=np.float64).astype(np.float32)  # [N, D]
    if not np.isfinite(arr).all():
        raise _Skip(f"{what}: non-finite values (NaN, inf or out of float32 range)")
    return arr


def _caption(ann: dict) -> str:
    for field in CAPTION_FIELDS:
        v = ann.get(field)
        if isinstance(v, list):
            v = next((s for s in v if isinstance(s, str)), None)
        if isinstance(v, str):
            return v.strip()
    return ""


def _video_path(src: str, ann_path: str, stem: str, ann: dict) -> str:
    """The annotation's video: its reference (relative to DIR, then to the annotation file),
    else DIR/videos/<stem>.mp4."""
    ref = None
    videos = ann.get("videos")
    if isinstance(videos, list) and videos:
        first = videos[0]
        ref = first.get("video_path") if isinstance(first, dict) else first
    else:
        ref = ann.get("video_path", ann.get("video"))
    if ref is None:
        path = os.path.join(src, "videos", stem + ".mp4")
        if not os.path.isfile(path):
            raise _Skip(f"video not found: {path} (and the annotation names no video)")
        return path
    if not isinstance(ref, str) or not ref:
        raise _Skip(f"video reference {ref!r}: expected a path string")
    candidates = [ref] if os.path.isabs(ref) else [os.path.join(src, ref), os.path.join(os.path.dirname(ann_path), ref)]
    for path in candidates:
        if os.path.isfile(path):
            return os.path.normpath(path)
    raise _Skip(f"video {ref!r} not found (looked in {src} and {os.path.dirname(ann_path)})")


def _actions(ann: dict, action_key: str, t: int) -> np.ndarray:
    """float32 [T, A] with actions[t] moving frame t -> t+1 (zero last row when T - 1 given)."""
    if action_key not in ann:
        raise _Skip(f"no {action_key!r} field")
    actions = _matrix(ann[action_key], f"{action_key!r}")  # [N, A]
    n = actions.shape[0]
    if n == t - 1:
        actions = np.concatenate([actions, np.zeros((1, actions.shape[1]), np.float32)])  # [T, A]
    elif n != t:
        raise _Skip(f"{n} actions for {t} frames (expected {t - 1} or {t})")
    return actions


def _states(ann: dict, t: int, where: str) -> np.ndarray | None:
    """`state` [T, S] and `continuous_gripper_state` [T] -> float32 [T, S + 1]; parts that are
    malformed or have other than T rows are left out with a warning (the clip is still usable)."""
    parts = []
    for field in ("state", "continuous_gripper_state"):
        if field not in ann:
            continue
        try:
            arr = _matrix(ann[field], field, allow_vector=True)  # [N, S]
        except _Skip as e:
            log.warning("%s: leaving out %s", where, e)
            continue
        if arr.shape[0] != t:
            log.warning("%s: leaving out %s: %d rows for %d frames", where, field, arr.shape[0], t)
            continue
        parts.append(arr)
    return np.concatenate(parts, axis=1) if parts else None  # [T, S (+1)]


def _read_item(src: str, ann_path: str, stem: str, action_key: str) -> dict:
    """Everything ClipWriter.add needs for one annotation; raises _Skip with the reason."""
    from ..io import VideoError, probe_video

    try:
        with open(ann_path, encoding="utf-8") as f:
            ann = json.load(f)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise _Skip(f"invalid JSON ({str(e).splitlines()[0]})") from None
    if not isinstance(ann, dict):
        raise _Skip(f"expected a JSON object, got {type(ann).__name__}")
    video = _video_path(src, ann_path, stem, ann)
    if not video.lower().endswith(".mp4"):
        raise _Skip(f"{video}: only .mp4 videos are imported (stored unchanged)")
    try:
        info = probe_video(video)
        with open(video, "rb") as f:
            data = f.read()
    except VideoError as e:
        raise _Skip(str(e)) from None
    except OSError as e:
        raise _Skip(f"{video}: {e}") from None
    t = info.num_frames
    actions = _actions(ann, action_key, t)
    arrays = {"actions": actions}
    meta = {"bridge_annotation": os.path.relpath(ann_path, src).replace(os.sep, "/"),
            "bridge_video": os.path.relpath(video, src).replace(os.sep, "/"),
            "action_dim": int(actions.shape[1])}
    states = _states(ann, t, ann_path)
    if states is not None:
        arrays["states"] = states
        meta["state_dim"] = int(states.shape[1])
    return {"mp4_bytes": data, "fps": info.fps, "caption": _caption(ann), "arrays": arrays, "meta": meta}


def import_bridge(src: str | os.PathLike, out: str | os.PathLike, *, action_key: str = "action",
                  shard_max_clips: int = 64, split_fractions=(0.9, 0.05, 0.05), source: str = "bridge") -> dict:
    """Import a Bridge-style robot dataset (videos/ + annotations/*.json with actions) into a clip dataset.

    Clip keys come from the annotation paths (`annotations/train/0.json` -> `train_0`).
    Resumable: clips already in `out` are skipped. An annotation that cannot be imported
    (no video, invalid JSON, no or malformed actions, action rows not T - 1 or T, a video
    that does not decode) is recorded with its reason in `out`/failures.jsonl and the rest
    are imported. Returns {"added", "skipped" (already present), "failed", "failures":
    [{"key", "reason"}] of this run}.
    """
    if not isinstance(action_key, str) or not action_key:
        raise WorldsmithError(f"action_key={action_key!r}: expected a non-empty field name")
    src = require_dir(src, "Bridge dataset directory")
    items = _find_annotations(src)
    check_fractions(split_fractions)
    keys = _unique_keys([stem for _, stem in items])
    counts = {"added": 0, "skipped": 0, "failed": 0}
    failures: list[dict] = []
    with ClipWriter(out, shard_max_clips=shard_max_clips, split_fractions=split_fractions,
                    info={"imported_from": os.path.abspath(src), "import_format": "bridge"}) as w:
        for ann_path, stem in progress(items, desc="import-bridge", unit="clip"):
            key = keys[stem]
            if w.has(key):
                counts["skipped"] += 1
                continue
            try:
                item = _read_item(src, ann_path, stem, action_key)
            except _Skip as e:
                reason = f"{os.path.relpath(ann_path, src)}: {e}"
                w.add_failure(key, reason)
                failures.append({"key": key, "reason": reason})
                counts["failed"] += 1
                continue
            if w.add(key, source=source, **item):
                counts["added"] += 1
            else:
                counts["failed"] += 1
                failures.append({"key": key, "reason": next((f["reason"] for f in w.failures
                                                             if f["key"] == key), "not written")})
    return {**counts, "failures": failures}
