"""Does the world model use the motion it is shown? Its prediction from the true past against its
prediction from a past that stands still (the last given frame K times), on PhysAlign-64
validation clips (test seeds 10.., which `eval physics --clips 10` does not score), with the
model's recommended settings (world_model.json "inference"), the same scoring as the benchmark.

A model that reads velocities from its K conditioning frames predicts far better from the true
past; one that has only learnt "things near here may move" scores about the same from both,
and its gain over copy-last is hedging, not dynamics. The "uses the past" column is the share
of the static-past prediction's squared error (in pixels, over the predicted frames) that the
true past removes. Session 23 (BENCHMARKS.md).

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/bench_use_of_past.py \\
        --model worldsmith/pretrained/world-model-dit-tiny-sim64 --cache runs/physics-val --first-clip 10 --clips 4
"""

from __future__ import annotations

import numpy as np

import _validation


def main() -> None:
    args, pipe, names, cases = _validation.setup(__doc__)

    from worldsmith.eval import physics
    from worldsmith.utils.progress import progress

    K = args.cond_frames
    table, mse = {}, {}
    for name in ("true past", "static past"):
        per: dict = {}
        for case in progress(cases, desc=name):
            past = case.rgb[:K] if name == "true past" else np.repeat(case.rgb[K - 1:K], K, axis=0)
            res = pipe(case.caption or "a physical scene", input=past, num_cond_frames=K,
                       num_frames=case.rgb.shape[0], seed=0)
            pred, truth = res.frames[K:].astype(np.float64), case.rgb[K:].astype(np.float64)
            per.setdefault(case.scenario, []).append(physics.clip_means(res.frames[K:], case, K))
            mse.setdefault(name, {}).setdefault(case.scenario, []).append(((pred - truth) ** 2).mean())
        table[f"model, {name}"] = physics.scenario_means(per)
    table["copy-last"] = physics.copy_last_means(cases, K)
    used = {s: 1 - np.mean(mse["true past"][s]) / np.mean(mse["static past"][s]) for s in mse["true past"]}
    every = [v for rows in mse["true past"].values() for v in rows], [v for rows in mse["static past"].values() for v in rows]
    used["all"] = 1 - np.mean(every[0]) / np.mean(every[1])
    print("uses the past (share of the static-past squared error the true past removes): "
          + ", ".join(f"{s} {used[s]:+.1%}" for s in ["all", *names] if s in used))
    _validation.report(args, table, "conditioning frames", names, uses_the_past=used)


if __name__ == "__main__":
    main()
