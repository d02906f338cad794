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
    thresholds = _validation.floats(args.thresholds, "--thresholds", 0.0, 2.0)

    from worldsmith.eval import physics

    K = args.cond_frames
    table = {f"mean, residual {t:g}": _validation.score_cases(pipe, cases, K, f"threshold {t:g}", sampler="mean",
                                                             guidance=0.0, decode="residual", change_threshold=t)
             for t in thresholds}
    table["copy-last"] = physics.copy_last_means(cases, K)
    _validation.report(args, table, "change threshold", names)


if __name__ == "__main__":
    main()
