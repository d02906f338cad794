"""`worldsmith eval ...` commands."""

from __future__ import annotations

import argparse

from ..cli import add_group


def _int_list(text: str) -> list[int]:
    try:
        vals = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if not vals or min(vals) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return vals


def register(sub) -> None:
    g = add_group(sub, "eval", "benchmarks: physics alignment of world models against baselines and ceilings")
    p = g.add_parser("physics", help="PhysAlign-64: score predicted continuations of simulator clips",
                     description="Build (or reuse) a fixed-seed simulator test set, score the world model, "
                     "the physics-free baselines and the ceilings on it, write results.json and report.html.")
    p.add_argument("--model", default=None, help="world-model directory (worldsmith train ... --out RUN: RUN/model); "
                   "without it only the baselines and ceilings are scored")
    p.add_argument("--out", required=True, help="output directory (results.json, report.html, testset/)")
    p.add_argument("--steps", type=int, default=35, help="sampling steps for the model (default 35)")
    p.add_argument("--guidance", type=float, default=7.0, help="classifier-free guidance (default 7)")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda[:n]")
    p.add_argument("--scenarios", default=None, help="comma-separated scenario names (default: all)")
    p.add_argument("--cond-frames", type=_int_list, default=[1, 9], help="conditioning frame counts (default 1,9)")
    p.add_argument("--clips", type=int, default=50, help="in-distribution test clips per scenario (default 50)")
    p.add_argument("--ood-clips", type=int, default=25, help="out-of-distribution clips per scenario (default 25)")
    p.add_argument("--resolution", type=int, default=64)
    p.add_argument("--frames", type=int, default=33)
    p.add_argument("--fps", type=int, default=15)
    p.add_argument("--cache", default=None, help="test-set cache directory (default OUT/testset)")
    p.add_argument("--videos", type=int, default=2, help="side-by-side videos per scenario in the report")
    p.set_defaults(func=cmd_physics)


def cmd_physics(args) -> int:
    from ..utils.errors import WorldsmithError
    from .physics_run import run

    if args.clips < 1 or args.ood_clips < 0:
        raise WorldsmithError("--clips must be >= 1 and --ood-clips >= 0")
    scenarios = [s.strip() for s in args.scenarios.split(",")] if args.scenarios else None
    predictors, model_name, settings = {}, None, {}
    if args.model:
        from .model_predictors import load_predictors

        _, predictors = load_predictors(args.model, steps=args.steps, guidance=args.guidance, device=args.device)
        model_name = "world_model"
        settings = {"model_dir": args.model, "steps": args.steps, "guidance": args.guidance,
                    "guardrails": False, "upsample": False}
    res = run(args.out, predictors, model_name=model_name, settings=settings, scenarios=scenarios, clips=args.clips, ood_clips=args.ood_clips,
              cond_frames=args.cond_frames, resolution=args.resolution, frames=args.frames, fps=args.fps,
              cache_dir=args.cache, videos_per_scenario=args.videos)
    agg = res["aggregate"]["test"]["all"]
    K = str(max(args.cond_frames))
    print(f"{'method':<20} {'PSNR':>7} {'SSIM':>6} {'IoU':>6}  (K={K}, all scenarios)")
    for m, a in agg.get(K, {}).items():
        print(f"{m:<20} {a['psnr/all'] or float('nan'):7.2f} {a['ssim/all'] or float('nan'):6.3f} "
              f"{a['mask_iou/all'] or float('nan'):6.3f}")
    print(f"report: {args.out}/report.html")
    return 0
