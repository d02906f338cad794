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


def read_json(path: str | os.PathLike, what: str = "JSON file") -> dict:
    """The JSON object at `path` (an existing, non-empty file), or one clear error naming it."""
    import json

    p = require_file(path, what)
    try:
        with open(p, encoding="utf-8") as f:
            data = json.load(f)
    except json.JSONDecodeError as e:
        raise WorldsmithError(f"{p}: not valid JSON ({e})") from None
    except UnicodeDecodeError:
        raise WorldsmithError(f"{p}: not a text file (expected JSON)") from None
    if not isinstance(data, dict):
        raise WorldsmithError(f"{p}: expected a JSON object, got {type(data).__name__}")
    return data
