"""The real simulator as a Gymnasium environment, the twin of the world-model environment.

Same spaces as `WorldModelEnv`: an action is a chunk of `k` per-frame 7-D end-effector deltas
(k = the world model's actions per latent frame, 4 by default), the observation is the last
rendered RGB frame plus the measured tool-tip position `ee_pos`. Episodes start like the
world model's: `reset(seed)` builds the robot_push scene of that seed and holds still for
`context_frames - 1` frames, so both environments start from the same frames.
Success (reward 1) is the true state: the pushed object's centre inside the target circle.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from ..sim.robot import MAX_DELTA, WORKSPACE


def robot_spaces(resolution: int, k: int, action_dim: int = 7) -> tuple[spaces.Dict, spaces.Box]:
    """(observation space, action space) shared by the simulator and world-model environments."""
    obs = spaces.Dict({"image": spaces.Box(0, 255, (resolution, resolution, 3), np.uint8),
                       "ee_pos": spaces.Box(WORKSPACE[0].astype(np.float32) - 0.5,
                                            WORKSPACE[1].astype(np.float32) + 0.5, dtype=np.float32)})
    if action_dim == 7:
        high = np.tile(MAX_DELTA, (k, 1)).astype(np.float32)
    else:
        high = np.full((k, action_dim), np.inf, np.float32)
    return obs, spaces.Box(-high, high, dtype=np.float32)


def sim_start(sim, seed: int, context_frames: int) -> dict:
    """Reset `sim` to `seed` and hold still: {"frames" uint8 [C, H, W, 3], "past_actions" [C-1, 7], "ee_pos", "task"}."""
    from .vision import task_from_sim

    frames = [sim.reset(int(seed))["rgb"]]
    for _ in range(context_frames - 1):
        frames.append(sim.step(np.zeros(7, np.float32))["rgb"])
    return {"frames": np.stack(frames), "past_actions": np.zeros((context_frames - 1, 7), np.float32),
            "ee_pos": np.asarray(sim.observation()["ee_pos"], np.float32), "task": task_from_sim(sim)}


class RobotPushSimEnv(gym.Env):
    """robot_push in pybullet behind the Gymnasium API (see the module docstring)."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 15}

    def __init__(self, resolution: int = 64, actions_per_step: int = 4, context_frames: int = 5,
                 max_steps: int = 7, render_mode: str | None = None):
        from ..sim.robot import RobotPushSim

        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode={render_mode!r}: expected None or 'rgb_array'")
        self.sim = RobotPushSim(resolution=resolution)
        self.k, self.context_frames, self.max_steps = actions_per_step, context_frames, max_steps
        self.render_mode = render_mode
        self.observation_space, self.action_space = robot_spaces(resolution, actions_per_step)
        self._frame: np.ndarray | None = None
        self._t = 0

    def _obs(self) -> dict:
        return {"image": self._frame, "ee_pos": np.asarray(self.sim.observation()["ee_pos"], np.float32)}

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        if seed is None:
            seed = int(self.np_random.integers(2**31))
        start = sim_start(self.sim, seed, self.context_frames)
        self._frame, self._t = start["frames"][-1], 0
        return self._obs(), {"task": start["task"], "frames": start["frames"], "success": self.sim.success()}

    def step(self, action):
        a = np.clip(np.asarray(action, np.float32).reshape(self.k, 7), self.action_space.low, self.action_space.high)
        frames = np.stack([self.sim.step(row)["rgb"] for row in a])  # [k, H, W, 3]
        self._frame, self._t = frames[-1], self._t + 1
        success = self.sim.success()
        return self._obs(), float(success), False, self._t >= self.max_steps, {"frames": frames, "success": success}

    def render(self):
        return self._frame

    def close(self):
        self.sim.close()
