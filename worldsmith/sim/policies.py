"""Scripted policies for the robot pushing scenario: observation dict -> 7-D action.

The observation is `RobotPushSim.observation()` (tool tip `ee_pos`, `object_pos`,
`object_size`, `target_pos`, `target_radius`); an action is (dx, dy, dz, droll, dpitch,
dyaw, dgripper) for one frame, clipped by the simulator to `robot.MAX_DELTA`.

- `good_pusher(obs)`: go behind the object (seen from the target), lower, push it in.
- `NoisyPusher(seed, noise)`: the good pusher plus Gaussian noise (and random rotation jitter).
- `RandomPolicy(seed)`: uniform random deltas within the bounds.
- `PlayPolicy(seed)`: random-waypoint "play" (data for action-conditioned post-training):
  the arm glides to random goals, half of them at the object, at random speeds with pauses,
  so where it goes next cannot be read off the scene, only off the actions.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

Policy = Callable[[dict], np.ndarray]
MAX_STEP = 0.04  # metres per frame


def good_pusher(obs: dict, speed: float = 0.025, max_step: float = MAX_STEP) -> np.ndarray:
    """Stateless push controller: approach behind the object at a safe height, descend, push."""
    ee, obj, tgt = (np.asarray(obs[k], np.float64) for k in ("ee_pos", "object_pos", "target_pos"))
    size = np.asarray(obs["object_size"], np.float64)
    half = 0.5 * float(max(size[0], size[1]))
    to_tgt = tgt[:2] - obj[:2]
    dist = float(np.linalg.norm(to_tgt))
    action = np.zeros(7, np.float32)
    if dist < 0.5 * float(obs["target_radius"]):
        return action  # done: hold still
    u = to_tgt / max(dist, 1e-9)
    z_push, z_safe = 0.03, size[2] + 0.08  # push low with the side of the rod: nothing tips over
    speed = speed * float(np.clip(dist / 0.12, 0.3, 1.0))  # slow down near the target (no overshoot)
    rel = ee[:2] - obj[:2]
    along = float(rel @ u)
    lateral = rel - along * u
    pre = obj[:2] - u * (half + 0.05)
    if np.linalg.norm(lateral) < 0.6 * half and -half - 0.15 < along < -0.3 * half and ee[2] < z_push + 0.05:
        goal_xy, goal_z = ee[:2] + u * speed - 0.5 * lateral, z_push  # pushing: advance, stay on the line
        step = goal_xy - ee[:2]
        return _pack(action, np.array([*step, goal_z - ee[2]]), max_step)
    if np.linalg.norm(ee[:2] - pre) < 0.03:
        goal = np.array([*pre, z_push])  # above the pre-push point: descend
    elif np.linalg.norm(rel) < half + 0.08 and ee[2] < z_safe - 0.02:
        goal = np.array([*ee[:2], z_safe])  # too close to the object: lift first
    else:
        goal = np.array([*pre, z_safe if np.linalg.norm(ee[:2] - pre) > 0.08 else z_push])
    return _pack(action, goal - ee, max_step)


def _pack(action: np.ndarray, delta_xyz: np.ndarray, max_step: float) -> np.ndarray:
    action[:3] = np.clip(delta_xyz, -max_step, max_step)
    return action


class NoisyPusher:
    """The good pusher with Gaussian noise on every channel (seeded, so episodes repeat)."""

    def __init__(self, seed: int = 0, noise: float = 0.4, speed: float = 0.025) -> None:
        self.rng = np.random.default_rng(seed)
        self.noise, self.speed = noise, speed

    def __call__(self, obs: dict) -> np.ndarray:
        a = good_pusher(obs, self.speed)
        jitter = self.rng.normal(0.0, 1.0, 7) * np.array([MAX_STEP] * 3 + [0.03] * 3 + [0.1]) * self.noise
        return (a + jitter).astype(np.float32)


class RandomPolicy:
    """Uniform random end-effector deltas (position +-4 cm, rotation +-0.05 rad, gripper +-1)."""

    def __init__(self, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)

    def __call__(self, obs: dict) -> np.ndarray:
        bound = np.array([MAX_STEP] * 3 + [0.05] * 3 + [1.0])
        return self.rng.uniform(-bound, bound).astype(np.float32)


class PlayPolicy:
    """Random-waypoint play: glide to a random goal, pick another after it is reached or a few frames.

    Half the goals lie around the object (so play makes contacts and pushes), half anywhere in
    the reachable area in front of the robot; speeds vary per goal, sometimes the arm pauses.
    Unlike the scripted pushers, the next move is not predictable from the scene: a world
    model trained on play clips must read it from the actions.
    """

    AREA = np.array([[0.3, -0.45, 0.03], [0.85, 0.45, 0.3]])  # goal box (m), inside robot.WORKSPACE

    def __init__(self, seed: int = 0, speed: float = 0.025) -> None:
        self.rng = np.random.default_rng(seed)
        self.speed = speed
        self.goal: np.ndarray | None = None
        self.step_len = speed
        self.timer = 0
        self.hold = 0

    def _new_goal(self, obs: dict) -> None:
        rng = self.rng
        if rng.random() < 0.5:  # near the object: contacts and pushes happen
            half = 0.5 * float(max(obs["object_size"][0], obs["object_size"][1]))
            xy = np.asarray(obs["object_pos"][:2], np.float64) + rng.uniform(-1, 1, 2) * (half + 0.08)
            goal = np.array([*xy, rng.uniform(0.03, 0.12)])
        else:
            goal = rng.uniform(self.AREA[0], self.AREA[1])
        self.goal = np.clip(goal, self.AREA[0], self.AREA[1])
        self.step_len = min(MAX_STEP, self.speed * rng.uniform(0.6, 1.6))
        self.timer = int(rng.integers(6, 20))
        self.hold = int(rng.integers(2, 6)) if rng.random() < 0.2 else 0

    def __call__(self, obs: dict) -> np.ndarray:
        ee = np.asarray(obs["ee_pos"], np.float64)
        if self.goal is None or self.timer <= 0 or np.linalg.norm(self.goal - ee) < 0.01:
            self._new_goal(obs)
        self.timer -= 1
        action = np.zeros(7, np.float32)
        if self.hold > 0:
            self.hold -= 1
            return action
        delta = self.goal - ee
        dist = float(np.linalg.norm(delta))
        return _pack(action, delta * min(1.0, self.step_len / max(dist, 1e-9)), MAX_STEP)


def make_policy(name: str, seed: int = 0, speed: float = 0.025) -> Policy:
    """'good' | 'noisy' | 'random' | 'play' -> a callable observation -> action7."""
    if name == "good":
        return lambda obs: good_pusher(obs, speed)
    if name == "noisy":
        return NoisyPusher(seed, speed=speed)
    if name == "random":
        return RandomPolicy(seed)
    if name == "play":
        return PlayPolicy(seed, speed=speed)
    raise ValueError(f"unknown policy {name!r} (good, noisy, random, play)")
