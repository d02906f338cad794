"""Named flat colours for objects and for the floor/backdrop, sampled per clip.

Object colours are saturated and far apart (in RGB) from each other and from every floor
colour, so the evaluator can find each object in a predicted frame by its declared colour.
Floors and backdrops are muted greys/browns/blues that no object colour comes close to.
"""

from __future__ import annotations

import numpy as np

# name -> RGB 0-255
OBJECT_COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 30, 30),
    "green": (30, 190, 40),
    "blue": (30, 70, 230),
    "yellow": (240, 220, 20),
    "orange": (250, 130, 0),
    "purple": (140, 40, 200),
    "cyan": (0, 210, 220),
    "magenta": (230, 30, 200),
    "pink": (255, 140, 190),
    "lime": (170, 240, 40),
}

FLOOR_COLOURS: dict[str, tuple[int, int, int]] = {
    "grey": (128, 128, 128),
    "light grey": (175, 175, 170),
    "dark grey": (80, 80, 85),
    "beige": (190, 175, 145),
    "brown": (120, 95, 70),
    "slate": (95, 110, 125),
}

BACKDROP_COLOURS: dict[str, tuple[int, int, int]] = {
    "white": (235, 235, 235),
    "pale blue": (185, 205, 225),
    "pale green": (195, 215, 190),
    "cream": (230, 220, 195),
    "light grey": (200, 200, 200),
}


def rgba(rgb: tuple[int, int, int]) -> list[float]:
    """RGB 0-255 -> pybullet rgbaColor (0-1 floats, opaque)."""
    return [c / 255.0 for c in rgb] + [1.0]


def sample_object_colours(rng: np.random.Generator, n: int) -> list[str]:
    """`n` distinct object colour names (n <= number of colours)."""
    names = list(OBJECT_COLOURS)
    idx = rng.choice(len(names), size=n, replace=False)
    return [names[i] for i in idx]


def sample_scene_colours(rng: np.random.Generator) -> tuple[str, str]:
    """(floor colour name, backdrop colour name)."""
    floors, backs = list(FLOOR_COLOURS), list(BACKDROP_COLOURS)
    return floors[rng.integers(len(floors))], backs[rng.integers(len(backs))]
