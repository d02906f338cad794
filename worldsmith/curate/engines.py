"""Engines that run `process_video` over many videos.

- `local`: a pool of worker processes (all cores by default, one video per worker at a
  time, each video streamed, so memory is bounded by workers x one clip).
- `ray`: a pool of Ray actors (each loads the captioner/embedder once), so the same stages
  scale to a cluster: it uses an already initialised Ray, else joins $RAY_ADDRESS, else
  starts a local instance. Inputs and OUT must be on storage every node sees.

Both yield results as videos finish; the job sorts them, so output does not depend on
the engine or on completion order.
"""

from __future__ import annotations

import os
from typing import Iterator

from ..utils.errors import WorldsmithError
from .config import CurateConfig

Task = tuple[str, str]  # (video path, video id)


def _init_worker() -> None:
    # one process per core: keep each one single-threaded
    os.environ.setdefault("WORLDSMITH_NO_PROGRESS", "1")
    import cv2

    cv2.setNumThreads(1)
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:  # pragma: no cover
        pass


def _run_one(args: tuple[str, str, CurateConfig, str]) -> dict:
    from .video import process_video

    return process_video(*args)


def run_local(tasks: list[Task], cfg: CurateConfig, work_dir: str) -> Iterator[dict]:
    """Process `tasks` in worker processes (`cfg.workers`, 0 = all cores); yield results."""
    workers = cfg.workers or os.cpu_count() or 1
    workers = max(1, min(workers, len(tasks)))
    jobs = [(path, vid, cfg, work_dir) for path, vid in tasks]
    if workers == 1:
        for j in jobs:
            yield _run_one(j)
        return
    import multiprocessing as mp

    # spawn: safe with torch/OpenMP state in the parent
    with mp.get_context("spawn").Pool(workers, initializer=_init_worker) as pool:
        yield from pool.imap_unordered(_run_one, jobs)


def _ray():
    try:
        import ray
    except ImportError:
        raise WorldsmithError("--engine ray needs Ray: pip install 'worldsmith[ray]' (or pip install ray)") from None
    return ray


def run_ray(tasks: list[Task], cfg: CurateConfig, work_dir: str) -> Iterator[dict]:
    """Process `tasks` on a pool of Ray actors (one per CPU of the Ray instance); yield results."""
    ray = _ray()
    started = not ray.is_initialized()
    if started and os.environ.get("RAY_ADDRESS"):  # join the cluster the user points at
        ray.init(log_to_driver=False)
    elif started:  # a local instance for this job
        ray.init(num_cpus=cfg.workers or None, include_dashboard=False, log_to_driver=False)
    try:
        yield from _ray_pool(ray, tasks, cfg, work_dir)
    finally:
        if started:
            ray.shutdown()


def _ray_pool(ray, tasks: list[Task], cfg: CurateConfig, work_dir: str) -> Iterator[dict]:
    from ray.util import ActorPool

    @ray.remote(num_cpus=1)
    class CurateActor:
        def __init__(self):
            _init_worker()

        def run(self, path: str, vid: str, cfg: CurateConfig, work_dir: str) -> dict:
            from .video import process_video

            return process_video(path, vid, cfg, work_dir)

    n = max(1, min(len(tasks), int(ray.available_resources().get("CPU", 1)) or 1))
    pool = ActorPool([CurateActor.remote() for _ in range(n)])
    cfg_ref = ray.put(cfg)
    yield from pool.map_unordered(lambda a, t: a.run.remote(t[0], t[1], cfg_ref, work_dir), tasks)


ENGINES = {"local": run_local, "ray": run_ray}


def get_engine(name: str):
    """The engine function named `name`."""
    if name not in ENGINES:
        raise WorldsmithError(f"--engine: unknown {name!r} (local, ray)")
    if name == "ray":
        _ray()
    return ENGINES[name]
