"""Decode video (anything the bundled FFmpeg reads) into uint8 RGB [T, H, W, C] with timestamps.

Conventions:
- a frame's *index* is its 0-based position among decoded frames in presentation order
  (exact on variable-frame-rate files: it comes from the packet table, not `t * fps`);
- a frame's *timestamp* is seconds since the first frame (its PTS minus the first PTS);
- time ranges are half-open: `start_s <= t < end_s`;
- seeking goes to the keyframe before the target and decodes forward, so the frame you
  ask for is the frame you get (never snapped to a keyframe).
"""

from __future__ import annotations

import dataclasses
import io
import os
from collections.abc import Iterator, Sequence

import numpy as np

from .errors import VideoError, check_input, decode_errors, ffmpeg_message
from .probe import FrameTable, check_span, frame_table, open_video
from .transforms import Size, center_crop, crop_box, resize_frame, target_size

_EPS = 1e-6  # seconds; absorbs float rounding of PTS * time_base


@dataclasses.dataclass
class Video:
    """Decoded frames with their timing."""

    frames: np.ndarray      # uint8 [T, H, W, C] RGB
    timestamps: np.ndarray  # float64 [T] seconds since the first frame of the file
    indices: np.ndarray     # int64 [T] decoded-frame indices in the file
    fps: float              # the file's average rate, or the sampling rate asked for

    def __len__(self) -> int:
        return len(self.frames)


# --------------------------------------------------------------------------- decoding engine

def _packets_then_frames(container, stream, path: str, counter: list[int] | None = None):
    """Demux `stream` and decode, yielding av.VideoFrame in presentation order.

    `counter[0]` counts the non-empty packets read, for truncation checks.
    """
    with decode_errors(path, "decoding"):
        for packet in container.demux(stream):
            if counter is not None and packet.size:
                counter[0] += 1
            yield from packet.decode()


def _decode_all(container, stream, path: str) -> Iterator[tuple[int, float, object]]:
    """Decode the whole stream from the start: yield (index, seconds, av frame).

    Raises VideoError if fewer packets arrive than the header promises (truncated file).
    """
    counter = [0]
    t0 = None
    tb = float(stream.time_base) if stream.time_base else 0.0
    fps = float(stream.average_rate or stream.guessed_rate or 0) or 1.0
    i, ts, longest = -1, 0.0, 0.0
    for i, frame in enumerate(_packets_then_frames(container, stream, path, counter)):
        prev = ts
        if frame.pts is None:
            ts = i / fps
        else:
            t0 = frame.pts if t0 is None else t0
            ts = (frame.pts - t0) * tb
        longest = max(longest, ts - prev)
        yield i, ts, frame
    if i < 0:
        raise VideoError(f"{path}: no frames could be decoded")
    expected = int(stream.frames or 0)
    if expected and counter[0] < expected:
        raise VideoError(f"{path}: truncated video, {counter[0]} of {expected} frames present")
    check_span(path, stream, ts, i + 1, longest)


def _decode_from(container, stream, path: str, table: FrameTable,
                 target_pts: int) -> Iterator[tuple[int, float, object]]:
    """Yield (index, seconds, av frame) starting at or before `target_pts` (accurate seek).

    Seeks to the keyframe before the target and decodes forward; if the first frame out
    is already past the target (open GOPs, coarse container indexes) it backs off further.
    """
    tb = table.time_base
    if target_pts <= table.start_pts or len(table.pts) == 0:
        yield from _decode_fresh(path)
        return
    backoff = 0
    for _ in range(6):
        with decode_errors(path, "seeking"):
            container.seek(max(int(target_pts - backoff), table.start_pts), stream=stream,
                           backward=True, any_frame=False)
        stream.codec_context.flush_buffers()
        frames = _packets_then_frames(container, stream, path)
        first = next(frames, None)
        if first is not None and first.pts is not None and (first.pts <= target_pts or
                                                            first.pts <= table.start_pts):
            break
        if target_pts - backoff <= table.start_pts:
            first = None
            break
        backoff = max(2 * backoff, int(1 / tb))  # one second, then doubling
    else:
        first = None
    if first is None:  # could not land before the target: decode from the very start
        yield from _decode_fresh(path)
        return
    seconds = float(tb)
    for frame in _chain(first, frames):
        i = int(np.searchsorted(table.pts, frame.pts)) if frame.pts is not None else -1
        if i < 0 or i >= len(table.pts) or table.pts[i] != frame.pts:
            continue  # a frame the packet table does not know (leading picture after seek)
        yield i, (frame.pts - table.start_pts) * seconds, frame


