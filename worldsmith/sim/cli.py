"""`worldsmith sim ...` commands."""

from __future__ import annotations

from ..cli import add_group


def register(sub) -> None:
    add_group(sub, "sim", "physics simulator: ground-truth video of physical events")
