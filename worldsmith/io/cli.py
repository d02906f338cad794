"""`worldsmith video ...` commands."""

from __future__ import annotations

from ..cli import add_group


def register(sub) -> None:
    add_group(sub, "video", "probe and convert video files")
