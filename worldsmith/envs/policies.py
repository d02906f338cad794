"""Policies for the robot environments: `factory(task, seed) -> policy`, `policy(obs) -> action [7]`.

Both environments give the same observation (`image` uint8 [H, W, 3], `ee_pos` [3]), so a
policy must see the object through the camera: the shipped ones wrap the simulator's
scripted pushers (`sim/policies.py`) in `vision.VisualPolicy`, which estimates the object's
position from the image. `worldsmith eval policy --policy module:callable` takes any factory
with this signature (e.g. a learned policy that loads its own weights).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..sim.robot import WORKSPACE

Policy = Callable[[dict], np.ndarray]


def good(task: dict, seed: int = 0) -> Policy:
    """The scripted pusher: go behind the object, lower, push it into the target."""
    from .vision import make_visual_policy

    return make_visual_policy("good", task, seed)


def noisy(task: dict, seed: int = 0) -> Policy:
    """The scripted pusher with Gaussian noise on every action channel."""
    from .vision import make_visual_policy

    return make_visual_policy("noisy", task, seed)


def random(task: dict, seed: int = 0) -> Policy:
    """Uniform random end-effector deltas."""
    from .vision import make_visual_policy

    return make_visual_policy("random", task, seed)


SHIPPED = {"good": good, "noisy": noisy, "random": random}


def load_policy(spec: str) -> tuple[str, Callable]:
    """'good' | 'noisy' | 'random' | 'package.module:factory' -> (name, factory)."""
    import importlib

    from ..utils.errors import WorldsmithError

    if spec in SHIPPED:
        return spec, SHIPPED[spec]
    if ":" not in spec:
        raise WorldsmithError(f"--policy {spec!r}: expected good, noisy, random or module:callable")
    module, _, attr = spec.partition(":")
    try:
        factory = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as e:
        raise WorldsmithError(f"--policy {spec!r}: cannot load ({e})") from None
    if not callable(factory):
        raise WorldsmithError(f"--policy {spec!r}: {attr} is not callable")
    return attr, factory


def action_chunk(policy: Policy, obs: dict, k: int) -> np.ndarray:
    """k actions [k, 7] from one observation: the policy is asked k times while `ee_pos` is
    dead-reckoned from its own actions (the image only changes once per chunk)."""
    ee = np.asarray(obs["ee_pos"], np.float64).copy()
    out = []
    for _ in range(k):
        a = np.asarray(policy({"image": obs["image"], "ee_pos": ee.astype(np.float32)}), np.float32).reshape(-1)
        out.append(a)
        ee = np.clip(ee + a[:3], WORKSPACE[0], WORKSPACE[1])
    return np.stack(out)
