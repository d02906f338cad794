"""World-model training speed with and without the latent cache (`data.latent_cache`).

The same video2world run (`dit-tiny`, batch 8, 33-frame 64 px windows) is timed twice on
the same data in the same process: reading MP4 windows and running the frozen tokenizer and
text encoder at every step, and reading pre-encoded windows from the cache. The cache is
built first (its build time is reported too); the first steps of each run are skipped as
warm-up. The ratio is the number to compare across machines.

    .venv/bin/python benchmarks/bench_latent_cache.py --data data/sim64 \\
        --tokenizer worldsmith/pretrained/tokenizer-cv4x4x4-tiny-sim64 --steps 30 --threads 2
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time

import torch


def time_steps(task, steps: int, warmup: int) -> float:
    """Seconds per optimiser step (data + forward + backward + AdamW) after `warmup` steps."""
    den = task.build_model()
    opt = torch.optim.AdamW(den.parameters(), lr=1e-4)
    it = iter(task.train_batches(0))
    t0 = None
    for i in range(warmup + steps):
        if i == warmup:
            t0 = time.perf_counter()
        batch = next(it)
        loss, _ = task.loss(den, batch, i)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return (time.perf_counter() - t0) / steps


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True)
    p.add_argument("--tokenizer", required=True)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=8)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    from worldsmith.train.latent_cache import build_or_load
    from worldsmith.train.video2world import Video2WorldTask, resolve_config

    sets = [f"train.batch_size={args.batch}", "data.num_frames=33", "data.size=64"]
    base = resolve_config("tiny", None, sets, data__root=args.data, tokenizer=args.tokenizer)
    live = Video2WorldTask(base)
    cache_dir = tempfile.mkdtemp(prefix="latent-cache-")
    try:
        cached = Video2WorldTask(resolve_config("tiny", None, sets + [f"data.latent_cache={cache_dir}"],
                                                data__root=args.data, tokenizer=args.tokenizer),
                                 tokenizer=live.tokenizer, text_encoder=live.text_encoder)
        t = time.perf_counter()
        meta = build_or_load(cached, cache_dir)
        build_s = time.perf_counter() - t
        size_mb = sum(os.path.getsize(os.path.join(cache_dir, f)) for f in os.listdir(cache_dir)) / 1e6
        s_live = time_steps(live, args.steps, args.warmup)
        s_cached = time_steps(cached, args.steps, args.warmup)
    finally:
        shutil.rmtree(cache_dir, ignore_errors=True)
    print(json.dumps({"machine": f"{platform.machine()} {os.cpu_count()} cores", "threads": args.threads,
                      "date": time.strftime("%Y-%m-%d"), "tokenizer": args.tokenizer, "batch": args.batch,
                      "windows": meta["windows"], "cache_build_s": round(build_s, 1), "cache_mb": round(size_mb, 1),
                      "s_per_step_encode_each_step": round(s_live, 3), "s_per_step_cached": round(s_cached, 3),
                      "speedup": round(s_live / s_cached, 2)}, indent=2))


if __name__ == "__main__":
    main()
