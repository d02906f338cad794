"""Does a world model predict better from refined conditioning latents? PhysAlign-64 with the
conditioning frames encoded by `refine_latent` (worldsmith/tokenizer/refine.py) instead of the
one-pass encoder.

The world model's pipeline encodes its K = 1 or 9 conditioning frames with `tokenizer.encode`.
This benchmark replaces that encode, for inputs of at most `--max-cond` frames, with the one-pass
encode followed by `--refine` steps of causal refinement; the 33-frame encodes (the tokenizer
ceiling, residual decoding's "still" reference) stay one-pass. Then it runs the same scoring as
`worldsmith eval physics --model` and prints K = 1 and 9 means beside copy-last. Session 16: the
shipped DiT was worse with refined latents (BENCHMARKS.md, "Encoder-side latent refinement").

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/bench_refine_context.py --model runs/wm5/model \
        --refine 30 --out runs/physics-wm5-refine30 --cache runs/physics-wm5-10/testset
"""

from __future__ import annotations

import argparse


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="world-model directory")
    ap.add_argument("--refine", type=int, default=30, help="refinement steps per latent frame (0 = one-pass)")
    ap.add_argument("--max-cond", type=int, default=9, help="refine encodes of at most this many frames")
    ap.add_argument("--out", required=True)
    ap.add_argument("--cache", help="PhysAlign-64 test-set cache (as eval physics --cache)")
    ap.add_argument("--clips", type=int, default=10)
    ap.add_argument("--ood-clips", type=int, default=1)
    ap.add_argument("--steps", type=int, default=20, help="sampler steps")
    ap.add_argument("--aug-sigma", type=float, default=0.05)
    args = ap.parse_args()

    import torch

    from worldsmith.eval.model_predictors import load_predictors
    from worldsmith.eval.physics_run import run
    from worldsmith.tokenizer.model import CausalVideoTokenizer
    from worldsmith.tokenizer.refine import refine_latent

    one_pass = CausalVideoTokenizer.encode

    def refined_encode(self, x):
        if args.refine == 0 or x.shape[2] > args.max_cond or self.fsq is not None:
            return one_pass(self, x)
        self.check_video(x)
        with torch.no_grad():
            z = self.encode_latent(x)
        z = refine_latent(self, x, z, args.refine)
        view = (1, -1, 1, 1, 1)
        return (z - self.latent_mean.view(view)) / self.latent_std.view(view)

    CausalVideoTokenizer.encode = refined_encode  # the pipeline's conditioning encode, for this process only
    _, preds = load_predictors(args.model, steps=args.steps, aug_sigma=args.aug_sigma, decode="plain")
    res = run(args.out, preds, clips=args.clips, ood_clips=args.ood_clips, cache_dir=args.cache,
              model_name="world_model", settings={"refine_context": args.refine, "steps": args.steps,
                                                  "aug_sigma": args.aug_sigma, "model_dir": args.model})
    agg = res["aggregate"]["test"]["all"]
    print("| K | method | PSNR | SSIM | mask IoU |\n|---|---|---|---|---|")
    for k in ("1", "9"):
        for m in ("world_model", "world_model_mean", "copy_last"):
            if m in agg[k]:
                a = agg[k][m]
                print(f"| {k} | {m} | {a['psnr/all']:.2f} | {a['ssim/all']:.3f} | {a['mask_iou/all']:.3f} |")


if __name__ == "__main__":
    main()
