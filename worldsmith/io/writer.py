"""Write video: H.264 MP4 (yuv420p, CRF quality) or bit-exact lossless RGB; GIF previews.

Lossless mode uses libx264rgb at QP 0: RGB in, the same RGB out, bit for bit, so ground
truth written by the simulator is not altered by the codec and scores against it measure
the model. Lossy mode converts RGB to BT.709 limited-range yuv420p and tags the stream so,
which is what players and our own reader assume.
"""

from __future__ import annotations

import io
import os
from fractions import Fraction

import numpy as np

from ..utils.atomic import atomic_path
from .errors import VideoError, ffmpeg_message
from .transforms import check_frames

_FORMATS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska"}

# BT.709 / limited ("tv") range, as FFmpeg's enum values (AVColorSpace etc.)
_BT709 = 1
_TV_RANGE = 1


def _rate(fps: float) -> Fraction:
    """fps as an exact fraction: 30 -> 30, 29.97 -> 30000/1001, 23.976 -> 24000/1001, 12.5 -> 25/2."""
    if not fps or not np.isfinite(fps) or fps <= 0:
        raise VideoError(f"fps: must be a positive number, got {fps!r}")
    if abs(fps - round(fps)) < 1e-6:
        return Fraction(round(fps))
    n = round(fps * 1.001)  # the NTSC family: n * 1000 / 1001, usually written rounded
    if abs(n / 1.001 - fps) < 1e-3:
        return Fraction(n * 1000, 1001)
    return Fraction(fps).limit_denominator(100_000)


