"""Probe video metadata without decoding frames, and the per-file frame table used for seeking.

The frame table lists every frame's presentation timestamp (PTS) and keyframe flag in
presentation order. It comes from demuxing packets (cheap: no decoding), so frame indices
are exact on variable-frame-rate files too, where `round(t * fps)` is not the frame index.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import struct
from fractions import Fraction

import numpy as np

from .errors import VideoError, check_input, ffmpeg_message


@dataclasses.dataclass
class VideoInfo:
    """What a video file holds, read from its headers and packet index (no frames decoded)."""

    path: str
    codec: str             # decoder name: "h264", "hevc", "mpeg4", "vp9", ...
    width: int             # coded frame size in pixels (before any rotation)
    height: int
    num_frames: int        # frames in presentation order (counted from packets when possible)
    fps: float             # average frame rate = num_frames / duration for VFR files
    duration: float        # seconds
    start_time: float      # seconds; PTS of the first frame (timestamps we return start at 0)
    is_vfr: bool           # frame durations differ by more than rounding
    pix_fmt: str | None
    has_audio: bool
    rotation: int | None   # display rotation in degrees (counter-clockwise), None if none
    bit_rate: int | None   # bits per second


@dataclasses.dataclass(frozen=True)
class FrameTable:
    """Every frame's PTS (stream time base) and keyframe flag, sorted by PTS."""

    pts: np.ndarray          # int64 [N]
    keyframe: np.ndarray     # bool [N]
    time_base: Fraction
    start_pts: int           # PTS of frame 0
    packets: int             # non-empty packets demuxed (including ones without PTS)

    def times(self) -> np.ndarray:
        """Seconds from frame 0, float64 [N]."""
        return (self.pts - self.start_pts).astype(np.float64) * float(self.time_base)


def open_video(path: str | os.PathLike):
    """Open `path` with PyAV and return (container, video stream); VideoError on bad input."""
    import av

    p = check_input(path)
    try:
        container = av.open(p, metadata_errors="ignore")
    except av.error.FFmpegError as e:
        raise VideoError(f"cannot open video (not a video file, or truncated/corrupt): {p} "
                         f"({ffmpeg_message(e)})") from None
    # cover art in audio files / thumbnails in MP4s are "attached picture" streams, not video
    streams = [s for s in container.streams.video
               if not (s.disposition & av.stream.Disposition.attached_pic)]
    if not streams:
        container.close()
        raise VideoError(f"not a video file (no video stream found): {p}")
    return container, streams[0]


@functools.lru_cache(maxsize=64)
def _frame_table_cached(path: str, mtime_ns: int, size: int) -> FrameTable:
    import av

    container, stream = open_video(path)
    pts, key = [], []
    packets = 0
    try:
        for packet in container.demux(stream):
            if packet.size == 0:  # the flush packet PyAV yields at end of file
                continue
            packets += 1
            if packet.pts is None or packet.is_discard:
                continue
            pts.append(packet.pts)
            key.append(packet.is_keyframe)
    except av.error.FFmpegError as e:
        raise VideoError(f"{path}: reading packets failed, file is corrupt or truncated "
                         f"({ffmpeg_message(e)})") from None
    finally:
        tb = stream.time_base or Fraction(1, 1)
        start = stream.start_time
        container.close()
    pts_a = np.asarray(pts, dtype=np.int64)
    order = np.argsort(pts_a, kind="stable")
    pts_a, key_a = pts_a[order], np.asarray(key, dtype=bool)[order]
    start_pts = int(pts_a[0]) if len(pts_a) else int(start or 0)
    return FrameTable(pts=pts_a, keyframe=key_a, time_base=Fraction(tb), start_pts=start_pts, packets=packets)


def frame_table(path: str | os.PathLike) -> FrameTable:
    """The frame table of `path` (cached while the file is unchanged)."""
    p = check_input(path)
    st = os.stat(p)
    return _frame_table_cached(os.path.abspath(p), st.st_mtime_ns, st.st_size)


def stated_duration(stream) -> float | None:
    """The video stream's own stated duration in seconds (MP4/TS field or the MKV/WebM
    `DURATION` tag), or None. The container's duration is not used: audio may run longer."""
    if stream.duration is not None and stream.time_base:
        return float(stream.duration * stream.time_base)
    tag = stream.metadata.get("DURATION")
    if tag:
        try:
            h, m, sec = tag.split(":")
            return int(h) * 3600 + int(m) * 60 + float(sec)
        except ValueError:
            return None
    return None


def check_span(path: str, stream, span_s: float, frames: int, max_interval: float = 0.0) -> None:
    """Raise VideoError if frames spanning `span_s` seconds end well before the stated duration.

    Used where the header has no frame count (MKV, WebM): a cut file still states its
    full duration. Tolerance: two of the longest frame intervals seen, plus 50 ms (so a
    variable-rate file whose last frame is held a while is not taken for a cut one).
    """
    if stream.frames:
        return  # the frame count is checked instead
    stated = stated_duration(stream)
    if not stated or frames < 1:
        return
    interval = max(span_s / (frames - 1) if frames > 1 else 0.0, max_interval)
    if span_s + 2 * interval + 0.05 < stated - float(stream.start_time or 0) * float(stream.time_base or 0):
        raise VideoError(f"{path}: truncated video, frames end at {span_s:.3f} s of a stated {stated:.3f} s")


def _is_vfr(pts: np.ndarray, time_base: Fraction) -> bool:
    """True when frame durations differ by more than timestamp rounding (1 tick or 1 %)."""
    if len(pts) < 3:
        return False
    d = np.diff(pts).astype(np.float64)
    med = float(np.median(d))
    tol = max(1.5, 0.01 * med)
    return bool(np.any(np.abs(d - med) > tol))


