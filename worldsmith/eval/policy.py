"""Policy evaluation inside a world model, checked against the real simulator.

Each policy runs the same episodes (start seeds) in `RobotPushSimEnv` (the truth) and in
`WorldModelVectorEnv` (all episodes of a policy in one batch). Success is judged at the end of
the episode: from the true state in the simulator, from the predicted image in the world
model. The report gives per-policy success rates in both, their Spearman rank correlation
(does the world model order policies as reality does?), the per-episode agreement, a graded
verdict measured identically in both (metres the object got closer to the target, from the
first and last images; 0 when the object is lost) with its own rank correlation, the same
verdicts for the simulator's recorded actions replayed in the world model open loop (the
model's dynamics without the policy's reactions), side-by-side videos (simulator | world
model) of the first episodes, and all of it as report.html (`robot_report.py`).
"""

from __future__ import annotations

import os

import numpy as np

from ..envs.vision import progress_from_images
from ..utils.atomic import atomic_write_json, atomic_write_text
from ..utils.progress import progress

START_SEED = 700_000  # episode start seeds, away from the training clips' seeds


def spearman(a, b) -> float:
    """Spearman rank correlation with average ranks for ties; NaN when either side is constant."""
    def ranks(x):
        x = np.asarray(x, np.float64)
        order = np.argsort(x, kind="stable")
        r = np.empty(len(x))
        r[order] = np.arange(len(x), dtype=np.float64)
        for v in np.unique(x):  # ties share their mean rank
            r[x == v] = r[x == v].mean()
        return r

    ra, rb = ranks(a), ranks(b)
    if len(ra) < 2 or ra.std() == 0 or rb.std() == 0:
        return float("nan")
    return float(np.corrcoef(ra, rb)[0, 1])


def run_sim(factory, seeds: list[int], *, k: int, context_frames: int, max_steps: int, resolution: int,
            policy_seed: int = 0) -> tuple[list[bool], list[np.ndarray], list[dict], list[np.ndarray]]:
    """Episodes of one policy in the simulator -> (success, frames [T, H, W, 3], task, actions
    [steps, k, A] the policy took) per episode."""
    from ..envs.policies import action_chunk
    from ..envs.sim_env import RobotPushSimEnv

    env = RobotPushSimEnv(resolution=resolution, actions_per_step=k, context_frames=context_frames,
                          max_steps=max_steps)
    wins, videos, tasks, actions = [], [], [], []
    try:
        for s in seeds:
            obs, info = env.reset(seed=s)
            tasks.append(info["task"])
            policy, frames, chunks = factory(info["task"], policy_seed + s), [info["frames"]], []
            done, success = False, False
            while not done:
                chunks.append(action_chunk(policy, obs, k))
                obs, _, term, trunc, step_info = env.step(chunks[-1])
                frames.append(step_info["frames"])
                success, done = step_info["success"], term or trunc
            wins.append(bool(success))
            videos.append(np.concatenate(frames))
            actions.append(np.stack(chunks))
    finally:
        env.close()
    return wins, videos, tasks, actions


class ReplayPolicy:
    """Plays back recorded actions [steps, k, A] one per call, whatever it sees; then holds still
    (zeros: the simulator episode had ended, e.g. on success)."""

    def __init__(self, actions: np.ndarray) -> None:
        self.rows = np.asarray(actions, np.float32).reshape(-1, np.shape(actions)[-1])
        self.i = 0

    def __call__(self, obs: dict) -> np.ndarray:
        row = self.rows[self.i] if self.i < len(self.rows) else np.zeros(self.rows.shape[1], np.float32)
        self.i += 1
        return row


def run_world_model(wm, factory, seeds: list[int], *, max_steps: int,
                    policy_seed: int = 0) -> tuple[list[bool], list[np.ndarray]]:
    """The same episodes, batched in the world model -> (success per episode, frames per episode)."""
    from ..envs.policies import action_chunk
    from ..envs.world_env import WorldModelVectorEnv

    env = WorldModelVectorEnv(wm, num_envs=len(seeds), max_steps=max_steps)
    obs, info = env.reset(seed=list(seeds))
    policies = [factory(task, policy_seed + s) for task, s in zip(info["task"], seeds)]
    frames = [[env.episodes.frames[i].copy()] for i in range(len(seeds))]
    success = np.zeros(len(seeds), bool)
    for _ in range(max_steps):
        acts = np.stack([action_chunk(p, {"image": obs["image"][i], "ee_pos": obs["ee_pos"][i]}, wm.k)
                         for i, p in enumerate(policies)])
        obs, _, term, trunc, step_info = env.step(acts)
        success = step_info["success"]
        for i in range(len(seeds)):
            frames[i].append(step_info["frames"][i])
        if np.all(term | trunc):
            break
    return [bool(s) for s in success], [np.concatenate(f) for f in frames]


