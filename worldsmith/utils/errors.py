"""User-facing errors.

Every entry point that takes a user's file or argument raises `WorldsmithError` with one
line that names the file/argument and says what is wrong. The CLI prints that line (no
traceback) and exits with status 2.
"""

from __future__ import annotations

import os


class WorldsmithError(Exception):
    """An error caused by the user's input, shown as one clear line."""


def require_file(path: str | os.PathLike, what: str = "file") -> str:
    """Return `path` as str if it is an existing, non-empty regular file, else raise."""
    p = os.fspath(path)
    if not os.path.exists(p):
        raise WorldsmithError(f"{what} not found: {p}")
    if os.path.isdir(p):
        raise WorldsmithError(f"{what} is a directory, expected a file: {p}")
    if os.path.getsize(p) == 0:
        raise WorldsmithError(f"{what} is empty (0 bytes): {p}")
    return p


def require_dir(path: str | os.PathLike, what: str = "directory") -> str:
    """Return `path` as str if it is an existing directory, else raise."""
    p = os.fspath(path)
    if not os.path.exists(p):
        raise WorldsmithError(f"{what} not found: {p}")
    if not os.path.isdir(p):
        raise WorldsmithError(f"{what} is not a directory: {p}")
    return p
