"""Progress bars for long work (tqdm: rate and ETA), quiet when not on a terminal or in CI."""

from __future__ import annotations

import os
import sys
from typing import Iterable, Iterator, TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")


def progress_enabled() -> bool:
    """Bars show on an interactive terminal unless WORLDSMITH_NO_PROGRESS is set."""
    if os.environ.get("WORLDSMITH_NO_PROGRESS"):
        return False
    return sys.stderr.isatty()


def progress(iterable: Iterable[T] | None = None, total: int | None = None, desc: str = "",
             unit: str = "it", disable: bool | None = None, **kw) -> "tqdm[T]":
    """A tqdm bar with rate and ETA; use as an iterator wrapper or with `.update(n)`."""
    if disable is None:
        disable = not progress_enabled()
    return tqdm(iterable, total=total, desc=desc, unit=unit, disable=disable,
                dynamic_ncols=True, smoothing=0.1, **kw)


def track(iterable: Iterable[T], desc: str = "", total: int | None = None, unit: str = "it") -> Iterator[T]:
    """Iterate with a progress bar."""
    yield from progress(iterable, total=total, desc=desc, unit=unit)
