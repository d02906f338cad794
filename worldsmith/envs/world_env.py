"""An action-conditioned world model as a Gymnasium environment (single and batched).

Observation: the last predicted RGB frame (`image`, uint8 [H, W, 3]) and `ee_pos`, the
commanded tool-tip position dead-reckoned from the actions (a robot's proprioception; the
video model does not predict it). Action: a chunk of `k` per-frame actions [k, A] (k = the
model's actions per latent frame): each step predicts the next k frames, autoregressively:
the model conditions on the last `context_latents` latent frames of the episode, which stay in
latent space from step to step; the episode's latent history is decoded in one causal pass for
the observation and re-anchored (the last frames re-encoded) every `MAX_LATENTS` latent frames
to bound the cost (see `inference/action.py`; `latent_rollout=False` re-encodes every step).

Episodes start from real frames: `reset(options={"frames": uint8 [C, H, W, 3], "ee_pos":
[3], "past_actions": [C-1, A], "task": {...}})`, or, with no frames, from the robot_push
simulator at `seed` (exactly the start `RobotPushSimEnv` uses, so policies can be compared in
both). Reward 1 when the pushed object is judged inside the target *from the predicted
image* (`vision.success_from_image`; needs a task description), else 0.

`WorldModelVectorEnv` runs `num_envs` episodes as one batch through the network (one
sampler call per step for all of them) with Gymnasium's next-step autoreset.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space

from ..sim.robot import WORKSPACE
from .sim_env import robot_spaces, sim_start


def _load(model, device: str, steps: int, context_latents: int, sampler: str | None = None):
    from ..inference.action import ActionWorldModel

    if isinstance(model, ActionWorldModel):
        return model
    if not model:
        raise ValueError("model: an action-conditioned world model directory (or ActionWorldModel) is required")
    return ActionWorldModel.from_pretrained(str(model), device=device, steps=steps, context_latents=context_latents,
                                            sampler=sampler)


MAX_LATENTS = 16  # latent frames an episode's history holds before it is re-anchored (61 frames at k = 4)


class _Episodes:
    """Batched episode state: context frames and latents, past actions, dead-reckoned tool tip, task, step count."""

    def __init__(self, wm, n: int, max_steps: int, start_seed_sim=None):
        self.wm, self.n, self.max_steps = wm, n, max_steps
        C, S, A = wm.context_frames, wm.size, wm.action_dim
        self.frames = np.zeros((n, C, S, S, 3), np.uint8)
        self.past = np.zeros((n, C - 1, A), np.float32)
        self.ee = np.zeros((n, 3), np.float32)
        self.tasks: list[dict | None] = [None] * n
        self.t = np.zeros(n, np.int64)
        self.seeds = np.zeros(n, np.int64)
        self.latents: list = [None] * n  # per episode [C, L, h, w]: the latent history since the last anchor
        self.anchor: list = [None] * n  # per episode uint8 [C, H, W, 3]: the frames its latent history starts from
        self._sim = None

    def start(self, i: int, seed: int, options: dict | None) -> dict:
        """(Re)start episode i from options["frames"] or from the simulator at `seed`; returns its info."""
        from ..io import center_crop, resize_frames

        wm, C = self.wm, self.wm.context_frames
        options = dict(options or {})
        if options.get("frames") is None:
            if self._sim is None:
                from ..sim.robot import RobotPushSim

                self._sim = RobotPushSim(resolution=wm.size)
            options = {**sim_start(self._sim, seed, C), **{k: v for k, v in options.items() if v is not None}}
        frames = np.asarray(options["frames"])
        frames = frames[None] if frames.ndim == 3 else frames
        if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
            raise ValueError(f"options['frames']: expected uint8 [T, H, W, 3], got {frames.dtype} {list(frames.shape)}")
        if frames.shape[1:3] != (wm.size, wm.size):
            frames = center_crop(resize_frames(frames, wm.size), wm.size)
        if len(frames) < C:  # too few: repeat the first frame (a robot holding still)
            frames = np.concatenate([np.repeat(frames[:1], C - len(frames), axis=0), frames])
        past = np.asarray(options.get("past_actions", np.zeros((len(frames) - 1, wm.action_dim))), np.float32)
        if past.shape != (len(frames) - 1, wm.action_dim):
            past = np.zeros((len(frames) - 1, wm.action_dim), np.float32)
        self.frames[i], self.past[i] = frames[-C:], past[len(past) - (C - 1):]
        self.ee[i] = np.asarray(options.get("ee_pos", np.zeros(3)), np.float32)
        self.tasks[i], self.t[i], self.seeds[i] = options.get("task"), 0, seed
        self.latents[i] = wm.encode(self.frames[i][None])[0] if wm.latent_rollout else None
        self.anchor[i] = self.frames[i].copy()
        return {"task": self.tasks[i], "frames": frames[-C:]}

    def step(self, idx: np.ndarray, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Advance the episodes `idx` by actions [len(idx), k, A] -> (new frames [n, k, H, W, 3], success [n])."""
        from .vision import success_from_image

        seed = int(self.seeds[idx[0]] * 1009 + self.t[idx[0]])
        if self.wm.latent_rollout:
            new = self._step_latent(idx, actions, seed)
        else:
            new = self.wm.predict(self.frames[idx], self.past[idx], actions, seed=seed)  # [n, k, H, W, 3]
        C, k = self.wm.context_frames, actions.shape[1]
        for j, i in enumerate(idx):
            self.frames[i] = np.concatenate([self.frames[i], new[j]])[-C:]
            self.past[i] = np.concatenate([self.past[i], actions[j]])[len(self.past[i]) + k - (C - 1):]
            if actions.shape[2] >= 3:  # tool-tip deltas first (the 7-D robot layout)
                for a in actions[j]:
                    self.ee[i] = np.clip(self.ee[i] + a[:3], WORKSPACE[0], WORKSPACE[1])
            self.t[i] += 1
        success = np.array([bool(self.tasks[i]) and success_from_image(new[j, -1], self.tasks[i])
                            for j, i in enumerate(idx)])
        return new, success

    def _step_latent(self, idx: np.ndarray, actions: np.ndarray, seed: int) -> np.ndarray:
        """Sample the next latent frames of episodes `idx` from their latent context; decode -> [n, k, H, W, 3]."""
        import torch

        wm, n_new = self.wm, actions.shape[1]
        new = np.zeros((len(idx), n_new, wm.size, wm.size, 3), np.uint8)
        for generated in (False, True):  # after an episode's first step its context is the model's own output
            js = [j for j, i in enumerate(idx) if (self.t[i] > 0) == generated]
            if not js:
                continue
            context = torch.stack([self.latents[idx[j]][:, -wm.context_latents:] for j in js])
            fresh = wm.predict_latent(context, self.past[idx[js]], actions[js], seed=seed,
                                      generated_context=generated)  # [n, C, m, h, w]
            for row, j in enumerate(js):
                self.latents[idx[j]] = torch.cat([self.latents[idx[j]], fresh[row]], dim=1)
        for length in sorted({self.latents[i].shape[1] for i in idx}):  # one causal decode per history length
            js = [j for j, i in enumerate(idx) if self.latents[i].shape[1] == length]
            video = wm.decode(torch.stack([self.latents[idx[j]] for j in js]),
                              known=np.stack([self.anchor[idx[j]] for j in js]))
            for row, j in enumerate(js):
                new[j] = video[row, -n_new:]
                if length >= MAX_LATENTS:  # re-anchor: the last frames, re-encoded, start a new history
                    self.anchor[idx[j]] = video[row, -wm.context_frames:].copy()
                    self.latents[idx[j]] = wm.encode(self.anchor[idx[j]][None])[0]
        return new

    def obs(self, i: int) -> dict:
        return {"image": self.frames[i, -1].copy(), "ee_pos": self.ee[i].copy()}