def evaluate_policies(wm, policies: dict, *, episodes: int = 8, max_steps: int = 7, out_dir: str | None = None,
                      videos: int = 2, seed: int = START_SEED, settings: dict | None = None,
                      replay: bool = True) -> dict:
    """Run every policy in both environments from the same starts; returns (and writes) the report
    (with `settings`, e.g. the command's options, recorded under "settings").

    `replay`: also play the simulator's recorded actions back in the world model, open loop. Its
    success and progress ("world_model_replay_*") separate the world model's dynamics from the
    policy's reactions to imagined frames: when replay does well and closed loop does not, the
    policy is misled by what it sees; when replay fails too, the dynamics are short.
    """
    seeds = [seed + i for i in range(episodes)]
    rows, side_by_side = {}, {}
    for name, factory in progress(list(policies.items()), desc="policies", unit="policy"):
        sim_wins, sim_vids, tasks, sim_acts = run_sim(factory, seeds, k=wm.k, context_frames=wm.context_frames,
                                                      max_steps=max_steps, resolution=wm.size)
        wm_wins, wm_vids = run_world_model(wm, factory, seeds, max_steps=max_steps)
        C = wm.context_frames
        # graded verdict, measured the same way (from images) in both: metres closer to the target
        sim_prog = [progress_from_images(v[C - 1], v[-1], t) for v, t in zip(sim_vids, tasks)]
        wm_prog = [progress_from_images(v[C - 1], v[-1], t) for v, t in zip(wm_vids, tasks)]
        rows[name] = {"sim_success": float(np.mean(sim_wins)), "world_model_success": float(np.mean(wm_wins)),
                      "agreement": float(np.mean(np.array(sim_wins) == np.array(wm_wins))),
                      "sim_progress_m": float(np.mean(sim_prog)), "world_model_progress_m": float(np.mean(wm_prog)),
                      "episodes": [{"seed": s, "sim": a, "world_model": b, "sim_progress_m": pa,
                                    "world_model_progress_m": pb}
                                   for s, a, b, pa, pb in zip(seeds, sim_wins, wm_wins, sim_prog, wm_prog)]}
        if replay:
            recorded = dict(zip(seeds, sim_acts))
            rep_wins, rep_vids = run_world_model(wm, lambda task, s: ReplayPolicy(recorded[s]), seeds,
                                                 max_steps=max_steps)
            rep_prog = [progress_from_images(v[C - 1], v[-1], t) for v, t in zip(rep_vids, tasks)]
            rows[name].update(world_model_replay_success=float(np.mean(rep_wins)),
                              world_model_replay_progress_m=float(np.mean(rep_prog)))
            for ep, a, p in zip(rows[name]["episodes"], rep_wins, rep_prog):
                ep.update(world_model_replay=a, world_model_replay_progress_m=p)
        side_by_side[name] = [np.concatenate([a[:len(b)], b[:len(a)]], axis=2) for a, b in zip(sim_vids, wm_vids)][:videos]
    names = list(rows)
    report = {"policies": rows, "episodes": episodes, "max_steps": max_steps, "start_seeds": seeds,
              "spearman": spearman([rows[n]["sim_success"] for n in names], [rows[n]["world_model_success"] for n in names]),
              "agreement": float(np.mean([rows[n]["agreement"] for n in names])),
              "spearman_progress": spearman([rows[n]["sim_progress_m"] for n in names],
                                            [rows[n]["world_model_progress_m"] for n in names]),
              "actions_per_step": wm.k, "context_frames": wm.context_frames, "settings": settings or {}}
    if replay:
        report["spearman_replay"] = spearman([rows[n]["sim_success"] for n in names],
                                             [rows[n]["world_model_replay_success"] for n in names])
        report["spearman_replay_progress"] = spearman([rows[n]["sim_progress_m"] for n in names],
                                                      [rows[n]["world_model_replay_progress_m"] for n in names])
    if out_dir:
        _write(out_dir, report, side_by_side, wm.fps)
    return report


def _write(out_dir: str, report: dict, side_by_side: dict, fps: float) -> None:
    """results.json + report.html + videos/<policy>-<i>.mp4 (simulator left, world model right)."""
    from ..io import write_video
    from .robot_report import policy_report_html

    os.makedirs(os.path.join(out_dir, "videos"), exist_ok=True)
    files = {}
    for name, vids in side_by_side.items():
        for i, v in enumerate(vids):
            rel = os.path.join("videos", f"{name}-{i}.mp4")
            write_video(os.path.join(out_dir, rel), v, fps=fps)
            files.setdefault(name, []).append(rel)
    atomic_write_json(os.path.join(out_dir, "results.json"), {**report, "videos": files})
    atomic_write_text(os.path.join(out_dir, "report.html"), policy_report_html(report, side_by_side, fps))