def _decode_fresh(path: str) -> Iterator[tuple[int, float, object]]:
    """Decode `path` from its first frame in a newly opened container.

    Rewinding by seeking is not reliable everywhere (MPEG-TS seeks by byte position and
    can land past the first keyframe), re-opening is.
    """
    container, stream = open_video(path)
    stream.thread_type = "AUTO"
    try:
        yield from _decode_all(container, stream, path)
    finally:
        container.close()


def _chain(first, rest):
    yield first
    yield from rest


def _rgb(frame, width: int | None = None, height: int | None = None) -> np.ndarray:
    """av.VideoFrame -> uint8 [H, W, 3] RGB in the frame's own colour matrix and range."""
    kw = {}
    if width is not None and (width, height) != (frame.width, frame.height):
        shrink = width * height < frame.width * frame.height
        kw = {"width": width, "height": height, "interpolation": "AREA" if shrink else "BICUBIC"}
    if frame.color_range in (1, 2):  # tagged tv/pc range (untagged: swscale's default, tv)
        kw["src_color_range"] = frame.color_range
    return frame.to_ndarray(format="rgb24", **kw)


def _to_rgb(frame, size: Size | None, crop, autorotate: bool = False) -> np.ndarray:
    """av.VideoFrame -> uint8 [H, W, 3]: optional display rotation, box crop, resize, centre crop."""
    box = crop is not None and not isinstance(crop, (int, np.integer)) and len(crop) == 4
    turns = int(round(frame.rotation / 90)) % 4 if autorotate else 0  # counter-clockwise quarter turns
    if box or turns:
        arr = _rgb(frame)
        if turns:
            arr = np.ascontiguousarray(np.rot90(arr, turns))  # [H, W, 3] -> [W, H, 3] for odd turns
        if box:
            arr = crop_box(arr, crop)
        if size is not None:
            arr = resize_frame(arr, *target_size(arr.shape[0], arr.shape[1], size))
        if crop is not None and not box:
            arr = center_crop(arr[None], crop)[0]
        return arr
    if size is not None:
        h, w = target_size(frame.height, frame.width, size)
        arr = _rgb(frame, w, h)
    else:
        arr = _rgb(frame)
    if crop is not None:
        arr = center_crop(arr[None], crop)[0]
    return arr


def _check_crop(crop) -> None:
    if crop is None or isinstance(crop, (int, np.integer)):
        return
    if not isinstance(crop, Sequence) or len(crop) not in (2, 4):
        raise VideoError(f"crop: expected (height, width) for a centre crop or (top, left, height, width), got {crop!r}")


# --------------------------------------------------------------------------- time-based reading

def _sample_fps(items: Iterator[tuple[int, float, object]], fps: float, t0: float):
    """Keep the frame nearest to each time t0 + k / fps (each frame at most once)."""
    step = 1.0 / fps
    k = 0
    prev = None
    last = None
    for item in items:
        ts = item[1]
        while t0 + k * step <= ts + _EPS:
            t = t0 + k * step
            pick = item if prev is None or (ts - t) <= (t - prev[1]) + _EPS else prev
            if last is None or pick[0] != last:
                last = pick[0]
                yield pick
            k += 1
        prev = item


def _time_range_frames(path: str, container, stream, start_s: float | None,
                       end_s: float | None) -> Iterator[tuple[int, float, object]]:
    if start_s is not None and start_s > 0:
        table = frame_table(path)
        _check_complete(path, table, stream)
        target = table.start_pts + int(start_s / float(table.time_base))
        items = _decode_from(container, stream, path, table, target)
    else:
        items = _decode_all(container, stream, path)
    for item in items:
        ts = item[1]
        if start_s is not None and ts < start_s - _EPS:
            continue
        if end_s is not None and ts >= end_s - _EPS:
            return
        yield item


def _check_complete(path: str, table: FrameTable, stream) -> None:
    expected = int(stream.frames or 0)
    if expected and table.packets < expected:
        raise VideoError(f"{path}: truncated video, {table.packets} of {expected} frames present")
    if len(table.pts):
        times = table.times()
        check_span(path, stream, float(times[-1]), len(times), float(np.diff(times).max(initial=0.0)))


def _check_times(start_s, end_s, fps, max_frames) -> None:
    if start_s is not None and start_s < 0:
        raise VideoError(f"start_s: must be >= 0, got {start_s}")
    if end_s is not None and start_s is not None and end_s <= start_s:
        raise VideoError(f"end_s: must be greater than start_s ({start_s}), got {end_s}")
    if fps is not None and not fps > 0:
        raise VideoError(f"fps: must be > 0, got {fps}")
    if max_frames is not None and max_frames < 1:
        raise VideoError(f"max_frames: must be >= 1, got {max_frames}")