class WorldModelEnv(gym.Env):
    """One episode at a time in an action-conditioned world model (see the module docstring)."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 15}

    def __init__(self, model=None, *, max_steps: int = 7, sampler_steps: int = 10, context_latents: int = 2,
                 device: str = "auto", render_mode: str | None = None, sampler: str | None = None):
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode={render_mode!r}: expected None or 'rgb_array'")
        self.wm = _load(model, device, sampler_steps, context_latents, sampler)
        self.render_mode = render_mode
        self.k = self.wm.k
        self.observation_space, self.action_space = robot_spaces(self.wm.size, self.k, self.wm.action_dim)
        self.episodes = _Episodes(self.wm, 1, max_steps)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        if seed is None:
            seed = int(self.np_random.integers(2**31))
        info = self.episodes.start(0, seed, options)
        return self.episodes.obs(0), {**info, "success": False}

    def step(self, action):
        a = np.asarray(action, np.float32).reshape(1, *self.action_space.shape)
        a = np.clip(a, self.action_space.low, self.action_space.high)
        new, success = self.episodes.step(np.array([0]), a)
        truncated = bool(self.episodes.t[0] >= self.episodes.max_steps)
        return self.episodes.obs(0), float(success[0]), False, truncated, {"frames": new[0], "success": bool(success[0])}

    def render(self):
        return self.episodes.frames[0, -1].copy()


class WorldModelVectorEnv(gym.vector.VectorEnv):
    """`num_envs` world-model episodes stepped as one batch (next-step autoreset)."""

    metadata = {"render_modes": [], "autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(self, model=None, num_envs: int = 4, *, max_steps: int = 7, sampler_steps: int = 10,
                 context_latents: int = 2, device: str = "auto", sampler: str | None = None):
        if num_envs < 1:
            raise ValueError(f"num_envs={num_envs}: expected >= 1")
        self.wm = _load(model, device, sampler_steps, context_latents, sampler)
        self.num_envs, self.k = num_envs, self.wm.k
        self.single_observation_space, self.single_action_space = robot_spaces(self.wm.size, self.k,
                                                                               self.wm.action_dim)
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self.episodes = _Episodes(self.wm, num_envs, max_steps)
        self._autoreset = np.zeros(num_envs, bool)
        self._next_seed = 0

    def _batch_obs(self) -> dict:
        return {"image": self.episodes.frames[:, -1].copy(), "ee_pos": self.episodes.ee.copy()}

    def reset(self, *, seed: int | list[int] | None = None, options: dict | None = None):
        """seed: an int (env i gets seed + i) or one per env; options: per-env lists under each key."""
        super().reset(seed=seed if isinstance(seed, int) else None)
        seeds = (list(seed) if isinstance(seed, (list, tuple, np.ndarray)) else
                 [(seed if seed is not None else int(self.np_random.integers(2**31))) + i for i in range(self.num_envs)])
        if len(seeds) != self.num_envs:
            raise ValueError(f"seed: {len(seeds)} seeds for {self.num_envs} envs")
        options = options or {}
        tasks = []
        for i, s in enumerate(seeds):
            opts = {key: value[i] for key, value in options.items()}
            tasks.append(self.episodes.start(i, int(s), opts)["task"])
        self._next_seed = max(seeds) + 1
        self._autoreset[:] = False
        return self._batch_obs(), {"task": tasks}

    def step(self, actions):
        a = np.asarray(actions, np.float32).reshape(self.num_envs, *self.single_action_space.shape)
        a = np.clip(a, self.single_action_space.low, self.single_action_space.high)
        rewards = np.zeros(self.num_envs, np.float64)
        terminated = np.zeros(self.num_envs, bool)
        truncated = np.zeros(self.num_envs, bool)
        success = np.zeros(self.num_envs, bool)
        for i in np.flatnonzero(self._autoreset):  # finished last step: this step is their reset
            self.episodes.start(int(i), self._next_seed, None)
            self._next_seed += 1
        live = np.flatnonzero(~self._autoreset)
        S = self.wm.size
        frames = np.zeros((self.num_envs, self.k, S, S, 3), np.uint8)
        if len(live):
            frames[live], ok = self.episodes.step(live, a[live])
            success[live], rewards[live] = ok, ok.astype(np.float64)
            truncated[live] = self.episodes.t[live] >= self.episodes.max_steps
        stepped = np.zeros(self.num_envs, bool)
        stepped[live] = True
        self._autoreset = terminated | truncated
        info = {"success": success, "_success": stepped, "frames": frames, "_frames": stepped}
        return self._batch_obs(), rewards, terminated, truncated, info
