"""Which residual-decoding dead zone (`--change-threshold`) should a world model recommend? Its
posterior mean with residual decoding at each threshold, on PhysAlign-64 validation clips (test
seeds 10.., which `eval physics --clips 10` does not score), against copy-last, scored like the
benchmark. The threshold a model directory recommends (world_model.json "inference") is chosen
here, on validation clips, and then measured once on the benchmark clips (BENCHMARKS.md).

A higher threshold keeps more of the frame exactly as the last input frame (SSIM and mask IoU
rise toward copy-last's where little moves) and drops more of the model's small changes (PSNR
falls once real motion is cut).

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/bench_change_threshold.py \\
        --model runs/wm12/model --cache runs/physics-val --first-clip 10 --clips 4 --thresholds 0.1,0.2,0.3,0.4
"""

from __future__ import annotations

import _validation


def _thresholds(ap) -> None:
    ap.add_argument("--thresholds", default="0.1,0.2,0.3,0.4,0.5",
                    help="comma-separated dead zones in [-1, 1] pixel units (0 = keep every change)")


def main() -> None:
    args, pipe, names, cases = _validation.setup(__doc__, _thresholds)
    try:
        thresholds = [float(t) for t in args.thresholds.split(",")]
    except ValueError:
        raise SystemExit(f"--thresholds {args.thresholds!r}: expected comma-separated numbers, e.g. 0.1,0.3")

    from worldsmith.eval import physics
    from worldsmith.utils.progress import progress

    K = args.cond_frames
    table = {}
    for t in thresholds:
        per: dict = {}
        for case in progress(cases, desc=f"threshold {t}"):
            res = pipe(case.caption or "a physical scene", input=case.rgb[:K], num_cond_frames=K,
                       num_frames=case.rgb.shape[0], seed=0, sampler="mean", guidance=0.0,
                       decode="residual", change_threshold=t)
            per.setdefault(case.scenario, []).append(physics.clip_means(res.frames[K:], case, K))
        table[f"mean, residual {t}"] = physics.scenario_means(per)
    table["copy-last"] = physics.copy_last_means(cases, K)
    _validation.report(args, table, "change threshold", names)


if __name__ == "__main__":
    main()
