"""Which latent should a world model's diffusion be anchored on: the last conditioning latent
frame repeated (`anchor="last_cond"`), or the still latent (`anchor="still"`: the conditioning
frames with the last one held to the end, encoded)?

For PhysAlign-64 clips with K = 9 conditioning frames, with no world model at all, this prints
per scenario: the mean per-position L2 distance (over latent channels) on the generated
latent frames between the truth, each anchor and each other, and what each anchor scores
when decoded (residual decoding, threshold 0.1, as a prediction that nothing is learned on
top of it), next to copy-last. Session 20 (BENCHMARKS.md): the truth is nearer the still
latent in every scenario, and the repeated last latent frame, decoded, leaves ghosts of the
motion inside it (a causal tokenizer's latent frame covers 4 video frames).

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/bench_anchor.py \
        --tokenizer worldsmith/pretrained/tokenizer-cv4x8x8-tiny-sim64 --cache runs/physics-val --first-clip 10 --clips 4
"""

from __future__ import annotations

import _validation


def main() -> None:
    ap = _validation.parser(__doc__, model=False, out=False)
    ap.add_argument("--tokenizer", required=True, help="tokenizer directory (a world model's tokenizer/ too)")
    args = ap.parse_args()

    import numpy as np
    import torch
    from einops import rearrange

    from worldsmith.diffusion.conditioning import still_latents
    from worldsmith.eval import physics
    from worldsmith.inference.residual import residual_decode
    from worldsmith.sim.clip import scenario_names
    from worldsmith.tokenizer.model import CausalVideoTokenizer

    K = args.cond_frames
    tok = CausalVideoTokenizer.from_pretrained(args.tokenizer).eval()
    st = tok.cfg.temporal_compression
    if (K - 1) % st:
        raise SystemExit(f"--cond-frames {K}: expected 1 + k * {st}")
    k = 1 + (K - 1) // st  # conditioning latent frames

    def to_u8(v: torch.Tensor) -> np.ndarray:
        return rearrange(v[0].clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8), "c t h w -> t h w c").numpy()

    def score(pred: np.ndarray, case) -> tuple[float, float]:
        sc = physics.score_prediction(pred, case, K)["per_frame"]
        return float(np.mean(np.minimum(sc["psnr"], 60.0))), float(np.mean(sc["ssim"]))  # 60 dB: a frame copied exactly

    names = scenario_names()
    rows = {}
    with torch.no_grad():
        for si, s in enumerate(names):
            r = rows.setdefault(s, {key: [] for key in ("truth-still", "truth-last", "still-last", "copy", "last", "still")})
            for i in range(args.first_clip, args.first_clip + args.clips):
                case = physics.load_or_simulate(args.cache, s, si, i, False)
                T = case.rgb.shape[0]
                x = rearrange(torch.from_numpy(case.rgb).float().div(127.5).sub(1), "t h w c -> 1 c t h w")
                truth = tok.encode(x).float()
                still = still_latents(tok, x, k)[:, k - 1]  # the first K frames, the last held: [1, C, T', h, w]
                last = torch.cat([truth[:, :, :k], truth[:, :, k - 1:k].expand(-1, -1, truth.shape[2] - k, -1, -1)], 2)

                def dist(a, b):
                    return float((a[:, :, k:] - b[:, :, k:]).norm(dim=1).mean())

                r["truth-still"].append(dist(truth, still))
                r["truth-last"].append(dist(truth, last))
                r["still-last"].append(dist(still, last))
                known = case.rgb[:K][None]
                r["copy"].append(score(np.repeat(case.rgb[K - 1:K], T - K, 0), case))
                r["last"].append(score(to_u8(residual_decode(tok, last, known, 0.1))[K:T], case))
                r["still"].append(score(to_u8(residual_decode(tok, still, known, 0.1))[K:T], case))
    print("| scenario | truth to still latent | truth to last latent repeated | decoded last repeated: PSNR / SSIM "
          "| decoded still | copy-last |\n|---|---|---|---|---|---|")
    for s, r in rows.items():
        cells = [f"{np.mean(r['truth-still']):.2f}", f"{np.mean(r['truth-last']):.2f}"]
        cells += ["{:.2f} / {:.3f}".format(*np.mean(r[key], axis=0)) for key in ("last", "still", "copy")]
        print(f"| {s} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