def iter_frames(path: str | os.PathLike, *, start_s: float | None = None, end_s: float | None = None,
                fps: float | None = None, size: Size | None = None, crop=None,
                max_frames: int | None = None,
                autorotate: bool = False) -> Iterator[tuple[int, float, np.ndarray]]:
    """Yield `(index, timestamp_s, frame uint8 [H, W, 3])` one at a time (bounded memory).

    `start_s`/`end_s` select `start_s <= t < end_s` (seconds since the first frame; the
    reader seeks, it does not decode from 0). `fps` keeps the frame nearest to each tick
    of a `fps` grid starting at `start_s` (never duplicates frames). `size` is (h, w) or
    an int for the shorter side; `crop` is (h, w) for a centre crop after resizing or
    (top, left, h, w) for a box in source pixels before resizing. `autorotate` turns
    frames upright as a player would (phone videos carry a display rotation; see
    `VideoInfo.rotation`); it is applied first, so sizes refer to the upright frame.
    """
    _check_times(start_s, end_s, fps, max_frames)
    _check_crop(crop)
    p = os.fspath(path)
    container, stream = open_video(p)
    stream.thread_type = "AUTO"
    try:
        items = _time_range_frames(p, container, stream, start_s, end_s)
        if fps is not None:
            items = _sample_fps(items, fps, start_s or 0.0)
        for n, (i, ts, frame) in enumerate(items):
            if max_frames is not None and n >= max_frames:
                break
            yield i, float(ts), _to_rgb(frame, size, crop, autorotate)
    finally:
        container.close()


# --------------------------------------------------------------------------- whole reads

def _stack(path: str, items: list[tuple[int, float, np.ndarray]], fps: float) -> Video:
    if not items:
        raise VideoError(f"{path}: no frames in the requested range")
    return Video(frames=np.stack([f for _, _, f in items]),
                 timestamps=np.array([t for _, t, _ in items], dtype=np.float64),
                 indices=np.array([i for i, _, _ in items], dtype=np.int64), fps=float(fps))


def _read_indices(path: str, frame_indices, size, crop,
                  autorotate: bool) -> list[tuple[int, float, np.ndarray]]:
    """Decode exactly the frames at `frame_indices` (any order, repeats allowed)."""
    table = frame_table(path)
    n = len(table.pts) or table.packets  # no timestamps (raw streams): one packet per frame
    want = np.asarray(frame_indices, dtype=np.int64).reshape(-1)
    if len(want) == 0:
        raise VideoError("frame_indices: empty")
    want = np.where(want < 0, want + n, want)
    bad = want[(want < 0) | (want >= n)]
    if len(bad):
        raise VideoError(f"frame_indices: {int(bad[0])} is out of range for {path} ({n} frames)")
    if len(table.pts) == 0:  # nothing to seek by: decode forward, keep what is wanted
        need = set(want.tolist())
        got = {}
        for i, t, f in iter_frames(path, size=size, crop=crop, autorotate=autorotate):
            if i in need:
                got[i] = (i, t, f)
                if len(got) == len(need):
                    break
        missing = need - set(got)
        if missing:
            raise VideoError(f"{path}: frame {min(missing)} could not be decoded")
        return [got[int(i)] for i in want]
    keys = np.flatnonzero(table.keyframe)
    got: dict[int, tuple[int, float, np.ndarray]] = {}
    container, stream = open_video(path)
    stream.thread_type = "AUTO"
    try:
        _check_complete(path, table, stream)
        items, pos = None, -1  # pos = index of the last frame the current decoder produced
        for target in np.unique(want):
            ki = np.searchsorted(keys, target, side="right") - 1
            key = int(keys[ki]) if ki >= 0 else 0
            if items is None or not (key <= pos + 1 and pos < target):
                items = _decode_from(container, stream, path, table, int(table.pts[target]))
            for i, ts, frame in items:
                pos = i
                if i == target:
                    got[int(target)] = (i, float(ts), _to_rgb(frame, size, crop, autorotate))
                    break
                if i > target:
                    break
            if int(target) not in got:
                raise VideoError(f"{path}: frame {int(target)} could not be decoded")
    finally:
        container.close()
    return [got[int(i)] for i in want]


