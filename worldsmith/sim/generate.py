"""Generate a clip dataset of simulated physics: many clips per scenario, on all cores.

Workers simulate, render and encode (lossless H.264) and return bytes + arrays; the parent
alone writes the dataset (ClipWriter), so shards stay consistent. A clip that fails is
recorded in failures.jsonl and the rest go on; re-running the same command skips the
clips already written.
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing as mp
import os
import time
import traceback
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Callable, Iterator

from ..utils.errors import WorldsmithError
from ..utils.progress import progress

log = logging.getLogger(__name__)
ROBOT_POLICY_CHOICES = ("scripted", "good", "noisy", "random", "play", "mix", "mix-play")
SETTINGS = ("resolution", "frames", "fps", "perturb", "ood", "robot_policy", "robot_rest")  # must match when resuming a directory


def clip_key(scenario: str, base_seed: int, index: int) -> str:
    """The dataset key of clip `index` of `scenario` generated with `base_seed`."""
    return f"{scenario}-{base_seed}-{index:05d}"


def clip_seed(scenario: str, base_seed: int, index: int) -> int:
    """A stable per-clip seed from (scenario, base seed, index), independent of worker count."""
    digest = hashlib.sha256(f"worldsmith.sim/{scenario}/{base_seed}/{index}".encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF


def _simulate_job(job: dict) -> dict:
    """Worker: simulate + encode one clip; never raises (errors come back as a reason)."""
    try:
        from ..io import encode_video
        from .clip import simulate_clip

        clip = simulate_clip(job["scenario"], job["seed"], resolution=job["resolution"], frames=job["frames"],
                             fps=job["fps"], perturb=job["perturb"], ood=job["ood"],
                             policy=_robot_policy(job),
                             rest=job.get("robot_rest", 0) if job["scenario"] == "robot_push" else 0)
        arrays = {"states": clip.states, "depth": clip.depth, "seg": clip.seg}
        if clip.actions is not None:
            arrays["actions"] = clip.actions
        # lossless: every preset decodes to the same pixels; veryfast is ~2x faster than medium, ~4% larger
        mp4 = encode_video(clip.rgb, job["fps"], lossless=True, preset="veryfast")
        meta = json.loads(json.dumps(clip.meta, default=_plain))  # JSON-safe (seg ids become strings)
        meta["key"] = job["key"]
        return dict(key=job["key"], mp4=mp4, caption=clip.caption, arrays=arrays, meta=meta,
                    frames=clip.num_frames, shape=tuple(clip.rgb.shape[:3]))
    except Exception as e:  # noqa: BLE001 - a batch job records the reason and goes on
        log.debug("clip %s failed:\n%s", job["key"], traceback.format_exc())
        return dict(key=job["key"], error=f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")


def _robot_policy(job: dict) -> str | None:
    """The robot policy of a job: None (the scenario's scripted pick), a name, or 'mix' by clip index."""
    choice = job.get("robot_policy", "scripted")
    if job["scenario"] != "robot_push" or choice == "scripted":
        return None
    if choice in ("mix", "mix-play"):
        from .clip import MIX_POLICIES

        cycle = MIX_POLICIES[choice]
        return cycle[job["index"] % len(cycle)]
    return choice


def _plain(o):
    import numpy as np

    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def _check_resume(out: str, settings: dict) -> None:
    """Refuse to extend a dataset that was generated with other clip settings."""
    path = os.path.join(out, "dataset.json")
    if not os.path.isfile(path):
        return
    try:
        with open(path, encoding="utf-8") as f:
            old = (json.load(f).get("info") or {}).get("sim")
    except (OSError, json.JSONDecodeError):
        return
    defaults = {"robot_policy": "scripted", "robot_rest": 0}  # datasets written before the settings existed
    changed = [k for k in SETTINGS if old and old.get(k, defaults.get(k)) != settings[k]]
    if changed:
        diff = ", ".join(f"{k}: {old.get(k, defaults.get(k))} -> {settings[k]}" for k in changed)
        raise WorldsmithError(f"--out {out}: holds clips generated with other settings ({diff}); use a new directory")


def generate_dataset(out: str, scenarios: list[str] | str = "all", *, num_clips: int = 10, resolution: int = 64,
                     frames: int = 33, fps: int = 15, seed: int = 0, workers: int | None = None,
                     perturb: float = 0.0, ood: bool = False, shard_max_clips: int = 64,
                     robot_policy: str = "scripted", robot_rest: int = 0) -> dict:
    """Simulate `num_clips` clips per scenario into the clip dataset `out`; returns a summary.

    Keys are `clip_key(scenario, seed, i)`, so a `--perturb` or `--ood` run with the same seed
    pairs clip by clip with the plain run (write it to another directory). `robot_policy`:
    'scripted' (each robot clip's own good/noisy pick), 'good', 'noisy', 'random', 'play', 'mix'
    (good, noisy, random in turn: diverse actions for action-conditioned post-training) or
    'mix-play' (half random-waypoint play, the rest good, noisy, random: `clip.MIX_POLICIES`).
    `robot_rest`: robot clips start with the arm still for that many frames (zero actions), as an
    episode in the robot environments does, so a model learns to start moving from rest.
    """
    from ..data import ClipWriter
    from .clip import check_args, scenario_names

    names = [scenarios] if isinstance(scenarios, str) else list(scenarios)
    if "all" in names:
        names = scenario_names()
    unknown = [n for n in names if n not in scenario_names()]
    if unknown:
        raise WorldsmithError(f"--scenario {unknown[0]!r}: unknown (known: all, {', '.join(scenario_names())})")
    if not isinstance(num_clips, int) or num_clips < 1:
        raise WorldsmithError(f"--num-clips {num_clips!r}: expected an integer >= 1")
    if not isinstance(seed, int) or seed < 0:
        raise WorldsmithError(f"--seed {seed!r}: expected a non-negative integer")
    check_args(resolution, frames, fps, perturb)
    if robot_policy not in ROBOT_POLICY_CHOICES:
        raise WorldsmithError(f"--robot-policy {robot_policy!r}: expected one of {', '.join(ROBOT_POLICY_CHOICES)}")
    if not isinstance(robot_rest, int) or not 0 <= robot_rest < frames:
        raise WorldsmithError(f"--robot-rest {robot_rest!r}: expected an integer in 0..{frames - 1}")
    if workers is None or workers == 0:
        workers = os.cpu_count() or 1
    if workers < 1:
        raise WorldsmithError(f"--workers {workers}: expected >= 1 (0 = all cores)")
    settings = dict(resolution=resolution, frames=frames, fps=fps, perturb=float(perturb), ood=bool(ood), seed=seed,
                    robot_policy=robot_policy, robot_rest=robot_rest)
    _check_resume(out, settings)

    t0, written, failed, skipped, n_frames = time.perf_counter(), 0, 0, 0, 0
    with ClipWriter(out, shard_max_clips=shard_max_clips, lossless=True,
                    info={"sim": {**settings, "scenarios": names, "generator": "worldsmith.sim"}}) as writer:
        jobs = []
        for name in names:
            for i in range(num_clips):
                key = clip_key(name, seed, i)
                if writer.has(key):
                    skipped += 1
                    continue
                jobs.append(dict(key=key, scenario=name, seed=clip_seed(name, seed, i), resolution=resolution,
                                 frames=frames, fps=fps, perturb=float(perturb), ood=bool(ood), index=i,
                                 robot_policy=robot_policy, robot_rest=robot_rest))
        bar = progress(total=len(jobs), desc="simulate", unit="clip")
        for res in _run(jobs, workers):
            if "error" in res:
                writer.add_failure(res["key"], res["error"])
                failed += 1
            elif writer.add(res["key"], mp4_bytes=res["mp4"], fps=fps, caption=res["caption"], source="sim",
                            arrays=res["arrays"], meta=res["meta"], video_shape=res["shape"]):
                # video_shape: encoded here from frames of known shape, no decode check needed
                written += 1
                n_frames += res["frames"]
            else:
                failed += 1
            bar.update(1)
        bar.close()
    seconds = time.perf_counter() - t0
    return dict(out=out, scenarios=names, written=written, skipped=skipped, failed=failed, frames=n_frames,
                seconds=round(seconds, 3), frames_per_second=round(n_frames / seconds, 1) if seconds > 0 else 0.0,
                workers=workers)


def _run(jobs: list, workers: int, fn: Callable = _simulate_job) -> Iterator[dict]:
    """fn(job) for every job, results in job order: in-process for one worker, else spawned processes.

    A worker that dies (segfault, out-of-memory kill) breaks the pool: the clips in flight are
    retried once in a fresh pool, and a clip that was in flight at two breaks is reported failed.
    """
    if workers == 1 or len(jobs) <= 1:
        yield from map(fn, jobs)
        return
    ctx = mp.get_context("spawn")  # a clean interpreter per worker: no inherited pybullet/threads state
    todo, strikes = deque(jobs), {}
    while todo:
        pool = ProcessPoolExecutor(min(workers, len(todo)), mp_context=ctx)
        inflight: deque = deque()
        try:
            while todo or inflight:
                while todo and len(inflight) < 2 * workers:  # bounded look-ahead keeps memory flat
                    job = todo.popleft()
                    inflight.append((job, pool.submit(fn, job)))
                job, fut = inflight[0]
                try:
                    res = fut.result()
                except BrokenProcessPool:
                    for j, _ in reversed(inflight):
                        strikes[_key(j)] = strikes.get(_key(j), 0) + 1
                        if strikes[_key(j)] < 2:
                            todo.appendleft(j)
                    yield from (dict(key=_key(j), error="worker process died while simulating this clip")
                                for j, _ in inflight if strikes[_key(j)] >= 2)
                    break  # restart the pool with the retried jobs first (order among them is kept)
                inflight.popleft()
                yield res
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _key(job) -> str:
    return job["key"] if isinstance(job, dict) else str(job)
