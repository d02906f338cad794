"""`worldsmith data ...` commands."""

from __future__ import annotations

from ..cli import add_group


def register(sub) -> None:
    add_group(sub, "data", "clip datasets: inspect, preview, import/export")