def read_video(path: str | os.PathLike, *, start_s: float | None = None, end_s: float | None = None,
               frame_indices: Sequence[int] | np.ndarray | None = None, fps: float | None = None,
               size: Size | None = None, crop=None, max_frames: int | None = None,
               autorotate: bool = False) -> Video:
    """Decode `path` (H.264, HEVC, MPEG-4, VP9, AV1, ... CFR or VFR) into a `Video`.

    Select frames by time (`start_s`, `end_s`, `fps`, `max_frames`; see `iter_frames`) or by
    exact decoded-frame indices (`frame_indices`, negative counts from the end). Raises
    VideoError naming the file if it is missing, empty, truncated or not a video.
    """
    p = os.fspath(path)
    if frame_indices is not None:
        if start_s is not None or end_s is not None or fps is not None:
            raise VideoError("frame_indices: cannot be combined with start_s, end_s or fps")
        _check_crop(crop)
        items = _read_indices(p, frame_indices, size, crop, autorotate)
        if max_frames is not None:
            items = items[:max_frames]
        return _stack(p, items, _average_fps(p))
    items = list(iter_frames(p, start_s=start_s, end_s=end_s, fps=fps, size=size, crop=crop,
                             max_frames=max_frames, autorotate=autorotate))
    avg = _average_fps(p)
    # sampling never duplicates frames, so asking for more than the source has gives the source rate
    return _stack(p, items, min(fps, avg) if fps is not None and avg else (fps or avg))


def _average_fps(path: str) -> float:
    container, stream = open_video(path)
    try:
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        return float(rate) if rate else 0.0
    finally:
        container.close()


def decode_video(data: bytes, *, name: str = "<video bytes>", size: Size | None = None) -> np.ndarray:
    """Decode an in-memory video file (e.g. an MP4 from a tar shard) into uint8 [T, H, W, 3].

    `name` is used in error messages (the shard member, say).
    """
    import av

    if not data:
        raise VideoError(f"{name}: empty video (0 bytes)")
    try:
        container = av.open(io.BytesIO(bytes(data)), metadata_errors="ignore")
    except av.error.FFmpegError as e:
        raise VideoError(f"{name}: cannot open video (not a video, or truncated/corrupt): "
                         f"{ffmpeg_message(e)}") from None
    try:
        if not container.streams.video:
            raise VideoError(f"{name}: no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        frames = [_to_rgb(f, size, None) for _, _, f in _decode_all(container, stream, name)]
    finally:
        container.close()
    return np.stack(frames)


# --------------------------------------------------------------------------- images

def read_image(path: str | os.PathLike, *, size: Size | None = None, crop=None) -> np.ndarray:
    """Read an image file (PNG, JPEG, WebP, ...; EXIF rotation applied) as uint8 [1, H, W, 3]."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    p = check_input(path, what="image")
    try:
        with Image.open(p) as im:
            im = ImageOps.exif_transpose(im)
            arr = _image_rgb(im)
    except UnidentifiedImageError:
        raise VideoError(f"not an image file (format not recognised): {p}") from None
    except (OSError, ValueError, SyntaxError) as e:
        raise VideoError(f"cannot read image (truncated or corrupt): {p} ({e})") from None
    frames = arr[None]  # [1, H, W, 3]
    if crop is not None and not isinstance(crop, (int, np.integer)) and len(crop) == 4:
        frames = crop_box(frames[0], crop)[None]
        crop = None
    if size is not None:
        frames = resize_frame(frames[0], *target_size(frames.shape[1], frames.shape[2], size))[None]
    if crop is not None:
        frames = center_crop(frames, crop)
    return np.ascontiguousarray(frames)


def _image_rgb(im) -> np.ndarray:
    """A PIL image as uint8 RGB [H, W, 3]; 16-bit greyscale keeps its top 8 bits (not clipped)."""
    if im.mode.startswith("I;16") or im.mode == "I":
        a = np.asarray(im).astype(np.int64)
        a = (np.clip(a, 0, 65535) >> 8).astype(np.uint8) if a.max(initial=0) > 255 else a.astype(np.uint8)
        return np.repeat(a[..., None], 3, axis=-1)
    return np.asarray(im.convert("RGB"))


def _is_still_image(path: str) -> bool:
    """True if PIL recognises `path` as a single-frame image (content, not extension)."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            if getattr(im, "n_frames", 1) != 1:
                return False  # animated GIF / WebP / APNG: a video
            im.verify()
        return True
    except Exception:  # noqa: BLE001 - anything PIL cannot read is handed to FFmpeg
        return False


def read_visual(path: str | os.PathLike, **kwargs) -> Video:
    """Read an image (as a one-frame Video) or a video, deciding by the file's content.

    Keyword arguments are those of `read_video`; images accept `size` and `crop` (and are
    always turned upright by their EXIF orientation).
    """
    p = check_input(path, what="image or video")
    if _is_still_image(p):
        kwargs.pop("autorotate", None)  # images always follow their EXIF orientation
        extra = set(kwargs) - {"size", "crop"}
        if extra:
            raise VideoError(f"{p}: is an image, so {', '.join(sorted(extra))} do not apply")
        frames = read_image(p, **kwargs)
        return Video(frames=frames, timestamps=np.zeros(1), indices=np.zeros(1, dtype=np.int64), fps=0.0)
    return read_video(p, **kwargs)