def probe_video(path: str | os.PathLike, *, scan: bool = True) -> VideoInfo:
    """Read `path`'s metadata without decoding frames.

    With `scan` (default) the packets are demuxed (no decoding) to count frames exactly,
    detect variable frame rate and catch truncated files; `scan=False` reads headers only.
    Raises VideoError naming the file if it is missing, empty, not a video or truncated.
    """
    container, stream = open_video(path)
    p = os.fspath(path)
    try:
        info = _header_info(p, container, stream)
        if scan:
            _scan_info(info, p, stream)
    finally:
        container.close()
    if info.num_frames == 0 and info.duration and info.fps:
        info.num_frames = int(round(info.duration * info.fps))
    if info.is_vfr and info.duration > 0 and info.num_frames:
        info.fps = info.num_frames / info.duration
    return info


def _header_info(p: str, container, stream) -> VideoInfo:
    """VideoInfo from the container and stream headers alone."""
    cc = stream.codec_context
    tb = Fraction(stream.time_base or Fraction(1, 1))
    duration = stated_duration(stream)
    if duration is None:
        duration = container.duration / 1_000_000 if container.duration is not None else 0.0
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    base = stream.base_rate or stream.guessed_rate
    return VideoInfo(
        path=p, codec=cc.name, width=int(cc.width), height=int(cc.height),
        num_frames=int(stream.frames or 0), fps=float(rate) if rate else 0.0, duration=duration,
        start_time=float(stream.start_time * tb) if stream.start_time is not None else 0.0,
        is_vfr=bool(rate and base and abs(float(rate) / float(base) - 1) > 0.01),
        pix_fmt=cc.pix_fmt, has_audio=bool(container.streams.audio),
        rotation=_rotation(p, stream), bit_rate=int(container.bit_rate or cc.bit_rate or 0) or None,
    )


def _scan_info(info: VideoInfo, p: str, stream) -> None:
    """Refine `info` from the packet table; raise VideoError on empty or truncated files."""
    table = frame_table(p)
    if table.packets == 0:
        raise VideoError(f"{p}: no video frames in the file (empty stream, or truncated)")
    if stream.frames and table.packets < stream.frames:
        raise VideoError(f"{p}: truncated video, {table.packets} of {stream.frames} frames present")
    n = len(table.pts)
    if n == 0:  # no timestamps (raw .h264/.hevc streams): one packet per frame
        info.num_frames = table.packets
        info.is_vfr = False  # no timestamps: frames are played at the nominal rate
        if info.fps:
            info.duration = table.packets / info.fps
        return
    span = float(table.times()[-1])
    check_span(p, stream, span, n, float(np.diff(table.times()).max(initial=0.0)))
    info.num_frames = n
    info.is_vfr = _is_vfr(table.pts, table.time_base)
    # a stated duration must cover the last frame too; if not (missing, NUT's span-only
    # value, MPEG-PS estimates) derive it from the frames
    if n > 1 and info.duration < span + 0.5 * span / (n - 1):
        info.duration = span * n / (n - 1)


def _rotation(path: str, stream) -> int | None:
    """Display rotation from the legacy `rotate` tag or the MP4/MOV track header matrix."""
    tag = stream.metadata.get("rotate")
    if tag is not None:
        try:
            return (-int(float(tag)) % 360) or None  # the legacy tag counts clockwise
        except ValueError:
            return None
    if os.path.splitext(path)[1].lower() not in (".mp4", ".mov", ".m4v", ".3gp"):
        return None
    return _mp4_rotation(path, track_index=stream.index)


def _mp4_rotation(path: str, track_index: int) -> int | None:
    """Rotation of the `track_index`-th track from its 'tkhd' matrix (small MP4 box walk)."""
    with open(path, "rb") as f:
        moov = _find_box(f, b"moov", 0, os.fstat(f.fileno()).st_size)
        if moov is None:
            return None
        tracks = []
        pos, end = moov
        while True:
            trak = _find_box(f, b"trak", pos, end)
            if trak is None:
                break
            tracks.append(trak)
            pos = trak[1]
        if track_index >= len(tracks):
            return None
        tkhd = _find_box(f, b"tkhd", *tracks[track_index])
        if tkhd is None:
            return None
        f.seek(tkhd[0])
        version = f.read(1)[0]
        # version+flags, 2 times, track id, reserved, duration (32/64-bit by version),
        # then 16 bytes (reserved, layer, group, volume) before the 3x3 matrix a b u c d v x y w
        f.seek(tkhd[0] + (24 if version == 0 else 36) + 16)
        a, b, _, c, d = struct.unpack(">5i", f.read(20))
    if (a, b, c, d) == (0, 0, 0, 0):
        return None
    # the matrix maps displayed = coded * M; FFmpeg reports the counter-clockwise angle
    angle = int(-round(np.degrees(np.arctan2(b, a)))) % 360
    return angle or None  # identity matrix: FFmpeg exports no rotation either


def _find_box(f, name: bytes, start: int, end: int) -> tuple[int, int] | None:
    """(payload start, box end) of the first box `name` among the boxes in [start, end)."""
    pos = start
    while pos + 8 <= end:
        f.seek(pos)
        head = f.read(8)
        if len(head) < 8:
            return None
        size, kind = struct.unpack(">I4s", head)
        hdr = 8
        if size == 1:
            size = struct.unpack(">Q", f.read(8))[0]
            hdr = 16
        elif size == 0:
            size = end - pos
        if size < hdr:
            return None
        if kind == name:
            return pos + hdr, pos + size
        pos += size
    return None
