"""What `worldsmith predict` gives a user who sets nothing: the model's recommended sampling
settings (world_model.json "inference") against Cosmos's defaults (35 dpmpp_2m steps, guidance 7,
plain decoding) and copy-last, on PhysAlign-64 validation clips (test seeds 10.., which
`eval physics --clips 10` does not score), K conditioning frames, the same scoring as the
benchmark. Session 22 (BENCHMARKS.md).

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/bench_predict_defaults.py \\
        --model worldsmith/pretrained/world-model-dit-tiny-sim64 --cache runs/physics-val --first-clip 10 --clips 4
"""

from __future__ import annotations

import _validation


def main() -> None:
    args, pipe, names, cases = _validation.setup(__doc__)

    from worldsmith.eval import physics
    from worldsmith.inference.pipeline import LIBRARY_DEFAULTS

    K = args.cond_frames
    variants = {"model's recommendation (predict's default)": {}, "Cosmos defaults": dict(LIBRARY_DEFAULTS)}
    table, chosen = {}, {}
    for name, kw in variants.items():
        used: dict = {}
        table[name] = _validation.score_cases(pipe, cases, K, name, settings=used, **kw)
        chosen[name] = {k: used[k] for k in LIBRARY_DEFAULTS}
    table["copy-last"] = physics.copy_last_means(cases, K)
    for name, st in chosen.items():
        print(f"{name}: {st}")
    _validation.report(args, table, "settings", names, chosen=chosen)


if __name__ == "__main__":
    main()
