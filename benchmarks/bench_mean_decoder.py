"""Does a mean decoder (`worldsmith train --task mean-decoder`) render a world model's posterior mean
better than the tokenizer's own decoder? The same model, the same mean latents, residual decoding
at each change threshold, decoded by each, on PhysAlign-64 validation clips (test seeds 10..,
which `eval physics --clips 10` does not score), against copy-last, scored like the benchmark.
Chooses whether to ship a mean decoder, and at which threshold, before the benchmark clips are
spent on it.

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/bench_mean_decoder.py \\
        --model worldsmith/pretrained/world-model-dit-tiny-sim64 --mean-decoder runs/md1/model \\
        --cache runs/physics-val --first-clip 10 --clips 4 --thresholds 0.2,0.3
"""

from __future__ import annotations

import os

import _validation


def _args(ap) -> None:
    ap.add_argument("--mean-decoder", required=True, help="a mean-decoder run's model/ (mean_decoder.safetensors)")
    ap.add_argument("--thresholds", default="0.2,0.3", help="comma-separated residual dead zones")


def main() -> None:
    args, pipe, names, cases = _validation.setup(__doc__, _args)
    thresholds = _validation.floats(args.thresholds, "--thresholds", 0.0, 2.0)

    from worldsmith.eval import physics
    from worldsmith.train.mean_decoder import WEIGHTS, load_mean_decoder

    shipped = pipe.mean_decoder  # the directory's own, if it names one: left out of the "tokenizer" rows
    path = os.path.abspath(os.path.join(args.mean_decoder, WEIGHTS))
    mine = load_mean_decoder(args.mean_decoder, {"mean_decoder": path}, pipe.tokenizer)
    K = args.cond_frames
    table = {}
    for t in thresholds:
        for label, dec in (("tokenizer decoder", None), ("mean decoder", mine)):
            pipe.mean_decoder = dec
            table[f"{label}, residual {t:g}"] = _validation.score_cases(
                pipe, cases, K, f"{label} {t:g}", sampler="mean", guidance=0.0, decode="residual", change_threshold=t)
    pipe.mean_decoder = shipped
    table["copy-last"] = physics.copy_last_means(cases, K)
    _validation.report(args, table, "decoder", names)


if __name__ == "__main__":
    main()
