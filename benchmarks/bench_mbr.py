"""Minimum-Bayes-risk choice among samples: is the most typical of N samples a better prediction
than one sample, or than the one-step posterior mean?

A sample is sharp but may put a moving object in the wrong place; the posterior mean E[future |
past] is right on average but blurs what is uncertain (SSIM and mask IoU punish blur). The MBR
choice under squared error is the sample nearest the others (equivalently: nearest their
average): a real, sharp sample from the middle of the distribution. This scores, on PhysAlign-64
clips that the benchmark does not score (`--first-clip 10`), K = 9: copy-last, the posterior
mean, sample 0, the pixel average of the N samples, and the MBR sample, all with the same decode.

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/bench_mbr.py \
        --model worldsmith/pretrained/world-model-dit-tiny-sim64 --cache runs/physics-val \
        --first-clip 10 --clips 4 --samples 8 --steps 20 --decode residual --change-threshold 0.1
"""

from __future__ import annotations

import _validation


def main() -> None:
    ap = _validation.parser(__doc__)
    ap.add_argument("--samples", type=int, default=8, help="samples per clip (seeds 0..N-1)")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--decode", default="plain", choices=("plain", "residual"))
    ap.add_argument("--change-threshold", type=float, default=0.0)
    args = ap.parse_args()
    if args.samples < 2:
        ap.error(f"--samples {args.samples}: expected >= 2 (the MBR choice compares each sample with the others)")

    import numpy as np

    from worldsmith.eval import physics
    from worldsmith.inference.pipeline import WorldPipeline
    from worldsmith.utils.progress import progress

    K, N = args.cond_frames, args.samples
    pipe = WorldPipeline.from_pretrained(args.model, guardrails=None, upsample=False)
    names, cases = physics.validation_cases(args.cache, args.first_clip, args.clips)
    methods = ("copy-last", "mean", "sample 0", f"average of {N}", f"MBR of {N}")
    per: dict = {m: {} for m in methods}

    def score(method: str, pred, case) -> None:
        per[method].setdefault(case.scenario, []).append(physics.clip_means(pred, case, K))

    common = dict(num_cond_frames=K, guidance=0.0, decode=args.decode, change_threshold=args.change_threshold)
    for case in progress(cases, desc=f"{N} samples per clip"):
        prompt, F = case.caption or "a physical scene", case.rgb.shape[0]
        score("copy-last", np.repeat(case.rgb[K - 1:K], F - K, axis=0), case)
        mean = pipe(prompt, input=case.rgb[:K], num_frames=F, sampler="mean", seed=0, **common).frames[K:]
        score("mean", mean, case)
        samples = np.stack([pipe(prompt, input=case.rgb[:K], num_frames=F, steps=args.steps, seed=s,
                                 sampler="dpmpp_2m", **common).frames[K:]
                            for s in range(N)])  # [N, T, H, W, C] uint8
        score("sample 0", samples[0], case)
        x = samples.reshape(N, -1).astype(np.float32)
        score(f"average of {N}", np.round(x.mean(0)).astype(np.uint8).reshape(samples.shape[1:]), case)
        sq = (x * x).sum(1)
        dist = sq[:, None] + sq[None, :] - 2.0 * x @ x.T  # pairwise squared distances
        score(f"MBR of {N}", samples[int(np.argmin(dist.sum(1)))], case)

    table = {m: physics.scenario_means(d) for m, d in per.items()}
    _validation.report(args, table, "method", names)


if __name__ == "__main__":
    main()
