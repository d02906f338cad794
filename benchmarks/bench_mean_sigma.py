"""At which noise level should a world model's one-step posterior mean be read?

The posterior mean E[future | past] is one Euler step from a noise level so high that the
network's input is almost pure noise: D(sigma * eps, sigma). EDM's sampling range starts at
sigma_max = 80, but a DiT trained on log-normal(0, 1) sigmas has seen sigma 80 about once in
100,000 samples (4.4 std out), so its estimate there is poor. This scans the level on
PhysAlign-64 clips with K conditioning frames and prints PSNR / SSIM / mask IoU per level,
all scenarios and per scenario, so `DiffusionConfig.mean_sigma` can be chosen on clips that
the benchmark does not score: `--first-clip 10` takes test-seed clips 10.. of every scenario,
while `eval physics --clips 10` scores clips 0-9. Session 17 (BENCHMARKS.md): 30.

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/bench_mean_sigma.py \
        --model worldsmith/pretrained/world-model-dit-tiny-sim64 --cache runs/physics-val \
        --first-clip 10 --clips 4 --sigmas 80,40,30,20,15,10,5 --decode residual --change-threshold 0.1
"""

from __future__ import annotations

import _validation


def _options(ap) -> None:
    ap.add_argument("--sigmas", default="80,40,30,20,15,10,5", help="comma-separated noise levels")
    ap.add_argument("--decode", default="plain", choices=("plain", "residual"))
    ap.add_argument("--change-threshold", type=float, default=0.0)


def main() -> None:
    args, pipe, names, cases = _validation.setup(__doc__, _options)
    sigmas = _validation.floats(args.sigmas, "--sigmas", 1e-6)

    from worldsmith.eval import physics

    K = args.cond_frames
    table = {f"{sigma:g}": _validation.score_cases(pipe, cases, K, f"sigma {sigma:g}", sampler="mean",
                                                  sigma_max=sigma, guidance=0.0, decode=args.decode,
                                                  change_threshold=args.change_threshold)
             for sigma in sigmas}
    table["copy-last"] = physics.copy_last_means(cases, K)  # the baseline, same clips, same scoring
    _validation.report(args, table, "sigma (or baseline)", names, iou=False)


if __name__ == "__main__":
    main()
