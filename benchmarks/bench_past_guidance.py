"""Guidance on the past, on the validation clips (session 32): does pushing the posterior mean away
from what it predicts for a past that stands still make it follow motion better?

    out = S + (1 + w) (D_true - S) - w (D_static - S_static)

D_true is the mean from the true past, D_static the mean from the last given frame repeated K
times (the benchmark's dynamics check), S / S_static their still latents (the anchors). w > 0
reads more motion into the prediction, w < 0 less; w = 0 is the plain mean. Two network passes a
clip. Conditioning latent frames are kept as given.

    OMP_NUM_THREADS=2 python benchmarks/bench_past_guidance.py --model worldsmith/pretrained/world-model-dit-tiny-sim64 \\
        --cache runs/physics-val --first-clip 10 --clips 10 --scenarios fall,projectile,collision \\
        --weights 0,0.5,1,-0.3 --out runs/s32/pastg-3.json
"""

from __future__ import annotations

import _validation


def main() -> None:
    def extra(ap):
        ap.add_argument("--scenarios", default="", help="comma-separated scenarios (default: all)")
        ap.add_argument("--weights", default="0,0.5,1", help="guidance weights w, comma-separated")

    args, pipe, names, cases = _validation.setup(__doc__, extra)
    import numpy as np
    import torch
    from einops import rearrange

    from worldsmith.eval import physics
    from worldsmith.utils.progress import progress

    if args.scenarios:
        keep = args.scenarios.split(",")
        cases, names = [c for c in cases if c.scenario in keep], [n for n in names if n in keep]
    weights = _validation.floats(args.weights, "--weights", -10, 10)
    K, plain = args.cond_frames, pipe._sample
    state = {"w": 0.0, "case": None}

    @torch.no_grad()
    def guided(F, cond, uncond, cond_latent, **kw):
        still = kw.pop("still")
        mean = plain(F, cond, uncond, cond_latent, still=still, **kw)
        w = state["w"]
        if w == 0:
            return mean
        x = torch.from_numpy(np.repeat(state["case"].rgb[K - 1:K], K, axis=0)).float().div(127.5).sub(1)
        x = rearrange(x, "t h w c -> 1 c t h w").to(mean.device)
        still_s = pipe._still(x)
        mean_s = plain(F, cond, uncond, pipe.tokenizer.encode(x).float(), still=still_s, **kw)
        T, n = mean.shape[2], cond_latent.shape[2]
        S, S_s = still[:, :, :T], still_s[:, :, :T]
        out = S + (1 + w) * (mean - S) - w * (mean_s - S_s)
        out[:, :, :n] = mean[:, :, :n]
        return out

    pipe._sample = guided
    table = {"copy-last": physics.copy_last_means(cases, K)}
    for w in weights:
        state["w"], per = w, {}
        for case in progress(cases, desc=f"w={w:g}"):
            state["case"] = case
            res = pipe(case.caption or "a physical scene", input=case.rgb[:K], num_cond_frames=K,
                       num_frames=case.rgb.shape[0], seed=0, sampler="mean", guidance=0.0, decode="residual",
                       change_threshold=0.3)
            per.setdefault(case.scenario, []).append(physics.clip_means(res.frames[K:], case, K))
        table[f"past guidance w={w:g}"] = physics.scenario_means(per)
    _validation.report(args, table, "past guidance", names)


if __name__ == "__main__":
    main()