def _public_mode(path: str) -> None:
    """Give a temp file (created 0600) the permissions a normal new file would get."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


class VideoWriter:
    """Stream frames into an MP4 (H.264) file or file object, one frame or a batch at a time.

    Use as a context manager: on success the file appears atomically at `path`; if the
    block raises, nothing is left behind. The frame size is taken from the first frame.
    """

    def __init__(self, path_or_file, fps: float, *, quality: int = 18, lossless: bool = False,
                 preset: str = "medium", time_base: Fraction | None = None, name: str | None = None):
        if not lossless and not (0 <= int(quality) <= 51):
            raise VideoError(f"quality: expected a CRF value 0..51 (lower is better), got {quality}")
        self.rate = _rate(fps)
        # PTS unit; a fine one (e.g. the source's) lets `write(..., timestamps=)` keep VFR timing
        self.time_base = Fraction(time_base) if time_base else 1 / self.rate
        self._last_pts = None
        self.quality, self.lossless, self.preset = int(quality), bool(lossless), preset
        self.target = path_or_file
        self.name = name or (os.fspath(path_or_file) if isinstance(path_or_file, (str, os.PathLike)) else "<memory>")
        self._atomic = None
        self._container = None
        self._stream = None
        self._count = 0
        self._fmt = self._format()  # validate the extension before creating anything

    # -- lifecycle
    def _format(self) -> str:
        """Container from the file name: MP4 (default), MOV or Matroska; H.264 fits all three."""
        if not isinstance(self.target, (str, os.PathLike)):
            return "mp4"
        ext = os.path.splitext(os.fspath(self.target))[1].lower()
        if ext not in _FORMATS:
            raise VideoError(f"{self.name}: unsupported output extension {ext!r} "
                             f"(use {', '.join(sorted(_FORMATS))}; write_gif for .gif)")
        return _FORMATS[ext]

    def __enter__(self) -> VideoWriter:
        if isinstance(self.target, (str, os.PathLike)):
            self._atomic = atomic_path(self.target)
            out = self._tmp = self._atomic.__enter__()
        else:
            out = self.target
        import av

        try:
            # faststart (index first, for streaming) needs to re-open the output by name
            opts = {"movflags": "+faststart"} if isinstance(out, str) and self._fmt != "matroska" else {}
            self._container = av.open(out, mode="w", format=self._fmt, options=opts)
        except av.error.FFmpegError as e:
            self._abort()
            raise VideoError(f"cannot create video {self.name}: {ffmpeg_message(e)}") from None
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self._abort(exc_type, exc, tb)

    def _abort(self, *exc_info) -> None:
        if self._container is not None:
            try:
                self._container.close()
            except Exception:  # noqa: BLE001 - already failing; the temp file is removed below
                pass
            self._container = None
        if self._atomic is not None:
            info = exc_info if exc_info else (VideoError, VideoError("aborted"), None)
            try:
                self._atomic.__exit__(*info)
            except BaseException:  # noqa: BLE001 - atomic_path re-raises what we passed in
                pass
            self._atomic = None

    def _open_stream(self, height: int, width: int) -> None:
        codec = "libx264rgb" if self.lossless else "libx264"
        if not self.lossless and (height % 2 or width % 2):
            raise VideoError(f"{self.name}: H.264 yuv420p needs an even frame size, got {width}x{height} "
                             "(resize to even, or use lossless=True)")
        s = self._container.add_stream(codec, rate=self.rate)
        s.width, s.height = width, height
        s.time_base = self.time_base
        s.codec_context.time_base = self.time_base
        if self.lossless:
            s.pix_fmt = "rgb24"
            s.options = {"qp": "0", "preset": self.preset}
        else:
            s.pix_fmt = "yuv420p"
            s.options = {"crf": str(self.quality), "preset": self.preset}
            cc = s.codec_context
            cc.colorspace, cc.color_primaries, cc.color_trc, cc.color_range = _BT709, _BT709, _BT709, _TV_RANGE
        self._stream = s

    # -- writing
    def write(self, frames, timestamps=None) -> None:
        """Append one frame [H, W, 3] or a batch [T, H, W, 3] of uint8 RGB.

        `timestamps` (seconds, one per frame, increasing) place frames in time for
        variable-frame-rate output; without them frame k sits at k / fps.
        """
        import av

        a = check_frames(frames)
        if timestamps is not None:
            timestamps = np.atleast_1d(np.asarray(timestamps, dtype=np.float64))
            if timestamps.shape != (len(a),):
                raise VideoError(f"timestamps: expected {len(a)} values (one per frame), got {timestamps.shape}")
        if self._container is None:
            raise VideoError(f"{self.name}: writer is not open (use it as a context manager)")
        if self._stream is None:
            self._open_stream(a.shape[1], a.shape[2])
        if (a.shape[1], a.shape[2]) != (self._stream.height, self._stream.width):
            raise VideoError(f"{self.name}: frame size {a.shape[2]}x{a.shape[1]} differs from the "
                             f"first frame's {self._stream.width}x{self._stream.height}")
        try:
            for k, f in enumerate(a):
                t = timestamps[k] if timestamps is not None else self._count / self.rate
                pts = int(round(t / self.time_base))
                if self._last_pts is not None and pts <= self._last_pts:
                    raise VideoError(f"timestamps: must increase by at least one time-base tick; "
                                     f"frame {self._count} at {float(t):.6f} s is not after the previous frame")
                vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="rgb24")
                if not self.lossless:
                    vf = vf.reformat(format="yuv420p", dst_colorspace="ITU709", dst_color_range="MPEG")
                vf.pts, vf.time_base = pts, self.time_base
                self._last_pts = pts
                self._count += 1
                self._container.mux(self._stream.encode(vf))
        except av.error.FFmpegError as e:
            raise VideoError(f"{self.name}: encoding failed ({ffmpeg_message(e)})") from None

    def close(self) -> None:
        """Flush the encoder and finish the file (renamed into place if writing to a path)."""
        import av

        if self._container is None:
            return
        if self._stream is None:
            self._abort()
            raise VideoError(f"{self.name}: no frames were written")
        try:
            self._container.mux(self._stream.encode(None))
            self._container.close()
        except av.error.FFmpegError as e:
            self._abort()
            raise VideoError(f"{self.name}: finishing the video failed ({ffmpeg_message(e)})") from None
        self._container = None
        if self._atomic is not None:
            _public_mode(self._tmp)
            self._atomic.__exit__(None, None, None)
            self._atomic = None


def write_video(path: str | os.PathLike, frames, fps: float, *, quality: int = 18,
                lossless: bool = False, preset: str = "medium") -> None:
    """Write uint8 RGB [T, H, W, 3] to `path` as an H.264 MP4, atomically.

    `quality` is the x264 CRF (0..51, lower is better; 18 is visually lossless). With
    `lossless=True` the file is RGB H.264 at QP 0 and decodes to exactly `frames`.
    The container follows the extension: .mp4/.m4v (default), .mov or .mkv.
    """
    a = check_frames(frames)
    with VideoWriter(path, fps, quality=quality, lossless=lossless, preset=preset) as w:
        w.write(a)


def encode_video(frames, fps: float, *, quality: int = 18, lossless: bool = False,
                 preset: str = "medium") -> bytes:
    """Encode uint8 RGB [T, H, W, 3] into MP4 bytes (H.264; see `write_video`)."""
    a = check_frames(frames)
    buf = io.BytesIO()
    with VideoWriter(buf, fps, quality=quality, lossless=lossless, preset=preset) as w:
        w.write(a)
    return buf.getvalue()


def write_gif(path: str | os.PathLike, frames, fps: float, *, loop: int = 0) -> None:
    """Write uint8 RGB [T, H, W, 3] as an animated GIF preview (adaptive palette), atomically.

    GIF stores frame delays in 1/100 s, so the rate is approximate above ~50 fps.
    """
    from PIL import Image

    a = check_frames(frames)
    if not fps or fps <= 0:
        raise VideoError(f"fps: must be a positive number, got {fps!r}")
    delay_ms = max(20, int(round(100.0 / fps)) * 10)
    images = [Image.fromarray(f) for f in a]
    with atomic_path(path) as tmp:
        images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:],
                       duration=delay_ms, loop=loop, optimize=False, disposal=1)
        _public_mode(tmp)
