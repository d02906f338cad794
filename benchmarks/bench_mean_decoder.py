"""Does a mean decoder (`worldsmith train --task mean-decoder`) render a world model's posterior mean
better than the tokenizer's own decoder? The same model, the same mean latents, residual decoding
at each change threshold, decoded by each, on PhysAlign-64 validation clips (test seeds 10..,
which `eval physics --clips 10` does not score), against copy-last, scored like the benchmark.
Chooses whether to ship a mean decoder, and at which threshold, before the benchmark clips are
spent on it. `--strip PNG` also draws, for the first clips of `--strip-scenario`, the true frames
K-1, K+2, K+5, ... above the prediction with each decoder (at the first threshold).

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/bench_mean_decoder.py \\
        --model worldsmith/pretrained/world-model-dit-tiny-sim64 --mean-decoder runs/md1/model \\
        --cache runs/physics-val --first-clip 10 --clips 4 --thresholds 0.2,0.3 --strip docs/images/mean-decoder-fall.png
"""

from __future__ import annotations

import os

import _validation


def _args(ap) -> None:
    ap.add_argument("--mean-decoder", required=True, help="a mean-decoder run's model/ (mean_decoder.safetensors)")
    ap.add_argument("--thresholds", default="0.2,0.3", help="comma-separated residual dead zones")
    ap.add_argument("--strip", help="write a PNG: truth, tokenizer decoder, mean decoder, per clip")
    ap.add_argument("--strip-scenario", default="fall")
    ap.add_argument("--strip-clips", type=int, default=2)


def strip(path: str, pipe, decoder, cases: list, K: int, threshold: float) -> None:
    """Rows per clip: truth, the mean through the tokenizer's decoder, through `decoder`; columns:
    frames K-1 (the last one shown), then every third frame after it."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFont

    rows, labels = [], []
    for case in cases:
        outs = []
        for dec in (None, decoder):
            pipe.mean_decoder = dec
            outs.append(pipe(case.caption or "a physical scene", input=case.rgb[:K], num_cond_frames=K,
                             num_frames=case.rgb.shape[0], seed=0, sampler="mean", guidance=0.0,
                             decode="residual", change_threshold=threshold).frames)
        cols = list(range(K - 1, case.rgb.shape[0], 3))
        for name, frames in (("truth", case.rgb), ("tokenizer decoder", outs[0]), ("mean decoder", outs[1])):
            rows.append(np.concatenate([frames[t] for t in cols], axis=1))
            labels.append(f"{case.key}: {name}")
    scale, label_h = 2, 12
    h, w = rows[0].shape[:2]
    sheet = Image.new("RGB", (w * scale, len(rows) * (h * scale + label_h)), (255, 255, 255))
    draw, font = ImageDraw.Draw(sheet), ImageFont.load_default()
    for i, (row, label) in enumerate(zip(rows, labels)):
        y = i * (h * scale + label_h)
        draw.text((2, y), label, fill=(0, 0, 0), font=font)
        sheet.paste(Image.fromarray(row).resize((w * scale, h * scale), Image.NEAREST), (0, y + label_h))
    sheet.save(path)
    print(f"strip: {path}")


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
    if args.strip:
        picked = [c for c in cases if c.scenario == args.strip_scenario][:args.strip_clips]
        if not picked:
            raise SystemExit(f"--strip-scenario {args.strip_scenario!r}: no such validation clip")
        strip(args.strip, pipe, mine, picked, K, thresholds[0])
    pipe.mean_decoder = shipped
    table["copy-last"] = physics.copy_last_means(cases, K)
    _validation.report(args, table, "decoder", names)


if __name__ == "__main__":
    main()
