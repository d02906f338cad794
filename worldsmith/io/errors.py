"""Video I/O errors: one line that names the file and says what is wrong."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from ..utils.errors import WorldsmithError


class VideoError(WorldsmithError):
    """A video or image file that is missing, empty, truncated, corrupt or not a video."""


def check_input(path: str | os.PathLike, what: str = "video") -> str:
    """Return `path` as str if it is an existing, non-empty regular file, else raise VideoError."""
    p = os.fspath(path)
    if not os.path.exists(p):
        raise VideoError(f"{what} not found: {p}")
    if os.path.isdir(p):
        raise VideoError(f"{what} is a directory, expected a file: {p}")
    if os.path.getsize(p) == 0:
        raise VideoError(f"{what} is empty (0 bytes): {p}")
    return p


def ffmpeg_message(e: BaseException) -> str:
    """FFmpeg's reason without errno noise or the repeated filename."""
    strerror = getattr(e, "strerror", None)
    return str(strerror or e).splitlines()[0] if (strerror or str(e)) else type(e).__name__


@contextlib.contextmanager
def decode_errors(path: str, doing: str) -> Iterator[None]:
    """Turn FFmpeg errors raised inside the block into a VideoError naming `path`."""
    import av

    try:
        yield
    except av.error.FFmpegError as e:
        raise VideoError(f"{path}: {doing} failed, file is corrupt or truncated ({ffmpeg_message(e)})") from None
