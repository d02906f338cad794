"""Simulator throughput: frames per second per core, simulate+render alone and end to end.

simulate+render: `simulate_clip` in this process (one core), per scenario, no encoding.
end to end: `generate_dataset` with W worker processes (simulate, render, lossless encode,
parent writes shards + manifest). Prints Markdown tables.

Two rates each: per wall-clock second (what you get now, on a shared machine) and per CPU
second of all processes involved (= frames/s per fully available core; robust to load).

    WORLDSMITH_NO_PROGRESS=1 .venv/bin/python benchmarks/bench_sim.py --clips 4 --workers 2
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import tempfile
import time

from worldsmith.sim import generate_dataset, scenario_names, simulate_clip


def cpu_seconds() -> float:
    """CPU time (user + system) of this process and its waited-for children."""
    a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


def bench_simulate(names: list[str], resolution: int, clips: int, frames: int) -> dict[str, tuple[float, float]]:
    """{scenario: (frames per wall second, frames per CPU second)} of simulate_clip in this process."""
    simulate_clip(names[0], 0, resolution=resolution, frames=2)  # connection + imports
    out = {}
    for name in names:
        t0, c0 = time.perf_counter(), cpu_seconds()
        for seed in range(clips):
            simulate_clip(name, seed, resolution=resolution, frames=frames)
        n = clips * frames
        out[name] = (n / (time.perf_counter() - t0), n / (cpu_seconds() - c0))
    return out


def bench_end_to_end(names: list[str], resolution: int, clips: int, frames: int, workers: int) -> dict:
    root = tempfile.mkdtemp(prefix="bench_sim_")
    try:
        c0 = cpu_seconds()
        s = generate_dataset(os.path.join(root, "ds"), names, num_clips=clips, resolution=resolution,
                             frames=frames, workers=workers)
        s["cpu_seconds"] = cpu_seconds() - c0
        return s
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=4, help="clips per scenario")
    ap.add_argument("--frames", type=int, default=33)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--resolutions", type=int, nargs="+", default=[64, 128])
    ap.add_argument("--scenarios", nargs="+", default=scenario_names())
    args = ap.parse_args()
    import worldsmith.data  # noqa: F401  imports torch once: kept out of the timings (and out of spawned workers)
    names = args.scenarios
    load = os.getloadavg()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, load avg {load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f}; "
          f"{args.clips} clips x {args.frames} frames per scenario\n")
    for res in args.resolutions:
        sim = bench_simulate(names, res, args.clips, args.frames)
        e2e_runs = [bench_end_to_end(names, res, args.clips, args.frames, w) for w in sorted({1, args.workers})]
        print(f"### {res} px\n")
        print("| scenario | simulate+render frames/s (wall, 1 process) | frames per CPU-second |\n|---|---|---|")
        for k, (wall, cpu) in sim.items():
            print(f"| {k} | {wall:.0f} | {cpu:.0f} |")
        for label, keys in (("all scenarios", list(sim)), ("passive (no robot)", [k for k in sim if k != "robot_push"])):
            if keys:  # frames over total time = harmonic mean of equal-frame rates
                wall = len(keys) / sum(1 / sim[k][0] for k in keys)
                cpu = len(keys) / sum(1 / sim[k][1] for k in keys)
                print(f"| **{label}** | **{wall:.0f}** | **{cpu:.0f}** |")
        print("\n| end to end into the dataset (lossless mp4 + arrays) | frames | wall s | frames/s (wall) "
              "| CPU-s | frames per CPU-second |\n|---|---|---|---|---|---|")
        for e in e2e_runs:
            how = "1 process (in-process)" if e["workers"] == 1 else f"{e['workers']} spawned workers + writer"
            print(f"| {how} | {e['frames']} | {e['seconds']:.1f} | {e['frames_per_second']:.0f} | "
                  f"{e['cpu_seconds']:.1f} | **{e['frames'] / e['cpu_seconds']:.0f}** |")
        print()


if __name__ == "__main__":
    main()
